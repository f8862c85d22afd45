using System.Text;
using DaxFs.Core.Branches;
using DaxFs.Core.Export;
using DaxFs.Core.Format;
using DaxFs.Core.Read;
using DaxFs.Core.Tests.Build;
using DaxFs.Core.Build;

namespace DaxFs.Core.Tests.Branches;

/// <summary>
/// Attributes carried across branch levels: each kind of change made to a file, directory or symlink in the branch that
/// made it, in its child and in its grandchild, and to base files that a parent branch changed first; each branch of the
/// chain viewed. The expected values are what fresh mounts of the reference module showed in the test VM for the same
/// changes (tests/Integration/Branches.Tests.ps1 makes them through the kernel and compares its fresh mounts with the
/// replay): an entry a branch makes for an inode it did not make (TRUNCATE, WRITE, SETATTR, DELETE) takes mode and owner
/// from the base image and from nowhere else — a file made by a parent shows mode 0 and owner 0:0 in the child, and a
/// SETATTR without a size gives it size 0 — while lookups, readdir, content and symlink targets walk the whole chain.
/// </summary>
public sealed class BranchLevelTests : IDisposable
{
    private const uint Reg = DaxFsConstants.S_IFREG, Dir = DaxFsConstants.S_IFDIR, Lnk = DaxFsConstants.S_IFLNK;
    private static readonly string[] Levels = { "feature", "deep", "deeper" }; // the maker, its child, its grandchild
    private readonly TestTrees _trees = new();
    private readonly byte[] _image;
    private readonly ulong _delta;
    private readonly Dictionary<string, ulong> _ino = new();
    private readonly Dictionary<string, byte[]> _content = new();

    public BranchLevelTests()
    {
        string src = _trees.Make("basic");
        string img = Path.Combine(_trees.NewFolder("out"), "b.daxfs");
        new ImageBuilder(new ImageBuildOptions { SourcePath = src, Destination = img, Mode = DaxFsImageMode.Branching, DeltaSize = 5 << 20 }).Build();
        _image = File.ReadAllBytes(img);
        _delta = Superblock.Read(_image).DeltaRegionOffset;
        using var reader = DaxFsImageReader.Open(new ByteImageMemory(_image));
        foreach (var item in reader.Walk("/"))
        {
            _ino[item.FullName] = item.Ino;
            if (item.Type == DaxFsItemType.File) { using var s = reader.OpenContent(item.Ino); var m = new MemoryStream(); s.CopyTo(m); _content[item.FullName] = m.ToArray(); }
        }
    }

    public void Dispose() => _trees.Dispose();

    /// <summary>main (with its own log, as after a commit), then feature, deep and deeper, each the child of the one before.</summary>
    private DaxFsImageReader Image(LogWriter main, params LogWriter[] levels)
    {
        var image = (byte[])_image.Clone();
        LogWriter.PutBranch(image, 0, 1, 0, "main", BranchState.Active, _delta, main.Bytes);
        for (int k = 0; k < levels.Length; k++)
            LogWriter.PutBranch(image, k + 1, (ulong)k + 2, (ulong)k + 1, Levels[k], BranchState.Active, _delta + (ulong)(k + 1) * (1 << 20), levels[k].Bytes);
        return DaxFsImageReader.Open(new ByteImageMemory(image, "hand-made"));
    }

    private static byte[]? Content(BranchView v, ImageItem item)
    {
        if (item.Type != DaxFsItemType.File) return null;
        using var s = v.OpenContent(item.Ino);
        var m = new MemoryStream();
        s.CopyTo(m);
        return m.ToArray();
    }

    /// <summary>What a view shows for one name: gone (neither listed nor found), listed but not found, or an item.</summary>
    private sealed record Shown(bool Listed, bool Found, DaxFsItemType Type = default, uint Mode = 0, ulong Size = 0, uint Uid = 0, uint Gid = 0, string? Text = null, string? Target = null)
    {
        public static readonly Shown Gone = new(false, false);
        public static readonly Shown Unreachable = new(true, false);
        public static Shown Item(DaxFsItemType type, uint mode, ulong size, uint uid, uint gid, string? text = null, string? target = null) => new(true, true, type, mode, size, uid, gid, text, target);
        public override string ToString() => !Listed ? "gone" : !Found ? "listed, not found" : $"{Type} {Convert.ToString(Mode, 8)} size {Size} {Uid}:{Gid} '{Text}' -> '{Target}'";
    }

