using System.Text;
using DaxFs.Core.Format;
using DaxFs.Core.Validate;
using static DaxFs.Core.Format.DaxFsConstants;
using static DaxFs.Core.Tests.Validate.ValidatorTestKit;

namespace DaxFs.Core.Tests.Validate;

/// <summary>Hostile shapes beyond one-rule-per-image: tree cycles, strides, huge counts, values near 2^64.</summary>
public class HostileImageTests
{
    /// <summary>
    /// The vectors' 'stride' tree (make-trees.sh): /d with 136 files named n001-000…0 (200 bytes). 136 × 271 =
    /// 36856 rounds up to 36864, but the last dirent at the 272-byte stride ends at 36991, in the next object.
    /// </summary>
    public static (BuiltImage Image, uint Dir, int Count) StrideTree(bool reserveLikeMkdaxfs, TinyLayout layout = TinyLayout.Static)
    {
        const int Count = 136;
        var t = new TinyImage { ReserveLikeMkdaxfs = reserveLikeMkdaxfs };
        uint d = t.Dir();
        t.Link(t.Root, "d", d);
        for (int i = 1; i <= Count; i++)
        {
            string name = $"n{i:000}-" + new string('0', 196);
            t.Link(d, name, t.File($"entry {i:000}\n"));
        }
        return (t.Build(layout), d, Count);
    }

    [Fact]
    public void Stride_tree_written_like_mkdaxfs_overlaps_the_next_file()
    {
        var (b, d, count) = StrideTree(reserveLikeMkdaxfs: true);
        var findings = Run(b.Bytes);
        var f = AssertFinding(findings, RuleIds.DirentStride, b.Dirent(d, count - 1), d);
        Assert.Contains("inode 3", f.Message); // the first file's data follows the directory
        // The file's bytes overwrote the tail of the last name, but that name still reads as 200 bytes: the
        // validator reports the overlap, not a name problem.
        Assert.Single(findings, x => x.RuleId == RuleIds.DirentStride);
    }

    [Fact]
    public void Stride_tree_with_272_byte_reservation_is_clean()
    {
        var (b, _, _) = StrideTree(reserveLikeMkdaxfs: false);
        Assert.Empty(WithoutRootBaseline(Run(b.Bytes)));
    }

    [Fact]
    public void Last_dirent_past_the_base_image_and_the_image_is_reported_and_skipped()
    {
        // Only the directory, reserved like mkdaxfs, as the last object: its last dirent runs past the base image,
        // which is also the end of a static image.
        var t = new TinyImage { ReserveLikeMkdaxfs = true };
        var files = Enumerable.Range(1, 136).Select(i => t.File("x")).ToArray();
        uint d = t.Dir();
        t.Link(t.Root, "d", d);
        for (int i = 0; i < files.Length; i++) t.Link(d, $"n{i:000}-" + new string('0', 196), files[i]);
        var b = t.Build();
        var findings = Run(b.Bytes);
        var stride = AssertFinding(findings, RuleIds.DirentStride, b.Dirent(d, 135), d);
        Assert.Contains("past the base image", stride.Message);
        AssertFinding(findings, RuleIds.ImageTruncated, b.Data(d), d);
        // The directory was skipped, so link counts and reachability are not judged.
        AssertNoRule(findings, RuleIds.NlinkMismatch);
        AssertNoRule(findings, RuleIds.TreeUnreachable);
    }

    [Fact]
    public void Last_dirent_past_the_base_image_but_inside_the_image_is_read()
    {
        var t = new TinyImage { ReserveLikeMkdaxfs = true };
        var files = Enumerable.Range(1, 136).Select(i => t.File("x")).ToArray();
        uint d = t.Dir();
        t.Link(t.Root, "d", d);
        for (int i = 0; i < files.Length; i++) t.Link(d, $"n{i:000}-" + new string('0', 196), files[i]);
        var b = t.Build(TinyLayout.Branching); // the delta region follows the base image
        var findings = Run(b.Bytes);
        AssertFinding(findings, RuleIds.DirentStride, b.Dirent(d, 135), d);
        AssertNoRule(findings, RuleIds.ImageTruncated);
        Assert.Single(WithoutRootBaseline(findings));
    }

