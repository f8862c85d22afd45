namespace DaxFs.Core.Read;

/// <summary>A seekable read-only stream over a checked range of an image window.</summary>
internal sealed class ImageContentStream : Stream
{
    private readonly ImageMemory _memory;
    private readonly ulong _start;
    private readonly long _length;
    private long _position;

    public ImageContentStream(ImageMemory memory, ulong start, long length)
    {
        _memory = memory; _start = start; _length = length;
        if (length > 0) memory.Span(start, 0); // the range was checked by the caller; this checks the start once more
    }

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
        int n = (int)Math.Min(left, buffer.Length);
        _memory.Span(_start + (ulong)_position, n).CopyTo(buffer);
        _position += n;
        return n;
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

/// <summary>A read-only window of another stream (split images: a file's bytes in the backing file).</summary>
internal sealed class WindowStream : Stream
{
    private readonly Stream _inner;
    private readonly long _start, _length;
    private long _position;

    public WindowStream(Stream inner, long start, long length) { _inner = inner; _start = start; _length = length; }

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
        int n = (int)Math.Min(left, buffer.Length);
        _inner.Position = _start + _position;
        int got = _inner.Read(buffer[..n]);
        _position += got;
        return got;
    }

    public override long Seek(long offset, SeekOrigin origin)
    {
        long p = origin switch { SeekOrigin.Begin => offset, SeekOrigin.Current => _position + offset, _ => _length + offset };
        if (p < 0) throw new IOException("Seek before the start of the content.");
        return _position = p;
    }

    protected override void Dispose(bool disposing) { if (disposing) _inner.Dispose(); base.Dispose(disposing); }
    public override void Flush() { }
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
