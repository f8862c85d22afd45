using DaxFs.Core.Errors;
using DaxFs.Core.Linux;
using DaxFs.Core.Operations;
using DaxFs.Core.Tests.Linux;
using static DaxFs.Core.Tests.Linux.FakeHost;

namespace DaxFs.Core.Tests.Operations;

/// <summary>The mount planner, the pre-mount inspection and the mount calls, over fake devices and a recording mount API.</summary>
public class DaxFsMounterTests
{
    // 'deep' has no hard links: mkdaxfs's 'basic' carries an empty inode slot (INODE-TYPE) that the mount gate refuses.
    private static readonly string Basic = TestPaths.Vector("deep.static.daxfs");
    private static readonly string Branching = TestPaths.Vector("deep.branching.daxfs");

    private static void PutImage(string node, string image)
    {
        using var f = new FileStream(node, FileMode.Open, FileAccess.Write);
        var bytes = File.ReadAllBytes(image);
        f.Write(bytes);
    }

    private static (TempDir Root, LinuxContext Ctx, FakeMountApi Api, string MountPoint) Host(string? image = null, string mountInfo = "")
    {
        var root = new TempDir();
        AddDaxDevice(root, "dax0.0", 8 * MiB, 0x100a00000);
        if (image is not null) PutImage(Path.Combine(root.Path, "dev/dax0.0"), image);
        var api = new FakeMountApi();
        string mp = Path.Combine(root.Path, "mnt");
        Directory.CreateDirectory(mp);
        var ctx = Context(root, mountApi: api, mountInfo: root.File("mountinfo", mountInfo.Replace("{mp}", MountInfo.Escape(mp))));
        return (root, ctx, api, mp);
    }

    [Fact]
    public void Device_mounts_with_phys_and_size_read_only_for_a_static_image()
    {
        var (root, ctx, api, mp) = Host(Basic);
        using var _ = root;
        var mounter = new DaxFsMounter(ctx);
        var plan = mounter.Plan(new DaxFsMountRequest { Target = DaxMemoryTargets.ForDevice(ctx, "dax0.0"), MountPoint = mp + "/" });
        Assert.False(plan.UsesNewMountApi);
        Assert.Equal(mp, plan.Request.MountPoint);
        Assert.Equal("phys=0x100a00000,size=0x800000", plan.Options);
        Assert.Equal("dax0.0", plan.Source);
        plan = mounter.Inspect(plan);
        Assert.True(plan.ReadOnly);
        Assert.Equal(DaxFs.Core.Format.DaxFsImageMode.Static, plan.ImageMode);
        Assert.Equal($"mount(2): mount -t daxfs -o ro,phys=0x100a00000,size=0x800000 dax0.0 {mp}", plan.Description);
        mounter.Mount(plan);
        Assert.Equal($"mount(dax0.0, {mp}, daxfs, 1, phys=0x100a00000,size=0x800000)", Assert.Single(api.Calls));
    }

    [Fact]
    public void Branching_image_is_not_forced_read_only_and_options_follow_the_request()
    {
        var (root, ctx, api, mp) = Host(Branching);
        using var _ = root;
        string backing = root.File("img.data", "x");
        var mounter = new DaxFsMounter(ctx);
        var plan = mounter.Inspect(mounter.Plan(new DaxFsMountRequest
        {
            Target = DaxMemoryTargets.ForDevice(ctx, "dax0.0"), MountPoint = mp, Validate = true, BackingFile = backing, Name = "pool",
        }));
        Assert.False(plan.ReadOnly);
        Assert.Equal(DaxFs.Core.Format.DaxFsImageMode.Branching, plan.ImageMode);
        Assert.Equal($"phys=0x100a00000,size=0x800000,validate,backing={backing},name=pool", plan.Options);
        mounter.Mount(plan);
        Assert.StartsWith($"mount(dax0.0, {mp}, daxfs, 0, ", Assert.Single(api.Calls));
    }

