using System.Text;
using DaxFs.Core.Format;
using DaxFs.Core.Read;
using static DaxFs.Core.Format.DaxFsConstants;

namespace DaxFs.Core.Validate;

/// <summary>One validation of one image: the superblock and its regions (this file), the base image
/// (ValidationRun.Base.cs) and the branches (ValidationRun.Branches.cs).</summary>
internal sealed partial class ValidationRun
{
    private const int SuperSize = SuperblockRecordSize;

    // Superblock field offsets, for findings.
    private const long OffBlockSize = Superblock.Offsets.BlockSize,
        OffTotalSize = Superblock.Offsets.TotalSize, OffBaseOffset = Superblock.Offsets.BaseOffset,
        OffBranchTableOffset = Superblock.Offsets.BranchTableOffset, OffBranchTableEntries = Superblock.Offsets.BranchTableEntries,
        OffDeltaOffset = Superblock.Offsets.DeltaRegionOffset, OffDeltaAlloc = Superblock.Offsets.DeltaAllocOffset,
        OffPcacheOffset = Superblock.Offsets.PageCacheOffset, OffPcacheSize = Superblock.Offsets.PageCacheSize,
        OffPcacheSlots = Superblock.Offsets.PageCacheSlotCount;

    private readonly ImageMemory _image;
    private readonly ulong _length;
    private readonly ValidationOptions _options;
    private readonly CancellationToken _ct;
    private readonly int _max;

    // Findings: every rule runs to the end; only how many are kept is capped. Errors and warnings are kept apart (each
    // list at most _max long), so a flood of warnings never pushes an error out of the list and the verdict computed
    // over the list is the verdict over all findings. Memory stays bounded: 2 x _max findings plus per-rule counters.
    private readonly List<(long Seq, ValidationFinding Finding)> _errors = new();
    private readonly List<(long Seq, ValidationFinding Finding)> _warnings = new();
    private readonly Dictionary<string, long> _perRule = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Bookkeeping> _bookkeeping = new(StringComparer.Ordinal);
    private long _seq;
    private Superblock _sb;

    // Region bound failures already reported (they explain later unreadable structures).
    private bool _baseRegionBad, _branchTableBad, _deltaRegionBad, _pcacheRegionBad;

    public ValidationRun(ImageMemory image, ValidationOptions options)
    {
        _image = image;
        _length = (ulong)Math.Max(0, image.Length);
        _options = options;
        _ct = options.CancellationToken;
        _max = options.MaxFindings;
    }

    public IReadOnlyList<ValidationFinding> Run()
    {
        _ct.ThrowIfCancellationRequested();
        try
        {
            CheckImage();
        }
        catch (DaxFsFormatException ex) when (!_options.ThrowOnMissedBoundsCheck)
        {
            // Safety net: every read is bounds-checked first, so this is not expected; if a check were ever
            // missed, the out-of-bounds read still becomes a finding instead of an exception.
            Report(IsKnownRule(ex.RuleId) ? ex.RuleId : RuleIds.ImageTruncated, ex.Offset, null, ex.Message);
        }
        return Collect();
    }

    private static bool IsKnownRule(string id)
    {
        foreach (var r in RuleIds.All)
            if (r.Id == id) return true;
        return false;
    }

    /// <summary>Reports a header rule's problem, if any; true when there was one.</summary>
    private bool Report(FormatProblem? problem, uint? inode = null)
    {
        if (problem is not { } p) return false;
        Report(p.RuleId, p.Offset, inode, p.Message);
        return true;
    }

    private void Report(string ruleId, long offset, uint? inode, string message)
    {
        var rule = RuleIds.Get(ruleId);
        var finding = new ValidationFinding(ruleId, rule.Severity, rule.Kernel, offset, inode, message);
        long seq = _seq++;
        CountRule(ruleId);
        var list = rule.Severity == FindingSeverity.Error ? _errors : _warnings;
        if (list.Count < _max) list.Add((seq, finding));
    }

    private void CountRule(string ruleId) => _perRule[ruleId] = _perRule.TryGetValue(ruleId, out long n) ? n + 1 : 1;

    /// <summary>The first inodes a bookkeeping summary names.</summary>
    private const int BookkeepingListed = 5;

