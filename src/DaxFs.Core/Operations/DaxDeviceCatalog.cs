using DaxFs.Core.Errors;
using DaxFs.Core.Linux;

namespace DaxFs.Core.Operations;

/// <summary>A dax device: daxctl's view joined with sysfs (which alone knows the physical start).</summary>
public sealed record DaxDeviceInfo
{
    public required string Name { get; init; }
    /// <summary>/dev/dax0.0 (present in devdax mode only).</summary>
    public required string DevicePath { get; init; }
    public ulong Size { get; init; }
    /// <summary>Mapping granularity of the device node: offsets and lengths of mmap must be multiples of it.</summary>
    public ulong Align { get; init; }
    public int? TargetNode { get; init; }
    public int? NumaNode { get; init; }
    /// <summary>"devdax", "system-ram", or null when no driver is bound.</summary>
    public string? Mode { get; init; }
    public bool? Movable { get; init; }
    public int? OnlineMemblocks { get; init; }
    public int? TotalMemblocks { get; init; }
    /// <summary>"enabled" or "disabled".</summary>
    public string State { get; init; } = "enabled";
    /// <summary>Physical start (sysfs resource; readable by root only: null otherwise).</summary>
    public ulong? PhysicalAddress { get; init; }
    /// <summary>Why <see cref="PhysicalAddress"/> is missing, when it is.</summary>
    public string? PhysicalAddressNote { get; init; }
    public int? Region { get; init; }
    /// <summary>The bound driver: device_dax, kmem, or null.</summary>
    public string? Driver { get; init; }
    public IReadOnlyList<DaxMapping> Mappings { get; init; } = Array.Empty<DaxMapping>();

    /// <summary>Made of more than one physical range (dynamic CXL/hmem regions).</summary>
    public bool IsMultiRange => Mappings.Count > 1;
}

/// <summary>Finds dax devices: <c>daxctl list</c> for the full picture, sysfs alone where a tool is not needed.</summary>
public sealed class DaxDeviceCatalog
{
    public const ulong DefaultAlign = 2 * 1024 * 1024;
    public const string DaxDevices = "/sys/bus/dax/devices";

    private readonly LinuxContext _ctx;

    public DaxDeviceCatalog(LinuxContext context) { _ctx = context; }

    /// <summary>Every dax device daxctl lists (an empty list when it prints nothing), joined with sysfs.</summary>
    public IReadOnlyList<DaxDeviceInfo> List(CancellationToken ct = default)
    {
        var devices = _ctx.Tools.ListDaxDevices(ct);
        return devices.Select(d => Join(d, ReadSysfs(d.Chardev))).ToList();
    }

    /// <summary>One device as daxctl lists it, joined with sysfs; null when daxctl does not list it.</summary>
    public DaxDeviceInfo? Find(string name, CancellationToken ct = default)
    {
        var d = _ctx.Tools.ListDaxDevices(ct).FirstOrDefault(x => x.Chardev == name);
        return d is null ? null : Join(d, ReadSysfs(name));
    }

    /// <summary>
    /// daxctl reconfigure-device --mode=MODE. When it fails, the device may be left half-way (unbound from its
    /// driver, disabled); then it is put back in the mode it had, and the error says whether that worked.
    /// Returns the device as daxctl lists it afterwards.
    /// </summary>
    public DaxDeviceInfo SetMode(string name, string mode, bool noOnline = false, bool force = false, CancellationToken ct = default)
    {
        if (mode is not (DaxDeviceModes.DevDax or DaxDeviceModes.SystemRam))
            throw new DaxLinuxException(DaxErrorKind.InvalidArgument, ErrorIds.InvalidDaxDeviceMode,
                $"'{mode}' is not a dax device mode: use {DaxDeviceModes.DevDax} or {DaxDeviceModes.SystemRam}.", name, Errno.EINVAL);
        var tools = _ctx.Tools;
        var before = Find(name, ct) ?? throw NotFound(name);
        string previous = before.Mode ?? DaxDeviceModes.DevDax;
        try
        {
            tools.Run(tools.ReconfigureDaxDeviceCommand(name, mode, noOnline, force), ct);
        }
        catch (DaxLinuxException failure) when (failure.Kind == DaxErrorKind.ToolFailed)
        {
            throw Restore(name, previous, failure, ct);
        }
        return Find(name, ct) ?? throw NotFound(name);
    }

