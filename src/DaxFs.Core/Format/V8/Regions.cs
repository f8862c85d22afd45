using System.Numerics;

namespace DaxFs.Core.Format.V8;

/// <summary>
/// How a format-8 writer lays the regions out and what a new region holds (shared FORMAT-V8.md §1, §2, §4, §6, as mkdaxfs
/// 0.1.0 writes them): the superblock record padded to the block size, the base at one block (no header: the inode table at
/// its offset 0, the data after it on the next block boundary), then the overlay and the page cache, each on a block
/// boundary. A new overlay is empty (or holds only the root, in an overlay-only image); a new page cache has every slot free.
/// </summary>
public static class RegionsV8
{
    /// <summary>The page cache's smallest slot count that the kernel's <c>validate</c> accepts.</summary>
    public const uint MinPageCacheSlots = 8;

    /// <summary>Where base data starts, from base_offset: after the inode table, on a block boundary.</summary>
    public static long DataOffset(long inodeCount, long blockSize) => DaxFsConstants.AlignUp(inodeCount * DaxFsConstants.InodeSize, blockSize);

    /// <summary>Bytes of the bucket table of <paramref name="buckets"/> buckets, padded to a block.</summary>
    public static long BucketTableSize(uint buckets, long blockSize) => DaxFsConstants.AlignUp((long)buckets * OverlayBucket.RecordSize, blockSize);

    /// <summary>overlay_size: header block, bucket table, pool.</summary>
    public static long OverlaySize(uint buckets, long poolSize, long blockSize) => blockSize + BucketTableSize(buckets, blockSize) + poolSize;

    /// <summary>pcache_size: header block, slot records padded to a block, one page per slot.</summary>
    public static long PageCacheSize(uint slots, long blockSize) =>
        blockSize + DaxFsConstants.AlignUp((long)slots * PageCacheSlotV2.RecordSize, blockSize) + (long)slots * blockSize;

    /// <summary>mkdaxfs's page cache slot count for a backing file of <paramref name="backingBytes"/>: the largest power of two not
    /// above its pages, at least 16.</summary>
    public static uint DefaultPageCacheSlots(long backingBytes, long blockSize)
    {
        long pages = (backingBytes + blockSize - 1) / blockSize;
        return pages > 0 ? (uint)Math.Max(16, 1L << BitOperations.Log2((ulong)Math.Min(pages, 1L << 31))) : 16;
    }

    /// <summary>The header of a new overlay: no entry allocated, every free list empty; <paramref name="poolAlloc"/> bytes of the
    /// pool in use (0, or an overlay-only image's root entry) and <paramref name="nextIno"/> the next inode number to hand out.</summary>
    public static OverlayHeader NewOverlay(uint buckets, long poolSize, long blockSize, ulong nextIno, ulong poolAlloc = 0) => new()
    {
        Magic = DaxFsV8Constants.OverlayMagic,
        Version = DaxFsV8Constants.OverlayVersion,
        BucketOffset = (ulong)blockSize,
        PoolOffset = (ulong)(blockSize + BucketTableSize(buckets, blockSize)),
        PoolSize = (ulong)poolSize,
        PoolAlloc = poolAlloc,
        NextIno = nextIno,
        FreeInode = DaxFsV8Constants.None,
        FreeData = DaxFsV8Constants.None,
        FreeDirent = DaxFsV8Constants.None,
    };

    /// <summary>The header of a new page cache of <paramref name="slots"/> slots (every slot free: the records are zero).</summary>
    public static PageCacheHeaderV2 NewPageCache(uint slots, long blockSize) => new()
    {
        Magic = DaxFsConstants.PageCacheMagic,
        Version = DaxFsV8Constants.PageCacheVersion,
        SlotMetaOffset = (ulong)blockSize,
        SlotDataOffset = (ulong)(blockSize + DaxFsConstants.AlignUp((long)slots * PageCacheSlotV2.RecordSize, blockSize)),
    };

    /// <summary>An overlay-only image's root: the INODE entry of inode 1, a directory 0755 with nlink 2, at pool offset 0.</summary>
    public static OverlayInodeEntry OverlayOnlyRoot(uint uid, uint gid) => new()
    {
        Type = (uint)OverlayEntryType.Inode,
        Mode = DaxFsConstants.S_IFDIR | 0x1ED,
        Uid = uid,
        Gid = gid,
        Nlink = 2,
    };

    /// <summary>The bucket an overlay-only image's root entry is found by: the root's INODE key at its home bucket (the last).</summary>
    public static (long Index, OverlayBucket Bucket) OverlayOnlyRootBucket(uint buckets)
    {
        ulong key = OverlayKeys.Inode(DaxFsConstants.RootInode);
        return ((long)(key & (buckets - 1)), OverlayBucket.For(key, 0));
    }
}
