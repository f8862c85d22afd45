using System.Runtime.InteropServices;

namespace DaxFs.Core.Build;

/// <summary>
/// A gzip stream decompressed by the system's zlib (libz.so.1), checked to its very end: every member's CRC-32 and length
/// (ISIZE) against its data (zlib's inflate checks both trailer fields), and a stream that stops before a member's
/// trailer is complete is an error. <see cref="System.IO.Compression.GZipStream"/> checks a trailer it reads but ends
/// quietly when the input stops before it (or inside the deflate data), so a truncated .tar.gz went unnoticed whenever
/// the tar's own end was intact. Concatenated members (pigz, bgzip, cat) are read one after the other; zero bytes after
/// the last member (padding to a block size) are allowed, anything else there is an error.
/// </summary>
internal sealed unsafe partial class GzipReadStream : ForwardReadStream
{
    private const int ZOk = 0, ZStreamEnd = 1, ZBufError = -5;
    private const int InputSize = 1 << 17;

    private readonly Stream _source;
    private readonly bool _leaveOpen;
    private ZStream* _z;
    private byte* _input;
    private bool _sourceEnded;
    private State _state = State.InMember;
    private long _members;

    private enum State { InMember, BetweenMembers, Done }

    public GzipReadStream(Stream source, bool leaveOpen)
    {
        _source = source;
        _leaveOpen = leaveOpen;
        _z = (ZStream*)NativeMemory.AllocZeroed((nuint)sizeof(ZStream));
        _input = (byte*)NativeMemory.Alloc(InputSize);
        // windowBits 15 + 16: gzip framing only (a zlib or raw deflate stream is not a .gz).
        int rc = inflateInit2_(_z, 15 + 16, "1.2.11", sizeof(ZStream));
        if (rc != ZOk)
        {
            Free();
            throw new InvalidOperationException($"zlib's inflateInit2 failed ({rc}).");
        }
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        ObjectDisposedException.ThrowIf(_z == null, this);
        if (buffer.IsEmpty) return 0;
        fixed (byte* output = buffer)
        {
            _z->NextOut = output;
            _z->AvailOut = (uint)buffer.Length;
            while (_state != State.Done)
            {
                if (_z->AvailIn == 0 && !_sourceEnded) Fill();
                if (_state == State.BetweenMembers)
                {
                    NextMember();
                    continue;
                }
                int rc = inflate(_z, 0);
                int produced = buffer.Length - (int)_z->AvailOut;
                if (rc == ZStreamEnd)
                {
                    _members++;
                    _state = State.BetweenMembers;
                    if (produced > 0) return produced;
                    continue;
                }
                if (rc is not (ZOk or ZBufError)) throw Damaged(rc);
                if (produced > 0) return produced;
                if (_z->AvailIn == 0 && _sourceEnded)
                    throw new EndOfStreamException($"The gzip stream ends in the middle of its member {_members + 1} (before its CRC-32 and length trailer is complete): it is truncated.");
            }
            return 0;
        }
    }

    /// <summary>After a member's trailer: another member (gzip magic), zero padding to the end, or the end itself.</summary>
    private void NextMember()
    {
        if (_z->AvailIn == 0)
        {
            if (_sourceEnded) { _state = State.Done; return; }
            Fill();
            return;
        }
        if (_z->NextIn[0] == 0x1F)
        {
            int rc = inflateReset(_z);
            if (rc != ZOk) throw Damaged(rc);
            _state = State.InMember;
            return;
        }
        // Only zero bytes may follow the last member.
        for (uint i = 0; i < _z->AvailIn; i++)
            if (_z->NextIn[i] != 0)
                throw new InvalidDataException($"The gzip stream has bytes after its member {_members} that are neither another gzip member nor zero padding: it is damaged.");
        _z->NextIn += _z->AvailIn;
        _z->AvailIn = 0;
    }

    private void Fill()
    {
        int n = _source.Read(new Span<byte>(_input, InputSize));
        if (n == 0) { _sourceEnded = true; return; }
        _z->NextIn = _input;
        _z->AvailIn = (uint)n;
    }

    private Exception Damaged(int rc)
    {
        string zlib = _z->Msg == 0 ? $"zlib error {rc}" : Marshal.PtrToStringUTF8(_z->Msg) ?? $"zlib error {rc}";
        string what = zlib switch
        {
            "incorrect data check" => "its CRC-32 does not match the data",
            "incorrect length check" => "its length field (ISIZE) does not match the data",
            "incorrect header check" or "unknown compression method" => "a member does not start with a gzip header",
            _ => "the compressed data is damaged",
        };
        return new InvalidDataException($"The gzip stream is damaged in its member {_members + 1}: {what} (zlib: {zlib}).");
    }

    private void Free()
    {
        if (_z != null) { inflateEnd(_z); NativeMemory.Free(_z); _z = null; }
        if (_input != null) { NativeMemory.Free(_input); _input = null; }
    }

    protected override void Dispose(bool disposing)
    {
        Free();
        if (disposing && !_leaveOpen) _source.Dispose();
        base.Dispose(disposing);
    }

    ~GzipReadStream() => Free();

    /// <summary>zlib's z_stream (LP64 layout: 112 bytes).</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct ZStream
    {
        public byte* NextIn;
        public uint AvailIn;
        public nuint TotalIn;
        public byte* NextOut;
        public uint AvailOut;
        public nuint TotalOut;
        public nint Msg;
        public nint State;
        public nint ZAlloc, ZFree, Opaque;
        public int DataType;
        public nuint Adler;
        public nuint Reserved;
    }

    private const string Zlib = "libz.so.1";

    [LibraryImport(Zlib, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int inflateInit2_(ZStream* strm, int windowBits, string version, int streamSize);

    [LibraryImport(Zlib)]
    private static partial int inflate(ZStream* strm, int flush);

    [LibraryImport(Zlib)]
    private static partial int inflateReset(ZStream* strm);

    [LibraryImport(Zlib)]
    private static partial int inflateEnd(ZStream* strm);
}
