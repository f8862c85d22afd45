using DaxFs.Core.Format;
using DaxFs.Core.Read;

namespace DaxFs;

/// <summary>The superblock summary of an image (output of Get-DaxFsImage and New-DaxFsImage).</summary>
public sealed class DaxFsImage
{
    public string Path { get; init; } = string.Empty;
    public uint Version { get; init; }
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

    public override string ToString() => Path;

    internal static DaxFsImage From(DaxFsImageReader r, string path)
    {
        var sb = r.Superblock;
        long deltaUsed = sb.DeltaAllocOffset >= sb.DeltaRegionOffset && sb.DeltaRegionOffset != 0
            ? (long)Math.Min(sb.DeltaAllocOffset - sb.DeltaRegionOffset, sb.DeltaRegionSize) : 0;
        return new DaxFsImage
        {
            Path = path,
            Version = sb.Version,
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

    private static long Clamp(ulong v) => v > long.MaxValue ? long.MaxValue : (long)v;
}
