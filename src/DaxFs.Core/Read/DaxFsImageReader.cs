using System.Text;
using DaxFs.Core.Format;
using DaxFs.Core.Format.V8;

namespace DaxFs.Core.Read;

/// <summary>One entry of an image: a path, its inode record and, for a symlink, its target.</summary>
/// <remarks>
/// A walk makes one of these per entry, so the strings are made when first asked for: an item a walk made keeps its
/// directory's path (shared by its siblings) and its decoded name, and its raw name bytes only when they are not
/// valid UTF-8 (valid UTF-8 encodes back to the same bytes).
/// </remarks>
public sealed class ImageItem
{
    private string? _fullName;
    private string? _name;
    private readonly string? _dirPath;   // the parent's path as a walk carries it ("" for the root), or null when built from a full name
    private byte[]? _nameBytes;
    private byte[]? _fullNameBytes;      // the raw path when known apart from the strings (built from raw bytes)
    private readonly byte[]? _dirBytes;  // the parent's raw path when it is not valid UTF-8 (walks only)

    internal ImageItem(string fullName, byte[] nameBytes, ulong ino, BaseInode inode, byte[]? targetBytes, int depth, long entryOffset = -1, bool unreachable = false, byte[]? fullNameBytes = null)
    {
        _fullName = fullName;
        _fullNameBytes = fullNameBytes;
        _nameBytes = nameBytes;
        Ino = ino;
        Inode = inode;
        TargetBytes = targetBytes;
        Depth = depth;
        EntryOffset = entryOffset;
        Unreachable = unreachable;
    }

    /// <summary>An entry of directory <paramref name="dirPath"/> ("" for the root) named <paramref name="name"/>; <paramref name="nameBytes"/> may be null when the name is valid UTF-8.</summary>
    internal ImageItem(string dirPath, string name, byte[]? nameBytes, ulong ino, in BaseInode inode, byte[]? targetBytes, int depth, long entryOffset, byte[]? dirBytes = null)
    {
        _dirPath = dirPath;
        _dirBytes = dirBytes;
        _name = name;
        _nameBytes = nameBytes;
        Ino = ino;
        Inode = inode;
        TargetBytes = targetBytes;
        Depth = depth;
        EntryOffset = entryOffset;
    }

    /// <summary>Absolute path inside the image, '/' separated; "/" for the root.</summary>
    public string FullName => _fullName ??= string.Concat(_dirPath, "/", _name);
    /// <summary>The name as stored (raw bytes; empty for the root).</summary>
    public byte[] NameBytes => _nameBytes ??= Encoding.UTF8.GetBytes(_name!);
    /// <summary>
    /// The absolute path as raw bytes: what the image stores, also for names that are not UTF-8 (whose <see cref="FullName"/>
    /// shows U+FFFD). Looking this up (<see cref="IImageTree.GetItem(byte[])"/>) finds the entry again.
    /// </summary>
    public byte[] FullNameBytes => _fullNameBytes ??= MakeFullNameBytes();

    /// <summary>True when the name's bytes are not UTF-8 (kept apart from the decoded name).</summary>
    internal bool HasRawName => _nameBytes is not null && (_dirPath is not null || !System.Text.Unicode.Utf8.IsValid(_nameBytes));

    /// <summary>True when the path has bytes that are not UTF-8, so <see cref="FullName"/> cannot name the entry.</summary>
    public bool HasRawPath => !System.Text.Unicode.Utf8.IsValid(FullNameBytes);

    private byte[] MakeFullNameBytes()
    {
        if (_dirPath is null) return _nameBytes is not null && _fullName is not null && _fullName != "/" && !System.Text.Unicode.Utf8.IsValid(_nameBytes)
            ? [.. Encoding.UTF8.GetBytes(ParentPath == "/" ? "" : ParentPath), (byte)'/', .. _nameBytes]
            : Encoding.UTF8.GetBytes(FullName);
        if (_dirBytes is null && _nameBytes is null) return Encoding.UTF8.GetBytes(FullName);
        return [.. _dirBytes ?? Encoding.UTF8.GetBytes(_dirPath), (byte)'/', .. NameBytes];
    }

