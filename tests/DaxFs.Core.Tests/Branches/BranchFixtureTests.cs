using DaxFs.Core.Branches;
using DaxFs.Core.Format;
using DaxFs.Core.Read;

namespace DaxFs.Core.Tests.Branches;

/// <summary>
/// The replay against what the real kernel showed (tests/fixtures/branches/README.md): nested.daxfs holds main (with a
/// committed child's changes), feature and deep (feature's child); the guest listed each through a fresh mount.
/// </summary>
public sealed class BranchFixtureTests
{
    private static string Fixture(string name) => Path.Combine(TestPaths.RepoRoot, "tests", "fixtures", "branches", name);

    private static string Line(ImageItem i)
    {
        char y = i.Type switch { DaxFsItemType.File => 'f', DaxFsItemType.Directory => 'd', DaxFsItemType.SymbolicLink => 'l', _ => 'U' };
        return $".{(i.FullName == "/" ? "" : i.FullName)} {y} {Convert.ToString(i.Inode.Mode & 0xFFF, 8)} {i.Inode.Uid} {i.Inode.Gid} {i.Inode.Size} {i.Inode.Nlink} {i.Target}";
    }

    [Theory]
    [InlineData("main")]
    [InlineData("feature")]
    [InlineData("deep")]
    public void ListingAttributesAndContentEqualTheGuests(string branch)
    {
        using var reader = DaxFsImageReader.Open(Fixture("nested.daxfs"));
        var view = BranchView.Open(reader, branch);
        var items = view.Walk("/").ToList();
        var mine = items.Where(i => !i.Unreachable).Select(Line).Append(Line(view.GetItem("/")!)).Order(StringComparer.Ordinal).ToList();
        // find -printf '%p %y %m %U %G %s %n %l'
        var guest = File.ReadAllLines(Fixture($"nested.{branch}.guest-listing.txt")).Select(l => l.TrimEnd() + (l.EndsWith(' ') ? " " : "")).ToList();
        Assert.Equal(guest.Select(l => l.TrimEnd()), mine.Select(l => l.TrimEnd()));

        // find reports each unreachable name as missing
        var errors = File.ReadAllLines(Fixture($"nested.{branch}.guest-errors.txt")).Where(l => l.Contains("No such file")).Select(l => l.Split('‘', '’')[1][1..]);
        Assert.Equal(errors.Order(StringComparer.Ordinal), items.Where(i => i.Unreachable).Select(i => i.FullName).Order(StringComparer.Ordinal));

        // readdir order: each directory's names in the order find met them
        var order = File.ReadAllLines(Fixture($"nested.{branch}.guest-order.txt")).Skip(1).Select(l => l.Split(' ')[0][1..]).ToList();
        foreach (var dir in items.Where(i => i.Type == DaxFsItemType.Directory).Select(i => i.FullName).Append(""))
        {
            var guestChildren = order.Where(p => p.StartsWith(dir + "/", StringComparison.Ordinal) && p.LastIndexOf('/') == dir.Length).ToList();
            var myChildren = items.Where(i => !i.Unreachable && i.ParentPath == (dir.Length == 0 ? "/" : dir)).Select(i => i.FullName).ToList();
            Assert.Equal(guestChildren, myChildren);
        }

        // cat of every regular file
        foreach (var line in File.ReadAllLines(Fixture($"nested.{branch}.guest-content.txt")))
        {
            var parts = line.Split(' ');
            string path = parts[0][1..];
            var expected = Convert.FromBase64String(parts.Length > 2 ? parts[2] : "");
            var item = view.GetItem(path);
            byte[] got = [];
            if (item is { Type: DaxFsItemType.File })
            {
                using var s = view.OpenContent(item.Ino);
                var m = new MemoryStream();
                s.CopyTo(m);
                got = m.ToArray();
            }
            Assert.True(expected.AsSpan().SequenceEqual(got), $"{branch}:{path}: {got.Length} bytes, the guest read {expected.Length}");
        }
    }

    [Fact]
    public void TheFeatureFixtureEqualsItsGuestListing()
    {
        using var reader = DaxFsImageReader.Open(Fixture("feature.daxfs"));
        var view = BranchView.Open(reader, "feature");
        var mine = view.Walk("/").Where(i => !i.Unreachable).Append(view.GetItem("/")!)
            .Select(i => $".{(i.FullName == "/" ? "" : i.FullName)} {Line(i).Split(' ')[1]} {Convert.ToString(i.Inode.Mode & 0xFFF, 8)} {i.Inode.Size} {i.Target}".TrimEnd())
            .Order(StringComparer.Ordinal);
        Assert.Equal(File.ReadAllLines(Fixture("feature.guest-listing.txt")).Select(l => l.TrimEnd()), mine);
    }
}
