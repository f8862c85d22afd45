using DaxFs.Core.Format;
using DaxFs.Core.Format.V8;
using DaxFs.Core.Overlay;
using DaxFs.Core.Read;
using DaxFs.Core.Tests.Build;
using DaxFs.Core.Build;

namespace DaxFs.Core.Tests.Read;

/// <summary>ImageSpace: every byte of an image in one category, adding up to its length exactly.</summary>
public sealed class ImageSpaceTests : IDisposable
{
    private readonly TestTrees _trees = new();
    public void Dispose() => _trees.Dispose();

    public static TheoryData<string> Vectors()
    {
        var d = new TheoryData<string>();
        foreach (var f in Directory.GetFiles(TestPaths.Vectors, "*.daxfs").Order(StringComparer.Ordinal)) d.Add(Path.GetFileName(f));
        return d;
    }

    private static long Sum(ImageSpaceReport r) => r.Usage.Sum(u => u.Bytes);

    [Theory]
    [MemberData(nameof(Vectors))]
    public void CategoriesAddUpToTheImageLength(string vector)
    {
        using var reader = DaxFsImageReader.Open(TestPaths.Vector(vector));
        var r = ImageSpace.Measure(reader);
        Assert.Equal(new FileInfo(TestPaths.Vector(vector)).Length, r.Length);
        Assert.Equal(r.Length, Sum(r));
        Assert.All(r.Usage, u => Assert.True(u.Bytes >= 0));
        Assert.Equal(0, r[SpaceKind.Trailing]);
        Assert.Equal(Enum.GetValues<SpaceKind>().Length, r.Usage.Count);
    }

    [Fact]
    public void BasicStaticIsAccountedStructureByStructure()
    {
        using var reader = DaxFsImageReader.Open(TestPaths.Vector("basic.static.daxfs"));
        var r = ImageSpace.Measure(reader);
        var expected = ExpectedListing.Load(TestPaths.Vector("basic.expected.json"));
        // Distinct files: a hard-link group stores its bytes once.
        long fileBytes = expected.Where(e => e.Value.Type == "file" && (e.Value.LinkGroup is null || e.Value.LinkGroup == e.Key)).Sum(e => e.Value.Size!.Value);
        long symlinkBytes = expected.Values.Where(e => e.Type == "symlink").Sum(e => (long)System.Text.Encoding.UTF8.GetByteCount(e.Target!) + 1);
        long dirBytes = 0;
        foreach (var dir in expected.Where(e => e.Value.Type == "dir"))
        {
            string prefix = dir.Key == "/" ? "/" : dir.Key + "/";
            int n = expected.Keys.Count(k => k != "/" && k.StartsWith(prefix, StringComparison.Ordinal) && k.IndexOf('/', prefix.Length) < 0);
            if (n > 0) dirBytes += (n - 1) * 272L + 271;
        }

        Assert.Equal(4096, r[SpaceKind.Superblock]);
        Assert.Equal(0, r[SpaceKind.BranchTable]);
        Assert.Equal(4096, r[SpaceKind.BaseSuperblock]);
        Assert.Equal(19 * 64, r[SpaceKind.InodeTable]);
        Assert.Equal(fileBytes, r[SpaceKind.FileData]);
        Assert.Equal(symlinkBytes, r[SpaceKind.SymlinkTargets]);
        Assert.Equal(dirBytes, r[SpaceKind.Directories]);
        Assert.Equal(0, r[SpaceKind.DeltaUsed] + r[SpaceKind.DeltaFree] + r[SpaceKind.PageCache]);
        Assert.Equal(r.Length - 8192 - 19 * 64 - fileBytes - symlinkBytes - dirBytes, r[SpaceKind.Padding]);
        Assert.Equal(fileBytes, r.FileBytes);
        Assert.Equal(1, r.EmptyInodes); // mkdaxfs's slot for the second name of the hard link
        Assert.Equal(1, r.HardLinkNames);
        Assert.Equal(new SpaceEntry("/a/five000", 5000, 0), r.LargestFiles[0]);
        Assert.Equal(new SpaceEntry("/exact4096", 4096, 0), r.LargestFiles[1]);
        Assert.Equal("/", r.LargestDirectories[0].Path);
        Assert.Equal(fileBytes, r.LargestDirectories[0].Bytes);
        Assert.Equal(expected.Keys.Count(k => k != "/" && k.LastIndexOf('/') == 0), r.LargestDirectories[0].Entries);
        Assert.Equal(new SpaceEntry("/a", 5000 + 13, 3), r.LargestDirectories[1]); // five000, hard2 (its bytes counted at /hard1, met first), b
    }

