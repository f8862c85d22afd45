namespace DaxFs.Core.Format;

/// <summary>How the kernel treats an image that breaks a rule.</summary>
public enum KernelVerdict
{
    /// <summary>The kernel refuses to mount it, even without <c>validate</c> (the two magics/versions).</summary>
    AlwaysRejects,
    /// <summary>Only a mount with the <c>validate</c> option refuses it; without it the kernel trusts the image.</summary>
    RejectsWithValidate,
    /// <summary>The kernel does not check this: it is one of DaxFs's own rules.</summary>
    NotChecked,
}

/// <summary>How serious a finding is for DaxFs.</summary>
public enum FindingSeverity
{
    /// <summary>Unsafe or wrong to mount or read: reads could crash a kernel or show wrong data.</summary>
    Error,
    /// <summary>Bookkeeping the kernel's <c>validate</c> insists on, or oddities that do not endanger a reader.</summary>
    Warning,
}

/// <summary>One rule of the catalogue.</summary>
public sealed record RuleInfo(string Id, FindingSeverity Severity, KernelVerdict Kernel, string Description);

/// <summary>
/// Stable rule ids shared by the reader's <see cref="DaxFsFormatException"/> and the validator's findings.
/// Ids never change meaning once released; new rules get new ids.
/// </summary>
public static class RuleIds
{
    // Superblock and regions
    public const string ImageTruncated = "IMG-TRUNCATED";
    public const string SuperMagic = "SB-MAGIC";
    public const string SuperVersion = "SB-VERSION";
    public const string SuperBlockSize = "SB-BLOCKSIZE";
    public const string SuperTotalSize = "SB-TOTALSIZE";
    public const string SuperNoBase = "SB-NOBASE";
    public const string BaseRegionBounds = "SB-BASE-BOUNDS";
    public const string BranchTableBounds = "SB-BRANCHTABLE-BOUNDS";
    public const string DeltaRegionBounds = "SB-DELTA-BOUNDS";
    public const string PageCacheBounds = "SB-PCACHE-BOUNDS";
    public const string PageCacheSlotCount = "SB-PCACHE-SLOTS";
    public const string PageCacheTooSmall = "SB-PCACHE-SIZE";
    public const string RegionOverlapsSuper = "SB-OVERLAP-SUPER";
    public const string RegionsOverlap = "SB-OVERLAP";
    public const string BranchTableEntries = "SB-BRANCHTABLE-ENTRIES";
    public const string PageCacheHeader = "PC-HEADER";

    // Base image
    public const string BaseMagic = "BASE-MAGIC";
    public const string BaseVersion = "BASE-VERSION";
    public const string BaseTotalSize = "BASE-TOTALSIZE";
    public const string BaseNoInodes = "BASE-NOINODES";
    public const string InodeTableBounds = "BASE-INODETABLE-BOUNDS";
    public const string RootInodeRange = "BASE-ROOT-RANGE";
    public const string RootNotDirectory = "BASE-ROOT-NOTDIR";

    // Inodes and data
    public const string InodeType = "INODE-TYPE";
    public const string InodeDataBounds = "INODE-DATA-BOUNDS";
    public const string InodeNumber = "INODE-NUMBER";
    public const string DirSize = "DIR-SIZE";
    public const string DirTooManyEntries = "DIR-ENTRIES";
    public const string DirentIno = "DIRENT-INO";
    public const string DirentNameLength = "DIRENT-NAMELEN";
    public const string DirentDuplicate = "DIRENT-DUPLICATE";
    public const string DirentEmptyName = "DIRENT-EMPTYNAME";
    public const string DirentBadName = "DIRENT-BADNAME";
    public const string DirentMode = "DIRENT-MODE";
    public const string DirentStride = "DIRENT-STRIDE";
    public const string SymlinkTermination = "SYMLINK-NUL";
    public const string SymlinkTooLong = "SYMLINK-LONG";
    public const string NlinkMismatch = "NLINK-MISMATCH";
    public const string NlinkNotFile = "NLINK-NOTFILE";
    public const string NlinkZero = "NLINK-ZERO";
    public const string InodeEmptySlot = "INODE-EMPTY";
    public const string TreeCycle = "TREE-CYCLE";
    public const string TreeMultipleParents = "TREE-MULTIPARENT";
    public const string TreeUnreachable = "TREE-UNREACHABLE";
    public const string ExternalData = "BASE-EXTERNAL";

