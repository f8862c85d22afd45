using System.Security.Cryptography;
using DaxFs.Core.Errors;
using DaxFs.Core.Format;
using DaxFs.Core.Linux;

namespace DaxFs.Core.Operations;

/// <summary>Where a write stands: the phase and the bytes done of the total.</summary>
public readonly record struct DaxWriteProgress(string Phase, long BytesDone, long BytesTotal);

/// <summary>What was written and how it was checked.</summary>
public sealed record DaxWriteResult
{
    public required string Target { get; init; }
    public long BytesWritten { get; init; }
    /// <summary>SHA-256 of the bytes read back from the target (lower-case hex).</summary>
    public required string Sha256 { get; init; }
    /// <summary>True when every byte read back equals the source.</summary>
    public bool Verified { get; init; }
    public TimeSpan Elapsed { get; init; }
}

/// <summary>
/// Copies an image into a memory target and proves it by reading it back. The image is read in chunks into an ordinary
/// buffer and copied into the MAP_SHARED window; after msync the window is dropped, a fresh read-only window is mapped
/// and compared byte for byte with the source, while its SHA-256 is computed. The window is never handed to read(2):
/// dma-buf heaps and /dev/mem map VM_PFNMAP pages that file systems which pin the caller's buffer for zero-copy reads
/// (9p, FUSE and NFS direct I/O, O_DIRECT) cannot pin, and read(2) then fails with EFAULT.
/// </summary>
public static class DaxMemoryWriter
{
    public const int ChunkSize = 4 * 1024 * 1024;

    /// <summary>Throws <see cref="DaxLinuxException"/> ImageTooLarge when the image does not fit, before anything is written.</summary>
    public static void CheckFits(long imageLength, DaxMemoryTarget target)
    {
        if (imageLength > target.Size)
            throw new DaxLinuxException(DaxErrorKind.ImageTooLarge, ErrorIds.ImageLargerThanTarget,
                $"The image ({imageLength} bytes) is larger than {target.Description} ({target.Size} bytes). " +
                "Use a larger device or namespace, or make the image smaller.", target.Description, Errno.ENOSPC) { NextStep = NextStep.LargerNamespace };
    }

    /// <summary>Writes <paramref name="length"/> bytes of <paramref name="source"/> (a seekable stream, read from its start) at
    /// offset 0 of <paramref name="target"/>, then verifies them. The write is ordered so that no prefix of it mounts (see
    /// <see cref="IncompleteWrite"/>): the old superblock is made unmountable first, the body follows, the new superblock comes
    /// last, each step flushed before the next. Holds <see cref="DaxTargetLock"/> exclusively while it writes and verifies.</summary>
    public static DaxWriteResult Write(Stream source, long length, DaxMemoryTarget target, IProgress<DaxWriteProgress>? progress = null,
        CancellationToken cancellationToken = default) => Write(source, length, target, progress, cancellationToken, null);

    /// <summary>The steps of an ordered write, for fault-injection tests: each store (offset and bytes) before it is made,
    /// each flush before it is made. Throwing from either stops the write there, as a kill would.</summary>
    internal interface IWriteSteps
    {
        void Storing(long offset, ReadOnlySpan<byte> bytes);
        void Flushing();
    }

    internal static DaxWriteResult Write(Stream source, long length, DaxMemoryTarget target, IProgress<DaxWriteProgress>? progress,
        CancellationToken cancellationToken, IWriteSteps? steps, int chunkSize = ChunkSize)
    {
        if (!source.CanSeek) throw new ArgumentException("The source must be seekable (it is read twice).", nameof(source));
        if (length <= 0) throw new ArgumentOutOfRangeException(nameof(length), "Nothing to write.");
        CheckFits(length, target);
        using var writing = DaxTargetLock.Acquire(target, exclusive: true, "write an image to it");
        var clock = System.Diagnostics.Stopwatch.StartNew();

        // Block 0 is the superblock; an image shorter than the marker (not a DAXFS image) is written in one piece.
        int head = (int)Math.Min(DaxFsConstants.BlockSize, length);
        bool ordered = head >= IncompleteWrite.MarkerLength;
        var superblock = new byte[head];
        source.Position = 0;
        ReadSource(source, superblock, 0, length);

        var buffer = new byte[(int)Math.Min(chunkSize, Math.Max(length - head, 1))];
        using (var window = target.Map(0, length, writable: true))
        {
            using var sync = DmaBufCpuAccess.Begin(target, window, write: true);
            if (ordered)
            {
                // 1. The old superblock's first eight bytes become the marker: one aligned 8-byte store, flushed before any
                //    other byte changes, so the old image is either whole or refused.
                Span<byte> marker = stackalloc byte[IncompleteWrite.MarkerLength];
                IncompleteWrite.WriteMarker(marker);
                Store8(window, marker, steps);
                Flush(window, steps);
                // 2. The rest of block 0 says who is writing; then the body, all flushed.
                Store(window, IncompleteWrite.MarkerLength, IncompleteWrite.Body(head, "DaxFs", length, DateTimeOffset.UtcNow), steps);
            }
            long done = ordered ? head : 0;
            if (!ordered) source.Position = 0;
            while (done < length)
            {
                cancellationToken.ThrowIfCancellationRequested();
                int n = (int)Math.Min(buffer.Length, length - done);
                ReadSource(source, buffer.AsSpan(0, n), done, length);
                Store(window, done, buffer.AsSpan(0, n), steps);
                done += n;
                progress?.Report(new DaxWriteProgress("Writing", done, length));
            }
            if (ordered)
            {
                Flush(window, steps);
                // 3. The new superblock without its first eight bytes (the marker stays), flushed; 4. its magic and version last.
                cancellationToken.ThrowIfCancellationRequested();
                Store(window, IncompleteWrite.MarkerLength, superblock.AsSpan(IncompleteWrite.MarkerLength), steps);
                Flush(window, steps);
                Store8(window, superblock.AsSpan(0, IncompleteWrite.MarkerLength), steps);
            }
            sync.Dispose();
            Flush(window, steps);
        }

        var (same, firstDifference, hash) = Verify(source, length, target, progress, cancellationToken);
        if (!same)
            throw new DaxLinuxException(DaxErrorKind.VerifyFailed, ErrorIds.WriteVerificationFailed,
                $"What was read back from {target.Description} differs from the image, first at offset 0x{firstDifference:x}. " +
                "The memory may be faulty or something else writes to it (another host, a mounted file system): check the mounts and dmesg, then write again.",
                target.Description, Errno.EIO) { NextStep = NextStep.CheckMountsAndWriteAgain };
        return new DaxWriteResult { Target = target.Description, BytesWritten = length, Sha256 = hash, Verified = true, Elapsed = clock.Elapsed };
    }

