using System.Collections.Concurrent;
using System.Numerics;
using System.Text;
using DaxFs.Core.Format;
using DaxFs.Core.Read;
using DaxFs.Core.Format.V8;

namespace DaxFs.Core.Overlay;

/// <summary>
/// What a fresh mount of a format-8 image with an overlay shows, offline: overlay entries over base entries, resolved the
/// way the module resolves them (shared FORMAT-V8.md §5):
/// <list type="bullet">
/// <item>attributes of inode N: its INODE entry, else base record N (N within the base), else no such inode;</item>
/// <item>lookup(dir, name): the overlay DIRENT for (dir, name) found through the hash table and its <c>next</c> chain (a
/// tombstone hides the name, even a base one), else the directory's base dirents;</item>
/// <item>readdir(dir): base dirents without a tombstone of their name, then the directory's DIRLIST chain (newest first)
/// minus tombstones and entries of another parent; each listed name is looked up again, as <c>find</c> does (a base
/// name that also has a live overlay dirent is listed twice, both resolving to the overlay's inode);</item>
/// <item>page p of a file: its DATA page, else base bytes below the base size, else the read stops (a hole ends the
/// content early); symlink targets from DATA page 0 up to its NUL, else the base target.</item>
/// </list>
/// KERNEL quirks are reproduced, not repaired: an append to a base file without an INODE entry keeps its page but not its
/// size (<see cref="FindLostAppends"/> reports such pages). Not modelled: a read that starts in inline base bytes of a
/// base+overlay image without page cache stays in base bytes across later overlay pages (mkdaxfs never makes such an
/// image; the page-by-page rule is used).
/// <para>Every offset from the overlay is checked against the pool before use; chains and lists are walked at most as
/// many steps as entries fit in the pool (a loop raises <see cref="DaxFsFormatException"/>); memory grows with the used
/// buckets and the directories listed, both bounded by the image: the key index (built once per view, one pass over the
/// bucket table) takes 8 bytes per inode up to the highest with an overlay INODE or DIRLIST key (at most the base's inodes
/// plus the used buckets), 16 to 32 bytes per other key and 8 per key for their order, about 3.5 MB for 100,000 keys.
/// Instances are safe for concurrent readers.</para>
/// </summary>
public sealed class OverlayView : IImageTree, INameLookup
{
    private static readonly UTF8Encoding s_utf8 = new(false, false);
    private readonly DaxFsImageReader _reader;
    private readonly ImageMemory _memory;
    private readonly ulong _overlay, _pool, _poolSize, _block, _bucketTable;
    private readonly uint _bucketCount;
    private readonly OverlayKeyIndex _index;
    private readonly int _usedBuckets;
    private readonly ConcurrentDictionary<uint, Dictionary<string, uint>> _baseNames = new();

    private OverlayView(DaxFsImageReader reader)
    {
        _reader = reader;
        _memory = reader.Memory;
        var sb = reader.Superblock8;
        _block = sb.BlockSize;
        ulong length = (ulong)_memory.Length;
        if (sb.OverlayOffset > length || sb.OverlaySize > length - sb.OverlayOffset)
            throw new DaxFsFormatException(RuleIds.OverlayBounds, SuperblockV8.Offsets.OverlayOffset,
                $"The overlay region (0x{sb.OverlayOffset:x}, {sb.OverlaySize} bytes) does not lie inside the image ({length} bytes).");
        if (sb.OverlaySize < OverlayHeader.RecordSize)
            throw new DaxFsFormatException(RuleIds.OverlayTooSmall, SuperblockV8.Offsets.OverlaySize,
                $"The overlay region is {sb.OverlaySize} bytes, too small for its {OverlayHeader.RecordSize}-byte header.");
        _overlay = sb.OverlayOffset;
        Header = OverlayHeader.Read(_memory.Span(_overlay, OverlayHeader.RecordSize));
        if (Header.Magic != DaxFsV8Constants.OverlayMagic)
            throw new DaxFsFormatException(RuleIds.OverlayMagic, (long)_overlay + OverlayHeader.Offsets.Magic,
                $"The overlay header's magic is 0x{Header.Magic:x8}, not 0x{DaxFsV8Constants.OverlayMagic:x8}: the kernel refuses the mount.");
        if (Header.Version != DaxFsV8Constants.OverlayVersion)
            throw new DaxFsFormatException(RuleIds.OverlayVersion, (long)_overlay + OverlayHeader.Offsets.Version,
                $"The overlay header's version is {Header.Version}, not {DaxFsV8Constants.OverlayVersion}: the kernel refuses the mount.");
        _bucketCount = sb.OverlayBucketCount;
        if (_bucketCount == 0 || !BitOperations.IsPow2(_bucketCount))
            throw new DaxFsFormatException(RuleIds.OverlayBucketCount, SuperblockV8.Offsets.OverlayBucketCount,
                $"The overlay bucket count {_bucketCount} is not a power of two.");
        if (HeaderChecksV8.OverlayLayout(sb, Header) is { } layout)
            throw new DaxFsFormatException(RuleIds.OverlayLayout, (long)_overlay, layout);
        _bucketTable = _overlay + Header.BucketOffset;
        _pool = _overlay + Header.PoolOffset;
        _poolSize = Header.PoolSize;
        _index = BuildIndex(out _usedBuckets);
        if (!TryGetAttributes(DaxFsConstants.RootInode, out var root) || ModeBits.TypeOf(root.Mode) != DaxFsItemType.Directory)
            throw new DaxFsFormatException(RuleIds.V8NoRoot, (long)_overlay,
                "Inode 1 (the root) is not a directory in the base or the overlay: the kernel cannot mount the image.");
    }

