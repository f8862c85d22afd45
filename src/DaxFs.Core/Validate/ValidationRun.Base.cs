using System.Runtime.CompilerServices;
using DaxFs.Core.Format;
using static DaxFs.Core.Format.DaxFsConstants;
using DaxFs.Core.Format.V8;

namespace DaxFs.Core.Validate;

// The base image: its superblock, the inode table, each inode's data, dirent arrays, the tree and link counts.
internal sealed partial class ValidationRun
{
    private const byte Gray = 1, Black = 2, Reached = 4;

    // The loops over every inode and dirent run once per validation, in a process that has often just started
    // (Test-DaxFsImage, the mount gate): AggressiveOptimization compiles them optimized at once instead of running them
    // unoptimized first (tier 0), which made a first validation of 40,000 entries about 1.5 times slower. The staged
    // module is compiled ahead (ReadyToRun, build.ps1 Publish-ReadyToRun, which defines READYTORUN): there the loops are
    // already optimized code, and the attribute would only make .NET skip that code and JIT-compile them again
    // (crossgen2 leaves AggressiveOptimization methods out), so it is left off.

    /// <summary>The most inodes or dirents indexed in arrays (only images of hundreds of GiB come near it).</summary>
    private const uint MaxIndexable = 0x7FFF_FFC0;

    private sealed class DirInfo
    {
        public uint Ino;
        public ulong Offset;   // base-relative
        public ulong Count;    // entries (size / 271), 1 ..= uint.MaxValue
        public bool Skip;      // overlaps another directory's array: entries not read
    }

    private readonly record struct Extent(ulong Start, ulong End, uint Ino);
    private readonly record struct Edge(uint Child, ulong At);
    private readonly record struct SymlinkInfo(uint Ino, ulong Offset, ulong Size);

    // Base image state.
    private ulong _baseOffset;
    private BaseSuperblock _base;
    private ulong _tableAbs;
    private uint _count;
    private bool _external;
    private uint[] _modes = Array.Empty<uint>();
    private uint[] _refs = Array.Empty<uint>();
    private byte[] _dirNamed = Array.Empty<byte>();   // 0 unnamed, 1 named once, 2 multi-parent reported
    private byte[] _state = Array.Empty<byte>();      // tree walk colour + Reached bit
    private bool _incomplete;                         // some directory's entries were not read
    private readonly List<DirInfo> _dirs = new();
    private readonly List<Extent> _extents = new();
    private readonly List<SymlinkInfo> _symlinks = new();
    private readonly List<Edge> _edges = new();
    private readonly List<uint> _emptySlots = new();   // all-zero inode records: judged once the dirents are read
    private readonly Dictionary<uint, (int Start, int Count)> _dirEdges = new();

    private long InodeRecord(uint ino) => (long)(_tableAbs + (ulong)(ino - 1) * InodeSize);

    private static DaxFsItemType TypeOf(uint mode) => ModeBits.TypeOf(mode);

