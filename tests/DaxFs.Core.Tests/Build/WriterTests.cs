using DaxFs.Core.Linux;
using DaxFs.Core.Format;
using DaxFs.Core.Read;
using DaxFs.Core.Validate;
using DaxFs.Core.Build;

namespace DaxFs.Core.Tests.Build;

public sealed class WriterFixture : IDisposable
{
    public TestTrees Trees { get; } = new();
    public void Dispose() => Trees.Dispose();
}

public sealed class WriterTests(WriterFixture fixture) : IClassFixture<WriterFixture>
{
    private readonly TestTrees _trees = fixture.Trees;

    private string Out(string name) => Path.Combine(_trees.NewFolder("out-" + Guid.NewGuid().ToString("n")[..8]), name);

    private static ImageBuildResult Build(string source, string dest, DaxFsImageMode mode = DaxFsImageMode.Static, string? backing = null,
        OwnerMode owner = OwnerMode.Keep, long delta = DaxFsConstants.DefaultDeltaSize)
        => new ImageBuilder(new ImageBuildOptions { SourcePath = source, Destination = dest, Mode = mode, BackingFile = backing, Owner = owner, DeltaSize = delta }).Build();

    public static TheoryData<string, DaxFsImageMode> TreesAndModes()
    {
        var d = new TheoryData<string, DaxFsImageMode>();
        foreach (var t in TestTrees.VectorTrees)
            foreach (var m in new[] { DaxFsImageMode.Static, DaxFsImageMode.Branching, DaxFsImageMode.Split })
                d.Add(t, m);
        return d;
    }

    [Theory]
    [MemberData(nameof(TreesAndModes))]
    public void VectorTreeReadsBackAsItsExpectedListing(string tree, DaxFsImageMode mode)
    {
        string src = _trees.Make(tree);
        string img = Out(tree + ".daxfs");
        string? back = mode == DaxFsImageMode.Split ? Path.ChangeExtension(img, ".data") : null;
        var result = Build(src, img, mode, back);

        Assert.True(File.Exists(img));
        Assert.Equal(result.Plan.TotalSize, new FileInfo(img).Length);
        using var reader = DaxFsImageReader.Open(img, back);
        Assert.Equal(mode, reader.Mode);
        ExpectedListing.AssertMatches(reader, TestPaths.Vector(tree + ".expected.json"), compareOwners: TestTrees.IsRoot);

        // Nothing but the destination (and backing file) is left in the folder: no temp files.
        var files = Directory.GetFiles(Path.GetDirectoryName(img)!).Select(Path.GetFileName).Order().ToArray();
        Assert.Equal(new[] { Path.GetFileName(img), back is null ? null : Path.GetFileName(back) }.Where(f => f is not null).Order(), files);
    }

    [Theory]
    [MemberData(nameof(TreesAndModes))]
    public void WrittenImagesHaveNoErrorsAndOnlyTheKernelObjectionsNoImageCanAvoid(string tree, DaxFsImageMode mode)
    {
        string src = _trees.Make(tree);
        string img = Out(tree + ".daxfs");
        string? back = mode == DaxFsImageMode.Split ? Path.ChangeExtension(img, ".data") : null;
        Build(src, img, mode, back);
        using var mem = MappedFileImageMemory.Open(img);
        var findings = ImageValidator.Validate(mem, new ValidationOptions { BackingFileLength = back is null ? null : new FileInfo(back).Length });
        Assert.True(ImageValidator.IsSafe(findings), string.Join("\n", findings));
        Assert.DoesNotContain(findings, f => f.Severity == FindingSeverity.Error);
        using var reader = DaxFsImageReader.Open(img, back);
        // What the kernel's validate would still refuse, by design (see about_DaxFs): nlink of directories (2 + subdirectories,
        // while validate wants the dirent count, and 0 for the root, which it also refuses), and in split mode file extents
        // checked against the base image instead of the backing file.
        foreach (var f in findings)
        {
            bool dirNlink = f.RuleId.StartsWith("NLINK-", StringComparison.Ordinal) && f.Inode is uint i && reader.GetInode(i).Mode is var m && (m & DaxFsConstants.S_IFMT) == DaxFsConstants.S_IFDIR;
            bool splitData = mode == DaxFsImageMode.Split && f.RuleId == "INODE-DATA-SPLIT";
            Assert.True(dirNlink || splitData, "unexpected finding: " + f);
        }
    }

