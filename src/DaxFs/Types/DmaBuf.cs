using System.Collections.Concurrent;
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
    private static long s_lastId;
    // The open buffers by ImageName, so that items and branches read from one (which carry only that name, as ImagePath)
    // find it again when piped on. The name holds Id, which no other buffer of the process ever gets: a name can never
    // find a newer buffer that reuses the fd. An entry goes when its buffer is disposed (or finalized).
    private static readonly ConcurrentDictionary<string, WeakReference<DmaBuf>> s_open = new(StringComparer.Ordinal);

    internal DmaBuf(SafeFileHandle fd, string heap, long size, string? name)
        : base(new IntPtr(-1), ownsHandle: true)
    {
        // Take over the descriptor: from here on this object closes it.
        SetHandle(fd.DangerousGetHandle());
        fd.SetHandleAsInvalid();
        Heap = heap;
        Size = size;
        Name = name;
        Id = Interlocked.Increment(ref s_lastId);
        ImageName = $"dma-buf #{Id} ({Heap} heap, {Size} bytes, fd {(int)handle})";
        s_open[ImageName] = new WeakReference<DmaBuf>(this);
    }

    /// <summary>A number for this buffer that no other buffer of this PowerShell process gets, even after it is disposed.</summary>
    public long Id { get; }

    /// <summary>The heap it came from (system, cma…).</summary>
    public string Heap { get; }
    /// <summary>Bytes (the request rounded up to whole pages).</summary>
    public long Size { get; }
    /// <summary>The name set with DMA_BUF_SET_NAME (shown in /sys/kernel/debug/dma_buf/bufinfo), if any.</summary>
    public string? Name { get; }
    /// <summary>The file descriptor number (-1 once disposed).</summary>
    public int FileDescriptor => IsClosed || IsInvalid ? -1 : (int)handle;

    public override bool IsInvalid => handle == new IntPtr(-1);

    /// <summary>The name images read from this buffer carry (their ImagePath): unique in the process, never reused.</summary>
    internal string ImageName { get; }

    /// <summary>
    /// The open buffer an image name (<see cref="ImageName"/>) belongs to. False when the name is no buffer's; true with
    /// null when it was a buffer of this process that has been disposed since (its memory is gone).
    /// </summary>
    internal static bool TryFind(string imageName, out DmaBuf? buffer)
    {
        buffer = null;
        if (s_open.TryGetValue(imageName, out var weak))
        {
            if (weak.TryGetTarget(out var b) && !b.IsClosed) buffer = b;
            return true;
        }
        // Not (or no longer) registered: a name of this form that is not a file is a disposed buffer's (ids only grow).
        return imageName.StartsWith("dma-buf #", StringComparison.Ordinal) && !File.Exists(imageName)
            && long.TryParse(imageName.AsSpan(9, Math.Max(0, imageName.IndexOf(' ', 9) - 9)), out long id) && id > 0 && id <= Interlocked.Read(ref s_lastId);
    }

    protected override bool ReleaseHandle()
    {
        s_open.TryRemove(ImageName, out _);
        using var fd = new SafeFileHandle(handle, ownsHandle: true);
        return true;
    }

    /// <summary>Its memory as a target of the engine; a disposed buffer is refused (DmaBufClosed).</summary>
    internal DaxMemoryTarget ToTarget()
    {
        if (IsClosed || IsInvalid)
            throw new DaxLinuxException(DaxErrorKind.InvalidArgument, ErrorIds.DmaBufClosed,
                $"The {ImageName} has been disposed; its memory is gone. Allocate another one with New-DmaBuf and write the image into it.",
                ToString(), Errno.EBADF);
        return DaxMemoryTargets.ForDmaBuf(this, Size, ImageName, Heap);
    }

    /// <summary>Its <see cref="ImageName"/>: "dma-buf #ID (HEAP heap, SIZE bytes, fd FD)", the fd it had when allocated.</summary>
    public override string ToString() => ImageName;
}
