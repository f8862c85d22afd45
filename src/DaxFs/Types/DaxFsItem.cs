using DaxFs.Core.Format;
using DaxFs.Core.Read;

namespace DaxFs;

/// <summary>One entry of an image (output of Get-DaxFsItem).</summary>
/// <remarks>
/// Get-DaxFsItem -Recurse makes one per entry, so the strings (Name, FullName, Directory, Mode, Target) are made from the
/// engine's item when first read, not for every entry listed.
/// </remarks>
public sealed class DaxFsItem
{
    private readonly ImageItem? _item;
    private string? _name, _fullName, _directory, _mode, _target, _type;
    private bool _targetSet;

    public DaxFsItem() { }

    private DaxFsItem(ImageItem item) => _item = item;

    public string Name { get => _name ??= _item?.Name ?? string.Empty; init => _name = value; }
    public string FullName { get => _fullName ??= _item?.FullName ?? string.Empty; init => _fullName = value; }
    /// <summary>The directory holding the entry, inside the image.</summary>
    public string Directory { get => _directory ??= _item?.ParentPath ?? string.Empty; init => _directory = value; }
    /// <summary>File, Directory, SymbolicLink, ... (a <see cref="DaxFsItemType"/> name, so that ConvertTo-Json writes it readably).</summary>
    public string Type { get => _type ??= ItemType.ToString(); init => _type = value; }
    /// <summary>The type as the enum (for code); <see cref="Type"/> is its name.</summary>
    internal DaxFsItemType ItemType { get; init; }
    public long Size { get; init; }
    /// <summary>The mode as <c>ls -l</c> shows it, e.g. <c>-rwsr-xr-x</c>.</summary>
    public string Mode { get => _mode ??= _item is null ? string.Empty : ModeBits.ToModeString(UnixMode); init => _mode = value; }
    /// <summary>The numeric st_mode: type bits and permission bits (setuid, setgid, sticky included).</summary>
    public uint UnixMode { get; init; }
    /// <summary>The permission bits only (st_mode &amp; 07777), e.g. 0o4755 = 2541.</summary>
    public uint Permissions => UnixMode & 0xFFF;
    public uint Uid { get; init; }
    public uint Gid { get; init; }
    public ulong Inode { get; init; }
    public uint LinkCount { get; init; }
    public string? Target
    {
        get
        {
            if (!_targetSet) { _target = _item?.Target; _targetSet = true; }
            return _target;
        }
        init { _target = value; _targetSet = true; }
    }
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

    /// <summary>The path as the image stores it (raw bytes, also for names that are not UTF-8, whose FullName shows U+FFFD).</summary>
    internal byte[] FullNameBytes => _item?.FullNameBytes ?? System.Text.Encoding.UTF8.GetBytes(FullName);

    internal static DaxFsItem From(ImageItem i, string imagePath, string? branch = null)
    {
        var inode = i.Inode;
        return new(i)
        {
            ItemType = ModeBits.TypeOf(inode.Mode),
            Size = inode.Size > long.MaxValue ? long.MaxValue : (long)inode.Size,
            UnixMode = inode.Mode,
            Uid = inode.Uid,
            Gid = inode.Gid,
            Inode = i.Ino,
            LinkCount = inode.Nlink,
            ImagePath = imagePath,
            Branch = branch,
            Depth = i.Depth,
            Unreachable = i.Unreachable,
        };
    }
}