    /// <summary>The name decoded as UTF-8 (invalid bytes become U+FFFD).</summary>
    public string Name => _name ??= FullName == "/" ? "/" : FullName[(FullName.LastIndexOf('/') + 1)..];
    /// <summary>The parent directory's path ("" for the root).</summary>
    public string ParentPath => _dirPath is not null ? (_dirPath.Length == 0 ? "/" : _dirPath)
        : FullName == "/" ? string.Empty : (FullName.LastIndexOf('/') == 0 ? "/" : FullName[..FullName.LastIndexOf('/')]);
    /// <summary>The inode number (inodes made in a branch are numbered past the base image's).</summary>
    public ulong Ino { get; }
    /// <summary>The attributes: the base inode record, or for a branch view what the kernel shows for the inode (DataOffset is then 0).</summary>
    public BaseInode Inode { get; }
    public DaxFsItemType Type => ModeBits.TypeOf(Inode.Mode);
    public byte[]? TargetBytes { get; }
    public string? Target => TargetBytes is null ? null : Encoding.UTF8.GetString(TargetBytes);
    /// <summary>Levels below the walk's starting directory (children of the start are depth 0).</summary>
    public int Depth { get; }
    /// <summary>Absolute offset of the base dirent that named the entry (-1 when a branch's log named it).</summary>
    public long EntryOffset { get; }
    /// <summary>
    /// Branch views only: the kernel's readdir lists the name but a lookup of it fails (ENOENT), so nothing can open or
    /// stat it — e.g. a directory removed in the branch. <see cref="Inode"/> then holds only the type the listing gives.
    /// </summary>
    public bool Unreachable { get; }
}

/// <summary>
/// What a reader of an image sees: the base image (<see cref="DaxFsImageReader"/>) or a branch's view of it
/// (<see cref="Branches.BranchView"/>). Paths are absolute inside the image, '/' separated.
/// </summary>
public interface IImageTree
{
    /// <summary>The reader of the image underneath.</summary>
    DaxFsImageReader Reader { get; }
    /// <summary>The branch shown (null for the base image).</summary>
    string? BranchName { get; }
    /// <summary>Resolves a path (no symlinks followed) to its inode number.</summary>
    bool TryLookup(string path, out ulong ino);
    /// <summary>The item at a path, or null when a lookup of it fails.</summary>
    ImageItem? GetItem(string path);
    /// <summary>The item at an absolute path given as raw bytes ('/' separated, no "." or ".." resolved; no symlinks followed), or null.</summary>
    ImageItem? GetItem(byte[] path);
    /// <summary>The entries of directory <paramref name="dirIno"/> (whose path is <paramref name="dirPath"/>, "" for the root) as items at <paramref name="depth"/>.</summary>
    IEnumerable<ImageItem> ListDirectory(ulong dirIno, string dirPath, int depth);
    /// <summary>Lists a path like <see cref="DaxFsImageReader.Walk"/>.</summary>
    IEnumerable<ImageItem> Walk(string path = "/", bool recurse = true, int depth = int.MaxValue, CancellationToken cancellationToken = default);
    /// <summary>The target of a symlink (bytes, without a NUL).</summary>
    byte[] ReadSymlinkTarget(ulong ino);
    /// <summary>The content of a regular file as a read-only stream.</summary>
    Stream OpenContent(ulong ino);
}

/// <summary>A raw directory entry.</summary>
public readonly record struct DirectoryEntry(byte[] NameBytes, uint Ino, uint Mode, long Offset)
{
    public string Name => Encoding.UTF8.GetString(NameBytes);
}

/// <summary>
/// Reads a DAXFS image (the format version of <see cref="DaxFsConstants.Version"/>) over a memory window without copying: superblocks, inodes, directories,
/// symlink targets and file content. Every offset taken from the image is checked against the window
/// and the base region before use; a malformed image raises <see cref="DaxFsFormatException"/>.
/// Instances are safe for concurrent readers (no mutable state after opening).
/// </summary>
public sealed class DaxFsImageReader : IImageTree, IDisposable
{
    private static readonly UTF8Encoding s_utf8 = new(false, false);
    private readonly ImageMemory _memory;
    private readonly ulong _baseOffset;
    private readonly ulong _baseSize;
    private readonly ulong _inodeTable;
    private readonly uint _inodeCount;
    private readonly uint _rootInode;
    private readonly Superblock _superblock;
    private readonly BaseSuperblock _base;
    private readonly SuperblockV8 _superblock8;
    private readonly string? _backingFile;

