using DaxFs.Core.Format;
using DaxFs.Core.Read;

namespace DaxFs;

/// <summary>Where the bytes of an image go (output of Measure-DaxFsImage); the Usage bytes add up to Length exactly.</summary>
public sealed class DaxFsImageSpace
{
    public string Path { get; init; } = string.Empty;
    /// <summary>Static, Branching, Split, Overlay or OverlayOnly (a <see cref="DaxFsImageMode"/> name, so that ConvertTo-Json writes it readably).</summary>
    public string Mode { get; init; } = string.Empty;
    /// <summary>Bytes of the file or memory region measured.</summary>
    public long Length { get; init; }
    /// <summary>The superblock's total_size.</summary>
    public long TotalSize { get; init; }
    /// <summary>The block structures are aligned to: 4096 for format 5, block_size (the page size it was built for) for format 8.</summary>
    public long BlockSize { get; init; }
    /// <summary>One row per category, in a fixed order; their Bytes add up to Length.</summary>
    public DaxFsSpaceUsage[] Usage { get; init; } = Array.Empty<DaxFsSpaceUsage>();
    public long Superblock { get; init; }
    public long BranchTable { get; init; }
    public long BaseSuperblock { get; init; }
    public long InodeTable { get; init; }
    public long Directories { get; init; }
    public long FileData { get; init; }
    public long SymlinkTargets { get; init; }
    public long Padding { get; init; }
    public long DeltaUsed { get; init; }
    public long DeltaFree { get; init; }
    /// <summary>Format 8: the overlay's header block and bucket table.</summary>
    public long OverlayIndex { get; init; }
    /// <summary>Format 8: the overlay pool handed out (what read-write mounts wrote).</summary>
    public long OverlayUsed { get; init; }
    /// <summary>Format 8: the overlay pool not yet handed out (room for a read-write mount's writes).</summary>
    public long OverlayFree { get; init; }
    public long PageCache { get; init; }
    public long Trailing { get; init; }
    /// <summary>Sum of the sizes of distinct regular files (each inode once).</summary>
    public long FileBytes { get; init; }
    /// <summary>Split images: regular-file bytes kept in the backing file, outside Length.</summary>
    public long ExternalFileBytes { get; init; }
    public long FileCount { get; init; }
    public long DirectoryCount { get; init; }
    public long SymlinkCount { get; init; }
    /// <summary>Names of regular files beyond the first of each inode (their data is stored once).</summary>
    public long HardLinkNames { get; init; }
    /// <summary>Inode slots holding no object (mkdaxfs leaves one per extra hard-link name).</summary>
    public long EmptyInodes { get; init; }
    /// <summary>The largest regular files (one path per inode), largest first.</summary>
    public DaxFsSpaceEntry[] LargestFiles { get; init; } = Array.Empty<DaxFsSpaceEntry>();
    /// <summary>The directories whose trees hold the most file bytes, largest first (the root is one of them).</summary>
    public DaxFsSpaceEntry[] LargestDirectories { get; init; } = Array.Empty<DaxFsSpaceEntry>();

    public override string ToString() => Path;

    internal static DaxFsImageSpace From(ImageSpaceReport r, string path, DaxFsImageMode mode)
    {
        var usage = r.Usage.Select(u => new DaxFsSpaceUsage
        {
            ImagePath = path,
            Kind = u.Kind.ToString(),
            Bytes = u.Bytes,
            Objects = u.Objects,
            Percent = r.Length == 0 ? 0 : Math.Round(100.0 * u.Bytes / r.Length, 2),
        }).ToArray();
        return new DaxFsImageSpace
        {
            Path = path,
            Mode = mode.ToString(),
            Length = r.Length,
            TotalSize = r.TotalSize,
            BlockSize = r.BlockSize,
            Usage = usage,
            Superblock = r[SpaceKind.Superblock],
            BranchTable = r[SpaceKind.BranchTable],
            BaseSuperblock = r[SpaceKind.BaseSuperblock],
            InodeTable = r[SpaceKind.InodeTable],
            Directories = r[SpaceKind.Directories],
            FileData = r[SpaceKind.FileData],
            SymlinkTargets = r[SpaceKind.SymlinkTargets],
            Padding = r[SpaceKind.Padding],
            DeltaUsed = r[SpaceKind.DeltaUsed],
            DeltaFree = r[SpaceKind.DeltaFree],
            OverlayIndex = r[SpaceKind.OverlayIndex],
            OverlayUsed = r[SpaceKind.OverlayUsed],
            OverlayFree = r[SpaceKind.OverlayFree],
            PageCache = r[SpaceKind.PageCache],
            Trailing = r[SpaceKind.Trailing],
            FileBytes = r.FileBytes,
            ExternalFileBytes = r.ExternalFileBytes,
            FileCount = r.Files,
            DirectoryCount = r.Directories,
            SymlinkCount = r.Symlinks,
            HardLinkNames = r.HardLinkNames,
            EmptyInodes = r.EmptyInodes,
            LargestFiles = r.LargestFiles.Select(e => new DaxFsSpaceEntry { ImagePath = path, Path = e.Path, Bytes = e.Bytes }).ToArray(),
            LargestDirectories = r.LargestDirectories.Select(e => new DaxFsSpaceEntry { ImagePath = path, Path = e.Path, Bytes = e.Bytes, Entries = e.Entries }).ToArray(),
        };
    }
}

/// <summary>The bytes of one category of an image (a row of DaxFsImageSpace.Usage).</summary>
public sealed class DaxFsSpaceUsage
{
    public string ImagePath { get; init; } = string.Empty;
    /// <summary>The category (a <see cref="SpaceKind"/> name, so that ConvertTo-Json writes it readably).</summary>
    public string Kind { get; init; } = string.Empty;
    public long Bytes { get; init; }
    /// <summary>Objects owning the bytes: inodes of the table, files with data, directories with entries, symlinks, branch records, overlay buckets (OverlayIndex) and buckets in use (OverlayUsed), page cache slots.</summary>
    public long Objects { get; init; }
    /// <summary>Share of the image's length, in percent (two decimals).</summary>
    public double Percent { get; init; }

    public override string ToString() => $"{Kind}: {Bytes}";
}

/// <summary>A file or directory among the largest of an image.</summary>
public sealed class DaxFsSpaceEntry
{
    public string ImagePath { get; init; } = string.Empty;
    public string Path { get; init; } = string.Empty;
    /// <summary>A file's size, or the file bytes of a directory's whole tree (each inode once).</summary>
    public long Bytes { get; init; }
    /// <summary>Directories: the entries directly in it.</summary>
    public long Entries { get; init; }

    public override string ToString() => Path;
}
