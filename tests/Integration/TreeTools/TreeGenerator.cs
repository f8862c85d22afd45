using System.Text;

namespace DaxFs.TreeTools;

/// <summary>
/// Makes source trees from fixed seeds, so that a failure replays: the same profile and seed give the same names, modes,
/// owners, links and bytes on every machine (System.Random with a seed is stable across .NET versions).
/// Profiles: names (every byte a name may hold, ill-formed UTF-8, 255-byte names, odd symlink targets up to 4095 bytes),
/// modes (all 4096 permission combinations, setuid/setgid/sticky directories, many owners), shape (deep and wide
/// directories, hard-link groups, empty files and directories, sizes around 4 KiB and 1 MiB boundaries), mixed (a random
/// mixture of everything). As root, owners are set and modes are exactly as planned; otherwise owners stay the caller's
/// and files keep u+r, directories u+rx (so the tree can be read back).
/// </summary>
public sealed class TreeGenerator
{
    public static readonly string[] Profiles = { "names", "modes", "shape", "mixed" };

    private static readonly uint[] Owners = { 0, 1, 2, 999, 1000, 1234, 5678, 65533, 65534, 65535, 65536, 100000, 2147483647, 2147483648, 4294967294 };

    private readonly int _root;
    private readonly Random _rng;
    private readonly bool _asRoot = Native.geteuid() == 0;
    private readonly List<(byte[] Path, uint Mode)> _dirModes = new();
    private readonly List<byte[]> _files = new();
    private int _entries;

    private TreeGenerator(int rootFd, int seed) { _root = rootFd; _rng = new Random(seed); }

    /// <summary>Creates <paramref name="path"/> (which must not exist) and fills it; returns the number of entries made.</summary>
    public static int Create(string path, string profile, int seed)
    {
        if (Directory.Exists(path) || System.IO.File.Exists(path)) throw new IOException($"{path} exists already: the generator fills a new directory.");
        Directory.CreateDirectory(path);
        int fd = Native.OpenAt(Native.AT_FDCWD, Encoding.UTF8.GetBytes(path), Native.O_RDONLY | Native.O_DIRECTORY);
        try
        {
            var g = new TreeGenerator(fd, seed);
            switch (profile)
            {
                case "names": g.NameProfile(); break;
                case "modes": g.ModeProfile(); break;
                case "shape": g.ShapeProfile(); break;
                case "mixed": g.MixedProfile(); break;
                default: throw new ArgumentException($"No profile '{profile}'; profiles: {string.Join(", ", Profiles)}.", nameof(profile));
            }
            g.Finish();
            return g._entries;
        }
        finally { Native.close(fd); }
    }

    // ---- profiles ----

    private void NameProfile()
    {
        // Each byte but '/' and NUL as a name of its own ("." alone is not a name: it appears as ".x" below).
        for (int b = 1; b < 256; b++)
            if (b != '/' && b != '.') File(new[] { (byte)b }, RandomBytes(_rng.Next(0, 64)));
        // All of them again, sixteen to a name.
        Dir(B("all"), 0x1ED);
        for (int start = 1; start < 256; start += 16)
        {
            var name = Enumerable.Range(start, Math.Min(16, 256 - start)).Where(b => b != '/').Select(b => (byte)b).ToArray();
            File(Cat(B("all/"), name), RandomBytes(_rng.Next(0, 300)));
        }
        foreach (var n in new[] { "...", ".x", "..x", "-rf", " lead", "trail ", "*?[]", "a b\tc", "é", "e\u0301", "😀", "日本語", "Ünïcödé" })
            File(B(n), B(n));
        // Ill-formed UTF-8: a lone lead byte, an overlong '/', a surrogate, beyond U+10FFFF, a lone continuation, ff fe.
        foreach (var n in new byte[][] { new byte[] { 0xc3 }, new byte[] { 0xc0, 0xaf }, new byte[] { 0xed, 0xa0, 0x80 },
                     new byte[] { 0xf4, 0x90, 0x80, 0x80 }, new byte[] { 0x80 }, new byte[] { 0xff, 0xfe }, new byte[] { 0xfe, 0xff, (byte)'x' } })
            File(Cat(B("bad-"), n), n);
        // 255-byte names: three-byte characters, two-byte characters, and raw bytes.
        File(B(string.Concat(Enumerable.Repeat("日", 85))), RandomBytes(10));
        File(B(string.Concat(Enumerable.Repeat("é", 127)) + "x"), RandomBytes(10));
        File(RandomName(255, 255), RandomBytes(10));
        // A directory with a raw 255-byte name full of raw names.
        var dir = RandomName(255, 255);
        Dir(dir, 0x1ED);
        var used = new HashSet<string>();
        for (int i = 0; i < 40; i++)
        {
            var n = RandomName(1, 255);
            if (used.Add(Convert.ToHexString(n))) File(Cat(dir, B("/"), n), RandomBytes(_rng.Next(0, 5000)));
        }
        // Symlink targets: raw bytes, relative, absolute, and every length up to PATH_MAX − 1.
        Dir(B("targets"), 0x1ED);
        Symlink(B("targets/raw"), new byte[] { 0xff, (byte)'/', 0xc3, (byte)'x', 0x01 });
        Symlink(B("targets/rel"), B("../../x y/z"));
        Symlink(B("targets/root"), B("/"));
        Symlink(B("targets/dot"), B("."));
        foreach (int len in new[] { 1, 255, 1023, 4094, 4095 })
            Symlink(B($"targets/len{len}"), Enumerable.Range(0, len).Select(_ => (byte)_rng.Next(1, 256)).ToArray());
    }