    /// <summary>Opens the overlay view of a format-8 image that has an overlay region.</summary>
    /// <exception cref="DaxFsFormatException">The overlay header or its table is malformed.</exception>
    public static OverlayView Open(DaxFsImageReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        if (!reader.HasOverlay)
            throw new InvalidOperationException("The image has no overlay region (only format-8 images made for a read-write mount have one).");
        return new OverlayView(reader);
    }

    /// <summary>The tree a mount of <paramref name="reader"/>'s image shows: the overlay view when it has an overlay, else the base.</summary>
    public static IImageTree MountedTree(DaxFsImageReader reader) => reader.HasOverlay ? Open(reader) : reader;

    public DaxFsImageReader Reader => _reader;
    string? IImageTree.BranchName => null;
    /// <summary>The overlay header.</summary>
    public OverlayHeader Header { get; }
    /// <summary>Buckets in the table.</summary>
    public uint BucketCount => _bucketCount;
    /// <summary>Buckets marked used.</summary>
    public int UsedBuckets => _usedBuckets;
    /// <summary>Absolute offset of the pool in the image.</summary>
    public ulong PoolStart => _pool;
    /// <summary>The page size the image records (block_size).</summary>
    public ulong BlockSize => _block;

    // ------------------------------------------------------------------ the hash table

    /// <summary>
    /// Every key the kernel's probe can find, with the bucket it finds: a probe starts at key &amp; (count-1), steps +1 with
    /// wrap-around and stops at the first unused bucket, so a used bucket is reachable only when no unused bucket lies
    /// between its key's home and it, and of two buckets with one key the first on the probe wins. One pass over the table.
    /// </summary>
    private OverlayKeyIndex BuildIndex(out int used)
    {
        ulong n = _bucketCount;
        ulong mask = n - 1;
        // Pass 1 reads the table in chunks of whole buckets straight from the image (no record per bucket, no copy on a
        // little-endian machine) and keeps the positions of the used buckets, in table order; pass 2 visits only those.
        // Pass 1 also counts the INODE and DIRLIST keys of inodes numbered below the base's count plus the table's size (the
        // kernel numbers new inodes from a counter after the base's) and the highest such inode, which size the index's flat
        // array: at most one INODE and one DIRLIST value per inode up to the base's count plus the used buckets.
        const int chunkBuckets = 1 << 16;
        var buffer = BitConverter.IsLittleEndian ? null : new ulong[2 * (int)Math.Min(n, (ulong)chunkBuckets)];
        ReadOnlySpan<ulong> Chunk(ulong firstBucket, int count)
        {
            var bytes = _memory.Span(_bucketTable + firstBucket * OverlayBucket.RecordSize, count * OverlayBucket.RecordSize);
            if (buffer is null) return System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ulong>(bytes);
            OverlayBucket.ReadTable(bytes, buffer);
            return buffer.AsSpan(0, 2 * count);
        }
        var positions = new List<uint>();
        ulong firstUnused = n;
        int dense = 0;
        ulong denseBound = _reader.InodeCount + n, highest = 0;
        for (ulong c = 0; c < n; c += chunkBuckets)
        {
            int count = (int)Math.Min(chunkBuckets, n - c);
            var words = Chunk(c, count);
            for (int k = 0; k < count; k++)
            {
                ulong stateKey = words[2 * k];
                if ((stateKey & 1) == 0)
                {
                    if (firstUnused == n) firstUnused = c + (ulong)k;
                    continue;
                }
                positions.Add((uint)(c + (ulong)k));
                ulong key = stateKey >> 1;
                if ((key & OverlayKeys.SuffixMask) >= OverlayKeys.DirListSuffix && key >> OverlayKeys.InoShift < denseBound)
                {
                    dense++;
                    highest = Math.Max(highest, key >> OverlayKeys.InoShift);
                }
            }
        }
        int marked = positions.Count;
        ulong denseLimit = dense == 0 ? 0 : Math.Min(highest + 1, _reader.InodeCount + (ulong)marked + 1);
        var index = new OverlayKeyIndex(marked, marked - dense, denseLimit);
        used = marked;
        if (marked == 0) return index;
        // Walk the used buckets in probe order from just after an unused bucket (if any), so every run of used buckets is
        // seen from its start: a run ends where the next used bucket is not the next bucket.
        bool anyUnused = firstUnused != n;
        ulong first = anyUnused ? (firstUnused + 1) & mask : 0;
        int startAt = positions.BinarySearch((uint)first);
        if (startAt < 0) startAt = ~startAt;
        // Only a full table (no unused bucket: a probe can wrap all the way round) needs the distances of repeated keys.
        var distance = anyUnused ? null : new Dictionary<ulong, ulong>();
        ulong runStart = first, previous = ulong.MaxValue;
        ulong loadedFirst = ulong.MaxValue;
        ReadOnlySpan<ulong> loaded = default;
        for (int t = 0; t < marked; t++)
        {
            ulong p = positions[(startAt + t) % marked];
            if (previous == ulong.MaxValue || p != ((previous + 1) & mask)) runStart = t == 0 && !anyUnused ? first : p;
            previous = p;
            if (p - loadedFirst >= chunkBuckets || loadedFirst == ulong.MaxValue)
            {
                loadedFirst = p & ~(ulong)(chunkBuckets - 1);
                loaded = Chunk(loadedFirst, (int)Math.Min(chunkBuckets, n - loadedFirst));
            }
            int at = (int)(p - loadedFirst) * 2;
            ulong key = loaded[at] >> 1, value = loaded[at + 1];
            ulong home = key & mask;
            if (distance is null)
            {
                // An unused bucket ends the probe before p when the key's home lies outside the run that holds p; of two
                // buckets with one key in a run, the probe meets the first.
                if (((home - runStart) & mask) > ((p - runStart) & mask)) continue;
                index.TryAdd(key, value);
                continue;
            }
            ulong homeToP = (p - home) & mask;
            if (distance.TryGetValue(key, out ulong d) && d <= homeToP) continue;
            distance[key] = homeToP;
            index.Set(key, value);
        }
        return index;
    }