    [Fact]
    public void Directory_containing_its_own_ancestor_is_a_cycle_and_the_walk_ends()
    {
        var t = new TinyImage();
        uint a = t.Dir(), b = t.Dir(), c = t.Dir();
        t.Link(t.Root, "a", a).Link(a, "b", b).Link(b, "c", c).Link(c, "back-to-a", a);
        var img = t.Build();
        var findings = Run(img.Bytes);
        AssertFinding(findings, RuleIds.TreeCycle, img.Dirent(c, 0), a);
        AssertFinding(findings, RuleIds.TreeMultipleParents, img.Dirent(c, 0), a);
        AssertFinding(findings, RuleIds.NlinkNotFile, img.Inode(a) + 32, a); // named twice: nlink 2 on a directory
        Assert.True(!ImageValidator.IsSafe(findings));
    }

    [Fact]
    public void Directory_naming_itself_is_a_cycle()
    {
        var t = new TinyImage();
        uint a = t.Dir();
        t.Link(t.Root, "a", a).Link(a, "self", a);
        var img = t.Build();
        var f = AssertFinding(Run(img.Bytes), RuleIds.TreeCycle, img.Dirent(a, 0), a);
        Assert.Contains("names itself", f.Message);
    }

    [Fact]
    public void A_cycle_cut_off_from_the_root_is_found_and_unreachable()
    {
        var t = new TinyImage();
        uint x = t.Dir(), y = t.Dir();
        t.Link(x, "y", y).Link(y, "x", x);
        var img = t.Build();
        var findings = Run(img.Bytes);
        Assert.Single(findings, f => f.RuleId == RuleIds.TreeCycle);
        AssertFinding(findings, RuleIds.TreeUnreachable, img.Inode(x), x);
        AssertFinding(findings, RuleIds.TreeUnreachable, img.Inode(y), y);
    }

    [Fact]
    public void Directory_named_from_two_parents()
    {
        var t = new TinyImage();
        uint p1 = t.Dir(), p2 = t.Dir(), shared = t.Dir();
        t.Link(t.Root, "p1", p1).Link(t.Root, "p2", p2).Link(p1, "s", shared).Link(p2, "s", shared);
        var img = t.Build();
        var findings = Run(img.Bytes);
        AssertFinding(findings, RuleIds.TreeMultipleParents, img.Dirent(p2, 0), shared);
        AssertNoRule(findings, RuleIds.TreeCycle);
        Assert.Single(findings, f => f.RuleId == RuleIds.TreeMultipleParents);
    }

    [Fact]
    public void Hard_linked_files_are_fine_but_hard_linked_symlinks_are_not()
    {
        var t = new TinyImage();
        uint f = t.File("shared"), l = t.Symlink("shared");
        t.Link(t.Root, "f1", f).Link(t.Root, "f2", f).Link(t.Root, "l1", l).Link(t.Root, "l2", l);
        var img = t.Build();
        var findings = WithoutRootBaseline(Run(img.Bytes));
        var only = Assert.Single(findings);
        Assert.Equal(RuleIds.NlinkNotFile, only.RuleId);
        Assert.Equal(l, only.Inode);
    }

    [Theory]
    [InlineData(".")]
    [InlineData("..")]
    [InlineData("a/b")]
    [InlineData("nul\0inside")]
    public void Bad_names_are_reported(string name)
    {
        var t = new TinyImage();
        t.Link(t.Root, name, t.File("x"));
        var img = t.Build();
        AssertFinding(Run(img.Bytes), RuleIds.DirentBadName, img.Dirent(1, 0) + 16, 1);
    }

