using DaxFs.Core.Format;
using DaxFs.Core.Read;
using DaxFs.Core.Validate;
using static DaxFs.Core.Format.DaxFsConstants;
using static DaxFs.Core.Tests.Validate.ValidatorTestKit;

namespace DaxFs.Core.Tests.Validate;

/// <summary>
/// One crafted hostile image per rule of the catalogue, proving the rule fires with its id, the catalogue's
/// severity and verdict, the offset of the offending field or record, and the inode it is about.
/// </summary>
public class RuleCaseTests
{
    public sealed record RuleCase(byte[] Bytes, long Offset, uint? Inode, ValidationOptions? Options = null, ImageMemory? Memory = null);

    /// <summary>A 2 TiB sparse static image: superblock, base superblock and (zero) inode table, root directory.</summary>
    public static SparseImageMemory HugeImage(uint inodeCount, ulong rootSize)
    {
        const long Length = 1L << 41;
        var sb = new byte[Superblock.RecordSize];
        new Superblock { Magic = SuperMagic, Version = DaxFsConstants.Version, BlockSize = BlockSize, TotalSize = Length, BaseOffset = BlockSize, BaseSize = Length - BlockSize }.Write(sb);
        var bs = new byte[BaseSuperblock.RecordSize];
        new BaseSuperblock { Magic = BaseMagic, Version = DaxFsConstants.Version, BlockSize = BlockSize, TotalSize = Length - BlockSize, InodeOffset = BlockSize, InodeCount = inodeCount, RootInode = 1, DataOffset = 2 * BlockSize }.Write(bs);
        var root = new byte[InodeSize];
        new BaseInode { Ino = 1, Mode = S_IFDIR | 0x1ED, Size = rootSize, DataOffset = 1UL << 30, Nlink = 1 }.Write(root);
        return new SparseImageMemory(Length).Write(0, sb).Write(BlockSize, bs).Write(2 * BlockSize, root);
    }

    // The sample tree: 1 = /, 2 = /a, 3 = /f ("hello"), 4 = /l -> "f", 5 = /a/g ("gee").
    private const uint A = 2, F = 3, L = 4, G = 5;

    private static TinyImage SampleTree() => ValidatorTestKitSamples.Tree();

    private static BuiltImage Static() => SampleTree().Build();
    private static BuiltImage Branching() => SampleTree().Build(TinyLayout.Branching);
    private static BuiltImage Split() => SampleTree().Build(TinyLayout.Split);

    /// <summary>A branching image whose main branch has a log of <paramref name="logSize"/> bytes at the start of the delta region.</summary>
    private static BuiltImage WithMain(ulong logSize = 0, ulong capacity = 16 * 1024)
    {
        var b = Branching();
        return b.SetBranch(0, 1, 0, "main", BranchState.Active, (ulong)b.DeltaOffset, logSize, capacity);
    }