    private void ModeProfile()
    {
        // Every one of the 4096 permission combinations, on files with varied owners.
        Dir(B("files"), 0x1ED);
        for (uint m = 0; m < 0x1000; m++)
        {
            var data = m % 97 == 0 ? RandomBytes(_rng.Next(1, 5000)) : Array.Empty<byte>();
            File(B($"files/f{Convert.ToString(m, 8).PadLeft(4, '0')}"), data, m, Owners[(m * 7) % Owners.Length], Owners[(m * 13) % Owners.Length]);
        }
        // Directories with special bits and closed modes, each holding a file and a directory.
        Dir(B("dirs"), 0x1ED);
        uint[] dirModes = { 0x000, 0x040, 0x0C0, 0x140, 0x16D, 0x1C0, 0x1C9, 0x1E8, 0x1ED, 0x1FF, 0x3FF, 0x3ED, 0x5ED, 0x5FD, 0x7FF, 0x9ED, 0xBED, 0xDED, 0xFFF, 0xE00 };
        for (int i = 0; i < dirModes.Length; i++)
        {
            string d = $"dirs/d{Convert.ToString(dirModes[i], 8).PadLeft(4, '0')}";
            Dir(B(d), dirModes[i], Owners[i % Owners.Length], Owners[(i + 5) % Owners.Length]);
            File(B(d + "/inside"), RandomBytes(_rng.Next(0, 100)), 0x1A4, Owners[(i + 1) % Owners.Length], Owners[(i + 2) % Owners.Length]);
            Dir(B(d + "/sub"), 0x1ED);
        }
        // Symlinks with owners of their own.
        Dir(B("links"), 0x1ED);
        for (int i = 0; i < 6; i++) Symlink(B($"links/l{i}"), B($"../files/f{i:0000}"), Owners[(i * 3) % Owners.Length], Owners[(i * 5 + 1) % Owners.Length]);
        SetRoot(0x1E8, 4321, 8765);
    }

    private void ShapeProfile()
    {
        // Deep: 100 short levels with a file every 10, and 14 levels of 255-byte names (a path near PATH_MAX).
        var p = B("deep");
        Dir(p, 0x1ED);
        for (int i = 0; i < 100; i++)
        {
            p = Cat(p, B($"/d{i:000}"));
            Dir(p, 0x1ED);
            if (i % 10 == 9) File(Cat(p, B("/f")), RandomBytes(i));
        }
        File(Cat(p, B("/leaf")), B("bottom\n"));
        p = B("long");
        Dir(p, 0x1ED);
        for (int i = 0; i < 14; i++)
        {
            p = Cat(p, B("/" + new string((char)('a' + i), 255)));
            Dir(p, 0x1ED);
        }
        File(Cat(p, B("/leaf")), RandomBytes(4097));
        // Wide: 2000 files and 100 directories in one directory.
        Dir(B("wide"), 0x1ED);
        for (int i = 0; i < 2000; i++) File(B($"wide/e{i:00000}"), RandomBytes(_rng.Next(0, 100)));
        for (int i = 0; i < 100; i++)
        {
            Dir(B($"wide/sub{i:000}"), 0x1ED);
            for (int j = _rng.Next(0, 4); j > 0; j--) File(B($"wide/sub{i:000}/x{j}"), RandomBytes(_rng.Next(0, 10)));
        }
        // Sizes around the 4 KiB block and 1 MiB / 2 MiB marks.
        Dir(B("sizes"), 0x1ED);
        foreach (int n in new[] { 0, 1, 2, 511, 512, 513, 4095, 4096, 4097, 8191, 8192, 8193, 12287, 12288, 12289, 16383, 16384, 16385,
                     65535, 65536, 65537, 1048575, 1048576, 1048577, 2097151, 2097152, 2097153 })
            File(B($"sizes/s-{n}"), RandomBytes(n));
        // Hard-link groups of 2 to 16 names across directories, over empty, small and block-straddling files.
        Dir(B("links"), 0x1ED);
        for (int x = 0; x < 3; x++) Dir(B($"links/x{x}"), 0x1ED);
        int[] groupSizes = { 2, 3, 5, 8, 16 };
        int[] fileSizes = { 0, 1, 4096, 4097, 12289 };
        for (int g = 0; g < groupSizes.Length; g++)
        {
            var first = B($"links/g{g}-0");
            File(first, RandomBytes(fileSizes[g]), g == 3 ? 0xDEDu : 0x1A4u);
            for (int j = 1; j < groupSizes[g]; j++) Link(first, B($"links/x{j % 3}/g{g}-{j}"));
        }
        Link(B("links/g1-0"), B("deep/d000/d001/linked"));
        // Empty files and directories.
        Dir(B("empty"), 0x1ED);
        Dir(B("empty/dir"), 0x1ED);
        Dir(B("empty/dir/inner"), 0x1ED);
        for (int i = 0; i < 10; i++) File(B($"empty/file-{i}"), Array.Empty<byte>());
    }

