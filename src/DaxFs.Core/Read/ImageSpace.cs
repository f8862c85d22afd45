using DaxFs.Core.Format;
using DaxFs.Core.Format.V8;

namespace DaxFs.Core.Read;

/// <summary>What a byte of an image holds (the categories of <see cref="ImageSpace"/>).</summary>
public enum SpaceKind
{
    /// <summary>Block 0: the superblock record and the zeros after it (format 8: one block of block_size, the page size).</summary>
    Superblock,
    /// <summary>The branch table (256 records of 128 bytes) of a branching or split image.</summary>
    BranchTable,
    /// <summary>The first block of the base image: the base superblock (format 5; format 8 has none).</summary>
    BaseSuperblock,
    /// <summary>The inode records (64 bytes each), empty slots included.</summary>
    InodeTable,
    /// <summary>Directory entry arrays (272-byte stride; the last entry's pad byte is counted as padding).</summary>
    Directories,
    /// <summary>Regular-file bytes stored in the image (each inode once, however many names it has).</summary>
    FileData,
    /// <summary>Symbolic-link targets and their NUL.</summary>
    SymlinkTargets,
    /// <summary>Alignment padding: bytes inside the image's total_size that no structure uses (objects start on a block).</summary>
    Padding,
    /// <summary>The part of the delta region handed out to branch logs.</summary>
    DeltaUsed,
    /// <summary>The part of the delta region not yet handed out.</summary>
    DeltaFree,
    /// <summary>Format 8: the overlay's header block and its bucket table (16 bytes a bucket).</summary>
    OverlayIndex,
    /// <summary>Format 8: the part of the overlay pool handed out (pool_alloc: inodes, dirents, data pages a mount wrote).</summary>
    OverlayUsed,
    /// <summary>Format 8: the part of the overlay pool not yet handed out, the room left for a read-write mount's writes.</summary>
    OverlayFree,
    /// <summary>The page cache region of a split image (header, slot records, cached pages).</summary>
    PageCache,
    /// <summary>Bytes of the file or memory region beyond the image's total_size.</summary>
    Trailing,
}

/// <summary>The bytes of one <see cref="SpaceKind"/> and the number of objects that own them.</summary>
public sealed record SpaceUsage(SpaceKind Kind, long Bytes, long Objects);

/// <summary>A file or directory among the largest of an image: its path, its bytes, its entries (directories).</summary>
public sealed record SpaceEntry(string Path, long Bytes, long Entries);

/// <summary>Where the bytes of an image go (the result of <see cref="ImageSpace.Measure"/>).</summary>
public sealed class ImageSpaceReport
{
    /// <summary>Bytes of the file or memory region measured; the <see cref="Usage"/> bytes add up to exactly this.</summary>
    public required long Length { get; init; }
    public required long TotalSize { get; init; }
    /// <summary>The block every structure is aligned to: 4096 for format 5, block_size (the page size it was built for) for format 8.</summary>
    public long BlockSize { get; init; } = DaxFsConstants.BlockSize;
    /// <summary>One row per <see cref="SpaceKind"/>, in the order of the enum, zero rows included.</summary>
    public required IReadOnlyList<SpaceUsage> Usage { get; init; }
    /// <summary>Regular-file bytes of a split image, kept in its backing file (not part of <see cref="Length"/>).</summary>
    public required long ExternalFileBytes { get; init; }
    /// <summary>Sum of the sizes of distinct regular files (the data a tree's files hold).</summary>
    public required long FileBytes { get; init; }
    public required long Files { get; init; }
    public required long Directories { get; init; }
    public required long Symlinks { get; init; }
    /// <summary>Inode slots that hold no object (mkdaxfs leaves one per extra hard-link name).</summary>
    public required long EmptyInodes { get; init; }
    /// <summary>Extra names of regular files (names beyond the first of each inode): data stored once.</summary>
    public required long HardLinkNames { get; init; }
    /// <summary>The largest regular files by size (one path per inode), largest first.</summary>
    public required IReadOnlyList<SpaceEntry> LargestFiles { get; init; }
    /// <summary>The directories whose trees hold the most file bytes (each inode counted once per directory tree), largest first.</summary>
    public required IReadOnlyList<SpaceEntry> LargestDirectories { get; init; }

    public long this[SpaceKind kind] => Usage[(int)kind].Bytes;
}

/// <summary>
/// Space accounting of an image, as <c>unsquashfs -s</c> and <c>dump.erofs -s</c> give it: every byte of the image is
/// counted once, in one category, so the categories add up to the image's length exactly. Structures come from the
/// superblocks and the inode table (every inode slot, reachable or not); where a malformed image makes two structures
/// overlap, the bytes go to the one that starts first; bytes outside every structure are padding, or trailing bytes
/// past total_size. The largest files and directories come from a walk of the tree.
/// </summary>
public static class ImageSpace
{
    private readonly record struct Extent(ulong Start, ulong End, SpaceKind Kind);

