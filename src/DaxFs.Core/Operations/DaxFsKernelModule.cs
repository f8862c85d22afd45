using DaxFs.Core.Format;
using DaxFs.Core.Linux;

namespace DaxFs.Core.Operations;

/// <summary>
/// The daxfs kernel module this host has loaded, and the on-disk format it mounts, read from sysfs
/// (/sys/module/daxfs). Measured in the VM kit's 6.12 kernel with both modules: the format-8 module (release 0.1.0)
/// declares MODULE_VERSION, so /sys/module/daxfs/version reads "0.1.0" and /sys/module/daxfs/srcversion its source
/// hash; the format-5 module (the reference of February 2026) declares no version, so neither file exists, while
/// /sys/module/daxfs itself does (initstate "live"). With no daxfs module loaded there is no /sys/module/daxfs.
/// A module can be swapped only while nothing is mounted (rmmod refuses a module in use), so the loaded module is the
/// one behind every daxfs mount of the host.
/// </summary>
public sealed record DaxFsKernelModule
{
    /// <summary>The sysfs folder of the module.</summary>
    public const string SysfsPath = "/sys/module/daxfs";

    /// <summary>Releases whose format is known: MODULE_VERSION → the DAXFS_VERSION its images carry.</summary>
    public static IReadOnlyDictionary<string, DaxFsFormat> KnownReleases { get; } = new Dictionary<string, DaxFsFormat>(StringComparer.Ordinal)
    {
        ["0.1.0"] = DaxFsFormat.Format8,
    };

    /// <summary>True when /sys/module/daxfs exists.</summary>
    public bool Loaded { get; init; }
    /// <summary>/sys/module/daxfs/version (MODULE_VERSION), or null when the module declares none.</summary>
    public string? Version { get; init; }
    /// <summary>/sys/module/daxfs/srcversion (a hash of the module's sources), or null.</summary>
    public string? SourceVersion { get; init; }
    /// <summary>The image format the module mounts; Unknown when no module is loaded or its release is not known here.</summary>
    public DaxFsFormat Format { get; init; }

    /// <summary>"daxfs 0.1.0 (format 8)", "daxfs without a version (format 5)", "no daxfs module loaded".</summary>
    public string Description => !Loaded ? "no daxfs module loaded"
        : Version is null ? "daxfs module without a version (format 5)"
        : Format == DaxFsFormat.Unknown ? $"daxfs module {Version} (a release DaxFs does not know)"
        : $"daxfs module {Version} (format {(int)Format})";

    /// <summary>Reads the loaded module from <paramref name="sysfs"/>.</summary>
    public static DaxFsKernelModule Read(ISysfs sysfs)
    {
        if (!sysfs.Exists(SysfsPath)) return new DaxFsKernelModule { Loaded = false, Format = DaxFsFormat.Unknown };
        string? version = Attribute(sysfs, "version");
        string? source = Attribute(sysfs, "srcversion");
        var format = version is null ? DaxFsFormat.Format5
            : KnownReleases.TryGetValue(version, out var f) ? f : DaxFsFormat.Unknown;
        return new DaxFsKernelModule { Loaded = true, Version = version, SourceVersion = source, Format = format };
    }

    private static string? Attribute(ISysfs sysfs, string name)
    {
        try { return sysfs.ReadText(SysfsPath + "/" + name) is { Length: > 0 } t ? t.Trim() : null; }
        catch (UnauthorizedAccessException) { return null; }
    }

    /// <summary>True when the module is known to mount <paramref name="format"/> only as another format: a refusal is certain.</summary>
    public bool Refuses(DaxFsFormat format) => Loaded && Format != DaxFsFormat.Unknown && format != DaxFsFormat.Unknown && Format != format;
}
