using System.Text;
using DaxFs.Core.Branches;
using DaxFs.Core.Format;
using DaxFs.Core.Read;
using DaxFs.Core.Tests.Build;
using DaxFs.Core.Build;

namespace DaxFs.Core.Tests.Branches;

/// <summary>
/// The offline replay on logs written by hand over the "basic" tree (see TestTrees): each entry kind, the kernel's oddities,
/// chains of two and three levels, and malformed logs. The expected values follow the reference module's lookup rules; the
/// nested fixture (BranchFixtureTests) checks the same rules against what the real kernel showed.
/// </summary>
public sealed class BranchViewTests : IDisposable
{
    private const uint Reg = DaxFsConstants.S_IFREG, Dir = DaxFsConstants.S_IFDIR;
    private readonly TestTrees _trees = new();
    private readonly byte[] _image;
    private readonly ulong _delta;
    private readonly Dictionary<string, ulong> _ino = new();
    private readonly Dictionary<string, byte[]> _content = new();

    public BranchViewTests()
    {
        string src = _trees.Make("basic");
        string img = Path.Combine(_trees.NewFolder("out"), "b.daxfs");
        new ImageBuilder(new ImageBuildOptions { SourcePath = src, Destination = img, Mode = DaxFsImageMode.Branching, DeltaSize = 4 << 20 }).Build();
        _image = File.ReadAllBytes(img);
        _delta = Superblock.Read(_image).DeltaRegionOffset;
        using var reader = DaxFsImageReader.Open(new ByteImageMemory(_image));
        foreach (var item in reader.Walk("/"))
        {
            _ino[item.FullName] = item.Ino;
            if (item.Type == DaxFsItemType.File) { using var s = reader.OpenContent(item.Ino); var m = new MemoryStream(); s.CopyTo(m); _content[item.FullName] = m.ToArray(); }
        }
        _ino["/"] = 1;
    }

    public void Dispose() => _trees.Dispose();

    private ulong I(string path) => _ino[path];

    /// <summary>A copy of the image with main (slot 0), then each further log as the child of the one before.</summary>
    private DaxFsImageReader Image(params LogWriter[] logs)
    {
        var image = (byte[])_image.Clone();
        string[] names = { "main", "feature", "deep", "deeper" };
        for (int k = 0; k < logs.Length; k++)
            LogWriter.PutBranch(image, k, (ulong)k + 1, (ulong)k, names[k], BranchState.Active, _delta + (ulong)k * (1 << 20), logs[k].Bytes);
        return DaxFsImageReader.Open(new ByteImageMemory(image, "hand-made"));
    }

    private static BranchView View(DaxFsImageReader r, string name) => BranchView.Open(r, name);
    private static string Text(IImageTree t, string path) { using var s = t.OpenContent(t.GetItem(path)!.Ino); return new StreamReader(s).ReadToEnd(); }
    private static byte[] Bytes(IImageTree t, string path) { using var s = t.OpenContent(t.GetItem(path)!.Ino); var m = new MemoryStream(); s.CopyTo(m); return m.ToArray(); }
    private static List<string> Names(IImageTree t, string dir = "/") => t.Walk(dir, recurse: false).Where(i => !i.Unreachable).Select(i => i.Name).ToList();
    private static List<string> Unreachable(IImageTree t) => t.Walk("/").Where(i => i.Unreachable).Select(i => i.FullName).ToList();