    [Fact]
    public void BranchingImageShowsTheBranchTableAndTheDeltaRegion()
    {
        using var reader = DaxFsImageReader.Open(TestPaths.Vector("basic.branching.daxfs"));
        var r = ImageSpace.Measure(reader);
        Assert.Equal(DaxFsConstants.BranchTableSize, r[SpaceKind.BranchTable]);
        Assert.Equal(256, r.Usage[(int)SpaceKind.BranchTable].Objects);
        Assert.Equal((long)reader.Superblock.DeltaRegionSize, r[SpaceKind.DeltaUsed] + r[SpaceKind.DeltaFree]);
        Assert.Equal(0, r[SpaceKind.DeltaUsed]);
        Assert.Equal(r.Length, Sum(r));
    }

    [Fact]
    public void DeltaUsedFollowsTheAllocationCursorOfAKernelWrittenImage()
    {
        string path = Path.Combine(TestPaths.RepoRoot, "tests", "fixtures", "branches", "nested.daxfs");
        using var reader = DaxFsImageReader.Open(path);
        var r = ImageSpace.Measure(reader);
        var sb = reader.Superblock;
        Assert.True(r[SpaceKind.DeltaUsed] > 0);
        Assert.Equal((long)(sb.DeltaAllocOffset - sb.DeltaRegionOffset), r[SpaceKind.DeltaUsed]);
        Assert.Equal(r.Length, Sum(r));
    }

    [Fact]
    public void BytesPastTotalSizeAreTrailing()
    {
        string copy = Path.Combine(_trees.NewFolder("trailing"), "basic.daxfs");
        File.Copy(TestPaths.Vector("basic.static.daxfs"), copy);
        using (var f = new FileStream(copy, FileMode.Append)) f.Write(new byte[5000]);
        using var reader = DaxFsImageReader.Open(copy);
        var r = ImageSpace.Measure(reader);
        Assert.Equal(5000, r[SpaceKind.Trailing]);
        Assert.Equal(r.Length, Sum(r));
    }

    [Fact]
    public void SplitImageKeepsFileBytesOutsideTheImage()
    {
        string src = _trees.Make("basic");
        string dir = _trees.NewFolder("split");
        string img = Path.Combine(dir, "basic.daxfs"), backing = Path.Combine(dir, "basic.backing");
        new ImageBuilder(new ImageBuildOptions { SourcePath = src, Destination = img, Mode = DaxFsImageMode.Split, BackingFile = backing, DeltaSize = 1 << 20 }).Build();
        using var reader = DaxFsImageReader.Open(img, backing);
        var r = ImageSpace.Measure(reader);
        Assert.Equal(0, r[SpaceKind.FileData]);
        Assert.Equal(r.FileBytes, r.ExternalFileBytes);
        Assert.True(r.FileBytes > 9000);
        Assert.Equal((long)reader.Superblock.PageCacheSize, r[SpaceKind.PageCache]);
        Assert.Equal(r.Length, Sum(r));
    }

