using System.Buffers.Binary;
using DaxFs.Core.Format;
using static DaxFs.Core.Format.DaxFsConstants;

namespace DaxFs.Fuzz;

/// <summary>Where the structures of an image (possibly already damaged) sit: fields to aim at and region boundaries.</summary>
public sealed class ImageLandmarks
{
    /// <summary>Integer fields: absolute offset and width (1, 2, 4 or 8 bytes).</summary>
    public List<(int Offset, int Width)> Fields { get; } = new();

    /// <summary>Whole records that can be copied over one another: inode records and dirents.</summary>
    public List<(int Offset, int Length)> InodeRecords { get; } = new();

    public List<(int Offset, int Length)> Dirents { get; } = new();

    /// <summary>Offsets where a region or an object starts or ends (truncation points).</summary>
    public SortedSet<int> Boundaries { get; } = new();

    /// <summary>The end of the metadata (superblocks, tables, dirents): most mutations land before it.</summary>
    public int MetadataEnd { get; private set; }

    private const int MaxInodes = 512, MaxDirents = 256, MaxBranches = 8, MaxDeltaEntries = 32;

    /// <summary>Reads what it can from <paramref name="data"/>; never throws, whatever the bytes.</summary>
    public static ImageLandmarks Find(byte[] data)
    {
        var l = new ImageLandmarks();
        int len = data.Length;
        l.Boundaries.Add(0);
        l.Boundaries.Add(len);
        foreach (ulong b in new ulong[] { 8, 16, 48, 160, 188, SuperblockRecordSize, BlockSize }) l.Mark(b, len);
        l.MetadataEnd = Math.Min(len, BlockSize);
        if (len < SuperblockRecordSize) return l;

        foreach (var (o, w) in new[] { (0, 4), (4, 4), (8, 4), (12, 4), (16, 8), (24, 8), (32, 8), (40, 8), (48, 4), (52, 4), (56, 8), (64, 8),
                     (72, 8), (80, 8), (88, 8), (96, 8), (104, 8), (112, 4), (160, 8), (168, 8), (176, 4), (180, 4), (184, 4) })
            l.Fields.Add((o, w));

        var sb = Superblock.Read(data.AsSpan(0, SuperblockRecordSize));
        l.Mark(sb.BaseOffset, len);
        l.Mark(sb.BaseOffset + sb.BaseSize, len);
        l.Mark(sb.TotalSize, len);
        l.Mark(sb.BranchTableOffset, len);
        l.Mark(sb.BranchTableOffset + (ulong)sb.BranchTableEntries * BranchRecordSize, len);
        l.Mark(sb.DeltaRegionOffset, len);
        l.Mark(sb.DeltaRegionOffset + sb.DeltaRegionSize, len);
        l.Mark(sb.PageCacheOffset, len);
        l.Mark(sb.PageCacheOffset + sb.PageCacheSize, len);

        l.FindBranches(data, sb);
        l.FindPageCache(data, sb);
        l.FindBase(data, sb);
        return l;
    }

    private void Mark(ulong offset, int len)
    {
        if (offset > (ulong)len) return;
        int o = (int)offset;
        Boundaries.Add(o);
        if (o > 0) Boundaries.Add(o - 1);
        if (o < len) Boundaries.Add(o + 1);
    }

    private static bool Inside(ulong offset, ulong length, int len) => offset <= (ulong)len && length <= (ulong)len - offset;

    private void Field(ulong at, int width, int len)
    {
        if (Inside(at, (ulong)width, len)) Fields.Add(((int)at, width));
    }

    private void Metadata(ulong end, int len)
    {
        if (end <= (ulong)len && (int)end > MetadataEnd) MetadataEnd = (int)end;
    }

    private void FindBranches(byte[] data, in Superblock sb)
    {
        ulong table = sb.BranchTableOffset;
        if (table == 0) return;
        uint n = Math.Min(sb.BranchTableEntries, MaxBranches);
        for (uint i = 0; i < n; i++)
        {
            ulong at = table + (ulong)i * BranchRecordSize;
            if (!Inside(at, BranchRecordSize, data.Length)) return;
            foreach (var (o, w) in new[] { (0, 8), (8, 8), (16, 8), (24, 8), (32, 8), (40, 4), (44, 4), (48, 8), (56, 1), (87, 1), (88, 4) })
                Field(at + (ulong)o, w, data.Length);
            Metadata(at + BranchRecordSize, data.Length);
            var r = BranchRecord.Read(data.AsSpan((int)at, BranchRecordSize));
            if (r.State is 1 or 2) FindDeltaLog(data, r.DeltaLogOffset, r.DeltaLogSize);
        }
    }