    // Branches and delta logs
    public const string BranchState = "BRANCH-STATE";
    public const string BranchName = "BRANCH-NAME";
    public const string BranchParent = "BRANCH-PARENT";
    public const string BranchCycle = "BRANCH-CYCLE";
    public const string BranchLogBounds = "BRANCH-LOG-BOUNDS";
    public const string BranchDuplicate = "BRANCH-DUPLICATE";
    public const string DeltaEntry = "DELTA-ENTRY";

    // Added with the validator (facts from the kernel source: see Validate/ImageValidator.cs)
    public const string DeltaAllocOffset = "SB-DELTA-ALLOC";
    public const string SplitModeMismatch = "SB-SPLIT-MODE";
    public const string PageCacheLayout = "PC-LAYOUT";
    public const string DirOverlap = "DIR-OVERLAP";
    public const string SplitDataKernelBounds = "INODE-DATA-SPLIT";
    public const string ImageTooLarge = "IMG-LIMIT";

    // Added with the mount gate (what the kernel dereferences without a check: super.c, inode.c, delta.c)
    public const string RootNotInodeOne = "BASE-ROOT-ONE";
    public const string SymlinkEmpty = "SYMLINK-EMPTY";
    public const string DeltaSymlinkTermination = "DELTA-SYMLINK-NUL";

    // Added with crash-consistent writes (DaxFs's own write-in-progress header: see Format/IncompleteWrite.cs)
    public const string IncompleteWrite = "IMG-INCOMPLETE-WRITE";
    // Added with the uncapped checks: the list of findings was cut short (every rule still ran)
    public const string FindingsTruncated = "FINDINGS-TRUNCATED";
    // Format 8 (shared FORMAT-V8.md): the superblock's geometry, the overlay and the page cache v2
    public const string V8PageSize = "SB8-PAGESIZE";
    public const string V8Reserved = "SB8-RESERVED";
    public const string V8NoRoot = "SB8-NOROOT";
    public const string OverlayBounds = "SB8-OVERLAY-BOUNDS";
    public const string OverlayBucketCount = "SB8-OVERLAY-BUCKETS";
    public const string OverlayTooSmall = "SB8-OVERLAY-SIZE";
    public const string PageCacheV2Magic = "PC2-MAGIC";
    public const string OverlayMagic = "OVL-MAGIC";
    public const string OverlayVersion = "OVL-VERSION";
    public const string OverlayLayout = "OVL-LAYOUT";
    public const string OverlayBucketValue = "OVL-BUCKET-BOUNDS";
    public const string OverlayEntryType = "OVL-ENTRY-TYPE";
    public const string OverlayKeyMismatch = "OVL-KEY-MISMATCH";
    public const string OverlayDirentName = "OVL-DIRENT-NAME";
    public const string OverlayChainCycle = "OVL-CHAIN-CYCLE";
    public const string OverlayDirListCycle = "OVL-DIRLIST-CYCLE";
    public const string OverlayFreeList = "OVL-FREELIST";
    public const string OverlayNextIno = "OVL-NEXTINO";
    public const string OverlaySymlinkTarget = "OVL-SYMLINK";
    public const string OverlayLostAppend = "OVL-LOST-APPEND";
    public const string V8BackingPage = "INODE8-BACKING-PAGE";