    /// <summary>Occurrences of one kernel-validate-only bookkeeping rule, summed up into one finding.</summary>
    private sealed class Bookkeeping
    {
        public long Seq;
        public long Count;
        public long Offset;
        public uint? Inode;
        public string FirstMessage = string.Empty;
        public readonly List<uint> Inodes = new();
    }

    /// <summary>
    /// Bookkeeping that only the kernel's <c>validate</c> option refuses and that every image has (the root's link
    /// count, directories' usual link counts, mkdaxfs's empty hard-link slots, split files' backing-file extents):
    /// one finding per rule, with the count and the first inodes (<see cref="ValidationFinding.Bookkeeping"/>).
    /// </summary>
    private void ReportBookkeeping(string ruleId, long offset, uint inode, string message)
    {
        if (!_bookkeeping.TryGetValue(ruleId, out var b))
        {
            _bookkeeping[ruleId] = b = new Bookkeeping { Seq = _seq++, Offset = offset, Inode = inode, FirstMessage = message };
            CountRule(ruleId);
        }
        b.Count++;
        if (b.Inodes.Count < BookkeepingListed) b.Inodes.Add(inode);
    }

    private ValidationFinding Summarize(string ruleId, Bookkeeping b)
    {
        var rule = RuleIds.Get(ruleId);
        string message = b.Count == 1 ? b.FirstMessage : BookkeepingMessage(ruleId, b);
        return new ValidationFinding(ruleId, rule.Severity, rule.Kernel, b.Offset, b.Inode, message) { Count = b.Count, Bookkeeping = true };
    }

    private static string BookkeepingMessage(string ruleId, Bookkeeping b)
    {
        string inodes = string.Join(", ", b.Inodes) + (b.Count > b.Inodes.Count ? $" and {b.Count - b.Inodes.Count} more" : "");
        string what = ruleId switch
        {
            RuleIds.NlinkMismatch => $"{b.Count} directories have a link count other than the number of dirents naming them: the root, which no dirent names, and directories with the usual 2 plus their subdirectories",
            RuleIds.NlinkNotFile => $"{b.Count} directories have the usual link count of 2 plus their subdirectories, more than 1",
            RuleIds.InodeEmptySlot => $"{b.Count} inode records are empty (all zero, file type 00) and named by no dirent, as mkdaxfs leaves for each extra name of a hard-linked file; the kernel never reads them",
            RuleIds.NlinkZero => $"{b.Count} empty inode records that no dirent names have nlink 0",
            RuleIds.SplitDataKernelBounds => $"{b.Count} regular files' backing-file extents end past the base image's total_size (the kernel's validate bounds them by the base image, not the backing file)",
            _ => $"{b.Count} inodes break this rule",
        };
        return $"{what}; only the kernel's validate mount option refuses this, and it refuses every image for it: inodes {inodes}.";
    }

