// Bench and test support, not part of the module: writes a format-8 overlay the way the format-8 module's writes through a
// mount do (shared FORMAT-V8.md §4 "What the kernel writes"), so an image with a large overlay can be made without a kernel.
// Checked byte for byte against a kernel-written image by tests/DaxFs.Core.Tests/Overlay/KernelOverlayWriterTests.cs
// (ops-empty.sh replayed on a fresh --empty image gives overlay-only-after-writes.daxfs).
using DaxFs.Core.Format;
using DaxFs.Core.Format.V8;

namespace DaxFs.Bench;

/// <summary>
/// The format-8 module's overlay writes, offline, over an image held in memory: entries are bump-allocated from the pool
/// (8-byte aligned; DATA pages block-aligned from the pool start), each new key goes into the first unused bucket from its
/// home (key &amp; (count-1), +1 with wrap-around), and every operation allocates in the kernel's order:
/// create/mkdir — INODE, DIRENT, then the parent's DIRLIST on first use (the dirent is prepended to it); symlink — INODE,
/// DATA page 0 with the target, DIRENT; a write — a DATA page per page on first touch (base bytes or zeros first), the size
/// stored only in an existing INODE entry; setattr/truncate of a regular file — its INODE entry in place or a new one from the
/// inode's attributes, a shrink zeroing overlay bytes past the new size; unlink/rmdir — an overlay dirent flagged in place,
/// a base name a new tombstone dirent (child 0, mode 0); rename — the new name first (reviving a tombstone of that name),
/// then the old name removed. Nothing is freed.
/// </summary>
public sealed class KernelOverlayWriter
{
    private readonly byte[] _image;
    private readonly long _overlay, _buckets, _pool;
    private readonly ulong _poolSize, _block, _mask;
    private readonly int[] _freeFrom; // union-find over buckets: the first unused bucket at or after i (n = none)
    private readonly Dictionary<ulong, ulong> _keys = new();
    private readonly Func<ulong, BaseInode?> _baseInode;
    private readonly Func<ulong, ulong, byte[]?> _basePage;
    private OverlayHeader _header;

    /// <param name="image">The whole image (superblock at 0); changed in place.</param>
    /// <param name="baseInode">The base record of an inode number, or null when it is not a base inode.</param>
    /// <param name="basePage">Page p of a base regular file's bytes (shorter at its end), or null past them.</param>
    public KernelOverlayWriter(byte[] image, Func<ulong, BaseInode?>? baseInode = null, Func<ulong, ulong, byte[]?>? basePage = null)
    {
        _image = image;
        _baseInode = baseInode ?? (_ => null);
        _basePage = basePage ?? ((_, _) => null);
        var sb = SuperblockV8.Read(image);
        if (sb.OverlayOffset == 0) throw new InvalidOperationException("The image has no overlay.");
        _overlay = (long)sb.OverlayOffset;
        _block = sb.BlockSize;
        _header = OverlayHeader.Read(image.AsSpan((int)_overlay, OverlayHeader.RecordSize));
        _buckets = _overlay + (long)_header.BucketOffset;
        _pool = _overlay + (long)_header.PoolOffset;
        _poolSize = _header.PoolSize;
        int n = (int)sb.OverlayBucketCount;
        _mask = (ulong)n - 1;
        _freeFrom = new int[n + 1];
        for (int i = 0; i < n; i++)
        {
            var b = OverlayBucket.Read(image.AsSpan((int)(_buckets + i * OverlayBucket.RecordSize), OverlayBucket.RecordSize));
            _freeFrom[i] = b.Used ? i + 1 : i;
            if (b.Used) _keys.TryAdd(b.Key, b.Value);
        }
        _freeFrom[n] = n;
    }

    /// <summary>The header as written so far (next_ino, pool_alloc).</summary>
    public OverlayHeader Header => _header;

    // ------------------------------------------------------------------ allocation and the table

