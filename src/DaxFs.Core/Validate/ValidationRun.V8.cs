using DaxFs.Core.Format;
using static DaxFs.Core.Format.DaxFsConstants;
using DaxFs.Core.Format.V8;

namespace DaxFs.Core.Validate;

// Format 8 (shared FORMAT-V8.md): the superblock and its regions, the base (the format-5 passes over the v8 geometry), the
// overlay's header, buckets, pool entries, chains and free lists, and the page cache v2 header. Every value from the image
// is compared in 128-bit arithmetic and checked against the image before a read; every walk is bounded by what fits in
// the pool, so a hostile overlay makes findings, never an exception, a loop or an unbounded allocation.
internal sealed partial class ValidationRun
{
    private bool _v8;
    private ulong _blockV8 = BlockSize;
    private SuperblockV8 _sb8;
    // Overlay state for the entry checks.
    private ulong _pool, _poolSize, _poolAlloc;
    private bool _overlayOk;

    private void CheckImageV8()
    {
        _v8 = true;
        if (_length < SuperblockV8.RecordSize)
        {
            Report(RuleIds.ImageTruncated, 0, null, $"The image is {_length} bytes, shorter than the {SuperblockV8.RecordSize}-byte format-8 superblock.");
            return;
        }
        _sb8 = SuperblockV8.Read(Bytes(0, SuperblockV8.RecordSize));
        var sb = _sb8;
        bool blockOk = !Report(HeaderChecksV8.BlockSize(sb));
        if (blockOk) _blockV8 = sb.BlockSize;
        if (blockOk && sb.BlockSize != _options.PageSize)
            Report(RuleIds.V8PageSize, SuperblockV8.Offsets.BlockSize, null,
                $"The image's block_size is {sb.BlockSize}, but this machine's page size is {_options.PageSize}: the format-8 kernel refuses to mount it (rebuild it on a machine with that page size).");
        if (sb.Reserved != 0 || Bytes(0, SuperblockV8.RecordSize)[SuperblockV8.FieldsEnd..].IndexOfAnyExcept((byte)0) >= 0)
            Report(RuleIds.V8Reserved, SuperblockV8.Offsets.Reserved, null, "The superblock's reserved bytes are not zero.");
        if (sb.TotalSize > _length)
            Report(RuleIds.SuperTotalSize, SuperblockV8.Offsets.TotalSize, null,
                $"total_size is {sb.TotalSize} bytes but the image holds only {_length}: the image is truncated.");

        CheckRegionsV8(out bool baseOk, out bool overlayIn, out bool pcacheIn);
        _ct.ThrowIfCancellationRequested();
        if (pcacheIn) CheckPageCacheV2();
        if (overlayIn) CheckOverlayHeader();
        _ct.ThrowIfCancellationRequested();
        if (sb.BaseOffset != 0 && baseOk) CheckBaseV8();
        if (sb.BaseOffset == 0 && sb.OverlayOffset == 0)
            Report(RuleIds.V8NoRoot, SuperblockV8.Offsets.OverlayOffset, null, "The image has neither a base nor an overlay: there is no root directory to mount.");
        if (_overlayOk)
        {
            _ct.ThrowIfCancellationRequested();
            CheckOverlayEntries();
        }
    }

