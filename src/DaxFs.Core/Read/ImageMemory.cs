using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;
using DaxFs.Core.Format;

namespace DaxFs.Core.Read;

/// <summary>
/// A bounded, read-only window on an image: a mapped file, a mapped device, a dma-buf or a byte array.
/// Every access is checked against <see cref="Length"/> first, so no offset taken from the image can reach
/// memory outside the window.
/// </summary>
public abstract class ImageMemory : IDisposable
{
    /// <summary>Bytes in the window.</summary>
    public abstract long Length { get; }

    /// <summary>Where the bytes come from (a path, a device name), for messages.</summary>
    public abstract string Source { get; }

    /// <summary>True when [offset, offset+length) lies inside the window (overflow-safe).</summary>
    public bool Contains(ulong offset, ulong length) =>
        offset <= (ulong)Length && length <= (ulong)Length - offset;

    /// <summary>A span over [offset, offset+length); throws <see cref="DaxFsFormatException"/> with <paramref name="ruleId"/> when outside.</summary>
    public ReadOnlySpan<byte> Span(ulong offset, int length, string ruleId = RuleIds.ImageTruncated)
    {
        if (length < 0 || !Contains(offset, (ulong)length))
            throw new DaxFsFormatException(ruleId, (long)Math.Min(offset, long.MaxValue),
                $"{length} bytes at offset 0x{offset:x} lie outside the image ({Length} bytes).");
        return GetSpanUnchecked((long)offset, length);
    }

    /// <summary>
    /// A hint that the bytes at <paramref name="offset"/> will be read soon: the processor starts loading their cache line
    /// (x86 prefetch; elsewhere nothing). Only an offset inside the window is passed on; a prefetch reads nothing for the
    /// program and never faults, so it changes no result.
    /// </summary>
    public unsafe void Prefetch(ulong offset)
    {
        if (!System.Runtime.Intrinsics.X86.Sse.IsSupported || offset >= (ulong)Length) return;
        fixed (byte* p = GetSpanUnchecked((long)offset, 1)) System.Runtime.Intrinsics.X86.Sse.Prefetch0(p);
    }

    /// <summary>Copies [offset, offset+destination.Length) into <paramref name="destination"/> (checked).</summary>
    public void Read(ulong offset, Span<byte> destination) => Span(offset, destination.Length).CopyTo(destination);

    /// <summary>Implementations return a span over memory already checked to be inside the window.</summary>
    protected abstract ReadOnlySpan<byte> GetSpanUnchecked(long offset, int length);

    public abstract void Dispose();
}

/// <summary>An image held in a byte array (tests, small dumps).</summary>
public sealed class ByteImageMemory : ImageMemory
{
    private readonly byte[] _bytes;
    private readonly string _source;

    public ByteImageMemory(byte[] bytes, string source = "(memory)")
    {
        _bytes = bytes ?? throw new ArgumentNullException(nameof(bytes));
        _source = source;
    }

    public override long Length => _bytes.LongLength;
    public override string Source => _source;
    protected override ReadOnlySpan<byte> GetSpanUnchecked(long offset, int length) => _bytes.AsSpan((int)offset, length);
    public override void Dispose() { }
}

/// <summary>
/// Memory over a pointer that someone else mapped (a dax device, a dma-buf). The owner passed in is
/// disposed with this object.
/// </summary>
public sealed unsafe class PointerImageMemory : ImageMemory
{
    private readonly byte* _base;
    private readonly long _length;
    private readonly string _source;
    private IDisposable? _owner;

    public PointerImageMemory(IntPtr address, long length, string source, IDisposable? owner)
    {
        _base = (byte*)address;
        _length = length;
        _source = source;
        _owner = owner;
    }

    public override long Length => _owner is null ? throw new ObjectDisposedException(_source) : _length;
    public override string Source => _source;
    protected override ReadOnlySpan<byte> GetSpanUnchecked(long offset, int length) =>
        _owner is null ? throw new ObjectDisposedException(_source) : new ReadOnlySpan<byte>(_base + offset, length);

    public override void Dispose()
    {
        _owner?.Dispose();
        _owner = null;
    }
}

/// <summary>A read-only memory map of an image file. The file is opened once; the map stays valid if
/// the path is later replaced (rename), so a reader keeps seeing the image it opened.</summary>
public sealed unsafe class MappedFileImageMemory : ImageMemory
{
    private readonly MemoryMappedFile? _map;
    private readonly MemoryMappedViewAccessor? _view;
    private readonly byte* _pointer;
    private readonly long _length;
    private readonly string _path;
    private bool _disposed;

    private MappedFileImageMemory(string path, MemoryMappedFile? map, MemoryMappedViewAccessor? view, byte* pointer, long length)
    {
        _path = path; _map = map; _view = view; _pointer = pointer; _length = length;
    }

    /// <summary>Maps <paramref name="path"/> read-only. An empty file gives an empty window.</summary>
    /// <exception cref="ImageSourceException">The path is a directory, a FIFO, a socket or a character device that is not a
    /// dax device (checked before any open, so a FIFO never blocks).</exception>
    public static MappedFileImageMemory Open(string path)
    {
        var regular = ImageSource.OpenRegular(path);
        using var stream = regular is not null
            ? new FileStream(regular, FileAccess.Read, 1)
            : new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1, FileOptions.None);
        long length = stream.Length;
        if (length == 0)
            return new MappedFileImageMemory(path, null, null, null, 0);
        var map = MemoryMappedFile.CreateFromFile(stream, null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: false);
        MemoryMappedViewAccessor? view = null;
        try
        {
            view = map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
            byte* p = null;
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
            p += view.PointerOffset;
            return new MappedFileImageMemory(path, map, view, p, length);
        }
        catch
        {
            view?.Dispose();
            map.Dispose();
            throw;
        }
    }

    public override long Length => _disposed ? throw new ObjectDisposedException(_path) : _length;
    public override string Source => _path;

    protected override ReadOnlySpan<byte> GetSpanUnchecked(long offset, int length)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return length == 0 ? ReadOnlySpan<byte>.Empty : new ReadOnlySpan<byte>(_pointer + offset, length);
    }

    public override void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (_view is not null)
        {
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
            _view.Dispose();
        }
        _map?.Dispose();
    }
}
