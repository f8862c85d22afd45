using DaxFs.Core.Build;
using DaxFs.Core.Format;
using DaxFs.Core.Format.V8;
using DaxFs.Core.Overlay;
using DaxFs.Core.Read;
using DaxFs.Core.Validate;

namespace DaxFs.Core.Tests.Build;

/// <summary>
/// The builder writes format 8 (shared FORMAT-V8.md) as mkdaxfs 0.1.0 does: byte for byte the v8 vectors of the trees whose
/// entry order mkdaxfs does not take from the source filesystem, the same layout for the others, and images that read back
/// as their source and validate clean. The vectors were made with a 4096-byte page, a 1 MiB pool and 1024 buckets (v8/MAKE.md).
/// </summary>
public sealed class WriterV8Tests(WriterFixture fixture) : IClassFixture<WriterFixture>
{
    private readonly TestTrees _trees = fixture.Trees;

    private string Out(string name) => Path.Combine(_trees.NewFolder("out8-" + Guid.NewGuid().ToString("n")[..8]), name);

    private static string V8(string name) => Path.Combine(TestPaths.Vectors, "v8", name);

    /// <summary>Builds <paramref name="tree"/> as the vectors were made: format 8, 4096-byte blocks, root-owned, split with a 1 MiB pool and 1024 buckets.</summary>
    private (string Image, string? Backing, ImageBuildResult Result) BuildLikeVector(string tree, DaxFsImageMode mode, OwnerMode owner = OwnerMode.Root)
    {
        string src = _trees.Make(tree);
        string img = Out($"{tree}.v8.{mode.ToString().ToLowerInvariant()}.daxfs");
        string? back = mode == DaxFsImageMode.Split ? Path.ChangeExtension(img, ".backing") : null;
        var r = new ImageBuilder(new ImageBuildOptions
        {
            SourcePath = src, Destination = img, Format = DaxFsFormat.Format8, Mode = mode, BackingFile = back, Owner = owner, BlockSize = 4096,
            OverlayPoolSize = mode == DaxFsImageMode.Split ? 1 << 20 : null, OverlayBuckets = mode == DaxFsImageMode.Split ? 1024u : null,
        }).Build();
        return (img, back, r);
    }

    private static void AssertSameBytes(string reference, string ours)
    {
        byte[] a = File.ReadAllBytes(reference), b = File.ReadAllBytes(ours);
        int diff = a.AsSpan().CommonPrefixLength(b);
        Assert.True(diff == a.Length && a.Length == b.Length, $"{Path.GetFileName(reference)}: {a.Length} vs {b.Length} bytes, first difference at 0x{diff:x}");
    }

    [Theory]
    [InlineData("empty", DaxFsImageMode.Static)]
    [InlineData("empty", DaxFsImageMode.Split)]
    [InlineData("deep", DaxFsImageMode.Static)]
    [InlineData("deep", DaxFsImageMode.Split)]
    [InlineData("big", DaxFsImageMode.Static)]
    [InlineData("big", DaxFsImageMode.Split)]
    public void Images_of_trees_without_quirks_are_byte_identical_to_mkdaxfs(string tree, DaxFsImageMode mode)
    {
        // mkdaxfs orders entries as readdir returns them and leaves an inode slot per hard-link name; trees whose readdir
        // order is the sorted order and that have no hard links come out byte for byte the same, backing file included.
        var (img, back, _) = BuildLikeVector(tree, mode);
        string kind = mode.ToString().ToLowerInvariant();
        AssertSameBytes(V8($"{tree}.v8.{kind}.daxfs"), img);
        if (back is not null && File.Exists(V8($"{tree}.v8.split.backing"))) AssertSameBytes(V8($"{tree}.v8.split.backing"), back);
        else if (back is not null) Assert.Equal(0, new FileInfo(back).Length); // empty: mkdaxfs writes no backing file, DaxFs an empty one
    }