    private void CheckBase()
    {
        ulong bo = _sb.BaseOffset;
        if (bo == 0) return; // SB-NOBASE reported with the regions
        _baseOffset = bo;
        if (!InImage(bo, BaseSuperblock.RecordSize))
        {
            if (!_baseRegionBad)
                Report(RuleIds.ImageTruncated, Off(bo), null, $"The base superblock at {Hex(bo)} lies outside the image.");
            return;
        }
        _base = BaseSuperblock.Read(Bytes(bo, BaseSuperblock.RecordSize));
        long b = (long)bo;

        if (Report(HeaderChecks.BaseMagic(_base, bo))) return;
        Report(HeaderChecks.BaseVersion(_base, bo));
        if (_base.BlockSize != BlockSize)
            Report(RuleIds.SuperBlockSize, b + BaseSuperblock.Offsets.BlockSize, null, $"The base image block_size is {_base.BlockSize}, not {BlockSize}.");
        if (_base.TotalSize > _sb.BaseSize)
            Report(RuleIds.BaseTotalSize, b + BaseSuperblock.Offsets.TotalSize, null,
                $"The base image's total_size {_base.TotalSize} exceeds the superblock's base_size {_sb.BaseSize}.");

        _external = (_base.Flags & BaseFlagExternalData) != 0;
        bool hasPcache = _sb.PageCacheOffset != 0;
        if (_external != hasPcache)
            Report(RuleIds.SplitModeMismatch, b + BaseSuperblock.Offsets.Flags, null, _external
                ? "The base image says regular-file data is in a backing file, but the image has no page cache region: the kernel would read that data from the base image."
                : "The image has a page cache region, but the base image does not say regular-file data is in a backing file: the kernel would read regular files through the page cache.");
        if (_external && _options.BackingFileLength is null)
            Report(RuleIds.ExternalData, b + BaseSuperblock.Offsets.Flags, null,
                "Regular-file data lives in an external backing file; its extents were not checked (no backing file length given).");

        _count = _base.InodeCount;
        if (Report(HeaderChecks.HasInodes(_base, bo))) return;

        // The kernel bounds the inode table by the superblock's base_size.
        Offset128 tableLen = (Offset128)_count * InodeSize;
        bool tableBad = Report(HeaderChecks.InodeTable(_base, bo, _sb.BaseSize));
        Offset128 tableAbs = (Offset128)bo + _base.InodeOffset;
        if (!InImage(tableAbs, tableLen))
        {
            if (!tableBad)
                Report(RuleIds.ImageTruncated, Off(tableAbs), null,
                    $"The inode table ({_count} inodes at {Hex(tableAbs)}) runs past the end of the image ({_length} bytes).");
            return;
        }
        // From here on the table is in the image, so _count <= image length / 64: per-inode arrays are bounded.
        _tableAbs = (ulong)tableAbs;

        bool rootOk = true;
        uint root = _base.RootInode;
        if (Report(HeaderChecks.RootRange(_base, bo)))
            rootOk = false;
        else
        {
            uint rootMode = BaseInode.Read(Bytes((ulong)InodeRecord(root), InodeSize)).Mode;
            if (Report(HeaderChecks.RootIsDirectory(root, rootMode, InodeRecord(root)), root))
                rootOk = false;
            if (root != 1)
            {
                // The kernel's root is DAXFS_ROOT_INO (super.c): it never reads root_inode.
                uint oneMode = BaseInode.Read(Bytes((ulong)InodeRecord(1), InodeSize)).Mode;
                Report(RuleIds.RootNotInodeOne, b + BaseSuperblock.Offsets.RootInode, null,
                    $"root_inode is {root}, but the kernel always mounts inode 1 as the root (inode 1 has mode {Octal(oneMode)}): it would show another tree than the image names.");
            }
        }

        CheckBaseObjects(rootOk, root, b + BaseSuperblock.Offsets.InodeCount);
    }

    /// <summary>The inodes, their data, the directories, the tree and the links of a base whose inode table lies in the image
    /// (both formats: <see cref="_base"/> carries the geometry, <see cref="_v8"/> the differences).</summary>
    private void CheckBaseObjects(bool rootOk, uint root, long countField)
    {
        if (_count > MaxIndexable)
        {
            Report(RuleIds.ImageTooLarge, countField, null,
                $"The base image has {_count} inodes, more than the {MaxIndexable} the validator can index; the inodes were not checked.");
            return;
        }
        _modes = new uint[_count + 1];
        _refs = new uint[_count + 1];
        _dirNamed = new byte[_count + 1];
        _state = new byte[_count + 1];

        CheckInodes();
        CheckDirectoryOverlaps();
        CheckDirentStride();
        ReadDirectories();
        CheckEmptySlots();
        WalkTree(rootOk ? root : 0);
        if (rootOk && !_incomplete) CheckReachability();
        if (!_v8) CheckLinkCounts(); // format 8 dropped the link-count rules (and links change only in the overlay)
        CheckSymlinkTargets();
    }