    private void FindDeltaLog(byte[] data, ulong log, ulong size)
    {
        ulong p = 0;
        for (int k = 0; k < MaxDeltaEntries && p + 24 <= size; k++)
        {
            ulong at = log + p;
            if (!Inside(at, 24, data.Length)) return;
            Mark(at, data.Length);
            Field(at, 4, data.Length);
            Field(at + 4, 4, data.Length);
            Field(at + 8, 8, data.Length);
            for (ulong f = 24; f < 56; f += 4) Field(at + f, 4, data.Length);
            Field(at + 24, 8, data.Length);
            Field(at + 48, 2, data.Length);
            Field(at + 50, 2, data.Length);
            Field(at + 52, 2, data.Length);
            uint total = BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan((int)at + 4));
            if (total == 0) return;
            p += total;
        }
    }

    private void FindPageCache(byte[] data, in Superblock sb)
    {
        ulong pc = sb.PageCacheOffset;
        if (pc == 0 || !Inside(pc, 40, data.Length)) return;
        foreach (var (o, w) in new[] { (0, 4), (4, 4), (8, 4), (12, 4), (16, 8), (24, 8), (32, 4), (36, 4) })
            Field(pc + (ulong)o, w, data.Length);
        Mark(pc + BlockSize, data.Length);
    }

    private void FindBase(byte[] data, in Superblock sb)
    {
        ulong bo = sb.BaseOffset;
        int len = data.Length;
        if (bo == 0 || !Inside(bo, BaseSuperblock.RecordSize, len)) return;
        foreach (var (o, w) in new[] { (0, 4), (4, 4), (8, 4), (12, 4), (16, 8), (24, 8), (32, 4), (36, 4), (40, 8) })
            Field(bo + (ulong)o, w, len);
        Mark(bo + BaseSuperblock.RecordSize, len);
        Mark(bo + BlockSize, len);
        Metadata(bo + BlockSize, len);
        var b = BaseSuperblock.Read(data.AsSpan((int)bo, BaseSuperblock.RecordSize));
        Mark(bo + b.TotalSize, len);
        Mark(bo + b.DataOffset, len);
        ulong table = bo + b.InodeOffset;
        if (table < bo) return;
        Mark(table, len);
        Mark(table + (ulong)b.InodeCount * InodeSize, len);
        uint count = Math.Min(b.InodeCount, MaxInodes);
        int dirents = 0;
        for (uint i = 0; i < count; i++)
        {
            ulong rec = table + (ulong)i * InodeSize;
            if (!Inside(rec, InodeSize, len)) return;
            InodeRecords.Add(((int)rec, InodeSize));
            foreach (var (o, w) in new[] { (0, 4), (4, 4), (6, 1), (8, 4), (12, 4), (16, 8), (24, 8), (32, 4) })
                Field(rec + (ulong)o, w, len);
            Metadata(rec + InodeSize, len);
            var inode = BaseInode.Read(data.AsSpan((int)rec, InodeSize));
            ulong start = bo + inode.DataOffset;
            if (start < bo) continue;
            Mark(start, len);
            Mark(start + inode.Size, len);
            if (ModeBits.TypeOf(inode.Mode) != DaxFsItemType.Directory) continue;
            ulong n = inode.Size / DirentSize;
            for (ulong j = 0; j < n && dirents < MaxDirents; j++, dirents++)
            {
                ulong at = start + j * DirentStride;
                if (!Inside(at, DirentSize, len)) break;
                Dirents.Add(((int)at, DirentSize));
                Field(at, 4, len);
                Field(at + 4, 4, len);
                Field(at + 8, 2, len);
                Field(at + 16, 1, len);
                Field(at + 17, 1, len);
                Metadata(at + DirentStride, len);
            }
            Mark(start + n * DirentStride, len);
        }
    }
}

/// <summary>
/// Deterministic mutations of DAXFS images (for a fixed <see cref="Random"/> seed, the same inputs every time): bit
/// flips, bytes set to interesting values, 2/4/8-byte fields set to boundary values (0, near 2^31, 2^32, 2^63, 2^64,
/// the image length, the dirent sizes), arithmetic on fields, truncations at region boundaries, splices and
/// crossovers with other inputs, records copied over one another, names made invalid, and appended bytes.
/// </summary>
public sealed class ImageMutator
{
    private static readonly byte[] InterestingBytes = { 0, 1, 2, 0x0F, 0x10, 0x2E, 0x2F, 0x40, 0x7F, 0x80, 0x81, 0xA0, 0xFE, 0xFF };