    private DaxFsImageReader(ImageMemory memory, string? backingFile)
    {
        _memory = memory;
        _backingFile = backingFile;
        if (memory.Length >= 8 && ImageFormat.Detect(memory.Span(0, 8)) == DaxFsFormat.Format8)
        {
            Generation = DaxFsFormat.Format8;
            if (memory.Length < SuperblockV8.RecordSize)
                throw new DaxFsFormatException(RuleIds.ImageTruncated, memory.Length,
                    $"The image is {memory.Length} bytes, shorter than its {SuperblockV8.RecordSize}-byte format-8 superblock.");
            var v8 = SuperblockV8.Read(memory.Span(0, SuperblockV8.RecordSize));
            foreach (var problem in HeaderChecksV8.All(v8, (ulong)memory.Length)) throw problem.ToException();
            _superblock8 = v8;
            if (v8.BaseOffset != 0)
            {
                _baseOffset = v8.BaseOffset;
                _baseSize = v8.BaseSize;
                _inodeTable = _baseOffset + v8.InodeOffset;
                _inodeCount = v8.InodeCount;
                _rootInode = DaxFsConstants.RootInode;
                // The kernel always mounts inode 1 as the root; with a base it must be a base directory.
                Throw(HeaderChecks.RootIsDirectory(_rootInode, GetInode(_rootInode).Mode, InodeOffset(_rootInode)));
            }
            return;
        }
        Generation = DaxFsFormat.Format5;
        if (memory.Length < Format.Superblock.RecordSize)
            throw new DaxFsFormatException(RuleIds.ImageTruncated, memory.Length,
                $"The image is {memory.Length} bytes, shorter than its {Format.Superblock.RecordSize}-byte superblock.");
        _superblock = Format.Superblock.Read(memory.Span(0, Format.Superblock.RecordSize));
        if (Superblock.Magic != DaxFsConstants.SuperMagic && IncompleteWrite.IsMarked(memory.Span(0, IncompleteWrite.MarkerLength)))
            throw new DaxFsFormatException(RuleIds.IncompleteWrite, 0,
                "This is not a whole image: an image write into this memory was interrupted before it finished (block 0 holds DaxFs's write-in-progress header). Write the image again.");
        Throw(HeaderChecks.Magic(Superblock));
        Throw(HeaderChecks.Version(Superblock));
        Throw(HeaderChecks.HasBase(Superblock));
        _baseOffset = Superblock.BaseOffset;
        _baseSize = Superblock.BaseSize;
        if (!memory.Contains(_baseOffset, _baseSize) || _baseSize < BaseSuperblock.RecordSize)
            throw new DaxFsFormatException(RuleIds.BaseRegionBounds, Format.Superblock.Offsets.BaseOffset,
                $"The base image (0x{_baseOffset:x}, {_baseSize} bytes) does not lie inside the image ({memory.Length} bytes): the image is truncated or corrupt.");
        _base = BaseSuperblock.Read(memory.Span(_baseOffset, BaseSuperblock.RecordSize));
        _inodeCount = _base.InodeCount;
        _rootInode = _base.RootInode;
        Throw(HeaderChecks.BaseMagic(Base, _baseOffset));
        Throw(HeaderChecks.BaseVersion(Base, _baseOffset));
        Throw(HeaderChecks.HasInodes(Base, _baseOffset));
        Throw(HeaderChecks.InodeTable(Base, _baseOffset, _baseSize));
        _inodeTable = _baseOffset + Base.InodeOffset;
        Throw(HeaderChecks.RootRange(Base, _baseOffset));
        Throw(HeaderChecks.RootIsDirectory(Base.RootInode, GetInode(Base.RootInode).Mode, InodeOffset(Base.RootInode)));
    }

    private static void Throw(FormatProblem? problem)
    {
        if (problem is { } p) throw p.ToException();
    }

    /// <summary>Maps the image file read-only and opens it.</summary>
    /// <param name="backingFile">For split images: the backing file holding regular-file data.</param>
    public static DaxFsImageReader Open(string path, string? backingFile = null)
    {
        var memory = MappedFileImageMemory.Open(path);
        try { return new DaxFsImageReader(memory, backingFile); }
        catch { memory.Dispose(); throw; }
    }

    /// <summary>Opens an image in a memory window; the reader owns and disposes the window.</summary>
    public static DaxFsImageReader Open(ImageMemory memory, string? backingFile = null)
    {
        try { return new DaxFsImageReader(memory, backingFile); }
        catch { memory.Dispose(); throw; }
    }

    public ImageMemory Memory => _memory;
    DaxFsImageReader IImageTree.Reader => this;
    string? IImageTree.BranchName => null;

    bool IImageTree.TryLookup(string path, out ulong ino)
    {
        bool ok = TryLookup(path, out uint i);
        ino = i;
        return ok;
    }

    IEnumerable<ImageItem> IImageTree.ListDirectory(ulong dirIno, string dirPath, int depth)
    {
        if (dirIno < 1 || dirIno > _inodeCount) throw new InvalidOperationException($"Inode {dirIno} is not a directory.");
        var inode = GetInode((uint)dirIno);
        if (ModeBits.TypeOf(inode.Mode) != DaxFsItemType.Directory)
            throw new InvalidOperationException($"Inode {dirIno} is not a directory.");
        ulong count = EntryCount(inode);
        if (count == 0) yield break;
        ulong start = DirectoryStart((uint)dirIno, inode, count);
        for (ulong j = 0; j < count; j++)
            yield return EntryItem((uint)dirIno, j, start + j * DaxFsConstants.DirentStride, dirPath, depth);
    }

    /// <summary>The raw entries of directory <paramref name="dirIno"/> (an <see cref="ImageItem.Ino"/>), in stored order.</summary>
    public IEnumerable<DirectoryEntry> ReadDirectory(ulong dirIno) => ReadDirectory(Narrow(dirIno));

