using DaxFs.Core.Linux;

namespace DaxFs;

/// <summary>An NVDIMM region (output of Get-DaxRegion), as ndctl lists it: the memory namespaces are carved from.</summary>
public sealed class DaxRegion
{
    /// <summary>region0.</summary>
    public string Name { get; init; } = string.Empty;
    public long? Size { get; init; }
    /// <summary>Bytes not yet given to a namespace.</summary>
    public long? AvailableSize { get; init; }
    /// <summary>The largest contiguous free extent: the biggest namespace New-DaxNamespace can still make here.</summary>
    public long? MaxAvailableExtent { get; init; }
    /// <summary>Namespace sizes in this region are multiples of this.</summary>
    public long? Align { get; init; }
    /// <summary>pmem or blk.</summary>
    public string? Type { get; init; }
    /// <summary>What survives power loss: memory_controller, cpu_cache, unknown.</summary>
    public string? PersistenceDomain { get; init; }
    public int? NumaNode { get; init; }
    public int? TargetNode { get; init; }
    /// <summary>disabled when listed with -Idle and not enabled; empty when enabled.</summary>
    public string? State { get; init; }
    /// <summary>The DIMMs the region spans.</summary>
    public string[] Dimms { get; init; } = Array.Empty<string>();

    public override string ToString() => Name;

    internal static DaxRegion From(NdctlRegion r) => new()
    {
        Name = r.Dev,
        Size = r.Size is { } s ? DaxDevice.Clamp(s) : null,
        AvailableSize = r.AvailableSize is { } a ? DaxDevice.Clamp(a) : null,
        MaxAvailableExtent = r.MaxAvailableExtent is { } m ? DaxDevice.Clamp(m) : null,
        Align = r.Align is { } al ? DaxDevice.Clamp(al) : null,
        Type = r.Type,
        PersistenceDomain = r.PersistenceDomain,
        NumaNode = r.NumaNode,
        TargetNode = r.TargetNode,
        State = r.State,
        Dimms = r.Dimms.ToArray(),
    };
}
