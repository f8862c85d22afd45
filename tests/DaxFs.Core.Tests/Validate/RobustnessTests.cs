using System.Buffers.Binary;
using DaxFs.Core.Format;
using DaxFs.Core.Read;
using DaxFs.Core.Validate;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using static DaxFs.Core.Tests.Validate.ValidatorTestKit;

namespace DaxFs.Core.Tests.Validate;

/// <summary>The validator never throws (but for cancellation), never hangs and honours its options.</summary>
public class RobustnessTests
{
    /// <summary>Every region boundary of basic.static plus every 512-byte step.</summary>
    public static TheoryData<int> BasicStaticCuts()
    {
        var full = VectorShared("basic.static");
        var cuts = new SortedSet<int>();
        for (int n = 0; n < full.Length; n += 512) cuts.Add(n);
        // Boundaries: superblock record and block, base superblock, inode table, data area, each object's data.
        foreach (int n in new[] { 1, 7, 8, 4039, 4040, 4041, 4095, 4096, 4096 + 47, 4096 + 48, 8192, 8192 + 19 * 64 - 1, 8192 + 19 * 64, 12288, full.Length - 1 })
            cuts.Add(n);
        for (int ino = 1; ino <= 19; ino++)
        {
            int rec = 0x2000 + (ino - 1) * 64;
            ulong size = BinaryPrimitives.ReadUInt64LittleEndian(full.AsSpan(rec + 16));
            ulong data = BinaryPrimitives.ReadUInt64LittleEndian(full.AsSpan(rec + 24));
            foreach (ulong at in new[] { 4096 + data, 4096 + data + size, 4096 + data + size + 1 })
                if (at < (ulong)full.Length) cuts.Add((int)at);
        }
        var data2 = new TheoryData<int>();
        foreach (int c in cuts) data2.Add(c);
        return data2;
    }

    [Theory]
    [MemberData(nameof(BasicStaticCuts))]
    public void Truncated_basic_static_gives_truncation_or_bounds_findings(int length)
    {
        var bytes = VectorShared("basic.static")[..length];
        var findings = Run(bytes);
        Assert.NotEmpty(findings);
        Assert.False(ImageValidator.IsSafe(findings));
        var truncationRules = new[]
        {
            RuleIds.ImageTruncated, RuleIds.SuperTotalSize, RuleIds.BaseRegionBounds,
        };
        Assert.Contains(findings, f => truncationRules.Contains(f.RuleId));
        if (length < DaxFsConstants.SuperblockRecordSize)
        {
            var only = Assert.Single(findings);
            Assert.Equal(RuleIds.ImageTruncated, only.RuleId);
            Assert.Equal(0, only.Offset);
        }
        else
        {
            AssertFinding(findings, RuleIds.SuperTotalSize, 16);
        }
        // Nothing beyond the truncation is invented: an intact inode's type is never questioned.
        Assert.All(findings.Where(f => f.RuleId == RuleIds.InodeType), f => Assert.Equal(19u, f.Inode));
    }

    [Fact]
    public void Empty_and_tiny_inputs()
    {
        foreach (int n in new[] { 0, 1, 4, 100, 4039 })
        {
            var only = Assert.Single(Run(new byte[n]));
            Assert.Equal(RuleIds.ImageTruncated, only.RuleId);
        }
        var zeros = Assert.Single(Run(new byte[8192]));
        Assert.Equal(RuleIds.SuperMagic, zeros.RuleId);
    }