    /// <summary>The pool offset the kernel finds for <paramref name="key"/>, if any.</summary>
    public bool TryFind(ulong key, out ulong poolOffset) => _index.TryGetValue(key & OverlayKeys.KeyMask, out poolOffset);

    /// <summary>Every reachable key with its pool offset.</summary>
    public IReadOnlyDictionary<ulong, ulong> Keys => _index;

    /// <summary><paramref name="size"/> bytes of the pool at <paramref name="offset"/>, checked to lie inside the pool.</summary>
    public ReadOnlySpan<byte> PoolBytes(ulong offset, int size, string rule = RuleIds.OverlayBucketValue)
    {
        if (offset > _poolSize || (ulong)size > _poolSize - offset)
            throw new DaxFsFormatException(rule, (long)Math.Min(_pool + Math.Min(offset, _poolSize), long.MaxValue),
                $"An overlay entry of {size} bytes at pool offset 0x{offset:x} does not lie inside the pool ({_poolSize} bytes).");
        return _memory.Span(_pool + offset, size);
    }

    private uint EntryType(ulong offset) => Superblock.U32(PoolBytes(offset, 4), 0);

    private void RequireType(ulong offset, OverlayEntryType want, ulong key)
    {
        uint t = EntryType(offset);
        if (t != (uint)want)
            throw new DaxFsFormatException(RuleIds.OverlayEntryType, (long)(_pool + offset),
                $"The overlay entry at pool offset 0x{offset:x} (key 0x{key:x}) has type {t}, not {(uint)want} ({want}).");
    }

    /// <summary>The INODE entry of <paramref name="ino"/>, if the overlay has one.</summary>
    public OverlayInodeEntry? InodeEntry(ulong ino)
    {
        ulong key = OverlayKeys.Inode(ino);
        if (!_index.TryGetValue(key, out ulong off)) return null;
        var e = OverlayInodeEntry.Read(PoolBytes(off, OverlayInodeEntry.RecordSize));
        if (e.Type != (uint)OverlayEntryType.Inode)
            throw new DaxFsFormatException(RuleIds.OverlayEntryType, (long)(_pool + off),
                $"The overlay entry for inode {ino} at pool offset 0x{off:x} has type {e.Type}, not 1 (INODE).");
        return e;
    }

    /// <summary>The pool offset of DATA page <paramref name="page"/> of <paramref name="ino"/>, checked to hold a whole page.</summary>
    public bool TryFindPage(ulong ino, ulong page, out ulong poolOffset)
    {
        if (page > DaxFsV8Constants.MaxPageIndex || !_index.TryGetValue(OverlayKeys.Data(ino, page), out poolOffset)) { poolOffset = 0; return false; }
        PoolBytes(poolOffset, (int)_block);
        return true;
    }

    private ulong MaxSteps => _poolSize / OverlayDirentEntry.RecordSize + 1;

    /// <summary>The overlay dirent for (<paramref name="dir"/>, <paramref name="name"/>): the bucket of its hash, then the <c>next</c> chain.</summary>
    public (OverlayDirentEntry Entry, ulong Offset)? FindDirent(ulong dir, ReadOnlySpan<byte> name)
    {
        ulong key = OverlayKeys.Dirent(dir, name);
        ulong off = FindDirentOffset(dir, name, key);
        return off == DaxFsV8Constants.None ? null : (OverlayDirentEntry.ReadWithName(PoolBytes(off, OverlayDirentEntry.RecordSize)), off);
    }

    /// <summary>As <see cref="FindDirent"/> for the name's key <paramref name="key"/>: the pool offset of the dirent found (none: not found), read in place.</summary>
    private ulong FindDirentOffset(ulong dir, ReadOnlySpan<byte> name, ulong key)
    {
        if (!_index.TryGetValue(key, out ulong off)) return DaxFsV8Constants.None;
        ulong steps = 0;
        while (off != DaxFsV8Constants.None)
        {
            if (++steps > MaxSteps)
                throw new DaxFsFormatException(RuleIds.OverlayChainCycle, (long)(_pool + Math.Min(off, _poolSize)),
                    $"The dirent chain of key 0x{key:x} has more links than dirents fit in the pool: it loops.");
            var b = ChainedDirent(off, key);
            if (Superblock.U64(b, OverlayDirentEntry.Offsets.ParentIno) == dir
                && b.Slice(OverlayDirentEntry.Offsets.Name, Superblock.U16(b, OverlayDirentEntry.Offsets.NameLength)).SequenceEqual(name))
                return off;
            off = Superblock.U64(b, OverlayDirentEntry.Offsets.Next);
        }
        return DaxFsV8Constants.None;
    }