    private static Shown Observe(BranchView v, string path)
    {
        string dir = path[..Math.Max(1, path.LastIndexOf('/'))];
        string name = path[(path.LastIndexOf('/') + 1)..];
        var listed = v.Walk(dir, recurse: false).FirstOrDefault(i => i.Name == name);
        if (listed is null) return v.GetItem(path) is null ? Shown.Gone : throw new Xunit.Sdk.XunitException($"{path} is found but not listed");
        var item = v.GetItem(path);
        Assert.Equal(item is null, listed.Unreachable);
        if (item is null) return Shown.Unreachable;
        var bytes = Content(v, item);
        return Shown.Item(item.Type, item.Inode.Mode, item.Inode.Size, item.Inode.Uid, item.Inode.Gid, bytes is null ? null : Encoding.UTF8.GetString(bytes), item.Target);
    }

    public enum Kind { Truncate0, Truncate5, Chmod, Chown, WriteMiddle, Append, Unlink, Rename, Rmdir, MakeInDirectory, UnlinkSymlink }

    public static TheoryData<Kind, int> EveryKindAtEveryLevel()
    {
        var data = new TheoryData<Kind, int>();
        foreach (var k in Enum.GetValues<Kind>())
            for (int level = 0; level < Levels.Length; level++) data.Add(k, level);
        return data;
    }

