using DaxFs.Core.Format;
using DaxFs.Core.Read;

namespace DaxFs.Core.Tests.Read;

public class VectorReadTests
{
    public static TheoryData<string, string> Images()
    {
        var data = new TheoryData<string, string>();
        foreach (var name in new[] { "basic", "wide", "deep", "empty", "big" })
            foreach (var mode in new[] { "static", "branching" })
                data.Add(name, mode);
        return data;
    }

    [Theory]
    [MemberData(nameof(Images))]
    public void Listing_matches_expected_json(string name, string mode)
    {
        using var reader = DaxFsImageReader.Open(TestPaths.Vector($"{name}.{mode}.daxfs"));
        ExpectedListing.AssertMatches(reader, TestPaths.Vector($"{name}.expected.json"));
        Assert.Equal(mode == "static" ? DaxFsImageMode.Static : DaxFsImageMode.Branching, reader.Mode);
    }

    [Fact]
    public void A_listing_that_differs_from_the_vector_is_reported()
    {
        using var reader = DaxFsImageReader.Open(TestPaths.Vector("basic.static.daxfs"));
        var listing = ExpectedListing.FromImage(reader).ToList();
        listing[^1] = listing[^1] with { Mode = listing[^1].Mode ^ 1 };
        var diff = DaxFs.TreeTools.VectorListing.Compare(listing, TestPaths.Vector("basic.expected.json"));
        Assert.Contains(diff, d => d.StartsWith(listing[^1].Path + ": mode", StringComparison.Ordinal));
        Assert.NotEmpty(DaxFs.TreeTools.VectorListing.Compare(ExpectedListing.FromImage(reader), TestPaths.Vector("deep.expected.json")));
    }

    [Fact]
    public void Superblock_fields_of_basic_static()
    {
        using var reader = DaxFsImageReader.Open(TestPaths.Vector("basic.static.daxfs"));
        Assert.Equal(0x14000UL, reader.Superblock.TotalSize);
        Assert.Equal(4096UL, reader.Superblock.BaseOffset);
        Assert.Equal(0x13000UL, reader.Superblock.BaseSize);
        Assert.Equal(0u, reader.Superblock.BranchTableEntries);
        Assert.Equal(19u, reader.InodeCount);
        Assert.Equal(20UL, reader.Superblock.NextInodeId);
    }

    [Fact]
    public void Branching_image_has_table_and_delta_region()
    {
        using var reader = DaxFsImageReader.Open(TestPaths.Vector("basic.branching.daxfs"));
        Assert.Equal(256u, reader.Superblock.BranchTableEntries);
        Assert.Equal(4096UL, reader.Superblock.BranchTableOffset);
        Assert.Equal(0x9000UL, reader.Superblock.BaseOffset);
        Assert.Equal(1UL << 20, reader.Superblock.DeltaRegionSize);
        Assert.Equal(reader.Superblock.DeltaRegionOffset + reader.Superblock.DeltaRegionSize, reader.Superblock.TotalSize);
    }

    [Fact]
    public void Lookup_resolves_nested_paths_and_reports_missing_ones()
    {
        using var reader = DaxFsImageReader.Open(TestPaths.Vector("basic.static.daxfs"));
        var hello = reader.GetItem("/a/b/c/hello.txt");
        Assert.NotNull(hello);
        Assert.Equal("hello.txt", hello!.Name);
        Assert.Equal("/a/b/c", hello.ParentPath);
        Assert.Equal("hello, daxfs\n", System.Text.Encoding.UTF8.GetString(reader.GetContentSpan(hello.Ino)));
        Assert.Null(reader.GetItem("/a/nope"));
        Assert.Null(reader.GetItem("/one/below-a-file"));
        Assert.Equal("/a/b", DaxFsImageReader.NormalizePath("a//b/./c/.."));
        Assert.Equal("a/b/c/hello.txt", reader.GetItem("rel-link")!.Target);
    }

    [Fact]
    public void Depth_limits_the_walk()
    {
        using var reader = DaxFsImageReader.Open(TestPaths.Vector("deep.static.daxfs"));
        Assert.Single(reader.Walk("/", recurse: true, depth: 0));
        Assert.Equal(3, reader.Walk("/", recurse: true, depth: 2).Count());
        Assert.Equal(41, reader.Walk("/", recurse: true).Count());
        Assert.Equal(2, reader.Walk("/", recurse: true).Max(i => i.Depth) - 38);
    }

    [Fact]
    public void Walking_a_file_yields_the_file()
    {
        using var reader = DaxFsImageReader.Open(TestPaths.Vector("basic.static.daxfs"));
        var items = reader.Walk("/a/five000").ToList();
        Assert.Single(items);
        Assert.Equal(5000UL, items[0].Inode.Size);
        Assert.Throws<FileNotFoundException>(() => reader.Walk("/missing").ToList());
    }

    [Fact]
    public void Mode_string_shows_special_bits()
    {
        Assert.Equal("-rwsr-xr-x", ModeBits.ToModeString(0x81ED | 0x800));
        Assert.Equal("drwxrwxrwt", ModeBits.ToModeString(0x41FF | 0x200));
        Assert.Equal("lrwxrwxrwx", ModeBits.ToModeString(0xA1FF));
        Assert.Equal("-rw-r-Sr--", ModeBits.ToModeString(0x81A4 | 0x400));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(100)]
    [InlineData(4096)]
    [InlineData(8192)]
    [InlineData(4096 + 48)]
    public void Truncated_images_fail_with_a_format_error(int length)
    {
        byte[] bytes = File.ReadAllBytes(TestPaths.Vector("basic.static.daxfs"))[..length];
        var ex = Assert.Throws<DaxFsFormatException>(() =>
        {
            using var r = DaxFsImageReader.Open(new ByteImageMemory(bytes));
            r.Walk().ToList();
        });
        Assert.False(string.IsNullOrEmpty(ex.RuleId));
    }

    [Fact]
    public void A_directory_cycle_ends_the_walk_with_a_format_error()
    {
        byte[] bytes = File.ReadAllBytes(TestPaths.Vector("deep.static.daxfs"));
        using (var r = DaxFsImageReader.Open(new ByteImageMemory((byte[])bytes.Clone())))
        {
            // Point the deepest directory's "leaf" entry at the root: d40/leaf -> inode 1.
            var leafDir = r.GetItem("/" + string.Join('/', Enumerable.Range(1, 40).Select(i => $"d{i}")))!;
            var entry = r.ReadDirectory(leafDir.Ino).Single();
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan((int)entry.Offset), 1);
        }
        using var reader = DaxFsImageReader.Open(new ByteImageMemory(bytes));
        var ex = Assert.Throws<DaxFsFormatException>(() => reader.Walk().ToList());
        Assert.Equal(RuleIds.TreeCycle, ex.RuleId);
    }

    [Fact]
    public void Concurrent_readers_agree()
    {
        using var reader = DaxFsImageReader.Open(TestPaths.Vector("wide.static.daxfs"));
        var expected = ExpectedListing.FromImage(reader);
        Parallel.For(0, 8, _ => Assert.Equal(expected, ExpectedListing.FromImage(reader)));
    }
}
