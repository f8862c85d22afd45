using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using DaxFs.Core.Build;

namespace DaxFs.Fuzz;

/// <summary>
/// The tar and OCI reader fuzz target: the input is written as a file and built into an image the way New-DaxFsImage
/// builds from it (a tarball, or an OCI layout in a tar / docker archive when it looks like one). Allowed outcome:
/// an image, or a <see cref="DaxFsBuildException"/>. A crash is any other exception, an image the reader or validator
/// rejects (<see cref="FuzzTarget.Run"/> on its bytes), or anything left in the output folder besides the image.
/// </summary>
public static class ArchiveFuzzTarget
{
    private static readonly string s_work = Path.Combine(Path.GetTempPath(), $"daxfs-archive-fuzz-{Environment.ProcessId}");

    /// <summary>Refused (with the error kind) or built (with the image's size).</summary>
    public readonly record struct Outcome(BuildErrorKind? Refused, long ImageBytes)
    {
        public override string ToString() => Refused is { } k ? $"refused ({k})" : $"built {ImageBytes} bytes";
    }

    public static Outcome Run(byte[] data, CancellationToken ct = default)
    {
        string dir = Path.Combine(s_work, Guid.NewGuid().ToString("n"));
        Directory.CreateDirectory(dir);
        try
        {
            string input = Path.Combine(dir, "input");
            File.WriteAllBytes(input, data);
            string outDir = Path.Combine(dir, "out");
            Directory.CreateDirectory(outDir);
            string dest = Path.Combine(outDir, "x.daxfs");
            ArchiveKind kind;
            try { kind = ArchiveSource.Detect(input) ?? ArchiveKind.Tar; }
            catch (Exception ex) { throw new FuzzContractException($"ArchiveSource.Detect threw {ex.GetType().Name}: {ex.Message}", ex); }
            try
            {
                new ImageBuilder(new ImageBuildOptions
                {
                    SourcePath = input, Destination = dest, SkipUnsupported = true,
                    Archive = new ArchiveSource { Kind = kind, Path = input },
                }).Build(null, ct);
            }
            catch (DaxFsBuildException ex)
            {
                var left = Directory.GetFileSystemEntries(outDir);
                if (left.Length > 0) throw new FuzzContractException($"A refused build ({ex.Kind}) left {string.Join(", ", left.Select(Path.GetFileName))} behind.");
                return new Outcome(ex.Kind, 0);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested) { throw; }
            catch (Exception ex) { throw new FuzzContractException($"Building from a {kind} input threw {ex.GetType().Name}: {ex.Message}", ex); }
            var after = Directory.GetFileSystemEntries(outDir);
            if (after.Length != 1) throw new FuzzContractException($"A build left {after.Length} entries in its folder: {string.Join(", ", after.Select(Path.GetFileName))}.");
            var image = File.ReadAllBytes(dest);
            var read = FuzzTarget.Run(image, ct);
            if (!read.ReadCompletely || !read.ValidatorSafe)
                throw new FuzzContractException($"An image built from a {kind} input is not whole: {read}.");
            return new Outcome(null, image.Length);
        }
        finally
        {
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        }
    }

    // ---- seeds ----

    /// <summary>Tarballs in each header format and compression, and an OCI layout in a tar with whiteouts; small, made here.</summary>
    public static List<(string Name, byte[] Bytes)> Seeds()
    {
        var seeds = new List<(string, byte[])>();
        byte[] tree(TarEntryFormat f) => Tar(f, w =>
        {
            Dir(w, f, "etc");
            File_(w, f, "etc/hostname", "node1\n");
            File_(w, f, "etc/" + new string('n', 120), "long");
            Link(w, f, TarEntryType.SymbolicLink, "etc/link", "hostname");
            Link(w, f, TarEntryType.HardLink, "etc/hard", "etc/hostname");
            File_(w, f, "bin/busybox", new string('b', 5000));
        });
        foreach (var f in new[] { TarEntryFormat.Ustar, TarEntryFormat.Gnu, TarEntryFormat.Pax })
            seeds.Add(($"tree.{f}.tar".ToLowerInvariant(), tree(f)));
        var pax = tree(TarEntryFormat.Pax);
        seeds.Add(("tree.pax.tar.gz", Gzip(pax)));
        using (var c = new ZstdSharp.Compressor(3)) seeds.Add(("tree.pax.tar.zst", c.Wrap(pax).ToArray()));
        seeds.Add(("layout.tar", OciLayoutTar(
            Tar(TarEntryFormat.Pax, w => { Dir(w, TarEntryFormat.Pax, "d"); File_(w, TarEntryFormat.Pax, "d/a", "a"); File_(w, TarEntryFormat.Pax, "gone", "g"); File_(w, TarEntryFormat.Pax, "o/x", "x"); }),
            Tar(TarEntryFormat.Pax, w => { File_(w, TarEntryFormat.Pax, ".wh.gone", ""); File_(w, TarEntryFormat.Pax, "o/.wh..wh..opq", ""); File_(w, TarEntryFormat.Pax, "o/y", "y"); Link(w, TarEntryFormat.Pax, TarEntryType.HardLink, "d/b", "d/a"); }))));
        return seeds;
    }

    private static byte[] Tar(TarEntryFormat format, Action<TarWriter> fill)
    {
        var ms = new MemoryStream();
        using (var w = new TarWriter(ms, format, leaveOpen: true)) fill(w);
        return ms.ToArray();
    }

