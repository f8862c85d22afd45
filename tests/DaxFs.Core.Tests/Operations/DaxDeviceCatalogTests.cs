using DaxFs.Core.Errors;
using DaxFs.Core.Linux;
using DaxFs.Core.Operations;
using DaxFs.Core.Tests.Linux;
using static DaxFs.Core.Tests.Linux.DaxToolJsonTests;
using static DaxFs.Core.Tests.Linux.FakeHost;

namespace DaxFs.Core.Tests.Operations;

public class DaxDeviceCatalogTests
{
    [Fact]
    public void Joins_daxctl_with_sysfs_resource()
    {
        using var root = new TempDir();
        AddDaxDevice(root, "dax0.0", 526385152, 0x100a00000, mappings: new[] { (0x100a00000UL, 0x11fffffffUL) });
        var ctx = Context(root, FakeRunner.Returning(Fixture("daxctl-list-devices-mappings.devdax.json")));
        var d = Assert.Single(new DaxDeviceCatalog(ctx).List());
        Assert.Equal("dax0.0", d.Name);
        Assert.Equal(Path.Combine(root.Path, "dev", "dax0.0"), d.DevicePath);
        Assert.Equal(0x100a00000UL, d.PhysicalAddress);
        Assert.Null(d.PhysicalAddressNote);
        Assert.Equal("devdax", d.Mode);
        Assert.Equal("device_dax", d.Driver);
        Assert.Equal("enabled", d.State);
        Assert.Equal(2097152UL, d.Align);
        Assert.Equal(0, d.Region);
        Assert.False(d.IsMultiRange);
    }

    [Fact]
    public void Resource_readable_by_root_only_leaves_the_address_empty_with_a_reason()
    {
        using var root = new TempDir();
        AddDaxDevice(root, "dax0.0", 526385152, 0x100a00000);
        var baseline = Context(root, FakeRunner.Returning(Fixture("daxctl-list.devdax.json")));
        var ctx = new LinuxContext
        {
            Sysfs = new DenyingSysfs(root.Path, p => p.EndsWith("/resource")),
            DevRoot = baseline.DevRoot, Runner = baseline.Runner, MountInfoPath = baseline.MountInfoPath,
        };
        var d = Assert.Single(new DaxDeviceCatalog(ctx).List());
        Assert.Null(d.PhysicalAddress);
        Assert.Equal("readable by root only", d.PhysicalAddressNote);
        Assert.Equal(526385152UL, d.Size);
    }

    [Fact]
    public void Empty_daxctl_output_is_no_devices()
    {
        using var root = new TempDir();
        var ctx = Context(root, FakeRunner.Returning(Fixture("daxctl-list.empty.txt")));
        Assert.Empty(new DaxDeviceCatalog(ctx).List());
    }

    [Fact]
    public void Sysfs_alone_gives_size_align_mode_and_driver()
    {
        using var root = new TempDir();
        AddDaxDevice(root, "dax3.1", 1UL << 30, 0x2000000000, align: 1UL << 30, targetNode: 2);
        var d = new DaxDeviceCatalog(Context(root)).Get("dax3.1");
        Assert.Equal(1UL << 30, d.Size);
        Assert.Equal(1UL << 30, d.Align);
        Assert.Equal(2, d.TargetNode);
        Assert.Equal(3, d.Region);
        Assert.Equal("devdax", d.Mode);
    }

    [Fact]
    public void Missing_device_is_DaxDeviceNotFound()
    {
        using var root = new TempDir();
        var ex = Assert.Throws<DaxLinuxException>(() => new DaxDeviceCatalog(Context(root)).Get("dax9.9"));
        Assert.Equal("DaxDeviceNotFound", ex.ErrorId);
        Assert.Equal(DaxErrorKind.NotFound, ex.Kind);
        Assert.Equal("dax9.9", ex.Target);
    }

    [Fact]
    public void System_ram_device_cannot_be_mapped()
    {
        using var root = new TempDir();
        AddDaxDevice(root, "dax0.0", 64 * MiB, 0x100000000, driver: "kmem", devNode: false);
        var catalog = new DaxDeviceCatalog(Context(root));
        Assert.Equal("system-ram", catalog.Get("dax0.0").Mode);
        var ex = Assert.Throws<DaxLinuxException>(() => catalog.GetMappable("dax0.0"));
        Assert.Equal("DaxDeviceInSystemRam", ex.ErrorId);
        Assert.Equal(NextStep.SetDevdaxMode, ex.NextStep);
        Assert.Equal("dax0.0", ex.Target);
    }