    /// <summary>The bytes of regular file <paramref name="ino"/> (an <see cref="ImageItem.Ino"/>) as a span over the image.</summary>
    public ReadOnlySpan<byte> GetContentSpan(ulong ino) => GetContentSpan(Narrow(ino));

    private uint Narrow(ulong ino) =>
        ino <= uint.MaxValue ? (uint)ino : throw new DaxFsFormatException(RuleIds.DirentIno, -1, $"Inode {ino} is outside 1..{_inodeCount}.");

    /// <summary>The target of symlink <paramref name="ino"/> (bytes, without the NUL).</summary>
    public byte[] ReadSymlinkTarget(ulong ino) =>
        ino is >= 1 and <= uint.MaxValue ? ReadSymlinkTarget((uint)ino) : throw new DaxFsFormatException(RuleIds.DirentIno, -1, $"Inode {ino} is outside 1..{_inodeCount}.");

    /// <summary>A read-only stream over the content of regular file <paramref name="ino"/>.</summary>
    public Stream OpenContent(ulong ino) =>
        ino is >= 1 and <= uint.MaxValue ? OpenContent((uint)ino) : throw new DaxFsFormatException(RuleIds.DirentIno, -1, $"Inode {ino} is outside 1..{_inodeCount}.");
    /// <summary>The on-disk generation of the image (5 or 8).</summary>
    public DaxFsFormat Generation { get; }

    /// <summary>The format-5 superblock; a format-8 image has none (see <see cref="Superblock8"/>).</summary>
    public Superblock Superblock => Generation == DaxFsFormat.Format5 ? _superblock : throw NotFormat(DaxFsFormat.Format5);

    /// <summary>The format-5 base image header; format 8 has none (its geometry is in <see cref="Superblock8"/>).</summary>
    public BaseSuperblock Base => Generation == DaxFsFormat.Format5 ? _base : throw NotFormat(DaxFsFormat.Format5);

    /// <summary>The format-8 superblock.</summary>
    public SuperblockV8 Superblock8 => Generation == DaxFsFormat.Format8 ? _superblock8 : throw NotFormat(DaxFsFormat.Format8);

    private InvalidOperationException NotFormat(DaxFsFormat wanted) =>
        new($"The image is DAXFS format {(int)Generation}, which has no format-{(int)wanted} header.");

    public string? BackingFile => _backingFile;
    /// <summary>Inodes of the base image (0 for a format-8 image without a base).</summary>
    public uint InodeCount => _inodeCount;
    /// <summary>The base image's root inode (format 8: always 1, as the kernel mounts it).</summary>
    public uint RootInode => Generation == DaxFsFormat.Format8 ? DaxFsConstants.RootInode : _rootInode;
    /// <summary>True when the image has base inodes (format 5 always; format 8 unless overlay-only).</summary>
    public bool HasBase => _inodeCount != 0;
    /// <summary>Format 8: the image has an overlay region (a mount of it is read-write).</summary>
    public bool HasOverlay => Generation == DaxFsFormat.Format8 && _superblock8.OverlayOffset != 0;
    /// <summary>Where object data starts, from the base region's start.</summary>
    public ulong BaseDataOffset => Generation == DaxFsFormat.Format8 ? _superblock8.DataOffset : _base.DataOffset;

    /// <summary>
    /// Format 5: static when the superblock declares no branch table; split when regular-file data is external.
    /// Format 8: static without overlay; split with a page cache; overlay-only without a base; else overlay.
    /// </summary>
    public DaxFsImageMode Mode => Generation == DaxFsFormat.Format8
        ? (_superblock8.OverlayOffset == 0 ? DaxFsImageMode.Static
            : !HasBase ? DaxFsImageMode.OverlayOnly
            : _superblock8.PageCacheOffset != 0 ? DaxFsImageMode.Split
            : DaxFsImageMode.Overlay)
        : (Base.Flags & DaxFsConstants.BaseFlagExternalData) != 0 || Superblock.PageCacheOffset != 0 ? DaxFsImageMode.Split
        : Superblock.BranchTableEntries == 0 ? DaxFsImageMode.Static
        : DaxFsImageMode.Branching;

    /// <summary>Regular-file bytes live in a backing file (format 5: the base's flag; format 8: a page cache region with a base).</summary>
    public bool HasExternalData => Generation == DaxFsFormat.Format8
        ? _superblock8.PageCacheOffset != 0 && HasBase
        : (Base.Flags & DaxFsConstants.BaseFlagExternalData) != 0;

    /// <summary>True when <paramref name="ino"/> is a base inode (1..<see cref="InodeCount"/>).</summary>
    public bool IsBaseInode(ulong ino) => ino >= 1 && ino <= _inodeCount;

