using System.Runtime.InteropServices;

namespace DaxFs.Core.Linux;

/// <summary>
/// The file-tree half of <see cref="Syscalls"/>: the calls the image builder and the exporter need to read and write a tree exactly: names as raw bytes (a Linux name
/// need not be UTF-8), lstat-like metadata through statx (one struct layout on every architecture),
/// directory-relative opens so deep trees never hit PATH_MAX, and copy_file_range for file data.
/// </summary>
internal static unsafe partial class Syscalls
{
    public const int AT_SYMLINK_NOFOLLOW = 0x100;
    public const int AT_EMPTY_PATH = 0x1000;
    public const int AT_EACCESS = 0x200;
    public const uint STATX_BASIC_STATS = 0x7ff;
    public const int R_OK = 4;

    // open(2) flags differ between architectures for O_DIRECTORY/O_NOFOLLOW.
    private static readonly bool GenericFlags = RuntimeInformation.ProcessArchitecture is Architecture.Arm64 or Architecture.Arm;
    public static int O_DIRECTORY => GenericFlags ? 0x4000 : 0x10000;
    public static int O_NOFOLLOW => GenericFlags ? 0x8000 : 0x20000;
    public static int O_DIRECT => GenericFlags ? 0x10000 : 0x4000;

    [LibraryImport(Libc, SetLastError = true)] private static partial int openat(int dirfd, byte* path, int flags, uint mode);
    [LibraryImport(Libc, SetLastError = true)] public static partial int dup(int fd);
    [LibraryImport(Libc, SetLastError = true)] private static partial IntPtr realpath(byte* path, IntPtr resolved);
    [LibraryImport(Libc)] private static partial void free(IntPtr p);
    [LibraryImport(Libc, SetLastError = true)] private static partial nint getdents64(int fd, byte* buf, nint count);
    [LibraryImport(Libc, SetLastError = true)] private static partial int statx(int dirfd, byte* path, int flags, uint mask, byte* buf);
    [LibraryImport(Libc, SetLastError = true)] private static partial nint readlinkat(int dirfd, byte* path, byte* buf, nint size);
    [LibraryImport(Libc, SetLastError = true)] private static partial int faccessat(int dirfd, byte* path, int mode, int flags);
    [LibraryImport(Libc, SetLastError = true)] private static partial nint pread(int fd, byte* buf, nint count, long offset);
    [LibraryImport(Libc, SetLastError = true)] private static partial nint pwrite(int fd, byte* buf, nint count, long offset);
    [LibraryImport(Libc, SetLastError = true)] private static partial int mkdirat(int dirfd, byte* path, uint mode);
    [LibraryImport(Libc, SetLastError = true)] private static partial int symlinkat(byte* target, int dirfd, byte* path);
    [LibraryImport(Libc, SetLastError = true)] private static partial int linkat(int olddirfd, byte* oldpath, int newdirfd, byte* newpath, int flags);
    [LibraryImport(Libc, SetLastError = true)] private static partial int unlinkat(int dirfd, byte* path, int flags);
    [LibraryImport(Libc, SetLastError = true)] private static partial int fchownat(int dirfd, byte* path, uint uid, uint gid, int flags);
    [LibraryImport(Libc, SetLastError = true)] private static partial int fchmodat(int dirfd, byte* path, uint mode, int flags);
    [LibraryImport(Libc, SetLastError = true)] public static partial int fchown(int fd, uint uid, uint gid);
    [LibraryImport(Libc, SetLastError = true)] public static partial int fchmod(int fd, uint mode);
    [LibraryImport(Libc, SetLastError = true)] private static partial nint write(int fd, byte* buf, nint n);
    [LibraryImport(Libc, SetLastError = true)] private static partial int sync_file_range(int fd, long offset, long nbytes, uint flags);
    [LibraryImport(Libc, SetLastError = true)] private static partial nint copy_file_range(int fdIn, long* offIn, int fdOut, long* offOut, nint len, uint flags);

    /// <summary>strerror: "No space left on device".</summary>
    public static string StrError(int errno) => Marshal.GetPInvokeErrorMessage(errno);

    /// <summary>Bytes of <paramref name="name"/> followed by a NUL, for a path argument.</summary>
    private static byte[] CString(ReadOnlySpan<byte> name)
    {
        var b = new byte[name.Length + 1];
        name.CopyTo(b);
        return b;
    }

