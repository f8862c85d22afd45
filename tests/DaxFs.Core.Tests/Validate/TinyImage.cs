using System.Buffers.Binary;
using System.Text;
using DaxFs.Core.Format;
using static DaxFs.Core.Format.DaxFsConstants;

namespace DaxFs.Core.Tests.Validate;

public enum TinyLayout
{
    Static,
    Branching,
    Split,
}

/// <summary>
/// Builds small DAXFS images by hand (with the Format records' Write methods) for the validator tests. Link
/// counts are what the kernel's validate wants (the number of dirents naming the inode), except the root's,
/// which no dirent can name: it gets 1, so a clean tiny image has exactly one finding, NLINK-MISMATCH on inode 1.
/// </summary>
public sealed class TinyImage
{
    private sealed class Node
    {
        public uint Mode;
        public byte[] Data = Array.Empty<byte>();
        public readonly List<(byte[] Name, uint Ino)> Entries = new();
        public uint? Nlink;
    }

    private readonly List<Node> _nodes = new();

    public TinyImage()
    {
        Root = Dir();
        _nodes[0].Nlink = 1;
    }

    public uint Root { get; }

    /// <summary>Reserve only AlignUp(count × 271, 4096) bytes per directory, as mkdaxfs does.</summary>
    public bool ReserveLikeMkdaxfs { get; set; }

    public uint Dir(uint perm = 0x1ED) => Add(S_IFDIR | perm, Array.Empty<byte>());

    public uint File(string content, uint perm = 0x1A4) => Add(S_IFREG | perm, Encoding.UTF8.GetBytes(content));

    public uint File(byte[] content, uint perm = 0x1A4) => Add(S_IFREG | perm, content);

    public uint Symlink(string target) => Add(S_IFLNK | 0x1FF, Encoding.UTF8.GetBytes(target));

    public TinyImage Link(uint dir, string name, uint ino) => Link(dir, Encoding.UTF8.GetBytes(name), ino);

    public TinyImage Link(uint dir, byte[] name, uint ino)
    {
        _nodes[(int)dir - 1].Entries.Add((name, ino));
        return this;
    }

    public TinyImage SetNlink(uint ino, uint nlink)
    {
        _nodes[(int)ino - 1].Nlink = nlink;
        return this;
    }

    private uint Add(uint mode, byte[] data)
    {
        _nodes.Add(new Node { Mode = mode, Data = data });
        return (uint)_nodes.Count;
    }

