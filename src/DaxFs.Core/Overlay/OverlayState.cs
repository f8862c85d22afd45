using DaxFs.Core.Format;
using DaxFs.Core.Format.V8;

namespace DaxFs.Core.Overlay;

/// <summary>One free list of the overlay: its head word, and the entries on it (walked, bounded by the pool).</summary>
public readonly record struct OverlayFreeList(ulong Head, bool Empty, ulong Generation, int Length);

/// <summary>
/// The state of a format-8 overlay for an operator: the pool (size, used, free), the hash table (buckets used), entries
/// by kind as the kernel finds them (INODE, DATA, DIRENT with tombstones, DIRLIST), the three free lists and next_ino.
/// </summary>
public sealed record OverlayState(
    ulong PoolSize, ulong PoolUsed, uint BucketCount, int BucketsUsed,
    int InodeEntries, int DataPages, int Dirents, int Tombstones, int DirLists,
    ulong NextIno, OverlayFreeList FreeInode, OverlayFreeList FreeData, OverlayFreeList FreeDirent)
{
    public ulong PoolFree => PoolUsed >= PoolSize ? 0 : PoolSize - PoolUsed;

    /// <summary>Counts the overlay's entries. A key is a DIRENT when the entry it points at is a dirent whose (parent, name) hashes to it; its chain is counted too.</summary>
    /// <exception cref="DaxFsFormatException">An entry, chain or free list leaves the pool or loops.</exception>
    public static OverlayState Of(OverlayView view)
    {
        int inodes = 0, data = 0, dirents = 0, tombstones = 0, lists = 0;
        foreach (var (key, off) in view.Keys)
        {
            ulong suffix = key & OverlayKeys.SuffixMask;
            if (suffix == OverlayKeys.InodeSuffix && IsType(view, off, OverlayEntryType.Inode)) { inodes++; continue; }
            if (suffix == OverlayKeys.DirListSuffix && IsType(view, off, OverlayEntryType.DirList)) { lists++; continue; }
            if (IsDirentOf(view, off, key))
            {
                ulong steps = 0, max = view.Header.PoolSize / OverlayDirentEntry.RecordSize + 1;
                for (ulong cur = off; cur != DaxFsV8Constants.None;)
                {
                    if (++steps > max)
                        throw new DaxFsFormatException(RuleIds.OverlayChainCycle, (long)view.PoolStart, $"The dirent chain of key 0x{key:x} loops.");
                    var e = OverlayDirentEntry.Read(view.PoolBytes(cur, OverlayDirentEntry.RecordSize, RuleIds.OverlayChainCycle));
                    if (e.Type != (uint)OverlayEntryType.Dirent)
                        throw new DaxFsFormatException(RuleIds.OverlayEntryType, (long)(view.PoolStart + cur), $"The dirent chain of key 0x{key:x} links an entry of type {e.Type}.");
                    dirents++;
                    if (e.Tombstone) tombstones++;
                    cur = e.Next;
                }
                continue;
            }
            data++;
        }
        var h = view.Header;
        return new OverlayState(h.PoolSize, h.PoolAlloc, view.BucketCount, view.UsedBuckets, inodes, data, dirents, tombstones, lists, h.NextIno,
            FreeList(view, h.FreeInode, OverlayHeader.Offsets.FreeInode), FreeList(view, h.FreeData, OverlayHeader.Offsets.FreeData),
            FreeList(view, h.FreeDirent, OverlayHeader.Offsets.FreeDirent));
    }

    private static bool IsType(OverlayView view, ulong off, OverlayEntryType type) =>
        off <= view.Header.PoolSize && view.Header.PoolSize - off >= 4 && Superblock.U32(view.PoolBytes(off, 4), 0) == (uint)type;

    /// <summary>True when the entry at <paramref name="off"/> is a DIRENT whose (parent, name) hashes to <paramref name="key"/>.</summary>
    internal static bool IsDirentOf(OverlayView view, ulong off, ulong key)
    {
        if (off > view.Header.PoolSize || view.Header.PoolSize - off < OverlayDirentEntry.RecordSize) return false;
        var e = OverlayDirentEntry.Read(view.PoolBytes(off, OverlayDirentEntry.RecordSize));
        return e.Type == (uint)OverlayEntryType.Dirent && e.NameLength is > 0 and <= DaxFsConstants.NameMax && OverlayKeys.Dirent(e.ParentIno, e.Name) == key;
    }

    /// <summary>Walks a free list: the head's bits 47..0 name the first entry, each entry's first 8 bytes the next (~0 ends it).</summary>
    public static OverlayFreeList FreeList(OverlayView view, ulong head, int headField)
    {
        ulong generation = head >> 48;
        if (OverlayHeader.FreeListEmpty(head)) return new OverlayFreeList(head, true, generation, 0);
        ulong max = view.Header.PoolSize / 8 + 1;
        int length = 0;
        for (ulong cur = head & DaxFsV8Constants.FreeOffsetMask; cur != DaxFsV8Constants.None && cur != DaxFsV8Constants.FreeOffsetMask;)
        {
            if ((ulong)++length > max)
                throw new DaxFsFormatException(RuleIds.OverlayFreeList, (long)(view.PoolStart - view.Header.PoolOffset) + headField,
                    $"The free list headed at overlay header offset {headField} loops.");
            cur = Superblock.U64(view.PoolBytes(cur, 8, RuleIds.OverlayFreeList), 0);
        }
        return new OverlayFreeList(head, false, generation, length);
    }
}
