using System.Text;

namespace DaxFs.Core.Format.V8;

// Fixed little-endian records of the DAXFS format 8 (module and mkdaxfs 0.1.0; shared FORMAT-V8.md): the superblock,
// the shared overlay (header, buckets, pool entries) and the page cache v2. Inode and dirent records are format 5's
// (BaseInode, Dirent). Each record reads from a span of at least its size; callers check bounds before slicing.

/// <summary>Constants of format 8.</summary>
public static class DaxFsV8Constants
{
    public const uint Version = 8;
    public const uint OverlayMagic = 0x6f766c79;
    public const uint OverlayVersion = 2;
    public const uint PageCacheVersion = 2;
    /// <summary>The superblock, overlay header and page-cache header are 4096-byte records (each padded to block_size).</summary>
    public const int HeaderRecordSize = 4096;
    public const int MinBlockSize = 4096;
    public const int BucketSize = 16;
    /// <summary>All 64 bits set: "none" for pool offsets, chain ends and empty free lists.</summary>
    public const ulong None = ulong.MaxValue;
    /// <summary>Bits 47..0 of a free-list head: the pool offset (all ones = empty); bits 63..48 a generation.</summary>
    public const ulong FreeOffsetMask = (1UL << 48) - 1;
    public const ulong DefaultPoolSize = 64L * 1024 * 1024;
    public const uint DefaultBucketCount = 65536;
    /// <summary>Slots probed from a page-cache tag's home slot.</summary>
    public const int PageCacheProbe = 8;
    /// <summary>The largest page index a key or tag can name (0xFFFFE and 0xFFFFF are the DIRLIST and INODE keys).</summary>
    public const ulong MaxPageIndex = 0xFFFFD;
}

/// <summary>The format-8 superblock (a 4096-byte record at 0; zero up to block_size).</summary>
public record struct SuperblockV8
{
    public uint Magic, Version, BlockSize, Reserved;
    public ulong TotalSize, BaseOffset, BaseSize, InodeOffset;
    public uint InodeCount, RootInode;
    public ulong DataOffset, OverlayOffset, OverlaySize;
    public uint OverlayBucketCount, OverlayBucketShift;
    public ulong PageCacheOffset, PageCacheSize;
    public uint PageCacheSlotCount, PageCacheHashShift;

    public const int RecordSize = DaxFsV8Constants.HeaderRecordSize;

    /// <summary>Where each field sits in the record (bytes from its start); 112..4095 is zero.</summary>
    public static class Offsets
    {
        public const int Magic = 0, Version = 4, BlockSize = 8, Reserved = 12, TotalSize = 16, BaseOffset = 24, BaseSize = 32,
            InodeOffset = 40, InodeCount = 48, RootInode = 52, DataOffset = 56, OverlayOffset = 64, OverlaySize = 72,
            OverlayBucketCount = 80, OverlayBucketShift = 84, PageCacheOffset = 88, PageCacheSize = 96, PageCacheSlotCount = 104,
            PageCacheHashShift = 108;
    }

    /// <summary>Where the fields end; the rest of the record is zero.</summary>
    public const int FieldsEnd = 112;

    private const uint FieldsFit = RecordSize - FieldsEnd;
    private const uint EndFollows = FieldsEnd - (Offsets.PageCacheHashShift + 4);

    public static SuperblockV8 Read(ReadOnlySpan<byte> b) => new()
    {
        Magic = Superblock.U32(b, Offsets.Magic), Version = Superblock.U32(b, Offsets.Version), BlockSize = Superblock.U32(b, Offsets.BlockSize),
        Reserved = Superblock.U32(b, Offsets.Reserved), TotalSize = Superblock.U64(b, Offsets.TotalSize),
        BaseOffset = Superblock.U64(b, Offsets.BaseOffset), BaseSize = Superblock.U64(b, Offsets.BaseSize),
        InodeOffset = Superblock.U64(b, Offsets.InodeOffset), InodeCount = Superblock.U32(b, Offsets.InodeCount),
        RootInode = Superblock.U32(b, Offsets.RootInode), DataOffset = Superblock.U64(b, Offsets.DataOffset),
        OverlayOffset = Superblock.U64(b, Offsets.OverlayOffset), OverlaySize = Superblock.U64(b, Offsets.OverlaySize),
        OverlayBucketCount = Superblock.U32(b, Offsets.OverlayBucketCount), OverlayBucketShift = Superblock.U32(b, Offsets.OverlayBucketShift),
        PageCacheOffset = Superblock.U64(b, Offsets.PageCacheOffset), PageCacheSize = Superblock.U64(b, Offsets.PageCacheSize),
        PageCacheSlotCount = Superblock.U32(b, Offsets.PageCacheSlotCount), PageCacheHashShift = Superblock.U32(b, Offsets.PageCacheHashShift),
    };

