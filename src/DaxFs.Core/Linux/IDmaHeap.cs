using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using DaxFs.Core.Errors;

namespace DaxFs.Core.Linux;

/// <summary>dma-buf allocation from the kernel's dma-heaps (/dev/dma_heap/NAME).</summary>
public interface IDmaHeap
{
    /// <summary>The heaps this machine offers (system, cma…); empty when there is no /dev/dma_heap.</summary>
    IReadOnlyList<string> ListHeaps();

    /// <summary>Allocates <paramref name="size"/> bytes (rounded up to a page by the kernel) and returns the dma-buf fd.
    /// Throws <see cref="DaxLinuxException"/> (NotFound for an unknown heap, NotRoot, InvalidArgument).</summary>
    SafeFileHandle Allocate(string heap, long size);

    /// <summary>DMA_BUF_SET_NAME: the name shows in /sys/kernel/debug/dma_buf/bufinfo and fdinfo.</summary>
    void SetName(SafeHandle buffer, string name);

    /// <summary>The buffer's size (lseek to its end).</summary>
    long GetSize(SafeHandle buffer);

    /// <summary>Where the heap's node would be, for messages.</summary>
    string HeapPath(string heap);
}

/// <summary>The real dma-heap: open the heap node, DMA_HEAP_IOCTL_ALLOC.</summary>
public sealed unsafe class LinuxDmaHeap : IDmaHeap
{
    /// <summary>struct dma_heap_allocation_data.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct AllocationData
    {
        public ulong Length;
        public uint Fd;
        public uint FdFlags;
        public ulong HeapFlags;
    }

    public const int MaxNameLength = 32;

    public LinuxDmaHeap(string directory = "/dev/dma_heap") { Directory = directory; }

    public string Directory { get; }

    public string HeapPath(string heap) => Path.Combine(Directory, heap);

    public IReadOnlyList<string> ListHeaps()
    {
        try
        {
            if (!System.IO.Directory.Exists(Directory)) return Array.Empty<string>();
            var names = System.IO.Directory.EnumerateFileSystemEntries(Directory).Select(Path.GetFileName).OfType<string>().ToList();
            names.Sort(StringComparer.Ordinal);
            return names;
        }
        catch (IOException) { return Array.Empty<string>(); }
        catch (UnauthorizedAccessException) { return Array.Empty<string>(); }
    }

    public SafeFileHandle Allocate(string heap, long size)
    {
        if (size <= 0) throw new DaxLinuxException(DaxErrorKind.InvalidArgument, ErrorIds.InvalidDmaBufSize, $"A dma-buf needs a positive size, not {size}.", heap, Errno.EINVAL);
        if (heap.Contains('/') || heap is "." or "..")
            throw new DaxLinuxException(DaxErrorKind.InvalidArgument, ErrorIds.InvalidDmaHeapName, $"'{heap}' is not a heap name (names are entries of {Directory}).", heap, Errno.EINVAL);
        string path = HeapPath(heap);
        SafeFileHandle heapFd;
        try { heapFd = Syscalls.Open(path, Syscalls.O_RDWR); }
        catch (SyscallException ex) when (ex.ErrorNumber is Errno.ENOENT or Errno.ENOTDIR)
        {
            var heaps = ListHeaps();
            throw new DaxLinuxException(DaxErrorKind.NotFound, ErrorIds.DmaHeapNotFound,
                $"There is no dma-heap '{heap}' ({path} does not exist). " +
                (heaps.Count > 0 ? $"Heaps here: {string.Join(", ", heaps)}." : $"This kernel offers no dma-heaps ({Directory} is missing): it needs CONFIG_DMABUF_HEAPS and CONFIG_DMABUF_HEAPS_SYSTEM."),
                heap, ex.ErrorNumber, ex);
        }
        catch (SyscallException ex) when (ex.ErrorNumber is Errno.EACCES or Errno.EPERM)
        {
            throw new DaxLinuxException(DaxErrorKind.NotRoot, ErrorIds.NotRoot, $"Opening {path} was refused ({Errno.Describe(ex.ErrorNumber)}). Run as root.", heap, ex.ErrorNumber, ex);
        }

        using (heapFd)
        {
            var data = new AllocationData { Length = (ulong)size, Fd = 0, FdFlags = (uint)(Syscalls.O_RDWR | Syscalls.O_CLOEXEC), HeapFlags = 0 };
            if (Syscalls.ioctl(heapFd, Syscalls.DMA_HEAP_IOCTL_ALLOC, &data) != 0)
            {
                int e = Syscalls.LastErrno;
                throw new DaxLinuxException(e == Errno.ENOMEM ? DaxErrorKind.ImageTooLarge : DaxErrorKind.SystemCallFailed, ErrorIds.DmaBufAllocationFailed,
                    $"The '{heap}' heap could not allocate {size} bytes: DMA_HEAP_IOCTL_ALLOC failed with {Errno.Describe(e)}." +
                    (e == Errno.ENOMEM ? " Ask for less, or free memory." : ""), heap, e);
            }
            return new SafeFileHandle((IntPtr)(int)data.Fd, ownsHandle: true);
        }
    }

