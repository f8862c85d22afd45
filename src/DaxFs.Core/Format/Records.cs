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

    /// <summary>Where each field sits in the record (bytes from its start); 116..159 is the coordination block.</summary>
    public static class Offsets
    {
        public const int Magic = 0, Version = 4, Flags = 8, BlockSize = 12, TotalSize = 16, BaseOffset = 24, BaseSize = 32,
            BranchTableOffset = 40, BranchTableEntries = 48, ActiveBranches = 52, NextBranchId = 56, NextInodeId = 64,
            DeltaRegionOffset = 72, DeltaRegionSize = 80, DeltaAllocOffset = 88, CommitSequence = 96, LastCommittedId = 104,
            CoordLock = 112, PageCacheOffset = 160, PageCacheSize = 168, PageCacheSlotCount = 176, PageCacheHashShift = 180,
            PageCachePending = 184;
    }

    // The fields end inside the record (a compile-time check: a negative constant does not convert to uint).
    private const uint FieldsFit = RecordSize - (Offsets.PageCachePending + 4);

    public static Superblock Read(ReadOnlySpan<byte> b) => new()
    {
        Magic = U32(b, Offsets.Magic), Version = U32(b, Offsets.Version), Flags = U32(b, Offsets.Flags), BlockSize = U32(b, Offsets.BlockSize),
        TotalSize = U64(b, Offsets.TotalSize), BaseOffset = U64(b, Offsets.BaseOffset), BaseSize = U64(b, Offsets.BaseSize),
        BranchTableOffset = U64(b, Offsets.BranchTableOffset), BranchTableEntries = U32(b, Offsets.BranchTableEntries),
        ActiveBranches = U32(b, Offsets.ActiveBranches), NextBranchId = U64(b, Offsets.NextBranchId), NextInodeId = U64(b, Offsets.NextInodeId),
        DeltaRegionOffset = U64(b, Offsets.DeltaRegionOffset), DeltaRegionSize = U64(b, Offsets.DeltaRegionSize),
        DeltaAllocOffset = U64(b, Offsets.DeltaAllocOffset), CommitSequence = U64(b, Offsets.CommitSequence),
        LastCommittedId = U64(b, Offsets.LastCommittedId), CoordLock = U32(b, Offsets.CoordLock),
        PageCacheOffset = U64(b, Offsets.PageCacheOffset), PageCacheSize = U64(b, Offsets.PageCacheSize),
        PageCacheSlotCount = U32(b, Offsets.PageCacheSlotCount), PageCacheHashShift = U32(b, Offsets.PageCacheHashShift),
        PageCachePending = U32(b, Offsets.PageCachePending),
    };

    public readonly void Write(Span<byte> b)
    {
        b[..RecordSize].Clear();
        W32(b, Offsets.Magic, Magic); W32(b, Offsets.Version, Version); W32(b, Offsets.Flags, Flags); W32(b, Offsets.BlockSize, BlockSize);
        W64(b, Offsets.TotalSize, TotalSize); W64(b, Offsets.BaseOffset, BaseOffset); W64(b, Offsets.BaseSize, BaseSize);
        W64(b, Offsets.BranchTableOffset, BranchTableOffset); W32(b, Offsets.BranchTableEntries, BranchTableEntries);
        W32(b, Offsets.ActiveBranches, ActiveBranches); W64(b, Offsets.NextBranchId, NextBranchId); W64(b, Offsets.NextInodeId, NextInodeId);
        W64(b, Offsets.DeltaRegionOffset, DeltaRegionOffset); W64(b, Offsets.DeltaRegionSize, DeltaRegionSize);
        W64(b, Offsets.DeltaAllocOffset, DeltaAllocOffset); W64(b, Offsets.CommitSequence, CommitSequence);
        W64(b, Offsets.LastCommittedId, LastCommittedId); W32(b, Offsets.CoordLock, CoordLock);
        W64(b, Offsets.PageCacheOffset, PageCacheOffset); W64(b, Offsets.PageCacheSize, PageCacheSize);
        W32(b, Offsets.PageCacheSlotCount, PageCacheSlotCount); W32(b, Offsets.PageCacheHashShift, PageCacheHashShift);
        W32(b, Offsets.PageCachePending, PageCachePending);
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

    /// <summary>Where each field sits in the record.</summary>
    public static class Offsets
    {
        public const int Magic = 0, Version = 4, Flags = 8, BlockSize = 12, TotalSize = 16, InodeOffset = 24, InodeCount = 32,
            RootInode = 36, DataOffset = 40;
    }

    private const uint FieldsFit = RecordSize - (Offsets.DataOffset + 8);

    public static BaseSuperblock Read(ReadOnlySpan<byte> b) => new()
    {
        Magic = Superblock.U32(b, Offsets.Magic), Version = Superblock.U32(b, Offsets.Version), Flags = Superblock.U32(b, Offsets.Flags),
        BlockSize = Superblock.U32(b, Offsets.BlockSize), TotalSize = Superblock.U64(b, Offsets.TotalSize),
        InodeOffset = Superblock.U64(b, Offsets.InodeOffset), InodeCount = Superblock.U32(b, Offsets.InodeCount),
        RootInode = Superblock.U32(b, Offsets.RootInode), DataOffset = Superblock.U64(b, Offsets.DataOffset),
    };

    public readonly void Write(Span<byte> b)
    {
        b[..RecordSize].Clear();
        Superblock.W32(b, Offsets.Magic, Magic); Superblock.W32(b, Offsets.Version, Version); Superblock.W32(b, Offsets.Flags, Flags);
        Superblock.W32(b, Offsets.BlockSize, BlockSize); Superblock.W64(b, Offsets.TotalSize, TotalSize);
        Superblock.W64(b, Offsets.InodeOffset, InodeOffset); Superblock.W32(b, Offsets.InodeCount, InodeCount);
        Superblock.W32(b, Offsets.RootInode, RootInode); Superblock.W64(b, Offsets.DataOffset, DataOffset);
    }
}