    /// <summary>The kept findings in the order they were made, with errors first in line for the cap, and a
    /// <see cref="RuleIds.FindingsTruncated"/> finding of its own when some were not kept.</summary>
    private IReadOnlyList<ValidationFinding> Collect()
    {
        var others = new List<(long Seq, ValidationFinding Finding)>(_warnings.Count + _bookkeeping.Count);
        others.AddRange(_warnings);
        foreach (var (id, b) in _bookkeeping) others.Add((b.Seq, Summarize(id, b)));
        others.Sort((x, y) => x.Seq.CompareTo(y.Seq));

        var kept = new List<(long Seq, ValidationFinding Finding)>(Math.Min(_max, _errors.Count + others.Count) + 1);
        kept.AddRange(_errors);
        int room = _max - kept.Count;
        for (int i = 0; i < others.Count && i < room; i++) kept.Add(others[i]);
        kept.Sort((x, y) => x.Seq.CompareTo(y.Seq));

        long total = 0;
        foreach (var n in _perRule.Values) total += n;
        var result = new List<ValidationFinding>(kept.Count + 1);
        var keptPerRule = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var (_, f) in kept)
        {
            result.Add(f);
            keptPerRule[f.RuleId] = keptPerRule.TryGetValue(f.RuleId, out long k) ? k + 1 : 1;
        }
        long dropped = total - kept.Count;
        if (dropped > 0)
        {
            long droppedErrors = 0;
            var parts = new List<string>();
            foreach (var r in RuleIds.All)
            {
                if (!_perRule.TryGetValue(r.Id, out long n)) continue;
                long d = n - (keptPerRule.TryGetValue(r.Id, out long k) ? k : 0);
                if (d <= 0) continue;
                if (r.Severity == FindingSeverity.Error) droppedErrors += d;
                parts.Add($"{r.Id} {d}");
            }
            var rule = RuleIds.Get(RuleIds.FindingsTruncated);
            result.Add(new ValidationFinding(RuleIds.FindingsTruncated, rule.Severity, rule.Kernel, 0, null,
                $"Only {kept.Count} of {total} findings are listed; every rule was checked, and the {dropped} not listed " +
                $"({droppedErrors} error{(droppedErrors == 1 ? "" : "s")}) are counted here by rule: {string.Join(", ", parts)}. " +
                "Errors are listed before warnings, so the verdict covers them all; fix the listed problems, or raise the limit, to see the rest.")
            { Count = dropped });
        }
        return result;
    }

    // ---- helpers -------------------------------------------------------------------------------------------

    /// <summary>An absolute offset for a finding (saturated: offsets computed from hostile values may not fit).</summary>
    private static long Off(Offset128 value) => value > long.MaxValue ? long.MaxValue : (long)value;

    /// <summary>True when [offset, offset+length) lies inside the image.</summary>
    private bool InImage(Offset128 offset, Offset128 length) => offset + length <= _length;

    /// <summary>A checked span; callers test <see cref="InImage"/> first.</summary>
    private ReadOnlySpan<byte> Bytes(ulong offset, int length) => _image.Span(offset, length, RuleIds.ImageTruncated);


    private static string Hex(Offset128 v) => "0x" + v.ToString("x");

    private static bool IsPowerOfTwo(uint v) => v != 0 && (v & (v - 1)) == 0;

    private static string Octal(uint v) => Convert.ToString(v, 8);

    /// <summary>A short printable rendering of raw name bytes for messages.</summary>
    private static string Show(ReadOnlySpan<byte> name)
    {
        const int Max = 48;
        string s = Encoding.UTF8.GetString(name.Length > Max ? name[..Max] : name);
        var sb = new StringBuilder(s.Length + 8);
        sb.Append('\'');
        foreach (char c in s)
        {
            if (char.IsControl(c)) sb.Append("\\x").Append(((int)c).ToString("x2"));
            else sb.Append(c);
        }
        if (name.Length > Max) sb.Append("...");
        sb.Append('\'');
        return sb.ToString();
    }

    // ---- superblock and regions -----------------------------------------------------------------------------

    private void CheckImage()
    {
        if (_length < SuperSize)
        {
            Report(RuleIds.ImageTruncated, 0, null,
                $"The image is {_length} bytes, shorter than the {SuperSize}-byte superblock.");
            return;
        }
        if (ImageFormat.Detect(Bytes(0, 8)) != DaxFsFormat.Format8 && IncompleteWrite.IsMarked(Bytes(0, IncompleteWrite.MarkerLength)))
        {
            string? who = IncompleteWrite.Describe(Bytes(0, Math.Min(BlockSize, (int)Math.Min(_length, int.MaxValue))));
            Report(RuleIds.IncompleteWrite, Superblock.Offsets.Magic, null,
                "An image write into this memory was interrupted before it finished: block 0 holds DaxFs's write-in-progress header" +
                (who is null ? "" : $" (\"DAXFSWIP{who}\")") + " instead of a superblock, and the bytes after it mix the old and the new image. Write the image again.");
            return;
        }
        if (ImageFormat.Detect(Bytes(0, 8)) == DaxFsFormat.Format8)
        {
            CheckImageV8();
            return;
        }
        _sb = Superblock.Read(Bytes(0, SuperSize));

        if (Report(HeaderChecks.Magic(_sb))) return;
        Report(HeaderChecks.Version(_sb));
        if (_sb.BlockSize != BlockSize)
            Report(RuleIds.SuperBlockSize, OffBlockSize, null, $"The superblock block_size is {_sb.BlockSize}, not {BlockSize}.");
        if (_sb.TotalSize > _length)
            Report(RuleIds.SuperTotalSize, OffTotalSize, null,
                $"total_size is {_sb.TotalSize} bytes but the image holds only {_length}: the image is truncated (mounting with a smaller size crashes the kernel).");

        CheckRegions();
        CheckBranchTableFields();
        CheckPageCacheHeader();
        _ct.ThrowIfCancellationRequested();
        CheckBase();
        if (_options.CheckBranches)
        {
            _ct.ThrowIfCancellationRequested();
            CheckBranches();
        }
    }

    private readonly record struct Region(string Name, Offset128 Offset, Offset128 Size, long Field);

    private void CheckRegions()
    {
        var baseR = new Region("base image", _sb.BaseOffset, _sb.BaseSize, OffBaseOffset);
        var tableR = new Region("branch table", _sb.BranchTableOffset, (Offset128)_sb.BranchTableEntries * BranchRecordSize, OffBranchTableOffset);
        var deltaR = new Region("delta region", _sb.DeltaRegionOffset, _sb.DeltaRegionSize, OffDeltaOffset);
        var pcacheR = new Region("page cache region", _sb.PageCacheOffset, _sb.PageCacheSize, OffPcacheOffset);

        // Each region that is present (offset != 0) lies inside the image.
        if (!Report(HeaderChecks.HasBase(_sb)))
            _baseRegionBad = !Inside(baseR, RuleIds.BaseRegionBounds);
        if (_sb.BranchTableOffset != 0) _branchTableBad = !Inside(tableR, RuleIds.BranchTableBounds);
        if (_sb.DeltaRegionOffset != 0) _deltaRegionBad = !Inside(deltaR, RuleIds.DeltaRegionBounds);
        if (_sb.PageCacheOffset != 0)
        {
            _pcacheRegionBad = !Inside(pcacheR, RuleIds.PageCacheBounds);
            uint slots = _sb.PageCacheSlotCount;
            if (!IsPowerOfTwo(slots))
                Report(RuleIds.PageCacheSlotCount, OffPcacheSlots, null, $"The page cache slot count {slots} is not a power of two.");
            Offset128 min = (Offset128)BlockSize + AlignUp128((Offset128)slots * PageCacheSlotSize, BlockSize) + (Offset128)slots * BlockSize;
            if (_sb.PageCacheSize < min)
                Report(RuleIds.PageCacheTooSmall, OffPcacheSize, null,
                    $"The page cache region is {_sb.PageCacheSize} bytes; {slots} slots need {min} (header, slot records, data).");
        }

        // No region overlaps the superblock (the kernel gates this on the size alone, whatever the offset).
        var regions = new[] { baseR, tableR, deltaR, pcacheR };
        foreach (var r in regions)
        {
            if (r.Size > 0 && r.Offset < SuperSize)
                Report(RuleIds.RegionOverlapsSuper, r.Field, null,
                    $"The {r.Name} at {Hex(r.Offset)} ({r.Size} bytes) overlaps the {SuperSize}-byte superblock.");
        }

        // No two regions overlap.
        for (int i = 0; i < regions.Length; i++)
            for (int j = i + 1; j < regions.Length; j++)
            {
                var a = regions[i];
                var b = regions[j];
                if (a.Size > 0 && b.Size > 0 && a.Offset < b.Offset + b.Size && b.Offset < a.Offset + a.Size)
                    Report(RuleIds.RegionsOverlap, b.Field, null,
                        $"The {a.Name} [{Hex(a.Offset)}, +{a.Size}) and the {b.Name} [{Hex(b.Offset)}, +{b.Size}) overlap.");
            }
    }

    private bool Inside(Region r, string rule)
    {
        if (InImage(r.Offset, r.Size)) return true;
        Report(rule, r.Field, null, $"The {r.Name} [{Hex(r.Offset)}, +{r.Size}) runs past the end of the image ({_length} bytes).");
        return false;
    }

    private static Offset128 AlignUp128(Offset128 v, uint alignment) => (v + alignment - 1) / alignment * alignment;

    private void CheckBranchTableFields()
    {
        uint entries = _sb.BranchTableEntries;
        if (entries > MaxBranches)
            Report(RuleIds.BranchTableEntries, OffBranchTableEntries, null, $"branch_table_entries is {entries}; a branch table holds at most {MaxBranches}.");
        if (entries != 0 && _sb.BranchTableOffset == 0)
            Report(RuleIds.BranchTableEntries, OffBranchTableOffset, null,
                $"branch_table_entries is {entries} but branch_table_offset is 0: the kernel would take the superblock for the branch table.");

        // The kernel hands out branch logs from delta_alloc_offset, checking only the region's end.
        if (entries != 0 && _sb.DeltaRegionOffset != 0)
        {
            Offset128 start = _sb.DeltaRegionOffset, end = start + _sb.DeltaRegionSize;
            if (_sb.DeltaAllocOffset < start || _sb.DeltaAllocOffset > end)
                Report(RuleIds.DeltaAllocOffset, OffDeltaAlloc, null,
                    $"delta_alloc_offset {Hex(_sb.DeltaAllocOffset)} is outside the delta region [{Hex(start)}, {Hex(end)}): new branch logs would be placed there.");
        }
    }

    private void CheckPageCacheHeader()
    {
        ulong pc = _sb.PageCacheOffset;
        if (pc == 0) return;
        if (!InImage(pc, PageCacheHeader.RecordSize))
        {
            if (!_pcacheRegionBad)
                Report(RuleIds.ImageTruncated, Off(pc), null, $"The page cache header at {Hex(pc)} lies outside the image.");
            return;
        }
        var h = PageCacheHeader.Read(Bytes(pc, PageCacheHeader.RecordSize));
        if (h.Magic != PageCacheMagic)
        {
            Report(RuleIds.PageCacheHeader, (long)pc, null, $"The page cache magic is 0x{h.Magic:x8}, not 0x{PageCacheMagic:x8} (the kernel refuses to mount).");
            return;
        }
        if (h.Version != PageCacheVersion)
            Report(RuleIds.PageCacheHeader, (long)pc + PageCacheHeader.Offsets.Version, null, $"The page cache version is {h.Version}, not {PageCacheVersion}.");
        if (h.SlotCount != _sb.PageCacheSlotCount)
            Report(RuleIds.PageCacheHeader, (long)pc + PageCacheHeader.Offsets.SlotCount, null,
                $"The page cache header has {h.SlotCount} slots but the superblock says {_sb.PageCacheSlotCount}.");
        if (IsPowerOfTwo(h.SlotCount) && h.HashShift != (uint)System.Numerics.BitOperations.Log2(h.SlotCount))
            Report(RuleIds.PageCacheHeader, (long)pc + PageCacheHeader.Offsets.HashShift, null,
                $"The page cache hash_shift is {h.HashShift}, not log2({h.SlotCount}).");

        // The kernel indexes slots with (slot_count - 1) as a mask and finds them at the header's offsets.
        Offset128 size = _sb.PageCacheSize;
        Offset128 metaStart = h.SlotMetaOffset, metaEnd = metaStart + (Offset128)h.SlotCount * PageCacheSlotSize;
        Offset128 dataStart = h.SlotDataOffset, dataEnd = dataStart + (Offset128)h.SlotCount * BlockSize;
        string? problem = null;
        if (h.SlotCount == 0)
            problem = "it has 0 slots (the kernel's slot mask would be 0xffffffff)";
        else if (metaStart < BlockSize || metaEnd > size)
            problem = $"its slot records [{Hex(metaStart)}, {Hex(metaEnd)}) are not inside the region after the header block (region size {size})";
        else if (dataStart < BlockSize || dataEnd > size)
            problem = $"its data blocks [{Hex(dataStart)}, {Hex(dataEnd)}) are not inside the region after the header block (region size {size})";
        else if (metaStart < dataEnd && dataStart < metaEnd)
            problem = "its slot records and data blocks overlap";
        if (problem is not null)
            Report(RuleIds.PageCacheLayout, (long)pc + PageCacheHeader.Offsets.SlotMetaOffset, null, $"The page cache layout is wrong: {problem}.");
    }
}