    private void CheckRegionsV8(out bool baseOk, out bool overlayIn, out bool pcacheIn)
    {
        var sb = _sb8;
        ulong B = _blockV8;
        var baseR = new Region("base region", sb.BaseOffset, sb.BaseSize, SuperblockV8.Offsets.BaseOffset);
        var ovlR = new Region("overlay region", sb.OverlayOffset, sb.OverlaySize, SuperblockV8.Offsets.OverlayOffset);
        var pcR = new Region("page cache region", sb.PageCacheOffset, sb.PageCacheSize, SuperblockV8.Offsets.PageCacheOffset);
        baseOk = sb.BaseOffset == 0 || Inside(baseR, RuleIds.BaseRegionBounds);
        overlayIn = sb.OverlayOffset != 0 && Inside(ovlR, RuleIds.OverlayBounds);
        pcacheIn = sb.PageCacheOffset != 0 && Inside(pcR, RuleIds.PageCacheBounds);
        if (sb.OverlayOffset != 0)
        {
            uint n = sb.OverlayBucketCount;
            if (!IsPowerOfTwo(n))
            {
                Report(RuleIds.OverlayBucketCount, SuperblockV8.Offsets.OverlayBucketCount, null, $"The overlay bucket count {n} is not a power of two.");
                overlayIn = false;
            }
            Offset128 min = (Offset128)B + AlignUp128((Offset128)n * DaxFsV8Constants.BucketSize, (uint)B);
            if (sb.OverlaySize < min)
            {
                Report(RuleIds.OverlayTooSmall, SuperblockV8.Offsets.OverlaySize, null,
                    $"The overlay region is {sb.OverlaySize} bytes; its header block and {n} buckets need {min}.");
                overlayIn = false;
            }
        }
        if (sb.PageCacheOffset != 0)
        {
            uint slots = sb.PageCacheSlotCount;
            if (!IsPowerOfTwo(slots) || slots < 8)
                Report(RuleIds.PageCacheSlotCount, SuperblockV8.Offsets.PageCacheSlotCount, null,
                    $"The page cache slot count {slots} is not a power of two of at least 8.");
            Offset128 min = (Offset128)B + AlignUp128((Offset128)slots * PageCacheSlotSize, (uint)B) + (Offset128)slots * B;
            if (sb.PageCacheSize < min)
            {
                Report(RuleIds.PageCacheTooSmall, SuperblockV8.Offsets.PageCacheSize, null,
                    $"The page cache region is {sb.PageCacheSize} bytes; {slots} slots need {min} (header, slot records, pages).");
                pcacheIn = false;
            }
        }
        var regions = new[] { baseR, ovlR, pcR };
        foreach (var r in regions)
            if (r.Offset != 0 && r.Size > 0 && r.Offset < SuperblockV8.RecordSize)
                Report(RuleIds.RegionOverlapsSuper, r.Field, null, $"The {r.Name} at {Hex(r.Offset)} ({r.Size} bytes) overlaps the {SuperblockV8.RecordSize}-byte superblock.");
        for (int i = 0; i < regions.Length; i++)
            for (int j = i + 1; j < regions.Length; j++)
            {
                var a = regions[i];
                var b = regions[j];
                if (a.Offset != 0 && b.Offset != 0 && a.Size > 0 && b.Size > 0 && a.Offset < b.Offset + b.Size && b.Offset < a.Offset + a.Size)
                    Report(RuleIds.RegionsOverlap, b.Field, null, $"The {a.Name} [{Hex(a.Offset)}, +{a.Size}) and the {b.Name} [{Hex(b.Offset)}, +{b.Size}) overlap.");
            }
        if (sb.PageCacheOffset != 0 && sb.BaseOffset == 0 && sb.OverlayOffset == 0) pcacheIn = false;
    }

    private void CheckPageCacheV2()
    {
        ulong pc = _sb8.PageCacheOffset;
        var h = PageCacheHeaderV2.Read(Bytes(pc, PageCacheHeaderV2.RecordSize));
        if (h.Magic != PageCacheMagic)
        {
            Report(RuleIds.PageCacheV2Magic, (long)pc, null, $"The page cache magic is 0x{h.Magic:x8}, not 0x{PageCacheMagic:x8}: the kernel refuses the mount.");
            return;
        }
        if (h.Version != DaxFsV8Constants.PageCacheVersion)
            Report(RuleIds.PageCacheHeader, (long)pc + PageCacheHeaderV2.Offsets.Version, null, $"The page cache version is {h.Version}, not {DaxFsV8Constants.PageCacheVersion}.");
        uint slots = _sb8.PageCacheSlotCount;
        Offset128 size = _sb8.PageCacheSize, B = _blockV8;
        Offset128 metaStart = h.SlotMetaOffset, metaEnd = metaStart + (Offset128)slots * PageCacheSlotSize;
        Offset128 dataStart = h.SlotDataOffset, dataEnd = dataStart + (Offset128)slots * B;
        string? problem = null;
        if (metaStart < B || metaEnd > size) problem = $"its slot records [{Hex(metaStart)}, {Hex(metaEnd)}) are not inside the region after the header block (region size {size})";
        else if (dataStart < B || dataEnd > size) problem = $"its slot pages [{Hex(dataStart)}, {Hex(dataEnd)}) are not inside the region after the header block (region size {size})";
        else if (metaStart < dataEnd && dataStart < metaEnd) problem = "its slot records and pages overlap";
        if (problem is not null)
            Report(RuleIds.PageCacheLayout, (long)pc + PageCacheHeaderV2.Offsets.SlotMetaOffset, null, $"The page cache layout is wrong: {problem}.");
    }