    /// <summary>The dirent record at <paramref name="off"/> on the chain of <paramref name="key"/>, checked (inside the pool, a DIRENT, a name length of 1..255).</summary>
    private ReadOnlySpan<byte> ChainedDirent(ulong off, ulong key) => CheckedDirent(off, RuleIds.OverlayChainCycle, key, listOf: false);

    /// <summary>
    /// The dirent record at <paramref name="off"/>, checked as a chain or a list links it: inside the pool (else
    /// <paramref name="boundsRule"/>), a DIRENT, a name length of 1..255. <paramref name="owner"/> is the chain's key, or
    /// with <paramref name="listOf"/> the directory whose list links it, for the error.
    /// </summary>
    private ReadOnlySpan<byte> CheckedDirent(ulong off, string boundsRule, ulong owner, bool listOf)
    {
        var b = PoolBytes(off, OverlayDirentEntry.RecordSize, boundsRule);
        uint type = Superblock.U32(b, OverlayDirentEntry.Offsets.Type);
        if (type != (uint)OverlayEntryType.Dirent) throw NotADirent(off, type, owner, listOf);
        ushort nameLength = Superblock.U16(b, OverlayDirentEntry.Offsets.NameLength);
        if (nameLength is 0 or > DaxFsConstants.NameMax)
            throw new DaxFsFormatException(RuleIds.OverlayDirentName, (long)(_pool + off) + OverlayDirentEntry.Offsets.NameLength,
                $"The overlay dirent at pool offset 0x{off:x} has name length {nameLength}, outside 1..255.");
        return b;
    }

    private DaxFsFormatException NotADirent(ulong off, uint type, ulong owner, bool listOf) =>
        new(RuleIds.OverlayEntryType, (long)(_pool + off), listOf
            ? $"The overlay list of directory {owner} links pool offset 0x{off:x}, whose type is {type}, not 3 (DIRENT)."
            : $"The overlay entry at pool offset 0x{off:x} (key 0x{owner:x}) has type {type}, not 3 (DIRENT).");

    /// <summary>True when the overlay dirent at <paramref name="off"/> (one <see cref="FindDirentOffset"/> found) is a tombstone.</summary>
    private bool IsTombstone(ulong off) =>
        (Superblock.U32(PoolBytes(off, OverlayDirentEntry.RecordSize), OverlayDirentEntry.Offsets.Flags) & OverlayDirentEntry.FlagTombstone) != 0;

    /// <summary>The overlay dirents of directory <paramref name="dir"/> in its DIRLIST order (newest first), all of them (tombstones and other parents included).</summary>
    public IEnumerable<(OverlayDirentEntry Entry, ulong Offset)> DirList(ulong dir)
    {
        ulong steps = 0;
        for (ulong cur = FirstListed(dir); cur != DaxFsV8Constants.None;)
        {
            var e = OverlayDirentEntry.ReadWithName(ListedDirent(dir, cur, ref steps));
            yield return (e, cur);
            cur = e.DirNext;
        }
    }

    /// <summary>The pool offset of the newest dirent on <paramref name="dir"/>'s DIRLIST, or none (no list, or an empty one).</summary>
    private ulong FirstListed(ulong dir)
    {
        ulong key = OverlayKeys.DirList(dir);
        if (!_index.TryGetValue(key, out ulong off)) return DaxFsV8Constants.None;
        var list = OverlayDirListEntry.Read(PoolBytes(off, OverlayDirListEntry.RecordSize));
        if (list.Type != (uint)OverlayEntryType.DirList)
            throw new DaxFsFormatException(RuleIds.OverlayEntryType, (long)(_pool + off),
                $"The overlay entry for the list of directory {dir} at pool offset 0x{off:x} has type {list.Type}, not 4 (DIRLIST).");
        return list.First;
    }

    /// <summary>
    /// The dirent record at <paramref name="cur"/>, link <paramref name="steps"/> + 1 of <paramref name="dir"/>'s DIRLIST,
    /// checked (inside the pool, a DIRENT, a name length of 1..255, and no more links than dirents fit in the pool).
    /// </summary>
    private ReadOnlySpan<byte> ListedDirent(ulong dir, ulong cur, ref ulong steps)
    {
        if (++steps > MaxSteps)
            throw new DaxFsFormatException(RuleIds.OverlayDirListCycle, (long)(_pool + Math.Min(cur, _poolSize)),
                $"The overlay list of directory {dir} has more links than dirents fit in the pool: it loops.");
        return CheckedDirent(cur, RuleIds.OverlayDirListCycle, dir, listOf: true);
    }

    // ------------------------------------------------------------------ inodes

    /// <summary>What the kernel shows for <paramref name="ino"/>: its INODE entry, else its base record (DataOffset is the base one).</summary>
    public bool TryGetAttributes(ulong ino, out BaseInode attributes)
    {
        if (InodeEntry(ino) is { } e)
        {
            ulong dataOffset = _reader.IsBaseInode(ino) ? _reader.GetInode((uint)ino).DataOffset : 0;
            attributes = new BaseInode { Ino = unchecked((uint)ino), Mode = e.Mode, Uid = e.Uid, Gid = e.Gid, Size = e.Size, Nlink = e.Nlink, DataOffset = dataOffset };
            return true;
        }
        if (_reader.IsBaseInode(ino))
        {
            attributes = _reader.GetInode((uint)ino);
            return true;
        }
        attributes = default;
        return false;
    }