    [Fact]
    public void A_refused_mount_carries_the_file_systems_lines_from_the_kernel_log()
    {
        var (root, _, api, mp) = Host(Basic);
        using var _r = root;
        var log = new FakeKernelLog();
        log.During.AddRange(new[] { "9pnet: something else", "daxfs: inode 1 nlink mismatch: nlink=4 refcount=0" });
        var ctx = Context(root, mountApi: api, mountInfo: root.File("mountinfo", ""), kernelLog: log);
        api.Fail["mount"] = Errno.EINVAL;
        var mounter = new DaxFsMounter(ctx);
        var plan = mounter.Inspect(mounter.Plan(new DaxFsMountRequest { Target = DaxMemoryTargets.ForDevice(ctx, "dax0.0"), MountPoint = mp, Validate = true }));
        var ex = Assert.Throws<DaxLinuxException>(() => mounter.Mount(plan));
        Assert.Equal("MountFailed", ex.ErrorId);
        Assert.Equal(1, log.Watches);
        Assert.Equal(new[] { "daxfs: inode 1 nlink mismatch: nlink=4 refcount=0" }, ex.KernelMessages);
        Assert.Contains("The kernel said: daxfs: inode 1 nlink mismatch: nlink=4 refcount=0.", ex.Message);
        Assert.DoesNotContain("9pnet", ex.Message);
    }

    [Fact]
    public void The_fs_context_messages_win_over_the_kernel_log_on_the_new_mount_api()
    {
        var (root, _, api, mp) = Host();
        using var _r = root;
        api.Fail["create"] = Errno.EINVAL;
        api.Messages.Add("e daxfs: from the context");
        var log = new FakeKernelLog();
        log.During.Add("daxfs: from the log");
        using var fd = new MemfdDmaHeap().Allocate("system", 4096);
        var ex = Assert.Throws<DaxLinuxException>(() =>
            NewMountApi.Mount(api, "daxfs", new[] { FsParameter.FileDescriptor("dmabuf", fd) }, 0, mp, log.Watch()));
        Assert.Contains("The kernel said: daxfs: from the context.", ex.Message);
        api.Fail["create"] = Errno.EINVAL;
        var ex2 = Assert.Throws<DaxLinuxException>(() =>
            NewMountApi.Mount(api, "daxfs", new[] { FsParameter.FileDescriptor("dmabuf", fd) }, 0, mp, new FakeKernelLog { During = { "daxfs: from the log" } }.Watch()));
        Assert.Contains("The kernel said: daxfs: from the log.", ex2.Message);
    }

    [Theory]
    [InlineData("3,1234,5678901,-;daxfs: inode 1 nlink mismatch: nlink=4 refcount=0\n", "daxfs: inode 1 nlink mismatch: nlink=4 refcount=0")]
    [InlineData("6,99,1,c,more;line one\n SUBSYSTEM=block\n", "line one")]
    [InlineData("no separator", null)]
    public void Kernel_log_records_give_their_message(string record, string? message) =>
        Assert.Equal(message, KernelLogRecord.Message(record));

    [Fact]
    public void Dma_buf_mounts_through_the_new_mount_api_in_order()
    {
        var (root, ctx, api, mp) = Host();
        using var _ = root;
        var heap = new MemfdDmaHeap();
        using var buf = heap.Allocate("system", 1 << 20);
        var target = DaxMemoryTargets.ForDmaBuf(buf, heap.GetSize(buf), "dma-buf", "system");
        using (var src = File.OpenRead(Basic)) DaxMemoryWriter.Write(src, src.Length, target);
        var mounter = new DaxFsMounter(ctx);
        var plan = mounter.Inspect(mounter.Plan(new DaxFsMountRequest { Target = target, MountPoint = mp, Validate = true }));
        Assert.True(plan.UsesNewMountApi);
        Assert.StartsWith("fsopen(\"daxfs\"), fsconfig(FSCONFIG_SET_FD \"dmabuf\"=fd ", plan.Description);
        Assert.EndsWith($"fsconfig(FSCONFIG_SET_FLAG \"validate\"), fsconfig(FSCONFIG_CMD_CREATE), fsmount(MOUNT_ATTR_RDONLY), move_mount(→ {mp}, MOVE_MOUNT_F_EMPTY_PATH)", plan.Description);
        mounter.Mount(plan);
        Assert.Equal(new[]
        {
            "fsopen(daxfs)", "fsconfig(SetFd, dmabuf, , fd)", "fsconfig(SetFlag, validate, )", "fsconfig(CreateSuperblock, , )",
            "fsmount(1)", $"move_mount({mp})",
        }, api.Calls);
    }