    private void CheckOverlayHeader()
    {
        ulong ov = _sb8.OverlayOffset;
        var h = OverlayHeader.Read(Bytes(ov, OverlayHeader.RecordSize));
        if (h.Magic != DaxFsV8Constants.OverlayMagic)
        {
            Report(RuleIds.OverlayMagic, (long)ov, null, $"The overlay magic is 0x{h.Magic:x8}, not 0x{DaxFsV8Constants.OverlayMagic:x8}: the kernel refuses the mount.");
            return;
        }
        if (h.Version != DaxFsV8Constants.OverlayVersion)
        {
            Report(RuleIds.OverlayVersion, (long)ov + OverlayHeader.Offsets.Version, null, $"The overlay version is {h.Version}, not {DaxFsV8Constants.OverlayVersion}: the kernel refuses the mount.");
            return;
        }
        if (HeaderChecksV8.OverlayLayout(_sb8, h) is { } layout)
        {
            Report(RuleIds.OverlayLayout, (long)ov + OverlayHeader.Offsets.BucketOffset, null, layout);
            return;
        }
        _pool = ov + h.PoolOffset;
        _poolSize = h.PoolSize;
        _poolAlloc = h.PoolAlloc;
        if (h.PoolAlloc > h.PoolSize)
            Report(RuleIds.OverlayLayout, (long)ov + OverlayHeader.Offsets.PoolAlloc, null,
                $"pool_alloc {h.PoolAlloc} exceeds pool_size {h.PoolSize}: the kernel would hand out entries past the pool.");
        _overlayHeader = h;
        _overlayOk = true;
    }

    private OverlayHeader _overlayHeader;

    // The base: the format-5 passes over the v8 geometry (data offsets from base_offset; the base's own bound is base_size).
    private void CheckBaseV8()
    {
        var sb = _sb8;
        _baseOffset = sb.BaseOffset;
        _count = sb.InodeCount;
        _external = sb.PageCacheOffset != 0;
        if (_external && _options.BackingFileLength is null)
            Report(RuleIds.ExternalData, SuperblockV8.Offsets.PageCacheOffset, null,
                "Regular-file data lives in a backing file (or an export folder); its extents were not checked (no backing file length given).");
        if (Report(HeaderChecksV8.HasInodes(sb))) return;
        bool tableBad = Report(HeaderChecksV8.InodeTable(sb));
        Offset128 tableLen = (Offset128)_count * InodeSize;
        Offset128 tableAbs = (Offset128)sb.BaseOffset + sb.InodeOffset;
        if (!InImage(tableAbs, tableLen))
        {
            if (!tableBad)
                Report(RuleIds.ImageTruncated, Off(tableAbs), null, $"The inode table ({_count} inodes at {Hex(tableAbs)}) runs past the end of the image ({_length} bytes).");
            return;
        }
        _tableAbs = (ulong)tableAbs;
        _base = new BaseSuperblock { TotalSize = sb.BaseSize, InodeCount = sb.InodeCount, RootInode = sb.RootInode, InodeOffset = sb.InodeOffset, DataOffset = sb.DataOffset };
        bool rootOk = true;
        uint root = sb.RootInode;
        if (root < 1 || root > _count)
        {
            Report(RuleIds.RootInodeRange, SuperblockV8.Offsets.RootInode, null, $"The root inode number {root} is outside 1..{_count}.");
            rootOk = false;
            root = 1;
        }
        else if (root != 1)
            Report(RuleIds.RootNotInodeOne, SuperblockV8.Offsets.RootInode, null, $"root_inode is {root}, but the kernel always mounts inode 1 as the root.");
        uint oneMode = BaseInode.Read(Bytes((ulong)InodeRecord(1), InodeSize)).Mode;
        if (Report(HeaderChecks.RootIsDirectory(1, oneMode, InodeRecord(1)), 1)) rootOk = false;
        CheckBaseObjects(rootOk, 1, SuperblockV8.Offsets.InodeCount);
    }