    private int FindFree(int i)
    {
        int root = i;
        while (_freeFrom[root] != root) root = _freeFrom[root];
        while (_freeFrom[i] != root) { int next = _freeFrom[i]; _freeFrom[i] = root; i = next; }
        return root;
    }

    private void Insert(ulong key, ulong value)
    {
        if (_keys.ContainsKey(key)) throw new InvalidOperationException($"Key 0x{key:x} is already in the table.");
        int n = _freeFrom.Length - 1;
        int slot = FindFree((int)(key & _mask));
        if (slot == n) slot = FindFree(0);
        if (slot == n) throw new InvalidOperationException("The overlay's bucket table is full.");
        OverlayBucket.For(key, value).Write(_image.AsSpan((int)(_buckets + slot * OverlayBucket.RecordSize), OverlayBucket.RecordSize));
        _freeFrom[slot] = slot + 1;
        _keys[key] = value;
    }

    private ulong Alloc(ulong size, ulong align)
    {
        ulong off = (_header.PoolAlloc + align - 1) & ~(align - 1);
        size = (size + 7) & ~7UL;
        if (off + size > _poolSize) throw new InvalidOperationException($"The overlay pool ({_poolSize} bytes) is full.");
        _header.PoolAlloc = off + size;
        _header.Write(_image.AsSpan((int)_overlay, OverlayHeader.RecordSize));
        return off;
    }

    private Span<byte> Pool(ulong off, int size) => _image.AsSpan((int)(_pool + (long)off), size);

    private ulong NextIno()
    {
        ulong ino = _header.NextIno++;
        _header.Write(_image.AsSpan((int)_overlay, OverlayHeader.RecordSize));
        return ino;
    }

    // ------------------------------------------------------------------ entries

    private ulong NewInode(ulong ino, uint mode, uint uid, uint gid, ulong size, uint nlink)
    {
        ulong off = Alloc(OverlayInodeEntry.RecordSize, 8);
        new OverlayInodeEntry { Type = (uint)OverlayEntryType.Inode, Mode = mode, Uid = uid, Gid = gid, Size = size, Nlink = nlink }
            .Write(Pool(off, OverlayInodeEntry.RecordSize));
        Insert(OverlayKeys.Inode(ino), off);
        return off;
    }

    private OverlayDirentEntry ReadDirent(ulong off) => OverlayDirentEntry.Read(Pool(off, OverlayDirentEntry.RecordSize));

    private (ulong Off, OverlayDirentEntry Entry)? FindDirent(ulong parent, ReadOnlySpan<byte> name)
    {
        if (!_keys.TryGetValue(OverlayKeys.Dirent(parent, name), out ulong off)) return null;
        for (ulong cur = off; cur != DaxFsV8Constants.None;)
        {
            var e = ReadDirent(cur);
            if (e.ParentIno == parent && e.Name.SequenceEqual(name)) return (cur, e);
            cur = e.Next;
        }
        return null;
    }

    /// <summary>A dirent for (parent, name) naming child: a tombstone of that name revived in place, else a new entry prepended to the parent's list.</summary>
    private void AddDirent(ulong parent, ReadOnlySpan<byte> name, ulong child, uint mode, uint flags = 0)
    {
        if (FindDirent(parent, name) is { } found)
        {
            if (!found.Entry.Tombstone) throw new IOException($"'{System.Text.Encoding.UTF8.GetString(name)}' exists in directory {parent}.");
            var e = found.Entry;
            e.ChildIno = child; e.ChildMode = mode; e.Flags = flags;
            e.Write(Pool(found.Off, OverlayDirentEntry.RecordSize));
            return;
        }
        ulong key = OverlayKeys.Dirent(parent, name);
        ulong off = Alloc(OverlayDirentEntry.RecordSize, 8);
        var field = new byte[OverlayDirentEntry.NameFieldSize];
        name.CopyTo(field);
        var d = new OverlayDirentEntry
        {
            Type = (uint)OverlayEntryType.Dirent, Flags = flags, ParentIno = parent, ChildIno = child, ChildMode = mode,
            NameLength = (ushort)name.Length, Next = DaxFsV8Constants.None, DirNext = DaxFsV8Constants.None, NameField = field,
        };
        d.Write(Pool(off, OverlayDirentEntry.RecordSize));
        Insert(key, off);
        ulong listKey = OverlayKeys.DirList(parent);
        if (_keys.TryGetValue(listKey, out ulong listOff))
        {
            var list = Pool(listOff, OverlayDirListEntry.RecordSize);
            d.DirNext = Superblock.U64(list, 8);
            d.Write(Pool(off, OverlayDirentEntry.RecordSize));
            Superblock.W64(list, 8, off);
        }
        else
        {
            listOff = Alloc(OverlayDirListEntry.RecordSize, 8);
            var list = Pool(listOff, OverlayDirListEntry.RecordSize);
            list.Clear();
            Superblock.W32(list, 0, (uint)OverlayEntryType.DirList);
            Superblock.W64(list, 8, off);
            Insert(listKey, listOff);
        }
    }