    /// <summary>The superblock, and everything after the base (overlay, page cache), as raw bytes.</summary>
    private static (SuperblockV8 Sb, byte[] AfterBase) Regions(string image)
    {
        byte[] b = File.ReadAllBytes(image);
        var sb = SuperblockV8.Read(b);
        return (sb, b[(int)(sb.BaseOffset + sb.BaseSize)..]);
    }

    [Theory]
    [InlineData(DaxFsImageMode.Static)]
    [InlineData(DaxFsImageMode.Split)]
    public void Wide_differs_from_mkdaxfs_only_in_entry_order(DaxFsImageMode mode)
    {
        // The vector's 300 names are in ext4's hash order, DaxFs's sorted: the same superblock, the same regions after the base,
        // the same backing file size, and the same listing.
        var (img, back, _) = BuildLikeVector("wide", mode);
        string kind = mode.ToString().ToLowerInvariant();
        var (theirSb, theirTail) = Regions(V8($"wide.v8.{kind}.daxfs"));
        var (ourSb, ourTail) = Regions(img);
        Assert.Equal(theirSb, ourSb);
        Assert.True(theirTail.AsSpan().SequenceEqual(ourTail), "overlay and page cache regions differ");
        Assert.Equal(File.ReadAllBytes(V8($"wide.v8.{kind}.daxfs"))[..4096], File.ReadAllBytes(img)[..4096]);
        if (back is not null) Assert.Equal(new FileInfo(V8("wide.v8.split.backing")).Length, new FileInfo(back).Length);
        using var reader = DaxFsImageReader.Open(img, back);
        ExpectedListing.AssertMatches(OverlayView.MountedTree(reader), TestPaths.Vector("wide.expected.json"));
    }

    [Theory]
    [InlineData(DaxFsImageMode.Static)]
    [InlineData(DaxFsImageMode.Split)]
    public void Basic_differs_from_mkdaxfs_by_the_empty_hard_link_slot_it_does_not_leave(DaxFsImageMode mode)
    {
        var (img, back, _) = BuildLikeVector("basic", mode, OwnerMode.Keep); // /owned is 1234:5678 (when the tests run as root)
        string kind = mode.ToString().ToLowerInvariant();
        var (theirSb, theirTail) = Regions(V8($"basic.v8.{kind}.daxfs"));
        var (ourSb, ourTail) = Regions(img);
        Assert.Equal(theirSb.InodeCount - 1, ourSb.InodeCount); // mkdaxfs: one all-zero slot for /a/hard2, which validate refuses
        Assert.Equal(theirSb with { InodeCount = ourSb.InodeCount }, ourSb);
        // The overlay's next inode number follows the inode count; the rest after the base is the same.
        var theirOverlay = ourSb.OverlayOffset == 0 ? default : OverlayHeader.Read(theirTail);
        if (ourSb.OverlayOffset != 0)
        {
            Assert.Equal(theirOverlay with { NextIno = ourSb.InodeCount + 1UL }, OverlayHeader.Read(ourTail));
            Assert.True(theirTail.AsSpan(4096).SequenceEqual(ourTail.AsSpan(4096)));
        }
        if (back is not null) Assert.Equal(new FileInfo(V8("basic.v8.split.backing")).Length, new FileInfo(back).Length);
        using var reader = DaxFsImageReader.Open(img, back);
        ExpectedListing.AssertMatches(OverlayView.MountedTree(reader), TestPaths.Vector("basic.expected.json"), compareOwners: TestTrees.IsRoot);
        for (uint i = 1; i <= reader.InodeCount; i++) Assert.NotEqual(0u, reader.GetInode(i).Mode);
    }

