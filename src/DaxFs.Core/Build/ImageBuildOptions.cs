using DaxFs.Core.Errors;
using DaxFs.Core.Format;

namespace DaxFs.Core.Build;

/// <summary>Whose ownership the image records.</summary>
public enum OwnerMode
{
    /// <summary>uid and gid as in the source tree.</summary>
    Keep,
    /// <summary>Everything owned by root (0:0), as for a root filesystem built by an unprivileged user.</summary>
    Root,
}

/// <summary>What <see cref="ImageBuilder"/> builds, and from what.</summary>
public sealed class ImageBuildOptions
{
    /// <summary>The source directory (not used for an overlay-only image; for an <see cref="Archive"/> build: the archive, as messages name it).</summary>
    public string SourcePath { get; init; } = string.Empty;

    /// <summary>Build from a tarball or container image instead of a directory: its entries come from the tar headers, its file data streams from the archive.</summary>
    public ArchiveSource? Archive { get; init; }

    /// <summary>The image file to write.</summary>
    public required string Destination { get; init; }

    /// <summary>The on-disk generation to write: <see cref="DaxFsFormat.Format5"/> (default) or <see cref="DaxFsFormat.Format8"/>.</summary>
    public DaxFsFormat Format { get; init; } = DaxFsFormat.Format5;

    /// <summary>Static (default), Split (which needs <see cref="BackingFile"/>), format 5's Branching, or format 8's
    /// OverlayOnly (no base: an empty root in the overlay, no source tree).</summary>
    public DaxFsImageMode Mode { get; init; } = DaxFsImageMode.Static;

    /// <summary>Format 8: block_size, the page size of the machine that mounts the image (default: this machine's,
    /// <see cref="Environment.SystemPageSize"/>). Format 5 always uses 4096.</summary>
    public uint? BlockSize { get; init; }

    /// <summary>Format 8, split and overlay-only images: bytes of the overlay pool (a multiple of the block size; default 64 MiB).</summary>
    public long? OverlayPoolSize { get; init; }

    /// <summary>Format 8, split and overlay-only images: buckets of the overlay hash table (a power of two; default 65536).</summary>
    public uint? OverlayBuckets { get; init; }

    /// <summary>Format 5: delta region bytes for branching and split images (block multiple).</summary>
    public long DeltaSize { get; init; } = DaxFsConstants.DefaultDeltaSize;

    /// <summary>Split mode: the file that receives regular-file data.</summary>
    public string? BackingFile { get; init; }

    /// <summary>Split mode: page cache slots (a power of two); 0 picks the largest power of two not above the backing pages, at least 16.</summary>
    public uint PageCacheSlots { get; init; }

    /// <summary>Wildcards (* ? [..]) on paths relative to the root; a pattern without '/' matches any entry's name.</summary>
    public IReadOnlyList<string> Exclude { get; init; } = Array.Empty<string>();

    public OwnerMode Owner { get; init; } = OwnerMode.Keep;

    /// <summary>Overrides every uid when set (after <see cref="Owner"/>).</summary>
    public uint? Uid { get; init; }

    /// <summary>Overrides every gid when set (after <see cref="Owner"/>).</summary>
    public uint? Gid { get; init; }

    /// <summary>Leave out FIFOs, sockets and device nodes with a warning instead of failing.</summary>
    public bool SkipUnsupported { get; init; }

    /// <summary>Replace an existing destination (only once the new image is complete).</summary>
    public bool Overwrite { get; init; }

    /// <summary>Tests: threads writing data (default: up to 4, by core count) and the entry count from which they are used.</summary>
    internal int? Workers { get; init; }
    internal int? ParallelThreshold { get; init; }
    /// <summary>Tests: false writes the image through the page cache only (by default its objects are written with direct
    /// I/O where the file system allows it; the bytes are the same).</summary>
    internal bool DirectWrites { get; init; } = true;
    /// <summary>Tests: false reads every tarball's headers with System.Formats.Tar (by default an uncompressed tarball's
    /// common headers are read by <see cref="TarHeaderScanner"/>; the tree is the same).</summary>
    internal bool ScanTarHeaders { get; init; } = true;
}

/// <summary>Progress of a build: entries and bytes written so far; the current path is made only when read.</summary>
public readonly struct BuildProgress(long itemsDone, long itemsTotal, long bytesDone, long bytesTotal, Func<string>? currentPath)
{
    public long ItemsDone { get; } = itemsDone;
    public long ItemsTotal { get; } = itemsTotal;
    public long BytesDone { get; } = bytesDone;
    public long BytesTotal { get; } = bytesTotal;
    public string? CurrentPath => currentPath?.Invoke();
}

/// <summary>A warning the build produced (a skipped special file, a small delta region...). <see cref="NextStep"/> is what to
/// do about it when that is a command of the module (the module words it after <see cref="Message"/>).</summary>
public sealed record BuildWarning(string Id, string Message, string? Path, NextStep NextStep = NextStep.None);

