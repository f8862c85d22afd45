using DaxFs.Core.Errors;
using DaxFs.Core.Tests.Linux;
using System.Text;
using DaxFs.Core.Branches;
using DaxFs.Core.Format;
using DaxFs.Core.Linux;
using DaxFs.Core.Operations;
using DaxFs.Core.Read;
using DaxFs.Core.Tests.Branches;

namespace DaxFs.Core.Tests.Operations;

/// <summary>
/// New-DaxFsBranch's pre-checks and Complete/Undo-DaxFsBranch's plans, on the kernel-made nested.daxfs fixture (main
/// active, a committed child, feature ← main, deep ← feature; 1 MiB of delta region left) placed in a fake /dev/mem or
/// played as a mount's dma-buf, with a fake mountinfo and mount API.
/// </summary>
public sealed class BranchManagerTests : IDisposable
{
    private const ulong Phys = 0x200000;
    private static readonly string Nested = Path.Combine(TestPaths.RepoRoot, "tests", "fixtures", "branches", "nested.daxfs");
    private readonly TempDir _root = new();
    private readonly FakeMountApi _api = new();
    private readonly long _size = new FileInfo(Nested).Length;

    public void Dispose() => _root.Dispose();

    private string Mnt(string name) => Directory.CreateDirectory(Path.Combine(_root.Path, "mnt", name)).FullName;

    /// <summary>Puts the image at <see cref="Phys"/> in a fake /dev/mem and writes mountinfo lines for the given (mount, branch path) pairs.</summary>
    private LinuxContext Host(byte[]? image = null, bool withMem = true, bool dmaBuf = false, params (string Mount, string Branch)[] mounts)
    {
        image ??= File.ReadAllBytes(Nested);
        Directory.CreateDirectory(Path.Combine(_root.Path, "dev"));
        string mem = Path.Combine(_root.Path, "dev", "mem");
        if (withMem)
        {
            using var f = new FileStream(mem, FileMode.Create);
            f.Seek((long)Phys, SeekOrigin.Begin);
            f.Write(image);
        }
        string asBuffer = _root.File("dmabuf.bin");
        File.WriteAllBytes(asBuffer, image);
        if (dmaBuf) _api.DmaBufFile = asBuffer;
        var lines = mounts.Select((m, i) =>
            $"{40 + i} 1 0:{50 + i} / {MountInfo.Escape(Mnt(m.Mount))} rw,relatime - daxfs none {(m.Branch == "/main" ? "ro" : "rw")}," +
            (dmaBuf ? "source=dmabuf" : $"phys=0x{Phys:x}") + $",size={_size},branch={m.Branch}");
        return FakeHost.Context(_root, mountApi: _api, mountInfo: _root.File("mountinfo", string.Join('\n', lines) + "\n"));
    }

    private static LiveBranchTable Table(byte[] image) => LiveBranchTable.Read(new ByteImageMemory(image, "test"), "test");

    private static DaxLinuxException Refused(Action a)
    {
        var ex = Assert.Throws<DaxLinuxException>(a);
        return ex;
    }

    [Theory]
    [InlineData("a")]
    [InlineData("exactly-thirty-one-bytes-long-x")]
    [InlineData("ünïcødé")]
    public void AcceptsNamesTheKernelAccepts(string name)
    {
        Assert.True(Encoding.UTF8.GetByteCount(name) <= 31);
        DaxFsBranchManager.CheckName(name);
    }

    [Theory]
    [InlineData("exactly-thirty-two-bytes-long-xy", "BranchNameTooLong")]
    [InlineData("€€€€€€€€€€€", "BranchNameTooLong")] // 11 characters, 33 bytes
    [InlineData("main", "BranchNameInvalid")]
    [InlineData("", "BranchNameInvalid")]
    [InlineData("a,b", "BranchNameInvalid")]
    [InlineData("a/b", "BranchNameInvalid")]
    [InlineData("a b", "BranchNameInvalid")]
    [InlineData("a=b", "BranchNameInvalid")]
    public void RefusesNamesBeforeTheKernel(string name, string id)
    {
        var ex = Refused(() => DaxFsBranchManager.CheckName(name));
        Assert.Equal(id, ex.ErrorId);
        Assert.Equal(DaxErrorKind.BranchRefused, ex.Kind);
        Assert.Equal(id == "BranchNameTooLong" ? NextStep.ShorterBranchName : NextStep.OtherBranchName, ex.NextStep);
    }

