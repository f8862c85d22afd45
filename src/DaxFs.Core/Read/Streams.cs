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

/// <summary>
/// Where a run of a file's bytes comes from, in a view that pieces a file together (a branch's writes over the base, an
/// overlay's pages over the base): the image (absolute offset) or the backing file of a split image.
/// </summary>
public readonly record struct ContentSegment(long Position, long Length, long Source, bool FromBackingFile);

/// <summary>
/// A file's bytes read through a plan of <see cref="ContentSegment"/>s in position order; a read from the image outside it
/// is refused with <c>boundsRule</c>, and the backing file is opened on first need.
/// </summary>
internal sealed class SegmentStream(DaxFsImageReader reader, IReadOnlyList<ContentSegment> plan, string boundsRule)
    : ReadOnlyWindowStream(plan.Count == 0 ? 0 : plan[^1].Position + plan[^1].Length)
{
    private FileStream? _backing;

    protected override int ReadAt(long position, Span<byte> buffer)
    {
        int lo = 0, hi = plan.Count - 1;
        while (lo < hi)
        {
            int mid = (lo + hi + 1) / 2;
            if (plan[mid].Position <= position) lo = mid; else hi = mid - 1;
        }
        var seg = plan[lo];
        long into = position - seg.Position;
        int n = (int)Math.Min(buffer.Length, seg.Length - into);
        if (!seg.FromBackingFile)
        {
            reader.Memory.Span((ulong)(seg.Source + into), n, boundsRule).CopyTo(buffer);
            return n;
        }
        _backing ??= new FileStream(reader.BackingFile!, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1, FileOptions.RandomAccess);
        _backing.Position = seg.Source + into;
        int got = _backing.Read(buffer[..n]);
        if (got == 0) throw new Format.DaxFsFormatException(Format.RuleIds.InodeDataBounds, -1, $"The backing file ends before offset {seg.Source + into}.");
        return got;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) _backing?.Dispose();
        base.Dispose(disposing);
    }
}