    [Theory]
    [InlineData(DaxFsImageMode.Static)]
    [InlineData(DaxFsImageMode.Split)]
    public void Stride_reserves_the_real_dirent_stride_where_mkdaxfs_corrupts_the_last_name(DaxFsImageMode mode)
    {
        // mkdaxfs reserves ALIGN(136 × 271, 4096) = 36864 bytes for /d's 136 × 272 = 36992: its last name is overwritten by the
        // next object (v8/CHECK.md). DaxFs reserves one more block, so its base is a block longer and every name is intact.
        var (img, back, _) = BuildLikeVector("stride", mode);
        string kind = mode.ToString().ToLowerInvariant();
        var (theirSb, _) = Regions(V8($"stride.v8.{kind}.daxfs"));
        var (ourSb, _) = Regions(img);
        Assert.Equal(theirSb.BaseSize + 4096, ourSb.BaseSize);
        using var reader = DaxFsImageReader.Open(img, back);
        ExpectedListing.AssertMatches(OverlayView.MountedTree(reader), TestPaths.Vector("stride.expected.json"));
    }

    public static TheoryData<string, DaxFsImageMode> TreesAndModes()
    {
        var d = new TheoryData<string, DaxFsImageMode>();
        foreach (var t in TestTrees.VectorTrees)
            foreach (var m in new[] { DaxFsImageMode.Static, DaxFsImageMode.Split })
                d.Add(t, m);
        return d;
    }

    [Theory]
    [MemberData(nameof(TreesAndModes))]
    public void Every_tree_reads_back_as_its_listing_and_validates_clean(string tree, DaxFsImageMode mode)
    {
        string src = _trees.Make(tree);
        string img = Out(tree + ".daxfs");
        string? back = mode == DaxFsImageMode.Split ? Path.ChangeExtension(img, ".data") : null;
        var r = new ImageBuilder(new ImageBuildOptions { SourcePath = src, Destination = img, Format = DaxFsFormat.Format8, Mode = mode, BackingFile = back }).Build();

        Assert.Equal(DaxFsFormat.Format8, r.Plan.Format);
        Assert.Equal((uint)Environment.SystemPageSize, r.Plan.BlockSize);
        Assert.Equal(r.Plan.TotalSize, new FileInfo(img).Length);
        using var reader = DaxFsImageReader.Open(img, back);
        Assert.Equal(DaxFsFormat.Format8, reader.Generation);
        Assert.Equal(mode, reader.Mode);
        ExpectedListing.AssertMatches(OverlayView.MountedTree(reader), TestPaths.Vector(tree + ".expected.json"), compareOwners: TestTrees.IsRoot);

        using var mem = MappedFileImageMemory.Open(img);
        var findings = ImageValidator.Validate(mem, new ValidationOptions { BackingFileLength = back is null ? null : new FileInfo(back).Length });
        Assert.True(findings.Count == 0, string.Join("\n", findings));
        if (mode == DaxFsImageMode.Split)
        {
            Assert.Equal(DaxFsV8Constants.DefaultBucketCount, reader.Superblock8.OverlayBucketCount);
            Assert.Equal(RegionsV8.OverlaySize(DaxFsV8Constants.DefaultBucketCount, (long)DaxFsV8Constants.DefaultPoolSize, Environment.SystemPageSize), (long)reader.Superblock8.OverlaySize);
        }
    }