    // ------------------------------------------------------------------ operations

    /// <summary>mkdir: a new directory inode (0755 unless given, nlink 2) named <paramref name="name"/> in <paramref name="parent"/>.</summary>
    public ulong Mkdir(ulong parent, ReadOnlySpan<byte> name, uint perm = 0x1ED, uint uid = 0, uint gid = 0) =>
        NewNamedInode(parent, name, DaxFsConstants.S_IFDIR | perm, 2, uid, gid);

    /// <summary>create (open O_CREAT): a new empty regular file (0644 unless given, nlink 1).</summary>
    public ulong Create(ulong parent, ReadOnlySpan<byte> name, uint perm = 0x1A4, uint uid = 0, uint gid = 0) =>
        NewNamedInode(parent, name, DaxFsConstants.S_IFREG | perm, 1, uid, gid);

    /// <summary>A new empty inode's INODE entry, then its dirent (the order both mkdir and create write them in).</summary>
    private ulong NewNamedInode(ulong parent, ReadOnlySpan<byte> name, uint mode, uint nlink, uint uid, uint gid)
    {
        ulong ino = NextIno();
        NewInode(ino, mode, uid, gid, 0, nlink);
        AddDirent(parent, name, ino, mode);
        return ino;
    }

    /// <summary>symlink: INODE (size = target length), DATA page 0 with the target and a NUL, then the dirent.</summary>
    public ulong Symlink(ulong parent, ReadOnlySpan<byte> name, ReadOnlySpan<byte> target, uint uid = 0, uint gid = 0)
    {
        ulong ino = NextIno();
        uint mode = DaxFsConstants.S_IFLNK | 0x1FF;
        NewInode(ino, mode, uid, gid, (ulong)target.Length, 1);
        ulong page = Alloc(_block, _block);
        var p = Pool(page, (int)_block);
        p.Clear();
        target.CopyTo(p);
        Insert(OverlayKeys.Data(ino, 0), page);
        AddDirent(parent, name, ino, mode);
        return ino;
    }

    /// <summary>write(2) of <paramref name="data"/> at <paramref name="pos"/>: each page copied into the overlay on first touch.</summary>
    public void Write(ulong ino, ulong pos, ReadOnlySpan<byte> data)
    {
        ulong end = pos + (ulong)data.Length;
        for (ulong at = pos; at < end;)
        {
            ulong page = at / _block;
            ulong into = at % _block;
            int n = (int)Math.Min(_block - into, end - at);
            if (!_keys.TryGetValue(OverlayKeys.Data(ino, page), out ulong off))
            {
                off = Alloc(_block, _block);
                var fresh = Pool(off, (int)_block);
                fresh.Clear();
                if (_basePage(ino, page) is { } b) b.AsSpan(0, Math.Min(b.Length, (int)_block)).CopyTo(fresh);
                Insert(OverlayKeys.Data(ino, page), off);
            }
            data.Slice((int)(at - pos), n).CopyTo(Pool(off + into, n));
            at += (ulong)n;
        }
        if (_keys.TryGetValue(OverlayKeys.Inode(ino), out ulong inodeOff))
        {
            var e = OverlayInodeEntry.Read(Pool(inodeOff, OverlayInodeEntry.RecordSize));
            if (end > e.Size) { e.Size = end; e.Write(Pool(inodeOff, OverlayInodeEntry.RecordSize)); }
        }
    }