    /// <summary>Absolute offset of inode record <paramref name="ino"/>.</summary>
    public long InodeOffset(uint ino) => (long)(_inodeTable + (ulong)(ino - 1) * DaxFsConstants.InodeSize);

    /// <summary>The inode record of <paramref name="ino"/> (1-based).</summary>
    public BaseInode GetInode(uint ino)
    {
        if (ino < 1 || ino > _inodeCount)
            throw new DaxFsFormatException(RuleIds.DirentIno, -1, $"Inode {ino} is outside 1..{_inodeCount}.");
        return BaseInode.Read(_memory.Span((ulong)InodeOffset(ino), DaxFsConstants.InodeSize));
    }

    /// <summary>The absolute offset of an object's data, checked to lie inside the base image.</summary>
    internal ulong DataStart(uint ino, in BaseInode inode, ulong length, string rule = RuleIds.InodeDataBounds)
    {
        if (inode.DataOffset > _baseSize || length > _baseSize - inode.DataOffset)
            throw new DaxFsFormatException(rule, InodeOffset(ino) + BaseInode.Offsets.DataOffset,
                $"Inode {ino}: {length} bytes at base offset 0x{inode.DataOffset:x} lie outside the base image ({_baseSize} bytes).");
        return _baseOffset + inode.DataOffset;
    }

    /// <summary>Number of entries of a directory inode (size / 271, as the kernel counts them).</summary>
    public static ulong EntryCount(in BaseInode inode) => inode.Size / DaxFsConstants.DirentSize;

    /// <summary>The raw entries of directory <paramref name="dirIno"/>, in stored order.</summary>
    public IEnumerable<DirectoryEntry> ReadDirectory(uint dirIno)
    {
        var inode = GetInode(dirIno);
        if (ModeBits.TypeOf(inode.Mode) != DaxFsItemType.Directory)
            throw new InvalidOperationException($"Inode {dirIno} is not a directory.");
        return ReadDirectory(dirIno, inode);
    }

    private IEnumerable<DirectoryEntry> ReadDirectory(uint dirIno, BaseInode inode)
    {
        ulong count = EntryCount(inode);
        if (count == 0) yield break;
        ulong start = DirectoryStart(dirIno, inode, count);
        for (ulong j = 0; j < count; j++)
        {
            ulong at = start + j * DaxFsConstants.DirentStride;
            var name = ReadEntry(dirIno, j, at, out uint ino, out uint mode).ToArray();
            yield return new DirectoryEntry(name, ino, mode, (long)at);
        }
    }

    /// <summary>
    /// The entries of base directory <paramref name="dirIno"/> as the kernel's readdir hands them to a program: each name
    /// ends at its first NUL (<c>Cut</c> is then true: a lookup of the shorter name finds nothing, as the stride vectors
    /// show). Used by views that resolve each listed name again (format 8's overlay). Array bounds, name length and inode
    /// range are checked as by <see cref="ReadDirectory(uint)"/>.
    /// </summary>
    public IEnumerable<(DirectoryEntry Entry, bool Cut)> ReadDirectoryAsListed(uint dirIno)
    {
        ulong start = ListedDirectory(dirIno, out ulong count);
        for (ulong j = 0; j < count; j++)
        {
            ulong at = start + j * DaxFsConstants.DirentStride;
            var name = ReadListedEntry(dirIno, j, at, out uint ino, out uint mode, out bool cut).ToArray();
            yield return (new DirectoryEntry(name, ino, mode, (long)at), cut);
        }
    }

    /// <summary>The absolute offset of base directory <paramref name="dirIno"/>'s entry array and its entry count (0: no array), checked.</summary>
    internal ulong ListedDirectory(uint dirIno, out ulong count)
    {
        var inode = GetInode(dirIno);
        if (ModeBits.TypeOf(inode.Mode) != DaxFsItemType.Directory)
            throw new InvalidOperationException($"Inode {dirIno} is not a directory.");
        count = EntryCount(inode);
        return count == 0 ? 0 : DirectoryStart(dirIno, inode, count);
    }