    public readonly void Write(Span<byte> b)
    {
        b[..RecordSize].Clear();
        Superblock.W32(b, Offsets.Magic, Magic); Superblock.W32(b, Offsets.Version, Version); Superblock.W32(b, Offsets.BlockSize, BlockSize);
        Superblock.W32(b, Offsets.Reserved, Reserved); Superblock.W64(b, Offsets.TotalSize, TotalSize);
        Superblock.W64(b, Offsets.BaseOffset, BaseOffset); Superblock.W64(b, Offsets.BaseSize, BaseSize);
        Superblock.W64(b, Offsets.InodeOffset, InodeOffset); Superblock.W32(b, Offsets.InodeCount, InodeCount);
        Superblock.W32(b, Offsets.RootInode, RootInode); Superblock.W64(b, Offsets.DataOffset, DataOffset);
        Superblock.W64(b, Offsets.OverlayOffset, OverlayOffset); Superblock.W64(b, Offsets.OverlaySize, OverlaySize);
        Superblock.W32(b, Offsets.OverlayBucketCount, OverlayBucketCount); Superblock.W32(b, Offsets.OverlayBucketShift, OverlayBucketShift);
        Superblock.W64(b, Offsets.PageCacheOffset, PageCacheOffset); Superblock.W64(b, Offsets.PageCacheSize, PageCacheSize);
        Superblock.W32(b, Offsets.PageCacheSlotCount, PageCacheSlotCount); Superblock.W32(b, Offsets.PageCacheHashShift, PageCacheHashShift);
    }
}

/// <summary>The overlay region's header (a 4096-byte record at overlay_offset; block_size reserved).</summary>
public record struct OverlayHeader
{
    public uint Magic, Version;
    public ulong BucketOffset, PoolOffset, PoolSize, PoolAlloc, NextIno, FreeInode, FreeData, FreeDirent;

    public const int RecordSize = DaxFsV8Constants.HeaderRecordSize;

    /// <summary>Where each field sits in the record; bucket and pool offsets are from overlay_offset.</summary>
    public static class Offsets
    {
        public const int Magic = 0, Version = 4, BucketOffset = 8, PoolOffset = 16, PoolSize = 24, PoolAlloc = 32, NextIno = 40,
            FreeInode = 48, FreeData = 56, FreeDirent = 64;
    }

    private const uint FieldsFit = RecordSize - (Offsets.FreeDirent + 8);

    public static OverlayHeader Read(ReadOnlySpan<byte> b) => new()
    {
        Magic = Superblock.U32(b, Offsets.Magic), Version = Superblock.U32(b, Offsets.Version),
        BucketOffset = Superblock.U64(b, Offsets.BucketOffset), PoolOffset = Superblock.U64(b, Offsets.PoolOffset),
        PoolSize = Superblock.U64(b, Offsets.PoolSize), PoolAlloc = Superblock.U64(b, Offsets.PoolAlloc),
        NextIno = Superblock.U64(b, Offsets.NextIno), FreeInode = Superblock.U64(b, Offsets.FreeInode),
        FreeData = Superblock.U64(b, Offsets.FreeData), FreeDirent = Superblock.U64(b, Offsets.FreeDirent),
    };

    public readonly void Write(Span<byte> b)
    {
        b[..RecordSize].Clear();
        Superblock.W32(b, Offsets.Magic, Magic); Superblock.W32(b, Offsets.Version, Version);
        Superblock.W64(b, Offsets.BucketOffset, BucketOffset); Superblock.W64(b, Offsets.PoolOffset, PoolOffset);
        Superblock.W64(b, Offsets.PoolSize, PoolSize); Superblock.W64(b, Offsets.PoolAlloc, PoolAlloc);
        Superblock.W64(b, Offsets.NextIno, NextIno); Superblock.W64(b, Offsets.FreeInode, FreeInode);
        Superblock.W64(b, Offsets.FreeData, FreeData); Superblock.W64(b, Offsets.FreeDirent, FreeDirent);
    }

