using DaxFs.Core.Format;
using DaxFs.Core.Read;
using DaxFs.Core.Build;
using DaxFs.Core.Errors;

namespace DaxFs.Core.Tests.Build;

public sealed class WriterFaultTests : IDisposable
{
    private readonly TestTrees _trees = new();
    public void Dispose() => _trees.Dispose();

    private string NewTree(Action<string> fill)
    {
        string t = _trees.NewFolder("src-" + Guid.NewGuid().ToString("n")[..8]);
        fill(t);
        return t;
    }

    private string OutFolder() => _trees.NewFolder("out-" + Guid.NewGuid().ToString("n")[..8]);

    private static DaxFsBuildException Fails(ImageBuildOptions o, BuildErrorKind kind)
    {
        var ex = Assert.Throws<DaxFsBuildException>(() => new ImageBuilder(o).Build());
        Assert.Equal(kind, ex.Kind);
        return ex;
    }

    [Fact]
    public void MissingSourceIsNamed()
    {
        string dest = Path.Combine(OutFolder(), "x.daxfs");
        var ex = Fails(new ImageBuildOptions { SourcePath = "/nonexistent/tree", Destination = dest }, BuildErrorKind.SourceNotFound);
        Assert.Contains("/nonexistent/tree", ex.Message);
        Assert.False(File.Exists(dest));
    }

    [Fact]
    public void FileAsSourceIsRefused()
    {
        string t = NewTree(d => File.WriteAllText(Path.Combine(d, "f"), "x"));
        Fails(new ImageBuildOptions { SourcePath = Path.Combine(t, "f"), Destination = Path.Combine(OutFolder(), "x.daxfs") }, BuildErrorKind.SourceNotDirectory);
    }

    [Fact]
    public void ExistingDestinationIsKeptWithoutOverwrite()
    {
        string t = NewTree(d => File.WriteAllText(Path.Combine(d, "f"), "x"));
        string dest = Path.Combine(OutFolder(), "x.daxfs");
        File.WriteAllText(dest, "precious");
        Fails(new ImageBuildOptions { SourcePath = t, Destination = dest }, BuildErrorKind.DestinationExists);
        Assert.Equal("precious", File.ReadAllText(dest));
        new ImageBuilder(new ImageBuildOptions { SourcePath = t, Destination = dest, Overwrite = true }).Build();
        using var r = DaxFsImageReader.Open(dest);
        Assert.True(r.TryLookup("/f", out _));
    }

    [Fact]
    public void DestinationInsideTheSourceIsRefused()
    {
        string t = NewTree(d => Directory.CreateDirectory(Path.Combine(d, "sub")));
        Fails(new ImageBuildOptions { SourcePath = t, Destination = Path.Combine(t, "sub", "x.daxfs") }, BuildErrorKind.DestinationInsideSource);
        Fails(new ImageBuildOptions { SourcePath = t, Destination = Path.Combine(t, "x.daxfs") }, BuildErrorKind.DestinationInsideSource);
        // ... also through a symlinked folder.
        string link = Path.Combine(OutFolder(), "link");
        Directory.CreateSymbolicLink(link, Path.Combine(t, "sub"));
        Fails(new ImageBuildOptions { SourcePath = t, Destination = Path.Combine(link, "x.daxfs") }, BuildErrorKind.DestinationInsideSource);
        Assert.Empty(Directory.GetFiles(t, "*", SearchOption.AllDirectories));
    }

