using DaxFs.Core.Linux;

namespace DaxFs;

/// <summary>An NVDIMM namespace (output of Get-DaxNamespace and New-DaxNamespace), as ndctl lists it.</summary>
public sealed class DaxNamespace
{
    /// <summary>namespace0.0.</summary>
    public string Name { get; init; } = string.Empty;
    /// <summary>region0.</summary>
    public string? Region { get; init; }
    /// <summary>devdax, fsdax, sector or raw.</summary>
    public string? Mode { get; init; }
    /// <summary>Where the page structs live: dev (in the namespace) or mem (in RAM).</summary>
    public string? Map { get; init; }
    public long? Size { get; init; }
    public string? Uuid { get; init; }
    /// <summary>The name given at creation (ndctl's "name"; New-DaxNamespace -Label).</summary>
    public string? Label { get; init; }
    public long? SectorSize { get; init; }
    public long? Align { get; init; }
    /// <summary>The dax device of a devdax namespace (dax0.0): pipe the namespace to Get-DaxDevice.</summary>
    public string? Device { get; init; }
    /// <summary>The block device of an fsdax or raw namespace (pmem0).</summary>
    public string? BlockDevice { get; init; }
    /// <summary>disabled when no driver is bound (listed with -Idle); empty when enabled.</summary>
    public string? State { get; init; }
    public int? NumaNode { get; init; }
    public int? TargetNode { get; init; }

    public override string ToString() => Name;

    internal static DaxNamespace From(NdctlNamespace n) => new()
    {
        Name = n.Dev,
        Region = n.Region,
        Mode = n.Mode,
        Map = n.Map,
        Size = n.Size is { } s ? DaxDevice.Clamp(s) : null,
        Uuid = n.Uuid,
        Label = n.Name,
        SectorSize = n.SectorSize,
        Align = n.Align is { } a ? DaxDevice.Clamp(a) : null,
        Device = n.CharDev,
        BlockDevice = n.BlockDev,
        State = n.State,
        NumaNode = n.NumaNode,
        TargetNode = n.TargetNode,
    };
}