    /// <summary>Copies <paramref name="name"/> and a NUL into <paramref name="scratch"/> when it fits (names are at most 255 bytes), else allocates.</summary>
    private static Span<byte> CString(ReadOnlySpan<byte> name, Span<byte> scratch)
    {
        if (name.Length >= scratch.Length) return CString(name);
        name.CopyTo(scratch);
        scratch[name.Length] = 0;
        return scratch[..(name.Length + 1)];
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public static int OpenAt(int dirfd, ReadOnlySpan<byte> name, int flags, uint mode = 0)
    {
        var c = CString(name, stackalloc byte[512]);
        fixed (byte* p = c)
        {
            int fd;
            do fd = openat(dirfd, p, flags | O_CLOEXEC, mode); while (fd < 0 && LastErrno == Errno.EINTR);
            return fd;
        }
    }

    public static int MkdirAt(int dirfd, ReadOnlySpan<byte> name, uint mode)
    { fixed (byte* p = CString(name, stackalloc byte[512])) return mkdirat(dirfd, p, mode); }

    public static int SymlinkAt(ReadOnlySpan<byte> target, int dirfd, ReadOnlySpan<byte> name)
    { fixed (byte* t = CString(target)) fixed (byte* p = CString(name, stackalloc byte[512])) return symlinkat(t, dirfd, p); }

    public static int LinkAt(int oldfd, ReadOnlySpan<byte> old, int newfd, ReadOnlySpan<byte> name)
    { fixed (byte* o = CString(old)) fixed (byte* p = CString(name, stackalloc byte[512])) return linkat(oldfd, o, newfd, p, 0); }

    public static int UnlinkAt(int dirfd, ReadOnlySpan<byte> name)
    { fixed (byte* p = CString(name, stackalloc byte[512])) return unlinkat(dirfd, p, 0); }

    public static int FchownAt(int dirfd, ReadOnlySpan<byte> name, uint uid, uint gid)
    { fixed (byte* p = CString(name, stackalloc byte[512])) return fchownat(dirfd, p, uid, gid, AT_SYMLINK_NOFOLLOW); }

    public static int FchmodAt(int dirfd, ReadOnlySpan<byte> name, uint mode)
    { fixed (byte* p = CString(name, stackalloc byte[512])) return fchmodat(dirfd, p, mode, 0); }

    /// <summary>Writes all of <paramref name="data"/>; false with errno set on failure.</summary>
    public static bool WriteAll(int fd, ReadOnlySpan<byte> data)
    {
        fixed (byte* b = data)
        {
            int done = 0;
            while (done < data.Length)
            {
                nint n = write(fd, b + done, data.Length - done);
                if (n < 0) { if (LastErrno == Errno.EINTR) continue; return false; }
                done += (int)n;
            }
            return true;
        }
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public static bool Stat(int dirfd, ReadOnlySpan<byte> name, out StatInfo info, bool follow = false)
    {
        var c = CString(name, stackalloc byte[512]);
        byte* buf = stackalloc byte[256];
        fixed (byte* p = c)
        {
            int flags = (follow ? 0 : AT_SYMLINK_NOFOLLOW) | (name.IsEmpty ? AT_EMPTY_PATH : 0);
            if (statx(dirfd, p, flags, STATX_BASIC_STATS, buf) != 0) { info = default; return false; }
        }
        info = StatInfo.FromStatx(new ReadOnlySpan<byte>(buf, 256));
        return true;
    }

    /// <summary>fstat of an open descriptor.</summary>
    public static bool Stat(int fd, out StatInfo info) => Stat(fd, ReadOnlySpan<byte>.Empty, out info);

    /// <summary>The canonical absolute path (symlinks resolved), or null with errno set.</summary>
    public static string? RealPath(string path)
    {
        var c = CString(System.Text.Encoding.UTF8.GetBytes(path));
        fixed (byte* p = c)
        {
            IntPtr r = realpath(p, IntPtr.Zero);
            if (r == IntPtr.Zero) return null;
            try { return Marshal.PtrToStringUTF8(r); } finally { free(r); }
        }
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public static bool CanRead(int dirfd, ReadOnlySpan<byte> name)
    {
        var c = CString(name, stackalloc byte[512]);
        fixed (byte* p = c) return faccessat(dirfd, p, R_OK, AT_EACCESS) == 0;
    }

    /// <summary>The target of a symlink as raw bytes, or null with errno set.</summary>
    public static byte[]? ReadLink(int dirfd, ReadOnlySpan<byte> name, long expectedLength)
    {
        var c = CString(name);
        int size = (int)Math.Clamp(expectedLength + 1, 256, 1 << 20);
        while (true)
        {
            var buf = new byte[size];
            nint n;
            fixed (byte* p = c) fixed (byte* b = buf) n = readlinkat(dirfd, p, b, size);
            if (n < 0) return null;
            if (n < size) return buf.AsSpan(0, (int)n).ToArray();
            if (size >= 1 << 20) return buf; // longer than any PATH_MAX target; the kernel caps targets at 4 KiB
            size *= 4;
        }
    }

    /// <summary>Reads up to <paramref name="buffer"/>.Length bytes at <paramref name="offset"/>; returns -1 with errno set.</summary>
    public static nint PRead(int fd, Span<byte> buffer, long offset)
    {
        fixed (byte* b = buffer)
        {
            nint n;
            do n = pread(fd, b, buffer.Length, offset); while (n < 0 && LastErrno == Errno.EINTR);
            return n;
        }
    }

    /// <summary>Writes up to <paramref name="data"/>.Length bytes at <paramref name="offset"/>; returns how many, or -1 with errno set.</summary>
    public static nint PWrite(int fd, ReadOnlySpan<byte> data, long offset)
    {
        fixed (byte* b = data)
        {
            nint n;
            do n = pwrite(fd, b, data.Length, offset); while (n < 0 && LastErrno == Errno.EINTR);
            return n;
        }
    }

    /// <summary>Kernel-side copy; returns bytes copied, 0 at end of the input, -1 with errno set.</summary>
    public static nint CopyFileRange(int fdIn, long offIn, int fdOut, long offOut, long length)
    {
        nint n;
        do n = copy_file_range(fdIn, &offIn, fdOut, &offOut, (nint)Math.Min(length, 1L << 30), 0); while (n < 0 && LastErrno == Errno.EINTR);
        return n;
    }

    private const uint SYNC_FILE_RANGE_WRITE = 2;

    /// <summary>Starts writeback of a range's dirty pages without waiting for it (a hint: false when the file system cannot).</summary>
    public static bool StartWriteback(int fd, long offset, long length) => sync_file_range(fd, offset, length, SYNC_FILE_RANGE_WRITE) == 0;

    [ThreadStatic] private static byte[]? t_dentBuffer;

    /// <summary>Reads a whole directory: every name except . and .. as raw bytes (getdents64 into one reused buffer).</summary>
    /// <remarks>Reads from the descriptor's current position; the descriptor stays open for *at calls.</remarks>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public static List<byte[]>? ReadDirectory(int fd, out int errno)
    {
        var buffer = t_dentBuffer ??= new byte[64 * 1024];
        var names = new List<byte[]>();
        {
            fixed (byte* b = buffer)
            {
                while (true)
                {
                    nint n;
                    do n = getdents64(fd, b, buffer.Length); while (n < 0 && LastErrno == Errno.EINTR);
                    if (n < 0) { errno = LastErrno; return null; }
                    if (n == 0) { errno = 0; return names; }
                    // struct linux_dirent64: d_ino u64, d_off s64, d_reclen u16, d_type u8, d_name[] (NUL-terminated) at 19.
                    for (nint at = 0; at < n;)
                    {
                        ushort reclen = *(ushort*)(b + at + 16);
                        if (reclen == 0) break;
                        var name = MemoryMarshal.CreateReadOnlySpanFromNullTerminated(b + at + 19);
                        at += reclen;
                        if (name.Length == 1 && name[0] == (byte)'.') continue;
                        if (name.Length == 2 && name[0] == (byte)'.' && name[1] == (byte)'.') continue;
                        names.Add(name.ToArray());
                    }
                }
            }
        }
    }
}

/// <summary>The statx fields the image builder uses.</summary>
internal readonly record struct StatInfo(uint Mode, uint Uid, uint Gid, uint Nlink, ulong Ino, long Size,
    long MtimeSec, uint MtimeNsec, long CtimeSec, uint CtimeNsec, uint DevMajor, uint DevMinor, long Blocks = 0)
{
    // st_mode's file type bits (the kernel's stat ABI; the image format stores the same modes).
    private const uint S_IFMT = 0xF000, S_IFDIR = 0x4000, S_IFREG = 0x8000, S_IFLNK = 0xA000;

    /// <summary>Bytes of a regular file that no block backs (holes), as st_blocks tells it; 0 for a dense file.</summary>
    public long HoleBytes => Size - Math.Min(Size, Blocks * 512);
    public uint Type => Mode & S_IFMT;
    public bool IsDirectory => Type == S_IFDIR;
    public bool IsRegular => Type == S_IFREG;
    public bool IsSymlink => Type == S_IFLNK;

    public static StatInfo FromStatx(ReadOnlySpan<byte> b)
    {
        static uint U32(ReadOnlySpan<byte> s, int o) => System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(s[o..]);
        static ulong U64(ReadOnlySpan<byte> s, int o) => System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(s[o..]);
        // struct statx: mask@0 blksize@4 attributes@8 nlink@16 uid@20 gid@24 mode u16@28 ino@32 size@40 blocks@48
        // attributes_mask@56 atime@64 btime@80 ctime@96 mtime@112 (sec s64, nsec u32) rdev@128 dev_major@136 dev_minor@140
        return new StatInfo(
            Mode: System.Buffers.Binary.BinaryPrimitives.ReadUInt16LittleEndian(b[28..]),
            Uid: U32(b, 20), Gid: U32(b, 24), Nlink: U32(b, 16), Ino: U64(b, 32), Size: (long)U64(b, 40),
            MtimeSec: (long)U64(b, 112), MtimeNsec: U32(b, 120), CtimeSec: (long)U64(b, 96), CtimeNsec: U32(b, 104),
            DevMajor: U32(b, 136), DevMinor: U32(b, 140), Blocks: (long)Math.Min(U64(b, 48), long.MaxValue / 512));
    }
}