    /// <summary>True when <paramref name="ino"/> has its own INODE entry or is not a base inode (made through a mount).</summary>
    public bool IsOverlayInode(ulong ino) => !_reader.IsBaseInode(ino) || _index.ContainsKey(OverlayKeys.Inode(ino));

    // ------------------------------------------------------------------ lookup and readdir

    private static string Latin1(ReadOnlySpan<byte> name) => Encoding.Latin1.GetString(name);

    /// <summary>The first base dirent of each name in base directory <paramref name="dir"/> (what a lookup there finds).</summary>
    private Dictionary<string, uint> BaseNames(uint dir) => _baseNames.GetOrAdd(dir, d =>
    {
        var names = new Dictionary<string, uint>(StringComparer.Ordinal);
        // A name readdir cuts at a NUL is stored longer than any path can name it: no lookup finds it.
        foreach (var (e, cut) in _reader.ReadDirectoryAsListed(d))
            if (!cut) names.TryAdd(Latin1(e.NameBytes), e.Ino);
        return names;
    });

    private bool IsBaseDirectory(ulong dir) => _reader.IsBaseInode(dir) && ModeBits.TypeOf(_reader.GetInode((uint)dir).Mode) == DaxFsItemType.Directory;

    /// <summary>The inode a lookup of <paramref name="name"/> in <paramref name="dir"/> finds (false when none, or a tombstone hides it).</summary>
    public bool TryLookupChild(ulong dir, ReadOnlySpan<byte> name, out ulong ino)
    {
        if (FindDirent(dir, name) is { } d)
        {
            ino = d.Entry.Tombstone ? 0 : d.Entry.ChildIno;
            return !d.Entry.Tombstone;
        }
        if (IsBaseDirectory(dir) && BaseNames((uint)dir).TryGetValue(Latin1(name), out uint b)) { ino = b; return true; }
        ino = 0;
        return false;
    }

    public bool TryLookup(string path, out ulong ino) => NameLookup.TryLookup(this, path, out ino);

    public ImageItem? GetItem(string path)
    {
        string full = DaxFsImageReader.NormalizePath(path);
        if (!TryLookup(full, out ulong ino) || !TryGetAttributes(ino, out var a)) return null;
        byte[] name = full == "/" ? Array.Empty<byte>() : s_utf8.GetBytes(full[(full.LastIndexOf('/') + 1)..]);
        return Item(full, name, ino, a, 0, -1);
    }

    /// <summary>The item at an absolute raw path (components compared as bytes, as the kernel's lookup does), or null.</summary>
    public ImageItem? GetItem(byte[] path) => NameLookup.GetItem(this, path);

    private ImageItem Item(string fullName, byte[] name, ulong ino, BaseInode a, int depth, long offset, byte[]? fullNameBytes = null) =>
        new(fullName, name, ino, a, ModeBits.TypeOf(a.Mode) == DaxFsItemType.SymbolicLink ? ReadSymlinkTarget(ino) : null, depth, offset, fullNameBytes: fullNameBytes);

    /// <summary>The names readdir lists in <paramref name="dir"/>, in its order, with the dirent's inode, mode and absolute offset.</summary>
    public IEnumerable<(byte[] Name, ulong Ino, uint Mode, long Offset, bool FromOverlay)> ReadDirectory(ulong dir)
    {
        if (IsBaseDirectory(dir))
        {
            foreach (var (e, _) in _reader.ReadDirectoryAsListed((uint)dir))
            {
                if (FindDirent(dir, e.NameBytes) is { } d && d.Entry.Tombstone) continue;
                yield return (e.NameBytes, e.Ino, e.Mode, e.Offset, false);
            }
        }
        foreach (var (e, off) in DirList(dir))
        {
            if (e.Tombstone || e.ParentIno != dir) continue;
            byte[] name = e.Name.ToArray();
            int nul = Array.IndexOf(name, (byte)0);
            if (nul >= 0) name = name[..nul];
            if (name.Length == 0) continue;
            yield return (name, e.ChildIno, e.ChildMode, (long)(_pool + off), true);
        }
    }

    /// <summary>
    /// The entries of a directory as <c>find</c> shows them: each name readdir lists, with the attributes of the inode a
    /// lookup of that name finds; a name whose lookup fails comes back with <see cref="ImageItem.Unreachable"/> set.
    /// </summary>
    public IEnumerable<ImageItem> ListDirectory(ulong dirIno, string dirPath, int depth) => ListDirectory(dirIno, dirPath, depth, null);