    [Theory]
    [InlineData("empty", DaxFsImageMode.Static)]
    [InlineData("empty", DaxFsImageMode.Branching)]
    [InlineData("deep", DaxFsImageMode.Static)]
    [InlineData("deep", DaxFsImageMode.Branching)]
    [InlineData("big", DaxFsImageMode.Static)]
    [InlineData("big", DaxFsImageMode.Branching)]
    public void ImagesOfTreesWithoutQuirksAreByteIdenticalToMkdaxfs(string tree, DaxFsImageMode mode)
    {
        // mkdaxfs orders entries as readdir returns them and leaves an inode slot per hard-link name; trees whose
        // readdir order is the sorted order and that have no hard links must come out byte for byte the same.
        string src = _trees.Make(tree);
        string img = Out(tree + ".daxfs");
        Build(src, img, mode, owner: OwnerMode.Root, delta: 1024 * 1024); // the vectors were made with a 1 MiB delta region
        byte[] reference = File.ReadAllBytes(TestPaths.Vector($"{tree}.{mode.ToString().ToLowerInvariant()}.daxfs"));
        byte[] ours = File.ReadAllBytes(img);
        Assert.Equal(reference.Length, ours.Length);
        int diff = reference.AsSpan().CommonPrefixLength(ours);
        Assert.True(diff == reference.Length, $"first difference at 0x{diff:x}");
    }

    [Theory]
    [InlineData(DaxFsImageMode.Static)]
    [InlineData(DaxFsImageMode.Split)]
    public void ParallelWritersProduceTheSameBytesAsOne(DaxFsImageMode mode)
    {
        string src = _trees.Make("wide");
        string o = Out("x");
        byte[] Bytes(int workers, out byte[]? backing, bool direct = true)
        {
            string img = Path.Combine(Path.GetDirectoryName(o)!, $"w{workers}{(direct ? "" : "-buffered")}.daxfs");
            string? back = mode == DaxFsImageMode.Split ? img + ".data" : null;
            new ImageBuilder(new ImageBuildOptions { SourcePath = src, Destination = img, Mode = mode, BackingFile = back, Workers = workers, ParallelThreshold = 1, DirectWrites = direct }).Build();
            backing = back is null ? null : File.ReadAllBytes(back);
            return File.ReadAllBytes(img);
        }
        var one = Bytes(1, out var b1);
        // Direct I/O (the default) and the page cache alone write the same bytes.
        Assert.True(one.AsSpan().SequenceEqual(Bytes(1, out var bb, direct: false)), "through the page cache");
        if (b1 is not null) Assert.True(b1.AsSpan().SequenceEqual(bb), "through the page cache, backing file");
        foreach (int w in new[] { 2, 3, 4 })
        {
            Assert.True(one.AsSpan().SequenceEqual(Bytes(w, out var bw)), $"{w} writers");
            if (b1 is not null) Assert.True(b1.AsSpan().SequenceEqual(bw), $"{w} writers, backing file");
        }
    }

