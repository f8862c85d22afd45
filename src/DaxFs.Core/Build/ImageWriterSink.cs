using System.Runtime.InteropServices;
using DaxFs.Core.Linux;
using Microsoft.Win32.SafeHandles;

namespace DaxFs.Core.Build;

/// <summary>
/// Writes an output file front to back through one buffer: small objects and padding are combined into
/// large writes, big file contents go kernel-to-kernel with copy_file_range. Gaps of zeros longer than the
/// buffer are skipped, leaving the file sparse there (it was sized up front). Every few MiB written, writeback of
/// them is started (sync_file_range), so the disk works while the copy goes on and the final fsync has little left.
/// </summary>
/// <remarks>
/// A sink made with <c>direct</c> writes its buffer with direct I/O (O_DIRECT, on a descriptor of its own): the bytes go
/// from the buffer to the disk without a page-cache copy, so the build neither fills memory with the image nor leaves
/// writeback for the final fsync. Direct writes start and end on <see cref="DirectAlign"/> boundaries: a write that
/// continues keeps its last partial block in the buffer, and one before a jump (or at the end) is padded with zeros to
/// the boundary. That is only right because every object of an image starts on a block boundary (4096 or more) and
/// owns its padding up to the next one, which is zeros, and a jump always lands on an object's start. A file system
/// that refuses direct I/O (or its alignment) gets the same bytes through the page cache.
/// </remarks>
internal sealed class ImageWriterSink : IDisposable
{
    private const int BufferSize = 1 << 20;
    public const long CopyThreshold = 256 * 1024;
    /// <summary>The offset and length unit of a direct write (the page size of x86-64; a multiple of any disk's sector).</summary>
    public const int DirectAlign = 4096;

    private readonly SafeFileHandle _handle;
    private readonly int _fd;
    // Pinned, with room to start the buffer on a DirectAlign boundary (_base) for direct writes.
    private readonly byte[] _array = GC.AllocateArray<byte>(BufferSize + DirectAlign, pinned: true);
    private readonly int _base;
    private int _directFd = -1;
    private long _bufferStart;   // file offset of the buffer's first byte
    private int _filled;
    private bool _copyFileRange = true;
    private const long WritebackChunk = 8L << 20;
    private long _writebackFrom = -1;  // start of the written range whose writeback has not been started
    private bool _writeback = true;