    [Fact]
    public void Disabled_device_has_no_node()
    {
        using var root = new TempDir();
        AddDaxDevice(root, "dax0.0", 64 * MiB, 0x100000000, driver: "", devNode: false);
        var catalog = new DaxDeviceCatalog(Context(root));
        Assert.Equal("disabled", catalog.Get("dax0.0").State);
        var ex = Assert.Throws<DaxLinuxException>(() => catalog.GetMappable("dax0.0"));
        Assert.Equal("DaxDeviceNotFound", ex.ErrorId);
        Assert.Contains("disabled", ex.Message);
    }

    [Fact]
    public void Multi_range_devices_are_recognised()
    {
        using var root = new TempDir();
        AddDaxDevice(root, "dax1.0", 4UL << 30, 0x140000000, mappings: new[] { (0x140000000UL, 0x1bfffffffUL), (0x280000000UL, 0x2ffffffffUL) });
        var d = new DaxDeviceCatalog(Context(root)).Get("dax1.0");
        Assert.True(d.IsMultiRange);
        Assert.Equal(2, d.Mappings.Count);
        Assert.Equal(2UL << 30, d.Mappings[1].Size);
    }

    [Fact]
    public void Finds_the_device_holding_a_physical_range()
    {
        using var root = new TempDir();
        AddDaxDevice(root, "dax0.0", 64 * MiB, 0x100a00000);
        AddDaxDevice(root, "dax1.0", 64 * MiB, 0x200000000);
        var catalog = new DaxDeviceCatalog(Context(root));
        Assert.Equal("dax1.0", catalog.FindHolding(0x200100000, MiB)?.Name);
        Assert.Equal("dax0.0", catalog.FindHolding(0x100a00000, 64 * MiB)?.Name);
        Assert.Null(catalog.FindHolding(0x100a00000, 64 * MiB + 1));
        Assert.Null(catalog.FindHolding(0x300000000, 4096));
    }

    [Fact]
    public void Names_sort_naturally()
    {
        using var root = new TempDir();
        foreach (var n in new[] { "dax0.10", "dax0.2", "dax1.0", "dax0.1" }) AddDaxDevice(root, n, MiB, null, devNode: false);
        Assert.Equal(new[] { "dax0.1", "dax0.2", "dax0.10", "dax1.0" }, new DaxDeviceCatalog(Context(root)).Names());
    }

    [Fact]
    public void Sysfs_values_parse_decimal_and_hex()
    {
        Assert.True(SysfsValues.TryParseUInt64("0x100a00000\n", out ulong a));
        Assert.Equal(0x100a00000UL, a);
        Assert.True(SysfsValues.TryParseUInt64("526385152", out ulong b));
        Assert.Equal(526385152UL, b);
        Assert.False(SysfsValues.TryParseUInt64("-1", out _));
        Assert.False(SysfsValues.TryParseUInt64("", out _));
    }
    /// <summary>daxctl as a script: each reconfigure-device answers from the queue; list answers with the current state.</summary>
    private static FakeRunner Daxctl(Queue<(int Exit, string Stdout, string Stderr, string StateAfter)> reconfigure, string initialState)
    {
        string state = initialState;
        return new FakeRunner((file, args) =>
        {
            string line = ProcessCommandRunner.FormatCommandLine(file, args);
            if (args[0] == "list") return new CommandResult(0, Fixture(state), "", line);
            var (exit, stdout, stderr, after) = reconfigure.Dequeue();
            state = after;
            return new CommandResult(exit, stdout, stderr, line);
        });
    }