    // ---- overlay entries -----------------------------------------------------------------------------------

    /// <summary>The pool offset's entry of <paramref name="size"/> bytes lies inside the handed-out pool.</summary>
    private bool EntryIn(ulong off, ulong size) => off <= _poolSize && size <= _poolSize - off && off + size <= Math.Max(_poolAlloc, 0) && InImage((Offset128)_pool + off, size);

    private ReadOnlySpan<byte> Entry(ulong off, int size) => Bytes(_pool + off, size);

    private long PoolAt(ulong off) => Off((Offset128)_pool + Math.Min(off, _poolSize));

    private void CheckOverlayEntries()
    {
        var h = _overlayHeader;
        ulong n = _sb8.OverlayBucketCount, mask = n - 1;
        ulong table = _sb8.OverlayOffset + h.BucketOffset;
        ulong B = _blockV8;
        int maxSteps = (int)Math.Min(int.MaxValue, _poolSize / OverlayDirentEntry.RecordSize + 1);

        // Reachability: a probe from a key's home stops at the first unused bucket.
        ulong first = 0;
        bool anyUnused = false;
        for (ulong i = 0; i < n; i++)
            if ((Superblock.U64(Bytes(table + i * 16, 8), 0) & 1) == 0) { first = (i + 1) & mask; anyUnused = true; break; }
        var seen = new Dictionary<ulong, ulong>();       // key -> bucket first found on its probe
        var inodes = new Dictionary<ulong, OverlayInodeEntry>();
        var dataKeys = new Dictionary<ulong, ulong>();   // DATA key -> the page its probe finds
        var dataPage0 = new Dictionary<ulong, ulong>();  // ino -> pool offset of page 0
        var liveDirents = new List<(ulong Off, OverlayDirentEntry E)>();
        var direntSeen = new HashSet<ulong>();           // pool offsets of dirents already checked (chains may share tails)
        ulong runStart = first;
        for (ulong step = 0; step < n; step++)
        {
            if ((step & 0xFFF) == 0) _ct.ThrowIfCancellationRequested();
            ulong p = (first + step) & mask;
            var b = OverlayBucket.Read(Bytes(table + p * 16, 16));
            long at = Off((Offset128)table + p * 16);
            if (!b.Used) { runStart = (p + 1) & mask; continue; }
            ulong key = b.Key, home = key & mask, off = b.Value;
            if (anyUnused && ((home - runStart) & mask) > ((p - runStart) & mask))
                Report(RuleIds.OverlayKeyMismatch, at, null, $"Bucket {p} (key 0x{key:x}) cannot be found: an unused bucket lies between its home bucket {home} and it.");
            else if (!seen.TryAdd(key, p))
                Report(RuleIds.OverlayKeyMismatch, at, null, $"Bucket {p} holds key 0x{key:x} again (bucket {seen[key]} has it): a probe finds only the first.");
            ulong suffix = key & OverlayKeys.SuffixMask, ino = key >> OverlayKeys.InoShift;
            if (!EntryIn(off, 4))
            {
                Report(RuleIds.OverlayBucketValue, at + OverlayBucket.Offsets.Value, null, $"Bucket {p} (key 0x{key:x}) points at pool offset {Hex(off)}, outside the pool's used {_poolAlloc} bytes.");
                continue;
            }
            uint type = Superblock.U32(Entry(off, 4), 0);
            if (suffix == OverlayKeys.InodeSuffix)
            {
                if (!EntryIn(off, OverlayInodeEntry.RecordSize)) { Report(RuleIds.OverlayBucketValue, at + OverlayBucket.Offsets.Value, null, $"The INODE entry of inode {ino} at pool offset {Hex(off)} runs past the pool's used bytes."); continue; }
                if (type != (uint)OverlayEntryType.Inode) { Report(RuleIds.OverlayEntryType, PoolAt(off), null, $"The entry for inode {ino} at pool offset {Hex(off)} has type {type}, not 1 (INODE)."); continue; }
                var e = OverlayInodeEntry.Read(Entry(off, OverlayInodeEntry.RecordSize));
                if (TypeOf(e.Mode) == DaxFsItemType.Unknown)
                    Report(RuleIds.InodeType, PoolAt(off) + OverlayInodeEntry.Offsets.Mode, null, $"The overlay INODE entry of inode {ino} has unsupported file type 0{Octal((e.Mode & S_IFMT) >> 12)} (mode {Octal(e.Mode)}).");
                inodes[ino] = e;
                continue;
            }
            if (suffix == OverlayKeys.DirListSuffix)
            {
                if (!EntryIn(off, OverlayDirListEntry.RecordSize)) { Report(RuleIds.OverlayBucketValue, at + OverlayBucket.Offsets.Value, null, $"The DIRLIST entry of directory {ino} at pool offset {Hex(off)} runs past the pool's used bytes."); continue; }
                if (type != (uint)OverlayEntryType.DirList) { Report(RuleIds.OverlayEntryType, PoolAt(off), null, $"The list entry of directory {ino} at pool offset {Hex(off)} has type {type}, not 4 (DIRLIST)."); continue; }
                WalkDirList(ino, OverlayDirListEntry.Read(Entry(off, OverlayDirListEntry.RecordSize)).First, maxSteps);
                continue;
            }
            if (type == (uint)OverlayEntryType.Dirent && EntryIn(off, OverlayDirentEntry.RecordSize))
            {
                var head = OverlayDirentEntry.Read(Entry(off, OverlayDirentEntry.RecordSize));
                if (head.NameLength is > 0 and <= NameMax && OverlayKeys.Dirent(head.ParentIno, head.Name) == key)
                {
                    WalkChain(key, off, maxSteps, direntSeen, liveDirents);
                    continue;
                }
            }
            // A DATA page: a whole page inside the pool.
            if (!EntryIn(off, B))
            {
                Report(RuleIds.OverlayBucketValue, at + OverlayBucket.Offsets.Value, null, $"The DATA page (inode {ino}, page {suffix}) at pool offset {Hex(off)} runs past the pool's used bytes.");
                continue;
            }
            if (seen.TryGetValue(key, out ulong firstBucket) && firstBucket == p)
            {
                dataKeys.TryAdd(key, off);
                if (suffix == 0) dataPage0[ino] = off;
            }
        }

        // Live dirents name inodes that resolve; overlay symlinks have a NUL-terminated target; next_ino is past every inode.
        foreach (var (off, e) in liveDirents)
            if (!inodes.ContainsKey(e.ChildIno) && !(e.ChildIno >= 1 && e.ChildIno <= _count))
                Report(RuleIds.OverlayDirentName, PoolAt(off) + OverlayDirentEntry.Offsets.ChildIno, null,
                    $"The overlay dirent '{System.Text.Encoding.UTF8.GetString(e.Name)}' (parent {e.ParentIno}) names inode {e.ChildIno}, which has no INODE entry and is not a base inode.");
        ulong maxIno = _v8 ? _sb8.InodeCount : 0;
        foreach (var (ino, e) in inodes)
        {
            if (ino > maxIno) maxIno = ino;
            if (TypeOf(e.Mode) != DaxFsItemType.SymbolicLink) continue;
            if (!dataPage0.TryGetValue(ino, out ulong p0))
            {
                if (!(ino >= 1 && ino <= _count))
                    Report(RuleIds.OverlaySymlinkTarget, -1, null, $"Overlay symlink inode {ino} has no target page (DATA page 0).");
                continue;
            }
            if (Entry(p0, (int)B).IndexOf((byte)0) < 0)
                Report(RuleIds.OverlaySymlinkTarget, PoolAt(p0), null, $"The target of overlay symlink inode {ino} has no NUL within its page.");
        }
        if (h.NextIno <= maxIno)
            Report(RuleIds.OverlayNextIno, Off((Offset128)_sb8.OverlayOffset + OverlayHeader.Offsets.NextIno), null,
                $"next_ino is {h.NextIno}, but inode {maxIno} exists: the next file made through a mount would reuse an inode number.");
        if (_sb8.BaseOffset == 0 && !(inodes.TryGetValue(RootInode, out var root) && TypeOf(root.Mode) == DaxFsItemType.Directory))
            Report(RuleIds.V8NoRoot, Off(_sb8.OverlayOffset), null, "The image has no base and the overlay has no directory INODE entry for inode 1: the kernel cannot mount it.");

        CheckFreeList(h.FreeInode, OverlayHeader.Offsets.FreeInode, "INODE");
        CheckFreeList(h.FreeData, OverlayHeader.Offsets.FreeData, "DATA");
        CheckFreeList(h.FreeDirent, OverlayHeader.Offsets.FreeDirent, "DIRENT");

        if (_errors.Count == 0) ReportLostAppends(inodes, dataKeys);
    }