    // Pass 1: each inode's type, number and data extent.
#if !READYTORUN
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
#endif
    private void CheckInodes()
    {
        ulong baseTotal = _base.TotalSize;
        for (uint i = 1; i <= _count; i++)
        {
            if ((i & 0x3FF) == 0) _ct.ThrowIfCancellationRequested();
            long rec = InodeRecord(i);
            var inode = BaseInode.Read(Bytes((ulong)rec, InodeSize));
            _modes[i] = inode.Mode;
            var type = TypeOf(inode.Mode);
            if (type == DaxFsItemType.Unknown)
            {
                if (Bytes((ulong)rec, InodeSize).IndexOfAnyExcept((byte)0) < 0)
                {
                    _emptySlots.Add(i);
                    continue;
                }
                Report(RuleIds.InodeType, rec + BaseInode.Offsets.Mode, i, $"Inode {i} has unsupported file type 0{Octal((inode.Mode & S_IFMT) >> 12)} (mode {Octal(inode.Mode)}).");
                continue;
            }
            if (inode.Ino != i)
                Report(RuleIds.InodeNumber, rec, i, $"Inode record {i} carries ino {inode.Ino}.");
            if (inode.Size == 0)
            {
                // The kernel points an empty symlink's i_link at its data offset all the same (NULL when that is
                // outside the memory) and readers run strlen over it.
                if (type == DaxFsItemType.SymbolicLink)
                    Report(RuleIds.SymlinkEmpty, rec + BaseInode.Offsets.Size, i,
                        $"Symlink inode {i} has an empty target (size 0); the kernel would read a C string at base offset {Hex(inode.DataOffset)} with no bound.");
                continue;
            }

            Offset128 end = (Offset128)inode.DataOffset + inode.Size;
            if (_external && type == DaxFsItemType.File && _v8)
            {
                // Format 8: the page cache tags a page ino << 20 | backing page, so the last page is at most 0xFFFFD.
                if (_options.BackingFileLength is long backing8 && end > (ulong)Math.Max(0L, backing8))
                    Report(RuleIds.InodeDataBounds, rec + BaseInode.Offsets.DataOffset, i,
                        $"File inode {i}'s data [{Hex(inode.DataOffset)}, +{inode.Size}) runs past the end of the backing file ({backing8} bytes).");
                if ((end - 1) / _blockV8 > DaxFsV8Constants.MaxPageIndex)
                    Report(RuleIds.V8BackingPage, rec + BaseInode.Offsets.DataOffset, i,
                        $"File inode {i}'s last backing page is {(end - 1) / _blockV8}, past 0xFFFFD: the page cache cannot tag it (the kernel's validate refuses it).");
                continue;
            }
            if (_external && type == DaxFsItemType.File)
            {
                if (_options.BackingFileLength is long backing && end > (ulong)Math.Max(0L, backing))
                    Report(RuleIds.InodeDataBounds, rec + BaseInode.Offsets.DataOffset, i,
                        $"File inode {i}'s data [{Hex(inode.DataOffset)}, +{inode.Size}) runs past the end of the backing file ({backing} bytes).");
                if (end > baseTotal)
                    ReportBookkeeping(RuleIds.SplitDataKernelBounds, rec + BaseInode.Offsets.DataOffset, i,
                        $"File inode {i}'s backing-file extent ends at {Hex(end)}, past the base image's total_size {baseTotal}: the kernel's validate refuses it.");
                continue;
            }

            bool inBase = end <= baseTotal;
            if (!inBase)
                Report(RuleIds.InodeDataBounds, rec + BaseInode.Offsets.DataOffset, i,
                    $"Inode {i}'s data [{Hex(inode.DataOffset)}, +{inode.Size}) runs past the base image (total_size {baseTotal}).");

            switch (type)
            {
                case DaxFsItemType.File:
                    if (inBase) _extents.Add(new Extent(inode.DataOffset, (ulong)end, i));
                    break;

                case DaxFsItemType.Directory:
                    if (inode.Size % DirentSize != 0)
                        Report(RuleIds.DirSize, rec + BaseInode.Offsets.Size, i, $"Directory inode {i} has size {inode.Size}, not a multiple of {DirentSize}.");
                    ulong n = inode.Size / DirentSize;
                    if (n > uint.MaxValue)
                    {
                        Report(RuleIds.DirTooManyEntries, rec + BaseInode.Offsets.Size, i, $"Directory inode {i} declares {n} entries, more than 2^32-1.");
                        _incomplete = true;
                        break;
                    }
                    if (n == 0) break;
                    if (!inBase)
                    {
                        _incomplete = true;
                        break;
                    }
                    _dirs.Add(new DirInfo { Ino = i, Offset = inode.DataOffset, Count = n });
                    Offset128 strideEnd = (Offset128)inode.DataOffset + n * DirentStride - 1;
                    _extents.Add(new Extent(inode.DataOffset, strideEnd > ulong.MaxValue ? ulong.MaxValue : (ulong)strideEnd, i));
                    break;

                case DaxFsItemType.SymbolicLink:
                    if (!inBase) break;
                    if (end + 1 > baseTotal)
                    {
                        Report(RuleIds.SymlinkTermination, rec + BaseInode.Offsets.Size, i,
                            $"Symlink inode {i}'s target and its NUL ({inode.Size} + 1 bytes at base offset {Hex(inode.DataOffset)}) extend past the base image (total_size {baseTotal}).");
                        break;
                    }
                    _symlinks.Add(new SymlinkInfo(i, inode.DataOffset, inode.Size));
                    _extents.Add(new Extent(inode.DataOffset, (ulong)(end + 1), i));
                    break;
            }
        }
    }