    [Theory]
    [InlineData("...")]
    [InlineData(".hidden")]
    [InlineData("päivää-日本")]
    public void Unusual_but_valid_names_are_fine(string name)
    {
        var t = new TinyImage();
        t.Link(t.Root, name, t.File("x"));
        Assert.Empty(WithoutRootBaseline(Run(t.Build().Bytes)));
    }

    [Fact]
    public void A_255_byte_name_is_fine()
    {
        var t = new TinyImage();
        t.Link(t.Root, new string('L', 255), t.File("long"));
        Assert.Empty(WithoutRootBaseline(Run(t.Build().Bytes)));
    }

    [Fact]
    public void An_empty_inode_slot_is_bookkeeping_until_a_dirent_names_it()
    {
        // /a/g (inode 5) zeroed but still named by /a: an inode of no type that lookups would reach.
        var b = ValidatorTestKitSamples.Sample();
        long g = b.Inode(5);
        b.Bytes.AsSpan((int)g, 64).Clear();
        var named = Run(b.Bytes);
        var f = AssertFinding(named, RuleIds.InodeType, g + 4, 5);
        Assert.Contains("1 dirent(s) name it", f.Message);
        AssertNoRule(named, RuleIds.InodeEmptySlot);
        Assert.False(ImageValidator.IsSafe(named));

        // The same slot with /a emptied: nothing names it, nothing reads it.
        b.W64(b.Inode(2) + 16, 0);
        var unnamed = Run(b.Bytes);
        AssertFinding(unnamed, RuleIds.InodeEmptySlot, g + 4, 5);
        AssertNoRule(unnamed, RuleIds.InodeType);
        Assert.Equal(FindingSeverity.Warning, unnamed.Single(x => x.RuleId == RuleIds.InodeEmptySlot).Severity);
    }

    [Fact]
    public void Inode_count_near_2_pow_32_is_bounded_and_fast()
    {
        var b = ValidatorTestKitSamples.Sample();
        b.W32(b.BaseOffset + 32, uint.MaxValue);
        var findings = Run(b.Bytes);
        AssertFinding(findings, RuleIds.InodeTableBounds, b.BaseOffset + 24);
        Assert.DoesNotContain(findings, f => f.RuleId == RuleIds.InodeType);
    }

    [Fact]
    public void Inode_count_larger_than_the_table_but_inside_the_base_image_reads_what_is_there()
    {
        var b = ValidatorTestKitSamples.Sample();
        // 100 records still fit in the base image: the extra (data) bytes are read as inodes and judged.
        b.W32(b.BaseOffset + 32, 100);
        var findings = Run(b.Bytes);
        Assert.Contains(findings, f => f.RuleId == RuleIds.InodeType || f.RuleId == RuleIds.NlinkZero);
        Assert.All(findings, f => Assert.True(f.Inode is null or <= 100));
    }

    [Fact]
    public void Offsets_and_sizes_near_2_pow_64_do_not_overflow()
    {
        const ulong Top = ulong.MaxValue;
        var b = ValidatorTestKitSamples.Sample();
        uint a = 2, f = 3, l = 4;
        b.W64(b.Inode(f) + 24, Top).W64(b.Inode(f) + 16, 2);        // file: offset 2^64-1, size 2
        b.W64(b.Inode(a) + 24, Top - 270).W64(b.Inode(a) + 16, 271); // dir: end exactly 2^64
        b.W64(b.Inode(l) + 16, Top);                                   // symlink: size 2^64-1 (+1 wraps)
        var findings = Run(b.Bytes);
        AssertFinding(findings, RuleIds.InodeDataBounds, b.Inode(f) + 24, f);
        AssertFinding(findings, RuleIds.InodeDataBounds, b.Inode(a) + 24, a);
        AssertFinding(findings, RuleIds.InodeDataBounds, b.Inode(l) + 24, l);
        AssertNoRule(findings, RuleIds.DirSize);
        AssertNoRule(findings, RuleIds.SymlinkTermination);
    }

