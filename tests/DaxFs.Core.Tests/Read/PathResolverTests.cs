using System.Text;
using DaxFs.Core.Format;
using DaxFs.Core.Read;
using DaxFs.Core.Branches;
using DaxFs.Core.Tests.Branches;
using DaxFs.Core.Tests.Validate;

namespace DaxFs.Core.Tests.Read;

/// <summary>
/// Path walking inside an image as the kernel's namei does it: symlinks before the last component followed (relative from
/// the link's directory, absolute from the root), ".." from the directory actually reached, 40 links at most, and raw
/// name bytes throughout.
/// </summary>
public class PathResolverTests
{
    private static readonly byte[] s_badName = [(byte)'b', (byte)'a', (byte)'d', 0xFF, (byte)'n'];

    /// <summary>/usr/bin/hello, /bin → usr/bin, /sbin → /usr/bin, /etc/up → ../usr, /lib → usr/lib (dangling),
    /// /loop1 ⇄ /loop2, /file/x below a file, /raw\xffn/inner with a name that is not UTF-8, /self → . (a link to its dir).</summary>
    private static DaxFsImageReader Image()
    {
        var t = new TinyImage();
        uint usr = t.Dir(), bin = t.Dir(), etc = t.Dir(), raw = t.Dir();
        uint hello = t.File("hello\n"), inner = t.File("inner\n"), plain = t.File("x");
        t.Link(t.Root, "usr", usr).Link(usr, "bin", bin).Link(bin, "hello", hello).Link(t.Root, "etc", etc);
        t.Link(t.Root, "bin", t.Symlink("usr/bin"));
        t.Link(t.Root, "sbin", t.Symlink("/usr/bin"));
        t.Link(etc, "up", t.Symlink("../usr"));
        t.Link(t.Root, "lib", t.Symlink("usr/lib"));
        t.Link(t.Root, "loop1", t.Symlink("loop2"));
        t.Link(t.Root, "loop2", t.Symlink("loop1"));
        t.Link(t.Root, "file", plain);
        t.Link(bin, "self", t.Symlink("."));
        t.Link(t.Root, s_badName, raw).Link(raw, "inner", inner);
        return DaxFsImageReader.Open(new ByteImageMemory(t.Build().Bytes));
    }

    [Theory]
    [InlineData("/bin/hello")]
    [InlineData("/sbin/hello")]
    [InlineData("/etc/up/bin/hello")]
    [InlineData("/bin/self/self/hello")]
    [InlineData("/etc/../bin/./hello")]
    [InlineData("/../../usr/bin/hello")]
    public void Links_before_the_last_component_are_followed(string path)
    {
        using var r = Image();
        var res = PathResolver.Resolve(r, path, followLast: false);
        Assert.Equal(PathResolutionError.None, res.Error);
        Assert.Equal("/usr/bin/hello", res.Item!.FullName);
    }

    [Fact]
    public void The_last_link_is_followed_only_when_asked()
    {
        using var r = Image();
        Assert.Equal(DaxFsItemType.SymbolicLink, PathResolver.Resolve(r, "/bin", followLast: false).Item!.Type);
        var followed = PathResolver.Resolve(r, "/bin", followLast: true).Item!;
        Assert.Equal(DaxFsItemType.Directory, followed.Type);
        Assert.Equal("/usr/bin", followed.FullName);
    }

    [Fact]
    public void A_trailing_slash_follows_the_last_link()
    {
        using var r = Image();
        Assert.Equal("/usr/bin", PathResolver.Resolve(r, "/bin/", followLast: false).Item!.FullName);
        Assert.Equal("/usr/bin", PathResolver.Resolve(r, "/bin/.", followLast: false).Item!.FullName);
    }

    [Fact]
    public void A_dangling_link_is_named_with_its_target()
    {
        using var r = Image();
        var res = PathResolver.Resolve(r, "/lib/libc.so", followLast: true);
        Assert.Equal(PathResolutionError.DanglingLink, res.Error);
        Assert.Equal("/lib", res.LinkPath);
        Assert.Equal("usr/lib", res.LinkTarget);
        Assert.Contains("'/lib' is a link to 'usr/lib', which is not in the image", res.Message);
    }

