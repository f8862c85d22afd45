using System.Globalization;

namespace DaxFs;

/// <summary>Helpers the format views call; properties themselves stay numbers.</summary>
public static class Formatting
{
    private static readonly string[] s_units = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };

    /// <summary>A byte count as 1023 B, 4.0 KiB, 1.5 MiB …</summary>
    public static string Size(long bytes)
    {
        if (bytes < 1024) return bytes.ToString(CultureInfo.InvariantCulture) + " B";
        double v = bytes;
        int u = 0;
        while (v >= 1024 && u < s_units.Length - 1) { v /= 1024; u++; }
        return v.ToString(v < 10 ? "0.0" : "0", CultureInfo.InvariantCulture) + " " + s_units[u];
    }

    /// <summary>
    /// A path as a view shows it: ./NAME below <paramref name="currentDirectory"/> (what the operator typed, in most
    /// cases), the full path elsewhere.
    /// </summary>
    public static string DisplayPath(string? path, string? currentDirectory)
    {
        if (string.IsNullOrEmpty(path)) return string.Empty;
        if (string.IsNullOrEmpty(currentDirectory)) return path;
        string dir = currentDirectory.EndsWith('/') ? currentDirectory : currentDirectory + "/";
        return path.StartsWith(dir, StringComparison.Ordinal) && path.Length > dir.Length ? "./" + path[dir.Length..] : path;
    }

    /// <summary>An offset as 0x hex.</summary>
    public static string Hex(long value) => "0x" + value.ToString("x", CultureInfo.InvariantCulture);
}