    [Fact]
    public void Kernel_messages_reach_the_error()
    {
        var (root, ctx, api, mp) = Host();
        using var _ = root;
        api.Fail["create"] = Errno.EINVAL;
        api.Messages.Add("e daxfs: invalid magic 0x0 (expected 0x64617835)");
        api.Messages.Add("w daxfs: something odd");
        using var fd = new MemfdDmaHeap().Allocate("system", 4096);
        var ex = Assert.Throws<DaxLinuxException>(() =>
            NewMountApi.Mount(api, "daxfs", new[] { FsParameter.FileDescriptor("dmabuf", fd) }, 0, mp));
        Assert.Equal("MountFailed", ex.ErrorId);
        Assert.Equal(DaxErrorKind.MountRefused, ex.Kind);
        Assert.Equal(Errno.EINVAL, ex.Errno);
        Assert.Contains("fsconfig(FSCONFIG_CMD_CREATE)", ex.Message);
        Assert.Contains("The kernel said: daxfs: invalid magic 0x0 (expected 0x64617835) | warning: daxfs: something odd.", ex.Message);
        Assert.Equal(2, ex.KernelMessages.Count);
        Assert.DoesNotContain(api.Calls, c => c.StartsWith("fsmount", StringComparison.Ordinal));
    }

    [Fact]
    public void Fsopen_enodev_means_the_module_is_not_loaded()
    {
        var api = new FakeMountApi();
        api.Fail["fsopen"] = Errno.ENODEV;
        var ex = Assert.Throws<DaxLinuxException>(() => NewMountApi.Mount(api, "daxfs", Array.Empty<FsParameter>(), 0, "/mnt"));
        Assert.Equal("DaxFsModuleNotLoaded", ex.ErrorId);
        Assert.Equal(DaxErrorKind.ModuleNotLoaded, ex.Kind);
        Assert.Contains("modprobe daxfs", ex.Message);
    }

    [Fact]
    public void Legacy_mount_enodev_means_the_module_is_not_loaded_too()
    {
        var (root, ctx, api, mp) = Host(Basic);
        using var _ = root;
        api.Fail["mount"] = Errno.ENODEV;
        var mounter = new DaxFsMounter(ctx);
        var plan = mounter.Inspect(mounter.Plan(new DaxFsMountRequest { Target = DaxMemoryTargets.ForDevice(ctx, "dax0.0"), MountPoint = mp }));
        Assert.Equal("DaxFsModuleNotLoaded", Assert.Throws<DaxLinuxException>(() => mounter.Mount(plan)).ErrorId);
    }

    [Fact]
    public void Missing_or_busy_mount_points_are_refused_before_any_call()
    {
        var (root, ctx, api, mp) = Host(Basic, "22 1 0:21 / {mp} rw,relatime - tmpfs tmpfs rw\n");
        using var _ = root;
        var mounter = new DaxFsMounter(ctx);
        var target = DaxMemoryTargets.ForDevice(ctx, "dax0.0");
        var ex = Assert.Throws<DaxLinuxException>(() => mounter.Plan(new DaxFsMountRequest { Target = target, MountPoint = mp + "/nope" }));
        Assert.Equal("MountPointNotFound", ex.ErrorId);
        Assert.Equal(mp + "/nope", ex.Target);
        ex = Assert.Throws<DaxLinuxException>(() => mounter.Plan(new DaxFsMountRequest { Target = target, MountPoint = mp }));
        Assert.Equal("MountPointBusy", ex.ErrorId);
        Assert.Contains("umount", ex.Message);
        ex = Assert.Throws<DaxLinuxException>(() => mounter.Plan(new DaxFsMountRequest
        {
            Target = target, MountPoint = root.Path, BackingFile = Path.Combine(root.Path, "missing.data"),
        }));
        Assert.Equal("BackingFileNotFound", ex.ErrorId);
        Assert.Empty(api.Calls);
    }

