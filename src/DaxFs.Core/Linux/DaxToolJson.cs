using System.Globalization;
using System.Text.Json;
using DaxFs.Core.Errors;

namespace DaxFs.Core.Linux;

/// <summary>One physical range of a dax device (daxctl list --mappings; sysfs mappingN).</summary>
public sealed record DaxMapping(ulong PageOffset, ulong Start, ulong End, ulong Size);

/// <summary>A dax device as daxctl prints it.</summary>
public sealed record DaxctlDevice
{
    public required string Chardev { get; init; }
    public ulong? Size { get; init; }
    public int? TargetNode { get; init; }
    public ulong? Align { get; init; }
    /// <summary>"devdax" or "system-ram".</summary>
    public string? Mode { get; init; }
    public bool? Movable { get; init; }
    public int? OnlineMemblocks { get; init; }
    public int? TotalMemblocks { get; init; }
    /// <summary>"disabled" when no driver is bound; null when enabled.</summary>
    public string? State { get; init; }
    /// <summary>The dax region id when the device came nested in a region object.</summary>
    public int? RegionId { get; init; }
    public IReadOnlyList<DaxMapping> Mappings { get; init; } = Array.Empty<DaxMapping>();
}

/// <summary>An NVDIMM namespace as ndctl prints it.</summary>
public sealed record NdctlNamespace
{
    public required string Dev { get; init; }
    /// <summary>fsdax, devdax, sector or raw.</summary>
    public string? Mode { get; init; }
    /// <summary>Where the page structs live: "dev" (in the namespace) or "mem" (in RAM).</summary>
    public string? Map { get; init; }
    public ulong? Size { get; init; }
    public string? Uuid { get; init; }
    public string? RawUuid { get; init; }
    public uint? SectorSize { get; init; }
    public ulong? Align { get; init; }
    public string? BlockDev { get; init; }
    public string? CharDev { get; init; }
    public string? State { get; init; }
    public string? Name { get; init; }
    public int? NumaNode { get; init; }
    public int? TargetNode { get; init; }
    /// <summary>The region ("region0") when the namespace came nested in a region object.</summary>
    public string? Region { get; init; }
}

/// <summary>An NVDIMM region as ndctl prints it (ndctl list --regions).</summary>
public sealed record NdctlRegion
{
    public required string Dev { get; init; }
    public ulong? Size { get; init; }
    /// <summary>The alignment namespaces in this region must keep (sizes are multiples of it).</summary>
    public ulong? Align { get; init; }
    /// <summary>Bytes not yet given to a namespace.</summary>
    public ulong? AvailableSize { get; init; }
    /// <summary>The largest contiguous free extent: the biggest namespace that can still be made.</summary>
    public ulong? MaxAvailableExtent { get; init; }
    /// <summary>"pmem" or "blk".</summary>
    public string? Type { get; init; }
    public string? PersistenceDomain { get; init; }
    public int? NumaNode { get; init; }
    public int? TargetNode { get; init; }
    /// <summary>"disabled" when listed with --idle and not enabled; null when enabled.</summary>
    public string? State { get; init; }
    /// <summary>The DIMMs the region spans (nmem0, ...), when ndctl printed its mappings.</summary>
    public IReadOnlyList<string> Dimms { get; init; } = Array.Empty<string>();
    /// <summary>Namespaces printed inside the region (ndctl list -R -N), else empty.</summary>
    public IReadOnlyList<string> Namespaces { get; init; } = Array.Empty<string>();
}

/// <summary>
/// Parsers for the JSON that ndctl and daxctl print. They accept every shape the tools produce: a flat array (one object
/// kind), a bare object (one match under -u), the {dimms,regions,namespaces} platform object (several kinds), objects
/// nested in regions or buses, and empty output (nothing matched: zero results, not an error).
/// </summary>
public static class DaxToolJson
{
    /// <summary>Dax devices from "daxctl list" output (devices, regions with "devices", or one bare device).</summary>
    public static IReadOnlyList<DaxctlDevice> ParseDaxDevices(string output)
    {
        var list = new List<DaxctlDevice>();
        using var doc = Parse(output, "daxctl");
        if (doc is null) return list;
        Walk(doc.RootElement, null);
        return list;

        void Walk(JsonElement e, int? regionId)
        {
            switch (e.ValueKind)
            {
                case JsonValueKind.Array:
                    foreach (var x in e.EnumerateArray()) Walk(x, regionId);
                    break;
                case JsonValueKind.Object:
                    if (e.TryGetProperty("chardev", out var cd) && cd.ValueKind == JsonValueKind.String)
                    {
                        list.Add(ReadDaxDevice(e, regionId));
                        break;
                    }
                    int? id = regionId;
                    if (e.TryGetProperty("id", out var idEl) && TryInt(idEl, out int rid)) id = rid;
                    foreach (var key in new[] { "devices", "regions" })
                        if (e.TryGetProperty(key, out var child)) Walk(child, id);
                    break;
            }
        }
    }

