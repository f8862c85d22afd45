using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;

namespace DaxFs.Core.Build;

/// <summary>How a tar stream is compressed (found from its first bytes, never from a file name or media type).</summary>
public enum ArchiveCompression { None, Gzip, Zstd, Xz }

/// <summary>Opening tar streams: decompression by magic number, counting, digest checking, members of an outer tar.</summary>
internal static class ArchiveStreams
{
    /// <summary>The compression of a stream from its first bytes.</summary>
    public static ArchiveCompression Sniff(ReadOnlySpan<byte> head)
    {
        if (head.Length >= 2 && head[0] == 0x1F && head[1] == 0x8B) return ArchiveCompression.Gzip;
        if (head.Length >= 4 && head[0] == 0x28 && head[1] == 0xB5 && head[2] == 0x2F && head[3] == 0xFD) return ArchiveCompression.Zstd;
        if (head.Length >= 6 && head[0] == 0xFD && head[1] == (byte)'7' && head[2] == (byte)'z' && head[3] == (byte)'X' && head[4] == (byte)'Z' && head[5] == 0) return ArchiveCompression.Xz;
        return ArchiveCompression.None;
    }

    /// <summary>
    /// The tar stream inside <paramref name="raw"/>, decompressed when it starts with a gzip, zstd or xz magic number.
    /// A seekable uncompressed stream stays seekable (the first pass then skips file data instead of reading it).
    /// </summary>
    public static Stream OpenTar(Stream raw, out ArchiveCompression compression)
    {
        Span<byte> head = stackalloc byte[6];
        int got = 0;
        byte[] prefix;
        while (got < head.Length)
        {
            int n = raw.Read(head[got..]);
            if (n == 0) break;
            got += n;
        }
        compression = Sniff(head[..got]);
        Stream source;
        if (raw.CanSeek) { raw.Seek(-got, SeekOrigin.Current); source = raw; }
        else { prefix = head[..got].ToArray(); source = new PrefixedStream(prefix, raw); }
        return compression switch
        {
            ArchiveCompression.Gzip => new GzipReadStream(source, leaveOpen: true),
            ArchiveCompression.Zstd => new ZstdSharp.DecompressionStream(source, leaveOpen: true),
            ArchiveCompression.Xz => new SharpCompress.Compressors.Xz.XZStream(source),
            _ => source,
        };
    }

    /// <summary>Reads a stream to its end (a compressed stream's trailer, a blob's last bytes after the tar's end).</summary>
    public static void Drain(Stream s, CancellationToken ct)
    {
        var buf = System.Buffers.ArrayPool<byte>.Shared.Rent(1 << 16);
        try { while (s.Read(buf, 0, buf.Length) > 0) ct.ThrowIfCancellationRequested(); }
        finally { System.Buffers.ArrayPool<byte>.Shared.Return(buf); }
    }
}

/// <summary>A stream read once from start to end: it neither seeks, nor knows its length or position, nor writes.</summary>
internal abstract class ForwardReadStream : Stream
{
    public sealed override bool CanRead => true;
    public sealed override bool CanSeek => false;
    public sealed override bool CanWrite => false;
    public sealed override long Length => throw new NotSupportedException();
    public sealed override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public sealed override void Flush() { }
    public sealed override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public sealed override void SetLength(long value) => throw new NotSupportedException();
    public sealed override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}

/// <summary>Bytes read first (to sniff the compression), then the rest of a non-seekable stream.</summary>
internal sealed class PrefixedStream(byte[] prefix, Stream inner) : ForwardReadStream
{
    private int _at;
    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));
    public override int Read(Span<byte> buffer)
    {
        if (_at < prefix.Length)
        {
            int n = Math.Min(buffer.Length, prefix.Length - _at);
            prefix.AsSpan(_at, n).CopyTo(buffer);
            _at += n;
            return n;
        }
        return inner.Read(buffer);
    }
}