    [Fact]
    public void An_overlay_only_image_is_a_root_in_the_overlay_of_the_chosen_size()
    {
        string img = Out("empty-overlay.daxfs");
        var r = new ImageBuilder(new ImageBuildOptions
        {
            Destination = img, Format = DaxFsFormat.Format8, Mode = DaxFsImageMode.OverlayOnly, BlockSize = 4096,
            OverlayPoolSize = 2 << 20, OverlayBuckets = 1024,
        }).Build();
        // The kernel-written overlay-only fixture started as mkdaxfs --empty -O 2M -B 1024: its superblock is this one.
        byte[] ours = File.ReadAllBytes(img);
        byte[] kernel = File.ReadAllBytes(Path.Combine(TestPaths.RepoRoot, "tests", "fixtures", "overlay", "overlay-only-after-writes.daxfs"));
        Assert.Equal(kernel.Length, ours.Length);
        Assert.True(kernel.AsSpan(0, 4096).SequenceEqual(ours.AsSpan(0, 4096)), "superblock");
        var h = OverlayHeader.Read(ours.AsSpan(4096));
        Assert.Equal(OverlayHeader.Read(kernel.AsSpan(4096)) with { PoolAlloc = 32, NextIno = 2 }, h);
        // The root's bucket (the last: an INODE key's home) and its entry at pool offset 0, as the kernel left them.
        long bucket = 4096 + 4096 + 1023 * 16, pool = 4096 + (long)h.PoolOffset;
        Assert.True(kernel.AsSpan((int)bucket, 16).SequenceEqual(ours.AsSpan((int)bucket, 16)), "root bucket");
        Assert.True(kernel.AsSpan((int)pool, 32).SequenceEqual(ours.AsSpan((int)pool, 32)), "root entry");
        // Everything else is zero: buckets, pool, the rest of each header block.
        var expected = new byte[ours.Length];
        kernel.AsSpan(0, 4096).CopyTo(expected);
        h.Write(expected.AsSpan(4096));
        kernel.AsSpan((int)bucket, 16).CopyTo(expected.AsSpan((int)bucket));
        kernel.AsSpan((int)pool, 32).CopyTo(expected.AsSpan((int)pool));
        Assert.True(expected.AsSpan().SequenceEqual(ours), $"a stray byte at 0x{expected.AsSpan().CommonPrefixLength(ours):x}");

        Assert.Equal(DaxFsImageMode.OverlayOnly, r.Plan.Mode);
        using var reader = DaxFsImageReader.Open(img);
        Assert.Equal(DaxFsImageMode.OverlayOnly, reader.Mode);
        var tree = OverlayView.MountedTree(reader);
        ExpectedListing.AssertMatches(tree, TestPaths.Vector("empty.expected.json")); // an empty root, 0755, root-owned
        Assert.Empty(ImageValidator.Validate(new ByteImageMemory(ours), new ValidationOptions { PageSize = 4096 }));
    }

    [Fact]
    public void The_same_tree_gives_the_same_bytes_on_any_number_of_threads()
    {
        string src = _trees.Make("wide");
        string dir = Path.GetDirectoryName(Out("x"))!;
        byte[] Image(int workers, string name)
        {
            string img = Path.Combine(dir, name);
            new ImageBuilder(new ImageBuildOptions
            {
                SourcePath = src, Destination = img, Format = DaxFsFormat.Format8, Mode = DaxFsImageMode.Split, BackingFile = img + ".data",
                Workers = workers, ParallelThreshold = 1,
            }).Build();
            return File.ReadAllBytes(img).Concat(File.ReadAllBytes(img + ".data")).ToArray();
        }
        var one = Image(1, "a.daxfs");
        Assert.True(one.AsSpan().SequenceEqual(Image(1, "b.daxfs")), "again");
        Assert.True(one.AsSpan().SequenceEqual(Image(4, "c.daxfs")), "4 threads");
    }

    [Theory]
    [InlineData(DaxFsImageMode.Split, 8192u, 1L << 20, 256u)]
    [InlineData(DaxFsImageMode.Split, 65536u, 4L << 20, 65536u)]
    [InlineData(DaxFsImageMode.OverlayOnly, 16384u, 1L << 20, 16u)]
    public void Block_size_pool_and_buckets_place_every_region_on_a_block_boundary(DaxFsImageMode mode, uint blockSize, long pool, uint buckets)
    {
        string src = _trees.Make("basic");
        string img = Out("b.daxfs");
        string? back = mode == DaxFsImageMode.Split ? img + ".data" : null;
        var r = new ImageBuilder(new ImageBuildOptions
        {
            SourcePath = src, Destination = img, Format = DaxFsFormat.Format8, Mode = mode, BackingFile = back, BlockSize = blockSize,
            OverlayPoolSize = pool, OverlayBuckets = buckets,
        }).Build();
        Assert.Equal(blockSize, r.Plan.BlockSize);
        var sb = SuperblockV8.Read(File.ReadAllBytes(img));
        Assert.Equal(blockSize, sb.BlockSize);
        Assert.Equal(buckets, sb.OverlayBucketCount);
        foreach (ulong off in new[] { sb.BaseOffset, sb.OverlayOffset, sb.PageCacheOffset, sb.TotalSize, sb.DataOffset })
            Assert.Equal(0UL, off % blockSize);
        Assert.Equal((ulong)RegionsV8.OverlaySize(buckets, pool, blockSize), sb.OverlaySize);
        using var mem = MappedFileImageMemory.Open(img);
        Assert.Empty(ImageValidator.Validate(mem, new ValidationOptions { PageSize = (int)blockSize, BackingFileLength = back is null ? null : new FileInfo(back).Length }));
        using var reader = DaxFsImageReader.Open(img, back);
        if (mode == DaxFsImageMode.Split)
            ExpectedListing.AssertMatches(OverlayView.MountedTree(reader), TestPaths.Vector("basic.expected.json"), compareOwners: TestTrees.IsRoot);
    }

