using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using DaxFs.Core.Build;
using DaxFs.Core.Format;
using DaxFs.Core.Read;

namespace DaxFs.Core.Tests.Build;

/// <summary>
/// Builds from tarballs and OCI layouts made here with TarWriter (and hand-made headers for what TarWriter will not
/// write): the layer rules, and every hostile archive of issue 19 refused with its own error kind and nothing left in
/// the destination folder.
/// </summary>
public sealed class ArchiveTests : IDisposable
{
    private readonly TestTrees _trees = new();
    public void Dispose() => _trees.Dispose();

    private string Folder(string name) => _trees.NewFolder(name + "-" + Guid.NewGuid().ToString("n")[..8]);

    /// <summary>A tar made of the given members (name, type, data or link target, mode).</summary>
    private static byte[] Tar(TarEntryFormat format, params (string Name, TarEntryType Type, string Content)[] members)
    {
        var ms = new MemoryStream();
        using (var w = new TarWriter(ms, format, leaveOpen: true))
        {
            foreach (var (name, type, content) in members)
            {
                TarEntry e = format switch
                {
                    TarEntryFormat.Pax => new PaxTarEntry(type, name),
                    TarEntryFormat.Gnu => new GnuTarEntry(type, name),
                    _ => new UstarTarEntry(type, name),
                };
                e.Mode = type == TarEntryType.Directory ? (UnixFileMode)0x1ED : (UnixFileMode)0x1A4;
                e.ModificationTime = DateTimeOffset.FromUnixTimeSeconds(1700000000);
                if (type is TarEntryType.SymbolicLink or TarEntryType.HardLink) e.LinkName = content;
                else if (type is TarEntryType.RegularFile or TarEntryType.V7RegularFile) e.DataStream = new MemoryStream(Encoding.UTF8.GetBytes(content));
                w.WriteEntry(e);
            }
        }
        return ms.ToArray();
    }

    private static (string, TarEntryType, string) F(string name, string data = "") => (name, TarEntryType.RegularFile, data);
    private static (string, TarEntryType, string) D(string name) => (name, TarEntryType.Directory, "");
    private static (string, TarEntryType, string) L(string name, string target) => (name, TarEntryType.SymbolicLink, target);
    private static (string, TarEntryType, string) H(string name, string target) => (name, TarEntryType.HardLink, target);

    private string WriteTar(byte[] tar, string name = "in.tar")
    {
        string path = Path.Combine(Folder("tar"), name);
        File.WriteAllBytes(path, tar);
        return path;
    }

    private static ImageBuildResult Build(string source, ArchiveKind kind, string dest, string? reference = null, bool skip = false) =>
        new ImageBuilder(new ImageBuildOptions
        {
            SourcePath = source, Destination = dest, SkipUnsupported = skip,
            Archive = new ArchiveSource { Kind = kind, Path = source, Reference = reference },
        }).Build();

    /// <summary>The build fails with <paramref name="kind"/>, and the destination folder stays empty (no image, no temporary file).</summary>
    private DaxFsBuildException Refused(string source, ArchiveKind kind, BuildErrorKind expected, string? reference = null)
    {
        string outDir = Folder("out");
        var ex = Assert.Throws<DaxFsBuildException>(() => Build(source, kind, Path.Combine(outDir, "x.daxfs"), reference));
        Assert.Equal(expected, ex.Kind);
        Assert.Empty(Directory.GetFileSystemEntries(outDir));
        return ex;
    }

    private static byte[] Gzip(byte[] b)
    {
        var ms = new MemoryStream();
        using (var g = new GZipStream(ms, CompressionLevel.Fastest, leaveOpen: true)) g.Write(b);
        return ms.ToArray();
    }

    private static byte[] Zstd(byte[] b)
    {
        using var c = new ZstdSharp.Compressor(3);
        return c.Wrap(b).ToArray();
    }

    private static uint Ino(DaxFsImageReader r, string path)
    {
        Assert.True(r.TryLookup(path, out uint ino), path + " is missing");
        return ino;
    }

    // ---- tarballs ----

