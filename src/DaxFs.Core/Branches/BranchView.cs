using System.Text;
using DaxFs.Core.Format;
using DaxFs.Core.Read;

namespace DaxFs.Core.Branches;

/// <summary>No branch of that name can be mounted (none ACTIVE or ABORTED under that name; committed ones lose their names).</summary>
public sealed class DaxFsBranchNotFoundException(string name, IReadOnlyList<string> available)
    : Exception($"The image has no branch named '{name}'." + (available.Count == 0 ? " It has no branches (static images have none; a branching image gets 'main' at its first mount)." : $" Branches: {string.Join(", ", available)}."))
{
    public string BranchName { get; } = name;
    public IReadOnlyList<string> Available { get; } = available;
}

/// <summary>
/// A branch's view of a branching image, offline: the logs of the branch's chain (the branch, its parent, … main) replayed
/// over the base image the way the reference kernel module replays them when the branch is mounted, so listings,
/// attributes, symlink targets and file content are exactly what a fresh mount of that branch shows (a mount made after
/// the changes; a mount that made them may still show some of them differently from its inode cache).
/// <para>
/// The model follows the module's delta index (daxfs/delta.c, dir.c, file.c, inode.c; facts only): each branch keeps, per
/// inode, the kind of its latest entry, size, mode, owner, symlink target, a link-count change and its writes newest
/// first; and per (directory, name) the latest entry that named it. Lookups ask the branch, then its parent, …, then the
/// base image. Where the module is odd this view is odd the same way, on purpose, and each oddity is marked KERNEL below
/// (about_DaxFs lists them).
/// </para>
/// A malformed log never crashes the replay: it raises <see cref="DaxFsFormatException"/> with a rule id (the kernel refuses
/// to mount such a branch). Instances are read-only after opening and safe for concurrent readers.
/// </summary>
public sealed class BranchView : IImageTree, INameLookup
{
    /// <summary>Bytes per read(2) call of the reader the content emulates (cat and cp use 128 KiB).</summary>
    public const int ReadCallSize = 128 * 1024;
    private const int PageSize = 4096;
    private const int MaxChainDepth = DaxFsConstants.MaxBranches;

    private readonly DaxFsImageReader _reader;
    private readonly Level[] _chain; // [0] = the branch shown, last = the root of its chain (main)
    private readonly uint _baseCount;
    // name (Latin-1 of the raw bytes) → inode of the first base dirent with it, per base directory (filled on demand)
    private readonly System.Collections.Concurrent.ConcurrentDictionary<ulong, Dictionary<string, uint>> _baseNames = new();

    private sealed class Level(BranchInfo info, IReadOnlyList<DeltaLogEntry> log)
    {
        public BranchInfo Info { get; } = info;
        public IReadOnlyList<DeltaLogEntry> Log { get; } = log;
        public Dictionary<ulong, InodeState> Inodes { get; } = new();
        public Dictionary<(ulong Parent, string Name), DirentState> Dirents { get; } = new();
        /// <summary>The CREATE, MKDIR and SYMLINK entries of the log by parent directory, in log order (what readdir scans for).</summary>
        public Dictionary<ulong, List<DeltaLogEntry>> Made { get; } = new();
    }

    private sealed class InodeState
    {
        public DeltaKind Last;
        public ulong Size;
        public uint Mode, Uid, Gid;
        public byte[]? Target;
        public long NlinkDelta;
        public readonly List<(ulong Offset, uint Length, long DataOffset)> Writes = new(); // oldest first; searched newest first
    }

    private sealed class DirentState
    {
        public DeltaLogEntry Entry = null!;
        public bool Deleted;
    }

    private BranchView(DaxFsImageReader reader, Level[] chain)
    {
        _reader = reader;
        _chain = chain;
        _baseCount = reader.InodeCount;
        foreach (var level in chain) Index(level);
    }

