using System.Buffers.Binary;
using System.Text;
using DaxFs.Core.Format;
using DaxFs.Core.Read;

namespace DaxFs.Core.Branches;

/// <summary>One used record of the branch table, as the kernel left it.</summary>
public sealed record BranchInfo(
    int Index, long RecordOffset, ulong Id, ulong ParentId, string Name, BranchState State, uint Generation, uint RefCount,
    ulong LogOffset, ulong LogUsed, ulong LogCapacity, ulong NextLocalIno)
{
    /// <summary>The parent's name, filled in by <see cref="BranchTable.Read"/> (null for main).</summary>
    public string? ParentName { get; init; }
}

public enum DeltaKind : uint { Write = 1, Create = 2, Delete = 3, Truncate = 4, Mkdir = 5, Rename = 6, SetAttr = 7, Symlink = 8 }

[Flags]
public enum DeltaAttributes : uint { None = 0, Mode = 1, Uid = 2, Gid = 4, Size = 8 }

/// <summary>One entry of a branch's delta log; fields that the kind does not carry are null.</summary>
public sealed record DeltaLogEntry(long Offset, long LogPosition, DeltaKind Kind, uint TotalSize, ulong Ino, ulong TimestampNs)
{
    public ulong? ParentIno { get; init; }
    public ulong? NewParentIno { get; init; }
    public ulong? NewIno { get; init; }
    public uint? Mode { get; init; }
    public uint? Uid { get; init; }
    public uint? Gid { get; init; }
    public byte[]? NameBytes { get; init; }
    public byte[]? NewNameBytes { get; init; }
    public byte[]? TargetBytes { get; init; }
    public ulong? FileOffset { get; init; }
    public uint? Length { get; init; }
    public ulong? NewSize { get; init; }
    public DeltaAttributes? Valid { get; init; }
    /// <summary>WRITE: where the written bytes sit in the image.</summary>
    public long? DataOffset { get; init; }
    public string? Name => NameBytes is null ? null : Encoding.UTF8.GetString(NameBytes);
    public string? NewName => NewNameBytes is null ? null : Encoding.UTF8.GetString(NewNameBytes);
    public string? Target => TargetBytes is null ? null : Encoding.UTF8.GetString(TargetBytes);
    public DateTimeOffset Time => DateTimeOffset.UnixEpoch.AddTicks((long)Math.Min(TimestampNs / 100, (ulong)(DateTimeOffset.MaxValue - DateTimeOffset.UnixEpoch).Ticks));
}

/// <summary>Reads the branch table and delta logs of a branching image (offline: from a file, device or memory dump).</summary>
public static class BranchTable
{
    public const int DeltaHeaderSize = 24;

    /// <summary>The used records (not FREE) of the branch table, in table order; empty for a static image.</summary>
    public static IReadOnlyList<BranchInfo> Read(DaxFsImageReader reader) => Read(reader.Memory, reader.Superblock);

    /// <summary>The used records of the branch table in <paramref name="memory"/> (a live image in DAX memory needs only
    /// its superblock and table: no base-image checks).</summary>
    public static IReadOnlyList<BranchInfo> Read(ImageMemory memory, Superblock sb)
    {
        var result = new List<BranchInfo>();
        if (sb.BranchTableEntries == 0 || sb.BranchTableOffset == 0) return result;
        uint count = Math.Min(sb.BranchTableEntries, (uint)DaxFsConstants.MaxBranches);
        for (int i = 0; i < count; i++)
        {
            ulong at = sb.BranchTableOffset + (ulong)i * DaxFsConstants.BranchRecordSize;
            var r = BranchRecord.Read(memory.Span(at, DaxFsConstants.BranchRecordSize, RuleIds.BranchTableBounds));
            if (r.IsFree) continue;
            result.Add(new BranchInfo(i, (long)at, r.BranchId, r.ParentId, r.Name, (BranchState)r.State, r.Generation, r.RefCount,
                r.DeltaLogOffset, r.DeltaLogSize, r.DeltaLogCapacity, r.NextLocalIno));
        }
        var byId = result.Where(b => b.Id != 0).GroupBy(b => b.Id).ToDictionary(g => g.Key, g => g.First().Name);
        return result.Select(b => b with { ParentName = b.ParentId != 0 && byId.TryGetValue(b.ParentId, out var p) ? p : null }).ToList();
    }