    /// <summary>True when a free-list head holds no entry (bits 47..0 all ones).</summary>
    public static bool FreeListEmpty(ulong head) => (head & DaxFsV8Constants.FreeOffsetMask) == DaxFsV8Constants.FreeOffsetMask;
}

/// <summary>One 16-byte bucket of the overlay hash table: state_key (bit 0 used, bits 63..1 the key) and a pool offset.</summary>
public readonly record struct OverlayBucket(ulong StateKey, ulong Value)
{
    public const int RecordSize = DaxFsV8Constants.BucketSize;

    public static class Offsets
    {
        public const int StateKey = 0, Value = 8;
    }

    private const uint FieldsFit = RecordSize - (Offsets.Value + 8);

    public bool Used => (StateKey & 1) != 0;
    public ulong Key => StateKey >> 1;

    public static OverlayBucket Read(ReadOnlySpan<byte> b) => new(Superblock.U64(b, Offsets.StateKey), Superblock.U64(b, Offsets.Value));

    /// <summary>A run of buckets decoded at once: <paramref name="words"/>[2i] is bucket i's state_key, [2i+1] its value.</summary>
    public static void ReadTable(ReadOnlySpan<byte> buckets, Span<ulong> words)
    {
        var raw = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ulong>(buckets[..(buckets.Length / RecordSize * RecordSize)]);
        if (BitConverter.IsLittleEndian) raw.CopyTo(words);
        else for (int k = 0; k < raw.Length; k++) words[k] = System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(raw[k]);
    }

    public void Write(Span<byte> b)
    {
        Superblock.W64(b, Offsets.StateKey, StateKey);
        Superblock.W64(b, Offsets.Value, Value);
    }

    public static OverlayBucket For(ulong key, ulong value) => new((key << 1) | 1, value);
}

/// <summary>What an overlay pool entry is (its u32 type field; DATA pages have no header).</summary>
public enum OverlayEntryType : uint
{
    Inode = 1,
    Data = 2,
    Dirent = 3,
    DirList = 4,
}

/// <summary>The kinds of overlay keys (what the low 20 bits of an inode key say, or a dirent name hash).</summary>
public static class OverlayKeys
{
    public const int InoShift = 20;
    public const ulong InodeSuffix = 0xFFFFF, DirListSuffix = 0xFFFFE, SuffixMask = 0xFFFFF;
    /// <summary>Keys are 63 bits (bit 0 of the bucket word is the used flag).</summary>
    public const ulong KeyMask = ulong.MaxValue >> 1;

    public static ulong Inode(ulong ino) => ((ino << InoShift) | InodeSuffix) & KeyMask;
    public static ulong DirList(ulong ino) => ((ino << InoShift) | DirListSuffix) & KeyMask;
    public static ulong Data(ulong ino, ulong page) => ((ino << InoShift) | (page & SuffixMask)) & KeyMask;

    /// <summary>A dirent's key: FNV-1a 64 over the parent's 8 little-endian bytes, then the name, shifted right by 1.</summary>
    public static ulong Dirent(ulong parent, ReadOnlySpan<byte> name) => DirentFrom(DirentSeed(parent), name);

    /// <summary>
    /// The hash state after the parent's 8 bytes, the same for every name in directory <paramref name="parent"/>: a listing
    /// works it out once per directory and hashes each name with <see cref="DirentFrom"/>.
    /// </summary>
    public static ulong DirentSeed(ulong parent)
    {
        ulong h = 0xcbf29ce484222325;
        for (int i = 0; i < 8; i++) { h ^= (byte)(parent >> (8 * i)); h *= 0x100000001b3; }
        return h;
    }

    /// <summary>The key of <paramref name="name"/> in the directory whose <see cref="DirentSeed"/> is <paramref name="seed"/>: <c>Dirent(parent, name)</c>.</summary>
    public static ulong DirentFrom(ulong seed, ReadOnlySpan<byte> name)
    {
        ulong h = seed;
        foreach (byte c in name) { h ^= c; h *= 0x100000001b3; }
        return h >> 1;
    }
}

/// <summary>An overlay INODE entry (32 bytes): attributes that override a base inode's, or a new inode's.</summary>
public record struct OverlayInodeEntry
{
    public uint Type, Mode, Uid, Gid;
    public ulong Size;
    public uint Nlink, Flags;

    public const int RecordSize = 32;