    [Fact]
    public void ATreeDeeperThanPathMaxIsReadOnAnyNumberOfThreadsToTheSameBytes()
    {
        // 25 levels of 200-byte names: paths pass 2048 bytes (where the scan reads one level at a time from the parent's
        // descriptor) and PATH_MAX (where opening by relative path walks it a component at a time).
        string src = _trees.NewFolder("deeper-than-path-max");
        string o = Path.GetDirectoryName(Out("x"))!;
        const int Levels = 25;
        int fd = Syscalls.OpenAt(Syscalls.AT_FDCWD, System.Text.Encoding.UTF8.GetBytes(src), Syscalls.O_RDONLY | Syscalls.O_DIRECTORY);
        Assert.True(fd >= 0);
        try
        {
            for (int level = 0; level < Levels; level++)
            {
                foreach (var (name, text) in new[] { ("f", $"level {level}\n"), ("g", new string('x', 5000 + level)) })
                {
                    int f = Syscalls.OpenAt(fd, System.Text.Encoding.UTF8.GetBytes(name), Syscalls.O_WRONLY | Syscalls.O_CREAT | Syscalls.O_EXCL, 0x1A4);
                    Assert.True(f >= 0);
                    Assert.True(Syscalls.WriteAll(f, System.Text.Encoding.UTF8.GetBytes(text)));
                    Syscalls.close(f);
                }
                var dir = System.Text.Encoding.UTF8.GetBytes(new string((char)('a' + level % 26), 200));
                Assert.Equal(0, Syscalls.MkdirAt(fd, dir, 0x1ED));
                int next = Syscalls.OpenAt(fd, dir, Syscalls.O_RDONLY | Syscalls.O_DIRECTORY);
                Assert.True(next >= 0);
                Syscalls.close(fd);
                fd = next;
            }
        }
        finally { Syscalls.close(fd); }

        try
        {
            byte[] Image(int workers)
            {
                string img = Path.Combine(o, $"deep{workers}.daxfs");
                new ImageBuilder(new ImageBuildOptions { SourcePath = src, Destination = img, Workers = workers, ParallelThreshold = 1 }).Build();
                return File.ReadAllBytes(img);
            }
            var one = Image(1);
            Assert.True(one.AsSpan().SequenceEqual(Image(2)), "2 threads");
            Assert.True(one.AsSpan().SequenceEqual(Image(4)), "4 threads");

            using var reader = DaxFsImageReader.Open(Path.Combine(o, "deep1.daxfs"));
            var items = reader.Walk("/").ToList();
            Assert.Equal(Levels * 3, items.Count);
            var deepest = items.Single(i => i.Name == "f" && i.Depth == Levels - 1);
            Assert.True(deepest.FullName.Length > 4096);
            Assert.Equal($"level {Levels - 1}\n", System.Text.Encoding.UTF8.GetString(reader.GetContentSpan(deepest.Ino)));
            Assert.Equal(5000 + Levels - 1, reader.GetContentSpan(items.Single(i => i.Name == "g" && i.Depth == Levels - 1).Ino).Length);
        }
        finally
        {
            // .NET's recursive delete goes by path and stops at PATH_MAX; rm walks by descriptor.
            using var rm = System.Diagnostics.Process.Start("rm", new[] { "-rf", src });
            rm.WaitForExit();
        }
    }

    [Fact]
    public void SameTreeGivesTheSameBytes()
    {
        string src = _trees.Make("basic");
        string a = Out("a.daxfs"), b = Out("b.daxfs");
        Build(src, a, DaxFsImageMode.Branching);
        Build(src, b, DaxFsImageMode.Branching);
        Assert.True(File.ReadAllBytes(a).AsSpan().SequenceEqual(File.ReadAllBytes(b)));
    }

    [Fact]
    public void HardLinksShareOneInodeAndTheirDataIsStoredOnce()
    {
        string src = _trees.Make("basic");
        string img = Out("basic.daxfs");
        var r = Build(src, img);
        Assert.Equal(18u, r.Plan.InodeCount); // 19 names, one of them a second hard link
        using var reader = DaxFsImageReader.Open(img);
        Assert.True(reader.TryLookup("/hard1", out uint h1));
        Assert.True(reader.TryLookup("/a/hard2", out uint h2));
        Assert.Equal(h1, h2);
        Assert.Equal(2u, reader.GetInode(h1).Nlink);
        for (uint i = 1; i <= reader.InodeCount; i++) Assert.NotEqual(0u, reader.GetInode(i).Mode); // no empty slots
    }