    private static void ReadSource(Stream source, Span<byte> into, long at, long length)
    {
        try { source.ReadExactly(into); }
        catch (EndOfStreamException ex)
        {
            throw new IOException($"The image ended after about {at} of {length} bytes while being copied (did it change?).", ex);
        }
    }

    private static void ReadSource(Stream source, byte[] into, long at, long length) => ReadSource(source, into.AsSpan(), at, length);

    private static void Store(MemoryWindow window, long offset, ReadOnlySpan<byte> bytes, IWriteSteps? steps)
    {
        if (bytes.IsEmpty) return;
        steps?.Storing(offset, bytes);
        bytes.CopyTo(window.Slice(offset, bytes.Length));
    }

    /// <summary>The eight <paramref name="bytes"/> at offset 0 in one aligned 8-byte store (never torn by a crash: x86-64 and
    /// arm64 make aligned 8-byte stores single-copy atomic, and persistent memory keeps them power-fail atomic). Every
    /// target starts on a page boundary except a physical range at an address that is not a multiple of 8.</summary>
    private static unsafe void Store8(MemoryWindow window, ReadOnlySpan<byte> bytes, IWriteSteps? steps)
    {
        steps?.Storing(0, bytes);
        Volatile.Write(ref *(ulong*)window.Pointer, System.Runtime.InteropServices.MemoryMarshal.Read<ulong>(bytes));
    }

    private static void Flush(MemoryWindow window, IWriteSteps? steps)
    {
        steps?.Flushing();
        try { window.Flush(); }
        catch (SyscallException ex) when (ex.ErrorNumber is Errno.EINVAL or Errno.ENOSYS) { /* nodes without msync (dma-buf heaps) */ }
    }

    /// <summary>Compares the target's first <paramref name="length"/> bytes with <paramref name="source"/> through a fresh
    /// read-only window; returns the first differing offset (−1 when equal) and the SHA-256 of the target's bytes.</summary>
    public static (bool Same, long FirstDifference, string Sha256) Verify(Stream source, long length, DaxMemoryTarget target,
        IProgress<DaxWriteProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        source.Position = 0;
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[(int)Math.Min(ChunkSize, length)];
        long first = -1;
        using (var window = target.Map(0, length, writable: false))
        {
            using var sync = DmaBufCpuAccess.Begin(target, window, write: false);
            for (long done = 0; done < length;)
            {
                cancellationToken.ThrowIfCancellationRequested();
                int n = (int)Math.Min(buffer.Length, length - done);
                var expected = buffer.AsSpan(0, n);
                source.ReadExactly(expected);
                var actual = window.Slice(done, n);
                sha.AppendData(actual);
                if (first < 0 && !actual.SequenceEqual(expected))
                {
                    int i = 0;
                    while (i < n && actual[i] == expected[i]) i++;
                    first = done + i;
                }
                done += n;
                progress?.Report(new DaxWriteProgress("Verifying", done, length));
            }
        }
        return (first < 0, first, Convert.ToHexString(sha.GetHashAndReset()).ToLowerInvariant());
    }

    /// <summary>DMA_BUF_IOCTL_SYNC START/END around CPU access to a dma-buf window (cache maintenance on
    /// non-coherent machines); nothing for other targets or buffers that do not support it.</summary>
    private sealed unsafe class DmaBufCpuAccess : IDisposable
    {
        private readonly System.Runtime.InteropServices.SafeHandle? _fd;
        private readonly ulong _flags;
        private bool _ended;

        private DmaBufCpuAccess(System.Runtime.InteropServices.SafeHandle? fd, ulong flags) { _fd = fd; _flags = flags; }

        public static DmaBufCpuAccess Begin(DaxMemoryTarget target, MemoryWindow window, bool write)
        {
            if (target.Kind != DaxMemoryTargetKind.DmaBuf || target.BufferHandle is null) return NoSync();
            ulong rw = write ? Syscalls.DMA_BUF_SYNC_READ | Syscalls.DMA_BUF_SYNC_WRITE : Syscalls.DMA_BUF_SYNC_READ;
            ulong f = Syscalls.DMA_BUF_SYNC_START | rw;
            if (Syscalls.ioctl(target.BufferHandle, Syscalls.DMA_BUF_IOCTL_SYNC, &f) != 0) return NoSync();
            return new DmaBufCpuAccess(target.BufferHandle, rw);
        }

        public void Dispose()
        {
            if (_ended || _fd is null) return;
            _ended = true;
            ulong f = Syscalls.DMA_BUF_SYNC_END | _flags;
            Syscalls.ioctl(_fd, Syscalls.DMA_BUF_IOCTL_SYNC, &f);
        }

        private static DmaBufCpuAccess NoSync() => new(null, 0);
    }
}