    private static readonly ulong[] InterestingValues =
    {
        0, 1, 2, 3, 4, 8, 16, 24, 32, 48, 64, 127, 128, 255, 256, 270, 271, 272, 273, 512, 542, 544, 4039, 4040, 4095, 4096,
        4097, 8192, 0x9000, 0x10000, 0x7FFF, 0x8000, 0xFFFF, 0x10000, 0x7FFFFFFF, 0x80000000, 0x80000001, 0xFFFFFFFE, 0xFFFFFFFF,
        0x100000000, 0x100000001, 271UL << 32, 0x7FFFFFFFFFFFFFFF, 0x8000000000000000, 0xFFFFFFFFFFFFF000,
        0xFFFFFFFFFFFFFFFE, 0xFFFFFFFFFFFFFFFF, 0xA1FF, 0x41ED, 0x81A4, 0x1000, 0x2000, 0x6000, 0xC000,
    };

    private readonly Random _rng;
    private readonly IReadOnlyList<byte[]> _pool;

    /// <param name="rng">The only source of randomness (seed it for a replayable run).</param>
    /// <param name="pool">Other inputs to splice from (may be empty).</param>
    public ImageMutator(Random rng, IReadOnlyList<byte[]> pool)
    {
        _rng = rng;
        _pool = pool;
    }

    /// <summary>The names of the mutation kinds, indexed as <see cref="Mutate"/> reports them.</summary>
    public static readonly string[] Kinds =
    {
        "bit flip", "interesting byte", "field value", "raw word", "field arithmetic", "truncation", "splice", "crossover",
        "record copy", "bad name", "append", "field relative to image",
    };

    /// <summary>A mutated copy of <paramref name="seed"/> (1 to 4 stacked mutations); <paramref name="kinds"/> gets their kinds.</summary>
    public byte[] Mutate(byte[] seed, List<int>? kinds = null)
    {
        byte[] data = (byte[])seed.Clone();
        int steps = 1 + (_rng.Next(4) == 0 ? _rng.Next(4) : 0);
        for (int s = 0; s < steps; s++)
        {
            var marks = ImageLandmarks.Find(data);
            int kind = _rng.Next(Kinds.Length);
            data = Apply(kind, data, marks);
            kinds?.Add(kind);
        }
        return data;
    }

    private byte[] Apply(int kind, byte[] data, ImageLandmarks marks)
    {
        if (data.Length == 0 && kind is not (6 or 7 or 10)) kind = 10;
        switch (kind)
        {
            case 0:
            {
                int at = Position(data, marks);
                data[at] ^= (byte)(1 << _rng.Next(8));
                return data;
            }
            case 1:
                data[Position(data, marks)] = InterestingBytes[_rng.Next(InterestingBytes.Length)];
                return data;
            case 2:
            case 11:
            {
                if (marks.Fields.Count == 0) goto case 3;
                var (at, width) = marks.Fields[_rng.Next(marks.Fields.Count)];
                ulong value = kind == 2 ? Interesting(width) : RelativeToImage(data, marks);
                Write(data, at, width, value);
                return data;
            }
            case 3:
            {
                int width = 1 << _rng.Next(1, 4);
                int at = Position(data, marks);
                if (_rng.Next(4) != 0) at &= ~(width - 1);
                if (at + width > data.Length) at = Math.Max(0, data.Length - width);
                if (at + width > data.Length) return data;
                Write(data, at, width, Interesting(width));
                return data;
            }
            case 4:
            {
                if (marks.Fields.Count == 0) goto case 0;
                var (at, width) = marks.Fields[_rng.Next(marks.Fields.Count)];
                ulong v = Read(data, at, width);
                long delta = _rng.Next(1, 36) * (_rng.Next(2) == 0 ? 1 : -1);
                if (_rng.Next(4) == 0) delta *= _rng.Next(2) == 0 ? BlockSize : DirentStride;
                Write(data, at, width, unchecked(v + (ulong)delta));
                return data;
            }
            case 5:
            {
                var cuts = marks.Boundaries.Where(b => b < data.Length).ToArray();
                int cut = cuts.Length > 0 && _rng.Next(8) != 0 ? cuts[_rng.Next(cuts.Length)] : _rng.Next(data.Length);
                return data[..cut];
            }
            case 6:
            {
                byte[] other = Other(data);
                if (other.Length == 0 || data.Length == 0) return data;
                int len = 1 + _rng.Next(Math.Min(other.Length, _rng.Next(2) == 0 ? 64 : 4096));
                int from = _rng.Next(other.Length - len + 1);
                int to = _rng.Next(2) == 0 && from < data.Length ? from : _rng.Next(data.Length);
                len = Math.Min(len, data.Length - to);
                Array.Copy(other, from, data, to, len);
                return data;
            }
            case 7:
            {
                // Head of this input, tail of another, cut at one of this input's boundaries.
                byte[] other = Other(data);
                var cuts = marks.Boundaries.ToArray();
                int cut = Math.Min(cuts.Length > 0 ? cuts[_rng.Next(cuts.Length)] : 0, data.Length);
                if (other.Length <= cut) return data;
                var mixed = new byte[other.Length];
                Array.Copy(data, mixed, cut);
                Array.Copy(other, cut, mixed, cut, other.Length - cut);
                return mixed;
            }
            case 8:
            {
                // A record copied over another of its kind: aliases inodes, duplicates names, makes cycles.
                var set = _rng.Next(2) == 0 && marks.Dirents.Count >= 2 ? marks.Dirents : marks.InodeRecords;
                if (set.Count < 2) goto case 2;
                var a = set[_rng.Next(set.Count)];
                var b = set[_rng.Next(set.Count)];
                if (_rng.Next(3) == 0) Array.Copy(data, a.Offset, data, b.Offset, Math.Min(a.Length, b.Length));
                else Array.Copy(data, a.Offset, data, b.Offset, 4); // just the inode number
                return data;
            }
            case 9:
            {
                if (marks.Dirents.Count == 0) goto case 1;
                var (at, _) = marks.Dirents[_rng.Next(marks.Dirents.Count)];
                switch (_rng.Next(6))
                {
                    case 0: data[at + 16] = (byte)'.'; Write(data, at + 8, 2, 1); break;
                    case 1: data[at + 16] = (byte)'.'; data[at + 17] = (byte)'.'; Write(data, at + 8, 2, 2); break;
                    case 2: data[at + 16 + _rng.Next(Math.Max(1, Math.Min(255, (int)Read(data, at + 8, 2))))] = (byte)'/'; break;
                    case 3: data[at + 16] = 0; break;
                    case 4: data[at + 16 + _rng.Next(4)] = (byte)(0x80 + _rng.Next(0x80)); break; // not UTF-8
                    default: Write(data, at + 8, 2, (ulong)_rng.Next(254, 258)); break;
                }
                return data;
            }
            case 10:
            {
                int extra = _rng.Next(2) == 0 ? _rng.Next(1, 300) : _rng.Next(1, 3) * BlockSize;
                var grown = new byte[data.Length + extra];
                data.CopyTo(grown, 0);
                if (_rng.Next(2) == 0) _rng.NextBytes(grown.AsSpan(data.Length));
                return grown;
            }
            default:
                throw new ArgumentOutOfRangeException(nameof(kind));
        }
    }

