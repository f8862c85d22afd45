using DaxFs.Core.Format;
using DaxFs.Core.Read;
using DaxFs.Core.Validate;

namespace DaxFs.Core.Tests.Validate;

/// <summary>Test-DaxFsImage's rules for format 8 on the v8 vectors (CHECK.md: what the module's validate says of each) and mutants of them.</summary>
public class V8ValidationTests
{
    /// <summary>A format-8 vector (tests/vectors/v8), or with "overlay/" a kernel-written overlay image (tests/fixtures/overlay).</summary>
    public static string V8(string name) => name.StartsWith("overlay/", StringComparison.Ordinal)
        ? Path.Combine(TestPaths.RepoRoot, "tests", "fixtures", name)
        : Path.Combine(TestPaths.Vectors, "v8", name);

    public static IReadOnlyList<ValidationFinding> Validate(byte[] bytes, long? backing = null, int pageSize = 4096) =>
        ImageValidator.Validate(new ByteImageMemory(bytes), new ValidationOptions { BackingFileLength = backing, PageSize = pageSize, ThrowOnMissedBoundsCheck = true });

    private static long? BackingLength(string image)
    {
        string b = Path.ChangeExtension(image, ".backing");
        return File.Exists(b) ? new FileInfo(b).Length : null;
    }

    [Theory]
    // CHECK.md: basic is refused by validate for the empty hard-link slot (a warning here: no dirent names it); the others mount.
    [InlineData("basic.v8.static.daxfs", "INODE-EMPTY")]
    [InlineData("basic.v8.split.daxfs", "INODE-EMPTY")]
    [InlineData("big.v8.static.daxfs", "")]
    [InlineData("big.v8.split.daxfs", "")]
    [InlineData("deep.v8.static.daxfs", "")]
    [InlineData("deep.v8.split.daxfs", "")]
    [InlineData("empty.v8.static.daxfs", "")]
    [InlineData("empty.v8.split.daxfs", "BASE-EXTERNAL")] // mkdaxfs wrote no backing file: nothing to bound extents with
    [InlineData("wide.v8.static.daxfs", "")]
    [InlineData("wide.v8.split.daxfs", "")]
    // The corrupted dirent (DaxFs's own rule: the kernel mounts it and shows the damage).
    [InlineData("stride.v8.static.daxfs", "DIRENT-STRIDE")]
    [InlineData("stride.v8.split.daxfs", "DIRENT-STRIDE DIRENT-BADNAME")] // the overlay header's bytes put NULs in the name
    [InlineData("overlay/overlay-after-writes.daxfs", "INODE-EMPTY OVL-LOST-APPEND")]
    [InlineData("overlay/overlay-only-after-writes.daxfs", "")]
    public void Vectors_give_exactly_these_findings(string name, string rules)
    {
        string path = V8(name);
        var findings = Validate(File.ReadAllBytes(path), BackingLength(path));
        Assert.Equal(rules, string.Join(' ', findings.Select(f => f.RuleId)));
    }
}
