using System.Text;
using DaxFs.Core.Format;
using DaxFs.Core.Compare;
using DaxFs.Core.Read;
using DaxFs.Core.Tests.Build;
using DaxFs.Core.Build;

namespace DaxFs.Core.Tests.Compare;

/// <summary>TreeComparer: images and directories compared by type, mode, owner, size, content (SHA-256) and link target.</summary>
public sealed class TreeComparerTests : IDisposable
{
    private readonly TestTrees _trees = new();
    public void Dispose() => _trees.Dispose();

    private string Build(string src, string name)
    {
        string img = Path.Combine(_trees.NewFolder("img-" + name), name + ".daxfs");
        new ImageBuilder(new ImageBuildOptions { SourcePath = src, Destination = img }).Build();
        return img;
    }

    private static TreeComparison Compare(string a, string b, TreeCompareOptions? o = null)
    {
        using var ra = Directory.Exists(a) ? null : DaxFsImageReader.Open(a);
        using var rb = Directory.Exists(b) ? null : DaxFsImageReader.Open(b);
        return TreeComparer.Compare(ra is null ? ComparableTree.FromDirectory(a) : ComparableTree.FromImage(ra),
            rb is null ? ComparableTree.FromDirectory(b) : ComparableTree.FromImage(rb), o);
    }

    [Fact]
    public void AnImageEqualsItselfAndItsOtherMode()
    {
        var same = Compare(TestPaths.Vector("basic.static.daxfs"), TestPaths.Vector("basic.static.daxfs"));
        Assert.Empty(same.Differences);
        Assert.Equal(19, same.ReferenceEntries); // 18 entries and the root
        Assert.Equal(11, same.FilesHashed);       // every non-empty file name, hard links included
        var modes = Compare(TestPaths.Vector("wide.static.daxfs"), TestPaths.Vector("wide.branching.daxfs"));
        Assert.Empty(modes.Differences);
        Assert.Equal(300, modes.FilesHashed);
    }

    [Fact]
    public void AnImageEqualsTheTreeItWasBuiltFrom()
    {
        string src = _trees.Make("basic");
        var r = Compare(Build(src, "basic"), src);
        Assert.Empty(r.Differences);
        Assert.Equal(r.ReferenceEntries, r.DifferenceEntries);
    }

    [Fact]
    public void EveryKindOfChangeIsNamed()
    {
        string src = _trees.Make("basic");
        string before = Build(src, "before");
        // Same size, other bytes; other size; mode; a new file; a removed file; a new target; a file that became a directory.
        var hello = Path.Combine(src, "a/b/c/hello.txt");
        File.WriteAllText(hello, "HELLO, daxfs\n");
        File.WriteAllText(Path.Combine(src, "one"), "one more");
        TestTrees.Chmod(Path.Combine(src, "private"), 0x1A4);
        File.WriteAllText(Path.Combine(src, "added"), "new\n");
        File.Delete(Path.Combine(src, "exact4096"));
        File.Delete(Path.Combine(src, "rel-link"));
        File.CreateSymbolicLink(Path.Combine(src, "rel-link"), "one");
        File.Delete(Path.Combine(src, "empty"));
        Directory.CreateDirectory(Path.Combine(src, "empty"));
        byte[] odd = Encoding.Latin1.GetBytes("bad\u00ffname"); // not UTF-8
        TestTrees.WriteFileBytes(Encoding.UTF8.GetBytes(src + "/").Concat(odd).ToArray(), "x"u8.ToArray());

        var r = Compare(before, src);
        var byPath = r.Differences.ToDictionary(d => Encoding.Latin1.GetString(d.PathBytes));
        Assert.Equal(TreeProperties.Content, byPath["/a/b/c/hello.txt"].Properties);
        Assert.NotEqual(byPath["/a/b/c/hello.txt"].ReferenceSha256, byPath["/a/b/c/hello.txt"].DifferenceSha256);
        Assert.Equal(64, byPath["/a/b/c/hello.txt"].ReferenceSha256!.Length);
        Assert.Equal(TreeProperties.Size | TreeProperties.Content, byPath["/one"].Properties);
        Assert.Equal(TreeProperties.Mode, byPath["/private"].Properties);
        Assert.Equal(0x180u, byPath["/private"].Reference!.Mode);
        Assert.Equal(TreeChange.Added, byPath["/added"].Change);
        Assert.Equal(TreeChange.Removed, byPath["/exact4096"].Change);
        Assert.Equal(TreeProperties.Target, byPath["/rel-link"].Properties);
        Assert.Equal(TreeProperties.Type, byPath["/empty"].Properties);
        Assert.Equal(DaxFsItemType.Directory, byPath["/empty"].Difference!.Type);
        var bad = byPath["/" + Encoding.Latin1.GetString(odd)];
        Assert.Equal(TreeChange.Added, bad.Change);
        Assert.Equal(odd, bad.PathBytes[1..]);
        // The root and the directories whose entries changed keep their modes and owners: nothing else differs.
        Assert.Equal(8, r.Differences.Count);
        // Path order, as a listing shows it.
        Assert.Equal(r.Differences.Select(d => d.Path), r.Differences.OrderBy(d => d.Path.Replace('/', '\0'), StringComparer.Ordinal).Select(d => d.Path));
    }