    [Fact]
    public void CreateMkdirSymlinkAndWriteShowInTheBranchOnly()
    {
        var main = new LogWriter();
        var f = new LogWriter();
        f.File(1, 100, "new.txt");
        f.Write(100, 0, "hello branch\n");
        f.Mkdir(1, 101, "newdir");
        f.Symlink(101, 102, "ln", "../new.txt");
        f.File(101, 103, "inner");
        using var r = Image(main, f);
        var v = View(r, "feature");

        var n = v.GetItem("/new.txt")!;
        Assert.Equal(DaxFsItemType.File, n.Type);
        Assert.Equal(13ul, n.Inode.Size);
        Assert.Equal(Reg | 0x1A4, n.Inode.Mode);
        Assert.Equal((1000u, 100u, 1u), (n.Inode.Uid, n.Inode.Gid, n.Inode.Nlink));
        Assert.Equal("hello branch\n", Text(v, "/new.txt"));

        var d = v.GetItem("/newdir")!;
        Assert.Equal(DaxFsItemType.Directory, d.Type);
        Assert.Equal((0ul, 1u), (d.Inode.Size, d.Inode.Nlink)); // KERNEL: size 0, link count 1
        Assert.Equal(new[] { "ln", "inner" }, Names(v, "/newdir"));
        var ln = v.GetItem("/newdir/ln")!;
        Assert.Equal(("../new.txt", 10ul, DaxFsConstants.S_IFLNK | 0x1FF), (ln.Target, ln.Inode.Size, ln.Inode.Mode));
        Assert.Equal(0ul, v.GetItem("/newdir/inner")!.Inode.Size);

        // Base entries first (stored order), then the branch's names in log order.
        using var baseReader = DaxFsImageReader.Open(new ByteImageMemory(_image));
        Assert.Equal(Names(baseReader).Concat(new[] { "new.txt", "newdir" }), Names(v));
        // main's view is the base image.
        Assert.Null(View(r, "main").GetItem("/new.txt"));
        Assert.Equal(Names(baseReader), Names(View(r, "main")));
    }

    [Fact]
    public void AWriteSetsTheSizeToItsEndAndIsHiddenFromReadsStartingBeforeIt()
    {
        var f = new LogWriter();
        f.Write(I("/a/five000"), 100, "XYZ");   // middle of a base file
        f.Write(I("/one"), 0, "appended\n");     // O_APPEND lands at 0: size = what was written
        f.File(1, 100, "grow");
        f.Write(100, 0, "0123456789");
        f.Write(100, 4, "ab");                   // newer write inside an older one
        using var r = Image(new LogWriter(), f);
        var v = View(r, "feature");

        var five = v.GetItem("/a/five000")!;
        Assert.Equal(103ul, five.Inode.Size);
        Assert.Equal(_content["/a/five000"][..103], Bytes(v, "/a/five000")); // KERNEL: the base run covers the whole read
        Assert.Equal("appended\n", Text(v, "/one"));
        Assert.Equal(6ul, v.GetItem("/grow")!.Inode.Size);                   // 4 + 2
        Assert.Equal("012345", Text(v, "/grow"));                            // the older write covers offset 0..9

        // One run, all from the base image: the write at 100 is never reached from offset 0.
        var plan = v.PlanContent(v.GetItem("/a/five000")!.Ino, out long size);
        Assert.Equal(103, size);
        Assert.Equal((0L, 103L), (Assert.Single(plan).Position, plan[0].Length));
    }

    [Fact]
    public void ReadsAreCutAtReadCallBoundariesSoLaterWritesShowFromThere()
    {
        // A base file larger than one read(2) call: each call restarts the search, so a write at a call boundary shows.
        var f = new LogWriter();
        f.File(1, 100, "big");
        f.Write(100, 0, new byte[BranchView.ReadCallSize + 10]);                  // zeros
        f.Write(100, (ulong)BranchView.ReadCallSize, "NEW");                        // at the second call's first byte
        f.Write(100, (ulong)BranchView.ReadCallSize + 5, "hidden");                 // its first 5 bytes lie behind the zeros' run
        using var r = Image(new LogWriter(), f);
        var v = View(r, "feature");
        var bytes = Bytes(v, "/big");
        const int Call = BranchView.ReadCallSize;
        Assert.Equal(Call + 11, bytes.Length);                                   // size = the last write's end
        Assert.Equal(new byte[Call], bytes[..Call]);
        Assert.Equal("NEW", Encoding.ASCII.GetString(bytes, Call, 3));
        Assert.Equal(new byte[7], bytes[(Call + 3)..(Call + 10)]);               // the zeros' run, not "hidd…"
        Assert.Equal((byte)'n', bytes[Call + 10]);                               // the zeros end: "hidden"[5]
    }