/// <summary>
/// Counts the bytes a tar reader takes, so the end of the last member is known and an archive that stops without its
/// end-of-archive block, or a member whose size runs past the end of a seekable archive, is caught. The tar reader sees
/// a forward-only stream (so members come in order and data streams read through this one); bytes it only skips
/// (<see cref="SkipBudget"/>: data nobody read) are seeked over in a seekable archive and handed to it as zeros.
/// </summary>
internal sealed class CountingStream(Stream inner) : ForwardReadStream
{
    public long Position64 { get; private set; }
    public bool InnerSeekable => inner.CanSeek;
    private long _innerLength = -1;
    /// <summary>The archive's length, read once (an fstat per member was 40,000 system calls for a 40,000-entry tarball).</summary>
    public long InnerLength => _innerLength >= 0 ? _innerLength : _innerLength = inner.Length;
    /// <summary>Bytes the tar reader will read only to discard them (the rest of a member nobody read, and its padding).</summary>
    public long SkipBudget { get; set; }
    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));
    public override int Read(Span<byte> buffer)
    {
        if (SkipBudget > 0 && inner.CanSeek && buffer.Length > 0)
        {
            int k = (int)Math.Min(buffer.Length, SkipBudget);
            inner.Seek(k, SeekOrigin.Current);
            buffer[..k].Clear();
            SkipBudget -= k;
            Position64 += k;
            return k;
        }
        int n = inner.Read(buffer);
        Position64 += n;
        return n;
    }
}

/// <summary>Computes the SHA-256 of every byte read through it; <see cref="Verify"/> reads the rest and compares.</summary>
internal sealed class HashingStream(Stream inner) : ForwardReadStream
{
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    public long BytesRead { get; private set; }
    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));
    public override int Read(Span<byte> buffer)
    {
        int n = inner.Read(buffer);
        if (n > 0) { _hash.AppendData(buffer[..n]); BytesRead += n; }
        return n;
    }

    /// <summary>Reads what is left and returns the lowercase hex SHA-256 of all the bytes.</summary>
    public string Finish(CancellationToken ct)
    {
        ArchiveStreams.Drain(this, ct);
        return Convert.ToHexString(_hash.GetHashAndReset()).ToLowerInvariant();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) { _hash.Dispose(); inner.Dispose(); }
        base.Dispose(disposing);
    }
}

/// <summary>A window [offset, offset + length) of a seekable file (a member of an outer tar), read-only and seekable.</summary>
internal sealed class WindowStream(Stream file, long offset, long length) : Stream
{
    private long _pos;
    public override int Read(byte[] buffer, int offset2, int count) => Read(buffer.AsSpan(offset2, count));
    public override int Read(Span<byte> buffer)
    {
        long left = length - _pos;
        if (left <= 0) return 0;
        if (buffer.Length > left) buffer = buffer[..(int)left];
        file.Position = offset + _pos;
        int n = file.Read(buffer);
        _pos += n;
        return n;
    }
    public override bool CanRead => true;
    public override bool CanSeek => true;
    public override bool CanWrite => false;
    public override long Length => length;
    public override long Position { get => _pos; set => _pos = value; }
    public override long Seek(long o, SeekOrigin origin)
    {
        _pos = origin switch { SeekOrigin.Begin => o, SeekOrigin.Current => _pos + o, _ => length + o };
        return _pos;
    }
    public override void Flush() { }
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset2, int count) => throw new NotSupportedException();
    protected override void Dispose(bool disposing)
    {
        if (disposing) file.Dispose();
        base.Dispose(disposing);
    }
}

/// <summary>One tar stream read member by member, with the checks every caller needs.</summary>
internal sealed class TarMemberReader : IDisposable
{
    private readonly CountingStream _counted;
    private readonly TarReader _reader;
    private readonly string _what;
    private long _dataEnd;
    private bool _any;

    /// <param name="tar">The decompressed tar stream.</param>
    /// <param name="what">The archive or blob, as messages name it.</param>
    public TarMemberReader(Stream tar, string what)
    {
        _counted = new CountingStream(tar);
        _reader = new TarReader(_counted, leaveOpen: true);
        _what = what;
    }

