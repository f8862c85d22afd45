using System.Collections.Concurrent;
using DaxFs.Core.Format;
using DaxFs.Core.Read;
using DaxFs.Core.Validate;

namespace DaxFs.Core.Tests.Validate;

/// <summary>Shared helpers of the validator tests.</summary>
public static class ValidatorTestKit
{
    private static readonly ConcurrentDictionary<string, byte[]> s_vectors = new(StringComparer.Ordinal);

    /// <summary>The ten reference images (five trees, static and branching).</summary>
    public static readonly string[] VectorNames =
    {
        "basic.static", "basic.branching", "wide.static", "wide.branching", "deep.static", "deep.branching",
        "empty.static", "empty.branching", "big.static", "big.branching",
    };

    /// <summary>A private copy of a vector's bytes (safe to mutate).</summary>
    public static byte[] Vector(string name) => (byte[])VectorShared(name).Clone();

    /// <summary>The cached bytes of a vector: do not mutate.</summary>
    public static byte[] VectorShared(string name) =>
        s_vectors.GetOrAdd(name, n => File.ReadAllBytes(TestPaths.Vector(n + ".daxfs")));

    /// <summary>Validates with the missed-bounds-check trap on (as the fuzz target does): a read that escapes the
    /// validator's own bounds checks throws instead of becoming a finding, so a missing check fails the test.</summary>
    public static IReadOnlyList<ValidationFinding> Run(byte[] bytes, ValidationOptions? options = null) =>
        Run(new ByteImageMemory(bytes), options);

    /// <summary>Validates any memory with the missed-bounds-check trap on.</summary>
    public static IReadOnlyList<ValidationFinding> Run(ImageMemory memory, ValidationOptions? options = null) =>
        ImageValidator.Validate(memory, Trapped(options));

    /// <summary>The options with the missed-bounds-check trap turned on.</summary>
    public static ValidationOptions Trapped(ValidationOptions? o) => new()
    {
        BackingFileLength = o?.BackingFileLength,
        CheckBranches = o?.CheckBranches ?? true,
        MaxFindings = o?.MaxFindings ?? new ValidationOptions().MaxFindings,
        CancellationToken = o?.CancellationToken ?? default,
        ThrowOnMissedBoundsCheck = true,
    };

    public static string Describe(IEnumerable<ValidationFinding> findings) =>
        string.Join(Environment.NewLine, findings.Select(f => $"{f.RuleId} @0x{f.Offset:x} ino={f.Inode?.ToString() ?? "-"}: {f.Message}"));

    /// <summary>Asserts that a finding of <paramref name="ruleId"/> at <paramref name="offset"/> (and inode) was made,
    /// with the catalogue's severity and kernel verdict.</summary>
    public static ValidationFinding AssertFinding(IReadOnlyList<ValidationFinding> findings, string ruleId, long offset, uint? inode = null, bool checkInode = true)
    {
        var hit = findings.FirstOrDefault(f => f.RuleId == ruleId && f.Offset == offset && (!checkInode || f.Inode == inode));
        Assert.True(hit is not null,
            $"Expected {ruleId} at 0x{offset:x} (inode {inode?.ToString() ?? "-"}); got:{Environment.NewLine}{Describe(findings)}");
        var rule = RuleIds.Get(ruleId);
        Assert.Equal(rule.Severity, hit!.Severity);
        Assert.Equal(rule.Kernel, hit.Kernel);
        Assert.False(string.IsNullOrWhiteSpace(hit.Message));
        return hit;
    }

    public static void AssertNoRule(IReadOnlyList<ValidationFinding> findings, string ruleId) =>
        Assert.True(findings.All(f => f.RuleId != ruleId), $"Did not expect {ruleId}; got:{Environment.NewLine}{Describe(findings)}");

    /// <summary>The findings minus the one every tiny image has (the root's nlink, which no dirent can match).</summary>
    public static IReadOnlyList<ValidationFinding> WithoutRootBaseline(IReadOnlyList<ValidationFinding> findings) =>
        findings.Where(f => !(f.RuleId == RuleIds.NlinkMismatch && f.Inode == 1)).ToList();
}

/// <summary>
/// A huge image that is zero except for a few written pages: lets tests present lengths far beyond memory
/// (hundreds of GiB) to the validator.
/// </summary>
public sealed class SparseImageMemory : ImageMemory
{
    private const int Page = 4096;
    private readonly Dictionary<long, byte[]> _pages = new();
    private readonly long _length;

    public SparseImageMemory(long length) => _length = length;

    public override long Length => _length;
    public override string Source => "(sparse)";

    /// <summary>Writes <paramref name="bytes"/> at <paramref name="offset"/>.</summary>
    public SparseImageMemory Write(long offset, ReadOnlySpan<byte> bytes)
    {
        for (int i = 0; i < bytes.Length; i++)
        {
            long at = offset + i;
            if (!_pages.TryGetValue(at / Page, out var page)) _pages[at / Page] = page = new byte[Page];
            page[at % Page] = bytes[i];
        }
        return this;
    }

    protected override ReadOnlySpan<byte> GetSpanUnchecked(long offset, int length)
    {
        var copy = new byte[length];
        for (int i = 0; i < length;)
        {
            long at = offset + i;
            int inPage = (int)Math.Min(Page - at % Page, length - i);
            if (_pages.TryGetValue(at / Page, out var page)) page.AsSpan((int)(at % Page), inPage).CopyTo(copy.AsSpan(i));
            i += inPage;
        }
        return copy;
    }

    public override void Dispose()
    {
    }
}

/// <summary>The sample tree of the rule cases: 1 = /, 2 = /a, 3 = /f ("hello"), 4 = /l -> "f", 5 = /a/g ("gee").</summary>
public static class ValidatorTestKitSamples
{
    public static TinyImage Tree()
    {
        var t = new TinyImage();
        uint a = t.Dir(), f = t.File("hello"), l = t.Symlink("f"), g = t.File("gee");
        t.Link(t.Root, "a", a).Link(t.Root, "f", f).Link(t.Root, "l", l).Link(a, "g", g);
        return t;
    }

    public static BuiltImage Sample(TinyLayout layout = TinyLayout.Static, long deltaSize = 64 * 1024) =>
        Tree().Build(layout, deltaSize);
}