/// <summary>One 64-byte inode record; record n (1-based) is inode n.</summary>
public record struct BaseInode
{
    public uint Ino, Mode, Uid, Gid;
    public ulong Size, DataOffset;
    public uint Nlink;

    public const int RecordSize = DaxFsConstants.InodeSize;

    /// <summary>Where each field sits in the record.</summary>
    public static class Offsets
    {
        public const int Ino = 0, Mode = 4, Uid = 8, Gid = 12, Size = 16, DataOffset = 24, Nlink = 32;
    }

    private const uint FieldsFit = RecordSize - (Offsets.Nlink + 4);

    public static BaseInode Read(ReadOnlySpan<byte> b) => new()
    {
        Ino = Superblock.U32(b, Offsets.Ino), Mode = Superblock.U32(b, Offsets.Mode), Uid = Superblock.U32(b, Offsets.Uid),
        Gid = Superblock.U32(b, Offsets.Gid), Size = Superblock.U64(b, Offsets.Size), DataOffset = Superblock.U64(b, Offsets.DataOffset),
        Nlink = Superblock.U32(b, Offsets.Nlink),
    };

    public readonly void Write(Span<byte> b)
    {
        b[..RecordSize].Clear();
        Superblock.W32(b, Offsets.Ino, Ino); Superblock.W32(b, Offsets.Mode, Mode); Superblock.W32(b, Offsets.Uid, Uid);
        Superblock.W32(b, Offsets.Gid, Gid); Superblock.W64(b, Offsets.Size, Size); Superblock.W64(b, Offsets.DataOffset, DataOffset);
        Superblock.W32(b, Offsets.Nlink, Nlink);
    }
}

/// <summary>A directory entry: 271 bytes of fields, stepped 272 bytes apart in the array.</summary>
public static class Dirent
{
    /// <summary>Where each field sits in the entry.</summary>
    public static class Offsets
    {
        public const int Ino = 0, Mode = 4, NameLength = 8, Name = 16;
    }

    public const int NameOffset = Offsets.Name;

    private const uint FieldsFit = DaxFsConstants.DirentSize - (Offsets.Name + DaxFsConstants.NameMax);

    public static uint ReadIno(ReadOnlySpan<byte> b) => Superblock.U32(b, Offsets.Ino);
    public static uint ReadMode(ReadOnlySpan<byte> b) => Superblock.U32(b, Offsets.Mode);
    public static ushort ReadNameLength(ReadOnlySpan<byte> b) => Superblock.U16(b, Offsets.NameLength);