    public BuiltImage Build(TinyLayout layout = TinyLayout.Static, long deltaSize = 64 * 1024)
    {
        int count = _nodes.Count;
        bool split = layout == TinyLayout.Split;
        var refs = new uint[count + 1];
        foreach (var n in _nodes)
            foreach (var e in n.Entries)
                if (e.Ino >= 1 && e.Ino <= count) refs[e.Ino]++;

        // Base-relative layout of the objects, in inode order.
        ulong inodeOffset = BlockSize;
        ulong dataStart = (ulong)AlignUp(BlockSize + (long)count * InodeSize, BlockSize);
        ulong cursor = dataStart, backing = 0;
        var dataOffset = new ulong[count + 1];
        var size = new ulong[count + 1];
        for (int i = 0; i < count; i++)
        {
            var n = _nodes[i];
            uint ino = (uint)i + 1;
            switch (n.Mode & S_IFMT)
            {
                case S_IFREG when split:
                    dataOffset[ino] = backing;
                    size[ino] = (ulong)n.Data.Length;
                    backing += (ulong)AlignUp(n.Data.Length, BlockSize);
                    break;
                case S_IFREG:
                    dataOffset[ino] = cursor;
                    size[ino] = (ulong)n.Data.Length;
                    cursor += (ulong)AlignUp(n.Data.Length, BlockSize);
                    break;
                case S_IFLNK:
                    dataOffset[ino] = cursor;
                    size[ino] = (ulong)n.Data.Length;
                    cursor += (ulong)AlignUp(n.Data.Length + 1, BlockSize);
                    break;
                default:
                    dataOffset[ino] = cursor;
                    size[ino] = (ulong)n.Entries.Count * DirentSize;
                    long reserve = n.Entries.Count * (ReserveLikeMkdaxfs ? DirentSize : DirentStride);
                    cursor += (ulong)AlignUp(reserve, BlockSize);
                    break;
            }
        }
        ulong baseSize = cursor;

        // Image layout.
        ulong tableOffset = 0, baseOffset, pcacheOffset = 0, pcacheSize = 0, deltaOffset = 0, total;
        const uint Slots = 16;
        if (layout == TinyLayout.Static)
        {
            baseOffset = BlockSize;
            total = baseOffset + baseSize;
        }
        else
        {
            tableOffset = BlockSize;
            baseOffset = BlockSize + BranchTableSize;
            ulong next = baseOffset + baseSize;
            if (split)
            {
                pcacheOffset = next;
                pcacheSize = (ulong)PageCacheHeader.RegionSize(Slots);
                next += pcacheSize;
            }
            deltaOffset = next;
            total = deltaOffset + (ulong)deltaSize;
        }

        var bytes = new byte[total];
        new Superblock
        {
            Magic = SuperMagic, Version = DaxFsConstants.Version, BlockSize = BlockSize, TotalSize = total,
            BaseOffset = baseOffset, BaseSize = baseSize, BranchTableOffset = tableOffset,
            BranchTableEntries = layout == TinyLayout.Static ? 0u : MaxBranches, NextBranchId = layout == TinyLayout.Static ? 0u : 1u,
            NextInodeId = (ulong)count + 1,
            DeltaRegionOffset = deltaOffset, DeltaRegionSize = layout == TinyLayout.Static ? 0 : (ulong)deltaSize,
            DeltaAllocOffset = deltaOffset,
            PageCacheOffset = pcacheOffset, PageCacheSize = pcacheSize, PageCacheSlotCount = split ? Slots : 0,
            PageCacheHashShift = split ? 4u : 0,
        }.Write(bytes);

        var b = bytes.AsSpan((int)baseOffset);
        new BaseSuperblock
        {
            Magic = BaseMagic, Version = DaxFsConstants.Version, Flags = split ? BaseFlagExternalData : 0, BlockSize = BlockSize,
            TotalSize = baseSize, InodeOffset = inodeOffset, InodeCount = (uint)count, RootInode = RootInode, DataOffset = dataStart,
        }.Write(b);

        for (int i = 0; i < count; i++)
        {
            var n = _nodes[i];
            uint ino = (uint)i + 1;
            new BaseInode
            {
                Ino = ino, Mode = n.Mode, Size = size[ino], DataOffset = dataOffset[ino], Nlink = n.Nlink ?? refs[ino],
            }.Write(b.Slice((int)inodeOffset + i * InodeSize));

            switch (n.Mode & S_IFMT)
            {
                case S_IFREG when split:
                    break;
                case S_IFREG:
                case S_IFLNK:
                    n.Data.CopyTo(b.Slice((int)dataOffset[ino])); // a symlink's NUL is already there
                    break;
                default:
                    for (int j = 0; j < n.Entries.Count; j++)
                    {
                        var (name, child) = n.Entries[j];
                        uint childMode = child >= 1 && child <= count ? _nodes[(int)child - 1].Mode : 0;
                        // Written through a buffer: a last dirent may run past the end of the image.
                        var entry = new byte[DirentSize];
                        DaxFs.Core.Format.Dirent.Write(entry, child, childMode, name);
                        int at = (int)dataOffset[ino] + j * DirentStride;
                        if (at < b.Length) entry.AsSpan(0, Math.Min(DirentSize, b.Length - at)).CopyTo(b[at..]);
                    }
                    break;
            }
        }

        if (split)
        {
            var p = bytes.AsSpan((int)pcacheOffset);
            new PageCacheHeader
            {
                Magic = PageCacheMagic, Version = PageCacheVersion, SlotCount = Slots, HashShift = 4,
                SlotMetaOffset = BlockSize, SlotDataOffset = BlockSize + (ulong)AlignUp(Slots * PageCacheSlotSize, BlockSize),
            }.Write(p);
        }

        return new BuiltImage(bytes, baseOffset, baseOffset + inodeOffset, dataOffset, tableOffset, deltaOffset,
            layout == TinyLayout.Static ? 0 : (ulong)deltaSize, pcacheOffset, backing);
    }
}