    /// <summary>As <see cref="ListDirectory(ulong, string, int)"/>; <paramref name="dirBytes"/> is the directory's raw path when it is not UTF-8, so the items keep theirs.</summary>
    /// <remarks>
    /// What each name resolves to is what <see cref="TryLookupChild"/> finds, without looking it up a second time where the
    /// listing already tells: a base name whose (directory, name) key is in no bucket and that is the first of its key in the
    /// directory is neither hidden nor shadowed, so the lookup finds this very dirent; an overlay dirent that heads the
    /// chain of its key is the one the lookup finds. Every other name (a key in the table, a repeated name, a name cut at a
    /// NUL, a dirent further down a chain) takes the full lookup. No per-entry allocation beyond the item and its name.
    /// </remarks>
    private IEnumerable<ImageItem> ListDirectory(ulong dirIno, string dirPath, int depth, byte[]? dirBytes)
    {
        if (!TryGetAttributes(dirIno, out var d) || ModeBits.TypeOf(d.Mode) != DaxFsItemType.Directory)
            throw new InvalidOperationException($"Inode {dirIno} is not a directory.");
        // The directory's DIRLIST entry loads while its base entries are listed.
        if (_index.TryGetValue(OverlayKeys.DirList(dirIno), out ulong listOffset)) PrefetchPool(listOffset);
        ulong seed = OverlayKeys.DirentSeed(dirIno); // each name's key starts from it
        if (IsBaseDirectory(dirIno))
        {
            ulong start = _reader.ListedDirectory((uint)dirIno, out ulong count);
            // Names of a directory DaxFs or a sorting mkdaxfs built come in strictly ascending byte order, which proves each
            // the first of its name with one comparison; from the first name out of order on, the keys seen so far are
            // kept in a set (filled with the earlier entries' then), as for any order.
            HashSet<ulong>? seen = null;
            int previous = 0; // the previous entry's name length (its record is the one before)
            for (ulong j = 0; j < count; j++)
            {
                // The INODE entry (if any) of the next entry's inode loads while this entry is made into an item.
                if (j + 1 < count) PrefetchInodeEntry(_reader.ListedIno(start + (j + 1) * DaxFsConstants.DirentStride));
                if (BaseEntryItem((uint)dirIno, seed, j, start, dirPath, depth, dirBytes, ref seen, ref previous) is { } item)
                    yield return item;
            }
        }
        ulong steps = 0;
        for (ulong cur = FirstListed(dirIno); cur != DaxFsV8Constants.None;)
        {
            var item = OverlayEntryItem(dirIno, seed, cur, ref steps, out ulong next, dirPath, depth, dirBytes);
            if (item is not null) yield return item;
            cur = next;
        }
    }

    /// <summary>Base entry <paramref name="j"/> of <paramref name="dir"/> (its entries from <paramref name="start"/>) as listed, or null when a tombstone hides its name.</summary>
    /// <param name="previous">The listed length of entry <paramref name="j"/> - 1's name; set to this entry's.</param>
    /// <param name="seed">The directory's <see cref="OverlayKeys.DirentSeed"/>.</param>
    private ImageItem? BaseEntryItem(uint dir, ulong seed, ulong j, ulong start, string dirPath, int depth, byte[]? dirBytes, ref HashSet<ulong>? seen, ref int previous)
    {
        ulong at = start + j * DaxFsConstants.DirentStride;
        var name = _reader.ReadListedEntry(dir, j, at, out uint listedIno, out uint mode, out bool cut);
        ulong key = OverlayKeys.DirentFrom(seed, name);
        bool first;
        if (seen is null)
        {
            first = j == 0 || ListedName(at - DaxFsConstants.DirentStride, previous).SequenceCompareTo(name) < 0;
            if (!first)
            {
                seen = new HashSet<ulong>();
                for (ulong k = 0; k < j; k++)
                    seen.Add(OverlayKeys.DirentFrom(seed, _reader.ReadListedEntry(dir, k, start + k * DaxFsConstants.DirentStride, out _, out _, out _)));
                first = seen.Add(key);
            }
        }
        else first = seen.Add(key);
        previous = name.Length;
        if (!_index.ContainsKey(key) && first && !cut)
            return Resolved(dirPath, name, listedIno, listedIno, depth, (long)at, dirBytes, mode);
        if (FindDirentOffset(dir, name, key) is var hidden && hidden != DaxFsV8Constants.None && IsTombstone(hidden)) return null;
        return Resolve(dir, name, listedIno, mode, (long)at, dirPath, depth, dirBytes);
    }

    /// <summary>A hint that the INODE entry of <paramref name="ino"/>, if it has one, will be read soon.</summary>
    private void PrefetchInodeEntry(ulong ino)
    {
        if (_index.TryGetValue(OverlayKeys.Inode(ino), out ulong off)) PrefetchPool(off);
    }

    /// <summary>A hint that pool bytes at <paramref name="offset"/> will be read soon (nothing when it is outside the pool).</summary>
    private void PrefetchPool(ulong offset)
    {
        if (offset < _poolSize) _memory.Prefetch(_pool + offset);
    }

    /// <summary>The listed name (<paramref name="length"/> bytes) of the base dirent at <paramref name="at"/>, read and checked before.</summary>
    private ReadOnlySpan<byte> ListedName(ulong at, int length) => _memory.Span(at + Dirent.NameOffset, length);

