using DaxFs.Core.Format;
using static DaxFs.Core.Format.DaxFsConstants;

namespace DaxFs.Core.Validate;

// The branch table and the delta logs of every branch the kernel can load (active, committed, aborted).
internal sealed partial class ValidationRun
{
    private const int DeltaHeaderSize = DeltaEntry.HeaderSize;

    private void CheckBranches()
    {
        uint n = _sb.BranchTableEntries;
        ulong tableOffset = _sb.BranchTableOffset;
        if (n == 0 || tableOffset == 0) return;
        // Same bound as SB-BRANCHTABLE-BOUNDS, already reported when it fails.
        if (!InImage(tableOffset, (Offset128)n * BranchRecordSize)) return;
        // The table is in the image, so n <= image length / 128.

        var records = new BranchRecord[n];
        var byId = new Dictionary<ulong, int>();
        for (uint i = 0; i < n; i++)
        {
            if ((i & 0xFF) == 0) _ct.ThrowIfCancellationRequested();
            ulong at = tableOffset + (ulong)i * BranchRecordSize;
            var r = records[i] = BranchRecord.Read(Bytes(at, BranchRecordSize));
            if (r.State == (uint)BranchState.Free) continue;
            string who = $"Branch record {i} (id {r.BranchId})";
            if (r.State > (uint)BranchState.Aborted)
                Report(RuleIds.BranchState, (long)at + BranchRecord.Offsets.State, null, $"{who} has state {r.State}; states are 0 FREE, 1 ACTIVE, 2 COMMITTED, 3 ABORTED.");
            if (!r.NameTerminated)
                Report(RuleIds.BranchName, (long)at + BranchRecord.Offsets.Name, null, $"{who} has a name that is not NUL-terminated within 32 bytes.");
            // The kernel clears the name of an aborted branch and of a committed one (branch.c memsets it on both).
            else if (r.NameField[0] == 0 && r.State is not ((uint)BranchState.Aborted or (uint)BranchState.Committed))
                Report(RuleIds.BranchName, (long)at + BranchRecord.Offsets.Name, null, $"{who} has an empty name.");
            if (!byId.TryAdd(r.BranchId, (int)i))
                Report(RuleIds.BranchDuplicate, (long)at, null, $"{who} has the same id as branch record {byId[r.BranchId]}.");
        }

        // Parents exist and form no cycle (each record has at most one parent: follow the chains once).
        var parent = new int[n];
        for (uint i = 0; i < n; i++)
        {
            parent[i] = -1;
            var r = records[i];
            if (r.State == (uint)BranchState.Free || r.ParentId == 0) continue;
            if (byId.TryGetValue(r.ParentId, out int p)) parent[i] = p;
            else
                Report(RuleIds.BranchParent, (long)(tableOffset + (ulong)i * BranchRecordSize) + BranchRecord.Offsets.ParentId, null,
                    $"Branch record {i} (id {r.BranchId}) names parent id {r.ParentId}, which is not in the branch table.");
        }
        var walk = new int[n];
        for (int i = 0; i < n; i++)
        {
            if (walk[i] != 0 || records[i].State == (uint)BranchState.Free) continue;
            int j = i;
            while (j >= 0 && walk[j] == 0)
            {
                walk[j] = i + 1;
                j = parent[j];
            }
            if (j >= 0 && walk[j] == i + 1)
                Report(RuleIds.BranchCycle, (long)(tableOffset + (ulong)j * BranchRecordSize) + BranchRecord.Offsets.ParentId, null,
                    $"Branch record {j} (id {records[j].BranchId}) is its own ancestor: the parent chain loops.");
        }

        // Logs of live branches: bounds, then no two overlapping (the kernel gives each its own allocation, and
        // walking each byte of the delta region once keeps the work linear), then the walk.
        var walkable = new List<uint>();
        for (uint i = 0; i < n; i++)
        {
            var r = records[i];
            // The kernel loads ABORTED records too: by name (an invalidated sibling keeps its name) and as the parent
            // of a loaded branch (branch.c), so their logs are replayed like any other.
            if (r.State is not ((uint)BranchState.Active or (uint)BranchState.Committed or (uint)BranchState.Aborted)) continue;
            _ct.ThrowIfCancellationRequested();
            if (CheckBranchLog(i, r, tableOffset + (ulong)i * BranchRecordSize)) walkable.Add(i);
        }
        walkable.Sort((x, y) => records[x].DeltaLogOffset != records[y].DeltaLogOffset
            ? records[x].DeltaLogOffset.CompareTo(records[y].DeltaLogOffset) : x.CompareTo(y));
        Offset128 maxEnd = 0;
        long owner = -1;
        var walk2 = new List<uint>();
        foreach (uint i in walkable)
        {
            var r = records[i];
            Offset128 end = (Offset128)r.DeltaLogOffset + Math.Max(r.DeltaLogSize, r.DeltaLogCapacity);
            if (owner >= 0 && r.DeltaLogOffset < maxEnd)
            {
                Report(RuleIds.BranchLogBounds, (long)(tableOffset + (ulong)i * BranchRecordSize) + BranchRecord.Offsets.DeltaLogOffset, null,
                    $"Branch record {i} ({ShowName(r)}, id {r.BranchId}): its log at {Hex(r.DeltaLogOffset)} overlaps the log of branch record {owner}.");
                continue;
            }
            if (end > maxEnd)
            {
                maxEnd = end;
                owner = i;
            }
            walk2.Add(i);
        }
        walk2.Sort();
        foreach (uint i in walk2)
        {
            var r = records[i];
            _ct.ThrowIfCancellationRequested();
            WalkDeltaLog($"Branch record {i} ({ShowName(r)}, id {r.BranchId})", r.DeltaLogOffset, r.DeltaLogSize);
        }
    }