    [Fact]
    public void Symlink_size_of_2_pow_64_minus_1_is_out_of_bounds_not_wrapped()
    {
        var b = ValidatorTestKitSamples.Sample();
        b.W64(b.Inode(4) + 16, ulong.MaxValue);
        var findings = Run(b.Bytes);
        AssertFinding(findings, RuleIds.InodeDataBounds, b.Inode(4) + 24, 4);
        AssertNoRule(findings, RuleIds.SymlinkTermination);
    }

    [Fact]
    public void Symlink_whose_nul_would_be_just_past_the_base_image()
    {
        var b = ValidatorTestKitSamples.Sample();
        ulong baseTotal = b.R64(b.BaseOffset + 16);
        // Target ends exactly at the end of the base image: the NUL would be outside it.
        b.W64(b.Inode(4) + 24, baseTotal - 1).W64(b.Inode(4) + 16, 1);
        var findings = Run(b.Bytes);
        AssertFinding(findings, RuleIds.SymlinkTermination, b.Inode(4) + 16, 4);
        AssertNoRule(findings, RuleIds.InodeDataBounds);
    }

    [Fact]
    public void Symlinks_sharing_unterminated_bytes_are_each_reported()
    {
        var t = new TinyImage();
        uint l1 = t.Symlink("target"), l2 = t.Symlink("x");
        t.Link(t.Root, "l1", l1).Link(t.Root, "l2", l2);
        var b = t.Build();
        b.Bytes.AsSpan((int)b.Data(l1), 4096).Fill((byte)'z');            // no NUL in l1's whole block
        b.W64(b.Inode(l2) + 24, (ulong)(b.Data(l1) - b.BaseOffset) + 10).W64(b.Inode(l2) + 16, 100);
        var findings = Run(b.Bytes);
        AssertFinding(findings, RuleIds.SymlinkTermination, b.Data(l1), l1);
        AssertFinding(findings, RuleIds.SymlinkTermination, b.Data(l1) + 10, l2);
    }

    [Fact]
    public void Symlink_with_an_early_nul_passes_like_the_kernel()
    {
        var t = new TinyImage();
        uint l = t.Symlink("abc");
        t.Link(t.Root, "l", l);
        var b = t.Build();
        b.Bytes[b.Data(l) + 1] = 0; // strnlen stops early: the kernel accepts it
        Assert.Empty(WithoutRootBaseline(Run(b.Bytes)));
    }

    [Fact]
    public void Regions_near_2_pow_64_do_not_overflow()
    {
        var b = ValidatorTestKitSamples.Sample(TinyLayout.Split);
        b.W64(24, ulong.MaxValue - 4095).W64(32, 8192);           // base wraps around
        b.W64(40, ulong.MaxValue).W32(48, 256);                    // branch table wraps
        b.W64(72, ulong.MaxValue - 1).W64(80, ulong.MaxValue);     // delta region wraps
        b.W64(160, ulong.MaxValue).W64(168, ulong.MaxValue);       // page cache wraps
        b.W32(176, uint.MaxValue);
        var findings = Run(b.Bytes);
        AssertFinding(findings, RuleIds.BaseRegionBounds, 24);
        AssertFinding(findings, RuleIds.BranchTableBounds, 40);
        AssertFinding(findings, RuleIds.DeltaRegionBounds, 72);
        AssertFinding(findings, RuleIds.PageCacheBounds, 160);
        AssertFinding(findings, RuleIds.PageCacheSlotCount, 176);
        AssertFinding(findings, RuleIds.RegionsOverlap, 72); // [2^64-4096, +8192) and [2^64-2, +2^64-1) do overlap
    }

