using System.Security.Cryptography;
using System.Text;
using DaxFs.Core.Format;
using DaxFs.Core.Overlay;
using DaxFs.Core.Read;

namespace DaxFs.Core.Tests.Overlay;

/// <summary>
/// The two format-8 images whose overlay the v8 kernel wrote (shared vectors/v8/overlay) list offline exactly as a fresh
/// mount listed them (NAME.kernel-view.txt: find -printf '%y|%m|%U|%G|%s|%n|%l|/%P', then sha256 of every regular file).
/// </summary>
public class OverlayVectorTests
{
    public static string Ovl(string name) => Path.Combine(TestPaths.Vectors, "v8", "overlay", name);

    public static DaxFsImageReader Open(string name)
    {
        string backing = Ovl(name + ".backing");
        return DaxFsImageReader.Open(Ovl(name + ".daxfs"), File.Exists(backing) ? backing : null);
    }

    /// <summary>The kernel's view: path → the find line, and path → sha256.</summary>
    private static (SortedDictionary<string, string> Lines, SortedDictionary<string, string> Sha) KernelView(string name)
    {
        var lines = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var sha = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in File.ReadAllLines(Ovl(name + ".kernel-view.txt"), Encoding.UTF8))
        {
            if (line.Length == 0) continue;
            var f = line.Split('|');
            if (f[0] == "sha256") sha[f[2]] = f[1];
            else lines[f[7]] = line;
        }
        return (lines, sha);
    }

    /// <summary>The same lines made offline from the view.</summary>
    private static (SortedDictionary<string, string> Lines, SortedDictionary<string, string> Sha) OfflineView(IImageTree tree)
    {
        var lines = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var sha = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var i in new[] { tree.GetItem("/")! }.Concat(tree.Walk("/").Where(i => !i.Unreachable)))
        {
            char type = i.Type switch { DaxFsItemType.Directory => 'd', DaxFsItemType.SymbolicLink => 'l', _ => 'f' };
            string mode = Convert.ToString(i.Inode.Mode & 0xFFF, 8);
            lines[i.FullName] = $"{type}|{mode}|{i.Inode.Uid}|{i.Inode.Gid}|{i.Inode.Size}|{i.Inode.Nlink}|{i.Target}|{i.FullName}";
            if (i.Type == DaxFsItemType.File)
            {
                using var s = tree.OpenContent(i.Ino);
                sha[i.FullName] = Convert.ToHexString(SHA256.HashData(s)).ToLowerInvariant();
            }
        }
        return (lines, sha);
    }

    [Theory]
    [InlineData("overlay-after-writes", DaxFsImageMode.Split)]
    [InlineData("overlay-only-after-writes", DaxFsImageMode.OverlayOnly)]
    public void Offline_view_equals_the_kernel_view(string name, DaxFsImageMode mode)
    {
        using var reader = Open(name);
        Assert.Equal(mode, reader.Mode);
        var view = OverlayView.MountedTree(reader);
        Assert.IsType<OverlayView>(view);
        var (kLines, kSha) = KernelView(name);
        var (oLines, oSha) = OfflineView(view);
        Assert.Equal(kLines.Keys, oLines.Keys);
        foreach (var (path, line) in kLines) Assert.Equal(line, oLines[path]);
        Assert.Equal(kSha, oSha);
    }

    [Fact]
    public void Overlay_state_of_the_split_image_is_what_the_kernel_left()
    {
        // OVERLAY.md: 51 buckets used, pool_alloc 92864, next_ino 29, free lists empty.
        using var reader = Open("overlay-after-writes");
        var view = OverlayView.Open(reader);
        Assert.Equal(51, view.UsedBuckets);
        Assert.Equal(92864UL, view.Header.PoolAlloc);
        Assert.Equal(29UL, view.Header.NextIno);
        Assert.True(OverlayHeader.FreeListEmpty(view.Header.FreeInode) && OverlayHeader.FreeListEmpty(view.Header.FreeData) && OverlayHeader.FreeListEmpty(view.Header.FreeDirent));
    }

    [Fact]
    public void The_lost_append_is_reported_and_not_shown()
    {
        // OVERLAY.md: /a/b/c/hello.txt 13 -> 27 bytes in the writing mount; after a remount 13 (its page keeps the 14 appended bytes).
        using var reader = Open("overlay-after-writes");
        var view = OverlayView.Open(reader);
        var hello = view.GetItem("/newdir/c-moved/hello.txt")!;
        Assert.Equal(13UL, hello.Inode.Size);
        var lost = Assert.Single(view.FindLostAppends());
        Assert.Equal(hello.Ino, lost.Ino);
        Assert.Equal(0UL, lost.Page);
        Assert.Equal(14, lost.BytesPastSize);
        using var only = Open("overlay-only-after-writes");
        Assert.Empty(OverlayView.Open(only).FindLostAppends());
    }

    [Fact]
    public void Tombstones_hide_base_and_overlay_names()
    {
        using var reader = Open("overlay-after-writes");
        var view = OverlayView.Open(reader);
        Assert.NotNull(reader.GetItem("/suid"));        // in the base
        Assert.Null(view.GetItem("/suid"));             // removed through the mount
        Assert.Null(view.GetItem("/emptydir"));
        Assert.Null(view.GetItem("/gone.txt"));         // made and removed in the overlay
        Assert.Null(view.GetItem("/a/b/c"));            // renamed away
        Assert.NotNull(view.GetItem("/newdir/c-moved"));
        Assert.DoesNotContain(view.Walk("/", recurse: false), i => i.Name == "suid");
    }
}