    [Fact]
    public void Backing_path_with_a_comma_cannot_go_into_mount_options()
    {
        var (root, ctx, _, mp) = Host(Basic);
        using var __ = root;
        string backing = root.File("a,b.data", "x");
        var ex = Assert.Throws<DaxLinuxException>(() => new DaxFsMounter(ctx).Plan(new DaxFsMountRequest
        {
            Target = DaxMemoryTargets.ForDevice(ctx, "dax0.0"), MountPoint = mp, BackingFile = backing,
        }));
        Assert.Equal("BackingPathHasComma", ex.ErrorId);
    }

    [Fact]
    public void Target_without_an_image_is_refused()
    {
        var (root, ctx, api, mp) = Host();
        using var _ = root;
        var mounter = new DaxFsMounter(ctx);
        var plan = mounter.Plan(new DaxFsMountRequest { Target = DaxMemoryTargets.ForDevice(ctx, "dax0.0"), MountPoint = mp });
        var ex = Assert.Throws<DaxLinuxException>(() => mounter.Inspect(plan));
        Assert.Equal("NoDaxFsImageAtTarget", ex.ErrorId);
        Assert.Equal(NextStep.WriteImage, ex.NextStep);
        Assert.Contains("rule SB-MAGIC", ex.Message);
        Assert.Empty(api.Calls);
    }

    [Fact]
    public void Size_below_the_images_total_size_is_refused()
    {
        using var root = new TempDir();
        string mem = root.File("dev/mem");
        using (var f = new FileStream(mem, FileMode.Create)) f.SetLength(4 * (long)MiB);
        PutImage(mem, Basic); // 0x2d000 bytes at physical address 0
        string mp = Path.Combine(root.Path, "mnt");
        Directory.CreateDirectory(mp);
        var ctx = Context(root);
        var mounter = new DaxFsMounter(ctx);
        var plan = mounter.Plan(new DaxFsMountRequest { Target = DaxMemoryTargets.ForPhysicalRange(ctx, 0, 0x10000), MountPoint = mp });
        var ex = Assert.Throws<DaxLinuxException>(() => mounter.Inspect(plan));
        Assert.Equal("ImageLargerThanMountSize", ex.ErrorId);
        Assert.Equal(DaxErrorKind.ImageTooLarge, ex.Kind);
        Assert.Contains("rule SB-TOTALSIZE", ex.Message);
        // the same range, large enough, passes
        Assert.True(mounter.Inspect(mounter.Plan(plan.Request with { Target = DaxMemoryTargets.ForPhysicalRange(ctx, 0, 0x2d000) })).ReadOnly);
    }

    [Fact]
    public void Multi_range_device_cannot_be_mounted_by_phys()
    {
        using var root = new TempDir();
        AddDaxDevice(root, "dax1.0", 4 * MiB, 0x140000000, mappings: new[] { (0x140000000UL, 0x1401fffffUL), (0x280000000UL, 0x2801fffffUL) });
        Directory.CreateDirectory(Path.Combine(root.Path, "mnt"));
        var ctx = Context(root);
        var target = DaxMemoryTargets.ForDevice(ctx, "dax1.0");
        Assert.True(target.IsMultiRange);
        var ex = Assert.Throws<DaxLinuxException>(() => new DaxFsMounter(ctx).Plan(new DaxFsMountRequest { Target = target, MountPoint = Path.Combine(root.Path, "mnt") }));
        Assert.Equal("DaxDeviceMultiRange", ex.ErrorId);
        Assert.Equal(DaxErrorKind.DeviceMultiRange, ex.Kind);
        Assert.Equal("dax1.0", ex.Target);
    }

    [Fact]
    public void Unknown_physical_start_needs_root()
    {
        using var root = new TempDir();
        AddDaxDevice(root, "dax0.0", 8 * MiB, resource: null);
        Directory.CreateDirectory(Path.Combine(root.Path, "mnt"));
        var ctx = Context(root);
        var ex = Assert.Throws<DaxLinuxException>(() => new DaxFsMounter(ctx).Plan(new DaxFsMountRequest
        {
            Target = DaxMemoryTargets.ForDevice(ctx, "dax0.0"), MountPoint = Path.Combine(root.Path, "mnt"),
        }));
        Assert.Equal("PhysicalAddressUnknown", ex.ErrorId);
        Assert.Equal(DaxErrorKind.NotRoot, ex.Kind);
    }