    [Fact]
    public void Dirent_array_offset_near_2_pow_64_is_reported_not_read()
    {
        var b = ValidatorTestKitSamples.Sample();
        b.W64(b.Inode(1) + 24, ulong.MaxValue - 100);
        var findings = Run(b.Bytes);
        AssertFinding(findings, RuleIds.InodeDataBounds, b.Inode(1) + 24, 1);
        AssertNoRule(findings, RuleIds.TreeUnreachable); // the root's entries were not read: no verdict
    }

    [Fact]
    public void Directory_with_2_pow_32_minus_1_entries_inside_a_tiny_image_does_not_loop()
    {
        var b = ValidatorTestKitSamples.Sample();
        b.W64(b.Inode(1) + 16, 271UL * uint.MaxValue);
        var findings = Run(b.Bytes);
        AssertFinding(findings, RuleIds.InodeDataBounds, b.Inode(1) + 24, 1);
        AssertNoRule(findings, RuleIds.DirTooManyEntries);
    }

    [Fact]
    public void Huge_directory_in_a_base_image_that_claims_to_be_huge_is_cut_by_the_image()
    {
        var b = ValidatorTestKitSamples.Sample();
        // The base image claims 2^60 bytes (both sizes): the directory fits the claim but not the image.
        b.W64(32, 1UL << 60).W64(b.BaseOffset + 16, 1UL << 60);
        b.W64(b.Inode(1) + 16, 271UL * uint.MaxValue);
        var findings = Run(b.Bytes);
        AssertFinding(findings, RuleIds.BaseRegionBounds, 24);
        AssertFinding(findings, RuleIds.ImageTruncated, b.Data(1), 1);
    }

    [Fact]
    public void Terabyte_image_with_2_pow_32_minus_1_inodes_is_not_indexed()
    {
        var findings = Run(RuleCaseTests.HugeImage(uint.MaxValue, 0));
        var only = Assert.Single(findings);
        Assert.Equal(RuleIds.ImageTooLarge, only.RuleId);
        Assert.False(ImageValidator.IsSafe(findings));
    }

    [Fact]
    public void Terabyte_image_with_a_directory_of_2_pow_32_minus_1_entries_is_not_read()
    {
        var findings = Run(RuleCaseTests.HugeImage(1, 271UL * uint.MaxValue));
        AssertFinding(findings, RuleIds.ImageTooLarge, 4096 + 32);
        AssertNoRule(findings, RuleIds.NlinkMismatch); // not judged without the entries
    }

    [Fact]
    public void Terabyte_image_with_a_sane_root_is_checked_normally()
    {
        var findings = Run(RuleCaseTests.HugeImage(1, 271));
        // The one (zero) dirent names inode 0 and has an empty name.
        AssertFinding(findings, RuleIds.DirentIno, 4096 + (1L << 30), 1);
        AssertFinding(findings, RuleIds.DirentEmptyName, 4096 + (1L << 30) + 8, 1);
    }

    [Fact]
    public void Directories_sharing_one_dirent_array_are_reported_and_read_once()
    {
        // 300 directory inodes all pointing at the root's dirents: only the root's are read (work is not 300 × the array).
        var t = new TinyImage();
        var dirs = Enumerable.Range(0, 300).Select(_ => t.Dir()).ToArray();
        foreach (var d in dirs) t.Link(t.Root, "d" + d, d);
        var b = t.Build();
        foreach (var d in dirs) b.W64(b.Inode(d) + 24, b.R64(b.Inode(1) + 24)).W64(b.Inode(d) + 16, b.R64(b.Inode(1) + 16));
        var findings = Run(b.Bytes, new ValidationOptions { MaxFindings = 100_000 });
        Assert.Equal(300, findings.Count(f => f.RuleId == RuleIds.DirOverlap));
    }

