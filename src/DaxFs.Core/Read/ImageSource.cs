using System.Text;
using DaxFs.Core.Linux;
using Microsoft.Win32.SafeHandles;

namespace DaxFs.Core.Read;

/// <summary>What a path given as an image is, when it cannot be one.</summary>
public enum ImageSourceKind
{
    /// <summary>A directory (build an image from it with New-DaxFsImage).</summary>
    Directory,
    /// <summary>A named pipe: opening it waits for a writer, and its bytes cannot be mapped.</summary>
    Fifo,
    /// <summary>A Unix socket.</summary>
    Socket,
    /// <summary>A character device that is not a dax device (a terminal, /dev/zero, /dev/mem...).</summary>
    CharacterDevice,
}

/// <summary>A path given as an image names something that is not an image file nor a memory device.</summary>
public sealed class ImageSourceException : IOException
{
    public ImageSourceException(string path, ImageSourceKind kind, string message) : base(message)
    {
        Path = path;
        Kind = kind;
    }

    public string Path { get; }
    public ImageSourceKind Kind { get; }
}

/// <summary>
/// Opens an image path without ever blocking: the path is checked with stat first (a FIFO's open would wait for a writer,
/// and ignores Ctrl+C), then opened with O_NONBLOCK and checked again on the descriptor, so a FIFO swapped in between
/// cannot block either. Regular files are opened this way; block devices (a raw pmem namespace) and dax character devices
/// are opened as before; directories, FIFOs, sockets and other character devices are refused with
/// <see cref="ImageSourceException"/>.
/// </summary>
internal static class ImageSource
{
    private const uint S_IFMT = 0xF000, S_IFDIR = 0x4000, S_IFCHR = 0x2000, S_IFBLK = 0x6000, S_IFREG = 0x8000, S_IFIFO = 0x1000, S_IFSOCK = 0xC000;
    private const int O_NONBLOCK = 0x800; // the same on x86-64 and arm64

    /// <summary>
    /// A read-only handle on a regular file at <paramref name="path"/>, or null for a device node to be opened as before.
    /// Throws <see cref="ImageSourceException"/> for what is neither, <see cref="FileNotFoundException"/> when nothing is there.
    /// </summary>
    public static SafeFileHandle? OpenRegular(string path)
    {
        if (!OperatingSystem.IsLinux()) return null;
        var name = Encoding.UTF8.GetBytes(System.IO.Path.GetFullPath(path));
        if (!Syscalls.Stat(Syscalls.AT_FDCWD, name, out var st, follow: true))
        {
            int errno = Syscalls.LastErrno;
            if (errno is Errno.ENOENT or 20 /* ENOTDIR */) throw new FileNotFoundException($"Could not find file '{path}'.", path);
            return null; // let the ordinary open report it
        }
        Refuse(path, st.Mode);
        if ((st.Mode & S_IFMT) != S_IFREG) return null; // a block device or a dax device: as before

        SafeFileHandle fd;
        try { fd = Linux.Syscalls.Open(System.IO.Path.GetFullPath(path), Linux.Syscalls.O_RDONLY | O_NONBLOCK); }
        catch (Linux.SyscallException ex) when (ex.ErrorNumber is Linux.Errno.EACCES or Linux.Errno.EPERM)
        {
            throw new UnauthorizedAccessException($"Access to the path '{path}' is denied.");
        }
        catch (Linux.SyscallException ex) when (ex.ErrorNumber == Linux.Errno.ENOENT)
        {
            throw new FileNotFoundException($"Could not find file '{path}'.", path);
        }
        catch (Linux.SyscallException ex) { throw new IOException($"Cannot open '{path}': {Linux.Errno.Describe(ex.ErrorNumber)}.", ex); }
        if (!Syscalls.Stat((int)fd.DangerousGetHandle(), out var now) || (now.Mode & S_IFMT) != S_IFREG)
        {
            fd.Dispose();
            throw new ImageSourceException(path, ImageSourceKind.Fifo,
                $"'{path}' changed while it was opened and is no longer a regular file: give the path of an image file.");
        }
        return fd;
    }

    private static void Refuse(string path, uint mode)
    {
        switch (mode & S_IFMT)
        {
            case S_IFDIR:
                throw new ImageSourceException(path, ImageSourceKind.Directory,
                    $"'{path}' is a directory, not an image: build an image from it first.");
            case S_IFIFO:
                throw new ImageSourceException(path, ImageSourceKind.Fifo,
                    $"'{path}' is a named pipe (FIFO), not an image file: an image is read through a memory map. Save the bytes to a file first, then give its path.");
            case S_IFSOCK:
                throw new ImageSourceException(path, ImageSourceKind.Socket, $"'{path}' is a socket, not an image file. Give the path of an image file.");
            case S_IFCHR when !IsDaxDevice(path):
                throw new ImageSourceException(path, ImageSourceKind.CharacterDevice,
                    $"'{path}' is a character device that is not a dax device, so it holds no image. Give an image file, a dax device (/dev/daxX.Y) or a raw pmem namespace's block device (/dev/pmemN).");
        }
    }

    /// <summary>True when the character device at <paramref name="path"/> is a device-dax node (its sysfs class is dax).</summary>
    private static bool IsDaxDevice(string path)
    {
        string? real = Syscalls.RealPath(path);
        string name = System.IO.Path.GetFileName(real ?? path);
        return name.StartsWith("dax", StringComparison.Ordinal) && Directory.Exists($"/sys/bus/dax/devices/{name}");
    }
}