    // Pass 2: directories whose declared arrays overlap an earlier one are reported and not read, so every
    // dirent byte is read for at most one directory (work stays proportional to the image).
#if !READYTORUN
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
#endif
    private void CheckDirectoryOverlaps()
    {
        var order = _dirs.ToArray();
        Array.Sort(order, (x, y) => x.Offset != y.Offset ? x.Offset.CompareTo(y.Offset) : x.Ino.CompareTo(y.Ino));
        Offset128 maxEnd = 0;
        uint owner = 0;
        foreach (var d in order)
        {
            Offset128 end = (Offset128)d.Offset + d.Count * DirentSize;
            if (owner != 0 && d.Offset < maxEnd)
            {
                d.Skip = true;
                _incomplete = true;
                Report(RuleIds.DirOverlap, InodeRecord(d.Ino) + BaseInode.Offsets.DataOffset, d.Ino,
                    $"Directory inode {d.Ino}'s dirent array at base offset {Hex(d.Offset)} overlaps directory inode {owner}'s; its entries were not checked.");
                continue;
            }
            if (end > maxEnd)
            {
                maxEnd = end;
                owner = d.Ino;
            }
        }
    }

    // Pass 3: the last dirent, read at the 272-byte stride, stays inside the base image and off other data.
#if !READYTORUN
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
#endif
    private void CheckDirentStride()
    {
        if (_dirs.Count == 0) return;
        var ext = _extents.ToArray();
        Array.Sort(ext, (x, y) => x.Start.CompareTo(y.Start));
        int m = ext.Length;
        var starts = new ulong[m];
        // Prefix bests: the two largest ends (from different inodes) among ext[0..k].
        var b1End = new ulong[m]; var b1Ino = new uint[m]; var b2End = new ulong[m]; var b2Ino = new uint[m];
        ulong e1 = 0, e2 = 0;
        uint i1 = 0, i2 = 0;
        for (int k = 0; k < m; k++)
        {
            var x = ext[k];
            starts[k] = x.Start;
            if (x.Ino == i1) { if (x.End > e1) e1 = x.End; }
            else if (x.End > e1) { e2 = e1; i2 = i1; e1 = x.End; i1 = x.Ino; }
            else if (x.End > e2) { e2 = x.End; i2 = x.Ino; }
            b1End[k] = e1; b1Ino[k] = i1; b2End[k] = e2; b2Ino[k] = i2;
        }

        ulong baseTotal = _base.TotalSize;
        foreach (var d in _dirs)
        {
            _ct.ThrowIfCancellationRequested();
            Offset128 lastStart = (Offset128)d.Offset + (d.Count - 1) * DirentStride;
            Offset128 lastEnd = lastStart + DirentSize;
            long lastAbs = Off(_baseOffset + lastStart);
            if (lastEnd > baseTotal)
            {
                Report(RuleIds.DirentStride, lastAbs, d.Ino,
                    $"Directory inode {d.Ino}'s last dirent (entry {d.Count - 1} at the 272-byte stride) ends at base offset {Hex(lastEnd)}, past the base image (total_size {baseTotal}).");
                continue;
            }
            ulong qs = (ulong)lastStart, qe = (ulong)lastEnd;
            // k = number of extents starting before qe.
            int lo = 0, hi = m;
            while (lo < hi)
            {
                int mid = (lo + hi) >>> 1;
                if (starts[mid] < qe) lo = mid + 1; else hi = mid;
            }
            if (lo == 0) continue;
            int at = lo - 1;
            uint hit = 0;
            if (b1Ino[at] != d.Ino && b1End[at] > qs) hit = b1Ino[at];
            else if (b1Ino[at] == d.Ino && b2Ino[at] != 0 && b2End[at] > qs) hit = b2Ino[at];
            if (hit != 0)
                Report(RuleIds.DirentStride, lastAbs, d.Ino,
                    $"Directory inode {d.Ino}'s last dirent (entry {d.Count - 1} at the 272-byte stride, base offset {Hex(qs)}) overlaps the data of inode {hit}: only {d.Count}×271 bytes were reserved.");
        }
    }