    [Fact]
    public void MembersOutOfOrderAndImplicitDirectoriesGiveTheSortedTree()
    {
        var tar = Tar(TarEntryFormat.Pax, F("z/b", "2"), F("a", "1"), L("z/link", "b"), H("z/hard", "a"), D("z"), F("m/n/o", "3"));
        string dest = Path.Combine(Folder("out"), "x.daxfs");
        Build(WriteTar(tar), ArchiveKind.Tar, dest);
        using var r = DaxFsImageReader.Open(dest);
        Assert.True(r.TryLookup("/m/n/o", out uint o));
        Assert.True(r.TryLookup("/a", out uint a));
        Assert.True(r.TryLookup("/z/hard", out uint hard));
        Assert.Equal(a, hard);
        Assert.Equal(2u, r.GetInode(a).Nlink);
        Assert.Equal(0x41EDu, r.GetInode(Ino(r, "/m")).Mode); // made as tar does: 0755
        Assert.True(o > a);
    }

    [Fact]
    public void GnuLongNamesAndPaxIdsAreRead()
    {
        string longName = new string('d', 120) + "/" + new string('f', 200);
        var ms = new MemoryStream();
        using (var w = new TarWriter(ms, TarEntryFormat.Pax, leaveOpen: true))
        {
            var e = new PaxTarEntry(TarEntryType.RegularFile, "big-ids") { Uid = 3000000, Gid = 4000000, Mode = (UnixFileMode)0x9ED, DataStream = new MemoryStream(new byte[] { 1 }) };
            w.WriteEntry(e);
            w.WriteEntry(new GnuTarEntry(TarEntryType.RegularFile, longName) { Mode = (UnixFileMode)0x1A4, DataStream = new MemoryStream(new byte[] { 2 }) });
        }
        string dest = Path.Combine(Folder("out"), "x.daxfs");
        Build(WriteTar(ms.ToArray()), ArchiveKind.Tar, dest);
        using var r = DaxFsImageReader.Open(dest);
        var ids = r.GetInode(Ino(r, "/big-ids"));
        Assert.Equal(3000000u, ids.Uid);
        Assert.Equal(4000000u, ids.Gid);
        Assert.Equal(0x89EDu, ids.Mode); // set-uid kept
        Assert.True(r.TryLookup("/" + longName, out uint _));
    }

    [Theory]
    [InlineData("../x")]
    [InlineData("a/../../x")]
    [InlineData("/etc/x")]
    public void MembersOutsideTheImageAreRefused(string name)
    {
        var ex = Refused(WriteTar(Tar(TarEntryFormat.Pax, F("ok", "1"), F(name, "evil"))), ArchiveKind.Tar, BuildErrorKind.UnsafeMemberPath);
        Assert.Contains(name, ex.Message);
        Assert.Contains(name, ex.Paths);
    }

    [Fact]
    public void HardLinkOutsideTheImageIsRefused() =>
        Refused(WriteTar(Tar(TarEntryFormat.Pax, H("h", "../etc/passwd"))), ArchiveKind.Tar, BuildErrorKind.UnsafeMemberPath);

    [Fact]
    public void MemberThroughASymlinkIsRefused()
    {
        var ex = Refused(WriteTar(Tar(TarEntryFormat.Pax, L("etc", "/etc"), F("etc/passwd", "root::0:0"))), ArchiveKind.Tar, BuildErrorKind.MemberThroughSymlink);
        Assert.Contains("'etc'", ex.Message);
    }

    [Fact]
    public void DuplicateMembersAreRefused() =>
        Refused(WriteTar(Tar(TarEntryFormat.Pax, F("f", "one"), F("./f", "two"))), ArchiveKind.Tar, BuildErrorKind.DuplicateMember);

    [Fact]
    public void HardLinkToAMissingOrLaterMemberIsRefused()
    {
        Refused(WriteTar(Tar(TarEntryFormat.Pax, H("h", "nothing"))), ArchiveKind.Tar, BuildErrorKind.HardLinkTargetMissing);
        var ex = Refused(WriteTar(Tar(TarEntryFormat.Pax, H("h", "later"), F("later", "x"))), ArchiveKind.Tar, BuildErrorKind.HardLinkTargetMissing);
        Assert.Contains("must follow its target", ex.Message);
        Refused(WriteTar(Tar(TarEntryFormat.Pax, D("d"), H("h", "d"))), ArchiveKind.Tar, BuildErrorKind.HardLinkTargetMissing);
    }

