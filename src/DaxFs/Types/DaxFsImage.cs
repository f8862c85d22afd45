using DaxFs.Core.Format;
using DaxFs.Core.Read;
using DaxFs.Core.Format.V8;

namespace DaxFs;

/// <summary>The superblock summary of an image (output of Get-DaxFsImage and New-DaxFsImage).</summary>
public sealed class DaxFsImage
{
    public string Path { get; init; } = string.Empty;
    /// <summary>The on-disk generation, Format5 (branches) or Format8 (shared overlay): a <see cref="DaxFsFormat"/> name, so that ConvertTo-Json writes it readably.</summary>
    public string Format { get; init; } = string.Empty;
    public uint Version { get; init; }
    /// <summary>The superblock's block_size (format 8: the page size of the machine that built it).</summary>
    public uint BlockSize { get; init; }
    /// <summary>Static, Branching or Split (a <see cref="DaxFsImageMode"/> name, so that ConvertTo-Json writes it readably).</summary>
    public string Mode { get; init; } = string.Empty;
    public long TotalSize { get; init; }
    /// <summary>Bytes of the file or memory region holding the image.</summary>
    public long Length { get; init; }
    public long BaseOffset { get; init; }
    public long BaseSize { get; init; }
    public uint InodeCount { get; init; }
    public uint RootInode { get; init; }
    public long DataOffset { get; init; }
    public uint BranchTableEntries { get; init; }
    public uint ActiveBranches { get; init; }
    public long NextBranchId { get; init; }
    public long NextInodeId { get; init; }
    public long DeltaRegionOffset { get; init; }
    public long DeltaRegionSize { get; init; }
    /// <summary>Bytes of the delta region handed out to branch logs.</summary>
    public long DeltaUsed { get; init; }
    public long PageCacheOffset { get; init; }
    public long PageCacheSize { get; init; }
    public uint PageCacheSlots { get; init; }
    public bool ExternalData { get; init; }
    public string? BackingFile { get; init; }
    /// <summary>Format 8: the overlay region (0 when none: a mount is read-only).</summary>
    public long OverlayOffset { get; init; }
    public long OverlaySize { get; init; }
    public uint OverlayBuckets { get; init; }
    /// <summary>Format 8: bytes of the overlay pool, and how many of them are handed out (pool_alloc).</summary>
    public long PoolSize { get; init; }
    public long PoolUsed { get; init; }

    public override string ToString() => Path;

    internal static DaxFsImage From(DaxFsImageReader r, string path)
    {
        if (r.Generation == DaxFsFormat.Format8) return FromV8(r, path);
        var sb = r.Superblock;
        long deltaUsed = sb.DeltaAllocOffset >= sb.DeltaRegionOffset && sb.DeltaRegionOffset != 0
            ? (long)Math.Min(sb.DeltaAllocOffset - sb.DeltaRegionOffset, sb.DeltaRegionSize) : 0;
        return new DaxFsImage
        {
            Path = path,
            Format = r.Generation.ToString(),
            Version = sb.Version,
            BlockSize = sb.BlockSize,
            Mode = r.Mode.ToString(),
            TotalSize = Clamp(sb.TotalSize),
            Length = r.Memory.Length,
            BaseOffset = Clamp(sb.BaseOffset),
            BaseSize = Clamp(sb.BaseSize),
            InodeCount = r.InodeCount,
            RootInode = r.RootInode,
            DataOffset = Clamp(r.Base.DataOffset),
            BranchTableEntries = sb.BranchTableEntries,
            ActiveBranches = sb.ActiveBranches,
            NextBranchId = Clamp(sb.NextBranchId),
            NextInodeId = Clamp(sb.NextInodeId),
            DeltaRegionOffset = Clamp(sb.DeltaRegionOffset),
            DeltaRegionSize = Clamp(sb.DeltaRegionSize),
            DeltaUsed = deltaUsed,
            PageCacheOffset = Clamp(sb.PageCacheOffset),
            PageCacheSize = Clamp(sb.PageCacheSize),
            PageCacheSlots = sb.PageCacheSlotCount,
            ExternalData = r.HasExternalData,
            BackingFile = r.BackingFile,
        };
    }

    private static DaxFsImage FromV8(DaxFsImageReader r, string path)
    {
        var sb = r.Superblock8;
        // The overlay header is read only when it lies inside the image; Get-DaxFsOverlay and Test-DaxFsImage say more.
        OverlayHeader? h = r.HasOverlay && r.Memory.Contains(sb.OverlayOffset, OverlayHeader.RecordSize)
            ? OverlayHeader.Read(r.Memory.Span(sb.OverlayOffset, OverlayHeader.RecordSize)) : null;
        return new DaxFsImage
        {
            Path = path,
            Format = nameof(DaxFsFormat.Format8),
            Version = sb.Version,
            BlockSize = sb.BlockSize,
            Mode = r.Mode.ToString(),
            TotalSize = Clamp(sb.TotalSize),
            Length = r.Memory.Length,
            BaseOffset = Clamp(sb.BaseOffset),
            BaseSize = Clamp(sb.BaseSize),
            InodeCount = r.InodeCount,
            RootInode = r.RootInode,
            DataOffset = Clamp(sb.DataOffset),
            NextInodeId = h is { } nh ? Clamp(nh.NextIno) : 0,
            PageCacheOffset = Clamp(sb.PageCacheOffset),
            PageCacheSize = Clamp(sb.PageCacheSize),
            PageCacheSlots = sb.PageCacheSlotCount,
            ExternalData = r.HasExternalData,
            BackingFile = r.BackingFile,
            OverlayOffset = Clamp(sb.OverlayOffset),
            OverlaySize = Clamp(sb.OverlaySize),
            OverlayBuckets = sb.OverlayBucketCount,
            PoolSize = h is { } ph ? Clamp(ph.PoolSize) : 0,
            PoolUsed = h is { } uh ? Clamp(uh.PoolAlloc) : 0,
        };
    }

    private static long Clamp(ulong v) => v > long.MaxValue ? long.MaxValue : (long)v;
}
