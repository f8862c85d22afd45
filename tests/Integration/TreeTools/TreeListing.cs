using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace DaxFs.TreeTools;

/// <summary>Raw name bytes as text that keeps every byte apart.</summary>
public static class Names
{
    /// <summary>
    /// Printable ASCII and well-formed, non-control UTF-8 scalars stay as they are; a backslash becomes "\\"; every
    /// other byte (controls, bytes of ill-formed UTF-8: lone or overlong sequences, surrogates) becomes "\xNN". Two
    /// different byte strings never give the same text.
    /// </summary>
    public static string Escape(ReadOnlySpan<byte> bytes)
    {
        var sb = new StringBuilder(bytes.Length);
        int i = 0;
        while (i < bytes.Length)
        {
            byte c = bytes[i];
            if (c == (byte)'\\') { sb.Append(@"\\"); i++; continue; }
            if (c is >= 0x20 and < 0x7f) { sb.Append((char)c); i++; continue; }
            if (c >= 0x80 && Rune.DecodeFromUtf8(bytes[i..], out Rune r, out int n) == OperationStatus.Done && !Rune.IsControl(r))
            {
                sb.Append(r.ToString());
                i += n;
                continue;
            }
            sb.Append("\\x").Append(c.ToString("x2"));
            i++;
        }
        return sb.ToString();
    }

    /// <summary>The raw bytes of an <see cref="Escape"/>d name.</summary>
    public static byte[] Unescape(string escaped)
    {
        var bytes = new List<byte>(escaped.Length);
        Span<byte> utf8 = stackalloc byte[4];
        for (int i = 0; i < escaped.Length; i++)
        {
            char c = escaped[i];
            if (c == '\\' && i + 1 < escaped.Length && escaped[i + 1] == '\\') { bytes.Add((byte)'\\'); i++; continue; }
            if (c == '\\' && i + 3 < escaped.Length && escaped[i + 1] == 'x') { bytes.Add(Convert.ToByte(escaped.Substring(i + 2, 2), 16)); i += 3; continue; }
            var rune = Rune.GetRuneAt(escaped, i);
            int n = rune.EncodeToUtf8(utf8);
            for (int k = 0; k < n; k++) bytes.Add(utf8[k]);
            i += rune.Utf16SequenceLength - 1;
        }
        return bytes.ToArray();
    }

    /// <summary>
    /// An <see cref="Escape"/>d name as the cmdlets show it (Get-DaxFsItem's FullName and Target): its bytes decoded as
    /// UTF-8, each ill-formed sequence as U+FFFD.
    /// </summary>
    public static string Display(string escaped) => Encoding.UTF8.GetString(Unescape(escaped));
}

/// <summary>One entry of a tree listing. Paths and symlink targets are <see cref="Names.Escape"/>d; the root is "/".</summary>
public sealed record TreeEntry
{
    public required string Path { get; init; }
    /// <summary>dir, file, symlink, or other (fifo, device, socket).</summary>
    public required string Type { get; init; }
    /// <summary>Permission bits with setuid, setgid and sticky (mode &amp; 07777).</summary>
    public int Mode { get; init; }
    public uint Uid { get; init; }
    public uint Gid { get; init; }
    /// <summary>Bytes of a file, or of a symlink's target; not compared for directories.</summary>
    public long Size { get; init; }
    public ulong Nlink { get; init; }
    /// <summary>Inode number: only meaningful inside one listing (it makes the link groups).</summary>
    public ulong Inode { get; init; }
    /// <summary>SHA-256 of a file's content, lower-case hex.</summary>
    public string? Sha256 { get; init; }
    public string? Target { get; init; }
    /// <summary>For files that share their inode with another path of the listing: the smallest such path (ordinal).</summary>
    public string? LinkGroup { get; init; }
}