    /// <summary>After a failed mode change: the original error when the device is as it was, else the error plus
    /// what putting it back did.</summary>
    private DaxLinuxException Restore(string name, string previous, DaxLinuxException failure, CancellationToken ct)
    {
        var tools = _ctx.Tools;
        DaxDeviceInfo? now;
        try { now = Find(name, ct); }
        catch (DaxLinuxException) { now = null; }
        if (now is not null && now.State != "disabled" && now.Mode == previous) return failure;

        var back = tools.ReconfigureDaxDeviceCommand(name, previous, noOnline: false, force: previous == DaxDeviceModes.SystemRam);
        string state = now is null ? "in an unknown state" : now.State == "disabled" ? "disabled" : $"in {now.Mode} mode";
        string recovery;
        try
        {
            tools.Run(back, ct);
            recovery = $" The change stopped half-way and left {name} {state}; DaxFs put it back in {previous} mode ('{back.CommandLine}').";
        }
        catch (DaxLinuxException ex)
        {
            recovery = $" The change stopped half-way and left {name} {state}; putting it back in {previous} mode failed too " +
                       $"({ex.Message.TrimEnd('.')}). Run '{back.CommandLine}' once the cause is fixed.";
        }
        return new DaxLinuxException(failure.Kind, failure.ErrorId, failure.Message + recovery, failure.Target, failure.Errno, failure)
        {
            ToolExitCode = failure.ToolExitCode,
            ToolStandardError = failure.ToolStandardError,
            NextStep = failure.NextStep,
        };
    }

    private static DaxLinuxException NotFound(string name) =>
        new(DaxErrorKind.NotFound, ErrorIds.DaxDeviceNotFound,
            $"There is no dax device '{name}'.",
            name, Errno.ENODEV) { NextStep = NextStep.ListOrCreateDevices };

    /// <summary>Names of the dax devices sysfs knows (fast; for completion).</summary>
    public IReadOnlyList<string> Names() => _ctx.Sysfs.List(DaxDevices).Where(n => n.StartsWith("dax", StringComparison.Ordinal)).ToList();

    /// <summary>One device from sysfs only (no daxctl needed); throws NotFound when sysfs does not know it.</summary>
    public DaxDeviceInfo Get(string name)
    {
        var info = ReadSysfs(name);
        return info ?? throw new DaxLinuxException(DaxErrorKind.NotFound, ErrorIds.DaxDeviceNotFound,
            $"There is no dax device '{name}' ({DaxDevices}/{name} does not exist).", name, Errno.ENODEV) { NextStep = NextStep.ListOrCreateDevices };
    }

    /// <summary>A device that can be mapped through its /dev node: exists, devdax mode, node present.</summary>
    public DaxDeviceInfo GetMappable(string name)
    {
        var d = Get(name);
        if (d.Mode == DaxDeviceModes.SystemRam)
            throw new DaxLinuxException(DaxErrorKind.DeviceInSystemRam, ErrorIds.DaxDeviceInSystemRam,
                $"{name} is in system-ram mode: its memory is ordinary RAM now and it has no /dev node. Turn it back to devdax mode " +
                "(its memory must be offline and unused).", name, Errno.EBUSY) { NextStep = NextStep.SetDevdaxMode };
        if (!File.Exists(d.DevicePath))
            throw new DaxLinuxException(DaxErrorKind.NotFound, ErrorIds.DaxDeviceNotFound,
                $"{name} has no device node {d.DevicePath}{(d.Driver is null ? " (no driver is bound: the device is disabled)" : "")}. " +
                "Enable it in devdax mode.", name, Errno.ENODEV) { NextStep = NextStep.SetDevdaxMode };
        return d;
    }

