using System.Runtime.InteropServices;
using DaxFs.Core.Errors;
using DaxFs.Core.Linux;
using DaxFs.Core.Operations;
using Microsoft.Win32.SafeHandles;

namespace DaxFs;

/// <summary>
/// A dma-buf allocated from a dma-heap (output of New-DmaBuf): the open file descriptor, its size and heap. Dispose it
/// ($buf.Dispose()) when done; a mount made from it keeps its own reference, so disposing after Mount-DaxFs is fine.
/// </summary>
public sealed class DmaBuf : SafeHandle
{
    internal DmaBuf(SafeFileHandle fd, string heap, long size, string? name)
        : base(new IntPtr(-1), ownsHandle: true)
    {
        // Take over the descriptor: from here on this object closes it.
        SetHandle(fd.DangerousGetHandle());
        fd.SetHandleAsInvalid();
        Heap = heap;
        Size = size;
        Name = name;
    }

    /// <summary>The heap it came from (system, cma…).</summary>
    public string Heap { get; }
    /// <summary>Bytes (the request rounded up to whole pages).</summary>
    public long Size { get; }
    /// <summary>The name set with DMA_BUF_SET_NAME (shown in /sys/kernel/debug/dma_buf/bufinfo), if any.</summary>
    public string? Name { get; }
    /// <summary>The file descriptor number (-1 once disposed).</summary>
    public int FileDescriptor => IsClosed || IsInvalid ? -1 : (int)handle;

    public override bool IsInvalid => handle == new IntPtr(-1);

    protected override bool ReleaseHandle()
    {
        using var fd = new SafeFileHandle(handle, ownsHandle: true);
        return true;
    }

    /// <summary>Its memory as a target of the engine; a disposed buffer is refused (DmaBufClosed).</summary>
    internal DaxMemoryTarget ToTarget()
    {
        if (IsClosed || IsInvalid)
            throw new DaxLinuxException(DaxErrorKind.InvalidArgument, ErrorIds.DmaBufClosed,
                $"The {this} has been disposed; its memory is gone. Allocate another one with New-DmaBuf and write the image into it.",
                ToString(), Errno.EBADF);
        return DaxMemoryTargets.ForDmaBuf(this, Size, ToString(), Heap);
    }

    public override string ToString() => $"dma-buf ({Heap} heap, {Size} bytes, fd {FileDescriptor})";
}