    // Pass 4: every dirent of every directory (once each).
#if !READYTORUN
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
#endif
    private void ReadDirectories()
    {
        ulong total = 0;
        foreach (var d in _dirs)
        {
            if (d.Skip) continue;
            Offset128 abs = (Offset128)_baseOffset + d.Offset;
            Offset128 span = (d.Count - 1) * DirentStride + DirentSize;
            if (!InImage(abs, span))
            {
                Report(RuleIds.ImageTruncated, Off(abs), d.Ino,
                    $"Directory inode {d.Ino}'s {d.Count} dirents at {Hex(abs)} run past the end of the image ({_length} bytes); its entries were not checked.");
                d.Skip = true;
                _incomplete = true;
                continue;
            }
            total += d.Count;
        }
        if (total > MaxIndexable)
        {
            Report(RuleIds.ImageTooLarge, Off((Offset128)_baseOffset + BaseSuperblock.Offsets.InodeCount), null,
                $"The directories hold {total} dirents, more than the {MaxIndexable} the validator can index; the dirents were not checked.");
            _incomplete = true;
            return;
        }

        // Names are keyed by their dirent's offset and compared in place: no copies of the names are kept.
        var names = new HashSet<ulong>(new DirentNameComparer(_image));
        foreach (var d in _dirs)
        {
            if (d.Skip) continue;
            _ct.ThrowIfCancellationRequested();
            ulong first = _baseOffset + d.Offset; // inside the image (checked above)
            names.Clear();
            int edgeStart = _edges.Count;
            for (ulong j = 0; j < d.Count; j++)
            {
                if ((j & 0x3FF) == 0x3FF) _ct.ThrowIfCancellationRequested();
                ulong at = first + j * DirentStride;
                var e = Bytes(at, DirentSize);
                uint child = Dirent.ReadIno(e);
                uint mode = Dirent.ReadMode(e);
                ushort nameLen = Dirent.ReadNameLength(e);
                bool childOk = child >= 1 && child <= _count;
                if (!childOk)
                    Report(RuleIds.DirentIno, (long)at, d.Ino, $"Directory inode {d.Ino}, entry {j} names inode {child}, outside 1..{_count}.");

                if (nameLen > NameMax)
                    Report(RuleIds.DirentNameLength, (long)at + Dirent.Offsets.NameLength, d.Ino, $"Directory inode {d.Ino}, entry {j} has name_len {nameLen}, more than {NameMax}.");
                else if (nameLen == 0)
                    Report(RuleIds.DirentEmptyName, (long)at + Dirent.Offsets.NameLength, d.Ino, $"Directory inode {d.Ino}, entry {j} has an empty name.");
                else
                {
                    var name = e.Slice(Dirent.NameOffset, nameLen);
                    bool dots = name.Length <= 2 && name.IndexOfAnyExcept((byte)'.') < 0;
                    if (dots || name.IndexOfAny((byte)'/', (byte)0) >= 0)
                        Report(RuleIds.DirentBadName, (long)at + Dirent.NameOffset, d.Ino,
                            $"Directory inode {d.Ino}, entry {j} has the name {Show(name)}: '.', '..' and names containing '/' or NUL are not allowed.");
                    if (!names.Add(at))
                        Report(RuleIds.DirentDuplicate, (long)at + Dirent.NameOffset, d.Ino,
                            $"Directory inode {d.Ino} holds the name {Show(name)} twice (entry {j}).");
                }

                if (!childOk) continue;
                if (mode != _modes[child])
                    Report(RuleIds.DirentMode, (long)at + Dirent.Offsets.Mode, d.Ino,
                        $"Directory inode {d.Ino}, entry {j} gives inode {child} the mode {Octal(mode)}, but the inode has {Octal(_modes[child])}.");
                if (_refs[child] != uint.MaxValue) _refs[child]++;
                if (TypeOf(_modes[child]) == DaxFsItemType.Directory)
                {
                    if (_dirNamed[child] == 0) _dirNamed[child] = 1;
                    else if (_dirNamed[child] == 1)
                    {
                        _dirNamed[child] = 2;
                        Report(RuleIds.TreeMultipleParents, (long)at, child,
                            $"Directory inode {child} is named a second time here (directory inode {d.Ino}, entry {j}): a directory has one parent and one name.");
                    }
                }
                _edges.Add(new Edge(child, at));
            }
            _dirEdges[d.Ino] = (edgeStart, _edges.Count - edgeStart);
        }
    }