    private static string ShowName(in BranchRecord r)
    {
        var field = r.NameField.AsSpan();
        int nul = field.IndexOf((byte)0);
        return Show(nul < 0 ? field : field[..nul]);
    }

    /// <summary>Checks where a live branch's log lies; true when its used part can be walked.</summary>
    private bool CheckBranchLog(uint index, in BranchRecord r, ulong recordAt)
    {
        // delta_log_offset is absolute (see ImageValidator's remarks).
        Offset128 regionStart = _sb.DeltaRegionOffset, regionEnd = regionStart + _sb.DeltaRegionSize;
        bool region = _sb.DeltaRegionOffset != 0 && _sb.DeltaRegionSize != 0;
        Offset128 logStart = r.DeltaLogOffset;
        string who = $"Branch record {index} ({ShowName(r)}, id {r.BranchId})";
        string? problem = null;
        if (!region)
            problem = "the image has no delta region";
        else if (logStart < regionStart || logStart + r.DeltaLogCapacity > regionEnd)
            problem = $"its log [{Hex(logStart)}, +{r.DeltaLogCapacity}) is not inside the delta region [{Hex(regionStart)}, {Hex(regionEnd)})";
        else if (r.DeltaLogSize > r.DeltaLogCapacity)
            problem = $"its log size {r.DeltaLogSize} exceeds its capacity {r.DeltaLogCapacity}";
        if (problem is not null)
            Report(RuleIds.BranchLogBounds, (long)recordAt + BranchRecord.Offsets.DeltaLogOffset, null, $"{who}: {problem}.");

        // The used part of the log can be walked when it is inside the delta region and the image.
        return region && logStart >= regionStart && logStart + r.DeltaLogSize <= regionEnd && InImage(logStart, r.DeltaLogSize);
    }

    private void WalkDeltaLog(string who, ulong logOffset, ulong logSize)
    {
        ulong p = 0;
        int steps = 0;
        while (p < logSize)
        {
            if ((++steps & 0x3FF) == 0) _ct.ThrowIfCancellationRequested();
            ulong at = logOffset + p;
            ulong left = logSize - p;
            if (left < DeltaHeaderSize)
            {
                // Zero bytes read as the kernel's end-of-log marker; anything else is a cut-off header.
                if (Bytes(at, (int)left).IndexOfAnyExcept((byte)0) < 0) return;
                Report(RuleIds.DeltaEntry, (long)at, null, $"{who}: the log ends with {left} bytes, too few for a {DeltaHeaderSize}-byte entry header.");
                return;
            }
            var h = Bytes(at, DeltaHeaderSize);
            uint type = DeltaEntry.ReadType(h);
            uint total = DeltaEntry.ReadTotalSize(h);
            const int totalField = DeltaEntry.Header.TotalSize;
            if (total == 0) return; // the kernel's end-of-log marker (delta.c stops scanning here)
            if (total < DeltaHeaderSize)
            {
                Report(RuleIds.DeltaEntry, (long)at + totalField, null, $"{who}: the entry at log offset {p} has total_size {total}, less than its {DeltaHeaderSize}-byte header.");
                return;
            }
            if (total > left)
            {
                Report(RuleIds.DeltaEntry, (long)at + totalField, null, $"{who}: the entry at log offset {p} ({total} bytes) runs past the log's {logSize} used bytes.");
                return;
            }
            int fixedSize = DeltaEntry.FixedSize(type);
            if (fixedSize < 0)
                Report(RuleIds.DeltaEntry, (long)at, null, $"{who}: the entry at log offset {p} has unknown type {type}.");
            else if (total < DeltaHeaderSize + fixedSize)
                Report(RuleIds.DeltaEntry, (long)at + totalField, null,
                    $"{who}: the type {type} entry at log offset {p} has total_size {total}, less than {DeltaHeaderSize + fixedSize}.");
            else
            {
                var f = Bytes(at + DeltaHeaderSize, fixedSize);
                ulong variable = DeltaEntry.VariableSize(type, f);
                if (total < DeltaHeaderSize + (ulong)fixedSize + variable)
                    Report(RuleIds.DeltaEntry, (long)at + totalField, null,
                        $"{who}: the type {type} entry at log offset {p} has total_size {total}, too small for its {variable} bytes of data or names.");
                else if (type == DeltaEntry.TypeSymlink)
                {
                    // The kernel keeps a pointer to the target and readlink runs strlen over it (inode.c, delta.c).
                    ulong nul = at + DeltaHeaderSize + (ulong)fixedSize + variable - 1; // inside the entry (checked above)
                    if (Bytes(nul, 1)[0] != 0)
                        Report(RuleIds.DeltaSymlinkTermination, (long)nul, null,
                            $"{who}: the SYMLINK entry at log offset {p} has no NUL after its {DeltaEntry.U16(f, DeltaEntry.Symlink.TargetLength)}-byte target.");
                }
            }
            p += total;
        }
    }
}