    private static TarEntry Entry(TarEntryFormat f, TarEntryType t, string name) => f switch
    {
        TarEntryFormat.Pax => new PaxTarEntry(t, name),
        TarEntryFormat.Gnu => new GnuTarEntry(t, name),
        _ => new UstarTarEntry(t, name.Length > 100 ? name[^100..] : name),
    };

    private static void Dir(TarWriter w, TarEntryFormat f, string name) { var e = Entry(f, TarEntryType.Directory, name); e.Mode = (UnixFileMode)0x1ED; w.WriteEntry(e); }
    private static void File_(TarWriter w, TarEntryFormat f, string name, string data)
    {
        var e = Entry(f, TarEntryType.RegularFile, name);
        e.Mode = (UnixFileMode)0x1A4;
        e.DataStream = new MemoryStream(Encoding.UTF8.GetBytes(data));
        w.WriteEntry(e);
    }
    private static void Link(TarWriter w, TarEntryFormat f, TarEntryType t, string name, string target) { var e = Entry(f, t, name); e.LinkName = target; w.WriteEntry(e); }

    private static byte[] Gzip(byte[] b)
    {
        var ms = new MemoryStream();
        using (var g = new GZipStream(ms, CompressionLevel.Fastest, leaveOpen: true)) g.Write(b);
        return ms.ToArray();
    }

    /// <summary>An uncompressed tar of an OCI layout holding one image of the given layers.</summary>
    public static byte[] OciLayoutTar(params byte[][] layers)
    {
        var files = new List<(string Name, byte[] Bytes)> { ("oci-layout", Encoding.UTF8.GetBytes("{\"imageLayoutVersion\":\"1.0.0\"}")) };
        Dictionary<string, object> Blob(byte[] data, string media)
        {
            string hex = Convert.ToHexString(SHA256.HashData(data)).ToLowerInvariant();
            files.Add(("blobs/sha256/" + hex, data));
            return new() { ["mediaType"] = media, ["digest"] = "sha256:" + hex, ["size"] = data.Length };
        }
        var descs = layers.Select(l => Blob(l, "application/vnd.oci.image.layer.v1.tar")).ToArray();
        var config = Blob(JsonSerializer.SerializeToUtf8Bytes(new { architecture = "amd64", os = "linux" }), "application/vnd.oci.image.config.v1+json");
        var manifest = Blob(JsonSerializer.SerializeToUtf8Bytes(new { schemaVersion = 2, config, layers = descs }), "application/vnd.oci.image.manifest.v1+json");
        files.Add(("index.json", JsonSerializer.SerializeToUtf8Bytes(new { schemaVersion = 2, manifests = new[] { manifest } })));
        return Tar(TarEntryFormat.Pax, w =>
        {
            foreach (var (name, bytes) in files)
                w.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name) { Mode = (UnixFileMode)0x1A4, DataStream = new MemoryStream(bytes) });
        });
    }

    // ---- mutation ----

    /// <summary>One mutation of a seed: bit flips, a cut, a header field overwritten with digits or 0xFF, or zeroed blocks.</summary>
    public static byte[] Mutate(byte[] seed, Random rng)
    {
        var b = (byte[])seed.Clone();
        switch (rng.Next(5))
        {
            case 0:
                for (int i = rng.Next(1, 9); i > 0 && b.Length > 0; i--) b[rng.Next(b.Length)] ^= (byte)(1 << rng.Next(8));
                return b;
            case 1:
                return b.Length == 0 ? b : b[..rng.Next(b.Length)];
            case 2:
            {
                // A header field: name, mode, uid, gid, size, mtime, checksum, type, linkname, magic, prefix.
                int[] fields = { 0, 100, 108, 116, 124, 136, 148, 156, 157, 257, 345 };
                int block = rng.Next(Math.Max(1, b.Length / 512)) * 512;
                int at = block + fields[rng.Next(fields.Length)];
                int n = rng.Next(1, 13);
                for (int i = 0; i < n && at + i < b.Length; i++) b[at + i] = rng.Next(3) switch { 0 => (byte)('0' + rng.Next(8)), 1 => 0xFF, _ => (byte)rng.Next(256) };
                if (rng.Next(2) == 0) FixChecksum(b, block);
                return b;
            }
            case 3:
            {
                if (b.Length < 512) return b;
                int block = rng.Next(b.Length / 512) * 512;
                Array.Clear(b, block, 512);
                return b;
            }
            default:
            {
                // A type flag from the interesting set.
                if (b.Length < 512) return b;
                int block = rng.Next(b.Length / 512) * 512;
                b[block + 156] = (byte)"0125673LKSgxDM"[rng.Next(14)];
                FixChecksum(b, block);
                return b;
            }
        }
    }

    /// <summary>Recomputes a ustar header's checksum, so a mutated header gets past the checksum to the fields.</summary>
    private static void FixChecksum(byte[] b, int block)
    {
        if (block + 512 > b.Length) return;
        for (int i = 148; i < 156; i++) b[block + i] = (byte)' ';
        int sum = 0;
        for (int i = 0; i < 512; i++) sum += b[block + i];
        var text = Encoding.ASCII.GetBytes(Convert.ToString(sum, 8).PadLeft(6, '0') + "\0 ");
        if (text.Length == 8) text.CopyTo(b, block + 148);
    }
}