    // Pass 5: depth-first walks. From the root first (marking what is reachable), then from every directory not
    // yet visited, to find cycles anywhere. Each directory is entered once, so the walks always end.
    private void WalkTree(uint root)
    {
        if (root != 0)
        {
            _state[root] |= Reached;
            Walk(root, childMark: Reached);
        }
        foreach (var d in _dirs)
            if ((_state[d.Ino] & (Gray | Black)) == 0)
                Walk(d.Ino, childMark: 0);
    }

    /// <summary>Depth-first from <paramref name="start"/>, colouring directories; each child also gets <paramref name="childMark"/> (Reached from the root).</summary>
#if !READYTORUN
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
#endif
    private void Walk(uint start, byte childMark)
    {
        var stack = new List<(uint Dir, int Next)> { (start, 0) };
        _state[start] |= Gray;
        int steps = 0;
        while (stack.Count > 0)
        {
            if ((++steps & 0x3FFF) == 0) _ct.ThrowIfCancellationRequested();
            var (dir, next) = stack[^1];
            if (!_dirEdges.TryGetValue(dir, out var range) || next >= range.Count)
            {
                _state[dir] = (byte)((_state[dir] & ~Gray) | Black);
                stack.RemoveAt(stack.Count - 1);
                continue;
            }
            stack[^1] = (dir, next + 1);
            var edge = _edges[range.Start + next];
            uint child = edge.Child;
            _state[child] |= childMark;
            if (TypeOf(_modes[child]) != DaxFsItemType.Directory) continue;
            if ((_state[child] & Gray) != 0)
                Report(RuleIds.TreeCycle, (long)edge.At, child,
                    child == dir
                        ? $"Directory inode {dir} names itself."
                        : $"Directory inode {dir} names directory inode {child}, which contains it: a directory cycle.");
            else if ((_state[child] & Black) == 0)
            {
                _state[child] |= Gray;
                stack.Add((child, 0));
            }
        }
    }