    private static readonly Dictionary<string, Func<RuleCase>> s_cases = new(StringComparer.Ordinal)
    {
        [RuleIds.ImageTooLarge] = () => new(Array.Empty<byte>(), BlockSize + 32, null, Memory: HugeImage(uint.MaxValue, 0)),
        [RuleIds.ImageTruncated] = () => new(Static().Bytes[..4000], 0, null),
        [RuleIds.SuperMagic] = () => new(Static().W32(0, 0x12345678).Bytes, 0, null),
        // An interrupted Write-DaxFsImage: the write-in-progress marker over the superblock's first eight bytes.
        [RuleIds.IncompleteWrite] = () => new(Static().W64(0, IncompleteWrite.Marker).Bytes, 0, null),
        [RuleIds.SuperVersion] = () => new(Static().W32(4, 4).Bytes, 4, null),
        [RuleIds.SuperBlockSize] = () => new(Static().W32(12, 512).Bytes, 12, null),
        [RuleIds.SuperTotalSize] = () => { var b = Static(); return new(b.W64(16, (ulong)b.Bytes.Length + 4096).Bytes, 16, null); },
        [RuleIds.SuperNoBase] = () => new(Static().W64(24, 0).Bytes, 24, null),
        [RuleIds.BaseRegionBounds] = () => { var b = Static(); return new(b.W64(32, (ulong)b.Bytes.Length).Bytes, 24, null); },
        [RuleIds.BranchTableBounds] = () => { var b = Branching(); return new(b.W64(40, (ulong)b.Bytes.Length - 4096).Bytes, 40, null); },
        [RuleIds.DeltaRegionBounds] = () => { var b = Branching(); return new(b.W64(80, (ulong)b.DeltaSize + 4096).Bytes, 72, null); },
        [RuleIds.PageCacheBounds] = () => { var b = Split(); return new(b.W64(168, (ulong)b.Bytes.Length).Bytes, 160, null); },
        [RuleIds.PageCacheSlotCount] = () => new(Split().W32(176, 12).Bytes, 176, null),
        [RuleIds.PageCacheTooSmall] = () => new(Split().W64(168, 8192).Bytes, 168, null),
        [RuleIds.RegionOverlapsSuper] = () => new(Branching().W64(40, 2048).Bytes, 40, null),
        [RuleIds.RegionsOverlap] = () => { var b = Branching(); return new(b.W64(40, (ulong)b.BaseOffset).Bytes, 40, null); },
        [RuleIds.BranchTableEntries] = () => new(Branching().W32(48, 300).Bytes, 48, null),
        [RuleIds.PageCacheHeader] = () => { var b = Split(); return new(b.W32(b.PageCacheOffset + 4, 2).Bytes, b.PageCacheOffset + 4, null); },
        [RuleIds.BaseMagic] = () => { var b = Static(); return new(b.W32(b.BaseOffset, 0x64646134).Bytes, b.BaseOffset, null); },
        [RuleIds.BaseVersion] = () => { var b = Static(); return new(b.W32(b.BaseOffset + 4, 4).Bytes, b.BaseOffset + 4, null); },
        [RuleIds.BaseTotalSize] = () => { var b = Static(); return new(b.W64(b.BaseOffset + 16, b.R64(32) + 4096).Bytes, b.BaseOffset + 16, null); },
        [RuleIds.BaseNoInodes] = () => { var b = Static(); return new(b.W32(b.BaseOffset + 32, 0).Bytes, b.BaseOffset + 32, null); },
        [RuleIds.InodeTableBounds] = () => { var b = Static(); return new(b.W64(b.BaseOffset + 24, b.R64(32)).Bytes, b.BaseOffset + 24, null); },
        [RuleIds.RootInodeRange] = () => { var b = Static(); return new(b.W32(b.BaseOffset + 36, 0).Bytes, b.BaseOffset + 36, null); },
        [RuleIds.RootNotDirectory] = () => { var b = Static(); return new(b.W32(b.BaseOffset + 36, F).Bytes, b.Inode(F) + 4, F); },
        [RuleIds.InodeType] = () => { var b = Static(); return new(b.W32(b.Inode(F) + 4, S_IFCHR | 0x1A4).Bytes, b.Inode(F) + 4, F); },
        // /a/g's record zeroed and /a emptied: an unnamed all-zero slot, as mkdaxfs leaves for a hard link.
        [RuleIds.InodeEmptySlot] = () => { var b = Static(); b.Bytes.AsSpan((int)b.Inode(G), InodeSize).Clear(); return new(b.W64(b.Inode(A) + 16, 0).Bytes, b.Inode(G) + 4, G); },
        [RuleIds.InodeDataBounds] = () => { var b = Static(); return new(b.W64(b.Inode(F) + 24, 1UL << 40).Bytes, b.Inode(F) + 24, F); },
        [RuleIds.InodeNumber] = () => { var b = Static(); return new(b.W32(b.Inode(F), 99).Bytes, b.Inode(F), F); },
        [RuleIds.DirSize] = () => { var b = Static(); return new(b.W64(b.Inode(A) + 16, 272).Bytes, b.Inode(A) + 16, A); },
        [RuleIds.DirTooManyEntries] = () => { var b = Static(); return new(b.W64(b.Inode(A) + 16, 271UL << 32).Bytes, b.Inode(A) + 16, A); },
        [RuleIds.DirentIno] = () => { var b = Static(); return new(b.W32(b.Dirent(1, 1), 1000).Bytes, b.Dirent(1, 1), 1); },
        [RuleIds.DirentNameLength] = () => { var b = Static(); return new(b.W16(b.Dirent(1, 1) + 8, 300).Bytes, b.Dirent(1, 1) + 8, 1); },
        [RuleIds.DirentDuplicate] = () =>
        {
            var t = SampleTree();
            t.Link(t.Root, "f", t.File("other"));
            var b = t.Build();
            return new(b.Bytes, b.Dirent(1, 3) + 16, 1);
        },
        [RuleIds.DirentEmptyName] = () => { var b = Static(); return new(b.W16(b.Dirent(1, 1) + 8, 0).Bytes, b.Dirent(1, 1) + 8, 1); },
        [RuleIds.DirentBadName] = () =>
        {
            var t = SampleTree();
            t.Link(t.Root, "..", t.File("dots"));
            var b = t.Build();
            return new(b.Bytes, b.Dirent(1, 3) + 16, 1);
        },
        [RuleIds.DirentMode] = () => { var b = Static(); return new(b.W32(b.Dirent(1, 1) + 4, S_IFREG | 0x1FF).Bytes, b.Dirent(1, 1) + 4, 1); },
        [RuleIds.DirentStride] = () =>
        {
            var (b, dir, count) = HostileImageTests.StrideTree(reserveLikeMkdaxfs: true);
            return new(b.Bytes, b.Dirent(dir, count - 1), dir);
        },
        [RuleIds.SymlinkTermination] = () => { var b = Static(); b.Bytes[b.Data(L) + 1] = (byte)'x'; return new(b.Bytes, b.Data(L), L); },
        [RuleIds.SymlinkTooLong] = () =>
        {
            var t = SampleTree();
            uint l = t.Symlink(new string('t', 4096));
            t.Link(t.Root, "long", l);
            var b = t.Build();
            return new(b.Bytes, b.Data(l), l);
        },
        [RuleIds.NlinkMismatch] = () => { var b = SampleTree().SetNlink(F, 5).Build(); return new(b.Bytes, b.Inode(F) + 32, F); },
        [RuleIds.NlinkNotFile] = () => { var b = SampleTree().SetNlink(A, 2).Build(); return new(b.Bytes, b.Inode(A) + 32, A); },
        [RuleIds.NlinkZero] = () => { var b = SampleTree().SetNlink(F, 0).Build(); return new(b.Bytes, b.Inode(F) + 32, F); },
        [RuleIds.TreeCycle] = () =>
        {
            var t = SampleTree();
            t.Link(A, "up", t.Root);
            var b = t.Build();
            return new(b.Bytes, b.Dirent(A, 1), 1);
        },
        [RuleIds.TreeMultipleParents] = () =>
        {
            var t = SampleTree();
            uint other = t.Dir();
            t.Link(t.Root, "other", other).Link(other, "a-again", A);
            var b = t.Build();
            return new(b.Bytes, b.Dirent(other, 0), A);
        },
        [RuleIds.TreeUnreachable] = () =>
        {
            var t = SampleTree();
            uint orphan = t.File("nobody names me");
            var b = t.SetNlink(orphan, 1).Build();
            return new(b.Bytes, b.Inode(orphan), orphan);
        },
        [RuleIds.ExternalData] = () => { var b = Split(); return new(b.Bytes, b.BaseOffset + 8, null); },
        [RuleIds.BranchState] = () => { var b = WithMain(); return new(b.W32(b.Branch(0) + 40, 7).Bytes, b.Branch(0) + 40, null); },
        [RuleIds.BranchName] = () => { var b = WithMain(); b.Bytes.AsSpan((int)b.Branch(0) + 56, 32).Fill((byte)'x'); return new(b.Bytes, b.Branch(0) + 56, null); },
        [RuleIds.BranchParent] = () =>
        {
            var b = WithMain();
            b.SetBranch(1, 2, 42, "child", BranchState.Active, (ulong)b.DeltaOffset + 16384, 0, 16384);
            return new(b.Bytes, b.Branch(1) + 8, null);
        },
        [RuleIds.BranchCycle] = () =>
        {
            var b = Branching();
            b.SetBranch(0, 1, 2, "one", BranchState.Active, (ulong)b.DeltaOffset, 0, 16384);
            b.SetBranch(1, 2, 1, "two", BranchState.Active, (ulong)b.DeltaOffset + 16384, 0, 16384);
            return new(b.Bytes, b.Branch(0) + 8, null);
        },
        [RuleIds.BranchLogBounds] = () =>
        {
            var b = Branching();
            b.SetBranch(0, 1, 0, "main", BranchState.Active, (ulong)(b.DeltaOffset + b.DeltaSize - 100), 0, 4096);
            return new(b.Bytes, b.Branch(0) + 16, null);
        },
        [RuleIds.BranchDuplicate] = () =>
        {
            var b = WithMain();
            b.SetBranch(1, 1, 0, "main2", BranchState.Committed, (ulong)b.DeltaOffset + 16384, 0, 16384);
            return new(b.Bytes, b.Branch(1), null);
        },
        [RuleIds.DeltaEntry] = () =>
        {
            var b = WithMain(logSize: 24);
            b.DeltaEntry(b.DeltaOffset, type: 9, totalSize: 24);
            return new(b.Bytes, b.DeltaOffset, null);
        },
        [RuleIds.DeltaAllocOffset] = () => new(Branching().W64(88, 0).Bytes, 88, null),
        [RuleIds.SplitModeMismatch] = () => { var b = Static(); return new(b.W32(b.BaseOffset + 8, BaseFlagExternalData).Bytes, b.BaseOffset + 8, null); },
        [RuleIds.PageCacheLayout] = () => { var b = Split(); return new(b.W64(b.PageCacheOffset + 24, 1UL << 40).Bytes, b.PageCacheOffset + 16, null); },
        [RuleIds.DirOverlap] = () =>
        {
            var t = SampleTree();
            uint other = t.Dir();
            t.Link(t.Root, "other", other).Link(other, "x", t.File("x"));
            var b = t.Build();
            b.W64(b.Inode(other) + 24, b.R64(b.Inode(A) + 24)); // same dirent array as /a
            return new(b.Bytes, b.Inode(other) + 24, other);
        },
        [RuleIds.FindingsTruncated] = () =>
        {
            // Three findings (the root's link count, two wrong dirent modes), one kept: the cut is counted at offset 0.
            var b = Static();
            b.W32(b.Dirent(1, 0) + 4, 0).W32(b.Dirent(1, 1) + 4, 0);
            return new(b.Bytes, 0, null, new ValidationOptions { MaxFindings = 1 });
        },
        [RuleIds.SplitDataKernelBounds] = () =>
        {
            var b = Split();
            ulong baseSize = b.R64(32);
            b.W64(b.Inode(F) + 24, baseSize); // a backing-file offset past the base image's size
            return new(b.Bytes, b.Inode(F) + 24, F, new ValidationOptions { BackingFileLength = (long)baseSize + 4096 });
        },
        [RuleIds.RootNotInodeOne] = () =>
        {
            // root_inode names /a (a directory): the kernel would still mount inode 1.
            var b = Static();
            return new(b.W32(b.BaseOffset + 36, A).Bytes, b.BaseOffset + 36, null);
        },
        [RuleIds.SymlinkEmpty] = () => { var b = Static(); return new(b.W64(b.Inode(L) + 16, 0).Bytes, b.Inode(L) + 16, L); },
        [RuleIds.DeltaSymlinkTermination] = () =>
        {
            // SYMLINK "ln" -> "tgt": 24 + 32 + 2 + 3 + 1 bytes, with the NUL after the target overwritten.
            var b = WithMain(logSize: 64);
            long f = b.DeltaEntry(b.DeltaOffset, type: 8, totalSize: 64, ino: 9);
            b.W64(f, 1).W64(f + 8, 9).W16(f + 24, 2).W16(f + 26, 3);
            "lntgt!"u8.CopyTo(b.Bytes.AsSpan((int)f + 32));
            return new(b.Bytes, f + 32 + 5, null);
        },
    };

