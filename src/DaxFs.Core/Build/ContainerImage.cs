using System.Text;
using System.Text.Json;
using DaxFs.Core.Errors;

namespace DaxFs.Core.Build;

/// <summary>What an archive build reads.</summary>
public enum ArchiveKind
{
    /// <summary>A tarball of a root filesystem (plain, gzip, zstd or xz).</summary>
    Tar,
    /// <summary>An OCI image layout: a directory with oci-layout, index.json and blobs/, or an uncompressed tar of one.</summary>
    OciLayout,
    /// <summary>A `docker save` archive (manifest.json, the image configuration and its layer tars).</summary>
    DockerArchive,
}

/// <summary>A tarball or container image to build from (instead of a directory).</summary>
public sealed class ArchiveSource
{
    public required ArchiveKind Kind { get; init; }
    /// <summary>The tarball, the OCI layout directory or tar, or the docker archive.</summary>
    public required string Path { get; init; }
    /// <summary>Container images: the tag (an OCI layout's org.opencontainers.image.ref.name, a docker archive's RepoTags entry); null when the archive holds one image.</summary>
    public string? Reference { get; init; }
    /// <summary>Container images: os/architecture[/variant] of the manifest to take from an index (default linux/amd64).</summary>
    public string Platform { get; init; } = "linux/amd64";

    /// <summary>
    /// What <paramref name="path"/> is: a directory with an oci-layout file is an OCI layout; an uncompressed tar with a
    /// top-level oci-layout file is an OCI layout in a tar, one with a docker manifest.json a docker archive; any other
    /// file is a tarball. Null for a directory that is no OCI layout (a plain directory build).
    /// </summary>
    public static ArchiveKind? Detect(string path)
    {
        if (Directory.Exists(path)) return File.Exists(System.IO.Path.Combine(path, "oci-layout")) ? ArchiveKind.OciLayout : null;
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.None);
        Span<byte> head = stackalloc byte[6];
        int got = file.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        if (ArchiveStreams.Sniff(head[..got]) != ArchiveCompression.None) return ArchiveKind.Tar;
        file.Position = 0;
        try
        {
            var blobs = TarBlobs.Index(file, path, stopEarly: 4096);
            if (blobs.ContainsKey("oci-layout") && blobs.ContainsKey("index.json")) return ArchiveKind.OciLayout;
            if (blobs.TryGetValue("manifest.json", out var m) && m.Length < 16 << 20)
            {
                var bytes = new byte[m.Length];
                file.Position = m.Offset;
                file.ReadExactly(bytes);
                try
                {
                    using var doc = JsonDocument.Parse(bytes);
                    if (doc.RootElement.ValueKind == JsonValueKind.Array && doc.RootElement.EnumerateArray().All(e => e.ValueKind == JsonValueKind.Object && e.TryGetProperty("Layers", out _)))
                        return ArchiveKind.DockerArchive;
                }
                catch (JsonException) { }
            }
        }
        catch (DaxFsBuildException) { }
        catch (Exception ex) when (TarMemberReader.IsDamage(ex)) { }
        return ArchiveKind.Tar;
    }
}

/// <summary>The members of an uncompressed outer tar (an OCI layout in a tar, a docker archive), by normalized name.</summary>
internal static class TarBlobs
{
    public readonly record struct Window(long Offset, long Length);

    public static Dictionary<string, Window> Index(Stream file, string what, int stopEarly = int.MaxValue)
    {
        var map = new Dictionary<string, Window>(StringComparer.Ordinal);
        using var reader = new TarMemberReader(new NonDisposing(file), what);
        System.Formats.Tar.TarEntry? e;
        while ((e = reader.Next()) is not null)
        {
            if (e.EntryType is System.Formats.Tar.TarEntryType.RegularFile or System.Formats.Tar.TarEntryType.V7RegularFile)
                map[Normalize(e.Name)] = new Window(reader.DataStart, e.Length);
            if (reader.Ordinal >= stopEarly) break;
        }
        return map;
    }

    public static string Normalize(string name)
    {
        var parts = name.Split('/').Where(p => p.Length > 0 && p != ".");
        return string.Join('/', parts);
    }

    private sealed class NonDisposing(Stream s) : Stream
    {
        public override int Read(byte[] b, int o, int c) => s.Read(b, o, c);
        public override int Read(Span<byte> b) => s.Read(b);
        public override bool CanRead => true;
        public override bool CanSeek => s.CanSeek;
        public override bool CanWrite => false;
        public override long Length => s.Length;
        public override long Position { get => s.Position; set => s.Position = value; }
        public override long Seek(long o, SeekOrigin origin) => s.Seek(o, origin);
        public override void Flush() { }
        public override void SetLength(long v) => throw new NotSupportedException();
        public override void Write(byte[] b, int o, int c) => throw new NotSupportedException();
    }
}