    public void SetName(SafeHandle buffer, string name) => SetBufferName(buffer, name);

    public long GetSize(SafeHandle buffer) => BufferSize(buffer);

    internal static void SetBufferName(SafeHandle buffer, string name)
    {
        byte[] bytes = Syscalls.NullTerminated(name);
        if (bytes.Length > MaxNameLength)
            throw new DaxLinuxException(DaxErrorKind.InvalidArgument, ErrorIds.DmaBufNameTooLong,
                $"A dma-buf name holds at most {MaxNameLength - 1} bytes; '{name}' has {bytes.Length - 1}.", name, Errno.EINVAL);
        fixed (byte* p = bytes)
        {
            // DMA_BUF_SET_NAME takes the string's address as its argument.
            if (Syscalls.ioctl(buffer, Syscalls.DMA_BUF_SET_NAME, p) != 0)
            {
                int e = Syscalls.LastErrno;
                throw new DaxLinuxException(DaxErrorKind.SystemCallFailed, ErrorIds.DmaBufSetNameFailed,
                    $"DMA_BUF_SET_NAME '{name}' failed: {Errno.Describe(e)}.", name, e);
            }
        }
    }

    internal static long BufferSize(SafeHandle buffer)
    {
        long n = Syscalls.lseek(buffer, 0, Syscalls.SEEK_END);
        if (n < 0) throw new SyscallException("lseek(SEEK_END)", Syscalls.LastErrno);
        Syscalls.lseek(buffer, 0, 0);
        return n;
    }
}

/// <summary>
/// A stand-in heap for tests and machines without dma-heaps: each "dma-buf" is a memfd of the requested size (any heap
/// name). It maps like a dma-buf; the kernel will not accept it as a dmabuf mount source.
/// </summary>
public sealed class MemfdDmaHeap : IDmaHeap
{
    private readonly Dictionary<IntPtr, string> _names = new();

    public IReadOnlyList<string> ListHeaps() => new[] { "system" };

    public string HeapPath(string heap) => "memfd:" + heap;

    public SafeFileHandle Allocate(string heap, long size)
    {
        if (size <= 0) throw new DaxLinuxException(DaxErrorKind.InvalidArgument, ErrorIds.InvalidDmaBufSize, $"A dma-buf needs a positive size, not {size}.", heap, Errno.EINVAL);
        int fd = Syscalls.memfd_create("daxfs-" + heap, 1 /* MFD_CLOEXEC */);
        if (fd < 0) throw new SyscallException("memfd_create", Syscalls.LastErrno);
        var handle = new SafeFileHandle((IntPtr)fd, ownsHandle: true);
        long rounded = (size + Environment.SystemPageSize - 1) / Environment.SystemPageSize * Environment.SystemPageSize;
        if (Syscalls.ftruncate(handle, rounded) != 0)
        {
            int e = Syscalls.LastErrno;
            handle.Dispose();
            throw new SyscallException("ftruncate", e);
        }
        return handle;
    }

    public void SetName(SafeHandle buffer, string name)
    {
        if (Syscalls.NullTerminated(name).Length > LinuxDmaHeap.MaxNameLength)
            throw new DaxLinuxException(DaxErrorKind.InvalidArgument, ErrorIds.DmaBufNameTooLong,
                $"A dma-buf name holds at most {LinuxDmaHeap.MaxNameLength - 1} bytes; '{name}' has {Syscalls.NullTerminated(name).Length - 1}.", name, Errno.EINVAL);
        lock (_names) _names[buffer.DangerousGetHandle()] = name;
    }

    public long GetSize(SafeHandle buffer) => LinuxDmaHeap.BufferSize(buffer);
}