    [Fact]
    public void A_missing_name_behind_a_good_link_is_not_found_not_dangling()
    {
        using var r = Image();
        Assert.Equal(PathResolutionError.NotFound, PathResolver.Resolve(r, "/bin/nope", followLast: true).Error);
        Assert.Equal(PathResolutionError.NotFound, PathResolver.Resolve(r, "/nope/x", followLast: true).Error);
    }

    [Fact]
    public void A_loop_stops_after_40_links()
    {
        using var r = Image();
        var res = PathResolver.Resolve(r, "/loop1/x", followLast: true);
        Assert.Equal(PathResolutionError.TooManyLinks, res.Error);
        Assert.Contains("more than 40", res.Message);
    }

    [Fact]
    public void Forty_links_are_allowed()
    {
        var t = new TinyImage();
        uint target = t.File("end");
        t.Link(t.Root, "l0", target);
        for (int i = 1; i <= 41; i++) t.Link(t.Root, $"l{i}", t.Symlink($"l{i - 1}"));
        using var r = DaxFsImageReader.Open(new ByteImageMemory(t.Build().Bytes));
        Assert.Equal("/l0", PathResolver.Resolve(r, "/l40", followLast: true).Item!.FullName);
        Assert.Equal(PathResolutionError.TooManyLinks, PathResolver.Resolve(r, "/l41", followLast: true).Error);
    }

    [Fact]
    public void A_file_before_the_last_component_is_not_a_directory()
    {
        using var r = Image();
        Assert.Equal(PathResolutionError.NotADirectory, PathResolver.Resolve(r, "/file/x", followLast: true).Error);
    }

    [Fact]
    public void Raw_names_resolve_and_items_keep_their_bytes()
    {
        using var r = Image();
        byte[] path = [.. "/"u8, .. s_badName, .. "/inner"u8];
        var res = PathResolver.Resolve(r, path, followLast: true);
        Assert.Equal(PathResolutionError.None, res.Error);
        Assert.Equal(path, res.Item!.FullNameBytes);
        // The text form is lossy, so it cannot find the entry; the bytes can.
        Assert.Null(r.GetItem(res.Item.FullName));
        Assert.NotNull(r.GetItem(path));
    }

    [Fact]
    public void A_walk_gives_raw_paths_below_a_directory_whose_name_is_not_UTF8()
    {
        using var r = Image();
        var inner = Assert.Single(r.Walk("/"), i => i.Name == "inner");
        Assert.True(inner.HasRawPath);
        Assert.Equal([.. "/"u8, .. s_badName, .. "/inner"u8], inner.FullNameBytes);
        Assert.Equal("inner\n", new StreamReader(r.OpenContent(r.GetItem(inner.FullNameBytes)!.Ino)).ReadToEnd());
        var hello = Assert.Single(r.Walk("/"), i => i.Name == "hello");
        Assert.False(hello.HasRawPath);
        Assert.Equal(Encoding.UTF8.GetBytes("/usr/bin/hello"), hello.FullNameBytes);
    }

    [Fact]
    public void A_branch_view_gives_raw_paths_too_and_resolves_them()
    {
        var t = new TinyImage();
        uint raw = t.Dir(), inner = t.File("inner\n");
        t.Link(t.Root, s_badName, raw).Link(raw, "inner", inner);
        var bytes = t.Build(TinyLayout.Branching).Bytes;
        LogWriter.PutBranch(bytes, 0, 1, 0, "main", BranchState.Active, Superblock.Read(bytes).DeltaRegionOffset, new LogWriter().Bytes);
        using var r = DaxFsImageReader.Open(new ByteImageMemory(bytes));
        var view = BranchView.Open(r, "main");
        var walked = Assert.Single(view.Walk("/"), i => i.Name == "inner");
        Assert.Equal([.. "/"u8, .. s_badName, .. "/inner"u8], walked.FullNameBytes);
        Assert.Equal(walked.Ino, view.GetItem(walked.FullNameBytes)!.Ino);
        Assert.Equal(PathResolutionError.NotFound, PathResolver.Resolve(view, walked.FullName, followLast: true).Error);
    }
}