    [Fact]
    public void RealSizedTreeAddsUpExactly()
    {
        // 2,000 directories of 25 entries (files of 0..9000 bytes, symlinks, hard links) under 50 parents: 52,050 entries.
        string src = _trees.NewFolder("real");
        var rng = new Random(12);
        long fileBytes = 0, files = 0;
        long biggest = 0; string biggestPath = "";
        for (int d = 0; d < 2000; d++)
        {
            string dir = Path.Combine(src, $"d{d / 40:D2}", $"s{d:D4}");
            Directory.CreateDirectory(dir);
            for (int i = 0; i < 25; i++)
            {
                string p = Path.Combine(dir, $"f{i:D2}");
                int kind = rng.Next(20);
                if (kind == 0) File.CreateSymbolicLink(p, "../target-" + i);
                else if (kind == 1 && i > 0 && File.Exists(Path.Combine(dir, $"f{i - 1:D2}")) && !new FileInfo(Path.Combine(dir, $"f{i - 1:D2}")).Attributes.HasFlag(FileAttributes.ReparsePoint))
                    TestTrees.HardLink(Path.Combine(dir, $"f{i - 1:D2}"), p);
                else
                {
                    int size = rng.Next(0, 9001);
                    File.WriteAllBytes(p, new byte[size]);
                    fileBytes += size; files++;
                    if (size > biggest) { biggest = size; biggestPath = "/" + Path.GetRelativePath(src, p); }
                }
            }
        }
        string img = Path.Combine(_trees.NewFolder("realimg"), "real.daxfs");
        new ImageBuilder(new ImageBuildOptions { SourcePath = src, Destination = img }).Build();
        using var reader = DaxFsImageReader.Open(img);
        var r = ImageSpace.Measure(reader, top: 5);
        Assert.Equal(new FileInfo(img).Length, r.Length);
        Assert.Equal(r.Length, Sum(r));
        Assert.Equal(fileBytes, r[SpaceKind.FileData]);
        Assert.Equal(files, r.Files);
        Assert.Equal(2000 + 50 + 1, r.Directories);
        Assert.Equal(biggest, r.LargestFiles[0].Bytes);
        Assert.Equal(5, r.LargestFiles.Count);
        Assert.Equal(new SpaceEntry("/", fileBytes, 50), r.LargestDirectories[0]);
        // A writer that packs objects on block boundaries pads each one to the next block: less than a block per object.
        long objectsWithData = r.Usage[(int)SpaceKind.FileData].Objects + r.Usage[(int)SpaceKind.Directories].Objects + r.Usage[(int)SpaceKind.SymlinkTargets].Objects;
        Assert.True(r[SpaceKind.Padding] < (objectsWithData + 2) * 4096L);
    }

    [Fact]
    public void TopZeroListsNothing()
    {
        using var reader = DaxFsImageReader.Open(TestPaths.Vector("wide.static.daxfs"));
        var r = ImageSpace.Measure(reader, top: 0);
        Assert.Empty(r.LargestFiles);
        Assert.Empty(r.LargestDirectories);
        Assert.Equal(r.Length, Sum(r));
    }

    // ------------------------------------------------------------------ format 8

    private static string V8(string name) => Path.Combine(TestPaths.Vectors, "v8", name);
    private static string OverlayFixture(string name) => Path.Combine(TestPaths.RepoRoot, "tests", "fixtures", "overlay", name);

    public static TheoryData<string> V8Images()
    {
        var d = new TheoryData<string>();
        // Not the split stride vector: mkdaxfs let the next object overwrite its last directory entry (FORMAT-V8.md
        // section 3), which the walk for the largest files refuses (StrideImageNamesTheEntryMkdaxfsOverwrote).
        foreach (var f in Directory.GetFiles(Path.Combine(TestPaths.Vectors, "v8"), "*.daxfs").Order(StringComparer.Ordinal))
            if (Path.GetFileName(f) != "stride.v8.split.daxfs") d.Add(f);
        foreach (var f in Directory.GetFiles(Path.Combine(TestPaths.RepoRoot, "tests", "fixtures", "overlay"), "*.daxfs").Order(StringComparer.Ordinal)) d.Add(f);
        return d;
    }

    private static DaxFsImageReader OpenWithBacking(string image)
    {
        string backing = Path.ChangeExtension(image, ".backing");
        return DaxFsImageReader.Open(image, File.Exists(backing) ? backing : null);
    }

    [Theory]
    [MemberData(nameof(V8Images))]
    public void Format8CategoriesAddUpToTheImageLength(string image)
    {
        using var reader = OpenWithBacking(image);
        var r = ImageSpace.Measure(reader);
        Assert.Equal(new FileInfo(image).Length, r.Length);
        Assert.Equal(r.Length, Sum(r));
        Assert.All(r.Usage, u => Assert.True(u.Bytes >= 0));
        Assert.Equal(0, r[SpaceKind.BaseSuperblock] + r[SpaceKind.BranchTable] + r[SpaceKind.DeltaUsed] + r[SpaceKind.DeltaFree]);
        var sb = reader.Superblock8;
        Assert.Equal(sb.BlockSize, r.BlockSize);
        Assert.Equal(sb.BlockSize, r[SpaceKind.Superblock]);
        Assert.Equal((long)sb.InodeCount * 64, r[SpaceKind.InodeTable]);
        Assert.Equal((long)sb.PageCacheSize, r[SpaceKind.PageCache]);
        Assert.Equal((long)sb.OverlaySize, r[SpaceKind.OverlayIndex] + r[SpaceKind.OverlayUsed] + r[SpaceKind.OverlayFree]
            + (sb.OverlayOffset == 0 ? 0 : OverlayTablePadding(reader)));
    }