    /// <summary>Members read so far (global PAX headers not counted).</summary>
    public long Ordinal { get; private set; }

    /// <summary>Where the current member's data starts in the (decompressed) tar stream.</summary>
    public long DataStart { get; private set; }

    /// <summary>The next member, or null at the archive's end. Throws <see cref="DaxFsBuildException"/> for a damaged or truncated archive.</summary>
    public TarEntry? Next()
    {
        while (true)
        {
            TarEntry? e;
            _counted.SkipBudget = Math.Max(0, _dataEnd - _counted.Position64);
            try { e = _reader.GetNextEntry(copyData: false); }
            catch (Exception ex) when (IsDamage(ex))
            {
                bool truncated = ex is EndOfStreamException || ex.InnerException is EndOfStreamException || ex.Message.Contains("end", StringComparison.OrdinalIgnoreCase);
                throw new DaxFsBuildException(truncated ? BuildErrorKind.ArchiveTruncated : BuildErrorKind.ArchiveInvalid,
                    (truncated ? $"The archive {_what} ends in the middle of a member (after {Ordinal} members): it is truncated or damaged; download or copy it again."
                               : $"The archive {_what} is not a valid tar stream after {Ordinal} members: {ex.Message}. Check that it is a tar archive (plain, gzip, zstd or xz)."),
                    new[] { _what }, ex);
            }
            if (e is null)
            {
                // A whole archive ends with zero blocks; a stream that simply stops after a member was cut short.
                if (_counted.Position64 < _dataEnd + 512 || (!_any && _counted.Position64 < 512))
                    throw new DaxFsBuildException(BuildErrorKind.ArchiveTruncated,
                        $"The archive {_what} stops after {Ordinal} members without the end-of-archive block: it is truncated; download or copy it again.", new[] { _what });
                return null;
            }
            _any = true;
            if (e.EntryType == TarEntryType.GlobalExtendedAttributes) { _dataEnd = _counted.Position64; continue; } // its data was read with the header
            Ordinal++;
            long start = _counted.Position64;
            DataStart = start;
            _dataEnd = start + Pad(e.Length);
            if (e.Length < 0 || (_counted.InnerSeekable && start + e.Length > _counted.InnerLength))
                throw new DaxFsBuildException(BuildErrorKind.ArchiveTruncated,
                    $"Member '{e.Name}' of {_what} claims {e.Length} bytes, but the archive has only {Math.Max(0, _counted.InnerLength - start)} left: it is truncated or damaged.", new[] { _what, e.Name });
            return e;
        }
    }

    private static long Pad(long n) => n < 0 ? 0 : (n + 511) & ~511L;

    /// <summary>
    /// An exception that says the bytes are damaged: the tar reader's and the decompressors' own (ZstdSharp and
    /// SharpCompress throw types of their own), as opposed to cancellation, our own build errors, or running out of memory.
    /// </summary>
    public static bool IsDamage(Exception ex) =>
        ex is not (OperationCanceledException or DaxFsBuildException or OutOfMemoryException or StackOverflowException or UnauthorizedAccessException)
        && !(ex is IOException io && (io.HResult is DaxFs.Core.Linux.Errno.ENOSPC or DaxFs.Core.Linux.Errno.EDQUOT));

    /// <summary>Reads what follows the end-of-archive blocks (so a compressed stream is read to its end and checked).</summary>
    public void DrainRest(CancellationToken ct)
    {
        _counted.SkipBudget = 0;
        try { ArchiveStreams.Drain(_counted, ct); }
        catch (Exception ex) when (IsDamage(ex))
        {
            throw new DaxFsBuildException(ex is EndOfStreamException ? BuildErrorKind.ArchiveTruncated : BuildErrorKind.ArchiveInvalid,
                $"The compressed stream of {_what} is truncated or damaged after its tar data: {ex.Message} Download or copy it again.", new[] { _what }, ex);
        }
    }

    public void Dispose()
    {
        _reader.Dispose();
        _counted.Dispose();
    }
}