    private bool CheckDirent(ulong off, OverlayDirentEntry e, string what)
    {
        long at = PoolAt(off);
        if (e.Type != (uint)OverlayEntryType.Dirent)
        {
            Report(RuleIds.OverlayEntryType, at, null, $"{what} links pool offset {Hex(off)}, whose type is {e.Type}, not 3 (DIRENT).");
            return false;
        }
        var field = e.NameField.AsSpan();
        if (e.NameLength is 0 or > NameMax)
        {
            Report(RuleIds.OverlayDirentName, at + OverlayDirentEntry.Offsets.NameLength, null, $"The overlay dirent at pool offset {Hex(off)} has name length {e.NameLength}, outside 1..255.");
            return false;
        }
        var name = field[..e.NameLength];
        bool dots = name.Length <= 2 && name.IndexOfAnyExcept((byte)'.') < 0;
        if (dots || name.IndexOfAny((byte)'/', (byte)0) >= 0 || field[e.NameLength] != 0)
            Report(RuleIds.OverlayDirentName, at + OverlayDirentEntry.Offsets.Name, null,
                $"The overlay dirent at pool offset {Hex(off)} has the name {Show(name)}: a name is not '.' or '..', holds no '/' or NUL and ends with a NUL.");
        return true;
    }

    private void WalkChain(ulong key, ulong off, int maxSteps, HashSet<ulong> checkedOffsets, List<(ulong, OverlayDirentEntry)> live)
    {
        int steps = 0;
        for (ulong cur = off; cur != DaxFsV8Constants.None;)
        {
            if (++steps > maxSteps || !checkedOffsets.Add(cur))
            {
                Report(RuleIds.OverlayChainCycle, PoolAt(cur), null, $"The dirent chain of key 0x{key:x} comes back to pool offset {Hex(cur)}: it loops (the kernel's lookup would never end).");
                return;
            }
            if (!EntryIn(cur, OverlayDirentEntry.RecordSize))
            {
                Report(RuleIds.OverlayChainCycle, PoolAt(cur), null, $"The dirent chain of key 0x{key:x} links pool offset {Hex(cur)}, outside the pool's used bytes.");
                return;
            }
            var e = OverlayDirentEntry.Read(Entry(cur, OverlayDirentEntry.RecordSize));
            if (!CheckDirent(cur, e, $"The dirent chain of key 0x{key:x}")) return;
            if (OverlayKeys.Dirent(e.ParentIno, e.Name) != key)
                Report(RuleIds.OverlayKeyMismatch, PoolAt(cur), null, $"The dirent at pool offset {Hex(cur)} is in the chain of key 0x{key:x} but hashes to 0x{OverlayKeys.Dirent(e.ParentIno, e.Name):x}: lookups of it fail.");
            if (!e.Tombstone) live.Add((cur, e));
            cur = e.Next;
        }
    }