    /// <summary>Namespaces from "ndctl list" or "ndctl create-namespace" output, in every shape.</summary>
    public static IReadOnlyList<NdctlNamespace> ParseNamespaces(string output)
    {
        var list = new List<NdctlNamespace>();
        using var doc = Parse(output, "ndctl");
        if (doc is null) return list;
        Walk(doc.RootElement, null);
        return list;

        void Walk(JsonElement e, string? region)
        {
            switch (e.ValueKind)
            {
                case JsonValueKind.Array:
                    foreach (var x in e.EnumerateArray()) Walk(x, region);
                    break;
                case JsonValueKind.Object:
                    string? dev = Str(e, "dev");
                    if (dev is not null && dev.StartsWith("namespace", StringComparison.Ordinal))
                    {
                        list.Add(ReadNamespace(e, region));
                        break;
                    }
                    string? r = dev is not null && dev.StartsWith("region", StringComparison.Ordinal) ? dev : region;
                    foreach (var key in new[] { "namespaces", "regions", "buses" })
                        if (e.TryGetProperty(key, out var child)) Walk(child, r);
                    break;
            }
        }
    }

    /// <summary>Regions from "ndctl list --regions" output: a flat array, a bare object, or regions inside {regions} or buses.</summary>
    public static IReadOnlyList<NdctlRegion> ParseRegions(string output)
    {
        var list = new List<NdctlRegion>();
        using var doc = Parse(output, "ndctl");
        if (doc is null) return list;
        Walk(doc.RootElement);
        return list;

        void Walk(JsonElement e)
        {
            switch (e.ValueKind)
            {
                case JsonValueKind.Array:
                    foreach (var x in e.EnumerateArray()) Walk(x);
                    break;
                case JsonValueKind.Object:
                    string? dev = Str(e, "dev");
                    if (dev is not null && dev.StartsWith("region", StringComparison.Ordinal))
                    {
                        list.Add(ReadRegion(e, dev));
                        break;
                    }
                    foreach (var key in new[] { "regions", "buses" })
                        if (e.TryGetProperty(key, out var child)) Walk(child);
                    break;
            }
        }
    }

    private static NdctlRegion ReadRegion(JsonElement e, string dev)
    {
        var dimms = new List<string>();
        if (e.TryGetProperty("mappings", out var m) && m.ValueKind == JsonValueKind.Array)
            foreach (var x in m.EnumerateArray())
                if (Str(x, "dimm") is { } d) dimms.Add(d);
        var namespaces = new List<string>();
        if (e.TryGetProperty("namespaces", out var ns) && ns.ValueKind == JsonValueKind.Array)
            foreach (var x in ns.EnumerateArray())
                if (Str(x, "dev") is { } n) namespaces.Add(n);
        return new NdctlRegion
        {
            Dev = dev,
            Size = U64(e, "size"),
            Align = U64(e, "align"),
            AvailableSize = U64(e, "available_size"),
            MaxAvailableExtent = U64(e, "max_available_extent"),
            Type = Str(e, "type"),
            PersistenceDomain = Str(e, "persistence_domain"),
            NumaNode = I32(e, "numa_node"),
            TargetNode = I32(e, "target_node"),
            State = Str(e, "state"),
            Dimms = dimms,
            Namespaces = namespaces,
        };
    }

    private static DaxctlDevice ReadDaxDevice(JsonElement e, int? regionId)
    {
        var mappings = new List<DaxMapping>();
        if (e.TryGetProperty("mappings", out var m) && m.ValueKind == JsonValueKind.Array)
        {
            foreach (var x in m.EnumerateArray())
            {
                ulong start = U64(x, "start") ?? 0, end = U64(x, "end") ?? 0;
                mappings.Add(new DaxMapping(U64(x, "page_offset") ?? 0, start, end, U64(x, "size") ?? (end >= start ? end - start + 1 : 0)));
            }
        }
        return new DaxctlDevice
        {
            Chardev = Str(e, "chardev")!,
            Size = U64(e, "size"),
            TargetNode = I32(e, "target_node"),
            Align = U64(e, "align"),
            Mode = Str(e, "mode"),
            Movable = e.TryGetProperty("movable", out var mv) && mv.ValueKind is JsonValueKind.True or JsonValueKind.False ? mv.GetBoolean() : null,
            OnlineMemblocks = I32(e, "online_memblocks"),
            TotalMemblocks = I32(e, "total_memblocks"),
            State = Str(e, "state"),
            RegionId = regionId,
            Mappings = mappings,
        };
    }

