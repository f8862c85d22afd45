namespace DaxFs.Core.Format;

/// <summary>Constants of the DAXFS version 5 on-disk format (see shared FORMAT.md).</summary>
public static class DaxFsConstants
{
    public const uint SuperMagic = 0x64617835;
    public const uint BaseMagic = 0x64646135;
    public const uint PageCacheMagic = 0x70636163;
    public const uint Version = 5;
    public const uint PageCacheVersion = 1;
    public const int BlockSize = 4096;
    public const int SuperblockRecordSize = 4040;
    public const int InodeSize = 64;
    public const int NameMax = 255;
    /// <summary>The size the kernel uses for a directory's <c>size</c> field: entries × 271.</summary>
    public const int DirentSize = 271;
    /// <summary>The real array stride of a dirent: the C struct is padded to 272 bytes.</summary>
    public const int DirentStride = 272;
    public const uint RootInode = 1;
    public const int BranchRecordSize = 128;
    public const int MaxBranches = 256;
    public const int BranchNameMax = 31;
    public const int BranchTableSize = MaxBranches * BranchRecordSize;
    public const long DefaultDeltaSize = 64L * 1024 * 1024;
    /// <summary>Each branch (main included) takes this much of the delta region for its log.</summary>
    public const long BranchLogCapacity = 1024 * 1024;
    public const int PageCacheSlotSize = 16;
    public const uint BaseFlagExternalData = 1;

    public const uint S_IFMT = 0xF000;
    public const uint S_IFSOCK = 0xC000;
    public const uint S_IFLNK = 0xA000;
    public const uint S_IFREG = 0x8000;
    public const uint S_IFBLK = 0x6000;
    public const uint S_IFDIR = 0x4000;
    public const uint S_IFCHR = 0x2000;
    public const uint S_IFIFO = 0x1000;

    public static long AlignUp(long value, long alignment) => (value + alignment - 1) / alignment * alignment;
}

/// <summary>The three layouts an image can have.</summary>
public enum DaxFsImageMode
{
    /// <summary>Superblock and base image only: read-only.</summary>
    Static,
    /// <summary>Format 5: branch table, base image and delta region: copy-on-write branches.</summary>
    Branching,
    /// <summary>Format 5: branching with regular-file data in an external backing file and a page cache region.
    /// Format 8: base metadata, overlay and page cache, regular-file data in a backing file.</summary>
    Split,
    /// <summary>Format 8: base image with file bytes inline and a writable overlay (no page cache).</summary>
    Overlay,
    /// <summary>Format 8: no base; the overlay holds everything, the root included (mkdaxfs --empty).</summary>
    OverlayOnly,
}

/// <summary>File types the format can hold.</summary>
public enum DaxFsItemType
{
    File,
    Directory,
    SymbolicLink,
    /// <summary>Any other S_IFMT value: not valid in an image.</summary>
    Unknown,
}

public static class ModeBits
{
    public static DaxFsItemType TypeOf(uint mode) => (mode & DaxFsConstants.S_IFMT) switch
    {
        DaxFsConstants.S_IFREG => DaxFsItemType.File,
        DaxFsConstants.S_IFDIR => DaxFsItemType.Directory,
        DaxFsConstants.S_IFLNK => DaxFsItemType.SymbolicLink,
        _ => DaxFsItemType.Unknown,
    };

    /// <summary>An <c>ls -l</c> style mode string such as <c>-rwsr-xr-x</c>.</summary>
    public static string ToModeString(uint mode)
    {
        Span<char> c = stackalloc char[10];
        c[0] = (mode & DaxFsConstants.S_IFMT) switch
        {
            DaxFsConstants.S_IFDIR => 'd',
            DaxFsConstants.S_IFLNK => 'l',
            DaxFsConstants.S_IFREG => '-',
            DaxFsConstants.S_IFCHR => 'c',
            DaxFsConstants.S_IFBLK => 'b',
            DaxFsConstants.S_IFIFO => 'p',
            DaxFsConstants.S_IFSOCK => 's',
            _ => '?',
        };
        c[1] = (mode & 0x100) != 0 ? 'r' : '-';
        c[2] = (mode & 0x80) != 0 ? 'w' : '-';
        c[3] = Exec(mode & 0x40, mode & 0x800, 's');
        c[4] = (mode & 0x20) != 0 ? 'r' : '-';
        c[5] = (mode & 0x10) != 0 ? 'w' : '-';
        c[6] = Exec(mode & 0x8, mode & 0x400, 's');
        c[7] = (mode & 0x4) != 0 ? 'r' : '-';
        c[8] = (mode & 0x2) != 0 ? 'w' : '-';
        c[9] = Exec(mode & 0x1, mode & 0x200, 't');
        return new string(c);

        static char Exec(uint x, uint special, char letter) =>
            special != 0 ? (x != 0 ? letter : char.ToUpperInvariant(letter)) : (x != 0 ? 'x' : '-');
    }
}