    /// <summary>
    /// One object made in feature (level 0) and one kind of change made to it at <paramref name="changedAt"/> (0 feature,
    /// 1 deep, 2 deeper), logged as the kernel logs that operation: `: >` and `truncate -s` → TRUNCATE, chmod → SETATTR mode
    /// (the type bits included), chown → SETATTR uid|gid, a write in the middle → WRITE, `>>` → WRITE at 0, rm and rmdir →
    /// DELETE, mv → RENAME, and CREATE, MKDIR and SYMLINK inside a directory feature made.
    /// </summary>
    [Theory]
    [MemberData(nameof(EveryKindAtEveryLevel))]
    public void AChangeShowsInTheBranchThatMadeItAndBelowWithTheKernelsAttributes(Kind kind, int changedAt)
    {
        const ulong Obj = 100, Inner = 200, Sub = 201, Link = 202;
        const string Made = "hello world\n";
        var logs = new[] { new LogWriter(), new LogWriter(), new LogWriter() };
        var maker = logs[0];
        var at = logs[changedAt];
        string path = "/obj", other = null!;
        switch (kind)
        {
            case Kind.Rmdir or Kind.MakeInDirectory: maker.Mkdir(1, Obj, "obj"); break;
            case Kind.UnlinkSymlink: maker.Symlink(1, Obj, "obj", "one"); break;
            default: maker.File(1, Obj, "obj"); maker.Write(Obj, 0, Made); break;
        }
        switch (kind)
        {
            case Kind.Truncate0: at.Truncate(Obj, 0); break;
            case Kind.Truncate5: at.Truncate(Obj, 5); break;
            case Kind.Chmod: at.SetAttr(Obj, Reg | 0x180, (uint)DeltaAttributes.Mode); break;
            case Kind.Chown: at.SetAttr(Obj, 0, (uint)(DeltaAttributes.Uid | DeltaAttributes.Gid), uid: 7, gid: 8); break;
            case Kind.WriteMiddle: at.Write(Obj, 3, "ZZ"); break;
            case Kind.Append: at.Write(Obj, 0, "more\n"); break;
            case Kind.Unlink or Kind.UnlinkSymlink: at.Delete(1, Obj, "obj"); break;
            case Kind.Rmdir: at.Delete(1, Obj, "obj"); break;
            case Kind.Rename: at.Rename(1, 1, Obj, "obj", "renamed"); other = "/renamed"; break;
            case Kind.MakeInDirectory:
                at.File(Obj, Inner, "inside");
                at.Write(Inner, 0, "inside\n");
                at.Mkdir(Obj, Sub, "sub");
                at.Symlink(Obj, Link, "link", "../one");
                break;
        }
        using var r = Image(new LogWriter(), logs);
        for (int view = 0; view < Levels.Length; view++)
        {
            var v = BranchView.Open(r, Levels[view]);
            bool changed = view >= changedAt;   // the change shows in its branch and the branches below it
            bool sameBranch = changedAt == 0;   // made by the branch that made the object
            var made = Shown.Item(DaxFsItemType.File, Reg | 0x1A4, 12, 1000, 100, Made);
            // KERNEL: an entry of a branch that did not make the inode starts from the base image: mode 0, owner 0:0.
            Shown Entry(uint mode, ulong size, uint uid = 0, uint gid = 0, string? text = null) => sameBranch
                ? Shown.Item(DaxFsItemType.File, mode == 0 ? Reg | 0x1A4 : mode, size, uid == 0 ? 1000 : uid, gid == 0 ? 100 : gid, text)
                : Shown.Item(mode == 0 ? DaxFsItemType.Unknown : DaxFsItemType.File, mode, size, uid, gid, mode == 0 ? null : text);
            Shown want = kind switch
            {
                _ when !changed && kind is Kind.Rmdir or Kind.MakeInDirectory => Shown.Item(DaxFsItemType.Directory, Dir | 0x1ED, 0, 1000, 100),
                _ when !changed && kind is Kind.UnlinkSymlink => Shown.Item(DaxFsItemType.SymbolicLink, Lnk | 0x1FF, 3, 1000, 100, target: "one"),
                _ when !changed => made,
                Kind.Truncate0 => Entry(0, 0, text: ""),
                Kind.Truncate5 => Entry(0, 5, text: "hello"),
                // SETATTR without a size: the size of a non-base inode starts at 0 in a branch that did not make it.
                Kind.Chmod => Entry(Reg | 0x180, sameBranch ? 12ul : 0, text: sameBranch ? Made : ""),
                Kind.Chown => Entry(0, sameBranch ? 12ul : 0, 7, 8, text: Made),
                // KERNEL: a write sets the size to its end; a read from 0 takes the older write that covers 0.
                Kind.WriteMiddle => Entry(0, 5, text: "hello"),
                Kind.Append => Entry(0, 5, text: "more\n"),
                // KERNEL: made and removed (or renamed away) in one branch, the name is still listed there; below, a removed
                // name is gone, and a renamed one still resolves through the branch that made it.
                Kind.Unlink or Kind.UnlinkSymlink or Kind.Rmdir => view == 0 ? Shown.Unreachable : Shown.Gone,
                Kind.Rename => sameBranch ? Shown.Unreachable : made,
                Kind.MakeInDirectory => Shown.Item(DaxFsItemType.Directory, Dir | 0x1ED, 0, 1000, 100),
                _ => throw new ArgumentOutOfRangeException(nameof(kind)),
            };
            Assert.True(want == Observe(v, path), $"{kind} made in {Levels[changedAt]}, seen in {Levels[view]}: want {want}, got {Observe(v, path)}");
            if (other is not null) Assert.Equal(Shown.Gone, Observe(v, other)); // KERNEL: a new name never shows
            if (kind == Kind.MakeInDirectory)
            {
                var inside = changed ? Shown.Item(DaxFsItemType.File, Reg | 0x1A4, 7, 1000, 100, "inside\n") : Shown.Gone;
                Assert.Equal(inside, Observe(v, "/obj/inside"));
                Assert.Equal(changed ? Shown.Item(DaxFsItemType.Directory, Dir | 0x1ED, 0, 1000, 100) : Shown.Gone, Observe(v, "/obj/sub"));
                Assert.Equal(changed ? Shown.Item(DaxFsItemType.SymbolicLink, Lnk | 0x1FF, 6, 1000, 100, target: "../one") : Shown.Gone, Observe(v, "/obj/link"));
            }
        }
    }

    [Fact]
    public void ExportOfAModeZeroFileSaysWhyAndWhereItCanBeRead()
    {
        var feature = new LogWriter();
        feature.File(1, 100, "made.txt");
        feature.Write(100, 0, "made in feature\n");
        var deep = new LogWriter();
        deep.Truncate(100, 0);
        using var r = Image(new LogWriter(), feature, deep);
        string dest = _trees.NewFolder("export");
        Assert.NotEmpty(new ImageExporter(BranchView.Open(r, "feature")).Export("/made.txt", Path.Combine(dest, "feature")).ToList());
        Assert.Equal("made in feature\n", File.ReadAllText(Path.Combine(dest, "feature", "made.txt")));
        var ex = Assert.Throws<DaxFsExportException>(() => new ImageExporter(BranchView.Open(r, "deep")).Export("/", Path.Combine(dest, "deep")).ToList());
        Assert.Equal("/made.txt", ex.PathInImage);
        Assert.Contains("has mode 0 in branch 'deep', as a fresh kernel mount of the branch shows it", ex.Message);
        Assert.Contains("Export it from the branch that made it", ex.Message);
        Assert.False(File.Exists(Path.Combine(dest, "deep", "made.txt")));
    }