    /// <summary>
    /// Opens the view of branch <paramref name="name"/>, found as the kernel finds a branch to mount: the first record in
    /// table order that is neither FREE nor COMMITTED with that name; its parents are found by id.
    /// </summary>
    /// <exception cref="DaxFsBranchNotFoundException">No such branch.</exception>
    /// <exception cref="DaxFsFormatException">The branch table or a log of the chain is malformed.</exception>
    public static BranchView Open(DaxFsImageReader reader, string name)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(name);
        var table = BranchTable.Read(reader);
        var branch = table.FirstOrDefault(b => b.State is not (BranchState.Free or BranchState.Committed) && b.Name == name)
            ?? throw new DaxFsBranchNotFoundException(name, table.Where(b => b.State is not (BranchState.Free or BranchState.Committed) && b.Name.Length > 0)
                .Select(b => b.Name).Distinct().ToList());
        return Open(reader, table, branch);
    }

    /// <summary>Opens the view of a branch record read by <see cref="BranchTable.Read"/>.</summary>
    public static BranchView Open(DaxFsImageReader reader, IReadOnlyList<BranchInfo> table, BranchInfo branch)
    {
        var chain = new List<BranchInfo> { branch };
        var seen = new HashSet<int> { branch.Index };
        for (var cur = branch; cur.ParentId != 0;)
        {
            // The kernel looks the parent up by id among records that are not FREE (a committed parent still counts).
            var parent = table.FirstOrDefault(b => b.Id == cur.ParentId && b.State != BranchState.Free)
                ?? throw new DaxFsFormatException(RuleIds.BranchParent, cur.RecordOffset + BranchRecord.Offsets.ParentId,
                    $"Branch '{cur.Name}' names parent id {cur.ParentId}, which no branch record has: the kernel cannot mount it.");
            if (!seen.Add(parent.Index) || chain.Count >= MaxChainDepth)
                throw new DaxFsFormatException(RuleIds.BranchCycle, cur.RecordOffset + BranchRecord.Offsets.ParentId,
                    $"The parents of branch '{branch.Name}' form a cycle (through '{parent.Name}'): the kernel would recurse forever mounting it.");
            chain.Add(parent);
            cur = parent;
        }
        var levels = chain.Select(b => new Level(b, BranchTable.ReadLog(reader, b))).ToArray();
        return new BranchView(reader, levels);
    }

    public DaxFsImageReader Reader => _reader;
    public string BranchName => _chain[0].Info.Name;
    string? IImageTree.BranchName => BranchName;
    /// <summary>The branch shown.</summary>
    public BranchInfo Branch => _chain[0].Info;
    /// <summary>The chain, the branch first and main last.</summary>
    public IReadOnlyList<BranchInfo> Chain => _chain.Select(l => l.Info).ToList();
    /// <summary>The branch's own log entries.</summary>
    public IReadOnlyList<DeltaLogEntry> Log => _chain[0].Log;

    /// <summary>The view of this branch's parent (null for main, whose parent is the base image itself).</summary>
    public BranchView? OpenParent() => _chain.Length < 2 ? null : new BranchView(_reader, _chain[1..].Select(l => new Level(l.Info, l.Log)).ToArray());

    // ------------------------------------------------------------------ the index, as the kernel builds it at mount

    private static string Key(byte[] name) => Encoding.Latin1.GetString(name); // byte-exact

    private void Index(Level level)
    {
        foreach (var e in level.Log)
        {
            if (e.Kind is DeltaKind.Create or DeltaKind.Mkdir or DeltaKind.Symlink)
            {
                if (!level.Made.TryGetValue(e.ParentIno!.Value, out var list)) level.Made[e.ParentIno.Value] = list = new();
                list.Add(e);
            }
            switch (e.Kind)
            {
                case DeltaKind.Create:
                case DeltaKind.Mkdir:
                    Create(level, e.NewIno!.Value, 0, e.Mode!.Value, e.Uid!.Value, e.Gid!.Value, null, e);
                    SetDirent(level, e.ParentIno!.Value, e.NameBytes!, e, deleted: false);
                    break;
                case DeltaKind.Symlink:
                {
                    // KERNEL: the target is used as a C string, so it ends at its first NUL; the size shown is target_len.
                    var t = e.TargetBytes!;
                    int nul = Array.IndexOf(t, (byte)0);
                    Create(level, e.NewIno!.Value, (ulong)t.Length, DaxFsConstants.S_IFLNK | 0x1FF, e.Uid!.Value, e.Gid!.Value, nul >= 0 ? t[..nul] : t, e);
                    SetDirent(level, e.ParentIno!.Value, e.NameBytes!, e, deleted: false);
                    break;
                }
                case DeltaKind.Delete:
                {
                    var s = GetOrAdd(level, e.Ino, out bool added);
                    s.Last = DeltaKind.Delete;
                    s.NlinkDelta--;
                    if (added) InitFromBase(s, e.Ino);
                    SetDirent(level, e.ParentIno!.Value, e.NameBytes!, e, deleted: true);
                    break;
                }
                case DeltaKind.Truncate:
                    SetSize(level, e.Ino, e.NewSize!.Value, e.Kind);
                    break;
                case DeltaKind.Write:
                {
                    // KERNEL: a write sets the size to its own end (offset + length), even below the current size; so after a
                    // mount a write in the middle of a file cuts the file there, and an O_APPEND write (logged at offset 0,
                    // see about_DaxFs) leaves the file as long as what was appended.
                    ulong end = unchecked(e.FileOffset!.Value + e.Length!.Value);
                    var s = SetSize(level, e.Ino, end, e.Kind);
                    s.Writes.Add((e.FileOffset.Value, e.Length.Value, e.DataOffset!.Value));
                    break;
                }
                case DeltaKind.SetAttr:
                {
                    var s = GetOrAdd(level, e.Ino, out bool added);
                    if (added)
                    {
                        InitFromBase(s, e.Ino);
                        // The size starts from the base inode only when this entry does not set one.
                        if ((e.Valid!.Value & DeltaAttributes.Size) == 0 && IsBase(e.Ino)) s.Size = BaseInodeOf(e.Ino).Size;
                    }
                    s.Last = DeltaKind.SetAttr;
                    var v = e.Valid!.Value;
                    if ((v & DeltaAttributes.Size) != 0) s.Size = e.NewSize!.Value;
                    if ((v & DeltaAttributes.Mode) != 0) s.Mode = e.Mode!.Value;
                    if ((v & DeltaAttributes.Uid) != 0) s.Uid = e.Uid!.Value;
                    if ((v & DeltaAttributes.Gid) != 0) s.Gid = e.Gid!.Value;
                    break;
                }
                case DeltaKind.Rename:
                    // KERNEL: a rename only marks both names with the RENAME entry; lookups skip RENAME entries (they know
                    // CREATE, MKDIR, SYMLINK and DELETE), so the old name keeps resolving through the parent branches and the
                    // base image, and the new name resolves to nothing: a rename "succeeds" but does not show.
                    SetDirent(level, e.ParentIno!.Value, e.NameBytes!, e, deleted: true);
                    SetDirent(level, e.NewParentIno!.Value, e.NewNameBytes!, e, deleted: false);
                    break;
            }
        }
    }

    private static InodeState GetOrAdd(Level level, ulong ino, out bool added)
    {
        added = !level.Inodes.TryGetValue(ino, out var s);
        if (added) level.Inodes[ino] = s = new InodeState();
        return s!;
    }

    private void Create(Level level, ulong ino, ulong size, uint mode, uint uid, uint gid, byte[]? target, DeltaLogEntry e)
    {
        var s = GetOrAdd(level, ino, out _);
        s.Last = e.Kind;
        s.Size = size;
        s.Mode = mode;
        s.Uid = uid;
        s.Gid = gid;
        s.Target = target;
    }

    private InodeState SetSize(Level level, ulong ino, ulong size, DeltaKind kind)
    {
        var s = GetOrAdd(level, ino, out bool added);
        s.Last = kind;
        s.Size = size;
        if (added) InitFromBase(s, ino);
        return s;
    }

    /// <summary>
    /// KERNEL: an inode first met in a branch through DELETE, TRUNCATE, WRITE or SETATTR takes mode and owner from the base
    /// image — and from nowhere else: an inode made in a parent branch gets mode 0 and owner 0:0 in the child (the file then
    /// shows as type unknown, mode 0000, and cannot be read).
    /// </summary>
    private void InitFromBase(InodeState s, ulong ino)
    {
        if (s.Mode != 0 || !IsBase(ino)) return;
        var b = BaseInodeOf(ino);
        s.Mode = b.Mode;
        s.Uid = b.Uid;
        s.Gid = b.Gid;
    }

    private static void SetDirent(Level level, ulong parent, byte[] name, DeltaLogEntry e, bool deleted)
    {
        var key = (parent, Key(name));
        if (!level.Dirents.TryGetValue(key, out var d)) level.Dirents[key] = d = new DirentState();
        d.Entry = e;
        d.Deleted = deleted;
    }

    private bool IsBase(ulong ino) => ino >= 1 && ino <= _baseCount;
    private BaseInode BaseInodeOf(ulong ino) => _reader.GetInode((uint)ino);
    private uint BaseNlink(ulong ino) => IsBase(ino) ? BaseInodeOf(ino).Nlink : 0;

    // ------------------------------------------------------------------ lookups, as the kernel answers them

    /// <summary>
    /// The link count of <paramref name="ino"/> seen from chain level <paramref name="from"/> (the kernel sums the unlinks of
    /// that branch and its parents): base nlink, or 1 for an inode made in a branch, minus the unlinks; found = some branch of
    /// the chain has an entry for it.
    /// </summary>
    private long EffectiveNlink(int from, ulong ino, out bool found)
    {
        long delta = 0;
        found = false;
        for (int k = from; k < _chain.Length; k++)
        {
            if (_chain[k].Inodes.TryGetValue(ino, out var s)) { delta += s.NlinkDelta; found = true; }
        }
        uint b = BaseNlink(ino);
        if (b > 0) return Math.Max(0, b + delta);
        return found ? Math.Max(0, 1 + delta) : 0;
    }

    /// <summary>
    /// KERNEL: an inode counts as deleted when its link count drops to 0 — not when a name of it is removed. A directory of
    /// the base image has a link count of 2 or more, so removing it in a branch leaves it "alive": readdir still lists it,
    /// while a lookup of its name finds the DELETE entry and fails.
    /// </summary>
    private bool IsDeleted(int from, ulong ino)
    {
        long n = EffectiveNlink(from, ino, out bool found);
        if (!found && BaseNlink(ino) == 0) return false;
        return n == 0;
    }

    private bool DeletedInAnyLevel(ulong ino, int levels)
    {
        for (int k = 0; k < levels; k++)
            if (IsDeleted(k, ino)) return true;
        return false;
    }

    /// <summary>A name in a directory → inode, as daxfs_lookup finds it; false when the kernel answers ENOENT.</summary>
    public bool TryLookupChild(ulong dirIno, ReadOnlySpan<byte> name, out ulong ino)
    {
        ino = 0;
        var key = (dirIno, Encoding.Latin1.GetString(name));
        foreach (var level in _chain)
        {
            if (!level.Dirents.TryGetValue(key, out var d)) continue;
            switch (d.Entry.Kind)
            {
                case DeltaKind.Delete: return false;
                case DeltaKind.Create or DeltaKind.Mkdir or DeltaKind.Symlink: ino = d.Entry.NewIno!.Value; return true;
                // any other kind (RENAME): not decisive, ask the parent branch
            }
        }
        if (!IsBase(dirIno)) return false;
        var names = _baseNames.GetOrAdd(dirIno, d =>
        {
            var map = new Dictionary<string, uint>(StringComparer.Ordinal);
            if (ModeBits.TypeOf(BaseInodeOf(d).Mode) == DaxFsItemType.Directory)
                foreach (var e in _reader.ReadDirectory((uint)d)) map.TryAdd(Key(e.NameBytes), e.Ino); // the first match, as the kernel's scan
            return map;
        });
        if (!names.TryGetValue(key.Item2, out uint child) || DeletedInAnyLevel(child, _chain.Length)) return false;
        ino = child;
        return true;
    }

    /// <summary>What stat(2) shows for an inode (daxfs_iget); false when the kernel cannot make the inode (ENOENT).</summary>
    public bool TryGetAttributes(ulong ino, out BaseInode attributes)
    {
        attributes = default;
        InodeState? fromDelta = null;
        bool deleted = false;
        for (int k = 0; k < _chain.Length && fromDelta is null && !deleted; k++)
        {
            if (IsDeleted(k, ino)) { deleted = true; break; }
            if (_chain[k].Inodes.TryGetValue(ino, out var s))
            {
                // KERNEL: when the branch's latest entry for the inode is a DELETE (a hard link removed), the attributes
                // come from the base image, whatever the branch changed before.
                if (s.Last == DeltaKind.Delete) deleted = true;
                else fromDelta = s;
            }
        }
        long nlink = EffectiveNlink(0, ino, out bool found);
        uint shownNlink = BaseNlink(ino) > 0 || found ? (uint)Math.Min(nlink, uint.MaxValue) : IsBase(ino) ? BaseInodeOf(ino).Nlink : 1u;
        if (fromDelta is not null)
        {
            // KERNEL: a directory made in a branch shows size 0 and link count 1 (the kernel never counts its entries or
            // subdirectories).
            attributes = new BaseInode { Ino = (uint)ino, Mode = fromDelta.Mode, Uid = fromDelta.Uid, Gid = fromDelta.Gid, Size = fromDelta.Size, Nlink = shownNlink };
            return true;
        }
        if (!IsBase(ino)) return false;
        var b = BaseInodeOf(ino);
        attributes = b with { Nlink = shownNlink };
        return true;
    }

    private bool FromDelta(ulong ino, out int level)
    {
        for (int k = 0; k < _chain.Length; k++)
        {
            if (IsDeleted(k, ino)) break;
            if (_chain[k].Inodes.TryGetValue(ino, out var s))
            {
                if (s.Last == DeltaKind.Delete) break;
                level = k;
                return true;
            }
        }
        level = -1;
        return false;
    }

    /// <summary>
    /// The entries readdir returns for a directory, in its order: the base image's entries whose inode is not deleted, then
    /// for the branch, its parent, … main, the names each log CREATEd, MKDIRed or SYMLINKed in it. Names only; each name's
    /// inode is what <see cref="TryLookupChild"/> finds (it may be none).
    /// </summary>
    public IEnumerable<(byte[] Name, ulong Ino, uint Mode)> ReadDirectory(ulong dirIno)
    {
        if (IsBase(dirIno) && ModeBits.TypeOf(BaseInodeOf(dirIno).Mode) == DaxFsItemType.Directory)
        {
            foreach (var e in _reader.ReadDirectory((uint)dirIno))
                if (!DeletedInAnyLevel(e.Ino, _chain.Length)) yield return (e.NameBytes, e.Ino, e.Mode);
        }
        for (int k = 0; k < _chain.Length; k++)
        {
            if (!_chain[k].Made.TryGetValue(dirIno, out var made)) continue;
            foreach (var e in made)
            {
                // KERNEL: only the branches below the one that made the entry are asked whether it was deleted since, so a
                // name made and removed in the same branch (or renamed away from) is still listed there.
                if (DeletedInAnyLevel(e.NewIno!.Value, k)) continue;
                yield return (e.NameBytes!, e.NewIno.Value, e.Kind == DeltaKind.Symlink ? DaxFsConstants.S_IFLNK : e.Mode!.Value);
            }
        }
    }

    /// <summary>The symlink target the kernel gives for <paramref name="ino"/>.</summary>
    public byte[] ReadSymlinkTarget(ulong ino)
    {
        if (FromDelta(ino, out _))
        {
            foreach (var level in _chain)
                if (level.Inodes.TryGetValue(ino, out var s) && s.Target is not null) return s.Target;
        }
        return IsBase(ino) && ModeBits.TypeOf(BaseInodeOf(ino).Mode) == DaxFsItemType.SymbolicLink ? _reader.ReadSymlinkTarget((uint)ino) : Array.Empty<byte>();
    }

    // ------------------------------------------------------------------ paths and items

    public bool TryLookup(string path, out ulong ino) => NameLookup.TryLookup(this, path, out ino);

    public ImageItem? GetItem(string path)
    {
        string full = DaxFsImageReader.NormalizePath(path);
        if (!TryLookup(full, out ulong ino) || !TryGetAttributes(ino, out var a)) return null;
        byte[] name = full == "/" ? Array.Empty<byte>() : Encoding.UTF8.GetBytes(full[(full.LastIndexOf('/') + 1)..]);
        return Item(full, name, ino, a, 0, -1);
    }

    /// <summary>The item at an absolute raw path (components compared as bytes, as the kernel's lookup does), or null.</summary>
    public ImageItem? GetItem(byte[] path) => NameLookup.GetItem(this, path);

    private ImageItem Item(string fullName, byte[] name, ulong ino, BaseInode a, int depth, long offset, byte[]? fullNameBytes = null) =>
        new(fullName, name, ino, a, ModeBits.TypeOf(a.Mode) == DaxFsItemType.SymbolicLink ? ReadSymlinkTarget(ino) : null, depth, offset, fullNameBytes: fullNameBytes);

    /// <summary>
    /// The entries of a directory as `find` shows them: each name readdir lists, with the attributes of the inode a lookup of
    /// that name finds. A name whose lookup fails comes back with <see cref="ImageItem.Unreachable"/> set.
    /// </summary>
    public IEnumerable<ImageItem> ListDirectory(ulong dirIno, string dirPath, int depth) => ListDirectory(dirIno, dirPath, depth, null);

    /// <summary>As <see cref="ListDirectory(ulong, string, int)"/>; <paramref name="dirBytes"/> is the directory's raw path when it is not UTF-8, so the items keep theirs.</summary>
    private IEnumerable<ImageItem> ListDirectory(ulong dirIno, string dirPath, int depth, byte[]? dirBytes)
    {
        foreach (var (name, listedIno, mode) in ReadDirectory(dirIno))
        {
            string path = dirPath + "/" + Encoding.UTF8.GetString(name);
            byte[]? raw = dirBytes is null ? null : [.. dirBytes, (byte)'/', .. name];
            if (TryLookupChild(dirIno, name, out ulong ino) && TryGetAttributes(ino, out var a))
                yield return Item(path, name, ino, a, depth, -1, raw);
            else
                yield return new ImageItem(path, name, listedIno, new BaseInode { Ino = (uint)listedIno, Mode = mode & DaxFsConstants.S_IFMT }, null, depth, -1, unreachable: true, fullNameBytes: raw);
        }
    }

    /// <summary>
    /// Lists a path like <see cref="DaxFsImageReader.Walk"/> (a directory's entries, then each subdirectory in turn), including
    /// unreachable names (<see cref="ImageItem.Unreachable"/>). Each directory inode is entered once, so a log that makes a
    /// directory its own descendant cannot make the walk endless.
    /// </summary>
    public IEnumerable<ImageItem> Walk(string path = "/", bool recurse = true, int depth = int.MaxValue, CancellationToken cancellationToken = default)
    {
        string full = DaxFsImageReader.NormalizePath(path);
        var start = GetItem(full) ?? throw new FileNotFoundException($"'{full}' does not exist in branch '{BranchName}'.", full);
        // A directory met again (a log can make one its own descendant) is listed but not entered twice.
        foreach (var item in TreeWalk.Walk(start, full, (dirIno, _, dirPath, level, dirRaw) => ListDirectory(dirIno, dirPath, level, dirRaw), _ => { }, recurse, depth, cancellationToken))
            yield return item;
    }

    // ------------------------------------------------------------------ content

    /// <summary>
    /// The runs of bytes a reader gets from <c>read(2)</c> calls of <see cref="ReadCallSize"/> bytes from offset 0 until one
    /// returns 0, as daxfs_read_iter serves them. KERNEL: each step takes the newest write of the branch, then of each parent,
    /// that covers the current offset — or else the base image — and copies as much of it as the call still wants, even
    /// across the start of a newer write: so a write into the middle of older data (or of the base file) is not seen by a
    /// read that starts before it (a read starting at that offset sees it). Where neither a write nor the base covers the
    /// offset (a hole: a file extended by truncate, or by a write past its end), the read stops short and the next returns
    /// 0: the content ends at the first hole, even though the size says more.
    /// </summary>
    public IReadOnlyList<ContentSegment> PlanContent(ulong ino, out long size)
    {
        if (!TryGetAttributes(ino, out var a)) throw new FileNotFoundException($"Inode {ino} does not exist in branch '{BranchName}'.");
        if (ModeBits.TypeOf(a.Mode) != DaxFsItemType.File) throw new InvalidOperationException($"Inode {ino} is not a regular file in branch '{BranchName}'.");
        size = a.Size > long.MaxValue ? long.MaxValue : (long)a.Size;
        var segments = new List<ContentSegment>();
        long pos = 0;
        while (pos < size)
        {
            long want = Math.Min(ReadCallSize, size - pos);
            long got = 0;
            while (want > 0 && Resolve(ino, pos, want) is { } seg)
            {
                if (segments.Count > 0 && segments[^1] is var last && last.FromBackingFile == seg.FromBackingFile
                    && last.Position + last.Length == seg.Position && last.Source + last.Length == seg.Source)
                    segments[^1] = last with { Length = last.Length + seg.Length };
                else segments.Add(seg);
                pos += seg.Length;
                want -= seg.Length;
                got += seg.Length;
            }
            if (got == 0) break;
        }
        return segments;
    }

    /// <summary>One step of daxfs_resolve_file_data: the run at <paramref name="pos"/>, at most <paramref name="len"/> bytes.</summary>
    private ContentSegment? Resolve(ulong ino, long pos, long len)
    {
        ulong p = (ulong)pos;
        foreach (var level in _chain)
        {
            if (!level.Inodes.TryGetValue(ino, out var s)) continue;
            for (int w = s.Writes.Count - 1; w >= 0; w--)
            {
                var (off, length, data) = s.Writes[w];
                if (p >= off && p < unchecked(off + length))
                {
                    ulong into = p - off;
                    return new ContentSegment(pos, Math.Min(len, (long)(length - into)), data + (long)into, false);
                }
            }
        }
        if (!IsBase(ino)) return null;
        var b = BaseInodeOf(ino);
        if (p >= b.Size) return null;
        long n = (long)Math.Min((ulong)len, b.Size - p);
        if (_reader.HasExternalData && ModeBits.TypeOf(b.Mode) == DaxFsItemType.File)
        {
            // Split images: the base bytes come through the page cache one page at a time.
            ulong at = unchecked(b.DataOffset + p);
            n = Math.Min(n, PageSize - (long)(at % PageSize));
            return new ContentSegment(pos, n, (long)at, true);
        }
        ulong baseSize = _reader.Superblock.BaseSize;
        if (b.DataOffset > baseSize || p > baseSize - b.DataOffset || (ulong)n > baseSize - b.DataOffset - p)
            throw new DaxFsFormatException(RuleIds.InodeDataBounds, _reader.InodeOffset((uint)ino) + BaseInode.Offsets.DataOffset,
                $"Inode {ino}: its data at base offset 0x{b.DataOffset:x} (+{b.Size}) lies outside the base image.");
        return new ContentSegment(pos, n, (long)(_reader.Superblock.BaseOffset + b.DataOffset + p), false);
    }

    /// <summary>
    /// The content of a regular file as a reader of the mounted branch gets it (see <see cref="PlanContent"/>): its Length is
    /// what can be read, which is less than the size stat shows when the file has a hole.
    /// </summary>
    public Stream OpenContent(ulong ino)
    {
        var plan = PlanContent(ino, out _);
        if (plan.Any(s => s.FromBackingFile) && _reader.BackingFile is null)
            throw new InvalidOperationException("This split image keeps regular-file data in a backing file: pass the backing file to read content.");
        return new SegmentStream(_reader, plan, RuleIds.DeltaEntry);
    }

}