    [Fact]
    public void Mode_change_that_fails_half_way_puts_the_device_back()
    {
        using var root = new TempDir();
        AddDaxDevice(root, "dax0.0", 526385152, 0x100a00000);
        var runner = Daxctl(new Queue<(int, string, string, string)>(new[]
        {
            (254, "", Fixture("daxctl-reconfigure-system-ram.nokmem-254.stderr"), "daxctl-list-devices-mappings.disabled.json"),
            (0, Fixture("daxctl-reconfigure-devdax.restore.json"), Fixture("daxctl-reconfigure-devdax.restore.stderr"), "daxctl-list-devices-mappings.devdax.json"),
        }), "daxctl-list-devices-mappings.devdax.json");
        var catalog = new DaxDeviceCatalog(Context(root, runner));
        var ex = Assert.Throws<DaxLinuxException>(() => catalog.SetMode("dax0.0", DaxDeviceModes.SystemRam, force: true));
        Assert.Equal("DaxctlFailed", ex.ErrorId);
        Assert.Equal(Errno.ENOENT, ex.Errno);
        Assert.Equal(254, ex.ToolExitCode);
        Assert.Equal("dax0.0", ex.Target);
        Assert.Contains("left dax0.0 disabled; DaxFs put it back in devdax mode ('daxctl reconfigure-device --mode=devdax dax0.0')", ex.Message);
        Assert.IsType<DaxLinuxException>(ex.InnerException);
        var reconfigures = runner.Calls.Where(c => c.Args[0] == "reconfigure-device").Select(c => string.Join(' ', c.Args)).ToList();
        Assert.Equal(new[] { "reconfigure-device --mode=system-ram --force dax0.0", "reconfigure-device --mode=devdax dax0.0" }, reconfigures);
    }

    [Fact]
    public void Mode_change_refused_before_touching_the_device_is_not_undone()
    {
        using var root = new TempDir();
        AddDaxDevice(root, "dax0.0", 526385152, 0x100a00000);
        var runner = Daxctl(new Queue<(int, string, string, string)>(new[]
        {
            (240, "", Fixture("daxctl-reconfigure-system-ram.autoonline-240.stderr"), "daxctl-list-devices-mappings.devdax.json"),
        }), "daxctl-list-devices-mappings.devdax.json");
        var ex = Assert.Throws<DaxLinuxException>(() => new DaxDeviceCatalog(Context(root, runner)).SetMode("dax0.0", DaxDeviceModes.SystemRam));
        Assert.Equal(Errno.EBUSY, ex.Errno);
        Assert.DoesNotContain("put it back", ex.Message);
        Assert.Equal(NextStep.ForceConversion, ex.NextStep);
        Assert.Single(runner.Calls, c => c.Args[0] == "reconfigure-device");
    }

    [Fact]
    public void Mode_change_whose_undo_fails_says_what_to_run()
    {
        using var root = new TempDir();
        AddDaxDevice(root, "dax0.0", 526385152, 0x100a00000);
        var runner = Daxctl(new Queue<(int, string, string, string)>(new[]
        {
            (254, "", Fixture("daxctl-reconfigure-system-ram.nokmem-254.stderr"), "daxctl-list-devices-mappings.disabled.json"),
            (250, "", Fixture("daxctl-reconfigure.enxio-250.stderr"), "daxctl-list-devices-mappings.disabled.json"),
        }), "daxctl-list-devices-mappings.devdax.json");
        var ex = Assert.Throws<DaxLinuxException>(() => new DaxDeviceCatalog(Context(root, runner)).SetMode("dax0.0", DaxDeviceModes.SystemRam));
        Assert.Contains("putting it back in devdax mode failed too", ex.Message);
        Assert.Contains("Run 'daxctl reconfigure-device --mode=devdax dax0.0'", ex.Message);
    }

    [Fact]
    public void Mode_change_returns_the_device_as_listed_afterwards()
    {
        using var root = new TempDir();
        AddDaxDevice(root, "dax0.0", 526385152, 0x100a00000);
        var runner = Daxctl(new Queue<(int, string, string, string)>(new[]
        {
            (0, Fixture("daxctl-reconfigure-devdax.json"), Fixture("daxctl-reconfigure-devdax.stderr"), "daxctl-list-devices-mappings.devdax.json"),
        }), "daxctl-list-devices-mappings.devdax.json");
        var catalog = new DaxDeviceCatalog(Context(root, runner));
        var d = catalog.SetMode("dax0.0", DaxDeviceModes.DevDax);
        Assert.Equal("devdax", d.Mode);
        Assert.Equal(0x100a00000UL, d.PhysicalAddress);
        Assert.Equal("DaxDeviceNotFound", Assert.Throws<DaxLinuxException>(() => catalog.SetMode("dax7.0", DaxDeviceModes.DevDax)).ErrorId);
        Assert.Equal("InvalidDaxDeviceMode", Assert.Throws<DaxLinuxException>(() => catalog.SetMode("dax0.0", "fsdax")).ErrorId);
    }
}