    /// <summary>
    /// The overlay dirent at <paramref name="off"/> on <paramref name="dir"/>'s DIRLIST (checked as <see cref="DirList"/>
    /// checks it), as listed: null for a tombstone, a dirent of another parent, or a name empty up to a NUL. Read in place,
    /// no copy of the record or its name.
    /// </summary>
    private ImageItem? OverlayEntryItem(ulong dir, ulong seed, ulong off, ref ulong steps, out ulong next, string dirPath, int depth, byte[]? dirBytes)
    {
        var b = ListedDirent(dir, off, ref steps);
        next = Superblock.U64(b, OverlayDirentEntry.Offsets.DirNext);
        // The next dirent lies elsewhere in the pool: its first two cache lines (fields and a short name) load while this
        // one is made into an item, and the line before it, where the kernel put the INODE entry of a new name's inode
        // (create and mkdir allocate the INODE entry, then the dirent).
        PrefetchPool(next);
        PrefetchPool(next + 64);
        PrefetchPool(next - OverlayInodeEntry.RecordSize);
        if ((Superblock.U32(b, OverlayDirentEntry.Offsets.Flags) & OverlayDirentEntry.FlagTombstone) != 0
            || Superblock.U64(b, OverlayDirentEntry.Offsets.ParentIno) != dir) return null;
        ulong child = Superblock.U64(b, OverlayDirentEntry.Offsets.ChildIno);
        uint childMode = Superblock.U32(b, OverlayDirentEntry.Offsets.ChildMode);
        var name = b.Slice(OverlayDirentEntry.Offsets.Name, Superblock.U16(b, OverlayDirentEntry.Offsets.NameLength));
        int nul = name.IndexOf((byte)0);
        if (nul >= 0) name = name[..nul];
        if (name.IsEmpty) return null;
        long offset = (long)(_pool + off);
        if (nul < 0 && _index.TryGetValue(OverlayKeys.DirentFrom(seed, name), out ulong head) && head == off)
            return Resolved(dirPath, name, child, child, depth, offset, dirBytes, childMode);
        return Resolve(dir, name, child, childMode, offset, dirPath, depth, dirBytes);
    }

    /// <summary>A listed name (dirent inode <paramref name="listedIno"/>) that a lookup finds as <paramref name="ino"/>; unreachable when that inode has no attributes.</summary>
    private ImageItem Resolved(string dirPath, ReadOnlySpan<byte> name, ulong ino, ulong listedIno, int depth, long offset, byte[]? dirBytes, uint listedMode)
    {
        if (!TryGetAttributes(ino, out var a)) return Unreachable(dirPath, name, listedIno, listedMode, depth, offset, dirBytes);
        byte[]? raw = System.Text.Unicode.Utf8.IsValid(name) ? null : name.ToArray();
        byte[]? target = ModeBits.TypeOf(a.Mode) == DaxFsItemType.SymbolicLink ? ReadSymlinkTarget(ino) : null;
        return new ImageItem(dirPath, s_utf8.GetString(name), raw, ino, a, target, depth, offset, dirBytes);
    }

    /// <summary>A listed name looked up again (the full lookup: overlay chain, then the first base dirent of the name).</summary>
    private ImageItem Resolve(ulong dir, ReadOnlySpan<byte> name, ulong listedIno, uint mode, long offset, string dirPath, int depth, byte[]? dirBytes) =>
        TryLookupChild(dir, name, out ulong ino) ? Resolved(dirPath, name, ino, listedIno, depth, offset, dirBytes, mode)
            : Unreachable(dirPath, name, listedIno, mode, depth, offset, dirBytes);

    private static ImageItem Unreachable(string dirPath, ReadOnlySpan<byte> name, ulong listedIno, uint mode, int depth, long offset, byte[]? dirBytes)
    {
        string path = dirPath + "/" + s_utf8.GetString(name);
        byte[]? raw = dirBytes is null ? null : [.. dirBytes, (byte)'/', .. name];
        return new ImageItem(path, name.ToArray(), listedIno, new BaseInode { Ino = unchecked((uint)listedIno), Mode = mode & DaxFsConstants.S_IFMT }, null, depth, offset, unreachable: true, fullNameBytes: raw);
    }

    /// <summary>
    /// Lists a path like <see cref="DaxFsImageReader.Walk"/>, unreachable names included. Each directory inode is entered
    /// once (a name listed twice, or an overlay that makes a directory its own descendant, cannot make the walk endless).
    /// </summary>
    public IEnumerable<ImageItem> Walk(string path = "/", bool recurse = true, int depth = int.MaxValue, CancellationToken cancellationToken = default)
    {
        string full = DaxFsImageReader.NormalizePath(path);
        var start = GetItem(full) ?? throw new FileNotFoundException($"'{full}' does not exist in the image.", full);
        // A directory met again (a base name listed twice, or an overlay that makes a directory its own descendant) is
        // listed and not entered again.
        foreach (var item in TreeWalk.Walk(start, full, (dirIno, _, dirPath, level, dirRaw) => ListDirectory(dirIno, dirPath, level, dirRaw), _ => { }, recurse, depth, cancellationToken))
            yield return item;
    }

    // ------------------------------------------------------------------ symlinks and content

    /// <summary>The symlink target the kernel gives: DATA page 0 up to its NUL, else the base target.</summary>
    public byte[] ReadSymlinkTarget(ulong ino)
    {
        if (TryFindPage(ino, 0, out ulong off))
        {
            var page = PoolBytes(off, (int)_block);
            int nul = page.IndexOf((byte)0);
            if (nul < 0)
                throw new DaxFsFormatException(RuleIds.OverlaySymlinkTarget, (long)(_pool + off),
                    $"The target of symlink inode {ino} (its overlay page 0 at pool offset 0x{off:x}) has no NUL within the page.");
            return page[..nul].ToArray();
        }
        if (_reader.IsBaseInode(ino) && ModeBits.TypeOf(_reader.GetInode((uint)ino).Mode) == DaxFsItemType.SymbolicLink)
            return _reader.ReadSymlinkTarget(ino);
        throw new DaxFsFormatException(RuleIds.OverlaySymlinkTarget, -1, $"Symlink inode {ino} has no target: no overlay page 0 and no base record.");
    }