    [Fact]
    public void TruncatedTarballsAreRefused()
    {
        var tar = Tar(TarEntryFormat.Pax, F("a", new string('a', 5000)), F("b", "b"));
        Refused(WriteTar(tar[..3000]), ArchiveKind.Tar, BuildErrorKind.ArchiveTruncated);          // inside a's data
        Refused(WriteTar(tar[..(tar.Length - 1024)]), ArchiveKind.Tar, BuildErrorKind.ArchiveTruncated); // no end-of-archive blocks
        var gz = Gzip(tar);
        Refused(WriteTar(gz[..(gz.Length / 2)], "t.tar.gz"), ArchiveKind.Tar, BuildErrorKind.ArchiveTruncated);
        Refused(WriteTar(gz[..(gz.Length * 3 / 4)], "t2.tar.gz"), ArchiveKind.Tar, BuildErrorKind.ArchiveTruncated);
        var zst = Zstd(tar);
        Refused(WriteTar(zst[..(zst.Length - 10)], "t.tar.zst"), ArchiveKind.Tar, BuildErrorKind.ArchiveTruncated);
    }

    /// <summary>The gzip trailer (CRC-32 and ISIZE, the last 8 bytes) is checked: a damaged one, or one cut short, is an
    /// error even though the tar inside is whole (GZipStream ended quietly on a cut trailer).</summary>
    [Fact]
    public void AGzipTrailerThatIsDamagedOrCutShortIsRefused()
    {
        var tar = Tar(TarEntryFormat.Pax, F("a", new string('a', 5000)), F("b", "b"));
        var gz = Gzip(tar);
        byte[] Flip(int fromEnd) { var c = (byte[])gz.Clone(); c[^fromEnd] ^= 0x5A; return c; }
        var crc = Refused(WriteTar(Flip(8), "crc.tar.gz"), ArchiveKind.Tar, BuildErrorKind.ArchiveInvalid);
        Assert.Contains("CRC-32", crc.Message);
        var isize = Refused(WriteTar(Flip(1), "isize.tar.gz"), ArchiveKind.Tar, BuildErrorKind.ArchiveInvalid);
        Assert.Contains("ISIZE", isize.Message);
        foreach (int cut in new[] { 1, 4, 8 })
        {
            var ex = Refused(WriteTar(gz[..^cut], $"cut{cut}.tar.gz"), ArchiveKind.Tar, BuildErrorKind.ArchiveTruncated);
            Assert.Contains("truncated", ex.Message);
        }
        Refused(WriteTar([.. gz, .. "garbage"u8], "garbage.tar.gz"), ArchiveKind.Tar, BuildErrorKind.ArchiveInvalid);
    }

    /// <summary>Concatenated gzip members (pigz, bgzip, cat a.gz b.gz) are one stream, and zero bytes after the last member
    /// (padding to a block) are allowed: the same image as from the plain tar.</summary>
    [Fact]
    public void ConcatenatedGzipMembersAndZeroPaddingReadAsOneStream()
    {
        var tar = Tar(TarEntryFormat.Pax, F("a", new string('a', 5000)), F("b", "b"));
        string plain = Path.Combine(Folder("out"), "plain.daxfs");
        Build(WriteTar(tar), ArchiveKind.Tar, plain);
        int half = 2048;
        byte[] members = [.. Gzip(tar[..half]), .. Gzip(tar[half..]), .. new byte[4096]];
        string joined = Path.Combine(Folder("out2"), "joined.daxfs");
        Build(WriteTar(members, "joined.tar.gz"), ArchiveKind.Tar, joined);
        Assert.Equal(File.ReadAllBytes(plain), File.ReadAllBytes(joined));
    }