    public ImageWriterSink(SafeFileHandle handle, bool direct = false)
    {
        _handle = handle;
        _fd = (int)handle.DangerousGetHandle();
        unsafe
        {
            nint at = (nint)System.Runtime.CompilerServices.Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_array));
            _base = (int)((DirectAlign - at % DirectAlign) % DirectAlign);
        }
        if (direct)
        {
            // A descriptor of the same file of its own, opened for direct writes (the file's handle stays as it is for the
            // other writers); none where the file system refuses direct I/O.
            _directFd = Syscalls.OpenAt(Syscalls.AT_FDCWD, System.Text.Encoding.ASCII.GetBytes($"/proc/self/fd/{_fd}"), Syscalls.O_WRONLY | Syscalls.O_DIRECT);
            if (_directFd >= 0) _copyFileRange = false; // the data goes through the buffer and straight to the disk
        }
    }

    /// <summary>True while this sink writes with direct I/O.</summary>
    public bool Direct => _directFd >= 0;

    private Span<byte> Buffer => _array.AsSpan(_base, BufferSize);

    /// <summary>The next file offset this sink writes.</summary>
    public long Position => _bufferStart + _filled;

    public void Seek(long offset)
    {
        if (offset < Position) throw new InvalidOperationException($"The writer went backwards (0x{offset:x} < 0x{Position:x}).");
        long gap = offset - Position;
        if (gap <= BufferSize - _filled)
        {
            Buffer.Slice(_filled, (int)gap).Clear();
            _filled += (int)gap;
            return;
        }
        Flush();
        _bufferStart = offset;
    }

    /// <summary>
    /// Goes forward to <paramref name="offset"/> after flushing what is buffered, writing nothing in between (what lies
    /// there was written before or stays as it is). Writeback goes on in large ranges, over the skipped bytes too.
    /// </summary>
    public void Skip(long offset)
    {
        if (offset < Position) throw new InvalidOperationException($"The writer went backwards (0x{offset:x} < 0x{Position:x}).");
        Flush();
        _bufferStart = offset;
    }

    /// <summary>Starts writing at <paramref name="offset"/> (any offset, forward or back) after flushing what is buffered.</summary>
    public void SeekAbsolute(long offset)
    {
        Flush();
        StartWriteback(force: true);
        _writebackFrom = -1;
        _bufferStart = offset;
    }

    /// <summary>Starts writeback of what was written since the last start, once it is <see cref="WritebackChunk"/> or more (or when <paramref name="force"/>d).</summary>
    private void StartWriteback(bool force = false)
    {
        long end = _bufferStart;
        if (!_writeback || _writebackFrom < 0 || end <= _writebackFrom || (!force && end - _writebackFrom < WritebackChunk)) return;
        if (!Syscalls.StartWriteback(_fd, _writebackFrom, end - _writebackFrom)) _writeback = false; // not supported here: fsync does it all
        _writebackFrom = end;
    }

    /// <summary>Starts writeback of everything this sink wrote that has not been started yet.</summary>
    public void Finish()
    {
        Flush();
        StartWriteback(force: true);
    }

    public void Write(ReadOnlySpan<byte> data)
    {
        while (!data.IsEmpty)
        {
            if (_filled == BufferSize) FlushContinuing();
            int n = Math.Min(data.Length, BufferSize - _filled);
            data[..n].CopyTo(Buffer[_filled..]);
            _filled += n;
            data = data[n..];
        }
    }

    /// <summary>A span of <paramref name="length"/> bytes (≤ 1 MiB) in the buffer at the current position, zeroed, to fill in place.</summary>
    public Span<byte> Reserve(int length)
    {
        if (length > BufferSize) throw new ArgumentOutOfRangeException(nameof(length));
        if (BufferSize - _filled < length) FlushContinuing();
        if (BufferSize - _filled < length) Flush(); // the partial block kept for direct I/O leaves too little room: through the page cache
        var s = Buffer.Slice(_filled, length);
        s.Clear();
        _filled += length;
        return s;
    }

    /// <summary>
    /// Copies exactly <paramref name="length"/> bytes of <paramref name="srcFd"/> from offset <paramref name="srcOffset"/>
    /// (a file: 0; a member of an uncompressed tarball: where its data starts). Returns false when the source ended early
    /// (it shrank). Calls <paramref name="onBytes"/> as bytes go by.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public bool CopyFrom(int srcFd, long srcOffset, long length, Action<long> onBytes, CancellationToken ct)
    {
        long done = 0;
        if (length >= CopyThreshold && _copyFileRange)
        {
            Flush();
            while (done < length)
            {
                ct.ThrowIfCancellationRequested();
                long want = Math.Min(length - done, 16L << 20);
                nint n = Syscalls.CopyFileRange(srcFd, srcOffset + done, _fd, _bufferStart + done, want);
                if (n < 0)
                {
                    int e = Syscalls.LastErrno;
                    if (done == 0 && e is Errno.EXDEV or Errno.EINVAL or Errno.ENOSYS or Errno.EOPNOTSUPP or Errno.EPERM)
                    {
                        _copyFileRange = false; // this pair of filesystems cannot; read and write instead
                        break;
                    }
                    throw ErrnoException(e, "copy");
                }
                if (n == 0) return false;
                done += n;
                onBytes(n);
            }
            if (done == length)
            {
                if (_writebackFrom < 0) _writebackFrom = _bufferStart;
                _bufferStart += length;
                StartWriteback();
                return true;
            }
        }
        while (done < length)
        {
            ct.ThrowIfCancellationRequested();
            if (_filled == BufferSize) FlushContinuing();
            int want = (int)Math.Min(length - done, BufferSize - _filled);
            nint n = Syscalls.PRead(srcFd, Buffer.Slice(_filled, want), srcOffset + done);
            if (n < 0) throw ErrnoException(Syscalls.LastErrno, "read");
            if (n == 0) return false;
            _filled += (int)n;
            done += n;
            onBytes(n);
        }
        return true;
    }

    /// <summary>
    /// Reads up to <paramref name="max"/> bytes of <paramref name="source"/> straight into the buffer at the current
    /// position (flushing it first when full). Returns how many were read: 0 when the source has ended.
    /// </summary>
    public int WriteFrom(Stream source, int max)
    {
        if (_filled == BufferSize) FlushContinuing();
        int n = source.Read(_array, _base + _filled, Math.Min(max, BufferSize - _filled));
        _filled += n;
        return n;
    }

    /// <summary>
    /// Writes what is buffered before the writer goes elsewhere (or stops). A direct write is padded with zeros to the next
    /// <see cref="DirectAlign"/> boundary: the rest of the last object's own padding (see the remarks).
    /// </summary>
    public void Flush()
    {
        if (_filled > 0)
        {
            int length = _filled;
            if (_directFd >= 0 && _bufferStart % DirectAlign == 0)
            {
                int padded = (int)AlignUp(_filled, DirectAlign);
                Buffer[_filled..padded].Clear();
                length = padded;
            }
            WriteOut(length);
        }
        _bufferStart += _filled;
        _filled = 0;
        StartWriteback();
    }

    /// <summary>
    /// Makes room in the buffer while the writer goes on at <see cref="Position"/>: a direct write takes the whole blocks
    /// and keeps the last partial one in the buffer (it is written with what follows it).
    /// </summary>
    private void FlushContinuing()
    {
        if (_directFd < 0 || _bufferStart % DirectAlign != 0) { Flush(); return; }
        int whole = _filled & ~(DirectAlign - 1);
        if (whole == 0) return;
        WriteOut(whole);
        int rest = _filled - whole;
        Buffer.Slice(whole, rest).CopyTo(Buffer);
        _bufferStart += whole;
        _filled = rest;
    }

    /// <summary>Writes the buffer's first <paramref name="length"/> bytes at <see cref="_bufferStart"/>: directly when this sink
    /// can, else through the page cache.</summary>
    private void WriteOut(int length)
    {
        int done = 0;
        while (_directFd >= 0 && done < length)
        {
            nint n = Syscalls.PWrite(_directFd, Buffer.Slice(done, length - done), _bufferStart + done);
            if (n < 0)
            {
                int e = Syscalls.LastErrno;
                if (e != Errno.EINVAL) throw ErrnoException(e, "write");
                StopDirect(); // the file system wants another alignment, or no direct I/O here: the page cache does it
                break;
            }
            done += (int)n;
            if (n % DirectAlign != 0) StopDirect(); // a short write off a boundary: the rest goes through the page cache
        }
        if (done < length)
        {
            RandomAccess.Write(_handle, Buffer.Slice(done, length - done), _bufferStart + done);
            if (_writebackFrom < 0) _writebackFrom = _bufferStart + done;
        }
    }

    private void StopDirect()
    {
        if (_directFd < 0) return;
        Syscalls.close(_directFd);
        _directFd = -1;
    }

    /// <summary>Closes the direct descriptor (the file's handle belongs to the caller).</summary>
    public void Dispose() => StopDirect();

    private static long AlignUp(long v, long a) => (v + a - 1) & ~(a - 1);

    internal static IOException ErrnoException(int errno, string what) =>
        new($"Cannot {what}: {Syscalls.StrError(errno)}.") { HResult = errno };

}
