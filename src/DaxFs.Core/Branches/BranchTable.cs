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
    public const int DeltaHeaderSize = DeltaEntry.HeaderSize;

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
            throw new DaxFsFormatException(RuleIds.BranchLogBounds, branch.RecordOffset + BranchRecord.Offsets.DeltaLogOffset,
                $"Branch '{branch.Name}': its log [0x{branch.LogOffset:x}, +{branch.LogUsed}) is not inside the delta region or exceeds its capacity.");
        ulong p = 0;
        while (p < branch.LogUsed)
        {
            ulong left = branch.LogUsed - p;
            ulong at = branch.LogOffset + p;
            if (left < DeltaHeaderSize) Bad(at, $"the log ends with {left} bytes, too few for an entry header");
            var h = reader.Memory.Span(at, DeltaHeaderSize, RuleIds.DeltaEntry);
            uint type = DeltaEntry.ReadType(h), total = DeltaEntry.ReadTotalSize(h);
            const int totalField = DeltaEntry.Header.TotalSize;
            if (total == 0) break;
            if (total < DeltaHeaderSize || total > left) Bad(at + totalField, $"the entry at log offset {p} has total_size {total}");
            var body = reader.Memory.Span(at, (int)total, RuleIds.DeltaEntry)[DeltaHeaderSize..];
            var entry = new DeltaLogEntry((long)at, (long)p, (DeltaKind)type, total, DeltaEntry.ReadIno(h), DeltaEntry.ReadTimestamp(h));
            list.Add(type switch
            {
                DeltaEntry.TypeWrite => WriteEntry(entry, body, at),
                DeltaEntry.TypeCreate or DeltaEntry.TypeMkdir => Create(entry, body, at),
                DeltaEntry.TypeDelete => Delete(entry, body, at),
                DeltaEntry.TypeTruncate => body.Length >= DeltaEntry.Truncate.FixedSize
                    ? entry with { NewSize = U64(body, DeltaEntry.Truncate.NewSize) }
                    : Bad<DeltaLogEntry>(at + totalField, "a TRUNCATE entry is shorter than its 8-byte fixed part"),
                DeltaEntry.TypeRename => Rename(entry, body, at),
                DeltaEntry.TypeSetAttr => body.Length >= DeltaEntry.SetAttr.FixedSize
                    ? entry with
                    {
                        Mode = U32(body, DeltaEntry.SetAttr.Mode), Uid = U32(body, DeltaEntry.SetAttr.Uid), Gid = U32(body, DeltaEntry.SetAttr.Gid),
                        Valid = (DeltaAttributes)U32(body, DeltaEntry.SetAttr.Valid), NewSize = U64(body, DeltaEntry.SetAttr.Size),
                    }
                    : Bad<DeltaLogEntry>(at + totalField, "a SETATTR entry is shorter than its 24-byte fixed part"),
                DeltaEntry.TypeSymlink => Symlink(entry, body, at),
                _ => Bad<DeltaLogEntry>(at, $"the entry at log offset {p} has unknown type {type}"),
            });
            p += total;
        }
        return list;
    }

    private static DeltaLogEntry WriteEntry(DeltaLogEntry e, ReadOnlySpan<byte> body, ulong at)
    {
        const int fixedSize = DeltaEntry.Write.FixedSize;
        if (body.Length < fixedSize) Bad(at + DeltaEntry.Header.TotalSize, "a WRITE entry is shorter than its 16-byte fixed part");
        uint len = U32(body, DeltaEntry.Write.Length);
        if (len > (uint)(body.Length - fixedSize)) Bad(at + DeltaHeaderSize + DeltaEntry.Write.Length, $"a WRITE entry's {len} data bytes run past the entry");
        return e with { FileOffset = U64(body, DeltaEntry.Write.FileOffset), Length = len, DataOffset = (long)at + DeltaHeaderSize + fixedSize };
    }

    private static DeltaLogEntry Create(DeltaLogEntry e, ReadOnlySpan<byte> body, ulong at)
    {
        const int fixedSize = DeltaEntry.Create.FixedSize;
        if (body.Length < fixedSize) Bad(at + DeltaEntry.Header.TotalSize, "a CREATE/MKDIR entry is shorter than its 32-byte fixed part");
        int n = U16(body, DeltaEntry.Create.NameLength);
        if (n > body.Length - fixedSize) Bad(at + DeltaHeaderSize + DeltaEntry.Create.NameLength, $"a CREATE/MKDIR entry's {n}-byte name runs past the entry");
        return e with
        {
            ParentIno = U64(body, DeltaEntry.Create.ParentIno), NewIno = U64(body, DeltaEntry.Create.NewIno), Mode = U32(body, DeltaEntry.Create.Mode),
            Uid = U32(body, DeltaEntry.Create.Uid), Gid = U32(body, DeltaEntry.Create.Gid), NameBytes = body.Slice(fixedSize, n).ToArray(),
        };
    }

    private static DeltaLogEntry Delete(DeltaLogEntry e, ReadOnlySpan<byte> body, ulong at)
    {
        const int fixedSize = DeltaEntry.Delete.FixedSize;
        if (body.Length < fixedSize) Bad(at + DeltaEntry.Header.TotalSize, "a DELETE entry is shorter than its 16-byte fixed part");
        int n = U16(body, DeltaEntry.Delete.NameLength);
        if (n > body.Length - fixedSize) Bad(at + DeltaHeaderSize + DeltaEntry.Delete.NameLength, $"a DELETE entry's {n}-byte name runs past the entry");
        return e with { ParentIno = U64(body, DeltaEntry.Delete.ParentIno), NameBytes = body.Slice(fixedSize, n).ToArray() };
    }

    private static DeltaLogEntry Rename(DeltaLogEntry e, ReadOnlySpan<byte> body, ulong at)
    {
        const int fixedSize = DeltaEntry.Rename.FixedSize;
        if (body.Length < fixedSize) Bad(at + DeltaEntry.Header.TotalSize, "a RENAME entry is shorter than its 32-byte fixed part");
        int o = U16(body, DeltaEntry.Rename.OldNameLength), n = U16(body, DeltaEntry.Rename.NewNameLength);
        if (o + n > body.Length - fixedSize) Bad(at + DeltaHeaderSize + DeltaEntry.Rename.OldNameLength, $"a RENAME entry's names ({o} + {n} bytes) run past the entry");
        return e with
        {
            ParentIno = U64(body, DeltaEntry.Rename.OldParentIno), NewParentIno = U64(body, DeltaEntry.Rename.NewParentIno), NewIno = U64(body, DeltaEntry.Rename.Ino),
            NameBytes = body.Slice(fixedSize, o).ToArray(), NewNameBytes = body.Slice(fixedSize + o, n).ToArray(),
        };
    }

    private static DeltaLogEntry Symlink(DeltaLogEntry e, ReadOnlySpan<byte> body, ulong at)
    {
        // The fixed part is 28 bytes of fields padded to 32 (8-byte alignment of the C struct).
        const int fixedSize = DeltaEntry.Symlink.FixedSize;
        if (body.Length < fixedSize) Bad(at + DeltaEntry.Header.TotalSize, "a SYMLINK entry is shorter than its 32-byte fixed part");
        int n = U16(body, DeltaEntry.Symlink.NameLength), t = U16(body, DeltaEntry.Symlink.TargetLength);
        // target_len excludes the NUL that follows the target (as the kernel writes and checks it).
        if (n + t + 1 > body.Length - fixedSize) Bad(at + DeltaHeaderSize + DeltaEntry.Symlink.NameLength, $"a SYMLINK entry's name, target and NUL ({n} + {t} + 1 bytes) run past the entry");
        return e with
        {
            ParentIno = U64(body, DeltaEntry.Symlink.ParentIno), NewIno = U64(body, DeltaEntry.Symlink.NewIno), Uid = U32(body, DeltaEntry.Symlink.Uid),
            Gid = U32(body, DeltaEntry.Symlink.Gid), NameBytes = body.Slice(fixedSize, n).ToArray(), TargetBytes = body.Slice(fixedSize + n, t).ToArray(),
        };
    }

    private static void Bad(ulong at, string what) => throw new DaxFsFormatException(RuleIds.DeltaEntry, (long)at, $"Delta log: {what}.");
    private static T Bad<T>(ulong at, string what) => throw new DaxFsFormatException(RuleIds.DeltaEntry, (long)at, $"Delta log: {what}.");
    private static uint U32(ReadOnlySpan<byte> b, int field) => DeltaEntry.U32(b, field);
    private static ulong U64(ReadOnlySpan<byte> b, int field) => DeltaEntry.U64(b, field);
    private static ushort U16(ReadOnlySpan<byte> b, int field) => DeltaEntry.U16(b, field);
}
