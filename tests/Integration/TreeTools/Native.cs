using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace DaxFs.TreeTools;

/// <summary>What statx says about one entry (only the fields the listing needs).</summary>
internal readonly record struct StatxInfo(uint Mode, uint Uid, uint Gid, ulong Nlink, ulong Inode, ulong Size, ulong Device);

/// <summary>
/// The libc calls the tree tools need, on raw byte names (a Linux name need not be UTF-8) and directory-relative so
/// that deep trees never meet PATH_MAX. x86_64 and arm64 share every layout used here (statx, dirent64).
/// </summary>
internal static unsafe partial class Native
{
    private const string Libc = "libc";
    public const int AT_FDCWD = -100, AT_SYMLINK_NOFOLLOW = 0x100, AT_EMPTY_PATH = 0x1000;
    public const int O_RDONLY = 0, O_WRONLY = 1, O_CREAT = 0x40, O_EXCL = 0x80, O_CLOEXEC = 0x80000;
    public const uint S_IFMT = 0xF000, S_IFDIR = 0x4000, S_IFREG = 0x8000, S_IFLNK = 0xA000;
    private static readonly bool Generic = RuntimeInformation.ProcessArchitecture is Architecture.Arm64 or Architecture.Arm;
    public static int O_DIRECTORY => Generic ? 0x4000 : 0x10000;
    public static int O_NOFOLLOW => Generic ? 0x8000 : 0x20000;

    [LibraryImport(Libc, SetLastError = true)] private static partial int openat(int dirfd, byte* path, int flags, uint mode);
    [LibraryImport(Libc, SetLastError = true)] public static partial int close(int fd);
    [LibraryImport(Libc, SetLastError = true)] private static partial nint read(int fd, byte* buf, nint count);
    [LibraryImport(Libc, SetLastError = true)] private static partial nint write(int fd, byte* buf, nint count);
    [LibraryImport(Libc, SetLastError = true)] private static partial IntPtr fdopendir(int fd);
    [LibraryImport(Libc, SetLastError = true)] private static partial IntPtr readdir64(IntPtr dir);
    [LibraryImport(Libc, SetLastError = true)] private static partial int closedir(IntPtr dir);
    [LibraryImport(Libc, SetLastError = true)] private static partial int statx(int dirfd, byte* path, int flags, uint mask, byte* buf);
    [LibraryImport(Libc, SetLastError = true)] private static partial nint readlinkat(int dirfd, byte* path, byte* buf, nint size);
    [LibraryImport(Libc, SetLastError = true)] private static partial int mkdirat(int dirfd, byte* path, uint mode);
    [LibraryImport(Libc, SetLastError = true)] private static partial int symlinkat(byte* target, int dirfd, byte* path);
    [LibraryImport(Libc, SetLastError = true)] private static partial int linkat(int olddirfd, byte* oldpath, int newdirfd, byte* newpath, int flags);
    [LibraryImport(Libc, SetLastError = true)] private static partial int fchmodat(int dirfd, byte* path, uint mode, int flags);
    [LibraryImport(Libc, SetLastError = true)] private static partial int fchownat(int dirfd, byte* path, uint uid, uint gid, int flags);
    [LibraryImport(Libc)] public static partial uint geteuid();

    private static int Errno => Marshal.GetLastPInvokeError();

    private static NativeCallException Fail(string call, ReadOnlySpan<byte> name)
    {
        int errno = Errno;
        return new NativeCallException($"{call}({Names.Escape(name)}): {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})", errno);
    }

    public const int ENOENT = 2;

    private static byte[] Z(ReadOnlySpan<byte> s)
    {
        var b = new byte[s.Length + 1];
        s.CopyTo(b);
        return b;
    }

    public static int OpenAt(int dirfd, ReadOnlySpan<byte> name, int flags, uint mode = 0)
    {
        fixed (byte* p = Z(name))
        {
            int fd = openat(dirfd, p, flags | O_CLOEXEC, mode);
            if (fd < 0) throw Fail("openat", name);
            return fd;
        }
    }