    // The zeros between the end of the bucket table and the pool (the table is rounded up to a block).
    private static long OverlayTablePadding(DaxFsImageReader reader)
    {
        var sb = reader.Superblock8;
        var h = OverlayHeader.Read(reader.Memory.Span(sb.OverlayOffset, OverlayHeader.RecordSize));
        return (long)(h.PoolOffset - h.BucketOffset - (ulong)sb.OverlayBucketCount * 16) + (long)(h.BucketOffset - OverlayHeader.RecordSize);
    }

    [Fact]
    public void StrideImageNamesTheEntryMkdaxfsOverwrote()
    {
        using var reader = DaxFsImageReader.Open(V8("stride.v8.split.daxfs"), V8("stride.v8.split.backing"));
        var e = Assert.Throws<DaxFsFormatException>(() => ImageSpace.Measure(reader));
        Assert.Equal(RuleIds.DirentBadName, e.RuleId);
    }

    [Fact]
    public void Format8StaticHoldsTheSameObjectsAsFormat5WithoutTheBaseSuperblock()
    {
        using var r5 = DaxFsImageReader.Open(TestPaths.Vector("basic.static.daxfs"));
        using var r8 = DaxFsImageReader.Open(V8("basic.v8.static.daxfs"));
        var a = ImageSpace.Measure(r5);
        var b = ImageSpace.Measure(r8);
        foreach (var k in new[] { SpaceKind.InodeTable, SpaceKind.Directories, SpaceKind.FileData, SpaceKind.SymlinkTargets })
            Assert.Equal(a[k], b[k]);
        Assert.Equal(4096, b[SpaceKind.Superblock]);
        Assert.Equal(0, b[SpaceKind.BaseSuperblock]);
        Assert.Equal(b.Length - 4096 - b[SpaceKind.InodeTable] - b[SpaceKind.Directories] - b[SpaceKind.FileData] - b[SpaceKind.SymlinkTargets], b[SpaceKind.Padding]);
        Assert.Equal(a.LargestFiles, b.LargestFiles);
        Assert.Equal(a.LargestDirectories, b.LargestDirectories);
        Assert.Equal(a.HardLinkNames, b.HardLinkNames);
    }

    [Fact]
    public void Format8PaddingFollowsThePageSize()
    {
        // The same tree built for 4 KiB and for 64 KiB pages: every object starts on a page, so only the superblock block
        // and the padding grow; the structures hold the same bytes.
        string src = _trees.Make("basic");
        string dir = _trees.NewFolder("pages");
        ImageSpaceReport Build(uint page)
        {
            string img = Path.Combine(dir, $"p{page}.daxfs");
            new ImageBuilder(new ImageBuildOptions { SourcePath = src, Destination = img, Format = DaxFsFormat.Format8, BlockSize = page }).Build();
            using var reader = DaxFsImageReader.Open(img);
            var r = ImageSpace.Measure(reader);
            Assert.Equal(r.Length, Sum(r));
            Assert.Equal(0, r.Length % page);
            return r;
        }
        var small = Build(4096);
        var large = Build(65536);
        Assert.Equal(65536, large.BlockSize);
        Assert.Equal(65536, large[SpaceKind.Superblock]);
        foreach (var k in new[] { SpaceKind.InodeTable, SpaceKind.Directories, SpaceKind.FileData, SpaceKind.SymlinkTargets })
            Assert.Equal(small[k], large[k]);
        Assert.Equal(large.Length - small.Length - (65536 - 4096), large[SpaceKind.Padding] - small[SpaceKind.Padding]);
        // Each object with data starts on its own page: the padding is less than a page per object (and the table's tail).
        long objects = large.Usage[(int)SpaceKind.FileData].Objects + large.Usage[(int)SpaceKind.Directories].Objects + large.Usage[(int)SpaceKind.SymlinkTargets].Objects;
        Assert.True(large[SpaceKind.Padding] > (objects - 1) * (65536L - 5000));
        Assert.True(large[SpaceKind.Padding] < (objects + 1) * 65536L);
    }

