using System.Globalization;
using System.Text.RegularExpressions;
using DaxFs.Core.Linux;

namespace DaxFs.Core.Build;

/// <summary>A temporary file of an earlier build found beside a destination.</summary>
/// <param name="Path">The file.</param>
/// <param name="Length">Its length in bytes.</param>
/// <param name="ProcessId">The pid its name carries (null for names of DaxFs versions before pids were in them).</param>
/// <param name="Removed">True when it was removed: its name carries the pid and start time of a process that no longer runs,
/// and this user owns it. False when it could not be proven stale (it is only reported).</param>
public sealed record StaleTemporaryFile(string Path, long Length, int? ProcessId, bool Removed);

/// <summary>
/// Names of the temporary files an image is built in (beside its destination, renamed into place when whole) and the
/// removal of those that a killed build left behind. A name is <c>.NAME.PID-START.RANDOM.tmp</c>: the building process's
/// pid and its start time (field 22 of /proc/PID/stat, clock ticks since boot), so that a later build can prove the
/// builder is gone (no such pid, or a pid reused by a process that started at another time) before it removes the file.
/// </summary>
public static class StaleTemporaryFiles
{
    private static readonly Lazy<string> s_self = new(() => $"{Environment.ProcessId}-{StartTime(Environment.ProcessId) ?? 0}");

    /// <summary>A new temporary file name for <paramref name="destination"/> (a full path beside it).</summary>
    public static string NewName(string destination)
    {
        string dir = System.IO.Path.GetDirectoryName(destination)!;
        string random = Convert.ToHexString(Guid.NewGuid().ToByteArray(), 0, 6).ToLowerInvariant();
        return System.IO.Path.Combine(dir, $".{System.IO.Path.GetFileName(destination)}.{s_self.Value}.{random}.tmp");
    }

    /// <summary>
    /// Finds the temporary files of earlier builds of <paramref name="destination"/>: removes those whose builder provably no
    /// longer runs (and that this user owns), reports those it cannot prove stale (names without a pid, from older DaxFs).
    /// Files of builds still running are left alone and not listed.
    /// </summary>
    public static IReadOnlyList<StaleTemporaryFile> Clean(string destination)
    {
        string full = System.IO.Path.GetFullPath(destination);
        string dir = System.IO.Path.GetDirectoryName(full)!;
        string name = Regex.Escape(System.IO.Path.GetFileName(full));
        var withPid = new Regex($@"^\.{name}\.(\d+)-(\d+)\.[0-9a-f]{{12}}\.tmp$", RegexOptions.CultureInvariant);
        var legacy = new Regex($@"^\.{name}\.[0-9a-f]{{12}}\.tmp$", RegexOptions.CultureInvariant);
        var found = new List<StaleTemporaryFile>();
        IEnumerable<string> candidates;
        try { candidates = Directory.EnumerateFiles(dir, "." + System.IO.Path.GetFileName(full) + ".*.tmp").ToList(); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { return found; }
        foreach (var path in candidates)
        {
            string file = System.IO.Path.GetFileName(path);
            if (!Syscalls.Stat(Syscalls.AT_FDCWD, System.Text.Encoding.UTF8.GetBytes(path), out var st) || !st.IsRegular) continue;
            var m = withPid.Match(file);
            if (m.Success)
            {
                if (!int.TryParse(m.Groups[1].Value, NumberStyles.None, CultureInfo.InvariantCulture, out int pid) ||
                    !ulong.TryParse(m.Groups[2].Value, NumberStyles.None, CultureInfo.InvariantCulture, out ulong start)) continue;
                if (StartTime(pid) is { } now && now == start) continue; // its build is still running
                bool ours = st.Uid == Linux.Syscalls.geteuid();
                bool removed = false;
                if (ours)
                {
                    try { File.Delete(path); removed = true; }
                    catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { }
                }
                found.Add(new StaleTemporaryFile(path, st.Size, pid, removed));
            }
            else if (legacy.IsMatch(file))
            {
                found.Add(new StaleTemporaryFile(path, st.Size, null, false));
            }
        }
        return found;
    }

    /// <summary>The start time of process <paramref name="pid"/> (field 22 of /proc/PID/stat), or null when it does not run.</summary>
    public static ulong? StartTime(int pid)
    {
        string text;
        try { text = File.ReadAllText($"/proc/{pid}/stat"); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { return null; }
        // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so count fields after the last ')'.
        int close = text.LastIndexOf(')');
        if (close < 0) return null;
        var fields = text[(close + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return fields.Length > 19 && ulong.TryParse(fields[19], NumberStyles.None, CultureInfo.InvariantCulture, out ulong t) ? t : null;
    }
}