    [Fact]
    public void Mounts_over_a_target_are_found_by_physical_overlap()
    {
        string info = "61 27 0:52 / /m1 ro - daxfs dax0.0 ro,phys=0x100a00000,size=1048576,static\n" +
                      "62 27 0:53 / /m2 ro - daxfs daxfs ro,source=dmabuf,size=1048576,static\n" +
                      "63 27 0:54 / /m3 ro - daxfs dax0.0 ro,phys=0x100f00000,size=1048576,static\n";
        var (root, ctx, _, _) = Host(mountInfo: info);
        using var __ = root;
        var mounter = new DaxFsMounter(ctx);
        var device = DaxMemoryTargets.ForDevice(ctx, "dax0.0"); // 0x100a00000 + 8 MiB
        Assert.Equal(new[] { "/m1", "/m3" }, mounter.MountsOver(device).Select(m => m.MountPoint));
        var after = DaxMemoryTargets.ForPhysicalRange(ctx, 0x100b00000, MiB); // through dax0.0, right after /m1
        Assert.Empty(mounter.MountsOver(after));
    }

    [Fact]
    public void Unmount_checks_the_mount_and_maps_errors()
    {
        string info = "61 27 0:52 / {mp} ro,relatime - daxfs dax0.0 ro,phys=0x100a00000,size=8388608,static\n" +
                      "62 27 0:53 / /other rw,relatime - tmpfs tmpfs rw\n";
        var (root, ctx, api, mp) = Host(mountInfo: info);
        using var _ = root;
        var mounter = new DaxFsMounter(ctx);
        var m = Assert.Single(mounter.ListMounts());
        Assert.Equal(mp, m.MountPoint);
        Assert.Equal(8388608UL, DaxFsMountOptions.From(m).Size);

        mounter.Unmount(mp + "/");
        Assert.Equal($"umount2({mp}, {MountFlags.UMOUNT_NOFOLLOW})", Assert.Single(api.Calls));
        mounter.Unmount(mp, lazy: true);
        Assert.Equal($"umount2({mp}, {MountFlags.UMOUNT_NOFOLLOW | MountFlags.MNT_DETACH})", api.Calls[^1]);

        Assert.Equal("NotADaxFsMount", Assert.Throws<DaxLinuxException>(() => mounter.Unmount("/other")).ErrorId);
        Assert.Equal("NotMounted", Assert.Throws<DaxLinuxException>(() => mounter.Unmount(root.Path)).ErrorId);
        api.Fail["umount2"] = Errno.EBUSY;
        var ex = Assert.Throws<DaxLinuxException>(() => mounter.Unmount(mp));
        Assert.Equal("MountBusy", ex.ErrorId);
        Assert.Contains("lazy unmount", ex.Message);
        Assert.Equal(NextStep.DismountLazily, ex.NextStep);
        api.Fail["umount2"] = Errno.EPERM;
        Assert.Equal("NotRoot", Assert.Throws<DaxLinuxException>(() => mounter.Unmount(mp)).ErrorId);
    }
}

/// <summary>A fact that runs only as root on Linux (mounting needs CAP_SYS_ADMIN); skipped with the reason otherwise.</summary>
public sealed class RootFactAttribute : FactAttribute
{
    public RootFactAttribute()
    {
        if (!OperatingSystem.IsLinux()) Skip = "needs Linux";
        else if (Environment.UserName != "root" && !IsRootByStatus()) Skip = "needs root (CAP_SYS_ADMIN) to mount";
    }

    private static bool IsRootByStatus()
    {
        try
        {
            return File.ReadLines("/proc/self/status").Any(l => l.StartsWith("Uid:", StringComparison.Ordinal) && l.Split('\t', StringSplitOptions.RemoveEmptyEntries)[2] == "0");
        }
        catch (IOException) { return false; }
    }
}

/// <summary>The real mount system calls, exercised with tmpfs (daxfs is not loaded on build machines).</summary>
public class RealMountApiTests
{
    private static bool KernelKnows(string fs) => File.ReadLines("/proc/filesystems").Any(l => l.Split('\t').Last() == fs);

