using System.Globalization;

namespace DaxFs.Core.Linux;

/// <summary>
/// Read access to the kernel's attribute files (/sys) under an injectable root, so tests use a fake tree in a temp
/// folder. Paths are absolute as on a real system ("/sys/bus/dax/devices/dax0.0/size").
/// </summary>
public interface ISysfs
{
    /// <summary>The folder that plays "/" (default "/").</summary>
    string Root { get; }

    /// <summary>True when the file or folder exists.</summary>
    bool Exists(string path);

    /// <summary>The file's text without the trailing newline, or null when it does not exist.
    /// Throws <see cref="UnauthorizedAccessException"/> when it exists but is not readable (e.g. root-only attributes).</summary>
    string? ReadText(string path);

    /// <summary>Names of the entries (files, folders, links) in a folder; empty when it does not exist.</summary>
    IReadOnlyList<string> List(string directory);

    /// <summary>The name a symbolic link points at (its last path element), or null when not a link.</summary>
    string? LinkTargetName(string path);
}

/// <summary>The real /sys, or a fake tree with the same layout under another root.</summary>
public sealed class SysfsTree : ISysfs
{
    public SysfsTree(string root = "/") { Root = string.IsNullOrEmpty(root) ? "/" : root; }

    public string Root { get; }

    /// <summary>The real path of an absolute system path under <see cref="Root"/>.</summary>
    public string Map(string path) => Root == "/" ? path : Path.Combine(Root, path.TrimStart('/'));

    public bool Exists(string path)
    {
        string p = Map(path);
        return File.Exists(p) || Directory.Exists(p);
    }

    public string? ReadText(string path)
    {
        string p = Map(path);
        try { return File.ReadAllText(p).TrimEnd('\n', '\r', ' ', '\t', '\0'); }
        catch (FileNotFoundException) { return null; }
        catch (DirectoryNotFoundException) { return null; }
        catch (IOException) when (Directory.Exists(p)) { return null; }
    }

    public IReadOnlyList<string> List(string directory)
    {
        string p = Map(directory);
        if (!Directory.Exists(p)) return Array.Empty<string>();
        try
        {
            var names = Directory.EnumerateFileSystemEntries(p).Select(e => Path.GetFileName(e)).ToList();
            names.Sort(NaturalComparer.Instance);
            return names;
        }
        catch (IOException) { return Array.Empty<string>(); }
        catch (UnauthorizedAccessException) { return Array.Empty<string>(); }
    }

    public string? LinkTargetName(string path)
    {
        try
        {
            var info = new FileInfo(Map(path));
            string? target = info.LinkTarget;
            return target is null ? null : Path.GetFileName(target.TrimEnd('/'));
        }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }
}

/// <summary>Reads typed values from sysfs attribute text.</summary>
public static class SysfsValues
{
    /// <summary>Decimal, or hex with 0x (sysfs "resource" files print 0x…).</summary>
    public static bool TryParseUInt64(string? text, out ulong value)
    {
        value = 0;
        if (string.IsNullOrWhiteSpace(text)) return false;
        string t = text.Trim();
        if (t.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
            return ulong.TryParse(t.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value);
        return ulong.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out value);
    }

    public static bool TryParseInt32(string? text, out int value)
    {
        value = 0;
        return !string.IsNullOrWhiteSpace(text) && int.TryParse(text.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value);
    }
}

/// <summary>Orders "dax0.10" after "dax0.9", "mapping10" after "mapping2".</summary>
public sealed class NaturalComparer : IComparer<string>
{
    public static NaturalComparer Instance { get; } = new();

    public int Compare(string? x, string? y)
    {
        if (x is null || y is null) return string.CompareOrdinal(x, y);
        int i = 0, j = 0;
        while (i < x.Length && j < y.Length)
        {
            if (char.IsAsciiDigit(x[i]) && char.IsAsciiDigit(y[j]))
            {
                int si = i, sj = j;
                while (i < x.Length && char.IsAsciiDigit(x[i])) i++;
                while (j < y.Length && char.IsAsciiDigit(y[j])) j++;
                var a = x.AsSpan(si, i - si).TrimStart('0');
                var b = y.AsSpan(sj, j - sj).TrimStart('0');
                if (a.Length != b.Length) return a.Length.CompareTo(b.Length);
                int c = a.SequenceCompareTo(b);
                if (c != 0) return c;
            }
            else
            {
                if (x[i] != y[j]) return x[i].CompareTo(y[j]);
                i++; j++;
            }
        }
        return (x.Length - i).CompareTo(y.Length - j);
    }
}