    /// <summary>
    /// The entries of a branch's log, in order. Stops where the kernel stops (an entry whose total_size is 0);
    /// a malformed entry raises <see cref="DaxFsFormatException"/> with rule DELTA-ENTRY and its offset.
    /// </summary>
    public static IReadOnlyList<DeltaLogEntry> ReadLog(DaxFsImageReader reader, BranchInfo branch)
    {
        var sb = reader.Superblock;
        var list = new List<DeltaLogEntry>();
        ulong regionStart = sb.DeltaRegionOffset, regionEnd = sb.DeltaRegionOffset + sb.DeltaRegionSize;
        if (branch.LogUsed == 0) return list;
        if (branch.LogOffset < regionStart || branch.LogOffset > regionEnd || branch.LogUsed > regionEnd - branch.LogOffset || branch.LogUsed > branch.LogCapacity)
            throw new DaxFsFormatException(RuleIds.BranchLogBounds, branch.RecordOffset + 16,
                $"Branch '{branch.Name}': its log [0x{branch.LogOffset:x}, +{branch.LogUsed}) is not inside the delta region or exceeds its capacity.");
        ulong p = 0;
        while (p < branch.LogUsed)
        {
            ulong left = branch.LogUsed - p;
            ulong at = branch.LogOffset + p;
            if (left < DeltaHeaderSize) Bad(at, $"the log ends with {left} bytes, too few for an entry header");
            var h = reader.Memory.Span(at, DeltaHeaderSize, RuleIds.DeltaEntry);
            uint type = U32(h, 0), total = U32(h, 4);
            if (total == 0) break;
            if (total < DeltaHeaderSize || total > left) Bad(at + 4, $"the entry at log offset {p} has total_size {total}");
            var body = reader.Memory.Span(at, (int)total, RuleIds.DeltaEntry)[DeltaHeaderSize..];
            var entry = new DeltaLogEntry((long)at, (long)p, (DeltaKind)type, total, U64(h, 8), U64(h, 16));
            list.Add(type switch
            {
                1 => WriteEntry(entry, body, at),
                2 or 5 => Create(entry, body, at),
                3 => Delete(entry, body, at),
                4 => body.Length >= 8 ? entry with { NewSize = U64(body, 0) } : Bad<DeltaLogEntry>(at + 4, "a TRUNCATE entry is shorter than its 8-byte fixed part"),
                6 => Rename(entry, body, at),
                7 => body.Length >= 24
                    ? entry with { Mode = U32(body, 0), Uid = U32(body, 4), Gid = U32(body, 8), Valid = (DeltaAttributes)U32(body, 12), NewSize = U64(body, 16) }
                    : Bad<DeltaLogEntry>(at + 4, "a SETATTR entry is shorter than its 24-byte fixed part"),
                8 => Symlink(entry, body, at),
                _ => Bad<DeltaLogEntry>(at, $"the entry at log offset {p} has unknown type {type}"),
            });
            p += total;
        }
        return list;
    }

    private static DeltaLogEntry WriteEntry(DeltaLogEntry e, ReadOnlySpan<byte> body, ulong at)
    {
        if (body.Length < 16) Bad(at + 4, "a WRITE entry is shorter than its 16-byte fixed part");
        uint len = U32(body, 8);
        if (len > (uint)(body.Length - 16)) Bad(at + 32, $"a WRITE entry's {len} data bytes run past the entry");
        return e with { FileOffset = U64(body, 0), Length = len, DataOffset = (long)at + DeltaHeaderSize + 16 };
    }

    private static DeltaLogEntry Create(DeltaLogEntry e, ReadOnlySpan<byte> body, ulong at)
    {
        if (body.Length < 32) Bad(at + 4, "a CREATE/MKDIR entry is shorter than its 32-byte fixed part");
        int n = U16(body, 28);
        if (n > body.Length - 32) Bad(at + DeltaHeaderSize + 28, $"a CREATE/MKDIR entry's {n}-byte name runs past the entry");
        return e with { ParentIno = U64(body, 0), NewIno = U64(body, 8), Mode = U32(body, 16), Uid = U32(body, 20), Gid = U32(body, 24), NameBytes = body.Slice(32, n).ToArray() };
    }

    private static DeltaLogEntry Delete(DeltaLogEntry e, ReadOnlySpan<byte> body, ulong at)
    {
        if (body.Length < 16) Bad(at + 4, "a DELETE entry is shorter than its 16-byte fixed part");
        int n = U16(body, 8);
        if (n > body.Length - 16) Bad(at + DeltaHeaderSize + 8, $"a DELETE entry's {n}-byte name runs past the entry");
        return e with { ParentIno = U64(body, 0), NameBytes = body.Slice(16, n).ToArray() };
    }

    private static DeltaLogEntry Rename(DeltaLogEntry e, ReadOnlySpan<byte> body, ulong at)
    {
        if (body.Length < 32) Bad(at + 4, "a RENAME entry is shorter than its 32-byte fixed part");
        int o = U16(body, 24), n = U16(body, 26);
        if (o + n > body.Length - 32) Bad(at + DeltaHeaderSize + 24, $"a RENAME entry's names ({o} + {n} bytes) run past the entry");
        return e with { ParentIno = U64(body, 0), NewParentIno = U64(body, 8), NewIno = U64(body, 16), NameBytes = body.Slice(32, o).ToArray(), NewNameBytes = body.Slice(32 + o, n).ToArray() };
    }

    private static DeltaLogEntry Symlink(DeltaLogEntry e, ReadOnlySpan<byte> body, ulong at)
    {
        // The fixed part is 28 bytes of fields padded to 32 (8-byte alignment of the C struct).
        if (body.Length < 32) Bad(at + 4, "a SYMLINK entry is shorter than its 32-byte fixed part");
        int n = U16(body, 24), t = U16(body, 26);
        // target_len excludes the NUL that follows the target (as the kernel writes and checks it).
        if (n + t + 1 > body.Length - 32) Bad(at + DeltaHeaderSize + 24, $"a SYMLINK entry's name, target and NUL ({n} + {t} + 1 bytes) run past the entry");
        return e with { ParentIno = U64(body, 0), NewIno = U64(body, 8), Uid = U32(body, 16), Gid = U32(body, 20), NameBytes = body.Slice(32, n).ToArray(), TargetBytes = body.Slice(32 + n, t).ToArray() };
    }

    private static void Bad(ulong at, string what) => throw new DaxFsFormatException(RuleIds.DeltaEntry, (long)at, $"Delta log: {what}.");
    private static T Bad<T>(ulong at, string what) => throw new DaxFsFormatException(RuleIds.DeltaEntry, (long)at, $"Delta log: {what}.");
    private static uint U32(ReadOnlySpan<byte> b, int o) => BinaryPrimitives.ReadUInt32LittleEndian(b[o..]);
    private static ulong U64(ReadOnlySpan<byte> b, int o) => BinaryPrimitives.ReadUInt64LittleEndian(b[o..]);
    private static ushort U16(ReadOnlySpan<byte> b, int o) => BinaryPrimitives.ReadUInt16LittleEndian(b[o..]);
}