    /// <summary>Writes one dirent into <paramref name="b"/> (at least 271 bytes), zeroing reserved bytes and the unused name tail.</summary>
    public static void Write(Span<byte> b, uint ino, uint mode, ReadOnlySpan<byte> name)
    {
        if (name.Length == 0 || name.Length > DaxFsConstants.NameMax)
            throw new ArgumentOutOfRangeException(nameof(name), "A dirent name is 1 to 255 bytes.");
        b[..DaxFsConstants.DirentSize].Clear();
        Superblock.W32(b, Offsets.Ino, ino); Superblock.W32(b, Offsets.Mode, mode); Superblock.W16(b, Offsets.NameLength, (ushort)name.Length);
        name.CopyTo(b[Offsets.Name..]);
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
    public const int NameFieldSize = 32;

    /// <summary>Where each field sits in the record.</summary>
    public static class Offsets
    {
        public const int BranchId = 0, ParentId = 8, DeltaLogOffset = 16, DeltaLogSize = 24, DeltaLogCapacity = 32, State = 40,
            RefCount = 44, NextLocalIno = 48, Name = 56, Generation = 88;
    }

    private const uint NameFits = Offsets.Generation - (Offsets.Name + NameFieldSize);
    private const uint FieldsFit = RecordSize - (Offsets.Generation + 4);

    public static BranchRecord Read(ReadOnlySpan<byte> b) => new()
    {
        BranchId = Superblock.U64(b, Offsets.BranchId), ParentId = Superblock.U64(b, Offsets.ParentId),
        DeltaLogOffset = Superblock.U64(b, Offsets.DeltaLogOffset), DeltaLogSize = Superblock.U64(b, Offsets.DeltaLogSize),
        DeltaLogCapacity = Superblock.U64(b, Offsets.DeltaLogCapacity), State = Superblock.U32(b, Offsets.State),
        RefCount = Superblock.U32(b, Offsets.RefCount), NextLocalIno = Superblock.U64(b, Offsets.NextLocalIno),
        NameField = b.Slice(Offsets.Name, NameFieldSize).ToArray(), Generation = Superblock.U32(b, Offsets.Generation),
    };

    public readonly void Write(Span<byte> b)
    {
        b[..RecordSize].Clear();
        Superblock.W64(b, Offsets.BranchId, BranchId); Superblock.W64(b, Offsets.ParentId, ParentId);
        Superblock.W64(b, Offsets.DeltaLogOffset, DeltaLogOffset); Superblock.W64(b, Offsets.DeltaLogSize, DeltaLogSize);
        Superblock.W64(b, Offsets.DeltaLogCapacity, DeltaLogCapacity); Superblock.W32(b, Offsets.State, State);
        Superblock.W32(b, Offsets.RefCount, RefCount); Superblock.W64(b, Offsets.NextLocalIno, NextLocalIno);
        if (NameField is not null) NameField.AsSpan(0, Math.Min(NameFieldSize, NameField.Length)).CopyTo(b.Slice(Offsets.Name, NameFieldSize));
        Superblock.W32(b, Offsets.Generation, Generation);
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

    /// <summary>Where each field sits in the record.</summary>
    public static class Offsets
    {
        public const int Magic = 0, Version = 4, SlotCount = 8, HashShift = 12, SlotMetaOffset = 16, SlotDataOffset = 24,
            EvictHand = 32, PendingCount = 36;
    }

    private const uint FieldsFit = RecordSize - (Offsets.PendingCount + 4);

    public static PageCacheHeader Read(ReadOnlySpan<byte> b) => new()
    {
        Magic = Superblock.U32(b, Offsets.Magic), Version = Superblock.U32(b, Offsets.Version), SlotCount = Superblock.U32(b, Offsets.SlotCount),
        HashShift = Superblock.U32(b, Offsets.HashShift), SlotMetaOffset = Superblock.U64(b, Offsets.SlotMetaOffset),
        SlotDataOffset = Superblock.U64(b, Offsets.SlotDataOffset), EvictHand = Superblock.U32(b, Offsets.EvictHand),
        PendingCount = Superblock.U32(b, Offsets.PendingCount),
    };

    public readonly void Write(Span<byte> b)
    {
        b[..RecordSize].Clear();
        Superblock.W32(b, Offsets.Magic, Magic); Superblock.W32(b, Offsets.Version, Version); Superblock.W32(b, Offsets.SlotCount, SlotCount);
        Superblock.W32(b, Offsets.HashShift, HashShift); Superblock.W64(b, Offsets.SlotMetaOffset, SlotMetaOffset);
        Superblock.W64(b, Offsets.SlotDataOffset, SlotDataOffset); Superblock.W32(b, Offsets.EvictHand, EvictHand);
        Superblock.W32(b, Offsets.PendingCount, PendingCount);
    }

    /// <summary>Bytes of a page cache region with <paramref name="slotCount"/> slots: header, slot records padded to a block, data.</summary>
    public static long RegionSize(uint slotCount) =>
        DaxFsConstants.BlockSize + DaxFsConstants.AlignUp((long)slotCount * DaxFsConstants.PageCacheSlotSize, DaxFsConstants.BlockSize)
        + (long)slotCount * DaxFsConstants.BlockSize;
}

/// <summary>One 16-byte page cache slot record: a state word (state in bits 1..0, tag = backing page above) and a ref bit.</summary>
public static class PageCacheSlot
{
    public const int RecordSize = DaxFsConstants.PageCacheSlotSize;
    public const ulong StateValid = 2;
    public const int TagShift = 2;

    /// <summary>Where each field sits in the record.</summary>
    public static class Offsets
    {
        public const int StateTag = 0, RefBit = 8;
    }

    private const uint FieldsFit = RecordSize - (Offsets.RefBit + 4);

    /// <summary>A slot that holds <paramref name="page"/> of the backing file, valid and recently used.</summary>
    public static void WriteValid(Span<byte> b, ulong page)
    {
        b[..RecordSize].Clear();
        Superblock.W64(b, Offsets.StateTag, (page << TagShift) | StateValid);
        Superblock.W32(b, Offsets.RefBit, 1);
    }
}