    // Pass 4b: an all-zero inode record is harmless while nothing names it (the kernel only reads inodes that dirents
    // or the root name); named, it is an inode of no type. Unknown when some directory could not be read.
    private void CheckEmptySlots()
    {
        foreach (uint i in _emptySlots)
        {
            long rec = InodeRecord(i);
            if (_incomplete || _refs[i] != 0)
                Report(RuleIds.InodeType, rec + BaseInode.Offsets.Mode, i, _incomplete
                    ? $"Inode {i} is an empty (all-zero) record, and not every directory could be read to show that nothing names it."
                    : $"Inode {i} is an empty (all-zero) record with no file type, but {_refs[i]} dirent(s) name it.");
            else
                ReportBookkeeping(RuleIds.InodeEmptySlot, rec + BaseInode.Offsets.Mode, i,
                    $"Inode {i} is an empty (all-zero) record that no dirent names, as mkdaxfs leaves for a hard link's extra name; the kernel's validate refuses it (file type 00).");
        }
    }

#if !READYTORUN
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
#endif
    private void CheckReachability()
    {
        for (uint i = 1; i <= _count; i++)
        {
            if ((_state[i] & Reached) != 0 || TypeOf(_modes[i]) == DaxFsItemType.Unknown) continue;
            Report(RuleIds.TreeUnreachable, InodeRecord(i), i, $"Inode {i} is not reachable from the root directory.");
        }
    }

    // Pass 6: link counts, as the kernel's validate checks them. What every image has (the root, named by no dirent;
    // directories with the usual 2 + subdirectories; mkdaxfs's empty slots) is bookkeeping: one summary per rule.
#if !READYTORUN
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
#endif
    private void CheckLinkCounts()
    {
        for (uint i = 1; i <= _count; i++)
        {
            if ((i & 0x3FF) == 0) _ct.ThrowIfCancellationRequested();
            long rec = InodeRecord(i);
            var record = Bytes((ulong)rec, InodeSize);
            uint nlink = BaseInode.Read(record).Nlink;
            bool dir = TypeOf(_modes[i]) == DaxFsItemType.Directory;
            bool usualDir = dir && nlink == 2UL + SubdirectoryCount(i);
            bool root = i == _base.RootInode;
            if (!_incomplete && nlink != _refs[i])
            {
                string message = $"Inode {i} has nlink {nlink} but {_refs[i]} dirents name it.";
                if ((root && _refs[i] == 0 && nlink != 0) || (usualDir && _refs[i] == 1)) ReportBookkeeping(RuleIds.NlinkMismatch, rec + BaseInode.Offsets.Nlink, i, message);
                else Report(RuleIds.NlinkMismatch, rec + BaseInode.Offsets.Nlink, i, message);
            }
            if (nlink > 1 && TypeOf(_modes[i]) != DaxFsItemType.File)
            {
                string message = $"Inode {i} has nlink {nlink} but is not a regular file (mode {Octal(_modes[i])}).";
                if (usualDir) ReportBookkeeping(RuleIds.NlinkNotFile, rec + BaseInode.Offsets.Nlink, i, message);
                else Report(RuleIds.NlinkNotFile, rec + BaseInode.Offsets.Nlink, i, message);
            }
            if (nlink == 0)
            {
                string message = $"Inode {i} has nlink 0.";
                bool emptySlot = !_incomplete && _refs[i] == 0 && record.IndexOfAnyExcept((byte)0) < 0;
                if (emptySlot) ReportBookkeeping(RuleIds.NlinkZero, rec + BaseInode.Offsets.Nlink, i, message);
                else Report(RuleIds.NlinkZero, rec + BaseInode.Offsets.Nlink, i, message);
            }
        }
    }

