using System.Buffers.Binary;
using DaxFs.Core.Format;
using DaxFs.Core.Read;
using DaxFs.Core.Validate;
using static DaxFs.Core.Tests.Validate.ValidatorTestKit;

namespace DaxFs.Core.Tests.Validate;

/// <summary>
/// The findings on the mkdaxfs reference images, pinned. They match what FORMAT.md says the real kernel does with
/// <c>validate</c>: every directory's nlink is 2 + subdirectories (Unix style) while the kernel wants the number of
/// dirents naming it (the root: none), so every directory has NLINK-MISMATCH and NLINK-NOTFILE; basic has a hard
/// link, so mkdaxfs left an all-zero inode slot 19 that no dirent names (INODE-EMPTY, NLINK-ZERO: the kernel's
/// validate refuses it as "unsupported file type 00", but the kernel never reads it otherwise). Each of these is
/// bookkeeping: one summary finding per rule, with the count and the first inodes.
/// Nothing else: regions, bounds, names, strides, tree and (empty) branch tables are clean.
/// </summary>
public class VectorValidationTests
{
    private static readonly uint[] DeepDirs = Enumerable.Range(1, 41).Select(i => (uint)i).ToArray();

    public static TheoryData<string> Vectors()
    {
        var data = new TheoryData<string>();
        foreach (var v in VectorNames) data.Add(v);
        return data;
    }

    /// <summary>rule id → inodes it fires for, per tree (static and branching images agree).</summary>
    private static Dictionary<string, uint[]> Expected(string tree) => tree switch
    {
        "basic" => new()
        {
            [RuleIds.InodeEmptySlot] = new uint[] { 19 },
            [RuleIds.NlinkMismatch] = new uint[] { 1, 2, 14, 15, 16 },
            [RuleIds.NlinkNotFile] = new uint[] { 1, 2, 14, 15, 16 },
            [RuleIds.NlinkZero] = new uint[] { 19 },
        },
        "wide" => new()
        {
            [RuleIds.NlinkMismatch] = new uint[] { 1, 2 },
            [RuleIds.NlinkNotFile] = new uint[] { 1, 2 },
        },
        "deep" => new()
        {
            [RuleIds.NlinkMismatch] = DeepDirs,
            [RuleIds.NlinkNotFile] = DeepDirs,
        },
        "empty" or "big" => new()
        {
            [RuleIds.NlinkMismatch] = new uint[] { 1 },
            [RuleIds.NlinkNotFile] = new uint[] { 1 },
        },
        _ => throw new ArgumentException(tree),
    };

    [Theory]
    [MemberData(nameof(Vectors))]
    public void Vector_findings_are_exactly_the_pinned_ones(string vector)
    {
        var findings = Run(VectorShared(vector));
        var expected = Expected(vector.Split('.')[0]);
        // One summary per bookkeeping rule: its count, the first inode's offset, the first five inodes named.
        Assert.True(expected.Keys.Order().SequenceEqual(findings.Select(f => f.RuleId).Order()), Describe(findings));
        foreach (var (rule, inodes) in expected)
        {
            var f = findings.Single(x => x.RuleId == rule);
            Assert.True(f.Bookkeeping);
            Assert.Equal(inodes.Length, f.Count);
            Assert.Equal(inodes[0], f.Inode);
            if (inodes.Length > 1)
                Assert.Contains("inodes " + string.Join(", ", inodes.Take(5)) + (inodes.Length > 5 ? $" and {inodes.Length - 5} more." : "."), f.Message);
        }
        Assert.True(ImageValidator.PassesStrict(findings));
        // Each finding points into the inode table, at the field of the inode it is about.
        var bytes = VectorShared(vector);
        long baseOffset = (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(24));
        long table = baseOffset + (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan((int)baseOffset + 24));
        foreach (var f in findings)
            Assert.Equal(table + (f.Inode!.Value - 1) * 64L, f.Offset & ~63L);
    }

    [Theory]
    [MemberData(nameof(Vectors))]
    public void Vectors_are_safe_with_only_validate_bookkeeping(string vector)
    {
        var findings = Run(VectorShared(vector));
        // The hard-link slot of basic is bookkeeping too: nothing names it, so nothing reads it.
        Assert.True(ImageValidator.IsSafe(findings), Describe(findings));
        Assert.All(findings, f => Assert.Equal(FindingSeverity.Warning, f.Severity));
        Assert.All(findings, f => Assert.Equal(KernelVerdict.RejectsWithValidate, f.Kernel));
    }

    [Fact]
    public void Basic_static_offsets_point_at_the_fields()
    {
        var findings = Run(VectorShared("basic.static"));
        // base at 0x1000, inode table at base + 0x1000; record n at 0x2000 + (n-1)*64.
        AssertFinding(findings, RuleIds.InodeEmptySlot, 0x2000 + 18 * 64 + 4, 19);
        AssertFinding(findings, RuleIds.NlinkZero, 0x2000 + 18 * 64 + 32, 19);
        var root = AssertFinding(findings, RuleIds.NlinkMismatch, 0x2000 + 32, 1);
        Assert.Equal(5, root.Count);
        Assert.Contains("the root, which no dirent names", root.Message);
        Assert.Contains("type 00", findings.Single(f => f.RuleId == RuleIds.InodeEmptySlot).Message);
    }

    [Fact]
    public void Basic_branching_offsets_follow_the_branch_table()
    {
        var findings = Run(VectorShared("basic.branching"));
        // base at 0x9000 (after the 32 KiB branch table), inode table at 0xa000.
        AssertFinding(findings, RuleIds.InodeEmptySlot, 0xa000 + 18 * 64 + 4, 19);
    }

    [Theory]
    [MemberData(nameof(Vectors))]
    public void Mapped_file_and_byte_array_give_the_same_findings(string vector)
    {
        using var mapped = MappedFileImageMemory.Open(TestPaths.Vector(vector + ".daxfs"));
        var a = ImageValidator.Validate(mapped);
        var b = Run(VectorShared(vector));
        Assert.Equal(b, a);
    }

    [Theory]
    [InlineData("basic.branching")]
    [InlineData("empty.branching")]
    public void Skipping_branches_changes_nothing_on_fresh_images(string vector)
    {
        var with = Run(VectorShared(vector));
        var without = Run(VectorShared(vector), new ValidationOptions { CheckBranches = false });
        Assert.Equal(with, without);
    }

    [Fact]
    public void A_backing_file_length_is_ignored_without_split_mode()
    {
        var plain = Run(VectorShared("basic.static"));
        var withBacking = Run(VectorShared("basic.static"), new ValidationOptions { BackingFileLength = 1 });
        Assert.Equal(plain, withBacking);
    }
}
