using DaxFs.Core.Operations;

namespace DaxFs;

/// <summary>A dax device (output of Get-DaxDevice and Set-DaxDevice -PassThru): daxctl's view joined with sysfs.</summary>
public sealed class DaxDevice
{
    /// <summary>dax0.0.</summary>
    public string Name { get; init; } = string.Empty;
    /// <summary>The device node (/dev/dax0.0); it exists in devdax mode only.</summary>
    public string Path { get; init; } = string.Empty;
    /// <summary>devdax, system-ram, or empty when no driver is bound.</summary>
    public string? Mode { get; init; }
    /// <summary>enabled or disabled.</summary>
    public string State { get; init; } = "enabled";
    public long Size { get; init; }
    /// <summary>Mapping granularity: offsets and lengths of a map of the node are multiples of it.</summary>
    public long Align { get; init; }
    public int? TargetNode { get; init; }
    public int? NumaNode { get; init; }
    /// <summary>Physical start (sysfs resource, readable by root only; empty otherwise, see PhysicalAddressNote).</summary>
    public long? PhysicalAddress { get; init; }
    public string? PhysicalAddressNote { get; init; }
    /// <summary>The dax region id (3 for dax3.1).</summary>
    public int? Region { get; init; }
    /// <summary>The bound driver: device_dax, kmem, or empty.</summary>
    public string? Driver { get; init; }
    /// <summary>system-ram mode: the memory is in ZONE_MOVABLE.</summary>
    public bool? Movable { get; init; }
    public int? OnlineMemoryBlocks { get; init; }
    public int? TotalMemoryBlocks { get; init; }
    /// <summary>The physical ranges the device is made of (several for dynamic CXL regions).</summary>
    public DaxDeviceMapping[] Mappings { get; init; } = Array.Empty<DaxDeviceMapping>();

    public override string ToString() => Name;

    internal static DaxDevice From(DaxDeviceInfo d) => new()
    {
        Name = d.Name,
        Path = d.DevicePath,
        Mode = d.Mode,
        State = d.State,
        Size = Clamp(d.Size),
        Align = Clamp(d.Align),
        TargetNode = d.TargetNode,
        NumaNode = d.NumaNode,
        PhysicalAddress = d.PhysicalAddress is { } p ? Clamp(p) : null,
        PhysicalAddressNote = d.PhysicalAddressNote,
        Region = d.Region,
        Driver = d.Driver,
        Movable = d.Movable,
        OnlineMemoryBlocks = d.OnlineMemblocks,
        TotalMemoryBlocks = d.TotalMemblocks,
        Mappings = d.Mappings.Select(m => new DaxDeviceMapping
        {
            PageOffset = Clamp(m.PageOffset), Start = Clamp(m.Start), End = Clamp(m.End), Size = Clamp(m.Size),
        }).ToArray(),
    };

    internal static long Clamp(ulong v) => v > long.MaxValue ? long.MaxValue : (long)v;
}

/// <summary>One physical range of a dax device.</summary>
public sealed class DaxDeviceMapping
{
    /// <summary>Where the range starts in the device, in pages.</summary>
    public long PageOffset { get; init; }
    public long Start { get; init; }
    /// <summary>The last byte (inclusive), as sysfs and daxctl print it.</summary>
    public long End { get; init; }
    public long Size { get; init; }

    public override string ToString() => $"0x{Start:x}-0x{End:x}";
}