    /// <summary>Entry <paramref name="j"/> at <paramref name="at"/> as readdir hands it over (the name up to its first NUL, <paramref name="cut"/> then true), checked; a span over the image.</summary>
    internal ReadOnlySpan<byte> ReadListedEntry(uint dirIno, ulong j, ulong at, out uint ino, out uint mode, out bool cut)
    {
        var d = _memory.Span(at, DaxFsConstants.DirentSize);
        ino = Dirent.ReadIno(d);
        int nameLength = Dirent.ReadNameLength(d);
        if (nameLength > DaxFsConstants.NameMax)
            throw new DaxFsFormatException(RuleIds.DirentNameLength, (long)at + Dirent.Offsets.NameLength, $"Directory inode {dirIno}, entry {j}: name length {nameLength} exceeds 255.");
        if (ino < 1 || ino > _inodeCount)
            throw new DaxFsFormatException(RuleIds.DirentIno, (long)at, $"Directory inode {dirIno}, entry {j} names inode {ino}, outside 1..{_inodeCount}.");
        var name = d.Slice(Dirent.NameOffset, nameLength);
        // One scan finds the first NUL or slash: a slash before any NUL makes the name invalid (below), one after it is cut off.
        int stop = name.IndexOfAny((byte)0, (byte)'/');
        bool slash = stop >= 0 && name[stop] == (byte)'/';
        cut = stop >= 0 && !slash;
        if (cut) name = name[..stop];
        if (name.Length == 0)
            throw new DaxFsFormatException(RuleIds.DirentEmptyName, (long)at + Dirent.Offsets.NameLength, $"Directory inode {dirIno}, entry {j} has an empty name.");
        if (slash || name.SequenceEqual("."u8) || name.SequenceEqual(".."u8))
            throw new DaxFsFormatException(RuleIds.DirentBadName, (long)at + Dirent.NameOffset, $"Directory inode {dirIno}, entry {j} has an invalid name.");
        mode = Dirent.ReadMode(d);
        return name;
    }

    /// <summary>The inode number of the base dirent at <paramref name="at"/> (an entry of an array <see cref="ListedDirectory"/> checked), unchecked itself.</summary>
    internal uint ListedIno(ulong at) => Dirent.ReadIno(_memory.Span(at, sizeof(uint)));

    /// <summary>The absolute offset of a directory's entry array of <paramref name="count"/> entries, checked to lie inside the base image.</summary>
    private ulong DirectoryStart(uint dirIno, in BaseInode inode, ulong count)
    {
        // The array steps 272 bytes; the last entry needs 271. Check the whole span once (overflow-safe).
        if (count > (ulong.MaxValue - DaxFsConstants.DirentSize) / DaxFsConstants.DirentStride)
            throw new DaxFsFormatException(RuleIds.DirTooManyEntries, InodeOffset(dirIno) + BaseInode.Offsets.Size, $"Directory inode {dirIno} declares {count} entries.");
        ulong span = (count - 1) * DaxFsConstants.DirentStride + DaxFsConstants.DirentSize;
        if (Generation == DaxFsFormat.Format8)
        {
            // Format 8: the kernel bounds a directory by its size (entries x 271) inside the base region and then reads the
            // entries 272 bytes apart wherever they fall: past the base's end, the last entry reads the next region (the
            // split stride vector's overlay header). The array is bounded by the image.
            ulong start = DataStart(dirIno, inode, count * DaxFsConstants.DirentSize);
            if (!_memory.Contains(start, span))
                throw new DaxFsFormatException(RuleIds.DirentStride, InodeOffset(dirIno) + BaseInode.Offsets.DataOffset,
                    $"Directory inode {dirIno}: its {count} entries, 272 bytes apart from 0x{start:x}, run past the end of the image ({_memory.Length} bytes).");
            return start;
        }
        return DataStart(dirIno, inode, span, RuleIds.DirentStride);
    }

    /// <summary>Entry <paramref name="j"/> of directory <paramref name="dirIno"/>, at absolute offset <paramref name="at"/>, checked; the name is a span over the image.</summary>
    private ReadOnlySpan<byte> ReadEntry(uint dirIno, ulong j, ulong at, out uint ino, out uint mode)
    {
        var d = _memory.Span(at, DaxFsConstants.DirentSize);
        ino = Dirent.ReadIno(d);
        mode = Dirent.ReadMode(d);
        int nameLength = Dirent.ReadNameLength(d);
        if (nameLength > DaxFsConstants.NameMax)
            throw new DaxFsFormatException(RuleIds.DirentNameLength, (long)at + Dirent.Offsets.NameLength, $"Directory inode {dirIno}, entry {j}: name length {nameLength} exceeds 255.");
        if (nameLength == 0)
            throw new DaxFsFormatException(RuleIds.DirentEmptyName, (long)at + Dirent.Offsets.NameLength, $"Directory inode {dirIno}, entry {j} has an empty name.");
        if (ino < 1 || ino > _inodeCount)
            throw new DaxFsFormatException(RuleIds.DirentIno, (long)at, $"Directory inode {dirIno}, entry {j} names inode {ino}, outside 1..{_inodeCount}.");
        var name = d.Slice(Dirent.NameOffset, nameLength);
        if (name.IndexOfAny((byte)'/', (byte)0) >= 0 || name.SequenceEqual("."u8) || name.SequenceEqual(".."u8))
            throw new DaxFsFormatException(RuleIds.DirentBadName, (long)at + Dirent.NameOffset, $"Directory inode {dirIno}, entry {j} has an invalid name.");
        return name;
    }