/// <summary>What a build would write, known after the scan and before any byte is written.</summary>
public sealed class ImageBuildPlan
{
    public required DaxFsFormat Format { get; init; }
    public required DaxFsImageMode Mode { get; init; }
    /// <summary>The image's block_size (format 5: 4096; format 8: the page size it was built for).</summary>
    public required uint BlockSize { get; init; }
    /// <summary>Format 8: bytes of the overlay pool and buckets of its hash table (0 without an overlay).</summary>
    public long OverlayPoolSize { get; init; }
    public uint OverlayBuckets { get; init; }
    public required uint InodeCount { get; init; }
    public required long FileCount { get; init; }
    public required long DirectoryCount { get; init; }
    public required long SymlinkCount { get; init; }
    /// <summary>Bytes of regular-file content (each hard-linked file counted once).</summary>
    public required long DataBytes { get; init; }
    public required long BaseSize { get; init; }
    /// <summary>The image's total_size (the file's length).</summary>
    public required long TotalSize { get; init; }
    /// <summary>Split mode: bytes of the backing file; 0 otherwise.</summary>
    public required long BackingSize { get; init; }
    public required uint PageCacheSlots { get; init; }
    public required IReadOnlyList<BuildWarning> Warnings { get; init; }
    /// <summary>Names that are further names of an inode (hard links; each shares its first name's inode and data).</summary>
    public long HardLinkNames { get; init; }
    /// <summary>Entries left out by the exclusions (an excluded directory counts once).</summary>
    public long ExcludedCount { get; init; }
    /// <summary>FIFOs, sockets and device nodes left out (SkipUnsupported).</summary>
    public long SkippedCount { get; init; }
    /// <summary>Sparse regular files (64 KiB or more of holes) and the hole bytes the image stores as zeros.</summary>
    public long SparseFileCount { get; init; }
    public long SparseBytes { get; init; }
    /// <summary>How long reading the source tree took.</summary>
    public TimeSpan ScanTime { get; init; }
    /// <summary>How long laying the image out took.</summary>
    public TimeSpan LayoutTime { get; init; }
}

/// <summary>The outcome of a successful build.</summary>
public sealed class ImageBuildResult
{
    public required string Destination { get; init; }
    public string? BackingFile { get; init; }
    public required ImageBuildPlan Plan { get; init; }
    public IReadOnlyList<BuildWarning> Warnings => Plan.Warnings;
    /// <summary>Temporary files of earlier, killed builds of the same destination: removed, or only found.</summary>
    public IReadOnlyList<StaleTemporaryFile> StaleTemporaryFiles { get; init; } = Array.Empty<StaleTemporaryFile>();
}

public enum BuildErrorKind
{
    SourceNotFound,
    SourceNotDirectory,
    DestinationExists,
    DestinationInsideSource,
    InvalidOption,
    Unreadable,
    UnsupportedFileType,
    FileChanged,
    TooManyInodes,
    DiskFull,
    WriteFailed,
    /// <summary>A tarball or layer is not a tar stream this reader understands (or a container image is malformed).</summary>
    ArchiveInvalid,
    /// <summary>A tar or compressed stream stops early, or a member claims more bytes than the archive holds.</summary>
    ArchiveTruncated,
    /// <summary>A member named by an absolute path or one that climbs out with "..".</summary>
    UnsafeMemberPath,
    /// <summary>A member below a symbolic link that the archive made.</summary>
    MemberThroughSymlink,
    /// <summary>The same name twice in one tarball or layer.</summary>
    DuplicateMember,
    /// <summary>A hard link whose target is missing, a directory, or comes later in the archive.</summary>
    HardLinkTargetMissing,
    /// <summary>A whiteout of a name no lower layer has.</summary>
    WhiteoutTargetMissing,
    /// <summary>A blob whose SHA-256 (or size) is not the one its descriptor gives.</summary>
    DigestMismatch,
    /// <summary>A blob the index or manifest names is not in the layout or archive.</summary>
    BlobMissing,
    /// <summary>No image of the asked tag and platform in the layout or archive.</summary>
    ManifestNotFound,
    /// <summary>Several images fit the asked tag and platform.</summary>
    ManifestAmbiguous,
}

/// <summary>A build that cannot go on; <see cref="Paths"/> names every offending source path.</summary>
public sealed class DaxFsBuildException : Exception
{
    public DaxFsBuildException(BuildErrorKind kind, string message, IReadOnlyList<string>? paths = null, Exception? inner = null)
        : base(message, inner)
    {
        Kind = kind;
        Paths = paths ?? Array.Empty<string>();
    }

    public BuildErrorKind Kind { get; }
    public IReadOnlyList<string> Paths { get; }

    /// <summary>What to do next when it is a command of the module; the module words it (<see cref="WithNextStep"/>).</summary>
    public NextStep NextStep { get; init; }

    /// <summary>What the next step acts on (a folder to leave out, a platform to ask for).</summary>
    public string? NextStepSubject { get; init; }

    /// <summary>This error with <paramref name="text"/> (the worded <see cref="NextStep"/>) after its message: the same kind,
    /// paths and inner exception, its next step done.</summary>
    public DaxFsBuildException WithNextStep(string text)
    {
        var copy = new DaxFsBuildException(Kind, Message.TrimEnd() + " " + text.Trim(), Paths, InnerException) { NextStepSubject = NextStepSubject };
        foreach (System.Collections.DictionaryEntry e in Data) copy.Data[e.Key] = e.Value;
        return copy;
    }
}