/// <summary>A built tiny image with the offsets tests need to aim mutations.</summary>
public sealed class BuiltImage
{
    private readonly ulong[] _dataOffset;

    public BuiltImage(byte[] bytes, ulong baseOffset, ulong inodeTable, ulong[] dataOffset, ulong branchTable,
        ulong deltaOffset, ulong deltaSize, ulong pcacheOffset, ulong backingLength)
    {
        Bytes = bytes;
        BaseOffset = (long)baseOffset;
        InodeTable = (long)inodeTable;
        _dataOffset = dataOffset;
        BranchTable = (long)branchTable;
        DeltaOffset = (long)deltaOffset;
        DeltaSize = (long)deltaSize;
        PageCacheOffset = (long)pcacheOffset;
        BackingLength = (long)backingLength;
    }

    public byte[] Bytes { get; }
    public long BaseOffset { get; }
    public long InodeTable { get; }
    public long BranchTable { get; }
    public long DeltaOffset { get; }
    public long DeltaSize { get; }
    public long PageCacheOffset { get; }
    public long BackingLength { get; }

    /// <summary>Absolute offset of inode <paramref name="ino"/>'s record.</summary>
    public long Inode(uint ino) => InodeTable + (ino - 1) * (long)InodeSize;

    /// <summary>Absolute offset of an inode's data (base image objects only).</summary>
    public long Data(uint ino) => BaseOffset + (long)_dataOffset[ino];

    /// <summary>Absolute offset of entry <paramref name="j"/> of directory <paramref name="dir"/>.</summary>
    public long Dirent(uint dir, int j) => Data(dir) + (long)j * DirentStride;

    public long Branch(int index) => BranchTable + index * (long)BranchRecordSize;

    public BuiltImage W16(long at, ushort v) { BinaryPrimitives.WriteUInt16LittleEndian(Bytes.AsSpan((int)at), v); return this; }
    public BuiltImage W32(long at, uint v) { BinaryPrimitives.WriteUInt32LittleEndian(Bytes.AsSpan((int)at), v); return this; }
    public BuiltImage W64(long at, ulong v) { BinaryPrimitives.WriteUInt64LittleEndian(Bytes.AsSpan((int)at), v); return this; }
    public uint R32(long at) => BinaryPrimitives.ReadUInt32LittleEndian(Bytes.AsSpan((int)at));
    public ulong R64(long at) => BinaryPrimitives.ReadUInt64LittleEndian(Bytes.AsSpan((int)at));

    /// <summary>Writes a branch record into slot <paramref name="index"/> of the branch table.</summary>
    public BuiltImage SetBranch(int index, ulong id, ulong parent, string name, BranchState state,
        ulong logOffset = 0, ulong logSize = 0, ulong logCapacity = 0)
    {
        var nameField = new byte[32];
        Encoding.UTF8.GetBytes(name).AsSpan(0, Math.Min(name.Length, 32)).CopyTo(nameField);
        new BranchRecord
        {
            BranchId = id, ParentId = parent, DeltaLogOffset = logOffset, DeltaLogSize = logSize, DeltaLogCapacity = logCapacity,
            State = (uint)state, RefCount = 1, NextLocalIno = 2, NameField = nameField,
        }.Write(Bytes.AsSpan((int)Branch(index)));
        return this;
    }

    /// <summary>Writes a delta-log entry header (and a zeroed fixed part) at <paramref name="at"/>; returns the fixed part's offset.</summary>
    public long DeltaEntry(long at, uint type, uint totalSize, ulong ino = 2)
    {
        W32(at, type);
        W32(at + 4, totalSize);
        W64(at + 8, ino);
        W64(at + 16, 1);
        return at + 24;
    }
}