    [Fact]
    public void AHeaderClaimingAHugeSizeIsRefusedBeforeAnythingIsAllocated()
    {
        var tar = Tar(TarEntryFormat.Ustar, F("huge", "tiny"));
        // size field: 12 bytes at 124 (octal); the checksum (8 bytes at 148) is recomputed.
        Encoding.ASCII.GetBytes("77777777777\0").CopyTo(tar, 124);
        Encoding.ASCII.GetBytes("        ").CopyTo(tar, 148);
        int sum = 0;
        for (int i = 0; i < 512; i++) sum += tar[i];
        Encoding.ASCII.GetBytes(Convert.ToString(sum, 8).PadLeft(6, '0') + "\0 ").CopyTo(tar, 148);
        var ex = Refused(WriteTar(tar), ArchiveKind.Tar, BuildErrorKind.ArchiveTruncated);
        Assert.Contains("huge", ex.Message);
        Refused(WriteTar(Gzip(tar), "huge.tar.gz"), ArchiveKind.Tar, BuildErrorKind.ArchiveTruncated);
    }

    [Fact]
    public void GarbageIsNotATar() =>
        Refused(WriteTar(Enumerable.Range(0, 4096).Select(i => (byte)(i * 7 + 1)).ToArray()), ArchiveKind.Tar, BuildErrorKind.ArchiveInvalid);

    [Fact]
    public void TarballWhiteoutNamesAreKeptAsFiles()
    {
        string dest = Path.Combine(Folder("out"), "x.daxfs");
        Build(WriteTar(Tar(TarEntryFormat.Pax, F("a"), F(".wh.a"), F(".wh..wh..opq"))), ArchiveKind.Tar, dest);
        using var r = DaxFsImageReader.Open(dest);
        Assert.True(r.TryLookup("/a", out uint _));
        Assert.True(r.TryLookup("/.wh.a", out uint _));
    }

    // ---- OCI layouts ----

    /// <summary>Writes an OCI layout with one image (tag "t") of the given layers; returns its folder.</summary>
    private string Layout(params byte[][] layers)
    {
        string dir = Folder("layout");
        Directory.CreateDirectory(Path.Combine(dir, "blobs", "sha256"));
        File.WriteAllText(Path.Combine(dir, "oci-layout"), "{\"imageLayoutVersion\":\"1.0.0\"}");
        object Blob(byte[] data, string media)
        {
            string hex = Convert.ToHexString(SHA256.HashData(data)).ToLowerInvariant();
            File.WriteAllBytes(Path.Combine(dir, "blobs", "sha256", hex), data);
            return new Dictionary<string, object> { ["mediaType"] = media, ["digest"] = "sha256:" + hex, ["size"] = data.Length };
        }
        var descs = layers.Select(l => Blob(l, "application/vnd.oci.image.layer.v1.tar")).ToArray();
        var config = Blob(JsonSerializer.SerializeToUtf8Bytes(new { architecture = "amd64", os = "linux", rootfs = new { type = "layers", diff_ids = Array.Empty<string>() } }), "application/vnd.oci.image.config.v1+json");
        var manifest = (Dictionary<string, object>)Blob(JsonSerializer.SerializeToUtf8Bytes(new { schemaVersion = 2, config, layers = descs }), "application/vnd.oci.image.manifest.v1+json");
        manifest["annotations"] = new Dictionary<string, string> { ["org.opencontainers.image.ref.name"] = "t" };
        File.WriteAllBytes(Path.Combine(dir, "index.json"), JsonSerializer.SerializeToUtf8Bytes(new { schemaVersion = 2, manifests = new[] { manifest } }));
        return dir;
    }

