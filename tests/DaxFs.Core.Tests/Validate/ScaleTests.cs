using System.Buffers.Binary;
using System.Text;
using DaxFs.Core.Format;
using DaxFs.Core.Read;
using DaxFs.Core.Validate;
using DaxFs.Core.Build;
using DaxFs.Fuzz;
using static DaxFs.Core.Format.DaxFsConstants;
using static DaxFs.Core.Tests.Validate.ValidatorTestKit;

namespace DaxFs.Core.Tests.Validate;

/// <summary>Images of real size (issue 16): thousands of directories, tens of thousands of entries.</summary>
public static class LargeImages
{
    /// <summary>SeedCorpus.FromLargeTrees (2,000 directories, 20,000 entries): static, branching, branches, split. Do not mutate.</summary>
    public static readonly Lazy<Dictionary<string, byte[]>> Seeds = new(() =>
        SeedCorpus.FromLargeTrees().ToDictionary(s => s.Name, s => s.Bytes, StringComparer.Ordinal));

    /// <summary>The repro tree: 700 directories (and 1,500 entries), built static and branching with a 1 MiB delta region.</summary>
    public static readonly Lazy<(byte[] Static, byte[] Branching)> SevenHundred = new(() =>
    {
        string work = Directory.CreateTempSubdirectory("daxfs-700-").FullName;
        try
        {
            string src = Path.Combine(work, "tree");
            DaxFs.TreeTools.LargeTree.Make(src, 700, 1500, seed: 700);
            byte[] Build(DaxFsImageMode mode)
            {
                string dest = Path.Combine(work, mode + ".daxfs");
                new ImageBuilder(new ImageBuildOptions { SourcePath = src, Destination = dest, Mode = mode, DeltaSize = 1 << 20, Owner = OwnerMode.Root, Overwrite = true }).Build();
                return File.ReadAllBytes(dest);
            }
            return (Build(DaxFsImageMode.Static), Build(DaxFsImageMode.Branching));
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    });

    public static byte[] Copy(string name) => (byte[])Seeds.Value[name].Clone();
}

/// <summary>Offsets of a built image, read from its superblocks.</summary>
public sealed class ImageLayout
{
    private readonly byte[] _b;

    public ImageLayout(byte[] bytes)
    {
        _b = bytes;
        Super = Superblock.Read(bytes.AsSpan(0, SuperblockRecordSize));
        BaseOffset = (long)Super.BaseOffset;
        Base = BaseSuperblock.Read(bytes.AsSpan((int)BaseOffset, BaseSuperblock.RecordSize));
        InodeTable = BaseOffset + (long)Base.InodeOffset;
    }

    public Superblock Super { get; }
    public BaseSuperblock Base { get; }
    public long BaseOffset { get; }
    public long InodeTable { get; }
    public uint Count => Base.InodeCount;
    public long Inode(uint ino) => InodeTable + (ino - 1) * (long)InodeSize;
    public BaseInode Get(uint ino) => BaseInode.Read(_b.AsSpan((int)Inode(ino), InodeSize));
    public long Data(uint ino) => BaseOffset + (long)Get(ino).DataOffset;
    public long Dirent(uint dir, int j) => Data(dir) + (long)j * DirentStride;
    public long BranchRecord(int i) => (long)Super.BranchTableOffset + i * BranchRecordSize;

    /// <summary>The last inode of a type with data (0 when none): far into the table, after thousands of others.</summary>
    public uint Last(uint type, Func<uint, bool>? and = null)
    {
        for (uint i = Count; i >= 2; i--)
            if ((Get(i).Mode & S_IFMT) == type && Get(i).Size > 0 && (and?.Invoke(i) ?? true)) return i;
        return 0;
    }