    [Fact]
    public void Delta_log_entries_of_every_type_pass_when_well_formed()
    {
        var b = ValidatorTestKitSamples.Sample(TinyLayout.Branching);
        long at = b.DeltaOffset;
        long p = at;
        // WRITE with 5 data bytes
        var fx = b.DeltaEntry(p, 1, 24 + 16 + 5); b.W32(fx + 8, 5); p += 24 + 16 + 5;
        // CREATE "new"
        fx = b.DeltaEntry(p, 2, 24 + 32 + 3); b.W16(fx + 28, 3); p += 24 + 32 + 3;
        // DELETE "new"
        fx = b.DeltaEntry(p, 3, 24 + 16 + 3); b.W16(fx + 8, 3); p += 24 + 16 + 3;
        // TRUNCATE
        b.DeltaEntry(p, 4, 24 + 8); p += 24 + 8;
        // MKDIR "dd"
        fx = b.DeltaEntry(p, 5, 24 + 32 + 2); b.W16(fx + 28, 2); p += 24 + 32 + 2;
        // RENAME "a" -> "bb"
        fx = b.DeltaEntry(p, 6, 24 + 32 + 3); b.W16(fx + 24, 1).W16(fx + 26, 2); p += 24 + 32 + 3;
        // SETATTR
        b.DeltaEntry(p, 7, 24 + 24); p += 24 + 24;
        // SYMLINK "s" -> "t" + NUL
        long symlink = p;
        fx = b.DeltaEntry(p, 8, 24 + 32 + 1 + 1 + 1); b.W16(fx + 24, 1).W16(fx + 26, 1); p += 24 + 32 + 3;
        ulong size = (ulong)(p - at);
        b.SetBranch(0, 1, 0, "main", BranchState.Active, (ulong)at, size, 16384);
        Assert.Empty(WithoutRootBaseline(Run(b.Bytes)));

        // One byte short on the SYMLINK's NUL: reported at that entry's total_size field.
        b.W32(symlink + 4, 24 + 32 + 2);
        b.SetBranch(0, 1, 0, "main", BranchState.Active, (ulong)at, size - 1, 16384);
        var findings = Run(b.Bytes);
        AssertFinding(findings, RuleIds.DeltaEntry, symlink + 4);
        Assert.Single(findings, f => f.RuleId == RuleIds.DeltaEntry);
    }

    [Theory]
    [InlineData(1u, 24u + 16 - 1)]  // WRITE shorter than its fixed part
    [InlineData(2u, 24u + 32 - 1)]  // CREATE
    [InlineData(3u, 24u + 16 - 1)]  // DELETE
    [InlineData(4u, 24u + 8 - 1)]   // TRUNCATE
    [InlineData(5u, 24u + 32 - 1)]  // MKDIR
    [InlineData(6u, 24u + 32 - 1)]  // RENAME
    [InlineData(7u, 24u + 24 - 1)]  // SETATTR
    [InlineData(8u, 24u + 28)]      // SYMLINK: the fixed part is padded to 32, not 28
    [InlineData(0u, 24u)]           // unknown type
    [InlineData(1u, 12u)]           // less than a header
    [InlineData(1u, 4096u)]         // past the log
    public void Malformed_delta_entries_are_reported(uint type, uint total)
    {
        var b = ValidatorTestKitSamples.Sample(TinyLayout.Branching);
        b.DeltaEntry(b.DeltaOffset, type, total);
        b.SetBranch(0, 1, 0, "main", BranchState.Committed, (ulong)b.DeltaOffset, 64, 16384);
        var findings = Run(b.Bytes);
        var f = Assert.Single(findings, x => x.RuleId == RuleIds.DeltaEntry);
        Assert.InRange(f.Offset, b.DeltaOffset, b.DeltaOffset + 4);
    }

    [Fact]
    public void Zero_total_size_ends_the_log_like_the_kernel()
    {
        var b = ValidatorTestKitSamples.Sample(TinyLayout.Branching);
        // A whole log of zero bytes: the kernel stops at the first zero total_size.
        b.SetBranch(0, 1, 0, "main", BranchState.Active, (ulong)b.DeltaOffset, 16384, 16384);
        Assert.Empty(WithoutRootBaseline(Run(b.Bytes)));
    }