    public static TheoryData<string> AllRules()
    {
        var data = new TheoryData<string>();
        foreach (var r in RuleIds.All)
            if (!V8RuleCaseTests.Format8Only.Contains(r.Id)) data.Add(r.Id); // those: V8RuleCaseTests, on format-8 images
        return data;
    }

    [Fact]
    public void Every_catalogue_rule_has_a_crafted_case()
    {
        var missing = RuleIds.All.Select(r => r.Id).Where(id => !s_cases.ContainsKey(id) && !V8RuleCaseTests.Format8Only.Contains(id)).ToList();
        Assert.True(missing.Count == 0, "No crafted case for: " + string.Join(", ", missing));
        Assert.True(s_cases.Keys.All(k => RuleIds.All.Any(r => r.Id == k)));
    }

    [Theory]
    [MemberData(nameof(AllRules))]
    public void Rule_fires_on_its_crafted_image(string ruleId)
    {
        Assert.True(s_cases.TryGetValue(ruleId, out var make), $"No crafted case for {ruleId}.");
        var c = make!();
        var findings = c.Memory is null ? Run(c.Bytes, c.Options) : Run(c.Memory, c.Options);
        AssertFinding(findings, ruleId, c.Offset, c.Inode);
    }

    [Theory]
    [InlineData(TinyLayout.Static)]
    [InlineData(TinyLayout.Branching)]
    [InlineData(TinyLayout.Split)]
    public void The_untouched_sample_has_only_the_root_baseline(TinyLayout layout)
    {
        var b = SampleTree().Build(layout);
        var options = layout == TinyLayout.Split ? new ValidationOptions { BackingFileLength = b.BackingLength } : null;
        var findings = Run(b.Bytes, options);
        Assert.Empty(WithoutRootBaseline(findings));
        var root = Assert.Single(findings);
        Assert.Equal(RuleIds.NlinkMismatch, root.RuleId);
        Assert.Equal(b.Inode(1) + 32, root.Offset);
        Assert.True(ImageValidator.IsSafe(findings));
    }

