namespace DaxFs.Core.Format;

/// <summary>A broken rule found in the image's headers: its id, where it sits and what is wrong.</summary>
public readonly record struct FormatProblem(string RuleId, long Offset, string Message)
{
    public DaxFsFormatException ToException() => new(RuleId, Offset, Message);
}

/// <summary>
/// The superblock and base-superblock rules that every reader of an image applies before it trusts the headers. The
/// reader stops at the first problem (<see cref="FormatProblem.ToException"/>); the validator reports each one and goes
/// on. One definition, so that the two never disagree on a rule, its offset or its words.
/// </summary>
public static class HeaderChecks
{
    public static FormatProblem? Magic(in Superblock sb) => sb.Magic == DaxFsConstants.SuperMagic ? null
        : new(RuleIds.SuperMagic, Superblock.Offsets.Magic,
            $"Not a DAXFS image: the superblock magic is 0x{sb.Magic:x8}, not 0x{DaxFsConstants.SuperMagic:x8}.");

    public static FormatProblem? Version(in Superblock sb) => sb.Version == DaxFsConstants.Version ? null
        : new(RuleIds.SuperVersion, Superblock.Offsets.Version,
            $"The superblock version is {sb.Version}; the kernel mounts version {DaxFsConstants.Version} only.");

    public static FormatProblem? HasBase(in Superblock sb) => sb.BaseOffset != 0 ? null
        : new(RuleIds.SuperNoBase, Superblock.Offsets.BaseOffset, "The image has no base image (base_offset is 0).");

    public static FormatProblem? BaseMagic(in BaseSuperblock b, ulong baseOffset) => b.Magic == DaxFsConstants.BaseMagic ? null
        : new(RuleIds.BaseMagic, (long)baseOffset + BaseSuperblock.Offsets.Magic,
            $"The base image magic is 0x{b.Magic:x8}, not 0x{DaxFsConstants.BaseMagic:x8}.");

    public static FormatProblem? BaseVersion(in BaseSuperblock b, ulong baseOffset) => b.Version == DaxFsConstants.Version ? null
        : new(RuleIds.BaseVersion, (long)baseOffset + BaseSuperblock.Offsets.Version,
            $"The base image version is {b.Version}, not {DaxFsConstants.Version}.");

    public static FormatProblem? HasInodes(in BaseSuperblock b, ulong baseOffset) => b.InodeCount != 0 ? null
        : new(RuleIds.BaseNoInodes, (long)baseOffset + BaseSuperblock.Offsets.InodeCount, "The base image has no inodes.");

    /// <summary>The inode table lies inside the base region (the kernel bounds it by the superblock's base_size).</summary>
    public static FormatProblem? InodeTable(in BaseSuperblock b, ulong baseOffset, ulong baseSize)
    {
        UInt128 tableLength = (UInt128)b.InodeCount * DaxFsConstants.InodeSize;
        if (b.InodeOffset <= baseSize && tableLength <= baseSize - b.InodeOffset) return null;
        return new(RuleIds.InodeTableBounds, (long)baseOffset + BaseSuperblock.Offsets.InodeOffset,
            $"The inode table ({b.InodeCount} inodes at base offset 0x{b.InodeOffset:x}) exceeds the base image ({baseSize} bytes).");
    }

    public static FormatProblem? RootRange(in BaseSuperblock b, ulong baseOffset) => b.RootInode >= 1 && b.RootInode <= b.InodeCount ? null
        : new(RuleIds.RootInodeRange, (long)baseOffset + BaseSuperblock.Offsets.RootInode,
            $"The root inode number {b.RootInode} is outside 1..{b.InodeCount}.");

    /// <summary>The root inode (its record at <paramref name="rootRecord"/>) is a directory.</summary>
    public static FormatProblem? RootIsDirectory(uint root, uint rootMode, long rootRecord) =>
        ModeBits.TypeOf(rootMode) == DaxFsItemType.Directory ? null
        : new(RuleIds.RootNotDirectory, rootRecord + BaseInode.Offsets.Mode,
            $"The root inode {root} is not a directory (mode {Convert.ToString(rootMode, 8)}).");
}