    [Fact]
    public void Log_of_maximal_size_with_tiny_entries_is_walked_quickly()
    {
        var b = ValidatorTestKitSamples.Sample(TinyLayout.Branching, deltaSize: 1 << 20);
        for (long p = b.DeltaOffset; p + 32 <= b.DeltaOffset + b.DeltaSize; p += 32) b.DeltaEntry(p, 4, 32);
        b.SetBranch(0, 1, 0, "main", BranchState.Active, (ulong)b.DeltaOffset, (ulong)b.DeltaSize, (ulong)b.DeltaSize);
        Assert.Empty(WithoutRootBaseline(Run(b.Bytes)));
    }

    [Fact]
    public void Aborted_branches_may_have_empty_names_and_their_logs_are_checked_like_any_other()
    {
        // The kernel clears an aborted branch's name but keeps its log, and can load it again (as a parent, or by
        // the name an invalidated sibling keeps): its log must be in place.
        var b = ValidatorTestKitSamples.Sample(TinyLayout.Branching);
        b.SetBranch(0, 1, 0, "main", BranchState.Active, (ulong)b.DeltaOffset, 0, 16384);
        b.SetBranch(1, 2, 1, "", BranchState.Aborted, (ulong)b.DeltaOffset + 16384, 0, 16384);
        Assert.Empty(WithoutRootBaseline(Run(b.Bytes)));
        b.SetBranch(1, 2, 1, "", BranchState.Aborted, ulong.MaxValue, ulong.MaxValue, 0);
        AssertFinding(Run(b.Bytes), RuleIds.BranchLogBounds, b.Branch(1) + 16);
        b.SetBranch(1, 2, 1, "", BranchState.Active, (ulong)b.DeltaOffset + 16384, 0, 16384);
        AssertFinding(Run(b.Bytes), RuleIds.BranchName, b.Branch(1) + 56);
    }

    [Fact]
    public void Committed_branches_may_have_empty_names_too()
    {
        // A commit clears the committed branch's name as well (seen in the kernel-made nested.daxfs: record 1, 'early'),
        // so the mount gate must not refuse an image after a commit.
        var b = ValidatorTestKitSamples.Sample(TinyLayout.Branching);
        b.SetBranch(0, 1, 0, "main", BranchState.Active, (ulong)b.DeltaOffset, 0, 16384);
        b.SetBranch(1, 2, 1, "", BranchState.Committed, (ulong)b.DeltaOffset + 16384, 0, 16384);
        Assert.Empty(WithoutRootBaseline(Run(b.Bytes)));
        var kernelMade = Run(File.ReadAllBytes(Path.Combine(TestPaths.RepoRoot, "tests/fixtures/branches/nested.daxfs")));
        Assert.DoesNotContain(kernelMade, f => f.RuleId == RuleIds.BranchName);
    }

    [Fact]
    public void Branch_log_size_beyond_capacity_is_reported()
    {
        var b = ValidatorTestKitSamples.Sample(TinyLayout.Branching);
        b.SetBranch(0, 1, 0, "main", BranchState.Active, (ulong)b.DeltaOffset, 8192, 4096);
        var f = AssertFinding(Run(b.Bytes), RuleIds.BranchLogBounds, b.Branch(0) + 16);
        Assert.Contains("capacity", f.Message);
    }

    [Fact]
    public void Branches_sharing_one_log_are_reported_and_the_log_is_walked_once()
    {
        var b = ValidatorTestKitSamples.Sample(TinyLayout.Branching);
        b.DeltaEntry(b.DeltaOffset, type: 42, totalSize: 24);
        for (int i = 0; i < 8; i++)
            b.SetBranch(i, (ulong)i + 1, i == 0 ? 0UL : 1UL, "b" + i, BranchState.Active, (ulong)b.DeltaOffset, 24, 16384);
        var findings = Run(b.Bytes);
        for (int i = 1; i < 8; i++)
            AssertFinding(findings, RuleIds.BranchLogBounds, b.Branch(i) + 16);
        AssertNoRule(WithoutRootBaseline(findings).Where(f => f.Offset == b.Branch(0) + 16).ToList(), RuleIds.BranchLogBounds);
        Assert.Single(findings, f => f.RuleId == RuleIds.DeltaEntry);
    }