    [Fact]
    public void A_terminated_delta_symlink_is_clean()
    {
        var b = WithMain(logSize: 64);
        long f = b.DeltaEntry(b.DeltaOffset, type: 8, totalSize: 64, ino: 9);
        b.W64(f, 1).W64(f + 8, 9).W16(f + 24, 2).W16(f + 26, 3);
        "lntgt\0"u8.CopyTo(b.Bytes.AsSpan((int)f + 32));
        Assert.Empty(WithoutRootBaseline(Run(b.Bytes)));
    }

    [Fact]
    public void An_aborted_branch_log_is_walked_too_since_the_kernel_loads_it()
    {
        // An invalidated sibling keeps its name and its log; the kernel loads it by name or as a parent.
        var b = WithMain();
        b.SetBranch(1, 2, 1, "gone", BranchState.Aborted, (ulong)b.DeltaOffset + 16384, 24, 16384);
        b.DeltaEntry(b.DeltaOffset + 16384, type: 9, totalSize: 24);
        AssertFinding(Run(b.Bytes), RuleIds.DeltaEntry, b.DeltaOffset + 16384, null);
        b.SetBranch(1, 2, 1, "gone", BranchState.Aborted, (ulong)(b.DeltaOffset + b.DeltaSize), 0, 16384);
        AssertFinding(Run(b.Bytes), RuleIds.BranchLogBounds, b.Branch(1) + 16, null);
    }
}
