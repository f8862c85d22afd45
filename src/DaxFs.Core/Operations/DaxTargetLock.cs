using DaxFs.Core.Errors;
using System.Globalization;
using System.Text;
using DaxFs.Core.Linux;
using Microsoft.Win32.SafeHandles;

namespace DaxFs.Core.Operations;

/// <summary>
/// An advisory lock on the node behind a memory target (flock(2) on /dev/dax0.0, /dev/pmem0, /dev/mem or an image file),
/// so that two DaxFs processes never interleave on one target: a writer (Write-DaxFsImage) holds it exclusively, readers
/// that must see a whole image (Mount-DaxFs's gate and mount, Save-DaxFsImage) hold it shared. A second operation that
/// cannot have it is refused at once (<see cref="DaxErrorKind.TargetInUse"/>, error id <c>TargetInUse</c>) with the
/// holder's pid and command line, which /proc/locks gives for flock locks. The lock goes with the process: a killed
/// writer leaves none behind. Dma-bufs (one process's fd) are not locked.
/// </summary>
/// <remarks>flock locks the whole node: on /dev/mem two writes to different physical ranges also exclude each other.</remarks>
public sealed class DaxTargetLock : IDisposable
{
    private const int O_NONBLOCK = 0x800; // the same on x86-64 and arm64
    private readonly SafeFileHandle? _fd;

    private DaxTargetLock(SafeFileHandle? fd) { _fd = fd; }

    /// <summary>True when a lock is held (false for dma-bufs and nodes that cannot be locked or opened).</summary>
    public bool IsHeld => _fd is not null;

    /// <summary>
    /// Takes the lock on <paramref name="target"/>'s node, exclusive or shared, without waiting; throws TargetInUse when
    /// another open of the node holds a conflicting one. <paramref name="operation"/> says what the caller is about to do
    /// ("write an image to it"), for the message. A node that cannot be opened or locked is not locked (the operation's own
    /// open reports why it cannot be used).
    /// </summary>
    public static DaxTargetLock Acquire(DaxMemoryTarget target, bool exclusive, string operation)
    {
        ArgumentNullException.ThrowIfNull(target);
        if (target.Kind == DaxMemoryTargetKind.DmaBuf) return new DaxTargetLock(null);
        SafeFileHandle fd;
        try { fd = Syscalls.Open(target.NodePath, Syscalls.O_RDONLY | O_NONBLOCK); }
        catch (SyscallException) { return new DaxTargetLock(null); }
        int rc;
        do rc = Syscalls.flock(fd, (exclusive ? Syscalls.LOCK_EX : Syscalls.LOCK_SH) | Syscalls.LOCK_NB);
        while (rc != 0 && Syscalls.LastErrno == Errno.EINTR);
        if (rc == 0) return new DaxTargetLock(fd);
        int errno = Syscalls.LastErrno;
        if (errno != Errno.EAGAIN)
        {
            fd.Dispose();
            return new DaxTargetLock(null); // a file system without flock (ENOLCK, EINVAL): nothing to coordinate with
        }
        try
        {
            var holders = Holders(fd);
            throw new DaxLinuxException(DaxErrorKind.TargetInUse, ErrorIds.TargetInUse, Message(target, holders, exclusive, operation), target.Description, Errno.EBUSY)
            {
                NextStep = holders.Count > 0 ? NextStep.WaitForProcess : NextStep.None,
                NextStepSubject = holders.Count > 0 ? holders[0].ProcessId.ToString(CultureInfo.InvariantCulture) : null,
            };
        }
        finally { fd.Dispose(); }
    }

    /// <summary>A process that holds a flock on the node: its pid, whether it writes (exclusive), its command line.</summary>
    public sealed record Holder(int ProcessId, bool Exclusive, string CommandLine);

    /// <summary>The holders /proc/locks shows for the node open in <paramref name="fd"/> (granted locks, not waiters).</summary>
    internal static IReadOnlyList<Holder> Holders(SafeFileHandle fd, string procLocks = "/proc/locks")
    {
        if (!Syscalls.Stat((int)fd.DangerousGetHandle(), out var st)) return Array.Empty<Holder>();
        string key = string.Create(CultureInfo.InvariantCulture, $"{st.DevMajor:x2}:{st.DevMinor:x2}:{st.Ino}");
        string[] lines;
        try { lines = File.ReadAllLines(procLocks); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { return Array.Empty<Holder>(); }
        var found = new List<Holder>();
        foreach (var line in lines)
        {
            // "3: FLOCK  ADVISORY  WRITE 1234 00:05:1021 0 EOF" (a waiter has "->" after the number).
            var t = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (t.Length < 6 || t[1] != "FLOCK" || !string.Equals(t[5], key, StringComparison.OrdinalIgnoreCase)) continue;
            if (!int.TryParse(t[4], NumberStyles.Integer, CultureInfo.InvariantCulture, out int pid)) continue;
            found.Add(new Holder(pid, t[3] == "WRITE", CommandLine(pid)));
        }
        return found;
    }

    /// <summary>/proc/PID/cmdline with its NULs as spaces (at most 300 characters), or a note that it cannot be read.</summary>
    public static string CommandLine(int pid)
    {
        try
        {
            var bytes = File.ReadAllBytes($"/proc/{pid}/cmdline");
            string s = Encoding.UTF8.GetString(bytes).TrimEnd('\0').Replace('\0', ' ');
            if (s.Length == 0) return "(no command line)";
            return s.Length > 300 ? s[..300] + "…" : s;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { return "(command line unreadable: the process may have ended)"; }
    }

    private static string Message(DaxMemoryTarget target, IReadOnlyList<Holder> holders, bool exclusive, string operation)
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"{target.Description} is in use by another process, so DaxFs will not {operation} now: the two would interleave. ");
        if (holders.Count == 0)
            sb.Append(CultureInfo.InvariantCulture, $"The holder of the lock on {target.NodePath} is not listed in /proc/locks (another PID namespace?). ");
        foreach (var h in holders.Take(3))
            sb.Append(CultureInfo.InvariantCulture,
                $"Process {h.ProcessId} ({h.CommandLine}) {(h.Exclusive ? "is writing to it" : "is reading it")}. ");
        var first = holders.FirstOrDefault();
        sb.Append(first is null
            ? "Wait for the other operation to finish, then try again."
            : $"Wait for process {first.ProcessId} to finish or stop it, then try again.");
        return sb.ToString();
    }

    public void Dispose()
    {
        if (_fd is null || _fd.IsClosed) return;
        // Unlock before closing: a child process forked meanwhile (and not yet exec'd) shares the open file description,
        // and the lock would last until it closes its copy.
        Syscalls.flock(_fd, Syscalls.LOCK_UN);
        _fd.Dispose();
    }
}
