using DaxFs.Core.Errors;
using DaxFs.Core.Format;
using DaxFs.Core.Linux;
using DaxFs.Core.Operations;
using DaxFs.Core.Tests.Linux;
using DaxFs.Core.Tests.Validate;
using static DaxFs.Core.Tests.Linux.FakeHost;

namespace DaxFs.Core.Tests.Operations;

/// <summary>
/// Which daxfs module the host has loaded (/sys/module/daxfs, as measured in the VM with both modules), the mount's
/// refusal of a format the loaded module cannot mount, the format-8 mount options, and the format a mount shows.
/// </summary>
public class KernelModuleTests
{
    // What the two modules expose, measured in the VM kit's 6.12 kernel (cat /sys/module/daxfs/*).
    private static void LoadFormat8Module(TempDir root)
    {
        root.File("sys/module/daxfs/version", "0.1.0\n");
        root.File("sys/module/daxfs/srcversion", "E4B31E22E0014FF3AA8B6DB\n");
        root.File("sys/module/daxfs/initstate", "live\n");
    }

    private static void LoadFormat5Module(TempDir root) => root.File("sys/module/daxfs/initstate", "live\n");

    [Fact]
    public void The_module_and_its_format_come_from_sysfs()
    {
        using (var root = new TempDir())
        {
            var none = DaxFsKernelModule.Read(new SysfsTree(root.Path));
            Assert.False(none.Loaded);
            Assert.Equal(DaxFsFormat.Unknown, none.Format);
            Assert.False(none.Refuses(DaxFsFormat.Format8));
            Assert.Equal("no daxfs module loaded", none.Description);
        }
        using (var root = new TempDir())
        {
            LoadFormat8Module(root);
            var m = DaxFsKernelModule.Read(new SysfsTree(root.Path));
            Assert.True(m.Loaded);
            Assert.Equal("0.1.0", m.Version);
            Assert.Equal("E4B31E22E0014FF3AA8B6DB", m.SourceVersion);
            Assert.Equal(DaxFsFormat.Format8, m.Format);
            Assert.True(m.Refuses(DaxFsFormat.Format5));
            Assert.False(m.Refuses(DaxFsFormat.Format8));
            Assert.Equal("daxfs module 0.1.0 (format 8)", m.Description);
        }
        using (var root = new TempDir())
        {
            LoadFormat5Module(root);
            var m = DaxFsKernelModule.Read(new SysfsTree(root.Path));
            Assert.True(m.Loaded);
            Assert.Null(m.Version);
            Assert.Null(m.SourceVersion);
            Assert.Equal(DaxFsFormat.Format5, m.Format);
            Assert.True(m.Refuses(DaxFsFormat.Format8));
            Assert.Equal("daxfs module without a version (format 5)", m.Description);
        }
        using (var root = new TempDir())
        {
            // A release DaxFs does not know: nothing is refused in advance, the kernel judges.
            root.File("sys/module/daxfs/version", "0.3.0\n");
            var m = DaxFsKernelModule.Read(new SysfsTree(root.Path));
            Assert.Equal(DaxFsFormat.Unknown, m.Format);
            Assert.False(m.Refuses(DaxFsFormat.Format5));
            Assert.False(m.Refuses(DaxFsFormat.Format8));
            Assert.Contains("0.3.0", m.Description);
        }
    }

    private sealed class Host : IDisposable
    {
        public readonly TempDir Root = new();
        public readonly FakeMountApi Api = new();
        public readonly LinuxContext Ctx;
        public readonly string MountPoint;
        private readonly ulong _length;

        public Host(byte[] image, Action<TempDir>? module)
        {
            File.WriteAllBytes(Root.File("dev/mem"), image);
            module?.Invoke(Root);
            MountPoint = Path.Combine(Root.Path, "mnt");
            Directory.CreateDirectory(MountPoint);
            Ctx = Context(Root, mountApi: Api);
            _length = (ulong)image.Length;
        }

        public DaxFsMountRequest Request(DaxFsMemoryModel? model = null) => new()
        {
            Target = DaxMemoryTargets.ForPhysicalRange(Ctx, 0, _length), MountPoint = MountPoint, MemoryModel = model,
        };

        public void Dispose() => Root.Dispose();
    }

    private static byte[] V8(string name) => File.ReadAllBytes(V8ValidationTests.V8(name));
    private static byte[] V5(string name) => File.ReadAllBytes(TestPaths.Vector(name));

    [Fact]
    public void A_format_8_image_is_refused_before_the_mount_when_the_format_5_module_is_loaded()
    {
        using var h = new Host(V8("deep.v8.static.daxfs"), LoadFormat5Module);
        var mounter = new DaxFsMounter(h.Ctx);
        var plan = mounter.Plan(h.Request());
        var ex = Assert.Throws<DaxLinuxException>(() => mounter.Inspect(plan));
        Assert.Equal(ErrorIds.ModuleCannotMountFormat, ex.ErrorId);
        Assert.Equal(DaxErrorKind.WrongModule, ex.Kind);
        Assert.Equal(plan.Request.Target.Description, ex.Target);
        Assert.Contains("format 8", ex.Message);
        Assert.Contains("daxfs module without a version (format 5)", ex.Message);
        Assert.Contains("load the format-8 module", ex.Message);
        Assert.Contains("rebuild the image in format 5", ex.Message);
        Assert.Equal(NextStep.RebuildInFormat, ex.NextStep);
        Assert.Equal("5", ex.NextStepSubject);
        Assert.Empty(h.Api.Calls);
    }

