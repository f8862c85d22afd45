using System.Text;

namespace DaxFs.TreeTools;

/// <summary>
/// The one large-tree generator: the hostile boot's large tree (<see cref="HostileImages.MakeLargeTree"/>, whose image the
/// kernel fixture tests/fixtures/branches/large-kernel.daxfs.gz was made from), the fuzzer's large seeds and the
/// validator's scale tests all come from here.
/// </summary>
public static class LargeTree
{
    /// <summary>
    /// A large deterministic tree at <paramref name="root"/>: <paramref name="directories"/> directories (some chains, some
    /// wide), and entries up to <paramref name="entries"/> spread over a quarter of them (the rest stay empty, so an image
    /// of it stays small): mostly empty files, some small files, symlinks (some with long targets), hard links, some long
    /// names, all from <paramref name="seed"/>.
    /// </summary>
    public static void Make(string root, int directories, int entries, int seed)
    {
        var rng = new Random(seed);
        Directory.CreateDirectory(root);
        var dirs = new List<string> { root };
        for (int d = 1; d < directories; d++)
        {
            // Half under any earlier directory (wide), half under one of the last few (deep).
            string parent = dirs[rng.Next(2) == 0 ? rng.Next(dirs.Count) : Math.Max(0, dirs.Count - 1 - rng.Next(4))];
            string path = Path.Combine(parent, $"d{d:x4}");
            Directory.CreateDirectory(path);
            dirs.Add(path);
        }
        int populated = Math.Max(1, dirs.Count / 4);
        var files = new List<string>();
        var data = new byte[300];
        for (int e = directories; e < entries; e++)
        {
            string parent = dirs[rng.Next(populated)];
            string path = Path.Combine(parent, $"f{e:x5}" + (rng.Next(16) == 0 ? new string('n', 1 + rng.Next(240)) : ""));
            int k = rng.Next(100);
            if (k < 1 && files.Count > 0)
                File.CreateSymbolicLink(path, rng.Next(4) == 0 ? new string('t', 1 + rng.Next(1000)) : Path.GetRelativePath(parent, files[rng.Next(files.Count)]));
            else if (k < 2 && files.Count > 0)
                Native.LinkAt(-100, Encoding.UTF8.GetBytes(files[rng.Next(files.Count)]), -100, Encoding.UTF8.GetBytes(path)); // AT_FDCWD
            else
            {
                rng.NextBytes(data);
                File.WriteAllBytes(path, data.AsSpan(0, k < 4 ? 1 + rng.Next(data.Length) : 0).ToArray());
                files.Add(path);
            }
        }
    }
}