    /// <summary>
    /// Base files whose attributes a parent branch changed first: the child's entry starts again from the base image, so
    /// the parent's mode, owner and (for a SETATTR without a size) size do not carry over, while the parent's writes still
    /// serve reads. The same changes the VM makes to hello.txt, owned.txt, modify_me.txt and big.bin.
    /// </summary>
    [Fact]
    public void BaseFilesChangedByAParentStartFromTheBaseImageInTheChild()
    {
        ulong hello = _ino["/a/b/c/hello.txt"], owned = _ino["/one"], modify = _ino["/private"], big = _ino["/a/five000"];
        var main = new LogWriter();                                  // as after a commit
        main.SetAttr(owned, 0, (uint)(DeltaAttributes.Uid | DeltaAttributes.Gid), uid: 1000, gid: 1000);
        main.SetAttr(modify, Reg | 0x1FF, (uint)DeltaAttributes.Mode);
        main.Write(modify, 0, "Modified");
        main.Write(big, 4000, "ZZ");                                 // size 4002 in main
        var feature = new LogWriter();
        feature.SetAttr(hello, Reg | 0x180, (uint)DeltaAttributes.Mode);
        feature.Truncate(owned, 0);
        var deep = new LogWriter();
        deep.Write(hello, 0, "A");
        deep.Truncate(modify, 3);
        var deeper = new LogWriter();
        deeper.SetAttr(hello, 0, (uint)(DeltaAttributes.Uid | DeltaAttributes.Gid), uid: 1000, gid: 1001);
        deeper.SetAttr(big, Reg | 0x1A0, (uint)DeltaAttributes.Mode);
        using var r = Image(main, feature, deep, deeper);
        using var baseReader = DaxFsImageReader.Open(new ByteImageMemory(_image));
        BaseInode B(string p) => baseReader.GetItem(p)!.Inode;
        string Text(BranchView v, string p) => Encoding.UTF8.GetString(Content(v, v.GetItem(p)!)!);
        (uint, ulong, uint, uint) Attr(BranchView v, string p) { var i = v.GetItem(p)!.Inode; return (i.Mode, i.Size, i.Uid, i.Gid); }

        var m = BranchView.Open(r, "main");
        var f = BranchView.Open(r, "feature");
        var d = BranchView.Open(r, "deep");
        var dd = BranchView.Open(r, "deeper");
        Assert.Equal((B("/one").Mode, 1ul, 1000u, 1000u), Attr(m, "/one"));
        Assert.Equal((B("/one").Mode, 0ul, B("/one").Uid, B("/one").Gid), Attr(f, "/one"));               // main's chown dropped
        Assert.Equal((Reg | 0x1FF, 8ul), (Attr(m, "/private").Item1, Attr(m, "/private").Item2));
        Assert.Equal((B("/private").Mode, 3ul), (Attr(d, "/private").Item1, Attr(d, "/private").Item2));  // main's chmod dropped
        Assert.Equal("Mod", Text(d, "/private"));                                                        // main's write still read
        Assert.Equal((Reg | 0x180, 13ul), (Attr(f, "/a/b/c/hello.txt").Item1, Attr(f, "/a/b/c/hello.txt").Item2));
        Assert.Equal((B("/a/b/c/hello.txt").Mode, 1ul), (Attr(d, "/a/b/c/hello.txt").Item1, Attr(d, "/a/b/c/hello.txt").Item2)); // feature's chmod dropped
        Assert.Equal("A", Text(d, "/a/b/c/hello.txt"));
        // deeper's chown: mode and size from the base again (deep's size 1 and feature's mode dropped), deep's write still read.
        Assert.Equal((B("/a/b/c/hello.txt").Mode, 13ul, 1000u, 1001u), Attr(dd, "/a/b/c/hello.txt"));
        Assert.Equal("Aello, daxfs\n", Text(dd, "/a/b/c/hello.txt"));
        Assert.Equal(4002ul, Attr(m, "/a/five000").Item2);
        Assert.Equal((Reg | 0x1A0, 5000ul), (Attr(dd, "/a/five000").Item1, Attr(dd, "/a/five000").Item2)); // main's size dropped
        // KERNEL: a read from 0 takes the base run across main's write at 4000 (each read(2) call of 128 KiB is one run).
        Assert.Equal(_content["/a/five000"], Content(dd, dd.GetItem("/a/five000")!));
    }
}