    /// <summary>How many of a directory's dirents (as read) name directories.</summary>
#if !READYTORUN
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
#endif
    private ulong SubdirectoryCount(uint dir)
    {
        if (!_dirEdges.TryGetValue(dir, out var range)) return 0;
        ulong n = 0;
        for (int k = range.Start; k < range.Start + range.Count; k++)
            if (TypeOf(_modes[_edges[k].Child]) == DaxFsItemType.Directory) n++;
        return n;
    }

    // Pass 7: each symlink target has a NUL within size+1 bytes. One ascending sweep: [knownFrom, knownTo) is known
    // to hold no NUL and, when nulAtKnownTo, byte knownTo is a NUL; so every byte is scanned at most once.
    private const ulong SymlinkTargetMax = 4095;

#if !READYTORUN
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
#endif
    private void CheckSymlinkTargets()
    {
        if (_symlinks.Count == 0) return;
        var order = _symlinks.ToArray();
        Array.Sort(order, (x, y) => x.Offset != y.Offset ? x.Offset.CompareTo(y.Offset) : x.Ino.CompareTo(y.Ino));
        bool known = false, nulAtKnownTo = false;
        ulong knownFrom = 0, knownTo = 0;
        foreach (var s in order)
        {
            _ct.ThrowIfCancellationRequested();
            Offset128 a = (Offset128)_baseOffset + s.Offset;
            Offset128 e = a + s.Size + 1;
            if (!InImage(a, s.Size + (Offset128)1))
            {
                Report(RuleIds.ImageTruncated, Off(a), s.Ino, $"Symlink inode {s.Ino}'s target at {Hex(a)} runs past the end of the image ({_length} bytes).");
                continue;
            }
            ulong start = (ulong)a, end = (ulong)e;
            if (!known || start < knownFrom || start > knownTo)
            {
                known = true;
                knownFrom = knownTo = start;
                nulAtKnownTo = false;
            }
            if (!nulAtKnownTo && knownTo < end)
            {
                ulong nul = FindNul(knownTo, end);
                if (nul < end) { knownTo = nul; nulAtKnownTo = true; }
                else knownTo = end;
            }
            bool terminated = nulAtKnownTo && knownTo < end;
            if (!terminated)
                Report(RuleIds.SymlinkTermination, (long)start, s.Ino,
                    $"Symlink inode {s.Ino}'s target has no NUL within its size + 1 ({s.Size} + 1) bytes.");
            else if (knownTo - start > SymlinkTargetMax)
                Report(RuleIds.SymlinkTooLong, (long)start, s.Ino,
                    $"Symlink inode {s.Ino}'s target is {knownTo - start} bytes long before its NUL; no Linux path is longer than {SymlinkTargetMax} bytes, and readers refuse it.");
        }
    }

    /// <summary>Compares the names of two dirents given by their absolute offsets (names already known to be
    /// 1..255 bytes inside the image).</summary>
    private sealed class DirentNameComparer : IEqualityComparer<ulong>
    {
        private readonly Read.ImageMemory _image;

        public DirentNameComparer(Read.ImageMemory image) => _image = image;

        private ReadOnlySpan<byte> Name(ulong at)
        {
            var e = _image.Span(at, DirentSize, RuleIds.ImageTruncated);
            return e.Slice(Dirent.NameOffset, Math.Min((int)Dirent.ReadNameLength(e), NameMax));
        }

        public bool Equals(ulong x, ulong y) => x == y || Name(x).SequenceEqual(Name(y));

        public int GetHashCode(ulong at)
        {
            var h = new HashCode();
            h.AddBytes(Name(at));
            return h.ToHashCode();
        }
    }

    /// <summary>The offset of the first 0 byte in [from, to), or <paramref name="to"/>.</summary>
    private ulong FindNul(ulong from, ulong to)
    {
        const int Chunk = 1 << 20;
        ulong pos = from;
        while (pos < to)
        {
            int len = (int)Math.Min(to - pos, Chunk);
            int idx = Bytes(pos, len).IndexOf((byte)0);
            if (idx >= 0) return pos + (ulong)idx;
            pos += (ulong)len;
            _ct.ThrowIfCancellationRequested();
        }
        return to;
    }
}