    private void WalkDirList(ulong dir, ulong first, int maxSteps)
    {
        var visited = new HashSet<ulong>();
        int steps = 0;
        for (ulong cur = first; cur != DaxFsV8Constants.None;)
        {
            if (++steps > maxSteps || !visited.Add(cur))
            {
                Report(RuleIds.OverlayDirListCycle, PoolAt(cur), null, $"The list of directory {dir} comes back to pool offset {Hex(cur)}: it loops (the kernel's readdir would never end).");
                return;
            }
            if (!EntryIn(cur, OverlayDirentEntry.RecordSize))
            {
                Report(RuleIds.OverlayDirListCycle, PoolAt(cur), null, $"The list of directory {dir} links pool offset {Hex(cur)}, outside the pool's used bytes.");
                return;
            }
            var e = OverlayDirentEntry.Read(Entry(cur, OverlayDirentEntry.RecordSize));
            if (!CheckDirent(cur, e, $"The list of directory {dir}")) return;
            cur = e.DirNext;
        }
    }

    private void CheckFreeList(ulong head, int field, string kind)
    {
        if (OverlayHeader.FreeListEmpty(head)) return;
        long at = Off((Offset128)_sb8.OverlayOffset + (uint)field);
        ulong max = _poolSize / 8 + 1, steps = 0;
        var visited = new HashSet<ulong>();
        for (ulong cur = head & DaxFsV8Constants.FreeOffsetMask; cur != DaxFsV8Constants.None;)
        {
            if (++steps > max || !visited.Add(cur))
            {
                Report(RuleIds.OverlayFreeList, at, null, $"The {kind} free list comes back to pool offset {Hex(cur)}: it loops (the kernel's allocator would never end).");
                return;
            }
            if (!EntryIn(cur, 8))
            {
                Report(RuleIds.OverlayFreeList, at, null, $"The {kind} free list links pool offset {Hex(cur)}, outside the pool's used bytes: the kernel would hand out memory outside the pool.");
                return;
            }
            cur = Superblock.U64(Entry(cur, 8), 0);
        }
    }