    [Fact]
    public void TruncateShrinksAndAHoleEndsTheContent()
    {
        var f = new LogWriter();
        f.File(1, 100, "t.bin");
        f.Write(100, 0, "abc");
        f.Truncate(100, 10);                    // extended: a hole after "abc"
        f.Truncate(I("/exact4096"), 1);
        f.Truncate(I("/a/b/c/hello.txt"), 0);
        f.Truncate(I("/a/b/c/hello.txt"), 5);   // the base bytes come back
        using var r = Image(new LogWriter(), f);
        var v = View(r, "feature");
        Assert.Equal(10ul, v.GetItem("/t.bin")!.Inode.Size);
        Assert.Equal("abc", Text(v, "/t.bin"));
        using (var s = v.OpenContent(v.GetItem("/t.bin")!.Ino)) Assert.Equal(3, s.Length);
        Assert.Equal(_content["/exact4096"][..1], Bytes(v, "/exact4096"));
        Assert.Equal("hello", Text(v, "/a/b/c/hello.txt"));
        using var baseReader = DaxFsImageReader.Open(new ByteImageMemory(_image));
        Assert.Equal(baseReader.GetItem("/exact4096")!.Inode.Mode, v.GetItem("/exact4096")!.Inode.Mode); // mode from the base
    }