    [Fact]
    public void A_format_8_mount_has_no_branches_to_create_commit_or_abort()
    {
        // What the format-8 module shows for a split image: no static flag, no branch=, "overlay".
        byte[] image = File.ReadAllBytes(Validate.V8ValidationTests.V8("basic.v8.split.daxfs"));
        string mem = _root.File("dev/mem");
        using (var f = new FileStream(mem, FileMode.Create)) { f.Seek((long)Phys, SeekOrigin.Begin); f.Write(image); }
        string mp = Mnt("v8");
        var ctx = FakeHost.Context(_root, mountApi: _api, mountInfo: _root.File("mountinfo",
            $"40 1 0:50 / {MountInfo.Escape(mp)} rw,relatime - daxfs none rw,phys=0x{Phys:x},size={image.Length},overlay\n"));
        var m = new DaxFsBranchManager(ctx);
        foreach (var (act, what) in new (Action, string)[]
        {
            (() => m.PlanCreate(mp, "trial", Mnt("child")), "create"),
            (() => m.PlanEnd(mp, BranchEnd.Commit), "commit"),
            (() => m.PlanEnd(mp, BranchEnd.Abort), "abort"),
        })
        {
            var ex = Refused(act);
            Assert.Equal(ErrorIds.Format8HasNoBranches, ex.ErrorId);
            Assert.Equal(DaxErrorKind.BranchRefused, ex.Kind);
            Assert.Contains("format 8 has no branches", ex.Message);
            Assert.Contains($"no branch to {what}", ex.Message);
            Assert.Contains("shared overlay", ex.Message);
        }
        Assert.Empty(_api.Calls);
    }

    [Fact]
    public void ReadsTheKernelMadeTableAndItsFreeSpace()
    {
        var t = Table(File.ReadAllBytes(Nested));
        Assert.Equal(256 - 4, t.FreeSlots);
        Assert.Equal(1 << 20, t.DeltaFree); // 5 MiB region, four 1 MiB logs handed out
        Assert.Equal(new[] { "deep", "feature", "main" }, t.Chain("deep").Select(b => b.Name));
        Assert.Null(t.FindByName("")); // the committed record's name is cleared and never matches
        DaxFsBranchManager.CheckCreate(t, "fresh", "deep", "here"); // exactly 1 MiB left is enough
    }

    [Theory]
    [InlineData("feature", "main", "BranchNameInUse", Errno.EEXIST)]
    [InlineData("deep", "feature", "BranchNameInUse", Errno.EEXIST)]
    [InlineData("x", "nosuch", "ParentBranchNotActive", Errno.ENOENT)]
    [InlineData("x", "", "ParentBranchNotActive", Errno.ENOENT)]
    public void RefusesWhatTheTableAnswers(string name, string parent, string id, int errno)
    {
        var ex = Refused(() => DaxFsBranchManager.CheckCreate(Table(File.ReadAllBytes(Nested)), name, parent, "'/mnt/p'"));
        Assert.Equal(id, ex.ErrorId);
        Assert.Equal(errno, ex.Errno);
    }

    [Fact]
    public void AnInvalidatedSiblingKeepsItsNameAndCannotBeAParent()
    {
        var image = File.ReadAllBytes(Nested);
        SetState(image, 2, BranchState.Aborted); // feature, as a commit of a sibling leaves it
        var t = Table(image);
        var inUse = Refused(() => DaxFsBranchManager.CheckCreate(t, "feature", "main", "here"));
        Assert.Equal("BranchNameInUse", inUse.ErrorId);
        Assert.Contains("invalidated", inUse.Message);
        var parent = Refused(() => DaxFsBranchManager.CheckCreate(t, "x", "feature", "here"));
        Assert.Equal("ParentBranchNotActive", parent.ErrorId);
        Assert.Equal(Errno.ESTALE, parent.Errno);
        Assert.Contains("Aborted", parent.Message);
    }