/// <summary>Lists trees, stores listings as JSON, and compares two listings.</summary>
public static class TreeListing
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = false };

    /// <summary>
    /// Every entry under <paramref name="root"/> (the root included, as "/"), in pre-order with each directory's names in
    /// ordinal byte order. Reads every file's content for its hash.
    /// </summary>
    public static IReadOnlyList<TreeEntry> List(string root)
    {
        var entries = new List<(TreeEntry Entry, ulong Device)>();
        byte[] rootBytes = Encoding.UTF8.GetBytes(root);
        int rootFd = Native.OpenAt(Native.AT_FDCWD, rootBytes, Native.O_RDONLY | Native.O_DIRECTORY);
        try
        {
            var st = Native.Stat(rootFd, ReadOnlySpan<byte>.Empty);
            entries.Add((Make("/", st, null, null), st.Device));
            Walk(rootFd, "", entries);
        }
        finally { Native.close(rootFd); }

        // Hard-link groups: files that share (device, inode).
        var groups = entries.Where(e => e.Entry.Type == "file").GroupBy(e => (e.Device, e.Entry.Inode)).Where(g => g.Count() > 1)
            .ToDictionary(g => g.Key, g => g.Select(e => e.Entry.Path).Min(StringComparer.Ordinal));
        return entries.Select(e => e.Entry.Type == "file" && groups.TryGetValue((e.Device, e.Entry.Inode), out var g) ? e.Entry with { LinkGroup = g } : e.Entry)
            .ToList();
    }

    /// <summary>What <see cref="ReadAll"/> read.</summary>
    /// <param name="Unreachable">Names a directory listed that a lookup then did not find (ENOENT).</param>
    public sealed record ReadSummary(int Entries, int Files, long Bytes, int Unreachable, IReadOnlyList<string> UnreachableNames);

    /// <summary>
    /// Reads a mounted tree in full, as <see cref="List"/> does (every directory listed, every name's attributes, every
    /// file's bytes, every symlink's target), but a name that readdir lists and a lookup does not find (ENOENT) is counted,
    /// not an error: the kernel shows such names in branches after some renames and deletes of hard-linked files (about_DaxFs).
    /// Any other failure throws.
    /// </summary>
    public static ReadSummary ReadAll(string root)
    {
        int entries = 1, files = 0, unreachable = 0;
        long bytes = 0;
        var missing = new List<string>();
        void Visit(int dirFd, string prefix)
        {
            int dup = Native.OpenAt(dirFd, "."u8, Native.O_RDONLY | Native.O_DIRECTORY);
            foreach (var name in Native.ReadDirectory(dup, Encoding.UTF8.GetBytes(prefix.Length == 0 ? "/" : prefix)))
            {
                string path = prefix + "/" + Names.Escape(name);
                try
                {
                    var st = Native.Stat(dirFd, name);
                    entries++;
                    switch (st.Mode & Native.S_IFMT)
                    {
                        case Native.S_IFDIR:
                            int child = Native.OpenAt(dirFd, name, Native.O_RDONLY | Native.O_DIRECTORY | Native.O_NOFOLLOW);
                            try { Visit(child, path); }
                            finally { Native.close(child); }
                            break;
                        case Native.S_IFLNK:
                            Native.ReadLink(dirFd, name);
                            break;
                        case Native.S_IFREG:
                            Hash(dirFd, name);
                            files++;
                            bytes += (long)st.Size;
                            break;
                    }
                }
                catch (NativeCallException e) when (e.Errno == Native.ENOENT)
                {
                    unreachable++;
                    if (missing.Count < 10) missing.Add(path);
                }
            }
        }
        int rootFd = Native.OpenAt(Native.AT_FDCWD, Encoding.UTF8.GetBytes(root), Native.O_RDONLY | Native.O_DIRECTORY);
        try { Visit(rootFd, ""); }
        finally { Native.close(rootFd); }
        return new ReadSummary(entries, files, bytes, unreachable, missing);
    }

    private static void Walk(int dirFd, string prefix, List<(TreeEntry, ulong)> entries)
    {
        int dup = Native.OpenAt(dirFd, "."u8, Native.O_RDONLY | Native.O_DIRECTORY);
        var names = Native.ReadDirectory(dup, Encoding.UTF8.GetBytes(prefix.Length == 0 ? "/" : prefix));
        names.Sort((a, b) => a.AsSpan().SequenceCompareTo(b));
        foreach (var name in names)
        {
            string path = prefix + "/" + Names.Escape(name);
            var st = Native.Stat(dirFd, name);
            switch (st.Mode & Native.S_IFMT)
            {
                case Native.S_IFDIR:
                    entries.Add((Make(path, st, null, null), st.Device));
                    int child = Native.OpenAt(dirFd, name, Native.O_RDONLY | Native.O_DIRECTORY | Native.O_NOFOLLOW);
                    try { Walk(child, path, entries); }
                    finally { Native.close(child); }
                    break;
                case Native.S_IFLNK:
                    entries.Add((Make(path, st, null, Names.Escape(Native.ReadLink(dirFd, name))), st.Device));
                    break;
                case Native.S_IFREG:
                    entries.Add((Make(path, st, Hash(dirFd, name), null), st.Device));
                    break;
                default:
                    entries.Add((Make(path, st, null, null), st.Device));
                    break;
            }
        }
    }

    private static TreeEntry Make(string path, StatxInfo st, string? sha, string? target) => new()
    {
        Path = path,
        Type = (st.Mode & Native.S_IFMT) switch { Native.S_IFDIR => "dir", Native.S_IFREG => "file", Native.S_IFLNK => "symlink", _ => "other" },
        Mode = (int)(st.Mode & 0xFFF),
        Uid = st.Uid,
        Gid = st.Gid,
        Size = (long)st.Size,
        Nlink = st.Nlink,
        Inode = st.Inode,
        Sha256 = sha,
        Target = target,
    };

    private static string Hash(int dirFd, byte[] name)
    {
        int fd = Native.OpenAt(dirFd, name, Native.O_RDONLY | Native.O_NOFOLLOW);
        try
        {
            using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            Native.ReadAll(fd, sha, name);
            return Convert.ToHexString(sha.GetHashAndReset()).ToLowerInvariant();
        }
        finally { Native.close(fd); }
    }

    public static void Save(IReadOnlyList<TreeEntry> listing, string path) => File.WriteAllText(path, JsonSerializer.Serialize(listing, Json));

    public static IReadOnlyList<TreeEntry> Load(string path) =>
        JsonSerializer.Deserialize<List<TreeEntry>>(File.ReadAllText(path), Json) ?? throw new InvalidDataException($"{path} holds no listing.");

    /// <summary>
    /// What differs between two listings, one line per difference (empty when they agree): paths missing or unexpected,
    /// and per path its type, mode, owner, size (not for directories), content hash, symlink target, link group and link
    /// count. A directory's link count is checked against 2 + its subdirectories in <paramref name="expected"/> (what the
    /// source file system reports varies); inode numbers are never compared, only the groups they make.
    /// </summary>
    public static IReadOnlyList<string> Compare(IReadOnlyList<TreeEntry> expected, IReadOnlyList<TreeEntry> actual, int limit = 50)
    {
        var diff = new List<string>();
        var got = new Dictionary<string, TreeEntry>(StringComparer.Ordinal);
        foreach (var e in actual)
            if (!got.TryAdd(e.Path, e)) diff.Add($"{e.Path}: listed twice");
        var subdirs = expected.Where(e => e.Type == "dir" && e.Path != "/")
            .GroupBy(e => Parent(e.Path), StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        var want = new HashSet<string>(StringComparer.Ordinal);
        foreach (var e in expected)
        {
            want.Add(e.Path);
            if (!got.TryGetValue(e.Path, out var a)) { diff.Add($"{e.Path}: missing ({e.Type})"); continue; }
            void Check<T>(string field, T x, T y) { if (!EqualityComparer<T>.Default.Equals(x, y)) diff.Add($"{e.Path}: {field} expected {Show(x)}, got {Show(y)}"); }
            Check("type", e.Type, a.Type);
            if (e.Type != a.Type) continue;
            Check("mode", Convert.ToString(e.Mode, 8).PadLeft(4, '0'), Convert.ToString(a.Mode, 8).PadLeft(4, '0'));
            Check("uid", e.Uid, a.Uid);
            Check("gid", e.Gid, a.Gid);
            if (e.Type != "dir") Check("size", e.Size, a.Size);
            Check("sha256", e.Sha256, a.Sha256);
            Check("target", e.Target, a.Target);
            Check("link group", e.LinkGroup, a.LinkGroup);
            Check("nlink", e.Type == "dir" ? 2UL + (ulong)subdirs.GetValueOrDefault(e.Path) : e.Nlink, a.Nlink);
        }
        foreach (var a in actual)
            if (!want.Contains(a.Path)) diff.Add($"{a.Path}: unexpected ({a.Type})");
        return diff.Count <= limit ? diff : diff.Take(limit).Append($"… and {diff.Count - limit} more differences").ToList();
    }

    private static string Parent(string path)
    {
        int i = path.LastIndexOf('/');
        return i <= 0 ? "/" : path[..i];
    }

    private static string Show<T>(T v) => v is null ? "(none)" : v is string s ? $"'{s}'" : v.ToString()!;
}