    [Fact]
    public void Branch_log_offset_is_absolute_not_relative_to_the_delta_region()
    {
        // A log offset written relative to the delta region (0) falls on the superblock: out of the region.
        var b = ValidatorTestKitSamples.Sample(TinyLayout.Branching);
        b.SetBranch(0, 1, 0, "main", BranchState.Active, 0, 0, 4096);
        AssertFinding(Run(b.Bytes), RuleIds.BranchLogBounds, b.Branch(0) + 16);
    }

    [Fact]
    public void Branch_parent_chain_of_every_table_slot_is_linear_work()
    {
        var b = ValidatorTestKitSamples.Sample(TinyLayout.Branching, deltaSize: 256 * 64);
        for (int i = 0; i < MaxBranches; i++)
            b.SetBranch(i, (ulong)i + 1, (ulong)((i + 1) % MaxBranches) + 1, "b" + i, BranchState.Committed, (ulong)(b.DeltaOffset + i * 64), 0, 64);
        var findings = Run(b.Bytes);
        Assert.Single(findings, f => f.RuleId == RuleIds.BranchCycle);
    }

    [Fact]
    public void Split_image_with_a_backing_file_length_checks_file_extents()
    {
        var b = ValidatorTestKitSamples.Sample(TinyLayout.Split);
        Assert.Empty(WithoutRootBaseline(Run(b.Bytes, new ValidationOptions { BackingFileLength = b.BackingLength })));
        var shortBacking = Run(b.Bytes, new ValidationOptions { BackingFileLength = 4096 });
        AssertFinding(shortBacking, RuleIds.InodeDataBounds, b.Inode(5) + 24, 5); // /a/g is in the second backing block
        AssertNoRule(shortBacking, RuleIds.ExternalData);
        var unknown = Run(b.Bytes);
        Assert.Single(unknown, f => f.RuleId == RuleIds.ExternalData);
    }

    [Fact]
    public void Page_cache_with_zero_header_slots_is_a_layout_error()
    {
        var b = ValidatorTestKitSamples.Sample(TinyLayout.Split);
        b.W32(b.PageCacheOffset + 8, 0);
        var findings = Run(b.Bytes, new ValidationOptions { BackingFileLength = b.BackingLength });
        AssertFinding(findings, RuleIds.PageCacheLayout, b.PageCacheOffset + 16);
        AssertFinding(findings, RuleIds.PageCacheHeader, b.PageCacheOffset + 8);
    }

    [Fact]
    public void Page_cache_with_a_bad_magic_is_reported_once()
    {
        var b = ValidatorTestKitSamples.Sample(TinyLayout.Split);
        b.W32(b.PageCacheOffset, 0);
        var findings = Run(b.Bytes, new ValidationOptions { BackingFileLength = b.BackingLength });
        var only = Assert.Single(WithoutRootBaseline(findings));
        Assert.Equal(RuleIds.PageCacheHeader, only.RuleId);
        Assert.Equal(b.PageCacheOffset, only.Offset);
    }

    [Fact]
    public void Names_in_messages_are_printable()
    {
        var t = new TinyImage();
        t.Link(t.Root, Encoding.UTF8.GetBytes("bad\u0001/name"), t.File("x"));
        var f = Run(t.Build().Bytes).Single(x => x.RuleId == RuleIds.DirentBadName);
        Assert.DoesNotContain('\u0001', f.Message);
        Assert.Contains("\\x01", f.Message);
    }
}
