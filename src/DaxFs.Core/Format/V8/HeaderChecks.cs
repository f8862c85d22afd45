using System.Numerics;

namespace DaxFs.Core.Format.V8;

/// <summary>
/// The format-8 superblock rules that every reader applies before it trusts the headers (the reader throws the first,
/// the validator reports each): the record fits, magic and version, a usable block size, and a base region whose inode
/// table lies inside it. One definition for both.
/// </summary>
public static class HeaderChecksV8
{
    /// <summary>Each header rule <paramref name="sb"/> breaks, in order, for an image of <paramref name="length"/> bytes.</summary>
    public static IEnumerable<FormatProblem> All(SuperblockV8 sb, ulong length)
    {
        if (Magic(sb) is { } m) { yield return m; yield break; }
        if (Version(sb) is { } v) { yield return v; yield break; }
        if (BlockSize(sb) is { } b) yield return b;
        if (sb.BaseOffset == 0)
        {
            if (sb.OverlayOffset == 0)
                yield return new(RuleIds.V8NoRoot, SuperblockV8.Offsets.OverlayOffset,
                    "The image has neither a base (base_offset 0) nor an overlay (overlay_offset 0): there is no root directory to mount.");
            yield break;
        }
        if (BaseBounds(sb, length) is { } bb) { yield return bb; yield break; }
        if (HasInodes(sb) is { } hi) { yield return hi; yield break; }
        if (InodeTable(sb) is { } it) yield return it;
    }

    public static FormatProblem? Magic(in SuperblockV8 sb) => sb.Magic == DaxFsConstants.SuperMagic ? null
        : new(RuleIds.SuperMagic, SuperblockV8.Offsets.Magic,
            $"Not a DAXFS image: the superblock magic is 0x{sb.Magic:x8}, not 0x{DaxFsConstants.SuperMagic:x8}.");

    public static FormatProblem? Version(in SuperblockV8 sb) => sb.Version == DaxFsV8Constants.Version ? null
        : new(RuleIds.SuperVersion, SuperblockV8.Offsets.Version, $"The superblock version is {sb.Version}, not {DaxFsV8Constants.Version}.");

    /// <summary>block_size is a power of two of at least 4096 (whether it is this machine's page size is the validator's question).</summary>
    public static FormatProblem? BlockSize(in SuperblockV8 sb) => sb.BlockSize >= DaxFsV8Constants.MinBlockSize && BitOperations.IsPow2(sb.BlockSize) ? null
        : new(RuleIds.V8PageSize, SuperblockV8.Offsets.BlockSize,
            $"The superblock's block_size is {sb.BlockSize}: format 8 records the page size of the machine that built it, a power of two of at least {DaxFsV8Constants.MinBlockSize}.");

    public static FormatProblem? BaseBounds(in SuperblockV8 sb, ulong length) =>
        sb.BaseOffset <= length && sb.BaseSize <= length - sb.BaseOffset ? null
        : new(RuleIds.BaseRegionBounds, SuperblockV8.Offsets.BaseOffset,
            $"The base region (0x{sb.BaseOffset:x}, {sb.BaseSize} bytes) does not lie inside the image ({length} bytes): the image is truncated or corrupt.");

    public static FormatProblem? HasInodes(in SuperblockV8 sb) => sb.InodeCount != 0 ? null
        : new(RuleIds.BaseNoInodes, SuperblockV8.Offsets.InodeCount, "The base region has no inodes (inode_count is 0).");

    /// <summary>What is wrong with the overlay header's bucket table and pool placement (null when they fit the region, apart, after the header).</summary>
    public static string? OverlayLayout(in SuperblockV8 sb, in OverlayHeader h)
    {
        UInt128 tableEnd = (UInt128)h.BucketOffset + (UInt128)sb.OverlayBucketCount * DaxFsV8Constants.BucketSize;
        UInt128 poolEnd = (UInt128)h.PoolOffset + h.PoolSize;
        if (h.BucketOffset < OverlayHeader.RecordSize || tableEnd > sb.OverlaySize)
            return $"The overlay's bucket table ({sb.OverlayBucketCount} buckets at 0x{h.BucketOffset:x}) does not lie inside the overlay region ({sb.OverlaySize} bytes) after its header.";
        if (h.PoolOffset < OverlayHeader.RecordSize || poolEnd > sb.OverlaySize)
            return $"The overlay's pool ({h.PoolSize} bytes at 0x{h.PoolOffset:x}) does not lie inside the overlay region ({sb.OverlaySize} bytes) after its header.";
        if ((UInt128)h.PoolOffset < tableEnd && (UInt128)h.BucketOffset < poolEnd)
            return $"The overlay's bucket table (0x{h.BucketOffset:x}) and pool (0x{h.PoolOffset:x}) overlap.";
        return null;
    }

    public static FormatProblem? InodeTable(in SuperblockV8 sb)
    {
        UInt128 tableLength = (UInt128)sb.InodeCount * DaxFsConstants.InodeSize;
        if (sb.InodeOffset <= sb.BaseSize && tableLength <= sb.BaseSize - sb.InodeOffset) return null;
        return new(RuleIds.InodeTableBounds, SuperblockV8.Offsets.InodeOffset,
            $"The inode table ({sb.InodeCount} inodes at base offset 0x{sb.InodeOffset:x}) exceeds the base region ({sb.BaseSize} bytes).");
    }
}