    [Fact]
    public void RefusesADeltaRegionWithLessThanOneMiBLeftAndSaysHowMuchAndWhatSetsIt()
    {
        var image = File.ReadAllBytes(Nested);
        var sb = Superblock.Read(image);
        sb.DeltaAllocOffset += 1; // 1 MiB − 1 byte left
        sb.Write(image);
        var ex = Refused(() => DaxFsBranchManager.CheckCreate(Table(image), "x", "main", "'/mnt/p'"));
        Assert.Equal("DeltaRegionFull", ex.ErrorId);
        Assert.Equal(Errno.ENOSPC, ex.Errno);
        Assert.Contains($"{(1 << 20) - 1} bytes left (of 5242880)", ex.Message);
        Assert.Equal(NextStep.LargerDeltaRegion, ex.NextStep);
        Assert.Contains(BranchSpace.Advice, ex.Message);
        // The same advice New-DaxFsImage gives when -DeltaSize leaves no room.
        Assert.Contains(BranchSpace.Advice, BranchSpace.NoRoomAtBuild(1 << 20));
    }

    [Fact]
    public void RefusesAFullBranchTable()
    {
        var image = File.ReadAllBytes(Nested);
        var sb = Superblock.Read(image);
        for (int i = 4; i < 256; i++)
            LogWriter.PutBranch(image, i, (ulong)(100 + i), 1, "", BranchState.Aborted, sb.DeltaRegionOffset, Array.Empty<byte>());
        var t = Table(image);
        Assert.Equal(0, t.FreeSlots);
        var ex = Refused(() => DaxFsBranchManager.CheckCreate(t, "x", "main", "here"));
        Assert.Equal("BranchTableFull", ex.ErrorId);
        Assert.Contains("256", ex.Message);
        // One free slot is enough.
        LogWriter.PutBranch(image, 200, 0, 0, "", BranchState.Free, 0, Array.Empty<byte>());
        DaxFsBranchManager.CheckCreate(Table(image), "x", "main", "here");
    }

    [Fact]
    public void PlansAChildWithThePhysicalRangeOfItsParentAndMountsIt()
    {
        var ctx = Host(mounts: new[] { ("main", "/main"), ("feature", "/main/feature") });
        var m = new DaxFsBranchManager(ctx);
        var plan = m.PlanCreate(Mnt("feature"), "child", Mnt("child"));
        Assert.NotNull(plan.Parent.Table);
        Assert.Null(plan.Parent.TableUnreadable);
        Assert.False(plan.UsesNewMountApi);
        Assert.Equal($"phys=0x{Phys:x},size=0x{_size:x},branch=child,parent=feature", plan.Options);
        Assert.Equal("/main/feature/child", plan.BranchPath);
        Assert.Contains("mount -t daxfs -o phys=", plan.Description);
        m.Create(plan);
        Assert.Equal($"mount(none, {Mnt("child")}, daxfs, 0, {plan.Options})", Assert.Single(_api.Calls));
    }

    [Theory]
    [InlineData("feature", "main", "BranchNameInUse")]
    [InlineData("child", "main", null)]
    public void RunsThePreChecksBeforeTheKernel(string name, string parentMount, string? id)
    {
        var ctx = Host(mounts: new[] { ("main", "/main"), ("feature", "/main/feature") });
        var m = new DaxFsBranchManager(ctx);
        if (id is null) { m.PlanCreate(Mnt(parentMount), name, Mnt("new")); return; }
        Assert.Equal(id, Refused(() => m.PlanCreate(Mnt(parentMount), name, Mnt("new"))).ErrorId);
        Assert.Empty(_api.Calls);
    }

    [Fact]
    public void RefusesANewMountPointThatIsMissingOrBusyAndAParentThatIsNotABranch()
    {
        var ctx = Host(mounts: new[] { ("main", "/main"), ("feature", "/main/feature") });
        var m = new DaxFsBranchManager(ctx);
        Assert.Equal("MountPointNotFound", Refused(() => m.PlanCreate(Mnt("main"), "x", Path.Combine(_root.Path, "nowhere"))).ErrorId);
        Assert.Equal("MountPointBusy", Refused(() => m.PlanCreate(Mnt("main"), "x", Mnt("feature"))).ErrorId);
        Assert.Equal("NotMounted", Refused(() => m.PlanCreate(Mnt("elsewhere"), "x", Mnt("new"))).ErrorId);
    }

