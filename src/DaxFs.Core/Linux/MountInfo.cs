using System.Globalization;
using System.Text;

namespace DaxFs.Core.Linux;

/// <summary>One line of /proc/self/mountinfo (see proc(5)).</summary>
public sealed record MountInfoEntry
{
    public int MountId { get; init; }
    public int ParentId { get; init; }
    /// <summary>"major:minor" of st_dev.</summary>
    public string Device { get; init; } = "";
    public string Root { get; init; } = "/";
    public string MountPoint { get; init; } = "";
    /// <summary>Per-mount options (rw/ro, nosuid, relatime…).</summary>
    public string MountOptions { get; init; } = "";
    public IReadOnlyList<string> OptionalFields { get; init; } = Array.Empty<string>();
    public string FileSystemType { get; init; } = "";
    public string Source { get; init; } = "";
    /// <summary>Per-superblock options as the file system shows them (daxfs: phys=…,size=…,static or branch=/main).</summary>
    public string SuperOptions { get; init; } = "";

    public bool ReadOnly => HasOption(MountOptions, "ro") || HasOption(SuperOptions, "ro");

    /// <summary>The super options as key → value (null for flags), in order.</summary>
    public IReadOnlyList<KeyValuePair<string, string?>> SuperOptionList => MountInfo.SplitOptions(SuperOptions);

    private static bool HasOption(string options, string name) => options.Split(',').Contains(name, StringComparer.Ordinal);
}

/// <summary>Parses /proc/self/mountinfo, including the octal escapes (\040 space, \011 tab, \012 newline, \134 backslash).</summary>
public static class MountInfo
{
    public static IReadOnlyList<MountInfoEntry> Read(string path = "/proc/self/mountinfo") => Parse(File.ReadAllText(path));

    public static IReadOnlyList<MountInfoEntry> Parse(string text)
    {
        var list = new List<MountInfoEntry>();
        foreach (var raw in text.Split('\n'))
        {
            string line = raw.TrimEnd('\r');
            if (line.Length == 0) continue;
            var e = ParseLine(line);
            if (e is not null) list.Add(e);
        }
        return list;
    }

    /// <summary>One line, or null when it is not in mountinfo's shape.</summary>
    public static MountInfoEntry? ParseLine(string line)
    {
        var f = line.Split(' ');
        if (f.Length < 10) return null;
        int sep = Array.IndexOf(f, "-", 6);
        if (sep < 6 || f.Length < sep + 3) return null;
        if (!int.TryParse(f[0], NumberStyles.None, CultureInfo.InvariantCulture, out int id) ||
            !int.TryParse(f[1], NumberStyles.None, CultureInfo.InvariantCulture, out int parent)) return null;
        return new MountInfoEntry
        {
            MountId = id,
            ParentId = parent,
            Device = f[2],
            Root = Unescape(f[3]),
            MountPoint = Unescape(f[4]),
            MountOptions = f[5],
            OptionalFields = f[6..sep],
            FileSystemType = Unescape(f[sep + 1]),
            Source = Unescape(f[sep + 2]),
            SuperOptions = f.Length > sep + 3 ? Unescape(string.Join(' ', f[(sep + 3)..])) : "",
        };
    }

    /// <summary>Undoes the kernel's octal escapes (mangle(): space, tab, newline, backslash, and # in some fields).</summary>
    public static string Unescape(string s)
    {
        if (s.IndexOf('\\') < 0) return s;
        var bytes = new List<byte>(s.Length);
        var utf8 = Encoding.UTF8.GetBytes(s);
        for (int i = 0; i < utf8.Length; i++)
        {
            if (utf8[i] == (byte)'\\' && i + 3 < utf8.Length &&
                IsOctal(utf8, i + 1) && IsOctal(utf8, i + 2) && IsOctal(utf8, i + 3))
            {
                int v = (utf8[i + 1] - '0') * 64 + (utf8[i + 2] - '0') * 8 + (utf8[i + 3] - '0');
                if (v <= 255) { bytes.Add((byte)v); i += 3; continue; }
            }
            bytes.Add(utf8[i]);
        }
        return Encoding.UTF8.GetString(bytes.ToArray());

        static bool IsOctal(byte[] b, int i) => i < b.Length && b[i] >= '0' && b[i] <= '7';
    }

    /// <summary>The escape the kernel applies to paths in mountinfo (for tests and fakes).</summary>
    public static string Escape(string s)
    {
        var sb = new StringBuilder(s.Length);
        foreach (char c in s)
        {
            if (c is ' ' or '\t' or '\n' or '\\') sb.Append('\\').Append(Convert.ToString(c, 8).PadLeft(3, '0'));
            else sb.Append(c);
        }
        return sb.ToString();
    }

    /// <summary>"a=1,b,c=x" → [(a,1),(b,null),(c,x)].</summary>
    public static IReadOnlyList<KeyValuePair<string, string?>> SplitOptions(string options)
    {
        var list = new List<KeyValuePair<string, string?>>();
        foreach (var part in options.Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            int eq = part.IndexOf('=');
            list.Add(eq < 0 ? new(part, null) : new(part[..eq], part[(eq + 1)..]));
        }
        return list;
    }

    /// <summary>The innermost mount whose mount point is <paramref name="path"/> exactly (the last one listed wins).</summary>
    public static MountInfoEntry? FindMountAt(IEnumerable<MountInfoEntry> entries, string path)
    {
        string p = NormalizePath(path);
        return entries.LastOrDefault(e => e.MountPoint == p);
    }

    public static string NormalizePath(string path)
    {
        string p = Path.GetFullPath(path);
        return p.Length > 1 ? p.TrimEnd('/') : p;
    }
}
