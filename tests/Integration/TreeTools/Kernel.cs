using System.Runtime.InteropServices;
using System.Text;

namespace DaxFs.TreeTools;

/// <summary>What a mount(2) call did: 0 or the errno, and the kernel log lines it produced.</summary>
public sealed record MountOutcome(int Errno, string Error, IReadOnlyList<string> KernelLog)
{
    public bool Succeeded => Errno == 0;
    /// <summary>The kernel log lines of the daxfs module ("daxfs: …"), joined.</summary>
    public string DaxFsLog => string.Join(" | ", KernelLog.Where(l => l.Contains("daxfs", StringComparison.Ordinal)));
    public override string ToString() => Succeeded ? "mounted" : $"{Error} (errno {Errno}); kernel: {DaxFsLog}";
}

/// <summary>
/// mount(2), umount2(2) and the kernel log (/dev/kmsg) for the guest tests, called directly: under emulation every
/// process the tests start costs more than a second, and the images are many. Independent of the module under test.
/// </summary>
public static partial class Kernel
{
    private const string Libc = "libc";
    [LibraryImport(Libc, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int mount(string source, string target, string type, ulong flags, string? data);
    [LibraryImport(Libc, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int umount2(string target, int flags);

    public const ulong MS_RDONLY = 1;

    /// <summary>mount(2) with <paramref name="data"/> as the options string; collects the kernel log it caused.</summary>
    public static MountOutcome Mount(string source, string target, string type, string? data, ulong flags = 0)
    {
        using var log = KernelLog.FromNow();
        int rc = mount(source, target, type, flags, data);
        int errno = rc == 0 ? 0 : Marshal.GetLastPInvokeError();
        return new MountOutcome(errno, errno == 0 ? "" : Marshal.GetPInvokeErrorMessage(errno), log.ReadNew());
    }

    /// <summary>umount2(2); returns 0 or the errno.</summary>
    public static int Unmount(string target, bool detach = false) =>
        umount2(target, detach ? 2 : 0) == 0 ? 0 : Marshal.GetLastPInvokeError();
}

/// <summary>The kernel log from a point on (/dev/kmsg opened at its end): what a step made the kernel say.</summary>
public sealed unsafe partial class KernelLog : IDisposable
{
    private const string Libc = "libc";
    [LibraryImport(Libc, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int open(string path, int flags);
    [LibraryImport(Libc, SetLastError = true)] private static partial nint read(int fd, byte* buf, nint count);
    [LibraryImport(Libc, SetLastError = true)] private static partial long lseek(int fd, long offset, int whence);
    [LibraryImport(Libc, SetLastError = true)] private static partial int close(int fd);
    private const int O_NONBLOCK = 0x800, SEEK_END = 2, EAGAIN = 11, EPIPE = 32, EINTR = 4;

    private int _fd;

    private KernelLog(int fd) { _fd = fd; }

    public static KernelLog FromNow()
    {
        int fd = open("/dev/kmsg", O_NONBLOCK);
        if (fd < 0) throw new IOException($"/dev/kmsg: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
        lseek(fd, 0, SEEK_END);
        return new KernelLog(fd);
    }

    /// <summary>The records logged since the last call (or since <see cref="FromNow"/>), as their message text.</summary>
    public IReadOnlyList<string> ReadNew()
    {
        ObjectDisposedException.ThrowIf(_fd < 0, this);
        var lines = new List<string>();
        var buf = new byte[8192];
        fixed (byte* b = buf)
        {
            for (int guard = 0; guard < 10000; guard++)
            {
                nint n = read(_fd, b, buf.Length);
                if (n < 0)
                {
                    int e = Marshal.GetLastPInvokeError();
                    if (e is EPIPE or EINTR) continue; // records were overwritten: go on with the next
                    if (e == EAGAIN) break;
                    throw new IOException($"/dev/kmsg: {Marshal.GetPInvokeErrorMessage(e)}");
                }
                if (n == 0) break;
                // "prio,seq,usec,flags[,…];message\n[ KEY=value\n…]"
                string record = Encoding.UTF8.GetString(buf, 0, (int)n);
                int semi = record.IndexOf(';');
                int end = record.IndexOf('\n');
                if (semi >= 0) lines.Add(record[(semi + 1)..(end > semi ? end : record.Length)]);
            }
        }
        return lines;
    }

    public void Dispose()
    {
        if (_fd >= 0) close(_fd);
        _fd = -1;
    }
}