    public static ImageSpaceReport Measure(DaxFsImageReader reader, int top = 10, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(reader);
        if (top < 0) throw new ArgumentOutOfRangeException(nameof(top));
        ulong length = (ulong)reader.Memory.Length;
        bool v8 = reader.Generation == DaxFsFormat.Format8;
        var extents = new List<Extent>();
        var objects = new long[Enum.GetValues<SpaceKind>().Length];

        void AddExtent(SpaceKind kind, ulong start, ulong bytes, ulong limit)
        {
            ulong end = Math.Min(Add(start, bytes), Math.Min(limit, length));
            if (start < end) extents.Add(new Extent(start, end, kind));
        }

        ulong baseStart, baseEnd, totalSize, blockSize;
        if (v8)
        {
            var sb8 = reader.Superblock8;
            blockSize = sb8.BlockSize;
            totalSize = sb8.TotalSize;
            baseStart = sb8.BaseOffset;
            baseEnd = reader.HasBase ? Add(sb8.BaseOffset, sb8.BaseSize) : 0;
            AddExtent(SpaceKind.Superblock, 0, blockSize, length);
            objects[(int)SpaceKind.Superblock] = 1;
            if (sb8.OverlayOffset != 0) AddOverlay(reader, sb8, length, AddExtent, objects);
            if (sb8.PageCacheOffset != 0 && sb8.PageCacheSize > 0)
            {
                AddExtent(SpaceKind.PageCache, sb8.PageCacheOffset, sb8.PageCacheSize, length);
                objects[(int)SpaceKind.PageCache] = sb8.PageCacheSlotCount;
            }
        }
        else
        {
            var sb = reader.Superblock;
            blockSize = DaxFsConstants.BlockSize;
            totalSize = sb.TotalSize;
            baseStart = sb.BaseOffset;
            baseEnd = Add(sb.BaseOffset, sb.BaseSize);
            AddExtent(SpaceKind.Superblock, 0, DaxFsConstants.BlockSize, length);
            objects[(int)SpaceKind.Superblock] = 1;
            if (sb.BranchTableEntries > 0 && sb.BranchTableOffset != 0)
            {
                AddExtent(SpaceKind.BranchTable, sb.BranchTableOffset, (ulong)sb.BranchTableEntries * DaxFsConstants.BranchRecordSize, length);
                objects[(int)SpaceKind.BranchTable] = sb.BranchTableEntries;
            }
            AddExtent(SpaceKind.BaseSuperblock, baseStart, DaxFsConstants.BlockSize, baseEnd);
            objects[(int)SpaceKind.BaseSuperblock] = 1;
            if (sb.DeltaRegionSize > 0 && sb.DeltaRegionOffset != 0)
            {
                ulong used = sb.DeltaAllocOffset >= sb.DeltaRegionOffset ? Math.Min(sb.DeltaAllocOffset - sb.DeltaRegionOffset, sb.DeltaRegionSize) : 0;
                AddExtent(SpaceKind.DeltaUsed, sb.DeltaRegionOffset, used, length);
                AddExtent(SpaceKind.DeltaFree, Add(sb.DeltaRegionOffset, used), sb.DeltaRegionSize - used, length);
            }
            if (sb.PageCacheOffset != 0 && sb.PageCacheSize > 0)
            {
                AddExtent(SpaceKind.PageCache, sb.PageCacheOffset, sb.PageCacheSize, length);
                objects[(int)SpaceKind.PageCache] = sb.PageCacheSlotCount;
            }
        }
        uint inodeCount = reader.InodeCount;
        if (inodeCount > 0)
        {
            AddExtent(SpaceKind.InodeTable, (ulong)reader.InodeOffset(1), (ulong)inodeCount * DaxFsConstants.InodeSize, baseEnd);
            objects[(int)SpaceKind.InodeTable] = inodeCount;
        }

        long files = 0, dirs = 0, links = 0, empty = 0, fileBytes = 0, external = 0;
        for (uint ino = 1; ino <= inodeCount; ino++)
        {
            if ((ino & 0xFFF) == 0) cancellationToken.ThrowIfCancellationRequested();
            var inode = reader.GetInode(ino);
            ulong at = Add(baseStart, inode.DataOffset);
            switch (ModeBits.TypeOf(inode.Mode))
            {
                case DaxFsItemType.File:
                    files++;
                    fileBytes = SatAdd(fileBytes, inode.Size);
                    if (reader.HasExternalData) external = SatAdd(external, inode.Size);
                    else if (inode.Size > 0) { AddExtent(SpaceKind.FileData, at, inode.Size, baseEnd); objects[(int)SpaceKind.FileData]++; }
                    break;
                case DaxFsItemType.Directory:
                    dirs++;
                    ulong count = DaxFsImageReader.EntryCount(inode);
                    if (count > 0 && count <= (ulong.MaxValue - DaxFsConstants.DirentSize) / DaxFsConstants.DirentStride)
                    {
                        AddExtent(SpaceKind.Directories, at, (count - 1) * DaxFsConstants.DirentStride + DaxFsConstants.DirentSize, baseEnd);
                        objects[(int)SpaceKind.Directories]++;
                    }
                    break;
                case DaxFsItemType.SymbolicLink:
                    links++;
                    AddExtent(SpaceKind.SymlinkTargets, at, Add(inode.Size, 1), baseEnd);
                    objects[(int)SpaceKind.SymlinkTargets]++;
                    break;
                default:
                    if (inode.Mode == 0) empty++;
                    break;
            }
        }

        // Sweep: each byte once, to the structure that starts first; the gaps are padding up to total_size, trailing after.
        extents.Sort((x, y) => x.Start != y.Start ? x.Start.CompareTo(y.Start) : x.Kind.CompareTo(y.Kind));
        var bytes = new long[objects.Length];
        ulong imageEnd = Math.Min(totalSize, length);
        void Gap(ulong from, ulong to)
        {
            if (from >= to) return;
            ulong split = Math.Clamp(imageEnd, from, to);
            bytes[(int)SpaceKind.Padding] += (long)(split - from);
            bytes[(int)SpaceKind.Trailing] += (long)(to - split);
        }
        ulong cursor = 0;
        foreach (var e in extents)
        {
            Gap(cursor, e.Start);
            ulong from = Math.Max(e.Start, cursor);
            if (e.End > from) { bytes[(int)e.Kind] += (long)(e.End - from); cursor = e.End; }
        }
        Gap(cursor, length);

        var usage = new SpaceUsage[bytes.Length];
        for (int k = 0; k < bytes.Length; k++) usage[k] = new SpaceUsage((SpaceKind)k, bytes[k], objects[k]);

        // The largest files and directories are those of the base tree (an overlay-only image has none; what a mount wrote
        // into the overlay is counted as OverlayUsed).
        var (largestFiles, largestDirs, hardLinkNames) = reader.HasBase
            ? Largest(reader, top, cancellationToken)
            : (Array.Empty<SpaceEntry>(), Array.Empty<SpaceEntry>(), 0L);
        return new ImageSpaceReport
        {
            Length = (long)length,
            TotalSize = totalSize > long.MaxValue ? long.MaxValue : (long)totalSize,
            BlockSize = (long)blockSize,
            Usage = usage,
            ExternalFileBytes = external,
            FileBytes = fileBytes,
            Files = files,
            Directories = dirs,
            Symlinks = links,
            EmptyInodes = empty,
            HardLinkNames = hardLinkNames,
            LargestFiles = largestFiles,
            LargestDirectories = largestDirs,
        };
    }