    private byte[] Other(byte[] data) => _pool.Count == 0 ? data : _pool[_rng.Next(_pool.Count)];

    /// <summary>Mostly in the metadata; sometimes anywhere.</summary>
    private int Position(byte[] data, ImageLandmarks marks) =>
        _rng.Next(5) != 0 && marks.MetadataEnd > 0 ? _rng.Next(Math.Min(marks.MetadataEnd, data.Length)) : _rng.Next(data.Length);

    private ulong Interesting(int width)
    {
        ulong v = InterestingValues[_rng.Next(InterestingValues.Length)];
        if (_rng.Next(4) == 0) v = width switch { 1 => byte.MaxValue, 2 => ushort.MaxValue, 4 => uint.MaxValue, _ => ulong.MaxValue } - (ulong)_rng.Next(0, 300);
        return v;
    }

    /// <summary>Values that meet the image: its length and nearby, a boundary, and sums that overflow 64 bits from a boundary.</summary>
    private ulong RelativeToImage(byte[] data, ImageLandmarks marks)
    {
        var b = marks.Boundaries.ToArray();
        ulong boundary = b.Length > 0 ? (ulong)b[_rng.Next(b.Length)] : 0;
        return _rng.Next(6) switch
        {
            0 => (ulong)data.Length + (ulong)_rng.Next(-2, 3),
            1 => boundary,
            2 => unchecked(0UL - boundary),                 // boundary + value wraps to 0
            3 => unchecked(ulong.MaxValue - boundary + 1 + (ulong)_rng.Next(0, 4096)), // wraps just past 0
            4 => boundary / DirentSize * DirentSize,
            _ => (ulong)_rng.Next(0, Math.Max(1, data.Length)),
        };
    }

    private static ulong Read(byte[] data, int at, int width) => width switch
    {
        1 => data[at],
        2 => BinaryPrimitives.ReadUInt16LittleEndian(data.AsSpan(at)),
        4 => BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(at)),
        _ => BinaryPrimitives.ReadUInt64LittleEndian(data.AsSpan(at)),
    };

    private static void Write(byte[] data, int at, int width, ulong value)
    {
        if (at < 0 || at + width > data.Length) return;
        switch (width)
        {
            case 1: data[at] = (byte)value; break;
            case 2: BinaryPrimitives.WriteUInt16LittleEndian(data.AsSpan(at), (ushort)value); break;
            case 4: BinaryPrimitives.WriteUInt32LittleEndian(data.AsSpan(at), (uint)value); break;
            default: BinaryPrimitives.WriteUInt64LittleEndian(data.AsSpan(at), value); break;
        }
    }
}
