using DaxFs.Core.Format;
using DaxFs.Core.Read;

namespace DaxFs;

/// <summary>One entry of an image (output of Get-DaxFsItem).</summary>
public sealed class DaxFsItem
{
    public string Name { get; init; } = string.Empty;
    public string FullName { get; init; } = string.Empty;
    /// <summary>The directory holding the entry, inside the image.</summary>
    public string Directory { get; init; } = string.Empty;
    public DaxFsItemType Type { get; init; }
    public long Size { get; init; }
    /// <summary>The mode as <c>ls -l</c> shows it, e.g. <c>-rwsr-xr-x</c>.</summary>
    public string Mode { get; init; } = string.Empty;
    /// <summary>The numeric st_mode: type bits and permission bits (setuid, setgid, sticky included).</summary>
    public uint UnixMode { get; init; }
    /// <summary>The permission bits only (st_mode &amp; 07777), e.g. 0o4755 = 2541.</summary>
    public uint Permissions => UnixMode & 0xFFF;
    public uint Uid { get; init; }
    public uint Gid { get; init; }
    public ulong Inode { get; init; }
    public uint LinkCount { get; init; }
    public string? Target { get; init; }
    /// <summary>The image file (or device) the entry came from.</summary>
    public string ImagePath { get; init; } = string.Empty;
    /// <summary>The branch whose view this is (null = the base image).</summary>
    public string? Branch { get; init; }
    public int Depth { get; init; }
    /// <summary>
    /// Branch views only: the kernel's readdir lists this name but a lookup of it fails, so it cannot be opened or stat'ed
    /// (a directory removed in the branch, a name made and removed or renamed in the same branch). Get-DaxFsItem reports
    /// such names as warnings, like find does, and outputs no item for them.
    /// </summary>
    internal bool Unreachable { get; init; }

    public override string ToString() => FullName;

    internal static DaxFsItem From(ImageItem i, string imagePath, string? branch = null) => new()
    {
        Name = i.Name,
        FullName = i.FullName,
        Directory = i.ParentPath,
        Type = i.Type,
        Size = i.Inode.Size > long.MaxValue ? long.MaxValue : (long)i.Inode.Size,
        Mode = ModeBits.ToModeString(i.Inode.Mode),
        UnixMode = i.Inode.Mode,
        Uid = i.Inode.Uid,
        Gid = i.Inode.Gid,
        Inode = i.Ino,
        LinkCount = i.Inode.Nlink,
        Target = i.Target,
        ImagePath = imagePath,
        Branch = branch,
        Depth = i.Depth,
        Unreachable = i.Unreachable,
    };
}