    /// <summary>
    /// The runs of bytes a reader gets from a file, page by page: its DATA page, else base bytes below the base size, else
    /// the read stops there (the content ends at the first hole, even when the size says more).
    /// </summary>
    public IReadOnlyList<ContentSegment> PlanContent(ulong ino, out long size)
    {
        if (!TryGetAttributes(ino, out var a)) throw new FileNotFoundException($"Inode {ino} does not exist in the image.");
        if (ModeBits.TypeOf(a.Mode) != DaxFsItemType.File) throw new InvalidOperationException($"Inode {ino} is not a regular file.");
        size = a.Size > long.MaxValue ? long.MaxValue : (long)a.Size;
        bool isBase = _reader.IsBaseInode(ino);
        var b = isBase ? _reader.GetInode((uint)ino) : default;
        bool baseFile = isBase && ModeBits.TypeOf(b.Mode) == DaxFsItemType.File;
        ulong baseSize = baseFile ? b.Size : 0;
        bool backing = baseFile && _reader.HasExternalData;
        ulong inlineStart = 0;
        if (baseFile && !backing && baseSize > 0) inlineStart = _reader.DataStart((uint)ino, b, baseSize);
        if (backing && baseSize > 0) CheckBacking((uint)ino, b);
        var segments = new List<ContentSegment>();
        long pos = 0;
        long block = (long)_block;
        while (pos < size)
        {
            ulong page = (ulong)(pos / block);
            long into = pos % block;
            long n = Math.Min(block - into, size - pos);
            ContentSegment seg;
            if (TryFindPage(ino, page, out ulong off))
                seg = new ContentSegment(pos, n, (long)(_pool + off) + into, false);
            else if ((ulong)pos < baseSize)
            {
                n = Math.Min(n, (long)(baseSize - (ulong)pos));
                seg = backing ? new ContentSegment(pos, n, (long)b.DataOffset + pos, true) : new ContentSegment(pos, n, (long)inlineStart + pos, false);
            }
            else break;
            if (segments.Count > 0 && segments[^1] is var last && last.FromBackingFile == seg.FromBackingFile
                && last.Position + last.Length == seg.Position && last.Source + last.Length == seg.Source)
                segments[^1] = last with { Length = last.Length + seg.Length };
            else segments.Add(seg);
            pos += n;
        }
        return segments;
    }

    private void CheckBacking(uint ino, in BaseInode b)
    {
        if (_reader.BackingFile is null)
            throw new InvalidOperationException("This split image keeps regular-file data in a backing file: pass the backing file to read content.");
        long length = new FileInfo(_reader.BackingFile).Length;
        if (b.DataOffset > (ulong)length || b.Size > (ulong)length - b.DataOffset)
            throw new DaxFsFormatException(RuleIds.InodeDataBounds, _reader.InodeOffset(ino) + BaseInode.Offsets.DataOffset,
                $"Inode {ino}: {b.Size} bytes at backing offset 0x{b.DataOffset:x} lie outside the backing file ({length} bytes).");
    }

    /// <summary>The content of a regular file as a reader of a fresh mount gets it (see <see cref="PlanContent"/>).</summary>
    public Stream OpenContent(ulong ino) => new SegmentStream(_reader, PlanContent(ino, out _), RuleIds.OverlayBucketValue);


    // ------------------------------------------------------------------ the lost-append quirk

    /// <summary>A base file's overlay page holding bytes past the size a mount shows.</summary>
    public readonly record struct LostAppend(ulong Ino, ulong Page, ulong Size, long BytesPastSize, long PoolOffset);

    /// <summary>
    /// Base regular files without an INODE entry whose overlay DATA pages hold non-zero bytes past their base size: what an
    /// append through a mount wrote, and what a remount does not show (KERNEL: a new size is stored only in an existing
    /// INODE entry). Reported, not repaired: the view shows the file at its base size, as the kernel does.
    /// </summary>
    public IEnumerable<LostAppend> FindLostAppends()
    {
        foreach (var (key, off) in _index)
        {
            ulong suffix = key & OverlayKeys.SuffixMask;
            if (suffix > DaxFsV8Constants.MaxPageIndex) continue;
            ulong ino = key >> OverlayKeys.InoShift;
            if (!_reader.IsBaseInode(ino) || _index.ContainsKey(OverlayKeys.Inode(ino))) continue;
            var b = _reader.GetInode((uint)ino);
            if (ModeBits.TypeOf(b.Mode) != DaxFsItemType.File) continue;
            // A DIRENT's hash can look like a DATA key: only a key whose entry is not a dirent of that hash counts.
            if (off <= _poolSize && _poolSize - off >= OverlayDirentEntry.RecordSize && EntryType(off) == (uint)OverlayEntryType.Dirent)
            {
                var e = OverlayDirentEntry.Read(PoolBytes(off, OverlayDirentEntry.RecordSize));
                if (e.NameLength is > 0 and <= DaxFsConstants.NameMax && OverlayKeys.Dirent(e.ParentIno, e.Name) == key) continue;
            }
            if (off > _poolSize || _block > _poolSize - off) continue;
            ulong pageStart = suffix * _block;
            if (pageStart + _block <= b.Size) continue;
            var page = PoolBytes(off, (int)_block);
            int from = b.Size > pageStart ? (int)(b.Size - pageStart) : 0;
            int last = page[from..].LastIndexOfAnyExcept((byte)0);
            if (last >= 0) yield return new LostAppend(ino, suffix, b.Size, last + 1, (long)(_pool + off));
        }
    }
}