    [Fact]
    public void DeleteHidesFilesButABaseDirectoryStaysListedAndHardLinksSurvive()
    {
        var f = new LogWriter();
        f.Delete(1, I("/one"), "one");
        f.Delete(1, I("/emptydir"), "emptydir");
        f.Delete(1, I("/hard1"), "hard1");
        using var r = Image(new LogWriter(), f);
        var v = View(r, "feature");
        Assert.Null(v.GetItem("/one"));
        Assert.DoesNotContain("one", Names(v));
        Assert.Null(v.GetItem("/emptydir"));            // the lookup finds the DELETE
        Assert.Null(v.GetItem("/hard1"));
        var hard2 = v.GetItem("/a/hard2")!;              // the inode still has a link
        Assert.Equal(1u, hard2.Inode.Nlink);
        Assert.Equal("shared\n", Text(v, "/a/hard2"));
        // KERNEL: readdir lists the base directory (link count 2 - 1) and the removed hard link (2 - 1), unopenable.
        Assert.Equal(new[] { "/emptydir", "/hard1" }, Unreachable(v).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void RenameIsLoggedButDoesNotShow()
    {
        var f = new LogWriter();
        f.Rename(1, I("/a"), I("/one"), "one", "moved");
        f.File(1, 100, "mine");
        f.Rename(1, 1, 100, "mine", "yours");
        using var r = Image(new LogWriter(), f);
        var v = View(r, "feature");
        Assert.NotNull(v.GetItem("/one"));              // the old base name still resolves
        Assert.Null(v.GetItem("/a/moved"));
        Assert.Null(v.GetItem("/mine"));                // made in the branch: the RENAME hides it from lookups…
        Assert.Null(v.GetItem("/yours"));
        Assert.Equal(new[] { "/mine" }, Unreachable(v)); // …but readdir still lists it
    }

    [Fact]
    public void SetAttrChangesModeOwnerAndSize()
    {
        var f = new LogWriter();
        f.SetAttr(I("/one"), Reg | 0x180, (uint)DeltaAttributes.Mode);
        f.SetAttr(I("/private"), 0, (uint)(DeltaAttributes.Uid | DeltaAttributes.Gid), uid: 7, gid: 8);
        f.SetAttr(I("/exact4096"), 0, (uint)DeltaAttributes.Size, size: 2);
        f.File(1, 100, "n");
        f.Write(100, 0, "12345");
        f.SetAttr(100, Reg | 0x1C0, (uint)DeltaAttributes.Mode);
        using var r = Image(new LogWriter(), f);
        var v = View(r, "feature");
        var one = v.GetItem("/one")!;
        Assert.Equal((Reg | 0x180, 1ul), (one.Inode.Mode, one.Inode.Size)); // size kept from the base
        var priv = v.GetItem("/private")!;
        Assert.Equal((7u, 8u, Reg | 0x180), (priv.Inode.Uid, priv.Inode.Gid, priv.Inode.Mode));
        Assert.Equal(2ul, v.GetItem("/exact4096")!.Inode.Size);
        var n = v.GetItem("/n")!;
        Assert.Equal((Reg | 0x1C0, 5ul, 1000u), (n.Inode.Mode, n.Inode.Size, n.Inode.Uid));
    }

    [Fact]
    public void TwoLevelsChildOverParent()
    {
        var main = new LogWriter();                     // as after a commit: main's log holds changes
        main.File(1, 100, "m.txt");
        main.Write(100, 0, "from main\n");
        main.Write(I("/one"), 0, "M");
        var f = new LogWriter();
        f.Write(I("/one"), 0, "F");                     // newest first across levels: the child's write wins
        f.Delete(1, 100, "m.txt");
        f.File(1, 101, "f.txt");
        using var r = Image(main, f);
        var m = View(r, "main");
        var v = View(r, "feature");
        Assert.Equal("from main\n", Text(m, "/m.txt"));
        Assert.Equal("M", Text(m, "/one"));
        Assert.Equal("F", Text(v, "/one"));
        Assert.Null(v.GetItem("/m.txt"));
        Assert.DoesNotContain("m.txt", Names(v));       // deleted below the branch that made it: not listed
        Assert.Equal(new[] { "feature", "main" }, v.Chain.Select(b => b.Name));
        Assert.Equal("main", v.OpenParent()!.BranchName);
        Assert.Null(m.OpenParent());
    }

    [Fact]
    public void ThreeLevelsReaddirOrderAndTheModeZeroOfAParentsFile()
    {
        var main = new LogWriter();
        main.File(1, 100, "m");
        var a = new LogWriter();
        a.File(1, 101, "a1");
        a.Write(101, 0, "from a\n");
        a.File(1, 102, "tmp");
        a.Delete(1, 102, "tmp");                        // made and removed in the same branch
        var b = new LogWriter();
        b.File(1, 103, "b1");
        b.Write(101, 0, "b");                           // a write to a file made in the parent
        b.SetAttr(100, Reg | 0x1C0, (uint)DeltaAttributes.Mode);
        using var r = Image(main, a, b);
        var va = View(r, "feature");
        var vb = View(r, "deep");
        using var baseReader = DaxFsImageReader.Open(new ByteImageMemory(_image));
        var baseNames = Names(baseReader);
        Assert.Equal(baseNames.Concat(new[] { "a1", "m" }), Names(va));
        Assert.Equal(new[] { "/tmp" }, Unreachable(va)); // KERNEL: still listed where it was made…
        Assert.Empty(Unreachable(vb));                   // …but not in a child
        Assert.Equal(baseNames.Concat(new[] { "b1", "a1", "m" }), Names(vb));

        // KERNEL: the child's entry for a1 starts with mode 0 and owner 0:0 (only base inodes get theirs).
        var a1 = vb.GetItem("/a1")!;
        Assert.Equal((0u, DaxFsItemType.Unknown, 1ul, 0u), (a1.Inode.Mode, a1.Type, a1.Inode.Size, a1.Inode.Uid));
        Assert.Throws<InvalidOperationException>(() => vb.OpenContent(a1.Ino));
        var m = vb.GetItem("/m")!;
        Assert.Equal((Reg | 0x1C0, 0ul, 0u), (m.Inode.Mode, m.Inode.Size, m.Inode.Uid)); // SETATTR: mode set, size 0
        Assert.Equal("from a\n", Text(va, "/a1"));
    }

    [Fact]
    public void BranchesAreFoundByNameAsTheKernelFindsThem()
    {
        var image = (byte[])_image.Clone();
        LogWriter.PutBranch(image, 0, 1, 0, "main", BranchState.Active, _delta, Array.Empty<byte>());
        LogWriter.PutBranch(image, 1, 2, 1, "done", BranchState.Committed, _delta + (1 << 20), Array.Empty<byte>());
        LogWriter.PutBranch(image, 2, 3, 1, "gone", BranchState.Aborted, _delta + (2 << 20), Array.Empty<byte>());
        LogWriter.PutBranch(image, 3, 4, 9, "orphan", BranchState.Active, _delta + (3 << 20), Array.Empty<byte>());
        using var r = DaxFsImageReader.Open(new ByteImageMemory(image));
        var ex = Assert.Throws<DaxFsBranchNotFoundException>(() => BranchView.Open(r, "done"));
        Assert.Equal(new[] { "main", "gone", "orphan" }, ex.Available);
        Assert.Equal(BranchState.Aborted, BranchView.Open(r, "gone").Branch.State);
        Assert.Equal(RuleIds.BranchParent, Assert.Throws<DaxFsFormatException>(() => BranchView.Open(r, "orphan")).RuleId);

        var cyc = (byte[])_image.Clone();
        LogWriter.PutBranch(cyc, 0, 1, 2, "x", BranchState.Active, _delta, Array.Empty<byte>());
        LogWriter.PutBranch(cyc, 1, 2, 1, "y", BranchState.Active, _delta + (1 << 20), Array.Empty<byte>());
        using var rc = DaxFsImageReader.Open(new ByteImageMemory(cyc));
        Assert.Equal(RuleIds.BranchCycle, Assert.Throws<DaxFsFormatException>(() => BranchView.Open(rc, "x")).RuleId);

        using var st = DaxFsImageReader.Open(TestPaths.Vector("basic.static.daxfs"));
        Assert.Empty(Assert.Throws<DaxFsBranchNotFoundException>(() => BranchView.Open(st, "main")).Available);
    }

    [Fact]
    public void CorruptLogsNeverCrashTheReplay()
    {
        var f = new LogWriter();
        f.File(1, 100, "new.txt");
        f.Write(100, 0, "hello");
        f.Mkdir(1, 101, "d");
        f.Symlink(101, 102, "ln", "../new.txt");
        f.Delete(1, I("/one"), "one");
        f.Rename(1, 1, I("/empty"), "empty", "e2");
        f.SetAttr(I("/private"), Reg | 0x1FF, 15, 1, 2, 3);
        f.Truncate(100, 1 << 20);
        f.Write(I("/a/five000"), ulong.MaxValue - 2, "wrap");
        f.Create(2, 100, 100, Dir | 0x1ED, "self");      // a directory that names itself
        var log = f.Bytes;
        var rng = new Random(12);
        int formatErrors = 0;
        for (int round = 0; round < 400; round++)
        {
            var bad = (byte[])log.Clone();
            for (int k = 0; k < 1 + rng.Next(4); k++) bad[rng.Next(bad.Length)] = (byte)rng.Next(256);
            var image = (byte[])_image.Clone();
            LogWriter.PutBranch(image, 0, 1, 0, "main", BranchState.Active, _delta, Array.Empty<byte>());
            LogWriter.PutBranch(image, 1, 2, 1, "feature", BranchState.Active, _delta + (1 << 20), bad);
            using var r = DaxFsImageReader.Open(new ByteImageMemory(image));
            try
            {
                var v = BranchView.Open(r, "feature");
                foreach (var item in v.Walk("/"))
                {
                    if (item.Unreachable) continue;
                    if (item.Type == DaxFsItemType.File) { using var s = v.OpenContent(item.Ino); s.CopyTo(Stream.Null); }
                    if (item.Type == DaxFsItemType.SymbolicLink) Assert.NotNull(item.Target);
                }
                BranchComparer.Compare(v).ToList();
            }
            catch (DaxFsFormatException ex)
            {
                Assert.False(string.IsNullOrEmpty(ex.RuleId));
                formatErrors++;
            }
        }
        Assert.InRange(formatErrors, 1, 399); // some mutations break the framing, some leave a log that replays
    }

    [Fact]
    public void CompareListsWhatTheBranchChanged()
    {
        var f = new LogWriter();
        f.File(1, 100, "new.txt");
        f.Delete(1, I("/one"), "one");
        f.Write(I("/a/b/c/hello.txt"), 0, "HELLO");
        f.SetAttr(I("/private"), Reg | 0x1A4, (uint)DeltaAttributes.Mode);
        f.Rename(1, 1, I("/empty"), "empty", "e2");
        using var r = Image(new LogWriter(), f);
        var changes = BranchComparer.Compare(View(r, "feature")).ToList();
        Assert.Equal(new[]
        {
            ("/a/b/c/hello.txt", BranchChangeKind.Modified), ("/new.txt", BranchChangeKind.Added),
            ("/one", BranchChangeKind.Removed), ("/private", BranchChangeKind.Attributes),
        }, changes.Select(c => (c.Path, c.Change)));
        Assert.Equal("size 13 → 5; content differs", changes[0].Details);
        Assert.Equal("mode -rw------- → -rw-r--r--", changes[3].Details);
        Assert.Empty(BranchComparer.Compare(View(r, "main")));
    }
}
