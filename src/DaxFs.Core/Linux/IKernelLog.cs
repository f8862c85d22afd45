using Microsoft.Win32.SafeHandles;

namespace DaxFs.Core.Linux;

/// <summary>
/// The kernel log from a moment on. File systems such as daxfs explain a refused mount only there (pr_err), not in the
/// fs context log that fsopen offers, and mount(2) has no log at all: a watch started before the call lets the error
/// carry the kernel's own reason instead of a bare "Invalid argument".
/// </summary>
public interface IKernelLog
{
    /// <summary>Starts watching; never throws (a log that cannot be read gives a watch that sees nothing).</summary>
    IKernelLogWatch Watch();
}

/// <summary>Records logged since <see cref="IKernelLog.Watch"/> (or the previous read), as message text.</summary>
public interface IKernelLogWatch : IDisposable
{
    IReadOnlyList<string> ReadNew();
}

/// <summary>/dev/kmsg, opened non-blocking at its end. Reading it needs CAP_SYSLOG unless dmesg_restrict is 0.</summary>
public sealed unsafe class LinuxKernelLog : IKernelLog
{
    public static LinuxKernelLog Instance { get; } = new();

    private readonly string _path;

    public LinuxKernelLog(string path = "/dev/kmsg") { _path = path; }

    public IKernelLogWatch Watch()
    {
        try
        {
            var fd = Syscalls.Open(_path, Syscalls.O_RDONLY | 0x800 /* O_NONBLOCK */);
            Syscalls.lseek(fd, 0, 2 /* SEEK_END */);
            return new Watcher(fd);
        }
        catch (SyscallException) { return new Watcher(null); }
    }

    private sealed class Watcher : IKernelLogWatch
    {
        private readonly SafeFileHandle? _fd;

        public Watcher(SafeFileHandle? fd) { _fd = fd; }

        public IReadOnlyList<string> ReadNew()
        {
            var lines = new List<string>();
            if (_fd is null || _fd.IsClosed) return lines;
            var buffer = new byte[8192];
            for (int i = 0; i < 256; i++) // a mount logs a few lines; never loop for long
            {
                nint n;
                fixed (byte* p = buffer) n = Syscalls.read(_fd, p, buffer.Length);
                if (n < 0 && Syscalls.LastErrno == Errno.EPIPE) continue; // overwritten records: go on with the next
                if (n <= 0) break; // EAGAIN: nothing more
                if (KernelLogRecord.Message(System.Text.Encoding.UTF8.GetString(buffer, 0, (int)n)) is { } m) lines.Add(m);
            }
            return lines;
        }

        public void Dispose() => _fd?.Dispose();
    }
}

/// <summary>The /dev/kmsg record format: "priority,sequence,microseconds,flags[,…];message\n[ KEY=value\n…]".</summary>
public static class KernelLogRecord
{
    /// <summary>The message text of one record, or null when it is not a record.</summary>
    public static string? Message(string record)
    {
        int semi = record.IndexOf(';');
        if (semi < 0) return null;
        int end = record.IndexOf('\n', semi + 1);
        return record[(semi + 1)..(end < 0 ? record.Length : end)];
    }

    /// <summary>The lines a file system logged under its name ("daxfs: …").</summary>
    public static IReadOnlyList<string> Of(IEnumerable<string> lines, string fileSystemType) =>
        lines.Where(l => l.StartsWith(fileSystemType + ":", StringComparison.Ordinal)).ToList();
}