    public static StatxInfo Stat(int dirfd, ReadOnlySpan<byte> name)
    {
        byte* buf = stackalloc byte[256];
        fixed (byte* p = Z(name))
        {
            if (statx(dirfd, p, AT_SYMLINK_NOFOLLOW | (name.IsEmpty ? AT_EMPTY_PATH : 0), 0x7ff /* STATX_BASIC_STATS */, buf) != 0)
                throw Fail("statx", name);
        }
        var s = new ReadOnlySpan<byte>(buf, 256);
        ulong dev = ((ulong)BinaryPrimitives.ReadUInt32LittleEndian(s[136..]) << 32) | BinaryPrimitives.ReadUInt32LittleEndian(s[140..]);
        return new StatxInfo(
            Mode: BinaryPrimitives.ReadUInt16LittleEndian(s[28..]),
            Uid: BinaryPrimitives.ReadUInt32LittleEndian(s[20..]),
            Gid: BinaryPrimitives.ReadUInt32LittleEndian(s[24..]),
            Nlink: BinaryPrimitives.ReadUInt32LittleEndian(s[16..]),
            Inode: BinaryPrimitives.ReadUInt64LittleEndian(s[32..]),
            Size: BinaryPrimitives.ReadUInt64LittleEndian(s[40..]),
            Device: dev);
    }

    /// <summary>The names in an open directory (its fd is taken over and closed), without "." and "..".</summary>
    public static List<byte[]> ReadDirectory(int dirfd, ReadOnlySpan<byte> what)
    {
        IntPtr dir = fdopendir(dirfd);
        if (dir == IntPtr.Zero) { close(dirfd); throw Fail("fdopendir", what); }
        var names = new List<byte[]>();
        try
        {
            while (true)
            {
                Marshal.SetLastPInvokeError(0);
                IntPtr e = readdir64(dir);
                if (e == IntPtr.Zero)
                {
                    if (Errno != 0) throw Fail("readdir64", what);
                    break;
                }
                var name = MemoryMarshal.CreateReadOnlySpanFromNullTerminated((byte*)e + 19);
                if (name.SequenceEqual("."u8) || name.SequenceEqual(".."u8)) continue;
                names.Add(name.ToArray());
            }
        }
        finally { closedir(dir); }
        return names;
    }

    public static byte[] ReadLink(int dirfd, ReadOnlySpan<byte> name)
    {
        var buf = new byte[8192];
        fixed (byte* p = Z(name))
        fixed (byte* b = buf)
        {
            nint n = readlinkat(dirfd, p, b, buf.Length);
            if (n < 0) throw Fail("readlinkat", name);
            return buf.AsSpan(0, (int)n).ToArray();
        }
    }

    /// <summary>Reads an open file to its end into <paramref name="hash"/>; returns the bytes read.</summary>
    public static long ReadAll(int fd, System.Security.Cryptography.IncrementalHash hash, ReadOnlySpan<byte> what)
    {
        var buf = new byte[1 << 16];
        long total = 0;
        fixed (byte* b = buf)
        {
            while (true)
            {
                nint n = read(fd, b, buf.Length);
                if (n < 0) throw Fail("read", what);
                if (n == 0) return total;
                hash.AppendData(buf, 0, (int)n);
                total += n;
            }
        }
    }

    public static void WriteAll(int fd, ReadOnlySpan<byte> data, ReadOnlySpan<byte> what)
    {
        fixed (byte* b = data)
        {
            for (int done = 0; done < data.Length;)
            {
                nint n = write(fd, b + done, data.Length - done);
                if (n <= 0) throw Fail("write", what);
                done += (int)n;
            }
        }
    }

    public static void MkdirAt(int dirfd, ReadOnlySpan<byte> name, uint mode)
    {
        fixed (byte* p = Z(name)) if (mkdirat(dirfd, p, mode) != 0) throw Fail("mkdirat", name);
    }

    public static void SymlinkAt(ReadOnlySpan<byte> target, int dirfd, ReadOnlySpan<byte> name)
    {
        fixed (byte* t = Z(target))
        fixed (byte* p = Z(name)) if (symlinkat(t, dirfd, p) != 0) throw Fail("symlinkat", name);
    }

    public static void LinkAt(int fromDir, ReadOnlySpan<byte> from, int toDir, ReadOnlySpan<byte> to)
    {
        fixed (byte* f = Z(from))
        fixed (byte* t = Z(to)) if (linkat(fromDir, f, toDir, t, 0) != 0) throw Fail("linkat", to);
    }

    public static void ChmodAt(int dirfd, ReadOnlySpan<byte> name, uint mode)
    {
        fixed (byte* p = Z(name)) if (fchmodat(dirfd, p, mode, 0) != 0) throw Fail("fchmodat", name);
    }

    public static void LchownAt(int dirfd, ReadOnlySpan<byte> name, uint uid, uint gid)
    {
        fixed (byte* p = Z(name)) if (fchownat(dirfd, p, uid, gid, AT_SYMLINK_NOFOLLOW) != 0) throw Fail("fchownat", name);
    }
}

/// <summary>A failed libc call, with its errno.</summary>
public sealed class NativeCallException(string message, int errno) : IOException(message)
{
    public int Errno { get; } = errno;
}
