using DaxFs.Core.Linux;
using Microsoft.Win32.SafeHandles;

namespace DaxFs.Core.Build;

/// <summary>
/// Writes an output file front to back through one buffer: small objects and padding are combined into
/// large writes, big file contents go kernel-to-kernel with copy_file_range. Gaps of zeros longer than the
/// buffer are skipped, leaving the file sparse there (it was sized up front). Every few MiB written, writeback of
/// them is started (sync_file_range), so the disk works while the copy goes on and the final fsync has little left.
/// </summary>
internal sealed class ImageWriterSink
{
    private const int BufferSize = 1 << 20;
    public const long CopyThreshold = 256 * 1024;

    private readonly SafeFileHandle _handle;
    private readonly int _fd;
    private readonly byte[] _buffer = new byte[BufferSize];
    private long _bufferStart;   // file offset of _buffer[0]
    private int _filled;
    private bool _copyFileRange = true;
    private const long WritebackChunk = 8L << 20;
    private long _writebackFrom = -1;  // start of the written range whose writeback has not been started
    private bool _writeback = true;

    public ImageWriterSink(SafeFileHandle handle)
    {
        _handle = handle;
        _fd = (int)handle.DangerousGetHandle();
    }

    /// <summary>The next file offset this sink writes.</summary>
    public long Position => _bufferStart + _filled;

    public void Seek(long offset)
    {
        if (offset < Position) throw new InvalidOperationException($"The writer went backwards (0x{offset:x} < 0x{Position:x}).");
        long gap = offset - Position;
        if (gap <= BufferSize - _filled)
        {
            Array.Clear(_buffer, _filled, (int)gap);
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
            if (_filled == BufferSize) Flush();
            int n = Math.Min(data.Length, BufferSize - _filled);
            data[..n].CopyTo(_buffer.AsSpan(_filled));
            _filled += n;
            data = data[n..];
        }
    }

    /// <summary>A span of <paramref name="length"/> bytes (≤ 1 MiB) in the buffer at the current position, zeroed, to fill in place.</summary>
    public Span<byte> Reserve(int length)
    {
        if (length > BufferSize) throw new ArgumentOutOfRangeException(nameof(length));
        if (BufferSize - _filled < length) Flush();
        var s = _buffer.AsSpan(_filled, length);
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
            if (_filled == BufferSize) Flush();
            int want = (int)Math.Min(length - done, BufferSize - _filled);
            nint n = Syscalls.PRead(srcFd, _buffer.AsSpan(_filled, want), srcOffset + done);
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
        if (_filled == BufferSize) Flush();
        int n = source.Read(_buffer, _filled, Math.Min(max, BufferSize - _filled));
        _filled += n;
        return n;
    }

    public void Flush()
    {
        if (_filled > 0)
        {
            RandomAccess.Write(_handle, _buffer.AsSpan(0, _filled), _bufferStart);
            if (_writebackFrom < 0) _writebackFrom = _bufferStart;
        }
        _bufferStart += _filled;
        _filled = 0;
        StartWriteback();
    }

    internal static IOException ErrnoException(int errno, string what) =>
        new($"Cannot {what}: {Syscalls.StrError(errno)}.") { HResult = errno };

}