    [Fact]
    public void A_format_5_image_is_refused_before_the_mount_when_the_format_8_module_is_loaded()
    {
        using var h = new Host(V5("deep.static.daxfs"), LoadFormat8Module);
        var mounter = new DaxFsMounter(h.Ctx);
        var ex = Assert.Throws<DaxLinuxException>(() => mounter.Inspect(mounter.Plan(h.Request())));
        Assert.Equal(ErrorIds.ModuleCannotMountFormat, ex.ErrorId);
        Assert.Contains("daxfs module 0.1.0 (format 8)", ex.Message);
        Assert.Contains("'unsupported version 5'", ex.Message);
        Assert.Equal(NextStep.RebuildInFormat, ex.NextStep);
        Assert.Equal("8", ex.NextStepSubject);
        Assert.Empty(h.Api.Calls);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void The_matching_module_or_none_lets_the_mount_through_and_the_plan_names_the_module(bool loaded)
    {
        using var h = new Host(V8("overlay/overlay-only-after-writes.daxfs"), loaded ? LoadFormat8Module : null);
        var mounter = new DaxFsMounter(h.Ctx);
        var plan = mounter.Inspect(mounter.Plan(h.Request()));
        Assert.Equal(loaded, plan.Module!.Loaded);
        Assert.Equal(loaded ? "0.1.0" : null, plan.Module.Version);
        Assert.False(plan.ReadOnly); // an overlay: the kernel mounts it read-write
        mounter.Mount(plan);
        Assert.Single(h.Api.Calls);
    }

    [Fact]
    public void The_memory_model_becomes_mem_model_on_format_8_and_is_refused_on_format_5()
    {
        using (var h = new Host(V8("deep.v8.static.daxfs"), LoadFormat8Module))
        {
            var mounter = new DaxFsMounter(h.Ctx);
            var plan = mounter.Inspect(mounter.Plan(h.Request(DaxFsMemoryModel.Cxl3)));
            Assert.Equal($"phys=0x0,size=0x{V8("deep.v8.static.daxfs").Length:x},mem_model=cxl3", plan.Options);
            Assert.True(plan.ReadOnly);
            mounter.Mount(plan);
            Assert.EndsWith(",mem_model=cxl3)", Assert.Single(h.Api.Calls));
            Assert.Equal("coherent", (plan with { Request = plan.Request with { MemoryModel = DaxFsMemoryModel.Coherent } }).MemoryModelOption);
        }
        using (var h = new Host(V5("deep.static.daxfs"), null))
        {
            var mounter = new DaxFsMounter(h.Ctx);
            var ex = Assert.Throws<DaxLinuxException>(() => mounter.Inspect(mounter.Plan(h.Request(DaxFsMemoryModel.Coherent))));
            Assert.Equal(ErrorIds.MountOptionNeedsFormat8, ex.ErrorId);
            Assert.Contains("mem_model=coherent", ex.Message);
            Assert.Equal(NextStep.RebuildInFormat, ex.NextStep);
            Assert.Equal("8", ex.NextStepSubject);
            Assert.Empty(h.Api.Calls);
        }
    }

    [Fact]
    public void An_export_directory_becomes_export_on_a_split_format_8_image_and_is_refused_elsewhere()
    {
        using (var h = new Host(V8("basic.v8.split.daxfs"), LoadFormat8Module))
        {
            var mounter = new DaxFsMounter(h.Ctx);
            string dir = Directory.CreateDirectory(Path.Combine(h.Root.Path, "tree")).FullName;
            var plan = mounter.Inspect(mounter.Plan(h.Request() with { ExportPath = dir, Name = "shared" }));
            Assert.Equal($"phys=0x0,size=0x{V8("basic.v8.split.daxfs").Length:x},export={dir},name=shared", plan.Options);
            Assert.False(plan.ReadOnly);
            mounter.Mount(plan);
            Assert.EndsWith($",export={dir},name=shared)", Assert.Single(h.Api.Calls));

            var both = Assert.Throws<DaxLinuxException>(() => mounter.Plan(h.Request() with { ExportPath = dir, BackingFile = V8ValidationTests.V8("basic.v8.split.backing") }));
            Assert.Equal(ErrorIds.ExportWithBackingFile, both.ErrorId);
            Assert.Equal(DaxErrorKind.InvalidArgument, both.Kind);
            var missing = Assert.Throws<DaxLinuxException>(() => mounter.Plan(h.Request() with { ExportPath = Path.Combine(dir, "nope") }));
            Assert.Equal(ErrorIds.ExportDirectoryNotFound, missing.ErrorId);
            string comma = Directory.CreateDirectory(Path.Combine(h.Root.Path, "a,b")).FullName;
            Assert.Equal(ErrorIds.ExportPathHasComma, Assert.Throws<DaxLinuxException>(() => mounter.Plan(h.Request() with { ExportPath = comma })).ErrorId);
        }
        foreach (var image in new[] { "deep.v8.static.daxfs", "empty.v8.split.daxfs" })
        {
            // Static: no page cache; an overlay-only image made by --empty: no base (empty.v8.split has a base and a page cache).
            byte[] bytes = V8(image);
            using var h = new Host(bytes, LoadFormat8Module);
            var mounter = new DaxFsMounter(h.Ctx);
            string dir = Directory.CreateDirectory(Path.Combine(h.Root.Path, "tree")).FullName;
            var sb = DaxFs.Core.Format.V8.SuperblockV8.Read(bytes);
            if (sb.PageCacheOffset != 0 && sb.BaseOffset != 0)
            {
                Assert.NotNull(mounter.Inspect(mounter.Plan(h.Request() with { ExportPath = dir })));
                continue;
            }
            var ex = Assert.Throws<DaxLinuxException>(() => mounter.Inspect(mounter.Plan(h.Request() with { ExportPath = dir })));
            Assert.Equal(ErrorIds.ExportNeedsSplitImage, ex.ErrorId);
            Assert.Contains("requires a pcache region", ex.Message);
            Assert.Empty(h.Api.Calls);
        }
        using (var h = new Host(V5("deep.static.daxfs"), null))
        {
            var mounter = new DaxFsMounter(h.Ctx);
            string dir = Directory.CreateDirectory(Path.Combine(h.Root.Path, "tree")).FullName;
            var ex = Assert.Throws<DaxLinuxException>(() => mounter.Inspect(mounter.Plan(h.Request() with { ExportPath = dir })));
            Assert.Equal(ErrorIds.MountOptionNeedsFormat8, ex.ErrorId);
            Assert.Contains($"export={dir}", ex.Message);
            Assert.Empty(h.Api.Calls);
        }
    }

    [Fact]
    public void An_export_directory_without_a_base_is_refused()
    {
        // An overlay-only image (no base region) with a page cache: what mkdaxfs --empty -C makes.
        byte[] bytes = V8("basic.v8.split.daxfs");
        var sb = DaxFs.Core.Format.V8.SuperblockV8.Read(bytes);
        sb.BaseOffset = 0;
        sb.Write(bytes);
        using var h = new Host(bytes, LoadFormat8Module);
        var mounter = new DaxFsMounter(h.Ctx) { };
        mounter.Checks.Clear(); // the gate would refuse this hand-made image for other reasons; the export check comes first
        string dir = Directory.CreateDirectory(Path.Combine(h.Root.Path, "tree")).FullName;
        var ex = Assert.Throws<DaxLinuxException>(() => mounter.Inspect(mounter.Plan(h.Request() with { ExportPath = dir })));
        Assert.Equal(ErrorIds.ExportNeedsSplitImage, ex.ErrorId);
        Assert.Contains("requires a base image", ex.Message);
    }

    [Fact]
    public void The_memory_model_is_an_fsconfig_string_on_the_new_mount_api()
    {
        using var fd = new MemfdDmaHeap().Allocate("system", 4096);
        var plan = new DaxFsMountPlan
        {
            Request = new DaxFsMountRequest { Target = DaxMemoryTargets.ForDmaBuf(fd, 4096, "dma-buf"), MountPoint = "/mnt", MemoryModel = DaxFsMemoryModel.Cxl3 },
            UsesNewMountApi = true,
        };
        Assert.Contains(plan.FsParameters, p => p.Key == "mem_model" && p.Value == "cxl3");
    }

    // Super options as the two modules show them (measured in the VM): format 5 always "static" or "branch=";
    // format 8 neither, "overlay" when the image has one.
    [Theory]
    [InlineData("ro,phys=0x100a00000,size=81920,static", 5, false)]
    [InlineData("rw,source=dmabuf,size=8388608,branch=/main", 5, false)]
    [InlineData("ro,name=foo,phys=0x100000000,size=77824", 8, false)]
    [InlineData("rw,phys=0x100200000,size=1175552,overlay", 8, true)]
    [InlineData("ro,phys=0x100200000,size=1175552,overlay", 8, true)]
    public void A_mount_shows_its_format(string superOptions, int format, bool overlay)
    {
        var e = MountInfo.ParseLine($"39 35 0:33 / /tmp/m rw,relatime - daxfs none {superOptions}")!;
        var o = DaxFsMountOptions.From(e);
        Assert.Equal((DaxFsFormat)format, o.Format);
        Assert.Equal(overlay, o.Overlay);
        Assert.Equal(superOptions.StartsWith("ro", StringComparison.Ordinal), e.ReadOnly);
    }
}
