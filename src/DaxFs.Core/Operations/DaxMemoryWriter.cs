using System.Security.Cryptography;
using DaxFs.Core.Errors;
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
                "Use a larger device or namespace (New-DaxNamespace -Size), or make the image smaller.", target.Description, Errno.ENOSPC);
    }

    /// <summary>Writes <paramref name="length"/> bytes of <paramref name="source"/> (a seekable stream, read from its start) at
    /// offset 0 of <paramref name="target"/>, then verifies them.</summary>
    public static DaxWriteResult Write(Stream source, long length, DaxMemoryTarget target, IProgress<DaxWriteProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        if (!source.CanSeek) throw new ArgumentException("The source must be seekable (it is read twice).", nameof(source));
        if (length <= 0) throw new ArgumentOutOfRangeException(nameof(length), "Nothing to write.");
        CheckFits(length, target);
        var clock = System.Diagnostics.Stopwatch.StartNew();

        source.Position = 0;
        var buffer = new byte[(int)Math.Min(ChunkSize, length)];
        using (var window = target.Map(0, length, writable: true))
        {
            using var sync = DmaBufCpuAccess.Begin(target, window, write: true);
            for (long done = 0; done < length;)
            {
                cancellationToken.ThrowIfCancellationRequested();
                int n = (int)Math.Min(buffer.Length, length - done);
                try { source.ReadExactly(buffer, 0, n); }
                catch (EndOfStreamException ex)
                {
                    throw new IOException($"The image ended after {done} of {length} bytes while being copied (did it change?).", ex);
                }
                buffer.AsSpan(0, n).CopyTo(window.Slice(done, n));
                done += n;
                progress?.Report(new DaxWriteProgress("Writing", done, length));
            }
            sync.Dispose();
            try { window.Flush(); }
            catch (SyscallException ex) when (ex.ErrorNumber is Errno.EINVAL or Errno.ENOSYS) { /* nodes without msync (dma-buf heaps) */ }
        }

        var (same, firstDifference, hash) = Verify(source, length, target, progress, cancellationToken);
        if (!same)
            throw new DaxLinuxException(DaxErrorKind.VerifyFailed, ErrorIds.WriteVerificationFailed,
                $"What was read back from {target.Description} differs from the image, first at offset 0x{firstDifference:x}. " +
                "The memory may be faulty or something else writes to it (another host, a mounted file system): check Get-DaxFsMount and dmesg, then write again.",
                target.Description, Errno.EIO);
        return new DaxWriteResult { Target = target.Description, BytesWritten = length, Sha256 = hash, Verified = true, Elapsed = clock.Elapsed };
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