    private static NdctlNamespace ReadNamespace(JsonElement e, string? region)
    {
        string dev = Str(e, "dev")!;
        string? chardev = Str(e, "chardev");
        if (chardev is null && e.TryGetProperty("daxregion", out var dr) && dr.ValueKind == JsonValueKind.Object &&
            dr.TryGetProperty("devices", out var devs) && devs.ValueKind == JsonValueKind.Array)
        {
            foreach (var d in devs.EnumerateArray())
            {
                chardev = Str(d, "chardev");
                if (chardev is not null) break;
            }
        }
        return new NdctlNamespace
        {
            Dev = dev,
            Mode = Str(e, "mode"),
            Map = Str(e, "map"),
            Size = U64(e, "size"),
            Uuid = Str(e, "uuid"),
            RawUuid = Str(e, "raw_uuid"),
            SectorSize = U64(e, "sector_size") is { } ss && ss <= uint.MaxValue ? (uint)ss : null,
            Align = U64(e, "align"),
            BlockDev = Str(e, "blockdev"),
            CharDev = chardev,
            State = Str(e, "state"),
            Name = Str(e, "name"),
            NumaNode = I32(e, "numa_node"),
            TargetNode = I32(e, "target_node"),
            Region = region ?? RegionOfNamespace(dev),
        };
    }

    /// <summary>"namespace3.1" lives in "region3" (the kernel names namespaces after their region).</summary>
    public static string? RegionOfNamespace(string dev)
    {
        if (!dev.StartsWith("namespace", StringComparison.Ordinal)) return null;
        var rest = dev.AsSpan("namespace".Length);
        int dot = rest.IndexOf('.');
        if (dot <= 0) return null;
        return int.TryParse(rest[..dot], NumberStyles.None, CultureInfo.InvariantCulture, out int id) ? "region" + id : null;
    }

    /// <summary>"dax3.1" belongs to dax region 3.</summary>
    public static int? RegionOfDaxDevice(string name)
    {
        if (!name.StartsWith("dax", StringComparison.Ordinal)) return null;
        var rest = name.AsSpan(3);
        int dot = rest.IndexOf('.');
        if (dot <= 0) return null;
        return int.TryParse(rest[..dot], NumberStyles.None, CultureInfo.InvariantCulture, out int id) ? id : null;
    }

    private static JsonDocument? Parse(string output, string tool)
    {
        if (string.IsNullOrWhiteSpace(output)) return null;
        try
        {
            return JsonDocument.Parse(output, new JsonDocumentOptions { AllowTrailingCommas = true });
        }
        catch (JsonException ex)
        {
            string head = output.Length > 200 ? output[..200] + "…" : output;
            throw new DaxLinuxException(DaxErrorKind.ToolOutputInvalid, tool == "ndctl" ? ErrorIds.NdctlOutputInvalid : ErrorIds.DaxctlOutputInvalid,
                $"{tool} printed something that is not JSON ({ex.Message}): {head.Trim()}. Check that '{tool} --version' runs and is version 71 or later.",
                tool, inner: ex);
        }
    }

    private static string? Str(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static int? I32(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && TryInt(v, out int i) ? i : null;

    private static bool TryInt(JsonElement v, out int value)
    {
        value = 0;
        if (v.ValueKind == JsonValueKind.Number) return v.TryGetInt32(out value);
        return v.ValueKind == JsonValueKind.String && SysfsValues.TryParseInt32(v.GetString(), out value);
    }

    /// <summary>A number, or a string holding a decimal or 0x hex number (what -u would print for hex fields).</summary>
    private static ulong? U64(JsonElement e, string name)
    {
        if (!e.TryGetProperty(name, out var v)) return null;
        if (v.ValueKind == JsonValueKind.Number)
        {
            if (v.TryGetUInt64(out ulong u)) return u;
            if (v.TryGetInt64(out long l)) return unchecked((ulong)l);
            return null;
        }
        return v.ValueKind == JsonValueKind.String && SysfsValues.TryParseUInt64(v.GetString(), out ulong s) ? s : null;
    }
}