    [Fact]
    public void InodesArePreOrderWithSortedChildrenAndDirectoryNlinkCountsSubdirectories()
    {
        string src = _trees.Make("basic");
        string img = Out("basic.daxfs");
        Build(src, img);
        using var reader = DaxFsImageReader.Open(img);
        var names = reader.ReadDirectory(1).Select(e => e.NameBytes).ToList();
        Assert.Equal(names.OrderBy(n => n, Comparer<byte[]>.Create((x, y) => x.AsSpan().SequenceCompareTo(y))).ToList(), names);
        var firstSeen = new List<uint>();
        void PreOrder(uint dir)
        {
            foreach (var e in reader.ReadDirectory(dir))
            {
                if (!firstSeen.Contains(e.Ino)) firstSeen.Add(e.Ino);
                if ((e.Mode & DaxFsConstants.S_IFMT) == DaxFsConstants.S_IFDIR) PreOrder(e.Ino);
            }
        }
        PreOrder(1);
        Assert.Equal(Enumerable.Range(2, firstSeen.Count).Select(i => (uint)i), firstSeen);
        Assert.Equal(4u, reader.GetInode(1).Nlink); // root: 2 + a, emptydir
        Assert.True(reader.TryLookup("/a", out uint a));
        Assert.Equal(3u, reader.GetInode(a).Nlink);
        Assert.True(reader.TryLookup("/emptydir", out uint e));
        Assert.Equal(0ul, reader.GetInode(e).Size);
        Assert.Equal(0ul, reader.GetInode(e).DataOffset);
    }

    [Fact]
    public void DirectoryArraysReserveTheRealDirentStride()
    {
        string src = _trees.Make("stride");
        string img = Out("stride.daxfs");
        Build(src, img);
        using var reader = DaxFsImageReader.Open(img);
        Assert.True(reader.TryLookup("/d", out uint d));
        var dir = reader.GetInode(d);
        Assert.Equal(136ul * 271, dir.Size);
        ulong end = dir.DataOffset + 136ul * 272;
        for (uint i = 1; i <= reader.InodeCount; i++)
        {
            var n = reader.GetInode(i);
            if (i != d && n.Size > 0) Assert.True(n.DataOffset >= end || n.DataOffset + n.Size <= dir.DataOffset, $"inode {i} overlaps the array");
        }
    }

    [Fact]
    public void SplitImagePutsFileDataInTheBackingFileAndPrewarmsThePageCache()
    {
        string src = _trees.Make("big");
        string img = Out("big.daxfs");
        string back = Path.ChangeExtension(img, ".data");
        var r = Build(src, img, DaxFsImageMode.Split, back);
        long backingSize = 3145728 + DaxFsConstants.AlignUp(1048577, 4096);
        Assert.Equal(backingSize, new FileInfo(back).Length);
        Assert.Equal(1024u, r.Plan.PageCacheSlots); // 768 + 257 = 1025 backing pages: the largest power of two not above
        using var reader = DaxFsImageReader.Open(img, back);
        var sb = reader.Superblock;
        Assert.Equal(DaxFsConstants.BaseFlagExternalData, reader.Base.Flags & 1);
        var pc = PageCacheHeader.Read(reader.Memory.Span(sb.PageCacheOffset, PageCacheHeader.RecordSize, RuleIds.PageCacheHeader));
        Assert.Equal(DaxFsConstants.PageCacheMagic, pc.Magic);
        Assert.Equal(sb.PageCacheSlotCount, pc.SlotCount);
        var data = File.ReadAllBytes(back);
        long slotData = (long)sb.PageCacheOffset + (long)pc.SlotDataOffset;
        for (int p = 0; p < pc.SlotCount; p += 97)
        {
            var slot = reader.Memory.Span(sb.PageCacheOffset + 4096 + (ulong)p * 16, 16, RuleIds.PageCacheHeader);
            Assert.Equal(((ulong)p << 2) | 2, BitConverter.ToUInt64(slot));
            Assert.True(reader.Memory.Span((ulong)(slotData + p * 4096L), 4096, RuleIds.PageCacheHeader).SequenceEqual(data.AsSpan(p * 4096, 4096)));
        }
    }
}