    private static bool MountRefusedHere(Exception ex) => ex is DaxLinuxException { Kind: DaxErrorKind.NotRoot };

    [RootFact]
    public void New_mount_api_mounts_and_unmounts_tmpfs()
    {
        using var dir = new TempDir();
        var api = LinuxMountApi.Instance;
        try
        {
            NewMountApi.Mount(api, "tmpfs", new[] { FsParameter.String("size", "1m"), FsParameter.String("mode", "0755") }, MountFlags.MOUNT_ATTR_RDONLY, dir.Path);
        }
        catch (DaxLinuxException ex) when (MountRefusedHere(ex))
        {
            return; // a container without CAP_SYS_ADMIN: nothing to prove here
        }
        try
        {
            var m = MountInfo.FindMountAt(MountInfo.Read(), dir.Path);
            Assert.NotNull(m);
            Assert.Equal("tmpfs", m.FileSystemType);
            Assert.Contains("ro", m.MountOptions.Split(','));
            Assert.Contains("size=1024k", m.SuperOptions);
        }
        finally { api.Unmount(dir.Path, MountFlags.UMOUNT_NOFOLLOW); }
        Assert.Null(MountInfo.FindMountAt(MountInfo.Read(), dir.Path));
    }

    [RootFact]
    public void New_mount_api_brings_the_kernels_own_reason()
    {
        using var dir = new TempDir();
        var ex = Assert.Throws<DaxLinuxException>(() =>
            NewMountApi.Mount(LinuxMountApi.Instance, "tmpfs", new[] { FsParameter.String("size", "lots") }, 0, dir.Path));
        if (MountRefusedHere(ex)) return;
        Assert.Equal("MountFailed", ex.ErrorId);
        Assert.Equal(Errno.EINVAL, ex.Errno);
        Assert.Contains(ex.KernelMessages, m => m.Contains("tmpfs", StringComparison.Ordinal) && m.Contains("size", StringComparison.Ordinal));
        Assert.Contains("The kernel said: tmpfs:", ex.Message);
    }

    [RootFact]
    public void Move_mount_to_a_missing_directory_is_MountPointNotFound()
    {
        using var dir = new TempDir();
        string missing = Path.Combine(dir.Path, "nope");
        var ex = Assert.Throws<DaxLinuxException>(() => NewMountApi.Mount(LinuxMountApi.Instance, "tmpfs", Array.Empty<FsParameter>(), 0, missing));
        if (MountRefusedHere(ex)) return;
        Assert.Equal("MountPointNotFound", ex.ErrorId);
        Assert.Equal(missing, ex.Target);
    }

    [RootFact]
    public void Legacy_mount_and_umount2_with_tmpfs()
    {
        using var dir = new TempDir();
        var api = LinuxMountApi.Instance;
        try { api.Mount("daxfs-test", dir.Path, "tmpfs", MountFlags.MS_RDONLY, "size=1m"); }
        catch (SyscallException ex) when (ex.ErrorNumber == Errno.EPERM) { return; }
        try
        {
            var m = MountInfo.FindMountAt(MountInfo.Read(), dir.Path);
            Assert.Equal("daxfs-test", m?.Source);
            Assert.True(m?.ReadOnly);
        }
        finally { api.Unmount(dir.Path, MountFlags.UMOUNT_NOFOLLOW); }
        var again = Assert.Throws<SyscallException>(() => api.Unmount(dir.Path, MountFlags.UMOUNT_NOFOLLOW));
        Assert.Equal(Errno.EINVAL, again.ErrorNumber);
    }

    [RootFact]
    public void Fsopen_daxfs_without_the_module_says_modprobe()
    {
        if (KernelKnows("daxfs")) return; // the module is loaded here: the error cannot happen
        var ex = Assert.Throws<DaxLinuxException>(() =>
            NewMountApi.Mount(LinuxMountApi.Instance, "daxfs", Array.Empty<FsParameter>(), 0, "/nonexistent"));
        if (MountRefusedHere(ex)) return;
        Assert.Equal("DaxFsModuleNotLoaded", ex.ErrorId);
        Assert.Equal(Errno.ENODEV, ex.Errno);
        Assert.Contains("modprobe daxfs", ex.Message);
    }
}