    private static string LayerBlob(string layout, int index)
    {
        var index0 = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(layout, "index.json")));
        string m = index0.RootElement.GetProperty("manifests")[0].GetProperty("digest").GetString()![7..];
        var manifest = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(layout, "blobs", "sha256", m)));
        return Path.Combine(layout, "blobs", "sha256", manifest.RootElement.GetProperty("layers")[index].GetProperty("digest").GetString()![7..]);
    }

    [Fact]
    public void LayersApplyInOrderWithWhiteoutsOpaqueDirectoriesAndLowerHardLinks()
    {
        var l1 = Tar(TarEntryFormat.Pax, D("d"), F("d/a", "a"), F("d/b", "b"), D("d/sub"), F("d/sub/x", "x"), F("gone", "g"), F("keep", "k"), F("file"));
        var l2 = Tar(TarEntryFormat.Pax, F(".wh.gone"), F("d/.wh..wh..opq"), F("d/c", "c"), H("keep.link", "keep"), D("file"), F("file/now", "n"));
        var l3 = Tar(TarEntryFormat.Gnu, F("d/a", "a again"));
        string dest = Path.Combine(Folder("out"), "x.daxfs");
        Build(Layout(l1, Gzip(l2), Zstd(l3)), ArchiveKind.OciLayout, dest);
        using var r = DaxFsImageReader.Open(dest);
        Assert.False(r.TryLookup("/gone", out uint _));
        Assert.False(r.TryLookup("/d/b", out uint _));
        Assert.False(r.TryLookup("/d/sub", out uint _));
        Assert.True(r.TryLookup("/d/c", out uint _));
        Assert.True(r.TryLookup("/d/a", out uint a));
        Assert.Equal(7ul, r.GetInode(a).Size);
        Assert.Equal(Ino(r, "/keep"), Ino(r, "/keep.link"));
        Assert.True(r.TryLookup("/file/now", out uint _));
    }

    [Fact]
    public void WhiteoutOfNothingIsRefused()
    {
        var ex = Refused(Layout(Tar(TarEntryFormat.Pax, F("a")), Tar(TarEntryFormat.Pax, F(".wh.missing"))), ArchiveKind.OciLayout, BuildErrorKind.WhiteoutTargetMissing);
        Assert.Contains("'missing'", ex.Message);
    }

    [Fact]
    public void ADigestMismatchIsRefusedAndNamesTheBlob()
    {
        string layout = Layout(Tar(TarEntryFormat.Pax, F("a", new string('a', 3000))));
        string blob = LayerBlob(layout, 0);
        var bytes = File.ReadAllBytes(blob);
        bytes[1000] ^= 1; // inside a's data: the tar still reads, only the digest tells
        File.WriteAllBytes(blob, bytes);
        var ex = Refused(layout, ArchiveKind.OciLayout, BuildErrorKind.DigestMismatch);
        Assert.Contains(Path.GetFileName(blob), ex.Message);
    }

    [Fact]
    public void ATruncatedLayerIsADigestMismatch()
    {
        string layout = Layout(Gzip(Tar(TarEntryFormat.Pax, F("a", new string('a', 3000)))));
        string blob = LayerBlob(layout, 0);
        File.WriteAllBytes(blob, File.ReadAllBytes(blob)[..20]);
        Refused(layout, ArchiveKind.OciLayout, BuildErrorKind.DigestMismatch);
    }

    [Fact]
    public void AnIndexPointingAtAMissingBlobIsRefused()
    {
        string layout = Layout(Tar(TarEntryFormat.Pax, F("a")));
        File.Delete(LayerBlob(layout, 0));
        Refused(layout, ArchiveKind.OciLayout, BuildErrorKind.BlobMissing);
        string other = Layout(Tar(TarEntryFormat.Pax, F("a")));
        var index = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(other, "index.json")));
        File.Delete(Path.Combine(other, "blobs", "sha256", index.RootElement.GetProperty("manifests")[0].GetProperty("digest").GetString()![7..]));
        Refused(other, ArchiveKind.OciLayout, BuildErrorKind.BlobMissing);
    }

    [Fact]
    public void AMissingTagListsTheTagsThatExist()
    {
        var ex = Refused(Layout(Tar(TarEntryFormat.Pax, F("a"))), ArchiveKind.OciLayout, BuildErrorKind.ManifestNotFound, reference: "nope");
        Assert.Contains("'nope'", ex.Message);
        Assert.Contains("It has: t ", ex.Message);
    }

    /// <summary>
    /// The data pass writes files that follow each other in the image through one buffer, with their padding, and jumps
    /// (flushing first) anywhere else: members in image order and in reverse order (every member a jump backwards) give
    /// the same bytes, every file reads back whole, and the directories and symbolic links placed between the files
    /// (written before the data pass) are not overwritten by a file's padding. Sizes around the block and the 1 MiB
    /// buffer; format 5 static and split (file data in the backing file) and format 8.
    /// </summary>
    [Theory]
    [InlineData("static5")]
    [InlineData("split5")]
    [InlineData("static8")]
    public void FilesWrittenThroughOneBufferReadBackWholeWhateverTheMemberOrder(string kind)
    {
        int[] sizes = { 0, 1, 4095, 4096, 4097, 8191, (1 << 20) - 1, 1 << 20, (1 << 20) + 5, 3 * (1 << 20) + 4097, 100 };
        var members = new List<(string Name, TarEntryType Type, byte[] Data, string Link)>();
        var rng = new Random(19);
        for (int i = 0; i < sizes.Length; i++)
        {
            var data = new byte[sizes[i]];
            rng.NextBytes(data);
            members.Add(($"f{i:00}", TarEntryType.RegularFile, data, ""));
            if (i % 3 == 1) members.Add(($"f{i:00}-dir", TarEntryType.Directory, Array.Empty<byte>(), ""));
            if (i % 3 == 1) members.Add(($"f{i:00}-dir/inner", TarEntryType.RegularFile, data.AsSpan(0, Math.Min(data.Length, 777)).ToArray(), ""));
            if (i % 4 == 2) members.Add(($"f{i:00}-link", TarEntryType.SymbolicLink, Array.Empty<byte>(), $"f{i:00}"));
        }
        for (int i = 0; i < 300; i++) members.Add(($"small/{i:000}", TarEntryType.RegularFile, Encoding.UTF8.GetBytes(new string((char)('a' + i % 26), i * 7 % 5000)), ""));
        byte[] TarOf(IEnumerable<(string Name, TarEntryType Type, byte[] Data, string Link)> list)
        {
            var ms = new MemoryStream();
            using (var w = new TarWriter(ms, TarEntryFormat.Pax, leaveOpen: true))
                foreach (var (name, type, data, link) in list)
                {
                    var e = new PaxTarEntry(type, name) { Mode = type == TarEntryType.Directory ? (UnixFileMode)0x1ED : (UnixFileMode)0x1A4, ModificationTime = DateTimeOffset.FromUnixTimeSeconds(1700000000) };
                    if (type == TarEntryType.SymbolicLink) e.LinkName = link;
                    if (type == TarEntryType.RegularFile) e.DataStream = new MemoryStream(data);
                    w.WriteEntry(e);
                }
            return ms.ToArray();
        }
        var sorted = members.OrderBy(m => m.Name, StringComparer.Ordinal).ToList();
        var reversed = Enumerable.Reverse(sorted).ToList();
        string outDir = Folder("out");
        (string Image, string? Backing) BuildOne(string name, byte[] tar)
        {
            string dest = Path.Combine(outDir, name + ".daxfs");
            string? backing = kind == "split5" ? Path.Combine(outDir, name + ".data") : null;
            string src = WriteTar(tar, name + ".tar");
            new ImageBuilder(new ImageBuildOptions
            {
                SourcePath = src, Destination = dest, BackingFile = backing,
                Mode = kind == "split5" ? DaxFsImageMode.Split : DaxFsImageMode.Static,
                Format = kind == "static8" ? DaxFsFormat.Format8 : DaxFsFormat.Format5,
                Archive = new ArchiveSource { Kind = ArchiveKind.Tar, Path = src },
            }).Build();
            return (dest, backing);
        }
        var inOrder = BuildOne("in-order", TarOf(sorted));
        var backwards = BuildOne("backwards", TarOf(reversed));
        Assert.Equal(File.ReadAllBytes(inOrder.Image), File.ReadAllBytes(backwards.Image));
        if (inOrder.Backing is not null) Assert.Equal(File.ReadAllBytes(inOrder.Backing), File.ReadAllBytes(backwards.Backing!));
        if (kind == "static8") return; // format 8's reading is tested by its own tests; equal bytes is what this one checks
        using var r = DaxFsImageReader.Open(inOrder.Image, inOrder.Backing);
        foreach (var (name, type, data, link) in members)
        {
            uint ino = Ino(r, "/" + name);
            if (type == TarEntryType.RegularFile) {
                using var content = r.OpenContent(ino);
                var back = new MemoryStream();
                content.CopyTo(back);
                Assert.True(data.AsSpan().SequenceEqual(back.ToArray()), name + " does not read back whole");
            }
            if (type == TarEntryType.SymbolicLink) Assert.Equal(link, Encoding.UTF8.GetString(r.ReadSymlinkTarget(ino)));
            if (type == TarEntryType.Directory) Assert.Equal(new[] { "inner" }, r.ReadDirectory(ino).Select(e => e.Name).ToArray());
        }
    }

    /// <summary>
    /// An uncompressed tarball is read in place: the data pass copies each file from where its member's data lies in the
    /// tarball, in the image's order, on several threads for a large tree. The bytes equal those of the gzip tarball (read
    /// again front to back) and of the directory the tarball was made from, whatever the number of threads, with members in
    /// any order and hard links.
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void AnUncompressedTarballReadInPlaceGivesTheSameBytesOnAnyNumberOfThreads(int workers)
    {
        var rng = new Random(8);
        var members = new List<(string Name, TarEntryType Type, byte[] Data, string Link)>();
        for (int d = 0; d < 12; d++)
        {
            members.Add(($"d{d:00}", TarEntryType.Directory, Array.Empty<byte>(), ""));
            for (int f = 0; f < 40; f++)
            {
                var data = new byte[rng.Next(4) switch { 0 => 0, 1 => rng.Next(1, 600), 2 => rng.Next(4000, 9000), _ => rng.Next(200_000, 400_000) }];
                rng.NextBytes(data);
                members.Add(($"d{d:00}/f{f:00}", TarEntryType.RegularFile, data, ""));
                if (f % 9 == 4) members.Add(($"d{d:00}/h{f:00}", TarEntryType.HardLink, Array.Empty<byte>(), $"d{d:00}/f{f:00}"));
                if (f % 11 == 5) members.Add(($"d{d:00}/l{f:00}", TarEntryType.SymbolicLink, Array.Empty<byte>(), $"f{f:00}"));
            }
        }
        byte[] TarOf(IEnumerable<(string Name, TarEntryType Type, byte[] Data, string Link)> list)
        {
            var ms = new MemoryStream();
            using (var w = new TarWriter(ms, TarEntryFormat.Pax, leaveOpen: true))
                foreach (var (name, type, data, link) in list)
                {
                    // The modes the files made from the same list below get (umask 022; a symbolic link's is 0777).
                    var e = new PaxTarEntry(type, name) { Mode = (UnixFileMode)(type switch { TarEntryType.Directory => 0x1ED, TarEntryType.SymbolicLink => 0x1FF, _ => 0x1A4 }), ModificationTime = DateTimeOffset.FromUnixTimeSeconds(1700000000) };
                    if (type is TarEntryType.SymbolicLink or TarEntryType.HardLink) e.LinkName = link;
                    if (type == TarEntryType.RegularFile) e.DataStream = new MemoryStream(data);
                    w.WriteEntry(e);
                }
            return ms.ToArray();
        }
        // Directories first, then the files from the last to the first: the in-place pass reads the tarball out of order.
        var shuffled = members.Where(m => m.Type == TarEntryType.Directory)
            .Concat(members.Where(m => m.Type == TarEntryType.RegularFile).Reverse())
            .Concat(members.Where(m => m.Type is TarEntryType.HardLink or TarEntryType.SymbolicLink)).ToList();
        byte[] tar = TarOf(shuffled);
        string outDir = Folder("out");
        string BuildOne(string name, string src, ArchiveKind? kind)
        {
            string dest = Path.Combine(outDir, name + ".daxfs");
            new ImageBuilder(new ImageBuildOptions
            {
                SourcePath = src, Destination = dest, Workers = workers, ParallelThreshold = 1,
                Archive = kind is { } k ? new ArchiveSource { Kind = k, Path = src } : null,
            }).Build();
            return dest;
        }
        string inPlace = BuildOne("in-place", WriteTar(tar), ArchiveKind.Tar);
        string streamed = BuildOne("gzip", WriteTar(Gzip(tar), "in.tar.gz"), ArchiveKind.Tar);
        string dir = Folder("tree");
        foreach (var (name, type, data, link) in members)
        {
            string path = Path.Combine(dir, name);
            if (type == TarEntryType.Directory) Directory.CreateDirectory(path);
            else if (type == TarEntryType.RegularFile) File.WriteAllBytes(path, data);
            else if (type == TarEntryType.SymbolicLink) File.CreateSymbolicLink(path, link);
            else TestTrees.HardLink(Path.Combine(dir, link), path);
        }
        string fromDir = BuildOne("dir", dir, null);
        Assert.Equal(File.ReadAllBytes(streamed), File.ReadAllBytes(inPlace));
        Assert.Equal(File.ReadAllBytes(fromDir), File.ReadAllBytes(inPlace));
    }

    /// <summary>
    /// The tarball read in place must be the file whose headers were read, unchanged: replaced between the plan and the
    /// build by another file of the same size and modification time (other file data), or cut short, the build fails as
    /// changed and leaves nothing behind.
    /// </summary>
    [Fact]
    public void ATarballReplacedOrCutBetweenPlanAndBuildIsRefused()
    {
        byte[] tar = Tar(TarEntryFormat.Pax, F("a", new string('a', 5000)), F("b", "bbb"));
        foreach (string how in new[] { "replaced", "cut" })
        {
            string src = WriteTar(tar, how + ".tar");
            var mtime = File.GetLastWriteTimeUtc(src);
            string outDir = Folder("out");
            var builder = new ImageBuilder(new ImageBuildOptions
            {
                SourcePath = src, Destination = Path.Combine(outDir, "x.daxfs"),
                Archive = new ArchiveSource { Kind = ArchiveKind.Tar, Path = src },
            });
            builder.Plan();
            if (how == "replaced")
            {
                string other = src + ".new";
                File.WriteAllBytes(other, Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(tar).Replace(new string('a', 5000), new string('z', 5000))));
                Assert.Equal(tar.Length, new FileInfo(other).Length);
                File.SetLastWriteTimeUtc(other, mtime);
                File.Move(other, src, overwrite: true);
            }
            else
            {
                using var f = new FileStream(src, FileMode.Open);
                f.SetLength(1024);
            }
            var ex = Assert.Throws<DaxFsBuildException>(() => builder.Build());
            Assert.Equal(BuildErrorKind.FileChanged, ex.Kind);
            Assert.Contains("changed while the image was being built", ex.Message);
            Assert.Empty(Directory.GetFileSystemEntries(outDir));
        }
    }

    [Fact]
    public void AnOciLayoutInATarIsDetectedAndBuilt()
    {
        string layout = Layout(Tar(TarEntryFormat.Pax, F("a", "x")));
        var ms = new MemoryStream();
        using (var w = new TarWriter(ms, TarEntryFormat.Pax, leaveOpen: true))
            foreach (var f in Directory.GetFiles(layout, "*", SearchOption.AllDirectories))
                w.WriteEntry(f, Path.GetRelativePath(layout, f));
        string tar = WriteTar(ms.ToArray(), "layout.tar");
        Assert.Equal(ArchiveKind.OciLayout, ArchiveSource.Detect(tar));
        Assert.Equal(ArchiveKind.OciLayout, ArchiveSource.Detect(layout));
        Assert.Equal(ArchiveKind.Tar, ArchiveSource.Detect(WriteTar(Tar(TarEntryFormat.Pax, F("oci-layoutx")))));
        Assert.Null(ArchiveSource.Detect(Folder("plain")));
        string a = Path.Combine(Folder("out"), "a.daxfs"), b = Path.Combine(Folder("out"), "b.daxfs");
        Build(tar, ArchiveKind.OciLayout, a);
        Build(layout, ArchiveKind.OciLayout, b);
        Assert.Equal(File.ReadAllBytes(b), File.ReadAllBytes(a));
    }
}