    [Fact]
    public void OverlayPoolIsSplitAtTheAllocationCursorTheKernelLeft()
    {
        foreach (var name in new[] { "overlay-after-writes.daxfs", "overlay-only-after-writes.daxfs" })
        {
            using var reader = OpenWithBacking(OverlayFixture(name));
            var r = ImageSpace.Measure(reader);
            var sb = reader.Superblock8;
            var h = OverlayHeader.Read(reader.Memory.Span(sb.OverlayOffset, OverlayHeader.RecordSize));
            Assert.True(h.PoolAlloc > 0, "the kernel wrote into the overlay of " + name);
            Assert.Equal((long)h.PoolAlloc, r[SpaceKind.OverlayUsed]);
            Assert.Equal((long)(h.PoolSize - h.PoolAlloc), r[SpaceKind.OverlayFree]);
            Assert.Equal((long)(h.BucketOffset + (ulong)sb.OverlayBucketCount * 16), r[SpaceKind.OverlayIndex]);
            Assert.Equal(sb.OverlayBucketCount, r.Usage[(int)SpaceKind.OverlayIndex].Objects);
            Assert.Equal(OverlayView.Open(reader).UsedBuckets, r.Usage[(int)SpaceKind.OverlayUsed].Objects);
            Assert.Equal(r.Length, Sum(r));
        }
        using var only = DaxFsImageReader.Open(OverlayFixture("overlay-only-after-writes.daxfs"));
        var o = ImageSpace.Measure(only);
        Assert.Equal(0, o[SpaceKind.InodeTable]);
        Assert.Empty(o.LargestFiles);
        Assert.Empty(o.LargestDirectories);
    }

    [Fact]
    public void FreshOverlayPoolIsAllFree()
    {
        string src = _trees.Make("basic");
        string dir = _trees.NewFolder("fresh");
        string img = Path.Combine(dir, "s.daxfs"), back = Path.Combine(dir, "s.backing");
        new ImageBuilder(new ImageBuildOptions { SourcePath = src, Destination = img, Format = DaxFsFormat.Format8, Mode = DaxFsImageMode.Split, BackingFile = back, OverlayPoolSize = 2 << 20, OverlayBuckets = 1024 }).Build();
        using var reader = DaxFsImageReader.Open(img, back);
        var r = ImageSpace.Measure(reader);
        Assert.Equal(0, r[SpaceKind.OverlayUsed]);
        Assert.Equal(2 << 20, r[SpaceKind.OverlayFree]);
        Assert.Equal(4096 + 1024 * 16, r[SpaceKind.OverlayIndex]);
        Assert.Equal(0, r[SpaceKind.FileData]);
        Assert.Equal(r.FileBytes, r.ExternalFileBytes);
        Assert.Equal(r.Length, Sum(r));
    }

    [Fact]
    public void AnOverlayWhoseHeaderIsDamagedIsCountedWholeAsIndex()
    {
        string copy = Path.Combine(_trees.NewFolder("badoverlay"), "o.daxfs");
        File.Copy(OverlayFixture("overlay-only-after-writes.daxfs"), copy);
        ulong overlay, size;
        using (var reader = DaxFsImageReader.Open(copy)) { overlay = reader.Superblock8.OverlayOffset; size = reader.Superblock8.OverlaySize; }
        using (var f = new FileStream(copy, FileMode.Open)) { f.Position = (long)overlay; f.Write(new byte[4]); }
        using var damaged = DaxFsImageReader.Open(copy);
        var r = ImageSpace.Measure(damaged);
        Assert.Equal((long)size, r[SpaceKind.OverlayIndex]);
        Assert.Equal(0, r[SpaceKind.OverlayUsed] + r[SpaceKind.OverlayFree]);
        Assert.Equal(r.Length, Sum(r));
    }
}