    public static TheoryData<string, ImageBuildOptions> BadOptions() => new()
    {
        { "no branches", new ImageBuildOptions { SourcePath = "/", Destination = "/tmp/x", Format = DaxFsFormat.Format8, Mode = DaxFsImageMode.Branching } },
        { "inline data under an overlay", new ImageBuildOptions { SourcePath = "/", Destination = "/tmp/x", Format = DaxFsFormat.Format8, Mode = DaxFsImageMode.Overlay } },
        { "a static image has no overlay", new ImageBuildOptions { SourcePath = "/", Destination = "/tmp/x", Format = DaxFsFormat.Format8, OverlayPoolSize = 1 << 20 } },
        { "pool not a block multiple", new ImageBuildOptions { Destination = "/tmp/x", Format = DaxFsFormat.Format8, Mode = DaxFsImageMode.OverlayOnly, BlockSize = 4096, OverlayPoolSize = 5000 } },
        { "buckets not a power of two", new ImageBuildOptions { Destination = "/tmp/x", Format = DaxFsFormat.Format8, Mode = DaxFsImageMode.OverlayOnly, OverlayBuckets = 1000 } },
        { "block size not a power of two", new ImageBuildOptions { Destination = "/tmp/x", Format = DaxFsFormat.Format8, Mode = DaxFsImageMode.OverlayOnly, BlockSize = 6000 } },
        { "block size below 4096", new ImageBuildOptions { Destination = "/tmp/x", Format = DaxFsFormat.Format8, Mode = DaxFsImageMode.OverlayOnly, BlockSize = 2048 } },
        { "too few cache slots", new ImageBuildOptions { SourcePath = "/", Destination = "/tmp/x", Format = DaxFsFormat.Format8, Mode = DaxFsImageMode.Split, BackingFile = "/tmp/y", PageCacheSlots = 4 } },
        { "format 5 has no overlay", new ImageBuildOptions { Destination = "/tmp/x", Mode = DaxFsImageMode.OverlayOnly } },
        { "format 5 pool", new ImageBuildOptions { SourcePath = "/", Destination = "/tmp/x", Mode = DaxFsImageMode.Branching, OverlayBuckets = 1024 } },
        { "format 5 block size", new ImageBuildOptions { SourcePath = "/", Destination = "/tmp/x", BlockSize = 65536 } },
        { "an unknown format", new ImageBuildOptions { SourcePath = "/", Destination = "/tmp/x", Format = DaxFsFormat.Unknown } },
    };

    [Theory]
    [MemberData(nameof(BadOptions))]
    public void Options_the_format_does_not_have_are_refused_before_anything_is_read(string why, ImageBuildOptions options)
    {
        var ex = Assert.Throws<DaxFsBuildException>(() => new ImageBuilder(options).Plan());
        Assert.True(ex.Kind == BuildErrorKind.InvalidOption, $"{why}: {ex.Kind} {ex.Message}");
    }
}