/// <summary>
/// Finds the layers of a container image: in an OCI image layout (index.json → manifest by tag and platform, nested
/// indexes followed) or a docker archive (manifest.json → image configuration's diff_ids). Every small blob read
/// (indexes, manifests, configurations) is checked against its digest here; layers are checked while they stream.
/// </summary>
internal sealed class ContainerImage
{
    private const string RefName = "org.opencontainers.image.ref.name";
    private readonly ArchiveSource _source;
    private readonly Func<string, Stream?> _open;      // a path inside the layout or archive → its bytes, or null when missing
    private readonly Func<string>? _fingerprint;

    private ContainerImage(ArchiveSource source, Func<string, Stream?> open, Func<string>? fingerprint)
    {
        _source = source;
        _open = open;
        _fingerprint = fingerprint;
    }

    /// <summary>A one-line description of the chosen image (for messages).</summary>
    public string Chosen { get; private set; } = "";

    public static ContainerImage Open(ArchiveSource source)
    {
        string path = System.IO.Path.GetFullPath(source.Path);
        if (Directory.Exists(path))
        {
            return new ContainerImage(source, rel =>
            {
                string full = System.IO.Path.Combine(path, rel);
                return File.Exists(full) ? new FileStream(full, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16) : null;
            }, null);
        }
        if (!File.Exists(path))
            throw new DaxFsBuildException(BuildErrorKind.SourceNotFound, $"The container image '{path}' does not exist.", new[] { path });
        Dictionary<string, TarBlobs.Window> index;
        using (var f = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16))
        {
            Span<byte> head = stackalloc byte[6];
            int got = f.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
            if (ArchiveStreams.Sniff(head[..got]) != ArchiveCompression.None)
                throw new DaxFsBuildException(BuildErrorKind.InvalidOption,
                    $"'{path}' is compressed: a container image archive (an OCI layout or docker archive in a tar) is read in place and must be an uncompressed tar. Decompress it first (gzip -d, zstd -d).", new[] { path });
            f.Position = 0;
            index = TarBlobs.Index(f, $"'{path}'");
        }
        var info = new FileInfo(path);
        string Fingerprint() { info.Refresh(); return $"{info.Length}:{info.LastWriteTimeUtc.Ticks}"; }
        return new ContainerImage(source, rel =>
        {
            if (!index.TryGetValue(TarBlobs.Normalize(rel), out var w)) return null;
            var f = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
            return new WindowStream(f, w.Offset, w.Length);
        }, Fingerprint);
    }

    /// <summary>The layers of the chosen image, bottom first.</summary>
    public List<ArchiveLayer> Layers() => _source.Kind == ArchiveKind.DockerArchive ? DockerLayers() : OciLayers();

    private string Where => $"'{_source.Path}'";

    // ---- OCI image layout ----

    private readonly record struct Candidate(string? Tag, string? Platform, string Digest, string MediaType);

    private List<ArchiveLayer> OciLayers()
    {
        var layoutFile = ReadSmall("oci-layout", null, "the oci-layout file");
        using (var layout = ParseJson(layoutFile, "oci-layout"))
        {
            if (!layout.RootElement.TryGetProperty("imageLayoutVersion", out var v) || v.GetString() is not { } ver || !ver.StartsWith("1.", StringComparison.Ordinal))
                throw Invalid("its oci-layout file does not declare imageLayoutVersion 1.x");
        }
        var candidates = new List<Candidate>();
        using (var index = ParseJson(ReadSmall("index.json", null, "index.json"), "index.json"))
            Collect(index.RootElement, null, candidates, 0);
        if (candidates.Count == 0) throw new DaxFsBuildException(BuildErrorKind.ManifestNotFound, $"The OCI layout {Where} lists no image manifest in its index.json.", new[] { _source.Path });

        var pool = candidates;
        if (_source.Reference is { } tag)
        {
            pool = candidates.Where(c => c.Tag == tag || (c.Tag is not null && c.Tag.EndsWith(":" + tag, StringComparison.Ordinal))).ToList();
            if (pool.Count == 0)
                throw new DaxFsBuildException(BuildErrorKind.ManifestNotFound,
                    $"The OCI layout {Where} has no image tagged '{tag}'. It has: {Describe(candidates)}.", new[] { _source.Path }) { NextStep = NextStep.ChooseReference };
        }
        // Platforms: from the index when it says, else from the image configuration.
        pool = pool.Select(c => c.Platform is null ? c with { Platform = PlatformOf(c.Digest) } : c).ToList();
        var wanted = _source.Platform;
        var match = pool.Where(c => PlatformMatches(c.Platform, wanted)).ToList();
        if (match.Count == 0)
            throw new DaxFsBuildException(BuildErrorKind.ManifestNotFound,
                $"The OCI layout {Where} has no {wanted} image{(_source.Reference is null ? "" : $" tagged '{_source.Reference}'")}. It has: {Describe(pool)}.", new[] { _source.Path }) { NextStep = NextStep.ChoosePlatform };
        if (match.Select(c => c.Digest).Distinct().Count() > 1)
            throw new DaxFsBuildException(BuildErrorKind.ManifestAmbiguous,
                $"The OCI layout {Where} has {match.Count} {wanted} images: {Describe(match)}.", new[] { _source.Path }) { NextStep = NextStep.ChooseReference };
        var chosen = match[0];
        Chosen = $"{chosen.Tag ?? "(untagged)"} {chosen.Platform} {chosen.Digest}";

        using var manifest = ParseJson(ReadBlob(chosen.Digest, "the image manifest"), "the image manifest");
        if (!manifest.RootElement.TryGetProperty("layers", out var layers) || layers.ValueKind != JsonValueKind.Array)
            throw Invalid($"its manifest {chosen.Digest} has no layers array");
        var result = new List<ArchiveLayer>();
        int count = layers.GetArrayLength(), i = 0;
        foreach (var l in layers.EnumerateArray())
        {
            i++;
            string digest = l.TryGetProperty("digest", out var d) ? d.GetString() ?? "" : "";
            string media = l.TryGetProperty("mediaType", out var m) ? m.GetString() ?? "" : "";
            long? size = l.TryGetProperty("size", out var s) && s.TryGetInt64(out var sz) ? sz : null;
            string hex = Hex(digest, $"layer {i}");
            if (media.Contains("nondistributable", StringComparison.Ordinal) && _open(BlobPath(hex)) is null)
                throw new DaxFsBuildException(BuildErrorKind.BlobMissing, $"Layer {i} of {Where} ({digest}) is a non-distributable layer that is not in the layout: fetch it into the layout first.", new[] { digest });
            string path = BlobPath(hex);
            string name = $"layer {i} of {count} ({digest})";
            result.Add(new ArchiveLayer
            {
                Name = name, Digest = hex, Size = size, Fingerprint = _fingerprint,
                OpenRaw = () => _open(path) ?? throw new DaxFsBuildException(BuildErrorKind.BlobMissing,
                    $"The manifest of {Where} names {name}, but the blob {path} is not there: the layout is incomplete; copy the image again (skopeo copy).", new[] { digest }),
            });
        }
        return result;
    }

    private void Collect(JsonElement index, string? tag, List<Candidate> into, int depth)
    {
        if (depth > 8) throw Invalid("its image indexes nest deeper than 8 levels");
        if (!index.TryGetProperty("manifests", out var manifests) || manifests.ValueKind != JsonValueKind.Array)
            throw Invalid("an image index has no manifests array");
        foreach (var m in manifests.EnumerateArray())
        {
            string media = m.TryGetProperty("mediaType", out var mt) ? mt.GetString() ?? "" : "";
            string digest = m.TryGetProperty("digest", out var d) ? d.GetString() ?? "" : "";
            string? t = m.TryGetProperty("annotations", out var a) && a.ValueKind == JsonValueKind.Object && a.TryGetProperty(RefName, out var r) ? r.GetString() : tag;
            string? platform = null;
            if (m.TryGetProperty("platform", out var p) && p.ValueKind == JsonValueKind.Object)
                platform = PlatformString(p, "os", "architecture", "variant");
            if (media is "application/vnd.oci.image.index.v1+json" or "application/vnd.docker.distribution.manifest.list.v2+json")
            {
                using var nested = ParseJson(ReadBlob(digest, "an image index"), "an image index");
                Collect(nested.RootElement, t, into, depth + 1);
            }
            else into.Add(new Candidate(t, platform, digest, media));
        }
    }

    private string PlatformOf(string manifestDigest)
    {
        using var manifest = ParseJson(ReadBlob(manifestDigest, "an image manifest"), "an image manifest");
        if (!manifest.RootElement.TryGetProperty("config", out var c) || !c.TryGetProperty("digest", out var cd))
            throw Invalid($"its manifest {manifestDigest} has no config");
        using var config = ParseJson(ReadBlob(cd.GetString() ?? "", "an image configuration"), "an image configuration");
        return PlatformString(config.RootElement, "os", "architecture", "variant") ?? "unknown";
    }

    private static string? PlatformString(JsonElement e, string os, string arch, string variant)
    {
        string? o = e.TryGetProperty(os, out var x) ? x.GetString() : null;
        string? a = e.TryGetProperty(arch, out var y) ? y.GetString() : null;
        string? v = e.TryGetProperty(variant, out var z) ? z.GetString() : null;
        if (o is null && a is null) return null;
        return $"{o}/{a}" + (string.IsNullOrEmpty(v) ? "" : "/" + v);
    }

    /// <summary>os/arch matches os/arch/any-variant; os/arch/variant matches only that variant.</summary>
    private static bool PlatformMatches(string? have, string wanted)
    {
        if (have is null) return false;
        if (have == wanted) return true;
        var w = wanted.Split('/');
        var h = have.Split('/');
        return w.Length == 2 && h.Length >= 2 && h[0] == w[0] && h[1] == w[1];
    }

    private static string Describe(IEnumerable<Candidate> list) =>
        string.Join("; ", list.Select(c => $"{c.Tag ?? "(untagged)"} {c.Platform ?? "(platform not given)"} {c.Digest}"));

    private static string BlobPath(string hex) => "blobs/sha256/" + hex;

    private string Hex(string digest, string what)
    {
        if (!digest.StartsWith("sha256:", StringComparison.Ordinal))
            throw new DaxFsBuildException(BuildErrorKind.ArchiveInvalid,
                $"{what} of {Where} has the digest '{digest}': DaxFs checks sha256 digests only; copy the image with sha256 digests.", new[] { digest });
        string hex = digest["sha256:".Length..];
        if (hex.Length != 64 || !hex.All(ch => ch is (>= '0' and <= '9') or (>= 'a' and <= 'f')))
            throw new DaxFsBuildException(BuildErrorKind.ArchiveInvalid, $"{what} of {Where} has a malformed digest '{digest}'.", new[] { digest });
        return hex;
    }

    /// <summary>A small blob (index, manifest, configuration) read whole and checked against its digest.</summary>
    private byte[] ReadBlob(string digest, string what)
    {
        string hex = Hex(digest, what);
        var bytes = ReadSmall(BlobPath(hex), digest, what);
        string got = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(bytes)).ToLowerInvariant();
        if (got != hex)
            throw new DaxFsBuildException(BuildErrorKind.DigestMismatch,
                $"The blob {digest} ({what}) of {Where} has SHA-256 {got}: it is damaged or was altered. Nothing was built; fetch the image again.", new[] { digest });
        return bytes;
    }

    private byte[] ReadSmall(string rel, string? digest, string what)
    {
        using var s = _open(rel) ?? throw new DaxFsBuildException(digest is null ? BuildErrorKind.ArchiveInvalid : BuildErrorKind.BlobMissing,
            digest is null ? $"{Where} is not a complete OCI image layout or docker archive: it has no {rel}."
                           : $"{Where} names {what} {digest}, but the blob {rel} is not there: the image is incomplete; copy it again.",
            new[] { digest ?? rel });
        using var ms = new MemoryStream();
        var buf = new byte[1 << 16];
        int n;
        while ((n = s.Read(buf, 0, buf.Length)) > 0)
        {
            ms.Write(buf, 0, n);
            if (ms.Length > 64 << 20) throw Invalid($"{rel} is larger than 64 MiB, which no index, manifest or configuration is");
        }
        return ms.ToArray();
    }

    private JsonDocument ParseJson(byte[] bytes, string what)
    {
        try { return JsonDocument.Parse(bytes); }
        catch (JsonException ex) { throw new DaxFsBuildException(BuildErrorKind.ArchiveInvalid, $"{what} of {Where} is not valid JSON: {ex.Message}", new[] { _source.Path }, ex); }
    }

    private DaxFsBuildException Invalid(string why) =>
        new(BuildErrorKind.ArchiveInvalid, $"{Where} is not a valid container image: {why}.", new[] { _source.Path });

    // ---- docker save archive ----

    private List<ArchiveLayer> DockerLayers()
    {
        using var doc = ParseJson(ReadSmall("manifest.json", null, "manifest.json"), "manifest.json");
        if (doc.RootElement.ValueKind != JsonValueKind.Array) throw Invalid("its manifest.json is not an array");
        var images = doc.RootElement.EnumerateArray().ToList();
        string Tags(JsonElement e) => e.TryGetProperty("RepoTags", out var t) && t.ValueKind == JsonValueKind.Array && t.GetArrayLength() > 0
            ? string.Join(", ", t.EnumerateArray().Select(x => x.GetString())) : "(untagged)";
        string Config(JsonElement e) => e.TryGetProperty("Config", out var c) ? c.GetString() ?? "" : "";
        var all = string.Join("; ", images.Select(e => $"{Tags(e)} {Config(e)}"));
        var pool = images;
        if (_source.Reference is { } tag)
        {
            pool = images.Where(e => e.TryGetProperty("RepoTags", out var t) && t.ValueKind == JsonValueKind.Array &&
                t.EnumerateArray().Any(x => x.GetString() is { } s && (s == tag || s == tag + ":latest" || s.EndsWith("/" + tag, StringComparison.Ordinal) || s.EndsWith("/" + tag + ":latest", StringComparison.Ordinal)))).ToList();
            if (pool.Count == 0)
                throw new DaxFsBuildException(BuildErrorKind.ManifestNotFound, $"The docker archive {Where} has no image tagged '{tag}'. It has: {all}.", new[] { _source.Path }) { NextStep = NextStep.ChooseReference };
        }
        if (pool.Count == 0) throw new DaxFsBuildException(BuildErrorKind.ManifestNotFound, $"The docker archive {Where} lists no image in its manifest.json.", new[] { _source.Path });
        if (pool.Count > 1)
            throw new DaxFsBuildException(BuildErrorKind.ManifestAmbiguous, $"The docker archive {Where} holds {pool.Count} images: {all}.", new[] { _source.Path }) { NextStep = NextStep.ChooseReference };
        var image = pool[0];
        string configPath = Config(image);
        var configBytes = ReadSmall(configPath, configPath, "the image configuration");
        CheckNamedDigest(configPath, configBytes, "the image configuration");
        using var config = ParseJson(configBytes, "the image configuration");
        string platform = PlatformString(config.RootElement, "os", "architecture", "variant") ?? "unknown";
        if (!PlatformMatches(platform, _source.Platform))
            throw new DaxFsBuildException(BuildErrorKind.ManifestNotFound,
                $"The docker archive {Where} holds a {platform} image ({Tags(image)}), not {_source.Platform}.", new[] { _source.Path })
                { NextStep = NextStep.BuildOtherPlatform, NextStepSubject = platform };
        Chosen = $"{Tags(image)} {platform} {configPath}";
        var diffIds = config.RootElement.TryGetProperty("rootfs", out var rootfs) && rootfs.TryGetProperty("diff_ids", out var ids) && ids.ValueKind == JsonValueKind.Array
            ? ids.EnumerateArray().Select(x => x.GetString() ?? "").ToList() : new List<string>();
        if (!image.TryGetProperty("Layers", out var layers) || layers.ValueKind != JsonValueKind.Array) throw Invalid("its manifest.json entry has no Layers");
        int count = layers.GetArrayLength();
        if (diffIds.Count != count)
            throw Invalid($"its image configuration lists {diffIds.Count} diff_ids for {count} layers");
        var result = new List<ArchiveLayer>();
        int i = 0;
        foreach (var l in layers.EnumerateArray())
        {
            string path = l.GetString() ?? "";
            string name = $"layer {i + 1} of {count} ({path})";
            string? named = NamedDigest(path);
            result.Add(new ArchiveLayer
            {
                Name = name, Digest = named, DiffId = Hex(diffIds[i], $"diff_id {i + 1}"), Fingerprint = _fingerprint,
                OpenRaw = () => _open(path) ?? throw new DaxFsBuildException(BuildErrorKind.BlobMissing,
                    $"The manifest.json of {Where} names {name}, but the archive has no member '{path}': the archive is incomplete; save the image again.", new[] { path }),
            });
            i++;
        }
        return result;
    }

    /// <summary>The sha256 a member's name states (blobs/sha256/HEX, or HEX.json / HEX.tar / HEX/layer.tar-less names), or null.</summary>
    private static string? NamedDigest(string path)
    {
        var leaf = System.IO.Path.GetFileNameWithoutExtension(path);
        if (path.StartsWith("blobs/sha256/", StringComparison.Ordinal)) leaf = path["blobs/sha256/".Length..];
        return leaf.Length == 64 && leaf.All(ch => ch is (>= '0' and <= '9') or (>= 'a' and <= 'f')) ? leaf : null;
    }

    private void CheckNamedDigest(string path, byte[] bytes, string what)
    {
        if (NamedDigest(path) is not { } hex) return;
        string got = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(bytes)).ToLowerInvariant();
        if (got != hex)
            throw new DaxFsBuildException(BuildErrorKind.DigestMismatch,
                $"{what} '{path}' of {Where} has SHA-256 {got}, not the digest its name gives: it is damaged or was altered. Nothing was built.", new[] { path });
    }
}