    /// <summary>The directory with the most entries.</summary>
    public uint Widest()
    {
        uint best = 1;
        for (uint i = 1; i <= Count; i++)
            if ((Get(i).Mode & S_IFMT) == S_IFDIR && Get(i).Size > Get(best).Size) best = i;
        return best;
    }
}

/// <summary>
/// No cap ever skips a check; bookkeeping every image has is one finding per rule; hostile breaks and seeded mutants of
/// large images are found with the missed-bounds-check trap on (ValidatorTestKit.Run).
/// </summary>
public class ScaleTests
{
    private static void W32(byte[] b, long at, uint v) => BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan((int)at), v);
    private static void W64(byte[] b, long at, ulong v) => BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan((int)at), v);

    /// <summary>The patch: branch record 0 = id 1, ACTIVE, "main", delta_log_offset 0xFFFFFFFF000.</summary>
    private static byte[] WithWildMain(byte[] branching)
    {
        var b = (byte[])branching.Clone();
        var l = new ImageLayout(b);
        long r = l.BranchRecord(0);
        W64(b, r, 1);
        W32(b, r + 40, (uint)BranchState.Active);
        Encoding.ASCII.GetBytes("main").CopyTo(b, r + 56);
        W64(b, r + 16, 0xFFFFFFFF000);
        return b;
    }

    [Fact]
    public void Repro_branch_log_out_of_bounds_on_a_700_directory_image_is_refused()
    {
        var b = WithWildMain(LargeImages.SevenHundred.Value.Branching);
        var findings = Run(b);
        AssertFinding(findings, RuleIds.BranchLogBounds, new ImageLayout(b).BranchRecord(0) + 16, null);
        Assert.False(ImageValidator.IsSafe(findings));
        Assert.True(findings.Count < 20, Describe(findings)); // no wall of bookkeeping
    }

    [Fact]
    public void Repro_symlink_target_without_NUL_on_a_700_directory_image_is_refused()
    {
        var b = (byte[])LargeImages.SevenHundred.Value.Static.Clone();
        var l = new ImageLayout(b);
        uint link = l.Last(S_IFLNK);
        Assert.NotEqual(0u, link);
        b[l.Data(link) + (long)l.Get(link).Size] = (byte)'x';
        var findings = Run(b);
        AssertFinding(findings, RuleIds.SymlinkTermination, l.Data(link), link);
        Assert.False(ImageValidator.IsSafe(findings));
    }

    [Fact]
    public void A_tiny_cap_keeps_the_errors_and_counts_what_it_dropped()
    {
        var b = WithWildMain(LargeImages.SevenHundred.Value.Branching);
        var l = new ImageLayout(b);
        uint wide = l.Widest();
        int entries = (int)(l.Get(wide).Size / DirentSize);
        Assert.True(entries > 10, $"the widest directory has {entries} entries");
        for (int j = 0; j < entries; j++) W32(b, l.Dirent(wide, j) + 4, 0x8180); // DIRENT-MODE warnings, before the branch check
        var all = Run(b, new ValidationOptions { MaxFindings = int.MaxValue });
        AssertNoRule(all, RuleIds.FindingsTruncated);
        Assert.Equal(entries, all.Count(f => f.RuleId == RuleIds.DirentMode));
        var order = all.Select((f, i) => (f, i)).ToDictionary(x => x.f, x => x.i);

        foreach (int cap in new[] { 1, 3, 10 })
        {
            var kept = Run(b, new ValidationOptions { MaxFindings = cap });
            Assert.False(ImageValidator.IsSafe(kept)); // the verdict over everything
            AssertFinding(kept, RuleIds.BranchLogBounds, l.BranchRecord(0) + 16, null);
            var cut = kept[^1];
            Assert.Equal(RuleIds.FindingsTruncated, cut.RuleId);
            Assert.Equal(cap, kept.Count - 1);
            Assert.Equal(all.Count - cap, cut.Count);
            Assert.Contains($"{RuleIds.DirentMode} ", cut.Message);
            var at = kept.Take(kept.Count - 1).Select(f => order[f]).ToList();
            Assert.Equal(at.Order(), at); // kept in the order they were made
        }
    }

    [Fact]
    public void Errors_beyond_the_cap_are_counted_by_rule()
    {
        // Every dirent of the widest directory names inode 0: hundreds of errors, then the branch log error.
        var b = WithWildMain(LargeImages.SevenHundred.Value.Branching);
        var l = new ImageLayout(b);
        uint wide = l.Widest();
        int entries = (int)(l.Get(wide).Size / DirentSize);
        for (int j = 0; j < entries; j++) W32(b, l.Dirent(wide, j), 0);
        var kept = Run(b, new ValidationOptions { MaxFindings = 5 });
        Assert.Equal(6, kept.Count);
        Assert.All(kept.Take(5), f => Assert.Equal(FindingSeverity.Error, f.Severity));
        var cut = kept[^1];
        Assert.Equal(RuleIds.FindingsTruncated, cut.RuleId);
        Assert.Contains($"{RuleIds.BranchLogBounds} 1", cut.Message); // checked and counted, though not listed
        Assert.Contains($"{RuleIds.DirentIno} {entries - 5}", cut.Message);
        Assert.False(ImageValidator.IsSafe(kept));
    }

    [Fact]
    public void Findings_kept_stay_bounded_however_many_are_made()
    {
        // 20,000 entries, every dirent's mode wrong and every nlink odd: tens of thousands of findings, 101 kept.
        var b = LargeImages.Copy("large.static");
        var l = new ImageLayout(b);
        int made = 0;
        for (uint i = 1; i <= l.Count; i++)
        {
            var inode = l.Get(i);
            if ((inode.Mode & S_IFMT) != S_IFDIR || inode.Size == 0) continue;
            for (int j = 0; j < (int)(inode.Size / DirentSize); j++, made++) W32(b, l.Dirent(i, j) + 4, 0xC000);
        }
        Assert.True(made > 15000);
        var kept = Run(b, new ValidationOptions { MaxFindings = 100 });
        Assert.Equal(101, kept.Count);
        Assert.True(kept[^1].Count >= made - 100);
        Assert.True(ImageValidator.IsSafe(kept)); // warnings only
        Assert.False(ImageValidator.PassesStrict(kept));
    }

    [Fact]
    public void MaxFindings_below_1_is_a_programming_error()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => ImageValidator.Validate(new ByteImageMemory(VectorShared("deep.static")), new ValidationOptions { MaxFindings = 0 }));
    }

    public static TheoryData<string> LargeNames() => new() { "large.static", "large.branching", "large.branches", "large.split" };

    [Theory]
    [MemberData(nameof(LargeNames))]
    public void Fresh_large_images_show_one_finding_per_bookkeeping_rule(string name)
    {
        var bytes = LargeImages.Seeds.Value[name];
        using (var reader = DaxFsImageReader.Open(new ByteImageMemory(bytes)))
        {
            Assert.True(reader.InodeCount > SeedCorpus.LargeEntries * 9 / 10);
            Assert.Equal(SeedCorpus.LargeDirectories, reader.Walk("/").Count(i => i.Type == DaxFsItemType.Directory) + 1);
        }
        if (name != "large.split") Assert.True(FuzzTarget.Run(bytes).ReadCompletely); // the fuzz target walks and reads it all
        var findings = Run(bytes);
        Assert.True(ImageValidator.IsSafe(findings), Describe(findings));
        var notBookkeeping = findings.Where(f => !f.Bookkeeping).ToList();
        if (name == "large.split") Assert.Equal(RuleIds.ExternalData, Assert.Single(notBookkeeping).RuleId); // no backing file given
        else
        {
            Assert.Empty(notBookkeeping);
            Assert.True(ImageValidator.PassesStrict(findings));
        }
        Assert.Equal(findings.Count, findings.Select(f => f.RuleId).Distinct().Count());
        var nlink = findings.Single(f => f.RuleId == RuleIds.NlinkMismatch);
        Assert.Equal(SeedCorpus.LargeDirectories, nlink.Count); // every directory, the root included
        Assert.Equal(1u, nlink.Inode);
        Assert.Contains("inodes 1, ", nlink.Message);
        Assert.Contains($"and {SeedCorpus.LargeDirectories - 5} more", nlink.Message);
        Assert.Equal(SeedCorpus.LargeDirectories, findings.Single(f => f.RuleId == RuleIds.NlinkNotFile).Count); // 2 + subdirectories each
    }

    [Fact]
    public void A_file_link_count_no_writer_sets_stays_a_finding_of_its_own()
    {
        var b = LargeImages.Copy("large.static");
        var l = new ImageLayout(b);
        uint file = l.Last(S_IFREG);
        W32(b, l.Inode(file) + 32, 7);
        var findings = Run(b);
        var own = AssertFinding(findings, RuleIds.NlinkMismatch, l.Inode(file) + 32, file);
        Assert.False(own.Bookkeeping);
        Assert.True(ImageValidator.IsSafe(findings));
        Assert.False(ImageValidator.PassesStrict(findings));
    }

    /// <summary>Structural breaks far into large images: each must be found, whatever precedes it.</summary>
    public static TheoryData<string> Breaks() => new()
    {
        "branch-log-past-end", "branch-log-offset-zero", "branch-log-over-capacity", "delta-entry-size-huge", "delta-symlink-without-nul",
        "branch-parent-cycle", "symlink-unterminated", "symlink-empty", "file-data-past-end", "dirent-ino-past-count",
        "dirent-namelen-65535", "dirent-duplicate", "directory-contains-root", "two-dirs-share-entries", "last-inode-fifo",
        "dir-size-not-271", "split-pcache-zero-slots",
    };

    [Theory]
    [MemberData(nameof(Breaks))]
    public void Structural_breaks_of_large_images_are_refused(string name)
    {
        string seed = name.StartsWith("branch", StringComparison.Ordinal) || name.StartsWith("delta", StringComparison.Ordinal) ? "large.branches"
            : name.StartsWith("split", StringComparison.Ordinal) ? "large.split" : "large.static";
        var b = LargeImages.Copy(seed);
        var l = new ImageLayout(b);
        uint dir = l.Last(S_IFDIR, i => l.Get(i).Size >= 2 * DirentSize);
        uint file = l.Last(S_IFREG);
        uint link = l.Last(S_IFLNK);
        long main = l.BranchRecord(0);
        long log = seed == "large.branches" ? (long)BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan((int)main + 16)) : 0;
        (string Rule, long Offset) expect = name switch
        {
            "branch-log-past-end" => (RuleIds.BranchLogBounds, Patch64(b, main + 16, (ulong)b.Length)),
            "branch-log-offset-zero" => (RuleIds.BranchLogBounds, Patch64(b, main + 16, 0)),
            "branch-log-over-capacity" => (RuleIds.BranchLogBounds, Patch64(b, main + 24, 1 << 20)),
            "delta-entry-size-huge" => (RuleIds.DeltaEntry, Patch32(b, log + 4, 0x7FFFFFF0)),
            "delta-symlink-without-nul" => (RuleIds.DeltaSymlinkTermination, PatchLastLogByte(b, main, log)),
            "branch-parent-cycle" => (RuleIds.BranchCycle, Patch64(b, main + 8, 2)), // main's parent is its child
            "symlink-unterminated" => (RuleIds.SymlinkTermination, PatchByte(b, l.Data(link) + (long)l.Get(link).Size, (byte)'x')),
            "symlink-empty" => (RuleIds.SymlinkEmpty, Patch64(b, l.Inode(link) + 16, 0)),
            "file-data-past-end" => (RuleIds.InodeDataBounds, Patch64(b, l.Inode(file) + 24, (ulong)b.Length)),
            "dirent-ino-past-count" => (RuleIds.DirentIno, Patch32(b, l.Dirent(dir, 1), l.Count + 9)),
            "dirent-namelen-65535" => (RuleIds.DirentNameLength, Patch16(b, l.Dirent(dir, 1) + 8, 0xFFFF)),
            "dirent-duplicate" => (RuleIds.DirentDuplicate, CopyName(b, l.Dirent(dir, 0), l.Dirent(dir, 1))),
            "directory-contains-root" => (RuleIds.TreeCycle, NameRoot(b, l.Dirent(dir, 0))),
            "two-dirs-share-entries" => (RuleIds.DirOverlap, Share(b, l, dir)),
            "last-inode-fifo" => (RuleIds.InodeType, Patch32(b, l.Inode(file) + 4, 0x1000 | 0x1A4)),
            "dir-size-not-271" => (RuleIds.DirSize, Patch64(b, l.Inode(dir) + 16, l.Get(dir).Size + 1)),
            "split-pcache-zero-slots" => (RuleIds.PageCacheLayout, Patch32(b, (long)l.Super.PageCacheOffset + 8, 0) + 8),
            _ => throw new ArgumentException(name),
        };
        var findings = Run(b);
        Assert.False(ImageValidator.IsSafe(findings), Describe(findings));
        Assert.True(findings.Any(f => f.RuleId == expect.Rule), $"Expected {expect.Rule} (patched at 0x{expect.Offset:x}); got:{Environment.NewLine}{Describe(findings)}");
        Assert.True(findings.Count < 40, Describe(findings)); // the break, not a wall of bookkeeping
    }

    private static long Patch64(byte[] b, long at, ulong v) { W64(b, at, v); return at; }
    private static long Patch32(byte[] b, long at, uint v) { W32(b, at, v); return at; }
    private static long PatchByte(byte[] b, long at, byte v) { b[at] = v; return at; }
    private static long Patch16(byte[] b, long at, ushort v) { BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan((int)at), v); return at; }

    private static long NameRoot(byte[] b, long dirent)
    {
        W32(b, dirent, 1);
        W32(b, dirent + 4, S_IFDIR | 0x1ED);
        return dirent;
    }

    private static long PatchLastLogByte(byte[] b, long main, long log)
    {
        // The main branch's log ends with the SYMLINK entry (SeedCorpus.WithBranches); its NUL is the last byte before
        // the entry's 8-byte padding: find it by walking the entries.
        long size = (long)BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan((int)main + 24));
        long p = log, last = log;
        while (p < log + size) { last = p; p += BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan((int)p + 4)); }
        int nameLen = BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan((int)last + 24 + 24));
        int targetLen = BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan((int)last + 24 + 26));
        long nul = last + 24 + 32 + nameLen + targetLen;
        Assert.Equal(0, b[nul]);
        b[nul] = (byte)'x';
        return nul;
    }

    private static long CopyName(byte[] b, long from, long to)
    {
        b.AsSpan((int)from + 8, 2 + 6 + 255).CopyTo(b.AsSpan((int)to + 8));
        return to;
    }

    private static long Share(byte[] b, ImageLayout l, uint dir)
    {
        uint other = l.Last(S_IFDIR, i => i != dir && l.Get(i).Size > 0);
        W64(b, l.Inode(dir) + 24, l.Get(other).DataOffset);
        W64(b, l.Inode(dir) + 16, l.Get(other).Size);
        return l.Inode(dir) + 24;
    }

    /// <summary>Seeded byte mutants of every large image, through the fuzz target (reader and validator, trap on).</summary>
    [Theory]
    [MemberData(nameof(LargeNames))]
    public void Seeded_mutants_of_large_images_never_throw(string name)
    {
        var pool = LargeImages.Seeds.Value.Values.ToList();
        var mutator = new ImageMutator(new Random(16_000 + name.Length), pool);
        var seed = LargeImages.Seeds.Value[name];
        for (int i = 0; i < 25; i++)
        {
            var input = mutator.Mutate(seed, null);
            _ = FuzzTarget.Run(input); // throws on a contract break: a reader crash, a validator exception, a missed bounds check
            var findings = Run(input);
            Assert.True(findings.Count <= new ValidationOptions().MaxFindings + 1);
            Assert.All(findings, f => Assert.Equal(RuleIds.Get(f.RuleId).Severity, f.Severity));
        }
    }
}
