using System.Security.Cryptography;
using System.Text;
using DaxFs.Core.Format;
using DaxFs.Core.Read;
using DaxFs.Core.Build;

namespace DaxFs.Core.Tests.Build;

/// <summary>
/// Property tests over generated trees (fixed seeds, so a failure replays): names with every byte a Linux name may
/// hold, sizes around block boundaries, deep and wide directories, hard-link groups, every permission bit. The
/// generator records what it made; the image must read back exactly that, compared byte for byte on names.
/// </summary>
public sealed class RandomTreeTests : IDisposable
{
    private readonly TestTrees _trees = new();
    public void Dispose() => _trees.Dispose();

    private sealed record Entry(char Type, uint Perm, long Size, string? Sha, string? Target, int Group, uint Nlink);

    private static readonly long[] InterestingSizes = { 0, 1, 271, 272, 4095, 4096, 4097, 8191, 8192, 8193, 65536, 131073 };

    /// <summary>Seeds 1-12 build format 5 (static, branching, split by seed % 3), 13-18 format 8 (static, split by seed % 2).</summary>
    public static TheoryData<int> Seeds() => new() { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18 };

    [Theory]
    [MemberData(nameof(Seeds))]
    public void GeneratedTreeReadsBackExactly(int seed)
    {
        var rng = new Random(seed);
        string root = _trees.NewFolder("rand" + seed);
        var expected = new SortedDictionary<string, Entry>(StringComparer.Ordinal); // key: path bytes as Latin-1
        var files = new List<(byte[] Path, string Key)>();
        var groups = new Dictionary<string, int>();
        int nextGroup = 0;
        var subdirs = new Dictionary<string, int> { [""] = 0 };
        var dirModes = new List<(byte[] Path, uint Mode, string Key)>();

        int budget = 400; // entries per tree: keeps every seed small (a few MB) however the dice fall
        void Fill(byte[] dir, string key, int depth)
        {
            int count = depth == 0 ? rng.Next(5, 25) : rng.Next(0, rng.Next(2) == 0 ? 4 : 40);
            var used = new HashSet<string>();
            for (int i = 0; i < count && budget > 0; i++, budget--)
            {
                byte[] name = RandomName(rng);
                string nameKey = Encoding.Latin1.GetString(name);
                if (!used.Add(nameKey)) continue;
                byte[] path = dir.Length == 0 ? Concat(Encoding.UTF8.GetBytes(root), "/"u8.ToArray(), name) : Concat(dir, "/"u8.ToArray(), name);
                string childKey = key + "/" + nameKey;
                int kind = rng.Next(10);
                if (kind < 2 && depth < 12)
                {
                    TestTrees.MkdirBytes(path);
                    subdirs[key] = subdirs.GetValueOrDefault(key) + 1;
                    subdirs[childKey] = 0;
                    uint mode = 0x1C0 | (uint)rng.Next(0, 0x40) | (rng.Next(4) == 0 ? (uint)rng.Next(8) << 9 : 0); // keep u+rwx to fill it
                    dirModes.Add((path, mode, childKey));
                    Fill(path, childKey, depth + 1);
                }
                else if (kind < 3)
                {
                    byte[] target = RandomTarget(rng);
                    TestTrees.SymlinkBytes(target, path);
                    expected[childKey] = new Entry('l', 0x1FF, target.Length, null, Encoding.Latin1.GetString(target), -1, 1);
                }
                else if (kind < 4 && files.Count > 0)
                {
                    var (from, fromKey) = files[rng.Next(files.Count)];
                    TestTrees.HardLinkBytes(from, path);
                    if (!groups.TryGetValue(fromKey, out int g)) groups[fromKey] = g = nextGroup++;
                    expected[fromKey] = expected[fromKey] with { Group = g };
                    expected[childKey] = expected[fromKey];
                }
                else
                {
                    long size = rng.Next(3) == 0 ? rng.Next(0, 300_000) : InterestingSizes[rng.Next(InterestingSizes.Length)];
                    var data = new byte[size];
                    rng.NextBytes(data);
                    uint perm = (uint)rng.Next(0, 0x1000) | 0x100; // every bit, incl. setuid/setgid/sticky; u+r so an unprivileged run can read it
                    TestTrees.WriteFileBytes(path, data, 0x180);
                    TestTrees.ChmodBytes(path, perm);
                    files.Add((path, childKey));
                    expected[childKey] = new Entry('f', perm, size, Convert.ToHexString(SHA256.HashData(data)), null, -1, 1);
                }
            }
        }

        Fill(Array.Empty<byte>(), "", 0);
        // Permissions last, deepest first, so filling never hit a closed directory.
        for (int i = dirModes.Count - 1; i >= 0; i--) TestTrees.ChmodBytes(dirModes[i].Path, dirModes[i].Mode);
        foreach (var (_, dirMode, key) in dirModes) expected[key] = new Entry('d', dirMode, 0, null, null, -1, (uint)(2 + subdirs[key]));
        // hard-link groups: nlink = names in the group
        var groupSizes = expected.Values.Where(e => e.Group >= 0).GroupBy(e => e.Group).ToDictionary(g => g.Key, g => (uint)g.Count());
        foreach (var k in expected.Keys.ToList())
            if (expected[k].Group >= 0) expected[k] = expected[k] with { Nlink = groupSizes[expected[k].Group] };

        string img = Path.Combine(_trees.NewFolder("out" + seed), "r.daxfs");
        var format = seed > 12 ? DaxFsFormat.Format8 : DaxFsFormat.Format5;
        var mode = format == DaxFsFormat.Format8 ? (seed % 2 == 0 ? DaxFsImageMode.Static : DaxFsImageMode.Split) : (DaxFsImageMode)(seed % 3);
        string? back = mode == DaxFsImageMode.Split ? img + ".data" : null;
        new ImageBuilder(new ImageBuildOptions { SourcePath = root, Destination = img, Format = format, Mode = mode, BackingFile = back }).Build();

        using var reader = DaxFsImageReader.Open(img, back);
        var actual = new SortedDictionary<string, Entry>(StringComparer.Ordinal);
        var inoGroups = new Dictionary<uint, List<string>>();
        void Walk(uint dir, string key)
        {
            foreach (var e in reader.ReadDirectory(dir))
            {
                string k = key + "/" + Encoding.Latin1.GetString(e.NameBytes);
                var n = reader.GetInode(e.Ino);
                Assert.Equal(n.Mode, e.Mode);
                switch (n.Mode & DaxFsConstants.S_IFMT)
                {
                    case DaxFsConstants.S_IFDIR:
                        actual[k] = new Entry('d', n.Mode & 0xFFF, 0, null, null, -1, n.Nlink);
                        Walk(e.Ino, k);
                        break;
                    case DaxFsConstants.S_IFLNK:
                        actual[k] = new Entry('l', n.Mode & 0xFFF, (long)n.Size, null, Encoding.Latin1.GetString(reader.ReadSymlinkTarget(e.Ino)), -1, n.Nlink);
                        break;
                    default:
                        using (var s = reader.OpenContent(e.Ino))
                            actual[k] = new Entry('f', n.Mode & 0xFFF, (long)n.Size, Convert.ToHexString(SHA256.HashData(s)), null, -1, n.Nlink);
                        if (!inoGroups.TryGetValue(e.Ino, out var l)) inoGroups[e.Ino] = l = new();
                        l.Add(k);
                        break;
                }
            }
        }
        Walk(1, "");
        // Group ids differ between the two sides; compare the partition of paths instead.
        foreach (var l in inoGroups.Values.Where(l => l.Count > 1))
        {
            var g = expected[l[0]].Group;
            Assert.True(g >= 0, $"{l[0]} shares an inode but was not hard-linked");
            Assert.Equal(expected.Where(e => e.Value.Group == g).Select(e => e.Key).Order(StringComparer.Ordinal), l.Order(StringComparer.Ordinal));
            foreach (var k in l) actual[k] = actual[k] with { Group = g };
        }
        Assert.Equal(expected.Keys, actual.Keys);
        foreach (var (k, e) in expected) Assert.True(e == actual[k], $"{Hex(k)}: expected {e}, got {actual[k]}");
        Assert.Equal(2u + (uint)subdirs[""], reader.GetInode(1).Nlink);
        if (format == DaxFsFormat.Format8)
        {
            // Format 8 dropped format 5's link-count rules: a DaxFs image has nothing for the validator to say.
            using var mem = MappedFileImageMemory.Open(img);
            var findings = DaxFs.Core.Validate.ImageValidator.Validate(mem, new DaxFs.Core.Validate.ValidationOptions { BackingFileLength = back is null ? null : new FileInfo(back).Length });
            Assert.True(findings.Count == 0, string.Join("\n", findings));
        }
    }

    private static string Hex(string latin1) => Convert.ToHexString(Encoding.Latin1.GetBytes(latin1));

    private static byte[] Concat(params byte[][] parts) => parts.SelectMany(p => p).ToArray();

    /// <summary>1–255 bytes from 1..255 without '/', never "." or "..".</summary>
    private static byte[] RandomName(Random rng)
    {
        int len = rng.Next(8) switch { 0 => 255, 1 => rng.Next(200, 256), _ => rng.Next(1, 16) };
        var b = new byte[len];
        for (int i = 0; i < len; i++)
        {
            byte c;
            do c = (byte)rng.Next(1, 256); while (c == (byte)'/');
            b[i] = c;
        }
        if (len <= 2 && b.All(x => x == (byte)'.')) b[0] = (byte)'x';
        return b;
    }

    private static byte[] RandomTarget(Random rng)
    {
        int len = rng.Next(1, 300);
        var b = new byte[len];
        for (int i = 0; i < len; i++) b[i] = (byte)rng.Next(1, 256);
        return b;
    }
}
