using DaxFs.Core.Format;
using DaxFs.Core.Read;

namespace DaxFs.Core.Tests.Read;

/// <summary>The one tree walk of the reader and the branch view: order, depth, a directory met twice, unreachable names.</summary>
public class TreeWalkTests
{
    private const uint Dir = DaxFsConstants.S_IFDIR | 0x1ED, File = DaxFsConstants.S_IFREG | 0x1A4;

    // 1 / : a(2, dir) b(3, file) c(4, dir, unreachable); 2 /a : d(5, dir) loop(1, dir: the root again); 5 /a/d : e(6, file)
    private static readonly Dictionary<ulong, (string Name, ulong Ino, uint Mode, bool Unreachable)[]> Tree = new()
    {
        [1] = new[] { ("a", 2UL, Dir, false), ("b", 3UL, File, false), ("c", 4UL, Dir, true) },
        [2] = new[] { ("d", 5UL, Dir, false), ("loop", 1UL, Dir, false) },
        [4] = new[] { ("x", 7UL, File, false) },
        [5] = new[] { ("e", 6UL, File, false) },
    };

    private static ImageItem Item(string path, ulong ino, uint mode, int depth, bool unreachable = false) =>
        new(path, System.Text.Encoding.UTF8.GetBytes(path[(path.LastIndexOf('/') + 1)..]), ino, new BaseInode { Ino = (uint)ino, Mode = mode }, null, depth, -1, unreachable);

    private static IEnumerable<ImageItem> List(ulong dirIno, BaseInode _, string dirPath, int level, byte[]? dirRaw) =>
        (Tree.GetValueOrDefault(dirIno) ?? Array.Empty<(string, ulong, uint, bool)>()).Select(e => Item(dirPath + "/" + e.Name, e.Ino, e.Mode, level, e.Unreachable));

    [Fact]
    public void Lists_a_directory_then_each_subdirectory_and_reports_a_directory_met_again()
    {
        var again = new List<string>();
        var walked = TreeWalk.Walk(Item("/", 1, Dir, 0), "/", List, i => again.Add(i.FullName), recurse: true, depth: int.MaxValue, CancellationToken.None)
            .Select(i => i.FullName).ToList();
        Assert.Equal(new[] { "/a", "/b", "/c", "/a/d", "/a/loop", "/a/d/e" }, walked);
        Assert.Equal(new[] { "/a/loop" }, again);
    }

    [Fact]
    public void Stops_at_the_depth_and_without_recursion_lists_one_directory()
    {
        var none = new List<string>();
        Assert.Equal(new[] { "/a", "/b", "/c", "/a/d", "/a/loop" },
            TreeWalk.Walk(Item("/", 1, Dir, 0), "/", List, i => none.Add(i.FullName), true, 1, CancellationToken.None).Select(i => i.FullName));
        Assert.Equal(new[] { "/a", "/b", "/c" },
            TreeWalk.Walk(Item("/", 1, Dir, 0), "/", List, i => none.Add(i.FullName), false, int.MaxValue, CancellationToken.None).Select(i => i.FullName));
        Assert.Empty(none);
    }

    [Fact]
    public void A_file_yields_itself()
    {
        var file = Item("/b", 3, File, 0);
        Assert.Same(file, Assert.Single(TreeWalk.Walk(file, "/b", List, _ => throw new InvalidOperationException(), true, int.MaxValue, CancellationToken.None)));
    }
}