    [Fact]
    public void WhenTheMemoryCannotBeReadTheKernelDecidesAndItsAnswersBecomeTheSameErrors()
    {
        var ctx = Host(withMem: false, mounts: new[] { ("main", "/main") });
        var m = new DaxFsBranchManager(ctx);
        var plan = m.PlanCreate(Mnt("main"), "x", Mnt("x"));
        Assert.Null(plan.Parent.Table);
        Assert.NotNull(plan.Parent.TableUnreadable);

        foreach (var (errno, id) in new[] { (Errno.ENOSPC, "BranchSpaceExhausted"), (Errno.EEXIST, "BranchNameInUse"), (Errno.ENAMETOOLONG, "BranchNameTooLong"), (Errno.ENOENT, "ParentBranchNotActive"), (Errno.ESTALE, "ParentBranchNotActive"), (Errno.EPERM, "NotRoot") })
        {
            _api.Fail["mount"] = errno;
            var ex = Refused(() => m.Create(plan));
            Assert.Equal(id, ex.ErrorId);
            if (errno == Errno.ENOSPC)
            {
                Assert.Contains("could not check which", ex.Message);
                Assert.Contains(BranchSpace.Advice, ex.Message);
                Assert.Equal(NextStep.LargerDeltaRegion, ex.NextStep);
            }
        }
    }

    [Fact]
    public void ADmaBufChildGetsTheParentsBufferThroughTheIoctlAndTheNewMountApi()
    {
        var ctx = Host(dmaBuf: true, mounts: new[] { ("main", "/main"), ("feature", "/main/feature") });
        var m = new DaxFsBranchManager(ctx);
        var plan = m.PlanCreate(Mnt("feature"), "dchild", Mnt("dchild"));
        Assert.True(plan.UsesNewMountApi);
        Assert.NotNull(plan.Parent.Table); // read by mapping the buffer the ioctl gave
        Assert.Contains("ioctl(DAXFS_IOC_GET_DMABUF)", plan.Description);
        _api.Calls.Clear();
        m.Create(plan);
        Assert.Equal(new[]
        {
            $"ioctl(DAXFS_IOC_GET_DMABUF, {Mnt("feature")})", "fsopen(daxfs)", "fsconfig(SetFd, dmabuf, , fd)", "fsconfig(SetString, branch, dchild)",
            "fsconfig(SetString, parent, feature)", "fsconfig(CreateSuperblock, , )", "fsmount(0)", $"move_mount({Mnt("dchild")})",
        }, _api.Calls);

        _api.Calls.Clear();
        _api.Fail["create"] = Errno.ENOSPC;
        _api.Messages.Add("e daxfs: no space");
        var ex = Refused(() => m.Create(plan));
        Assert.Equal("BranchSpaceExhausted", ex.ErrorId);
        Assert.Contains("daxfs: no space", ex.Message);
    }

    [Fact]
    public void ADmaBufTheKernelWillNotHandOutLeavesTheDecisionToTheKernel()
    {
        var ctx = Host(dmaBuf: true, mounts: new[] { ("main", "/main") });
        _api.DmaBufFile = null; // ENOENT from the ioctl
        var plan = new DaxFsBranchManager(ctx).PlanCreate(Mnt("main"), "x", Mnt("x"));
        Assert.Null(plan.Parent.Table);
        Assert.Contains("DAXFS_IOC_GET_DMABUF", plan.Parent.TableUnreadable);
    }