    public static class Offsets
    {
        public const int Type = 0, Mode = 4, Uid = 8, Gid = 12, Size = 16, Nlink = 24, Flags = 28;
    }

    private const uint FieldsFit = RecordSize - (Offsets.Flags + 4);

    public static OverlayInodeEntry Read(ReadOnlySpan<byte> b) => new()
    {
        Type = Superblock.U32(b, Offsets.Type), Mode = Superblock.U32(b, Offsets.Mode), Uid = Superblock.U32(b, Offsets.Uid),
        Gid = Superblock.U32(b, Offsets.Gid), Size = Superblock.U64(b, Offsets.Size), Nlink = Superblock.U32(b, Offsets.Nlink),
        Flags = Superblock.U32(b, Offsets.Flags),
    };

    public readonly void Write(Span<byte> b)
    {
        b[..RecordSize].Clear();
        Superblock.W32(b, Offsets.Type, Type); Superblock.W32(b, Offsets.Mode, Mode); Superblock.W32(b, Offsets.Uid, Uid);
        Superblock.W32(b, Offsets.Gid, Gid); Superblock.W64(b, Offsets.Size, Size); Superblock.W32(b, Offsets.Nlink, Nlink);
        Superblock.W32(b, Offsets.Flags, Flags);
    }
}

/// <summary>An overlay DIRENT entry (304 bytes): a name in a directory, live or a tombstone.</summary>
public record struct OverlayDirentEntry
{
    public uint Type, Flags;
    public ulong ParentIno, ChildIno;
    public uint ChildMode;
    public ushort NameLength;
    public ulong Next, DirNext;
    /// <summary>The raw 256-byte name field.</summary>
    public byte[] NameField;

    public const int RecordSize = 304;
    public const int NameFieldSize = 256;
    public const uint FlagTombstone = 1;

    public static class Offsets
    {
        public const int Type = 0, Flags = 4, ParentIno = 8, ChildIno = 16, ChildMode = 24, NameLength = 28, Next = 32, DirNext = 40, Name = 48;
    }

    private const uint FieldsFit = RecordSize - (Offsets.Name + NameFieldSize);

    public readonly bool Tombstone => (Flags & FlagTombstone) != 0;

    /// <summary>The name's bytes (name_len of them, at most 255).</summary>
    public readonly ReadOnlySpan<byte> Name => NameField.AsSpan(0, Math.Min((int)NameLength, DaxFsConstants.NameMax));

    public static OverlayDirentEntry Read(ReadOnlySpan<byte> b) => new()
    {
        Type = Superblock.U32(b, Offsets.Type), Flags = Superblock.U32(b, Offsets.Flags), ParentIno = Superblock.U64(b, Offsets.ParentIno),
        ChildIno = Superblock.U64(b, Offsets.ChildIno), ChildMode = Superblock.U32(b, Offsets.ChildMode),
        NameLength = Superblock.U16(b, Offsets.NameLength), Next = Superblock.U64(b, Offsets.Next), DirNext = Superblock.U64(b, Offsets.DirNext),
        NameField = b.Slice(Offsets.Name, NameFieldSize).ToArray(),
    };

    /// <summary>As <see cref="Read"/>, but <see cref="NameField"/> keeps only the name's bytes (name_len of them, at most the
    /// field), not the whole 256-byte field: for readers that need the name and not the bytes after it.</summary>
    public static OverlayDirentEntry ReadWithName(ReadOnlySpan<byte> b)
    {
        ushort length = Superblock.U16(b, Offsets.NameLength);
        return new()
        {
            Type = Superblock.U32(b, Offsets.Type), Flags = Superblock.U32(b, Offsets.Flags), ParentIno = Superblock.U64(b, Offsets.ParentIno),
            ChildIno = Superblock.U64(b, Offsets.ChildIno), ChildMode = Superblock.U32(b, Offsets.ChildMode),
            NameLength = length, Next = Superblock.U64(b, Offsets.Next), DirNext = Superblock.U64(b, Offsets.DirNext),
            NameField = b.Slice(Offsets.Name, Math.Min((int)length, NameFieldSize)).ToArray(),
        };
    }