    [Fact]
    public void Superblock_of_all_ones_is_reported_not_thrown()
    {
        var bytes = new byte[64 * 1024];
        bytes.AsSpan().Fill(0xFF);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, DaxFsConstants.SuperMagic);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(4), DaxFsConstants.Version);
        var findings = Run(bytes);
        Assert.NotEmpty(findings);
        Assert.False(ImageValidator.IsSafe(findings));
    }

    [Fact]
    public void Random_garbage_behind_a_valid_magic_never_throws()
    {
        var rng = new Random(1234);
        for (int i = 0; i < 200; i++)
        {
            var bytes = new byte[rng.Next(4040, 64 * 1024)];
            rng.NextBytes(bytes);
            BinaryPrimitives.WriteUInt32LittleEndian(bytes, DaxFsConstants.SuperMagic);
            // Make offsets small often, so the structures land inside the buffer.
            for (int k = 0; k < 24; k++)
                if (rng.Next(2) == 0) BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(16 + k * 8), (ulong)rng.Next(0, bytes.Length));
            _ = Run(bytes);
        }
    }

    [Fact]
    public void MaxFindings_caps_the_list_and_says_so()
    {
        var basic = VectorShared("basic.static"); // 4 bookkeeping summaries (NLINK-MISMATCH, NLINK-NOTFILE, INODE-EMPTY, NLINK-ZERO) and 3 more
        var all = Run(basic);
        Assert.True(all.Count > 3, Describe(all));
        AssertNoRule(all, RuleIds.FindingsTruncated);
        var three = Run(basic, new ValidationOptions { MaxFindings = 3 });
        Assert.Equal(4, three.Count);
        Assert.Equal(all.Take(3), three.Take(3)); // no errors here: the first ones made
        Assert.Equal(RuleIds.FindingsTruncated, three[3].RuleId);
        Assert.Equal(all.Count - 3, three[3].Count);
        Assert.Equal(all, Run(basic, new ValidationOptions { MaxFindings = all.Count }));
    }

    [Fact]
    public void Cancellation_throws_OperationCanceledException()
    {
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() =>
            Run(VectorShared("wide.static"), new ValidationOptions { CancellationToken = cts.Token }));
    }

    [Fact]
    public void Null_arguments_are_programming_errors()
    {
        Assert.Throws<ArgumentNullException>(() => ImageValidator.Validate(null!));
        Assert.Throws<ArgumentNullException>(() => ImageValidator.IsSafe(null!));
    }

    [Fact]
    public void IsSafe_looks_at_errors_only()
    {
        Assert.True(ImageValidator.IsSafe(Array.Empty<ValidationFinding>()));
        var warning = new ValidationFinding(RuleIds.NlinkZero, FindingSeverity.Warning, KernelVerdict.RejectsWithValidate, 0, 1, "w");
        var error = new ValidationFinding(RuleIds.InodeType, FindingSeverity.Error, KernelVerdict.RejectsWithValidate, 0, 1, "e");
        Assert.True(ImageValidator.IsSafe(new[] { warning }));
        Assert.False(ImageValidator.IsSafe(new[] { warning, error }));
    }

    // ---- property: random mutations of each vector never make Validate throw --------------------------------

    /// <summary>Byte edits of a vector: most land in the metadata (the first 96 KiB: superblock, branch table,
    /// base superblock, inode table, directories).</summary>
    public sealed record VectorMutation((int Position, int Kind, ulong Value)[] Edits)
    {
        public override string ToString() =>
            string.Join(", ", Edits.Select(e => $"[{e.Position}] kind {e.Kind} = 0x{e.Value:x}"));
    }

    private static readonly ulong[] Interesting =
    {
        0, 1, 2, 24, 271, 272, 4095, 4096, 4097, 0x9000, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0x100000000,
        271UL << 32, long.MaxValue, 1UL << 63, ulong.MaxValue - 4095, ulong.MaxValue - 1, ulong.MaxValue,
    };

    private static Arbitrary<VectorMutation> Mutations()
    {
        var value = Gen.OneOf(
            Gen.Elements(Interesting),
            Gen.Choose(0, int.MaxValue).Select(v => (ulong)v),
            Gen.Choose(0, 255).Select(v => (ulong)v));
        var edit =
            from hot in Gen.Choose(0, 9)
            from pos in Gen.Choose(0, int.MaxValue)
            from kind in Gen.Choose(0, 3)
            from v in value
            select (hot < 8 ? pos % (96 * 1024) : pos, kind, v);
        return Gen.NonEmptyListOf(edit).Select(l => new VectorMutation(l.ToArray())).ToArbitrary();
    }

    private static void Apply(byte[] bytes, VectorMutation m)
    {
        foreach (var (position, kind, value) in m.Edits)
        {
            int at = position % bytes.Length;
            switch (kind)
            {
                case 0: bytes[at] = (byte)value; break;
                case 1: if (at + 2 <= bytes.Length) BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(at), (ushort)value); break;
                case 2: if ((at & ~3) + 4 <= bytes.Length) BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(at & ~3), (uint)value); break;
                default: if ((at & ~7) + 8 <= bytes.Length) BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(at & ~7), value); break;
            }
        }
    }

    public static TheoryData<string> Vectors()
    {
        var data = new TheoryData<string>();
        foreach (var v in VectorNames) data.Add(v);
        return data;
    }

    [Theory]
    [MemberData(nameof(Vectors))]
    public void Random_mutations_of_each_vector_never_throw(string vector)
    {
        var property = Prop.ForAll(Mutations(), m =>
        {
            var bytes = Vector(vector);
            Apply(bytes, m);
            var findings = Run(bytes);
            Assert.True(findings.Count <= 1001);
            Assert.All(findings, f => Assert.Equal(RuleIds.Get(f.RuleId).Severity, f.Severity));
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(60), property);
    }

    /// <summary>The same property through FsCheck.Xunit, over the small static vectors and truncation too.</summary>
    public static class SmallVectorMutations
    {
        public static Arbitrary<(int Vector, int Cut, VectorMutation Mutation)> Cases() =>
            Gen.Choose(0, 3).SelectMany(v => Gen.Choose(0, 40), (v, cut) => (v, cut))
                .SelectMany(_ => Mutations().Generator, (vc, m) => (vc.v, vc.cut, m)).ToArbitrary();
    }

    [Property(MaxTest = 200, Arbitrary = new[] { typeof(SmallVectorMutations) })]
    public void Mutated_and_cut_small_vectors_never_throw((int Vector, int Cut, VectorMutation Mutation) c)
    {
        var name = new[] { "basic.static", "empty.static", "deep.static", "basic.branching" }[c.Vector];
        var bytes = Vector(name);
        Apply(bytes, c.Mutation);
        if (c.Cut < 10) bytes = bytes[..(bytes.Length * c.Cut / 10)]; // a quarter of the cases are truncated too
        _ = Run(bytes);
    }

    [Fact]
    public void Mutating_every_inode_field_of_basic_static_never_throws()
    {
        // Deterministic sweep: every 4-byte field of the base superblock and inode table, set to each hostile value.
        var original = VectorShared("basic.static");
        var values = new uint[] { 0, 1, 19, 20, 271, 0x4000, 0x41ED, 0xA1FF, 0x81A4, 0x7FFFFFFF, 0xFFFFFFFF };
        for (int at = 0x1000; at < 0x2000 + 19 * 64; at += 4)
        {
            if (at == 0x1000 + 48) at = 0x2000;
            foreach (uint v in values)
            {
                var bytes = (byte[])original.Clone();
                BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(at), v);
                _ = Run(bytes);
            }
        }
    }
}