    [Fact]
    public void SpecialFilesFailTheBuildListingThemOrAreSkippedWithAWarning()
    {
        string t = NewTree(d =>
        {
            File.WriteAllText(Path.Combine(d, "f"), "x");
            Directory.CreateDirectory(Path.Combine(d, "run"));
            TestTrees.MkFifo(Path.Combine(d, "run", "pipe"));
            TestTrees.MkFifo(Path.Combine(d, "fifo2"));
        });
        string dest = Path.Combine(OutFolder(), "x.daxfs");
        var ex = Fails(new ImageBuildOptions { SourcePath = t, Destination = dest }, BuildErrorKind.UnsupportedFileType);
        Assert.Equal(new[] { "fifo2", "run/pipe" }, ex.Paths);
        Assert.Equal(NextStep.ExcludeOrSkipUnsupported, ex.NextStep);
        Assert.False(File.Exists(dest));

        var result = new ImageBuilder(new ImageBuildOptions { SourcePath = t, Destination = dest, SkipUnsupported = true }).Build();
        Assert.Equal(new[] { "fifo2", "run/pipe" }, result.Warnings.Where(w => w.Id == "UnsupportedFileSkipped").Select(w => w.Path));
        using var r = DaxFsImageReader.Open(dest);
        Assert.False(r.TryLookup("/fifo2", out _));
        Assert.True(r.TryLookup("/run", out _));
    }

    [Fact]
    public void ADestinationInsideTheSourceIsAcceptedWhenItsFolderIsExcluded()
    {
        string t = NewTree(d =>
        {
            Directory.CreateDirectory(Path.Combine(d, "out/deeper"));
            File.WriteAllText(Path.Combine(d, "f"), "x");
        });
        var ex = Fails(new ImageBuildOptions { SourcePath = t, Destination = Path.Combine(t, "out", "deeper", "x.daxfs") }, BuildErrorKind.DestinationInsideSource);
        Assert.Equal((NextStep.ExcludeDestinationFolder, "out/deeper"), (ex.NextStep, ex.NextStepSubject));
        Assert.Contains("'out/deeper'", ex.Message);
        // The folder, or one above it, left out of the image: the image cannot end up in itself.
        foreach (var pattern in new[] { "out", "/out/deeper" })
        {
            string dest = Path.Combine(t, "out", "deeper", $"{pattern.Replace('/', '_')}.daxfs");
            new ImageBuilder(new ImageBuildOptions { SourcePath = t, Destination = dest, Exclude = new[] { pattern } }).Build();
            using var r = DaxFsImageReader.Open(dest);
            Assert.Equal(pattern == "out" ? new[] { "/f" } : new[] { "/f", "/out" }, r.Walk("/").Select(i => i.FullName).Order(StringComparer.Ordinal));
        }
        // Excluding something else does not make the source folder itself a place for the image.
        Fails(new ImageBuildOptions { SourcePath = t, Destination = Path.Combine(t, "x.daxfs"), Exclude = new[] { "out" } }, BuildErrorKind.DestinationInsideSource);
    }

    [Fact]
    public void ThePlanCountsHardLinksExclusionsSkippedEntriesAndSparseFiles()
    {
        string t = NewTree(d =>
        {
            File.WriteAllText(Path.Combine(d, "a"), "shared");
            Directory.CreateDirectory(Path.Combine(d, "d"));
            File.CreateSymbolicLink(Path.Combine(d, "l"), "a");
            TestTrees.MkFifo(Path.Combine(d, "fifo"));
            Directory.CreateDirectory(Path.Combine(d, "skip/inner"));
            File.WriteAllText(Path.Combine(d, "x.log"), "");
            using (var f = File.Create(Path.Combine(d, "d", "sparse"))) f.SetLength(3L << 20);
            using (var f = File.Create(Path.Combine(d, "small-sparse"))) f.SetLength(4096); // below the 64 KiB threshold
        });
        TestTrees.HardLink(Path.Combine(t, "a"), Path.Combine(t, "d", "a2"));
        TestTrees.HardLink(Path.Combine(t, "a"), Path.Combine(t, "a3"));
        string dest = Path.Combine(OutFolder(), "x.daxfs");
        var b = new ImageBuilder(new ImageBuildOptions { SourcePath = t, Destination = dest, Exclude = new[] { "skip", "*.log" }, SkipUnsupported = true });
        var plan = b.Plan();
        Assert.Equal(2, plan.HardLinkNames);
        Assert.Equal(2, plan.ExcludedCount);
        Assert.Equal(1, plan.SkippedCount);
        Assert.Equal(1, plan.SparseFileCount);
        Assert.Equal(3L << 20, plan.SparseBytes);
        var sparse = Assert.Single(plan.Warnings, w => w.Id == "SparseFile");
        Assert.Equal("d/sparse", sparse.Path);
        Assert.Contains($"grows by {3L << 20} bytes", sparse.Message);
        Assert.True(plan.ScanTime > TimeSpan.Zero);
        b.Build();
        // DAXFS has no holes: the image holds the whole length.
        Assert.True(new FileInfo(dest).Length >= 3L << 20);
    }