    /// <summary>
    /// The overlay region of a format-8 image: its header block and bucket table (index), the pool up to pool_alloc (used)
    /// and the rest of the pool (free); the zeros between table and pool are padding. When the header cannot be read or
    /// does not lay the table and pool out inside the region, the whole region counts as index (Test-DaxFsImage names
    /// the fault).
    /// </summary>
    private static void AddOverlay(DaxFsImageReader reader, in SuperblockV8 sb, ulong length, Action<SpaceKind, ulong, ulong, ulong> add, long[] objects)
    {
        ulong start = sb.OverlayOffset, end = Math.Min(Add(start, sb.OverlaySize), length);
        if (start >= end) return;
        if (sb.OverlaySize < OverlayHeader.RecordSize || end - start < OverlayHeader.RecordSize)
        {
            add(SpaceKind.OverlayIndex, start, sb.OverlaySize, end);
            return;
        }
        var h = OverlayHeader.Read(reader.Memory.Span(start, OverlayHeader.RecordSize));
        ulong tableBytes = (ulong)sb.OverlayBucketCount * DaxFsV8Constants.BucketSize;
        if (h.Magic != DaxFsV8Constants.OverlayMagic || HeaderChecksV8.OverlayLayout(sb, h) is not null
            || Add(start, Add(h.BucketOffset, tableBytes)) > end || Add(start, Add(h.PoolOffset, h.PoolSize)) > end)
        {
            add(SpaceKind.OverlayIndex, start, sb.OverlaySize, end);
            return;
        }
        add(SpaceKind.OverlayIndex, start, OverlayHeader.RecordSize, end);
        add(SpaceKind.OverlayIndex, start + h.BucketOffset, tableBytes, end);
        // Buckets in use: one per key the overlay holds (an inode, a directory's list, a data page, a chain of dirents).
        long used = 0;
        ulong table = start + h.BucketOffset;
        for (ulong i = 0; i < sb.OverlayBucketCount; i++)
            if (OverlayBucket.Read(reader.Memory.Span(table + i * OverlayBucket.RecordSize, OverlayBucket.RecordSize)).Used) used++;
        objects[(int)SpaceKind.OverlayIndex] = sb.OverlayBucketCount;
        ulong alloc = Math.Min(h.PoolAlloc, h.PoolSize);
        add(SpaceKind.OverlayUsed, start + h.PoolOffset, alloc, end);
        objects[(int)SpaceKind.OverlayUsed] = used;
        add(SpaceKind.OverlayFree, start + h.PoolOffset + alloc, h.PoolSize - alloc, end);
    }

