namespace DaxFs.Core.Linux;

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

    /// <summary>Names of the dax devices sysfs knows (fast; for completion).</summary>
    public IReadOnlyList<string> Names() => _ctx.Sysfs.List(DaxDevices).Where(n => n.StartsWith("dax", StringComparison.Ordinal)).ToList();

    /// <summary>One device from sysfs only (no daxctl needed); throws NotFound when sysfs does not know it.</summary>
    public DaxDeviceInfo Get(string name)
    {
        var info = ReadSysfs(name);
        if (info is null)
            throw new DaxLinuxException(DaxErrorKind.NotFound, "DaxDeviceNotFound",
                $"There is no dax device '{name}' ({DaxDevices}/{name} does not exist). List the devices with Get-DaxDevice; " +
                "a devdax namespace makes one: New-DaxNamespace -Mode devdax.", name, Errno.ENODEV);
        return info;
    }

    /// <summary>A device that can be mapped through its /dev node: exists, devdax mode, node present.</summary>
    public DaxDeviceInfo GetMappable(string name)
    {
        var d = Get(name);
        if (d.Mode == DaxDeviceModes.SystemRam)
            throw new DaxLinuxException(DaxErrorKind.DeviceInSystemRam, "DaxDeviceInSystemRam",
                $"{name} is in system-ram mode: its memory is ordinary RAM now and it has no /dev node. Turn it back with " +
                $"Set-DaxDevice {name} -Mode devdax (its memory must be offline and unused).", name, Errno.EBUSY);
        if (!File.Exists(d.DevicePath))
            throw new DaxLinuxException(DaxErrorKind.NotFound, "DaxDeviceNotFound",
                $"{name} has no device node {d.DevicePath}{(d.Driver is null ? " (no driver is bound: the device is disabled)" : "")}. " +
                $"Enable it in devdax mode: Set-DaxDevice {name} -Mode devdax.", name, Errno.ENODEV);
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