    /// <summary>Base files without an INODE entry whose overlay page holds bytes past their size (what a mount does not show).</summary>
    private void ReportLostAppends(Dictionary<ulong, OverlayInodeEntry> inodes, Dictionary<ulong, ulong> dataKeys)
    {
        if (_count == 0 || _tableAbs == 0) return;
        ulong B = _blockV8;
        foreach (var (key, off) in dataKeys)
        {
            ulong ino = key >> OverlayKeys.InoShift, page = key & OverlayKeys.SuffixMask;
            if (ino < 1 || ino > _count || inodes.ContainsKey(ino)) continue;
            var b = BaseInode.Read(Bytes((ulong)InodeRecord((uint)ino), InodeSize));
            if (TypeOf(b.Mode) != DaxFsItemType.File) continue;
            Offset128 pageStart = (Offset128)page * B;
            if (pageStart + B <= b.Size) continue;
            if (off == ulong.MaxValue || !EntryIn(off, B)) continue;
            int from = b.Size > pageStart ? (int)(b.Size - (ulong)pageStart) : 0;
            int last = Entry(off, (int)B)[from..].LastIndexOfAnyExcept((byte)0);
            if (last >= 0)
                Report(RuleIds.OverlayLostAppend, PoolAt(off), (uint)ino,
                    $"Base file inode {ino} has no INODE entry, but its overlay page {page} holds {last + 1} bytes past its size {b.Size}: an append a mount does not show (the kernel keeps the base size).");
        }
    }
}