    [Fact]
    public void OwnersAndContentCanBeLeftOut()
    {
        string src = _trees.Make("basic");
        string img = Path.Combine(_trees.NewFolder("root-owned"), "basic.daxfs");
        new ImageBuilder(new ImageBuildOptions { SourcePath = src, Destination = img, Owner = OwnerMode.Root }).Build();
        File.WriteAllText(Path.Combine(src, "a/b/c/hello.txt"), "HELLO, daxfs\n");
        var all = Compare(img, src);
        Assert.Contains(all.Differences, d => d.Path == "/a/b/c/hello.txt" && d.Properties.HasFlag(TreeProperties.Content));
        if (TestTrees.IsRoot)
            Assert.Contains(all.Differences, d => d.Path == "/owned" && d.Properties == (TreeProperties.Uid | TreeProperties.Gid));
        var noOwner = Compare(img, src, new TreeCompareOptions { CompareOwner = false });
        Assert.Equal(new[] { "/a/b/c/hello.txt" }, noOwner.Differences.Select(d => d.Path));
        var noContent = Compare(img, src, new TreeCompareOptions { CompareOwner = false, CompareContent = false });
        Assert.Empty(noContent.Differences);
        Assert.Equal(0, noContent.FilesHashed);
    }

    [Fact]
    public void RealSizedImagesDifferInExactlyWhatChanged()
    {
        // 500 directories of 40 files (20,511 entries): two builds that differ in one byte of one file and one mode.
        string src = _trees.NewFolder("real");
        var rng = new Random(7);
        for (int d = 0; d < 500; d++)
        {
            string dir = Path.Combine(src, $"d{d / 50:D2}", $"s{d:D3}");
            Directory.CreateDirectory(dir);
            for (int i = 0; i < 40; i++)
            {
                var bytes = new byte[rng.Next(0, 20000)];
                rng.NextBytes(bytes);
                File.WriteAllBytes(Path.Combine(dir, $"f{i:D2}"), bytes);
            }
        }
        string a = Build(src, "a");
        string victim = Path.Combine(src, "d04", "s234", "f17");
        var content = File.ReadAllBytes(victim);
        content[^1] ^= 0x5a;
        File.WriteAllBytes(victim, content);
        TestTrees.Chmod(Path.Combine(src, "d09", "s499", "f39"), 0x180);
        string b = Build(src, "b");
        var r = Compare(a, b);
        Assert.Equal(20511, r.ReferenceEntries); // 20,000 files, 510 directories and the root
        Assert.Equal(new[] { "/d04/s234/f17", "/d09/s499/f39" }, r.Differences.Select(d => d.Path));
        Assert.Equal(TreeProperties.Content, r.Differences[0].Properties);
        Assert.Equal(TreeProperties.Mode, r.Differences[1].Properties);
        Assert.True(r.FilesHashed > 19000);
        // And the image against its own tree.
        Assert.Equal(new[] { "/d04/s234/f17", "/d09/s499/f39" }, Compare(a, src).Differences.Select(d => d.Path));
    }
}