    /// <summary>The item for entry <paramref name="j"/> of a directory whose path is <paramref name="dirPath"/> ("" for the root); its strings are made lazily.</summary>
    private ImageItem EntryItem(uint dirIno, ulong j, ulong at, string dirPath, int depth, byte[]? dirBytes = null)
    {
        var name = ReadEntry(dirIno, j, at, out uint ino, out _);
        var inode = GetInode(ino);
        byte[]? raw = System.Text.Unicode.Utf8.IsValid(name) ? null : name.ToArray();
        byte[]? target = ModeBits.TypeOf(inode.Mode) == DaxFsItemType.SymbolicLink ? ReadSymlinkTarget(ino, inode) : null;
        return new ImageItem(dirPath, s_utf8.GetString(name), raw, ino, inode, target, depth, (long)at, dirBytes);
    }

    /// <summary>The target of symlink <paramref name="ino"/> (bytes, without the NUL).</summary>
    public byte[] ReadSymlinkTarget(uint ino) => ReadSymlinkTarget(ino, GetInode(ino));

    /// <summary>The longest target a Linux symlink can have (PATH_MAX - 1).</summary>
    private const int SymlinkTargetMax = 4095;

    private byte[] ReadSymlinkTarget(uint ino, in BaseInode inode)
    {
        if (inode.Size == 0) return Array.Empty<byte>();
        ulong at = DataStart(ino, inode, inode.Size);
        // The kernel's target is the bytes before the first NUL, whatever the size says; no target is longer than
        // PATH_MAX - 1, so only that much (and one more byte for the NUL) is ever looked at or copied.
        var bytes = _memory.Span(at, (int)Math.Min(inode.Size, SymlinkTargetMax + 1));
        int nul = bytes.IndexOf((byte)0);
        if (nul >= 0) return bytes[..nul].ToArray();
        if (inode.Size > SymlinkTargetMax)
            throw new DaxFsFormatException(RuleIds.SymlinkTermination, InodeOffset(ino) + BaseInode.Offsets.Size,
                $"Symlink inode {ino}'s target is longer than {SymlinkTargetMax} bytes (its size is {inode.Size}), the most a symlink can hold.");
        return bytes.ToArray();
    }

    /// <summary>Resolves an absolute path inside the image (no symlinks followed) to its inode number.</summary>
    public bool TryLookup(string path, out uint ino)
    {
        ino = RootInode;
        foreach (var part in SplitPath(path))
        {
            var inode = GetInode(ino);
            if (ModeBits.TypeOf(inode.Mode) != DaxFsItemType.Directory) return false;
            byte[] want = s_utf8.GetBytes(part);
            bool found = false;
            foreach (var e in ReadDirectory(ino, inode))
            {
                if (e.NameBytes.AsSpan().SequenceEqual(want)) { ino = e.Ino; found = true; break; }
            }
            if (!found) return false;
        }
        return true;
    }

    /// <summary>The item at an absolute raw path (components compared as bytes), or null when it does not exist.</summary>
    public ImageItem? GetItem(byte[] path)
    {
        uint ino = RootInode;
        byte[] last = Array.Empty<byte>();
        foreach (var part in PathResolver.SplitRaw(path))
        {
            var inode = GetInode(ino);
            if (ModeBits.TypeOf(inode.Mode) != DaxFsItemType.Directory) return null;
            bool found = false;
            foreach (var e in ReadDirectory(ino, inode))
            {
                if (e.NameBytes.AsSpan().SequenceEqual(part)) { ino = e.Ino; found = true; last = e.NameBytes; break; }
            }
            if (!found) return null;
        }
        string full = NormalizePath(s_utf8.GetString(path));
        return MakeItem(full, last, ino, GetInode(ino), 0, fullNameBytes: last.Length == 0 ? null : path);
    }

    /// <summary>Normalises a path inside the image: '/' or '\' separated, "." and ".." resolved lexically, always absolute.</summary>
    public static string NormalizePath(string? path)
    {
        var parts = new List<string>();
        foreach (var p in SplitPath(path)) parts.Add(p);
        return "/" + string.Join('/', parts);
    }

    private static List<string> SplitPath(string? path)
    {
        var parts = new List<string>();
        if (string.IsNullOrEmpty(path)) return parts;
        foreach (var p in path.Split('/', '\\'))
        {
            if (p.Length == 0 || p == ".") continue;
            if (p == "..") { if (parts.Count > 0) parts.RemoveAt(parts.Count - 1); continue; }
            parts.Add(p);
        }
        return parts;
    }

