using DaxFs.Core.Linux;
using DaxFs.Core.Operations;

namespace DaxFs;

/// <summary>A mounted daxfs (output of Get-DaxFsMount and Mount-DaxFs), from /proc/self/mountinfo.</summary>
public sealed class DaxFsMount
{
    public string MountPoint { get; init; } = string.Empty;
    /// <summary>The source given at mount (the dax device name, or daxfs).</summary>
    public string Source { get; init; } = string.Empty;
    public bool ReadOnly { get; init; }
    /// <summary>phys= of the mount; empty for dma-buf mounts.</summary>
    public long? PhysicalAddress { get; init; }
    public long? Size { get; init; }
    /// <summary>Mounted from a dma-buf (new mount API).</summary>
    public bool DmaBuf { get; init; }
    /// <summary>A static image (no branches).</summary>
    public bool Static { get; init; }
    /// <summary>The branch path the kernel shows (/main, /main/child); empty for static images.</summary>
    public string? Branch { get; init; }
    /// <summary>The name= given at mount.</summary>
    public string? Name { get; init; }
    /// <summary>Split image: regular-file data comes from a backing file.</summary>
    public bool HasBackingFile { get; init; }
    /// <summary>The on-disk format of the mounted image (5 or 8), from the options the module shows.</summary>
    public int Format { get; init; }
    /// <summary>Format 8: the image has a shared overlay, and the mount writes to it.</summary>
    public bool Overlay { get; init; }
    /// <summary>Format 8: the page cache is exported (export=).</summary>
    public bool Export { get; init; }
    /// <summary>The daxfs module the host has loaded, which serves every daxfs mount ("daxfs module 0.1.0 (format 8)").</summary>
    public string? Module { get; init; }
    /// <summary>The module's version (/sys/module/daxfs/version); empty for the format-5 module, which declares none.</summary>
    public string? ModuleVersion { get; init; }
    public int MountId { get; init; }
    /// <summary>major:minor of the mount's st_dev.</summary>
    public string DeviceNumber { get; init; } = string.Empty;
    public string MountOptions { get; init; } = string.Empty;
    public string SuperOptions { get; init; } = string.Empty;

    public override string ToString() => MountPoint;

    internal static DaxFsMount From(MountInfoEntry e, DaxFsKernelModule? module)
    {
        var o = DaxFsMountOptions.From(e);
        return new DaxFsMount
        {
            MountPoint = e.MountPoint,
            Source = e.Source,
            ReadOnly = e.ReadOnly,
            PhysicalAddress = o.PhysicalAddress is { } p ? DaxDevice.Clamp(p) : null,
            Size = o.Size is { } s ? DaxDevice.Clamp(s) : null,
            DmaBuf = o.DmaBuf,
            Static = o.Static,
            Branch = o.Branch,
            Name = o.Name,
            HasBackingFile = o.HasBackingFile,
            Format = (int)o.Format,
            Overlay = o.Overlay,
            Export = o.Export,
            Module = module?.Description,
            ModuleVersion = module?.Version,
            MountId = e.MountId,
            DeviceNumber = e.Device,
            MountOptions = e.MountOptions,
            SuperOptions = e.SuperOptions,
        };
    }
}
