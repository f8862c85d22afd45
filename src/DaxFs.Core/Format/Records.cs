using System.Buffers.Binary;
using System.Text;

namespace DaxFs.Core.Format;

// Fixed little-endian records of the DAXFS v5 format. Each record reads from and writes to a span of
// exactly its size; callers check bounds before slicing. No I/O here.

/// <summary>The image superblock (block 0; a 4040-byte record, the rest of the block zero).</summary>
public record struct Superblock
{
    public uint Magic, Version, Flags, BlockSize;
    public ulong TotalSize, BaseOffset, BaseSize, BranchTableOffset;
    public uint BranchTableEntries, ActiveBranches;
    public ulong NextBranchId, NextInodeId, DeltaRegionOffset, DeltaRegionSize, DeltaAllocOffset;
    public ulong CommitSequence, LastCommittedId;
    public uint CoordLock;
    public ulong PageCacheOffset, PageCacheSize;
    public uint PageCacheSlotCount, PageCacheHashShift, PageCachePending;

    public const int RecordSize = DaxFsConstants.SuperblockRecordSize;

    public static Superblock Read(ReadOnlySpan<byte> b) => new()
    {
        Magic = U32(b, 0), Version = U32(b, 4), Flags = U32(b, 8), BlockSize = U32(b, 12),
        TotalSize = U64(b, 16), BaseOffset = U64(b, 24), BaseSize = U64(b, 32), BranchTableOffset = U64(b, 40),
        BranchTableEntries = U32(b, 48), ActiveBranches = U32(b, 52), NextBranchId = U64(b, 56), NextInodeId = U64(b, 64),
        DeltaRegionOffset = U64(b, 72), DeltaRegionSize = U64(b, 80), DeltaAllocOffset = U64(b, 88),
        CommitSequence = U64(b, 96), LastCommittedId = U64(b, 104), CoordLock = U32(b, 112),
        PageCacheOffset = U64(b, 160), PageCacheSize = U64(b, 168), PageCacheSlotCount = U32(b, 176),
        PageCacheHashShift = U32(b, 180), PageCachePending = U32(b, 184),
    };

    public readonly void Write(Span<byte> b)
    {
        b[..RecordSize].Clear();
        W32(b, 0, Magic); W32(b, 4, Version); W32(b, 8, Flags); W32(b, 12, BlockSize);
        W64(b, 16, TotalSize); W64(b, 24, BaseOffset); W64(b, 32, BaseSize); W64(b, 40, BranchTableOffset);
        W32(b, 48, BranchTableEntries); W32(b, 52, ActiveBranches); W64(b, 56, NextBranchId); W64(b, 64, NextInodeId);
        W64(b, 72, DeltaRegionOffset); W64(b, 80, DeltaRegionSize); W64(b, 88, DeltaAllocOffset);
        W64(b, 96, CommitSequence); W64(b, 104, LastCommittedId); W32(b, 112, CoordLock);
        W64(b, 160, PageCacheOffset); W64(b, 168, PageCacheSize); W32(b, 176, PageCacheSlotCount);
        W32(b, 180, PageCacheHashShift); W32(b, 184, PageCachePending);
    }

    internal static uint U32(ReadOnlySpan<byte> b, int o) => BinaryPrimitives.ReadUInt32LittleEndian(b[o..]);
    internal static ulong U64(ReadOnlySpan<byte> b, int o) => BinaryPrimitives.ReadUInt64LittleEndian(b[o..]);
    internal static ushort U16(ReadOnlySpan<byte> b, int o) => BinaryPrimitives.ReadUInt16LittleEndian(b[o..]);
    internal static void W32(Span<byte> b, int o, uint v) => BinaryPrimitives.WriteUInt32LittleEndian(b[o..], v);
    internal static void W64(Span<byte> b, int o, ulong v) => BinaryPrimitives.WriteUInt64LittleEndian(b[o..], v);
    internal static void W16(Span<byte> b, int o, ushort v) => BinaryPrimitives.WriteUInt16LittleEndian(b[o..], v);
}