    /// <summary>The device whose physical range holds [start, start+length), if any (root only: needs resource).</summary>
    public DaxDeviceInfo? FindHolding(ulong start, ulong length)
    {
        foreach (var name in Names())
        {
            var d = ReadSysfs(name);
            if (d?.PhysicalAddress is not { } p || d.Size == 0 || d.IsMultiRange) continue;
            if (start >= p && length <= d.Size && start - p <= d.Size - length) return d;
        }
        return null;
    }

    internal DaxDeviceInfo? ReadSysfs(string name)
    {
        var fs = _ctx.Sysfs;
        string dir = $"{DaxDevices}/{name}";
        if (name.Contains('/') || !fs.Exists(dir)) return null;

        ulong? U(string attr) => SysfsValues.TryParseUInt64(Safe(dir + "/" + attr), out ulong v) ? v : null;
        int? I(string attr) => SysfsValues.TryParseInt32(Safe(dir + "/" + attr), out int v) ? v : null;
        string? Safe(string path)
        {
            try { return fs.ReadText(path); }
            catch (UnauthorizedAccessException) { return null; }
            catch (IOException) { return null; }
        }

        ulong? phys = null;
        string? note = null;
        try
        {
            string? r = fs.ReadText(dir + "/resource");
            if (SysfsValues.TryParseUInt64(r, out ulong v)) phys = v;
            else note = r is null ? "this kernel has no resource attribute" : $"unreadable resource '{r}'";
        }
        catch (UnauthorizedAccessException) { note = "readable by root only"; }
        catch (IOException ex) { note = ex.Message; }

        var mappings = new List<DaxMapping>();
        foreach (var m in fs.List(dir).Where(n => n.StartsWith("mapping", StringComparison.Ordinal) && n.Length > 7 && char.IsAsciiDigit(n[7])))
        {
            ulong start = U(m + "/start") ?? 0, end = U(m + "/end") ?? 0;
            mappings.Add(new DaxMapping(U(m + "/page_offset") ?? 0, start, end, end >= start && (start | end) != 0 ? end - start + 1 : 0));
        }

        string? driver = fs.LinkTargetName(dir + "/driver");
        string? mode = driver switch
        {
            "kmem" => DaxDeviceModes.SystemRam,
            "device_dax" => DaxDeviceModes.DevDax,
            null => null,
            _ => DaxDeviceModes.DevDax,
        };
        return new DaxDeviceInfo
        {
            Name = name,
            DevicePath = _ctx.DevicePath(name),
            Size = U("size") ?? 0,
            Align = U("align") is { } a && a > 0 ? a : DefaultAlign,
            TargetNode = I("target_node"),
            NumaNode = I("numa_node"),
            Mode = mode,
            State = driver is null ? "disabled" : "enabled",
            PhysicalAddress = phys,
            PhysicalAddressNote = note,
            Region = DaxToolJson.RegionOfDaxDevice(name),
            Driver = driver,
            Mappings = mappings,
        };
    }

    /// <summary>daxctl's fields, completed and corrected by sysfs (the physical start, the driver).</summary>
    internal DaxDeviceInfo Join(DaxctlDevice d, DaxDeviceInfo? s) => new()
    {
        Name = d.Chardev,
        DevicePath = _ctx.DevicePath(d.Chardev),
        Size = d.Size ?? s?.Size ?? 0,
        Align = d.Align ?? s?.Align ?? DefaultAlign,
        TargetNode = d.TargetNode ?? s?.TargetNode,
        NumaNode = s?.NumaNode,
        Mode = d.State == "disabled" ? s?.Mode : d.Mode ?? s?.Mode,
        Movable = d.Movable,
        OnlineMemblocks = d.OnlineMemblocks,
        TotalMemblocks = d.TotalMemblocks,
        State = d.State ?? (s?.Driver is null && s is not null ? "disabled" : "enabled"),
        PhysicalAddress = s?.PhysicalAddress,
        PhysicalAddressNote = s is null ? "not in sysfs" : s.PhysicalAddressNote,
        Region = d.RegionId ?? DaxToolJson.RegionOfDaxDevice(d.Chardev),
        Driver = s?.Driver,
        Mappings = d.Mappings.Count > 0 ? d.Mappings : s?.Mappings ?? Array.Empty<DaxMapping>(),
    };
}
