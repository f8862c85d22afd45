using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace DaxFs.Core.Linux;

/// <summary>
/// The one layer of raw Linux calls (constants, errno, libc imports). This half: the memory, device and mount calls, open/mmap/ioctl for device memory, mount(2)/umount2 and the
/// new mount API (fsopen 430, fsconfig 431, fsmount 432, move_mount 429: the same numbers on every architecture since
/// Linux 5.1). Nothing here decides anything; callers check results and turn errno into <see cref="DaxLinuxException"/>.
/// </summary>
internal static unsafe partial class Syscalls
{
    private const string Libc = "libc";

    public const int O_RDONLY = 0, O_WRONLY = 1, O_RDWR = 2, O_CREAT = 0x40, O_EXCL = 0x80, O_CLOEXEC = 0x80000; // asm-generic values, the same on x86-64 and arm64
    public const int PROT_READ = 1, PROT_WRITE = 2;
    public const int MAP_SHARED = 1;
    public const int MS_SYNC = 4;
    public const int SEEK_END = 2;
    public const int AT_FDCWD = -100;

    public const long SYS_move_mount = 429, SYS_fsopen = 430, SYS_fsconfig = 431, SYS_fsmount = 432;
    public const uint FSOPEN_CLOEXEC = 1, FSMOUNT_CLOEXEC = 1;

    public const ulong DMA_HEAP_IOCTL_ALLOC = 0xC0184800;
    public const ulong DMA_BUF_SET_NAME = 0x40086201;
    public const ulong DMA_BUF_IOCTL_SYNC = 0x40086200;
    /// <summary>_IO('D', 1): the daxfs module's "give me this mount's dma-buf".</summary>
    public const ulong DAXFS_IOC_GET_DMABUF = 0x4401;
    public const ulong DMA_BUF_SYNC_READ = 1, DMA_BUF_SYNC_WRITE = 2, DMA_BUF_SYNC_START = 0, DMA_BUF_SYNC_END = 4;

    public static readonly IntPtr MAP_FAILED = new(-1);

    [DllImport(Libc, EntryPoint = "open", SetLastError = true)]
    private static extern int open_([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, int mode);

    [DllImport(Libc, EntryPoint = "close", SetLastError = true)]
    public static extern int close(int fd);

    [DllImport(Libc, SetLastError = true)]
    public static extern nint read(SafeHandle fd, byte* buffer, nint count);

    [DllImport(Libc, SetLastError = true)]
    public static extern IntPtr mmap(IntPtr address, nuint length, int prot, int flags, SafeHandle fd, long offset);

    [DllImport(Libc, SetLastError = true)]
    public static extern int munmap(IntPtr address, nuint length);

    [DllImport(Libc, SetLastError = true)]
    public static extern int msync(IntPtr address, nuint length, int flags);

    [DllImport(Libc, SetLastError = true)]
    public static extern int ioctl(SafeHandle fd, ulong request, void* argument);

    [DllImport(Libc, SetLastError = true)]
    public static extern long lseek(SafeHandle fd, long offset, int whence);

    public const int POSIX_FADV_DONTNEED = 4;

    /// <summary>posix_fadvise: returns the error number itself (0 on success), not -1 and errno.</summary>
    [DllImport(Libc)]
    public static extern int posix_fadvise(SafeHandle fd, long offset, long length, int advice);

    public const int LOCK_SH = 1, LOCK_EX = 2, LOCK_NB = 4, LOCK_UN = 8;

    [DllImport(Libc, SetLastError = true)]
    public static extern int flock(SafeHandle fd, int operation);

    [DllImport(Libc, SetLastError = true)]
    public static extern int ftruncate(SafeHandle fd, long length);

    [DllImport(Libc, SetLastError = true)]
    public static extern int memfd_create([MarshalAs(UnmanagedType.LPUTF8Str)] string name, uint flags);

    [DllImport(Libc)]
    public static extern uint geteuid();

    [DllImport(Libc, SetLastError = true)]
    public static extern int mount([MarshalAs(UnmanagedType.LPUTF8Str)] string source, [MarshalAs(UnmanagedType.LPUTF8Str)] string target,
        [MarshalAs(UnmanagedType.LPUTF8Str)] string fileSystemType, ulong flags, [MarshalAs(UnmanagedType.LPUTF8Str)] string? data);

    [DllImport(Libc, SetLastError = true)]
    public static extern int umount2([MarshalAs(UnmanagedType.LPUTF8Str)] string target, int flags);

    // syscall(2) is variadic in C; glibc and musl implement it by moving integer registers, so fixed-arity
    // signatures with only integer/pointer arguments are safe on x86-64 and arm64.
    [DllImport(Libc, EntryPoint = "syscall", SetLastError = true)]
    private static extern long syscall2(long number, byte* a1, nint a2);

    [DllImport(Libc, EntryPoint = "syscall", SetLastError = true)]
    private static extern long syscall3(long number, nint a1, nint a2, nint a3);

    [DllImport(Libc, EntryPoint = "syscall", SetLastError = true)]
    private static extern long syscall5(long number, nint a1, nint a2, nint a3, nint a4, nint a5);

    public static int LastErrno => Marshal.GetLastPInvokeError();

    /// <summary>open(2) with O_CLOEXEC; throws <see cref="SyscallException"/> on failure.</summary>
    public static SafeFileHandle Open(string path, int flags)
    {
        int fd = open_(path, flags | O_CLOEXEC, 0);
        if (fd < 0) throw new SyscallException($"open({path})", LastErrno);
        return new SafeFileHandle((IntPtr)fd, ownsHandle: true);
    }

    public static int FsOpen(string fsType, uint flags)
    {
        byte[] name = NullTerminated(fsType);
        fixed (byte* p = name) return (int)syscall2(SYS_fsopen, p, (nint)flags);
    }

    public static int FsConfig(SafeHandle fsfd, uint command, string? key, string? value, int aux)
    {
        bool added = false;
        fsfd.DangerousAddRef(ref added);
        try
        {
            byte[]? k = key is null ? null : NullTerminated(key);
            byte[]? v = value is null ? null : NullTerminated(value);
            fixed (byte* pk = k)
            fixed (byte* pv = v)
                return (int)syscall5(SYS_fsconfig, fsfd.DangerousGetHandle(), (nint)command, (nint)pk, (nint)pv, aux);
        }
        finally { if (added) fsfd.DangerousRelease(); }
    }

    public static int FsMount(SafeHandle fsfd, uint flags, uint attributes)
    {
        bool added = false;
        fsfd.DangerousAddRef(ref added);
        try { return (int)syscall3(SYS_fsmount, fsfd.DangerousGetHandle(), (nint)flags, (nint)attributes); }
        finally { if (added) fsfd.DangerousRelease(); }
    }

    public static int MoveMount(SafeHandle fromFd, string fromPath, int toDirFd, string toPath, uint flags)
    {
        bool added = false;
        fromFd.DangerousAddRef(ref added);
        try
        {
            byte[] from = NullTerminated(fromPath), to = NullTerminated(toPath);
            fixed (byte* pf = from)
            fixed (byte* pt = to)
                return (int)syscall5(SYS_move_mount, fromFd.DangerousGetHandle(), (nint)pf, toDirFd, (nint)pt, (nint)flags);
        }
        finally { if (added) fromFd.DangerousRelease(); }
    }

    public static byte[] NullTerminated(string s)
    {
        int n = System.Text.Encoding.UTF8.GetByteCount(s);
        var b = new byte[n + 1];
        System.Text.Encoding.UTF8.GetBytes(s, b);
        return b;
    }

    public static long PageSize => Environment.SystemPageSize;
}