/// <summary>The base image superblock (first block of the base image).</summary>
public record struct BaseSuperblock
{
    public uint Magic, Version, Flags, BlockSize;
    public ulong TotalSize, InodeOffset;
    public uint InodeCount, RootInode;
    public ulong DataOffset;

    public const int RecordSize = 48;

    public static BaseSuperblock Read(ReadOnlySpan<byte> b) => new()
    {
        Magic = Superblock.U32(b, 0), Version = Superblock.U32(b, 4), Flags = Superblock.U32(b, 8),
        BlockSize = Superblock.U32(b, 12), TotalSize = Superblock.U64(b, 16), InodeOffset = Superblock.U64(b, 24),
        InodeCount = Superblock.U32(b, 32), RootInode = Superblock.U32(b, 36), DataOffset = Superblock.U64(b, 40),
    };

    public readonly void Write(Span<byte> b)
    {
        b[..RecordSize].Clear();
        Superblock.W32(b, 0, Magic); Superblock.W32(b, 4, Version); Superblock.W32(b, 8, Flags);
        Superblock.W32(b, 12, BlockSize); Superblock.W64(b, 16, TotalSize); Superblock.W64(b, 24, InodeOffset);
        Superblock.W32(b, 32, InodeCount); Superblock.W32(b, 36, RootInode); Superblock.W64(b, 40, DataOffset);
    }
}

/// <summary>One 64-byte inode record; record n (1-based) is inode n.</summary>
public record struct BaseInode
{
    public uint Ino, Mode, Uid, Gid;
    public ulong Size, DataOffset;
    public uint Nlink;

    public const int RecordSize = DaxFsConstants.InodeSize;

    public static BaseInode Read(ReadOnlySpan<byte> b) => new()
    {
        Ino = Superblock.U32(b, 0), Mode = Superblock.U32(b, 4), Uid = Superblock.U32(b, 8), Gid = Superblock.U32(b, 12),
        Size = Superblock.U64(b, 16), DataOffset = Superblock.U64(b, 24), Nlink = Superblock.U32(b, 32),
    };

    public readonly void Write(Span<byte> b)
    {
        b[..DaxFsConstants.InodeSize].Clear();
        Superblock.W32(b, 0, Ino); Superblock.W32(b, 4, Mode); Superblock.W32(b, 8, Uid); Superblock.W32(b, 12, Gid);
        Superblock.W64(b, 16, Size); Superblock.W64(b, 24, DataOffset); Superblock.W32(b, 32, Nlink);
    }
}

/// <summary>A directory entry: 271 bytes of fields, stepped 272 bytes apart in the array.</summary>
public static class Dirent
{
    public const int NameOffset = 16;

    public static uint ReadIno(ReadOnlySpan<byte> b) => Superblock.U32(b, 0);
    public static uint ReadMode(ReadOnlySpan<byte> b) => Superblock.U32(b, 4);
    public static ushort ReadNameLength(ReadOnlySpan<byte> b) => Superblock.U16(b, 8);

    /// <summary>Writes one dirent into <paramref name="b"/> (at least 271 bytes), zeroing reserved bytes and the unused name tail.</summary>
    public static void Write(Span<byte> b, uint ino, uint mode, ReadOnlySpan<byte> name)
    {
        if (name.Length == 0 || name.Length > DaxFsConstants.NameMax)
            throw new ArgumentOutOfRangeException(nameof(name), "A dirent name is 1 to 255 bytes.");
        b[..DaxFsConstants.DirentSize].Clear();
        Superblock.W32(b, 0, ino); Superblock.W32(b, 4, mode); Superblock.W16(b, 8, (ushort)name.Length);
        name.CopyTo(b[NameOffset..]);
    }
}

public enum BranchState : uint { Free = 0, Active = 1, Committed = 2, Aborted = 3 }

