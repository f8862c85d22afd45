using DaxFs.Core.Branches;
using DaxFs.Core.Format;

namespace DaxFs;

/// <summary>The state of a format-8 image's overlay (Get-DaxFsOverlay).</summary>
public sealed class DaxFsOverlay
{
    public string ImagePath { get; init; } = string.Empty;
    public DaxFsImageMode Mode { get; init; }
    /// <summary>Bytes of the pool, handed out (pool_alloc; the kernel never gives any back) and left.</summary>
    public long PoolSize { get; init; }
    public long PoolUsed { get; init; }
    public long PoolFree { get; init; }
    public uint Buckets { get; init; }
    /// <summary>Buckets marked used (buckets are never released).</summary>
    public int BucketsUsed { get; init; }
    public int InodeEntries { get; init; }
    public int DataPages { get; init; }
    /// <summary>DIRENT entries, tombstones included.</summary>
    public int Dirents { get; init; }
    public int Tombstones { get; init; }
    public int DirectoryLists { get; init; }
    /// <summary>The inode number the next create takes (next_ino).</summary>
    public long NextInode { get; init; }
    /// <summary>Entries on the INODE, DATA and DIRENT free lists (the kernel frees only entries that lost a race between writers).</summary>
    public int FreeInodes { get; init; }
    public int FreeDataPages { get; init; }
    public int FreeDirents { get; init; }
    /// <summary>Base files whose overlay page holds bytes past the size a mount shows ("PATH: N bytes past SIZE"): appends the kernel lost at remount.</summary>
    public string[] LostAppends { get; init; } = Array.Empty<string>();

    public override string ToString() => ImagePath;
}

/// <summary>One path a format-8 overlay changed against its base (Compare-DaxFsOverlay).</summary>
public sealed class DaxFsOverlayChange
{
    public string Path { get; init; } = string.Empty;
    /// <summary>Added, Removed, Modified (type, size, content or symlink target) or Attributes (mode or owner only).</summary>
    public BranchChangeKind Change { get; init; }
    public DaxFsItemType Type { get; init; }
    public string Details { get; init; } = string.Empty;
    /// <summary>The item in the base (null when Added, and for every path of an overlay-only image).</summary>
    public DaxFsItem? Before { get; init; }
    /// <summary>The item as a mount shows it (null when Removed).</summary>
    public DaxFsItem? After { get; init; }
    public string ImagePath { get; init; } = string.Empty;

    public override string ToString() => $"{Change} {Path}";
}