    /// <summary>One walk of the tree: the <paramref name="top"/> largest files and directory trees, and the extra hard-link names.</summary>
    private static (IReadOnlyList<SpaceEntry>, IReadOnlyList<SpaceEntry>, long) Largest(DaxFsImageReader reader, int top, CancellationToken ct)
    {
        var seen = new HashSet<ulong>();
        var fileHeap = new PriorityQueue<SpaceEntry, (long, string)>(Comparer<(long Bytes, string Path)>.Create(SmallerFirst));
        var dirs = new Dictionary<string, (long Bytes, long Entries)>(StringComparer.Ordinal) { ["/"] = (0, 0) };
        // Each directory tree counts an inode once: the walk lists a directory's entries together, so a file's bytes go
        // to its directory when its first name is met; a second name elsewhere adds nothing (its data is stored once).
        long extraNames = 0;
        foreach (var item in reader.Walk("/", recurse: true, cancellationToken: ct))
        {
            string parent = item.ParentPath;
            var d = dirs.GetValueOrDefault(parent);
            d.Entries++;
            if (item.Type == DaxFsItemType.File)
            {
                if (seen.Add(item.Ino))
                {
                    long size = item.Inode.Size > long.MaxValue ? long.MaxValue : (long)item.Inode.Size;
                    d.Bytes = SatAdd(d.Bytes, (ulong)size);
                    if (top > 0) Offer(fileHeap, new SpaceEntry(item.FullName, size, 0), top);
                }
                else extraNames++;
            }
            else if (item.Type == DaxFsItemType.Directory) dirs.TryAdd(item.FullName, (0, 0));
            dirs[parent] = d;
        }
        // Roll each directory's bytes up into its ancestors, deepest first.
        foreach (var path in dirs.Keys.Where(p => p != "/").OrderByDescending(p => p.Count(c => c == '/')).ThenBy(p => p, StringComparer.Ordinal).ToList())
        {
            int cut = path.LastIndexOf('/');
            string up = cut <= 0 ? "/" : path[..cut];
            var u = dirs[up];
            u.Bytes = SatAdd(u.Bytes, (ulong)dirs[path].Bytes);
            dirs[up] = u;
        }
        var dirHeap = new PriorityQueue<SpaceEntry, (long, string)>(Comparer<(long Bytes, string Path)>.Create(SmallerFirst));
        if (top > 0) foreach (var (path, v) in dirs) Offer(dirHeap, new SpaceEntry(path, v.Bytes, v.Entries), top);
        return (Drain(fileHeap), Drain(dirHeap), extraNames);
    }

    // The heap keeps the largest N: its root is the smallest kept (ties: the path that sorts last goes first).
    private static int SmallerFirst((long Bytes, string Path) x, (long Bytes, string Path) y) =>
        x.Bytes != y.Bytes ? x.Bytes.CompareTo(y.Bytes) : -string.CompareOrdinal(x.Path, y.Path);

    private static void Offer(PriorityQueue<SpaceEntry, (long, string)> heap, SpaceEntry e, int top)
    {
        if (heap.Count < top) heap.Enqueue(e, (e.Bytes, e.Path));
        else heap.EnqueueDequeue(e, (e.Bytes, e.Path));
    }

    private static IReadOnlyList<SpaceEntry> Drain(PriorityQueue<SpaceEntry, (long, string)> heap)
    {
        var list = new List<SpaceEntry>(heap.Count);
        while (heap.Count > 0) list.Add(heap.Dequeue());
        list.Reverse();
        return list;
    }

    private static ulong Add(ulong a, ulong b) => a > ulong.MaxValue - b ? ulong.MaxValue : a + b;
    private static long SatAdd(long a, ulong b) => b > (ulong)(long.MaxValue - a) ? long.MaxValue : a + (long)b;
}
