namespace DaxFs.TreeTools;

/// <summary>
/// Lays images into the file that backs the VM's NVDIMM (run-vm.sh --memory-file), so that the guest finds every image
/// in memory at a known offset without copying it over 9p (which moves a few MB/s under emulation). Zero blocks are
/// skipped, so the file stays sparse.
/// </summary>
public static class NvdimmFile
{
    public const int Block = 4096;

    /// <summary>Copies <paramref name="image"/> into <paramref name="memoryFile"/> at <paramref name="offset"/>; the file
    /// grows as needed. Returns the bytes copied (the image's length).</summary>
    public static long Place(string memoryFile, long offset, string image)
    {
        using var src = new FileStream(image, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        return Place(memoryFile, offset, src);
    }

    /// <summary>Copies the bytes of an image held in memory (a hostile case) into <paramref name="memoryFile"/>.</summary>
    public static long Place(string memoryFile, long offset, byte[] image)
    {
        using var src = new MemoryStream(image, writable: false);
        return Place(memoryFile, offset, src);
    }

    private static long Place(string memoryFile, long offset, Stream src)
    {
        if (offset % Block != 0) throw new ArgumentException($"Offset {offset} is not a multiple of {Block}.", nameof(offset));
        using var dst = new FileStream(memoryFile, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read, 1 << 20);
        var buf = new byte[1 << 20];
        long done = 0;
        while (true)
        {
            int n = src.ReadAtLeast(buf, buf.Length, throwOnEndOfStream: false);
            if (n == 0) break;
            for (int at = 0; at < n; at += Block)
            {
                int len = Math.Min(Block, n - at);
                var chunk = buf.AsSpan(at, len);
                if (chunk.IndexOfAnyExcept((byte)0) < 0) continue;
                dst.Position = offset + done + at;
                dst.Write(chunk);
            }
            done += n;
        }
        if (dst.Length < offset + done) dst.SetLength(offset + done);
        return done;
    }
}