/// <summary>One 128-byte branch record of the branch table.</summary>
public record struct BranchRecord
{
    public ulong BranchId, ParentId, DeltaLogOffset, DeltaLogSize, DeltaLogCapacity;
    public uint State, RefCount;
    public ulong NextLocalIno;
    /// <summary>The raw 32-byte name field.</summary>
    public byte[] NameField;
    public uint Generation;

    public const int RecordSize = DaxFsConstants.BranchRecordSize;

    public static BranchRecord Read(ReadOnlySpan<byte> b) => new()
    {
        BranchId = Superblock.U64(b, 0), ParentId = Superblock.U64(b, 8), DeltaLogOffset = Superblock.U64(b, 16),
        DeltaLogSize = Superblock.U64(b, 24), DeltaLogCapacity = Superblock.U64(b, 32), State = Superblock.U32(b, 40),
        RefCount = Superblock.U32(b, 44), NextLocalIno = Superblock.U64(b, 48), NameField = b.Slice(56, 32).ToArray(),
        Generation = Superblock.U32(b, 88),
    };

    public readonly void Write(Span<byte> b)
    {
        b[..RecordSize].Clear();
        Superblock.W64(b, 0, BranchId); Superblock.W64(b, 8, ParentId); Superblock.W64(b, 16, DeltaLogOffset);
        Superblock.W64(b, 24, DeltaLogSize); Superblock.W64(b, 32, DeltaLogCapacity); Superblock.W32(b, 40, State);
        Superblock.W32(b, 44, RefCount); Superblock.W64(b, 48, NextLocalIno);
        if (NameField is not null) NameField.AsSpan(0, Math.Min(32, NameField.Length)).CopyTo(b.Slice(56, 32));
        Superblock.W32(b, 88, Generation);
    }

    /// <summary>True when the name field holds a NUL within its 32 bytes.</summary>
    public readonly bool NameTerminated => NameField is not null && Array.IndexOf(NameField, (byte)0) >= 0;

    public readonly string Name
    {
        get
        {
            if (NameField is null) return string.Empty;
            int n = Array.IndexOf(NameField, (byte)0);
            return Encoding.UTF8.GetString(NameField, 0, n < 0 ? NameField.Length : n);
        }
    }

    public readonly bool IsFree => BranchId == 0 && State == 0;
}

/// <summary>The page cache region header (split mode).</summary>
public record struct PageCacheHeader
{
    public uint Magic, Version, SlotCount, HashShift;
    public ulong SlotMetaOffset, SlotDataOffset;
    public uint EvictHand, PendingCount;

    public const int RecordSize = 40;

    public static PageCacheHeader Read(ReadOnlySpan<byte> b) => new()
    {
        Magic = Superblock.U32(b, 0), Version = Superblock.U32(b, 4), SlotCount = Superblock.U32(b, 8),
        HashShift = Superblock.U32(b, 12), SlotMetaOffset = Superblock.U64(b, 16), SlotDataOffset = Superblock.U64(b, 24),
        EvictHand = Superblock.U32(b, 32), PendingCount = Superblock.U32(b, 36),
    };

    public readonly void Write(Span<byte> b)
    {
        b[..RecordSize].Clear();
        Superblock.W32(b, 0, Magic); Superblock.W32(b, 4, Version); Superblock.W32(b, 8, SlotCount); Superblock.W32(b, 12, HashShift);
        Superblock.W64(b, 16, SlotMetaOffset); Superblock.W64(b, 24, SlotDataOffset); Superblock.W32(b, 32, EvictHand);
        Superblock.W32(b, 36, PendingCount);
    }

    /// <summary>Bytes of a page cache region with <paramref name="slotCount"/> slots: header, slot records padded to a block, data.</summary>
    public static long RegionSize(uint slotCount) =>
        DaxFsConstants.BlockSize + DaxFsConstants.AlignUp((long)slotCount * DaxFsConstants.PageCacheSlotSize, DaxFsConstants.BlockSize)
        + (long)slotCount * DaxFsConstants.BlockSize;
}