    [Fact]
    public void ExcludeDropsNamesAnywhereAndPathsFromTheRoot()
    {
        string t = NewTree(d =>
        {
            Directory.CreateDirectory(Path.Combine(d, "cache/x"));
            Directory.CreateDirectory(Path.Combine(d, "keep/cache"));
            File.WriteAllText(Path.Combine(d, "a.log"), "");
            File.WriteAllText(Path.Combine(d, "keep/b.log"), "");
            File.WriteAllText(Path.Combine(d, "keep/c.txt"), "");
            File.WriteAllText(Path.Combine(d, "cache/x/y"), "");
        });
        string dest = Path.Combine(OutFolder(), "x.daxfs");
        new ImageBuilder(new ImageBuildOptions { SourcePath = t, Destination = dest, Exclude = new[] { "*.log", "/cache" } }).Build();
        using var r = DaxFsImageReader.Open(dest);
        var names = r.Walk("/").Select(i => i.FullName).ToArray();
        Assert.Equal(new[] { "/keep", "/keep/c.txt", "/keep/cache" }, names.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void OwnerOverrides()
    {
        string t = NewTree(d => File.WriteAllText(Path.Combine(d, "f"), "x"));
        string dest = Path.Combine(OutFolder(), "x.daxfs");
        new ImageBuilder(new ImageBuildOptions { SourcePath = t, Destination = dest, Owner = OwnerMode.Root, Gid = 42 }).Build();
        using var r = DaxFsImageReader.Open(dest);
        Assert.All(Enumerable.Range(1, (int)r.InodeCount), i => { Assert.Equal(0u, r.GetInode((uint)i).Uid); Assert.Equal(42u, r.GetInode((uint)i).Gid); });
    }

    [Theory]
    [InlineData(DaxFsImageMode.Split, null, 0u, 0L)]           // split needs a backing file
    [InlineData(DaxFsImageMode.Static, "b.data", 0u, 0L)]      // backing file only for split
    [InlineData(DaxFsImageMode.Split, "b.data", 24u, 0L)]      // slots not a power of two
    [InlineData(DaxFsImageMode.Branching, null, 0u, 5000L)]    // delta not a block multiple
    public void InvalidOptionsAreRefusedBeforeAnythingIsWritten(DaxFsImageMode mode, string? backing, uint slots, long delta)
    {
        string t = NewTree(d => File.WriteAllText(Path.Combine(d, "f"), "x"));
        string o = OutFolder();
        Fails(new ImageBuildOptions
        {
            SourcePath = t, Destination = Path.Combine(o, "x.daxfs"), Mode = mode, BackingFile = backing is null ? null : Path.Combine(o, backing),
            PageCacheSlots = slots, DeltaSize = delta == 0 ? DaxFsConstants.DefaultDeltaSize : delta,
        }, BuildErrorKind.InvalidOption);
        Assert.Empty(Directory.GetFiles(o));
    }

    [Fact]
    public void SmallDeltaRegionWarns()
    {
        string t = NewTree(d => File.WriteAllText(Path.Combine(d, "f"), "x"));
        var r = new ImageBuilder(new ImageBuildOptions { SourcePath = t, Destination = Path.Combine(OutFolder(), "x.daxfs"), Mode = DaxFsImageMode.Branching, DeltaSize = 1 << 20 }).Build();
        Assert.Contains(r.Warnings, w => w.Id == "SmallDeltaRegion");
    }

    [Fact]
    public void CancellationHalfWayLeavesNothingAndKeepsTheOldImage()
    {
        string t = NewTree(d => { for (int i = 0; i < 50; i++) File.WriteAllBytes(Path.Combine(d, $"f{i:00}"), new byte[300_000]); });
        string o = OutFolder();
        string dest = Path.Combine(o, "x.daxfs");
        File.WriteAllText(dest, "old image");
        using var cts = new CancellationTokenSource();
        var progress = new SyncProgress(p => { if (p.ItemsDone == 20) cts.Cancel(); });
        Assert.ThrowsAny<OperationCanceledException>(() =>
            new ImageBuilder(new ImageBuildOptions { SourcePath = t, Destination = dest, Overwrite = true }).Build(progress, cts.Token));
        Assert.Equal("old image", File.ReadAllText(dest));
        Assert.Equal(new[] { dest }, Directory.GetFiles(o));
    }

    [Fact]
    public void AFileThatGrowsWhileBeingReadFailsTheBuild()
    {
        string t = NewTree(d => { for (int i = 0; i < 5; i++) File.WriteAllBytes(Path.Combine(d, $"f{i}"), new byte[10_000]); });
        string o = OutFolder();
        string dest = Path.Combine(o, "x.daxfs");
        var progress = new SyncProgress(p => { if (p.ItemsDone == 1) File.AppendAllText(Path.Combine(t, "f3"), "more"); });
        var ex = Assert.Throws<DaxFsBuildException>(() => new ImageBuilder(new ImageBuildOptions { SourcePath = t, Destination = dest }).Build(progress));
        Assert.Equal(BuildErrorKind.FileChanged, ex.Kind);
        Assert.Equal(new[] { "f3" }, ex.Paths);
        Assert.Empty(Directory.GetFiles(o));
    }

    [Fact]
    public void AFileThatDisappearsWhileBuildingFailsTheBuild()
    {
        string t = NewTree(d => { for (int i = 0; i < 5; i++) File.WriteAllBytes(Path.Combine(d, $"f{i}"), new byte[10]); });
        string o = OutFolder();
        var progress = new SyncProgress(p => { if (p.ItemsDone == 1) File.Delete(Path.Combine(t, "f2")); });
        var ex = Assert.Throws<DaxFsBuildException>(() => new ImageBuilder(new ImageBuildOptions { SourcePath = t, Destination = Path.Combine(o, "x.daxfs") }).Build(progress));
        Assert.Equal(BuildErrorKind.FileChanged, ex.Kind);
        Assert.Contains("f2", ex.Message);
        Assert.Empty(Directory.GetFiles(o));
    }

    [Fact]
    public void PlanWritesNothingAndPredictsTheImage()
    {
        string t = _trees.Make("basic");
        string dest = Path.Combine(OutFolder(), "x.daxfs");
        var builder = new ImageBuilder(new ImageBuildOptions { SourcePath = t, Destination = dest, Mode = DaxFsImageMode.Branching });
        var plan = builder.Plan();
        Assert.False(File.Exists(dest));
        Assert.Equal(18u, plan.InodeCount);
        Assert.Equal(5L, plan.DirectoryCount);
        Assert.Equal(2L, plan.SymlinkCount);
        var result = builder.Build();
        Assert.Equal(plan.TotalSize, new FileInfo(dest).Length);
        Assert.Same(plan, result.Plan);
    }

    /// <summary>IProgress that reports on the calling thread (Progress&lt;T&gt; posts to the thread pool).</summary>
    private sealed class SyncProgress(Action<BuildProgress> action) : IProgress<BuildProgress>
    {
        public void Report(BuildProgress value) => action(value);
    }
}