    /// <summary>The item at <paramref name="path"/>, or null when it does not exist.</summary>
    public ImageItem? GetItem(string path)
    {
        string full = NormalizePath(path);
        if (!TryLookup(full, out uint ino)) return null;
        var inode = GetInode(ino);
        byte[] name = full == "/" ? Array.Empty<byte>() : s_utf8.GetBytes(full[(full.LastIndexOf('/') + 1)..]);
        return MakeItem(full, name, ino, inode, 0);
    }

    private ImageItem MakeItem(string fullName, byte[] name, uint ino, in BaseInode inode, int depth, long entryOffset = -1, byte[]? fullNameBytes = null) =>
        new(fullName, name, ino, inode, ModeBits.TypeOf(inode.Mode) == DaxFsItemType.SymbolicLink ? ReadSymlinkTarget(ino, inode) : null, depth, entryOffset, fullNameBytes: fullNameBytes);

    /// <summary>
    /// Lists <paramref name="path"/>: a file yields itself; a directory yields its children, and with
    /// <paramref name="recurse"/> their descendants down to <paramref name="depth"/> levels (each directory's entries, then its subdirectories in order).
    /// Terminates on any image: a directory met twice (a cycle or a second parent) raises a format error.
    /// </summary>
    public IEnumerable<ImageItem> Walk(string path = "/", bool recurse = true, int depth = int.MaxValue, CancellationToken cancellationToken = default)
    {
        string full = NormalizePath(path);
        if (!TryLookup(full, out uint startIno))
            throw new FileNotFoundException($"'{full}' does not exist in the image.", full);
        var start = MakeItem(full, full == "/" ? Array.Empty<byte>() : s_utf8.GetBytes(full[(full.LastIndexOf('/') + 1)..]), startIno, GetInode(startIno), 0);
        foreach (var item in TreeWalk.Walk(start, full, Entries, CycleFound, recurse, depth, cancellationToken))
            yield return item;

        IEnumerable<ImageItem> Entries(ulong dirIno, BaseInode dir, string dirPath, int level, byte[]? dirRaw)
        {
            ulong count = EntryCount(dir);
            ulong first = count == 0 ? 0 : DirectoryStart((uint)dirIno, dir, count);
            for (ulong j = 0; j < count; j++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                yield return EntryItem((uint)dirIno, j, first + j * DaxFsConstants.DirentStride, dirPath, level, dirRaw);
            }
        }

        static void CycleFound(ImageItem item) =>
            throw new DaxFsFormatException(RuleIds.TreeCycle, item.EntryOffset,
                $"Directory inode {item.Ino} ('{item.FullName}') is reached a second time: the image's directories form a cycle or share a child.");
    }

    /// <summary>
    /// The bytes of regular file <paramref name="ino"/> as a span over the image (zero-copy), for files
    /// whose data lives in the image and is below 2 GiB. Use <see cref="OpenContent"/> otherwise.
    /// </summary>
    public ReadOnlySpan<byte> GetContentSpan(uint ino)
    {
        var inode = GetInode(ino);
        RequireFile(ino, inode);
        if (HasExternalData) throw new InvalidOperationException("This image keeps regular-file data in a backing file; use OpenContent.");
        if (inode.Size > int.MaxValue) throw new InvalidOperationException($"Inode {ino} is larger than 2 GiB; use OpenContent.");
        if (inode.Size == 0) return ReadOnlySpan<byte>.Empty;
        return _memory.Span(DataStart(ino, inode, inode.Size), (int)inode.Size);
    }

    /// <summary>A read-only stream over the content of regular file <paramref name="ino"/>.</summary>
    public Stream OpenContent(uint ino)
    {
        var inode = GetInode(ino);
        RequireFile(ino, inode);
        if (HasExternalData)
        {
            if (_backingFile is null)
                throw new InvalidOperationException("This split image keeps regular-file data in a backing file: pass the backing file to read content.");
            var fs = new FileStream(_backingFile, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1, FileOptions.RandomAccess);
            long backingLength = fs.Length;
            if (inode.DataOffset > (ulong)backingLength || inode.Size > (ulong)backingLength - inode.DataOffset)
            {
                fs.Dispose();
                throw new DaxFsFormatException(RuleIds.InodeDataBounds, InodeOffset(ino) + BaseInode.Offsets.DataOffset,
                    $"Inode {ino}: {inode.Size} bytes at backing offset 0x{inode.DataOffset:x} lie outside the backing file ({backingLength} bytes).");
            }
            return new WindowStream(fs, (long)inode.DataOffset, (long)inode.Size);
        }
        ulong start = inode.Size == 0 ? 0 : DataStart(ino, inode, inode.Size);
        return new ImageContentStream(_memory, start, (long)inode.Size);
    }

    private void RequireFile(uint ino, in BaseInode inode)
    {
        if (ModeBits.TypeOf(inode.Mode) != DaxFsItemType.File)
            throw new InvalidOperationException($"Inode {ino} is not a regular file.");
    }

    public void Dispose() => _memory.Dispose();
}
