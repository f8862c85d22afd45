namespace DaxFs.Core.Read;

/// <summary>A seekable read-only stream over a fixed-length window; subclasses say where the bytes come from.</summary>
internal abstract class ReadOnlyWindowStream : Stream
{
    private readonly long _length;
    private long _position;

    protected ReadOnlyWindowStream(long length) => _length = length;

    /// <summary>Reads up to <paramref name="buffer"/>.Length bytes at <paramref name="position"/> (already clamped to the window).</summary>
    protected abstract int ReadAt(long position, Span<byte> buffer);

    public override bool CanRead => true;
    public override bool CanSeek => true;
    public override bool CanWrite => false;
    public override long Length => _length;
    public override long Position { get => _position; set => Seek(value, SeekOrigin.Begin); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        long left = _length - _position;
        if (left <= 0 || buffer.Length == 0) return 0;
        int got = ReadAt(_position, buffer[..(int)Math.Min(left, buffer.Length)]);
        _position += got;
        return got;
    }

    public override long Seek(long offset, SeekOrigin origin)
    {
        long p = origin switch { SeekOrigin.Begin => offset, SeekOrigin.Current => _position + offset, _ => _length + offset };
        if (p < 0) throw new IOException("Seek before the start of the content.");
        return _position = p;
    }

    public override void Flush() { }
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}

/// <summary>A file's bytes in an image window (checked by the caller; each read is checked again).</summary>
internal sealed class ImageContentStream : ReadOnlyWindowStream
{
    private readonly ImageMemory _memory;
    private readonly ulong _start;

    public ImageContentStream(ImageMemory memory, ulong start, long length) : base(length)
    {
        _memory = memory;
        _start = start;
    }

    protected override int ReadAt(long position, Span<byte> buffer)
    {
        _memory.Span(_start + (ulong)position, buffer.Length).CopyTo(buffer);
        return buffer.Length;
    }
}

/// <summary>A window of another stream (split images: a file's bytes in the backing file).</summary>
internal sealed class WindowStream : ReadOnlyWindowStream
{
    private readonly Stream _inner;
    private readonly long _start;

    public WindowStream(Stream inner, long start, long length) : base(length)
    {
        _inner = inner;
        _start = start;
    }

    protected override int ReadAt(long position, Span<byte> buffer)
    {
        _inner.Position = _start + position;
        return _inner.Read(buffer);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) _inner.Dispose();
        base.Dispose(disposing);
    }
}