    private static readonly RuleInfo[] s_all =
    {
        new(ImageTruncated, FindingSeverity.Error, KernelVerdict.NotChecked, "The image is shorter than a structure it declares (reading past the end would crash the kernel)."),
        new(SuperMagic, FindingSeverity.Error, KernelVerdict.AlwaysRejects, "Superblock magic is 0x64617835."),
        new(SuperVersion, FindingSeverity.Error, KernelVerdict.AlwaysRejects, $"Superblock version is {DaxFsConstants.Version}."),
        new(SuperBlockSize, FindingSeverity.Warning, KernelVerdict.NotChecked, "Superblock block_size is 4096."),
        new(SuperTotalSize, FindingSeverity.Error, KernelVerdict.NotChecked, "total_size is no larger than the memory holding the image (a size= below it crashes the kernel)."),
        new(SuperNoBase, FindingSeverity.Error, KernelVerdict.NotChecked, "The image has a base image (base_offset is not 0)."),
        new(BaseRegionBounds, FindingSeverity.Error, KernelVerdict.RejectsWithValidate, "The base image region lies inside the image."),
        new(BranchTableBounds, FindingSeverity.Error, KernelVerdict.RejectsWithValidate, "The branch table lies inside the image."),
        new(DeltaRegionBounds, FindingSeverity.Error, KernelVerdict.RejectsWithValidate, "The delta region lies inside the image."),
        new(PageCacheBounds, FindingSeverity.Error, KernelVerdict.RejectsWithValidate, "The page cache region lies inside the image."),
        new(PageCacheSlotCount, FindingSeverity.Error, KernelVerdict.RejectsWithValidate, "The page cache slot count is a power of two."),
        new(PageCacheTooSmall, FindingSeverity.Error, KernelVerdict.RejectsWithValidate, "The page cache region holds its header, slot records and data."),
        new(RegionOverlapsSuper, FindingSeverity.Error, KernelVerdict.RejectsWithValidate, "No region overlaps the superblock."),
        new(RegionsOverlap, FindingSeverity.Error, KernelVerdict.RejectsWithValidate, "No two regions overlap."),
        new(BranchTableEntries, FindingSeverity.Error, KernelVerdict.NotChecked, "branch_table_entries is 0 (static) or at most 256 with a branch table."),
        new(PageCacheHeader, FindingSeverity.Warning, KernelVerdict.NotChecked, "The page cache header has its magic, version and the superblock's slot count."),
        new(BaseMagic, FindingSeverity.Error, KernelVerdict.RejectsWithValidate, "Base image magic is 0x64646135."),
        new(BaseVersion, FindingSeverity.Error, KernelVerdict.RejectsWithValidate, $"Base image version is {DaxFsConstants.Version}."),
        new(BaseTotalSize, FindingSeverity.Error, KernelVerdict.RejectsWithValidate, "The base image's total_size is no larger than the superblock's base_size."),
        new(BaseNoInodes, FindingSeverity.Error, KernelVerdict.RejectsWithValidate, "The base image has at least one inode."),
        new(InodeTableBounds, FindingSeverity.Error, KernelVerdict.RejectsWithValidate, "The inode table lies inside the base image."),
        new(RootInodeRange, FindingSeverity.Error, KernelVerdict.RejectsWithValidate, "The root inode number is within 1..inode_count."),
        new(RootNotDirectory, FindingSeverity.Error, KernelVerdict.RejectsWithValidate, "The root inode is a directory."),
        new(InodeType, FindingSeverity.Error, KernelVerdict.RejectsWithValidate, "Every inode is a regular file, a directory or a symlink."),
        new(InodeEmptySlot, FindingSeverity.Warning, KernelVerdict.RejectsWithValidate, "An all-zero inode record is named by no dirent (mkdaxfs leaves one for each extra name of a hard-linked file): the kernel never reads it, but its validate refuses it as file type 00. A dirent naming such a record is INODE-TYPE."),
        new(InodeDataBounds, FindingSeverity.Error, KernelVerdict.RejectsWithValidate, "Every non-empty object's data lies inside the base image (or, in split mode, regular files inside the backing file)."),
        new(InodeNumber, FindingSeverity.Warning, KernelVerdict.NotChecked, "Inode record n carries ino n."),
        new(DirSize, FindingSeverity.Error, KernelVerdict.RejectsWithValidate, "A directory's size is a multiple of 271."),
        new(DirTooManyEntries, FindingSeverity.Error, KernelVerdict.RejectsWithValidate, "A directory has at most 2^32-1 entries."),
        new(DirentIno, FindingSeverity.Error, KernelVerdict.RejectsWithValidate, "Every dirent names an inode within 1..inode_count."),
        new(DirentNameLength, FindingSeverity.Error, KernelVerdict.RejectsWithValidate, "Every dirent's name_len is at most 255."),
        new(DirentDuplicate, FindingSeverity.Error, KernelVerdict.RejectsWithValidate, "Names in one directory are unique."),
        new(DirentEmptyName, FindingSeverity.Error, KernelVerdict.NotChecked, "No dirent has an empty name."),
        new(DirentBadName, FindingSeverity.Error, KernelVerdict.NotChecked, "No dirent name is '.', '..' or contains '/' or NUL."),
        new(DirentMode, FindingSeverity.Warning, KernelVerdict.NotChecked, "A dirent's mode equals its inode's mode."),
        new(DirentStride, FindingSeverity.Error, KernelVerdict.NotChecked, "A directory's last dirent (272-byte stride) does not overlap another object's data."),
        new(SymlinkTermination, FindingSeverity.Error, KernelVerdict.RejectsWithValidate, "A symlink's target has a NUL within size+1 bytes, inside the base image."),
        new(SymlinkTooLong, FindingSeverity.Error, KernelVerdict.NotChecked, "A symlink's target (the bytes before its NUL) is at most 4095 bytes, as PATH_MAX allows."),
        new(NlinkMismatch, FindingSeverity.Warning, KernelVerdict.RejectsWithValidate, "Each inode's nlink equals the number of dirents naming it."),
        new(NlinkNotFile, FindingSeverity.Warning, KernelVerdict.RejectsWithValidate, "Only regular files have nlink > 1."),
        new(NlinkZero, FindingSeverity.Warning, KernelVerdict.RejectsWithValidate, "No inode has nlink 0."),
        new(TreeCycle, FindingSeverity.Error, KernelVerdict.NotChecked, "No directory contains itself or an ancestor."),
        new(TreeMultipleParents, FindingSeverity.Error, KernelVerdict.NotChecked, "No directory is named by two dirents."),
        new(TreeUnreachable, FindingSeverity.Warning, KernelVerdict.NotChecked, "Every inode is reachable from the root."),
        new(ExternalData, FindingSeverity.Warning, KernelVerdict.NotChecked, "Regular-file data lives in an external backing file that this check cannot see."),
        new(BranchState, FindingSeverity.Error, KernelVerdict.NotChecked, "Every branch record's state is FREE, ACTIVE, COMMITTED or ABORTED."),
        new(BranchName, FindingSeverity.Error, KernelVerdict.NotChecked, "Every branch name is NUL-terminated within 32 bytes and not empty (the kernel clears the names of aborted and committed branches)."),
        new(BranchParent, FindingSeverity.Error, KernelVerdict.NotChecked, "Every branch's parent exists in the table."),
        new(BranchCycle, FindingSeverity.Error, KernelVerdict.NotChecked, "Branch parents form no cycle."),
        new(BranchLogBounds, FindingSeverity.Error, KernelVerdict.NotChecked, "Every branch's delta log lies inside the delta region and its size is within its capacity."),
        new(BranchDuplicate, FindingSeverity.Warning, KernelVerdict.NotChecked, "Branch ids are unique."),
        new(DeltaEntry, FindingSeverity.Error, KernelVerdict.NotChecked, "Every delta-log entry has a known type and a size that fits its fixed part and the log."),
        new(DeltaAllocOffset, FindingSeverity.Error, KernelVerdict.NotChecked, "delta_alloc_offset lies within the delta region (the kernel allocates branch logs from it without checking)."),
        new(SplitModeMismatch, FindingSeverity.Error, KernelVerdict.NotChecked, "The base image's external-data flag is set exactly when the image has a page cache region (the kernel reads regular files through the page cache whenever one exists)."),
        new(PageCacheLayout, FindingSeverity.Error, KernelVerdict.NotChecked, "The page cache header's slot records and data blocks (at its slot_meta_offset and slot_data_offset, for its slot_count) lie inside the page cache region, after the header block and apart from each other."),
        new(DirOverlap, FindingSeverity.Error, KernelVerdict.NotChecked, "No two directories' dirent arrays overlap."),
        new(SplitDataKernelBounds, FindingSeverity.Warning, KernelVerdict.RejectsWithValidate, "In split mode, a regular file's backing-file extent also fits in the base image's total_size: the kernel's validate checks it against the base image, not the backing file."),
        new(ImageTooLarge, FindingSeverity.Error, KernelVerdict.NotChecked, "The image has more inodes or dirents than the validator can index (about 2^31); those checks were not made."),
        new(RootNotInodeOne, FindingSeverity.Error, KernelVerdict.NotChecked, "root_inode is 1: the kernel always mounts inode 1 as the root directory, whatever root_inode says."),
        new(SymlinkEmpty, FindingSeverity.Error, KernelVerdict.NotChecked, "A symlink's target is not empty (size > 0): the kernel reads an empty symlink's target at its data offset with no bound and no NUL check."),
        new(DeltaSymlinkTermination, FindingSeverity.Error, KernelVerdict.NotChecked, "A delta-log SYMLINK entry's target is followed by a NUL: the kernel hands the target to readers as a C string."),
        new(IncompleteWrite, FindingSeverity.Error, KernelVerdict.AlwaysRejects, "Block 0 does not hold DaxFs's write-in-progress header (the text DAXFSWIP at offset 0): an image write into this memory was interrupted before it finished, so the bytes after it mix the old and the new image. The kernel refuses it (wrong magic); write the image again."),
        new(FindingsTruncated, FindingSeverity.Warning, KernelVerdict.NotChecked, "All findings are listed: when more were made than the limit keeps, this finding counts the rest by rule (every rule ran over the whole image, and errors are listed before warnings)."),
        new(V8PageSize, FindingSeverity.Error, KernelVerdict.AlwaysRejects, "Format 8: block_size is this machine's page size (the kernel refuses any other; a power of two, at least 4096, for any reader)."),
        new(V8Reserved, FindingSeverity.Warning, KernelVerdict.NotChecked, "Format 8: the superblock's reserved field and bytes 112..4095 are zero."),
        new(V8NoRoot, FindingSeverity.Error, KernelVerdict.AlwaysRejects, "Format 8: inode 1 (the root) is resolvable: a base inode, or an overlay INODE entry when the image has no base."),
        new(OverlayBounds, FindingSeverity.Error, KernelVerdict.RejectsWithValidate, "Format 8: the overlay region lies inside the image."),
        new(OverlayBucketCount, FindingSeverity.Error, KernelVerdict.RejectsWithValidate, "Format 8: the overlay bucket count is a power of two."),
        new(OverlayTooSmall, FindingSeverity.Error, KernelVerdict.RejectsWithValidate, "Format 8: overlay_size holds the header block and the bucket table; pcache_size holds the header block, slot records and slot pages; the page cache has at least 8 slots."),
        new(PageCacheV2Magic, FindingSeverity.Error, KernelVerdict.AlwaysRejects, "Format 8: the page cache header's magic is 0x70636163 (its version, 2, is not checked by the kernel)."),
        new(OverlayMagic, FindingSeverity.Error, KernelVerdict.AlwaysRejects, "Format 8: the overlay header's magic is 0x6f766c79."),
        new(OverlayVersion, FindingSeverity.Error, KernelVerdict.AlwaysRejects, "Format 8: the overlay header's version is 2."),
        new(OverlayLayout, FindingSeverity.Error, KernelVerdict.NotChecked, "Format 8: the overlay header's bucket table and pool (bucket_offset, pool_offset, pool_size, pool_alloc) lie inside the overlay region, apart and after the header (the kernel indexes them unchecked)."),
        new(OverlayBucketValue, FindingSeverity.Error, KernelVerdict.NotChecked, "Format 8: every used bucket points at a whole entry inside the pool's used bytes."),
        new(OverlayEntryType, FindingSeverity.Error, KernelVerdict.NotChecked, "Format 8: every entry a bucket points at has the type its key says (INODE 1, DIRENT 3, DIRLIST 4)."),
        new(OverlayKeyMismatch, FindingSeverity.Error, KernelVerdict.NotChecked, "Format 8: every used bucket is reachable from its key's home bucket and holds its key once; every DIRENT in a chain hashes to the chain's key."),
        new(OverlayDirentName, FindingSeverity.Error, KernelVerdict.NotChecked, "Format 8: an overlay dirent's name is 1..255 bytes, NUL-terminated, without '/', not '.' or '..'; a live one names an inode that resolves."),
        new(OverlayChainCycle, FindingSeverity.Error, KernelVerdict.NotChecked, "Format 8: no dirent hash chain (next) loops or leaves the pool."),
        new(OverlayDirListCycle, FindingSeverity.Error, KernelVerdict.NotChecked, "Format 8: no directory list (dir_next) loops or leaves the pool."),
        new(OverlayFreeList, FindingSeverity.Error, KernelVerdict.NotChecked, "Format 8: each free list is empty or a chain of entries inside the pool without a loop."),
        new(OverlayNextIno, FindingSeverity.Error, KernelVerdict.NotChecked, "Format 8: next_ino is above every inode the image holds (else new files reuse an existing inode number)."),
        new(OverlaySymlinkTarget, FindingSeverity.Error, KernelVerdict.NotChecked, "Format 8: an overlay symlink's target (DATA page 0) is NUL-terminated within the page."),
        new(V8BackingPage, FindingSeverity.Error, KernelVerdict.RejectsWithValidate, "Format 8, split: a regular file's last backing page is at most 0xFFFFD (the page cache tags pages ino << 20 | page)."),
        new(OverlayLostAppend, FindingSeverity.Warning, KernelVerdict.NotChecked, "Format 8: a base file's overlay page holds bytes past its size that a mount does not show (the kernel stores a new size only in an existing INODE entry: an append to a base file is lost at remount)."),
    };

    private static readonly Dictionary<string, RuleInfo> s_byId = s_all.ToDictionary(r => r.Id, StringComparer.Ordinal);

    /// <summary>Every rule, in catalogue order.</summary>
    public static IReadOnlyList<RuleInfo> All => s_all;

    /// <summary>The rule with this id.</summary>
    public static RuleInfo Get(string id) => s_byId.TryGetValue(id, out var r) ? r : throw new KeyNotFoundException($"Unknown rule id '{id}'.");
}