    private void MixedProfile()
    {
        int budget = 400;
        void Fill(byte[] dir, int depth)
        {
            int count = depth == 0 ? _rng.Next(10, 30) : _rng.Next(0, _rng.Next(2) == 0 ? 5 : 40);
            var used = new HashSet<string>();
            for (int i = 0; i < count && budget > 0; i++, budget--)
            {
                var name = _rng.Next(6) == 0 ? RandomName(200, 255) : RandomName(1, 16);
                if (!used.Add(Convert.ToHexString(name))) continue;
                var path = dir.Length == 0 ? name : Cat(dir, B("/"), name);
                int kind = _rng.Next(10);
                if (kind < 2 && depth < 10)
                {
                    Dir(path, (uint)_rng.Next(0, 0x1000), RandomOwner(), RandomOwner());
                    Fill(path, depth + 1);
                }
                else if (kind < 3)
                    Symlink(path, Enumerable.Range(0, _rng.Next(1, 300)).Select(_ => (byte)_rng.Next(1, 256)).ToArray(), RandomOwner(), RandomOwner());
                else if (kind < 4 && _files.Count > 0)
                    Link(_files[_rng.Next(_files.Count)], path);
                else
                {
                    int[] sizes = { 0, 1, 4095, 4096, 4097, 8192, 65537, 131073 };
                    int size = _rng.Next(3) == 0 ? _rng.Next(0, 100_000) : sizes[_rng.Next(sizes.Length)];
                    File(path, RandomBytes(size), (uint)_rng.Next(0, 0x1000), RandomOwner(), RandomOwner());
                }
            }
        }
        Fill(Array.Empty<byte>(), 0);
    }

    // ---- making entries ----

    private void Dir(byte[] path, uint mode, uint uid = 0, uint gid = 0)
    {
        Native.MkdirAt(_root, path, 0x1C0);
        if (_asRoot) Native.LchownAt(_root, path, uid, gid);
        _dirModes.Add((path, _asRoot ? mode : mode | 0x140));
        _entries++;
    }

    private void File(byte[] path, byte[] data, uint mode = 0x1A4, uint uid = 0, uint gid = 0)
    {
        int fd = Native.OpenAt(_root, path, Native.O_WRONLY | Native.O_CREAT | Native.O_EXCL, 0x180);
        try { Native.WriteAll(fd, data, path); }
        finally { Native.close(fd); }
        // chown before chmod: a change of owner clears setuid and setgid.
        if (_asRoot) Native.LchownAt(_root, path, uid, gid);
        Native.ChmodAt(_root, path, _asRoot ? mode : mode | 0x100);
        _files.Add(path);
        _entries++;
    }

    private void Symlink(byte[] path, byte[] target, uint uid = 0, uint gid = 0)
    {
        Native.SymlinkAt(target, _root, path);
        if (_asRoot) Native.LchownAt(_root, path, uid, gid);
        _entries++;
    }

    private void Link(byte[] from, byte[] to)
    {
        Native.LinkAt(_root, from, _root, to);
        _entries++;
    }

    private void SetRoot(uint mode, uint uid, uint gid)
    {
        if (_asRoot) Native.LchownAt(_root, "."u8, uid, gid);
        _dirModes.Insert(0, ("."u8.ToArray(), _asRoot ? mode : mode | 0x140));
    }

    /// <summary>Directory modes last, deepest first, so that no closed directory stood in the way while filling.</summary>
    private void Finish()
    {
        for (int i = _dirModes.Count - 1; i >= 0; i--) Native.ChmodAt(_root, _dirModes[i].Path, _dirModes[i].Mode);
    }

    // ---- bytes ----

    private byte[] RandomBytes(int n)
    {
        var b = new byte[n];
        _rng.NextBytes(b);
        return b;
    }

    /// <summary>A name of <paramref name="min"/>–<paramref name="max"/> bytes from 1..255 without '/', never "." or "..".</summary>
    private byte[] RandomName(int min, int max)
    {
        var b = new byte[_rng.Next(min, max + 1)];
        for (int i = 0; i < b.Length; i++)
        {
            byte c;
            do c = (byte)_rng.Next(1, 256); while (c == (byte)'/');
            b[i] = c;
        }
        if (b.Length <= 2 && b.All(x => x == (byte)'.')) b[0] = (byte)'x';
        return b;
    }

    private uint RandomOwner() => Owners[_rng.Next(Owners.Length)];

    private static byte[] B(string s) => Encoding.UTF8.GetBytes(s);

    private static byte[] Cat(params byte[][] parts) => parts.SelectMany(p => p).ToArray();
}