    /// <summary>setattr of a regular file (chmod, chown, truncate): its INODE entry updated, or made from its attributes.</summary>
    public void SetAttr(ulong ino, uint? perm = null, uint? uid = null, uint? gid = null, ulong? size = null)
    {
        OverlayInodeEntry e;
        if (_keys.TryGetValue(OverlayKeys.Inode(ino), out ulong off))
        {
            e = OverlayInodeEntry.Read(Pool(off, OverlayInodeEntry.RecordSize));
            if (ModeBits.TypeOf(e.Mode) != DaxFsItemType.File) return; // directories and symlinks have no setattr
        }
        else
        {
            var b = _baseInode(ino) ?? throw new InvalidOperationException($"Inode {ino} has no attributes to change.");
            if (ModeBits.TypeOf(b.Mode) != DaxFsItemType.File) return;
            off = NewInode(ino, b.Mode, b.Uid, b.Gid, b.Size, b.Nlink);
            e = OverlayInodeEntry.Read(Pool(off, OverlayInodeEntry.RecordSize));
        }
        if (perm is { } p) e.Mode = (e.Mode & DaxFsConstants.S_IFMT) | p;
        if (uid is { } u) e.Uid = u;
        if (gid is { } g) e.Gid = g;
        if (size is { } s)
        {
            if (s < e.Size)
                for (ulong page = s / _block; page * _block < e.Size; page++)
                    if (_keys.TryGetValue(OverlayKeys.Data(ino, page), out ulong dataOff))
                    {
                        ulong from = page == s / _block ? s % _block : 0;
                        Pool(dataOff + from, (int)(_block - from)).Clear();
                    }
            e.Size = s;
        }
        e.Write(Pool(off, OverlayInodeEntry.RecordSize));
    }

    /// <summary>unlink/rmdir of <paramref name="name"/>: an overlay dirent flagged as a tombstone, or a tombstone dirent over a base name.</summary>
    public void Remove(ulong parent, ReadOnlySpan<byte> name)
    {
        if (FindDirent(parent, name) is { } found)
        {
            if (found.Entry.Tombstone) throw new FileNotFoundException($"'{System.Text.Encoding.UTF8.GetString(name)}' is already removed.");
            var e = found.Entry;
            e.Flags |= OverlayDirentEntry.FlagTombstone;
            e.Write(Pool(found.Off, OverlayDirentEntry.RecordSize));
            return;
        }
        AddDirent(parent, name, 0, 0, OverlayDirentEntry.FlagTombstone);
    }

    /// <summary>rename: the new name (naming <paramref name="ino"/>, whose current mode is <paramref name="mode"/>) first, then the old name removed.</summary>
    public void Rename(ulong oldParent, ReadOnlySpan<byte> oldName, ulong newParent, ReadOnlySpan<byte> newName, ulong ino, uint mode)
    {
        AddDirent(newParent, newName, ino, mode);
        Remove(oldParent, oldName);
    }

    /// <summary>True when directory <paramref name="dir"/> has a DIRLIST entry (its next new name will not allocate one).</summary>
    public bool HasDirList(ulong dir) => _keys.ContainsKey(OverlayKeys.DirList(dir));

    /// <summary>Keys in the table (one per entry a lookup finds; chained dirents aside, the number of entries).</summary>
    public int KeyCount => _keys.Count;

    /// <summary>The mode a mount shows for an overlay inode (its INODE entry), for <see cref="Rename"/>.</summary>
    public uint? OverlayMode(ulong ino) =>
        _keys.TryGetValue(OverlayKeys.Inode(ino), out ulong off) ? OverlayInodeEntry.Read(Pool(off, OverlayInodeEntry.RecordSize)).Mode : null;
}