    public readonly void Write(Span<byte> b)
    {
        b[..RecordSize].Clear();
        Superblock.W32(b, Offsets.Type, Type); Superblock.W32(b, Offsets.Flags, Flags); Superblock.W64(b, Offsets.ParentIno, ParentIno);
        Superblock.W64(b, Offsets.ChildIno, ChildIno); Superblock.W32(b, Offsets.ChildMode, ChildMode);
        Superblock.W16(b, Offsets.NameLength, NameLength); Superblock.W64(b, Offsets.Next, Next); Superblock.W64(b, Offsets.DirNext, DirNext);
        if (NameField is not null) NameField.AsSpan(0, Math.Min(NameFieldSize, NameField.Length)).CopyTo(b.Slice(Offsets.Name, NameFieldSize));
    }

    public override readonly string ToString() => $"DIRENT {ParentIno}/{Encoding.UTF8.GetString(Name)} -> {ChildIno}{(Tombstone ? " (tombstone)" : "")}";
}

/// <summary>An overlay DIRLIST entry (16 bytes): the newest overlay dirent of a directory (the list goes on by dir_next).</summary>
public record struct OverlayDirListEntry
{
    public uint Type, Reserved;
    public ulong First;

    public const int RecordSize = 16;

    public static class Offsets
    {
        public const int Type = 0, Reserved = 4, First = 8;
    }

    private const uint FieldsFit = RecordSize - (Offsets.First + 8);

    public static OverlayDirListEntry Read(ReadOnlySpan<byte> b) => new()
    {
        Type = Superblock.U32(b, Offsets.Type), Reserved = Superblock.U32(b, Offsets.Reserved), First = Superblock.U64(b, Offsets.First),
    };

    public readonly void Write(Span<byte> b)
    {
        b[..RecordSize].Clear();
        Superblock.W32(b, Offsets.Type, Type); Superblock.W32(b, Offsets.Reserved, Reserved); Superblock.W64(b, Offsets.First, First);
    }
}

/// <summary>The page cache v2 header (a 4096-byte record at pcache_offset; block_size reserved).</summary>
public record struct PageCacheHeaderV2
{
    public uint Magic, Version;
    public ulong SlotMetaOffset, SlotDataOffset;
    public uint EvictHand, PendingCount;

    public const int RecordSize = DaxFsV8Constants.HeaderRecordSize;

    public static class Offsets
    {
        public const int Magic = 0, Version = 4, SlotMetaOffset = 8, SlotDataOffset = 16, EvictHand = 24, PendingCount = 28;
    }

    private const uint FieldsFit = RecordSize - (Offsets.PendingCount + 4);

    public static PageCacheHeaderV2 Read(ReadOnlySpan<byte> b) => new()
    {
        Magic = Superblock.U32(b, Offsets.Magic), Version = Superblock.U32(b, Offsets.Version),
        SlotMetaOffset = Superblock.U64(b, Offsets.SlotMetaOffset), SlotDataOffset = Superblock.U64(b, Offsets.SlotDataOffset),
        EvictHand = Superblock.U32(b, Offsets.EvictHand), PendingCount = Superblock.U32(b, Offsets.PendingCount),
    };

    public readonly void Write(Span<byte> b)
    {
        b[..RecordSize].Clear();
        Superblock.W32(b, Offsets.Magic, Magic); Superblock.W32(b, Offsets.Version, Version);
        Superblock.W64(b, Offsets.SlotMetaOffset, SlotMetaOffset); Superblock.W64(b, Offsets.SlotDataOffset, SlotDataOffset);
        Superblock.W32(b, Offsets.EvictHand, EvictHand); Superblock.W32(b, Offsets.PendingCount, PendingCount);
    }
}

/// <summary>One 16-byte page cache v2 slot: state_tag (bits 1..0 state, 5..2 reader count, 63..6 tag) and a ref bit.</summary>
public readonly record struct PageCacheSlotV2(ulong StateTag, uint RefBit)
{
    public const int RecordSize = DaxFsConstants.PageCacheSlotSize;
    public const int TagShift = 6;
    public const ulong StateFree = 0, StatePending = 1, StateValid = 2;

    public static class Offsets
    {
        public const int StateTag = 0, RefBit = 8;
    }

    private const uint FieldsFit = RecordSize - (Offsets.RefBit + 4);

    public ulong State => StateTag & 3;
    public uint Readers => (uint)((StateTag >> 2) & 0xF);
    /// <summary>ino &lt;&lt; 20 | backing page.</summary>
    public ulong Tag => StateTag >> TagShift;

    public static PageCacheSlotV2 Read(ReadOnlySpan<byte> b) => new(Superblock.U64(b, Offsets.StateTag), Superblock.U32(b, Offsets.RefBit));
}