    [Fact]
    public void CommitNamesTheChainTheChainsMountsAndEverySiblingAtEveryLevelWithItsMountPoints()
    {
        var image = File.ReadAllBytes(Nested);
        var sb = Superblock.Read(image);
        LogWriter.PutBranch(image, 4, 5, 1, "side", BranchState.Active, sb.DeltaRegionOffset, Array.Empty<byte>());     // sibling of feature
        LogWriter.PutBranch(image, 5, 6, 3, "twin", BranchState.Active, sb.DeltaRegionOffset, Array.Empty<byte>());     // sibling of deep
        LogWriter.PutBranch(image, 6, 7, 5, "nephew", BranchState.Active, sb.DeltaRegionOffset, Array.Empty<byte>());   // child of side: untouched
        LogWriter.PutBranch(image, 7, 8, 1, "gone", BranchState.Aborted, sb.DeltaRegionOffset, Array.Empty<byte>());    // already invalid
        var ctx = Host(image, mounts: new[] { ("main", "/main"), ("feature", "/main/feature"), ("deep", "/main/feature/deep"), ("side", "/main/side"), ("side2", "/main/side"), ("nephew", "/main/side/nephew") });
        var plan = new DaxFsBranchManager(ctx).PlanEnd(Mnt("deep"), BranchEnd.Commit);
        Assert.Equal(new[] { "deep", "feature" }, plan.Chain);
        Assert.Equal(new[] { Mnt("feature") }, plan.ChainMounts);
        Assert.Equal(new[] { "twin", "side" }, plan.Invalidated.Select(i => i.Name));
        Assert.Equal("/main/feature/twin", plan.Invalidated[0].BranchPath);
        Assert.Empty(plan.Invalidated[0].MountPoints);
        Assert.Equal(new[] { Mnt("side"), Mnt("side2") }, plan.Invalidated[1].MountPoints);
        Assert.Contains("Merge 'deep' with its parent chain 'feature' into main", plan.Description);
        Assert.Contains($"'side' (/main/side, mounted at '{Mnt("side")}', '{Mnt("side2")}')", plan.Description);
        Assert.Contains("'twin' (/main/feature/twin, not mounted)", plan.Description);
        Assert.DoesNotContain("nephew", plan.Description);
        Assert.Contains("remount,commit", plan.Description);

        var abort = new DaxFsBranchManager(ctx).PlanEnd(Mnt("deep"), BranchEnd.Abort);
        Assert.Empty(abort.Invalidated);
        Assert.Contains("Discard 'deep' with its parent chain 'feature' back to main", abort.Description);
        Assert.Contains($"go stale (ESTALE): '{Mnt("feature")}'", abort.Description);
    }

    [Fact]
    public void WithoutTheTableTheMountedSiblingsComeFromMountinfo()
    {
        var ctx = Host(withMem: false, mounts: new[] { ("main", "/main"), ("a", "/main/a"), ("b", "/main/a/b"), ("s", "/main/s"), ("t", "/main/a/t"), ("c", "/main/s/c") });
        var plan = new DaxFsBranchManager(ctx).PlanEnd(Mnt("b"), BranchEnd.Commit);
        Assert.Null(plan.State.Table);
        Assert.Equal(new[] { "t", "s" }, plan.Invalidated.Select(i => i.Name));
        Assert.Equal(new[] { Mnt("t") }, plan.Invalidated[0].MountPoints);
        Assert.Contains("mountinfo only", plan.Description);
    }

    [Fact]
    public void RefusesToEndMainOrAnInvalidatedBranchAndTranslatesTheRemountsErrno()
    {
        var image = File.ReadAllBytes(Nested);
        SetState(image, 3, BranchState.Aborted); // deep, invalidated
        var ctx = Host(image, mounts: new[] { ("main", "/main"), ("feature", "/main/feature"), ("deep", "/main/feature/deep") });
        var m = new DaxFsBranchManager(ctx);
        Assert.Equal("MainBranchCannotEnd", Refused(() => m.PlanEnd(Mnt("main"), BranchEnd.Commit)).ErrorId);
        Assert.Equal("BranchNotActive", Refused(() => m.PlanEnd(Mnt("deep"), BranchEnd.Abort)).ErrorId);
        Assert.Empty(_api.Calls);

        var plan = m.PlanEnd(Mnt("feature"), BranchEnd.Commit);
        m.End(plan);
        Assert.Equal($"mount(none, {Mnt("feature")}, daxfs, {MountFlags.MS_REMOUNT}, commit)", Assert.Single(_api.Calls));
        foreach (var (errno, id) in new[] { (Errno.ESTALE, "BranchNotActive"), (Errno.EBUSY, "BranchHasChildren"), (Errno.EOPNOTSUPP, "MainBranchCannotEnd"), (Errno.EIO, "CommitFailed") })
        {
            _api.Fail["mount"] = errno;
            Assert.Equal(id, Refused(() => m.End(plan)).ErrorId);
        }
    }

    private static void SetState(byte[] image, int slot, BranchState state)
    {
        var sb = Superblock.Read(image);
        int at = (int)sb.BranchTableOffset + slot * DaxFsConstants.BranchRecordSize;
        var r = BranchRecord.Read(image.AsSpan(at, DaxFsConstants.BranchRecordSize)) with { State = (uint)state };
        r.Write(image.AsSpan(at, DaxFsConstants.BranchRecordSize));
    }
}
