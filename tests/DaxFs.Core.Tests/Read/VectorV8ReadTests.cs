using System.Text;
using DaxFs.Core.Format;
using DaxFs.Core.Overlay;
using DaxFs.Core.Read;
using DaxFs.TreeTools;
using DaxFs.Core.Format.V8;

namespace DaxFs.Core.Tests.Read;

/// <summary>The format-8 vectors (shared vectors/v8, made by mkdaxfs 0.1.0) read exactly as NAME.expected.json, as the v8 module lists them (vectors/v8/CHECK.md).</summary>
public class VectorV8ReadTests
{
    public static string V8(string name) => Validate.V8ValidationTests.V8(name);

    /// <summary>The reader of a v8 vector, split ones with their backing file when mkdaxfs wrote one.</summary>
    public static DaxFsImageReader Open(string name, string kind)
    {
        string backing = V8($"{name}.v8.{kind}.backing");
        return DaxFsImageReader.Open(V8($"{name}.v8.{kind}.daxfs"), kind == "split" && File.Exists(backing) ? backing : null);
    }

    public static TheoryData<string, string> Images()
    {
        var data = new TheoryData<string, string>();
        foreach (var name in new[] { "basic", "wide", "deep", "empty", "big" })
            foreach (var kind in new[] { "static", "split" })
                data.Add(name, kind);
        return data;
    }

    [Theory]
    [MemberData(nameof(Images))]
    public void Listing_matches_expected_json(string name, string kind)
    {
        using var reader = Open(name, kind);
        Assert.Equal(DaxFsFormat.Format8, reader.Generation);
        Assert.Equal(kind == "static" ? DaxFsImageMode.Static : DaxFsImageMode.Split, reader.Mode);
        var tree = OverlayView.MountedTree(reader);
        Assert.Equal(kind == "split", tree is OverlayView);
        ExpectedListing.AssertMatches(tree, TestPaths.Vector($"{name}.expected.json"));
    }

    [Fact]
    public void Format_is_detected_from_the_version_field()
    {
        Assert.Equal(DaxFsFormat.Format8, ImageFormat.Detect(File.ReadAllBytes(V8("basic.v8.static.daxfs")).AsSpan(0, 8)));
        Assert.Equal(DaxFsFormat.Format5, ImageFormat.Detect(File.ReadAllBytes(TestPaths.Vector("basic.static.daxfs")).AsSpan(0, 8)));
        Assert.Equal(DaxFsFormat.Unknown, ImageFormat.Detect(new byte[] { 0x35, 0x78, 0x61, 0x64, 7, 0, 0, 0 }));
        Assert.Equal(DaxFsFormat.Unknown, ImageFormat.Detect(new byte[8]));
        Assert.Equal(DaxFsFormat.Unknown, ImageFormat.Detect(new byte[] { 0x35, 0x78, 0x61 }));
    }

    [Fact]
    public void Superblock_fields_of_basic_split()
    {
        using var reader = Open("basic", "split");
        var sb = reader.Superblock8;
        Assert.Equal(4096u, sb.BlockSize);
        Assert.Equal(1175552UL, sb.TotalSize);
        Assert.Equal(4096UL, sb.BaseOffset);
        Assert.Equal(0UL, sb.InodeOffset);
        Assert.Equal(19u, sb.InodeCount);
        Assert.Equal(1u, sb.RootInode);
        Assert.Equal(4096UL, sb.DataOffset); // ALIGN(19*64, 4096)
        Assert.Equal(1024u, sb.OverlayBucketCount);
        Assert.Equal(10u, sb.OverlayBucketShift);
        Assert.Equal(16u, sb.PageCacheSlotCount);
        Assert.Equal(sb.OverlayOffset + sb.OverlaySize, sb.PageCacheOffset);
        Assert.Equal(sb.PageCacheOffset + sb.PageCacheSize, sb.TotalSize);
        Assert.Equal(4096UL + 4096 * 4 + (1UL << 20), sb.OverlaySize); // B + ALIGN(1024*16, B) + pool
        var view = OverlayView.Open(reader);
        Assert.Equal(0UL, view.Header.PoolAlloc);
        Assert.Equal(20UL, view.Header.NextIno);
        Assert.Equal(0, view.UsedBuckets);
        Assert.True(OverlayHeader.FreeListEmpty(view.Header.FreeInode));
        Assert.Throws<InvalidOperationException>(() => reader.Superblock);
        Assert.Throws<InvalidOperationException>(() => reader.Base);
    }

    private static string N067 => "n067-" + new string('0', 196);

    [Fact]
    public void Stride_static_lists_the_name_mkdaxfs_corrupted_as_the_kernel_does()
    {
        // CHECK.md: bytes 128..137 of n067's name are overwritten by n001's data ("entry 001\n"); the kernel lists that
        // 201-byte name (with a newline) for n067's inode: 1 missing + 1 extra, 138 entries.
        using var reader = Open("stride", "static");
        string corrupted = "/d/" + N067[..128] + "entry 001\n" + N067[138..];
        var listing = ExpectedListing.FromTree(OverlayView.MountedTree(reader));
        Assert.Equal(138, listing.Count);
        var diff = VectorListing.Compare(listing, TestPaths.Vector("stride.expected.json"));
        Assert.Equal(new[] { $"/d/{N067}: missing from the tree", $"{corrupted}: not in the vector listing" }, diff);
        // The corrupted name is n067's inode: with the real name in its place the listing is exact.
        var renamed = listing.Select(e => e.Path == corrupted ? e with { Path = "/d/" + N067 } : e).ToList();
        Assert.Empty(VectorListing.Compare(renamed, TestPaths.Vector("stride.expected.json")));
    }

    [Fact]
    public void Stride_split_misses_the_name_the_overlay_header_overwrote()
    {
        // CHECK.md: in the split image the next object is the overlay header ("ylvo\x02\0..."): readdir cuts the name at
        // its first NUL and a lookup of the cut name fails, so find lists 137 entries without n067.
        using var reader = Open("stride", "split");
        var view = OverlayView.Open(reader);
        var listing = ExpectedListing.FromTree(view);
        Assert.Equal(137, listing.Count);
        Assert.Equal(new[] { $"/d/{N067}: missing from the tree" }, VectorListing.Compare(listing, TestPaths.Vector("stride.expected.json")));
        var cut = Assert.Single(view.Walk("/"), i => i.Unreachable);
        Assert.Equal(Encoding.ASCII.GetBytes(N067[..128] + "ylvo\x02"), cut.NameBytes);
    }

    [Fact]
    public void Split_content_needs_the_backing_file()
    {
        using var reader = DaxFsImageReader.Open(V8("basic.v8.split.daxfs"));
        var view = OverlayView.Open(reader);
        var hello = view.GetItem("/a/b/c/hello.txt")!;
        Assert.Equal(13UL, hello.Inode.Size);
        Assert.Throws<InvalidOperationException>(() => view.OpenContent(hello.Ino));
    }
}
