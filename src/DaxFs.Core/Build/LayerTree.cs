using System.Formats.Tar;
using System.Text;
using DaxFs.Core.Errors;
using DaxFs.Core.Format;
using DaxFs.Core.Linux;
using Microsoft.Win32.SafeHandles;

namespace DaxFs.Core.Build;

/// <summary>One tar stream the image is made from: a tarball, or one layer of a container image.</summary>
internal sealed class ArchiveLayer
{
    /// <summary>How messages name it: the tarball's path, or "layer 2 of 3 (sha256:…)".</summary>
    public required string Name { get; init; }
    /// <summary>Opens its raw (possibly compressed) bytes from the start.</summary>
    public required Func<Stream> OpenRaw { get; init; }
    /// <summary>The SHA-256 (lowercase hex) its raw bytes must have, or null.</summary>
    public string? Digest { get; init; }
    /// <summary>The size its descriptor gives, or null.</summary>
    public long? Size { get; init; }
    /// <summary>The SHA-256 (lowercase hex) its decompressed tar must have (a docker archive's diff_id), or null.</summary>
    public string? DiffId { get; init; }
    /// <summary>A fingerprint of the file it comes from (length and modification time), checked again before the data pass.</summary>
    public Func<string>? Fingerprint { get; init; }
}

/// <summary>
/// The tree that tar streams describe: one tarball, or container image layers applied in order with the OCI whiteout
/// rules (a ".wh.NAME" member removes NAME of a lower layer, ".wh..wh..opq" hides everything the lower layers put in its
/// directory; a hard link may name a file of a lower layer). Only metadata is kept; file data stays in the archive and is
/// copied into the image by <see cref="WriteData"/> in a second pass, so nothing is unpacked to disk.
/// </summary>
internal sealed class LayerTree
{
    private const string WhiteoutPrefix = ".wh.";
    private const string OpaqueMarker = ".wh..wh..opq";

    private sealed class Inode
    {
        public uint Mode;               // type and permission bits
        public uint Uid, Gid;
        public long Size;
        public byte[]? Target;          // symlinks
        public int Layer = -1;          // regular files: where the data is
        public long Member;             // regular files: the member's ordinal in that layer
        public long DataStart;          // regular files: where the member's data starts in the layer's tar stream
        public SourceNode? Primary;     // set while the source tree is made
    }

    private sealed class Node(string name, Node? parent, Inode inode, int layer)
    {
        public readonly string Name = name;
        public Node? Parent = parent;
        public Inode Inode = inode;
        public int Layer = layer;       // the last layer that had a member for this path
        public Dictionary<string, Node>? Children;
        public bool IsDirectory => (Inode.Mode & DaxFsConstants.S_IFMT) == DaxFsConstants.S_IFDIR;
        public string Path => Parent is null ? "" : Parent.Parent is null ? Name : Parent.Path + "/" + Name;
    }

    private readonly Node _root = new("", null, new Inode { Mode = DaxFsConstants.S_IFDIR | 0x1ED /* 0755 */ }, -1) { Children = new(StringComparer.Ordinal) };
    private readonly List<ArchiveLayer> _layers = new();
    private readonly List<string?> _fingerprints = new();
    private readonly List<bool> _inPlace = new();
    private readonly bool _whiteouts;
    private readonly bool _scanHeaders;

    /// <param name="whiteouts">Apply OCI whiteouts (container layers); a plain tarball keeps ".wh." names as files.</param>
    /// <param name="scanHeaders">Read an uncompressed tarball's headers with <see cref="TarHeaderScanner"/> where it can
    /// (false: always System.Formats.Tar; tests compare the two).</param>
    public LayerTree(bool whiteouts, bool scanHeaders = true)
    {
        _whiteouts = whiteouts;
        _scanHeaders = scanHeaders;
    }

    public long Members { get; private set; }

    /// <summary>Reads one layer's headers (its file data is skipped, or read only to check the digest) and applies them.</summary>
    public void Apply(ArchiveLayer layer, CancellationToken ct)
    {
        int index = _layers.Count;
        _layers.Add(layer);
        _fingerprints.Add(layer.Fingerprint?.Invoke());
        if (_scanHeaders && layer.Digest is null && layer.DiffId is null && ScanInPlace(layer, ct) is { } members)
        {
            // Every header read well: applied in order, numbered as the tar reader numbers them.
            long ordinal = 0;
            foreach (var (member, dataStart) in members) ApplyMember(member, ++ordinal, dataStart, index, layer);
            _inPlace.Add(true);
            return;
        }
        _inPlace.Add(ReadLayer(layer, ct, e => ApplyMember(TarMember.Of(e.Entry), e.Ordinal, e.DataStart, index, layer)));
    }

    /// <summary>An uncompressed tarball file's headers read by <see cref="TarHeaderScanner"/>, or null (not such a file, or
    /// headers it leaves to System.Formats.Tar, which then reads the layer and reports what is wrong with it).</summary>
    private static List<(TarMember, long)>? ScanInPlace(ArchiveLayer layer, CancellationToken ct)
    {
        Stream raw;
        try { raw = layer.OpenRaw(); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { return null; }
        using (raw)
        {
            if (raw is not FileStream file) return null;
            Span<byte> head = stackalloc byte[6];
            int got = RandomAccess.Read(file.SafeFileHandle, head, 0);
            if (ArchiveStreams.Sniff(head[..got]) != ArchiveCompression.None) return null;
            return TarHeaderScanner.TryScan(file.SafeFileHandle, file.Length, ct);
        }
    }

    private readonly record struct Member(TarEntry Entry, long Ordinal, long DataStart);

    /// <summary>
    /// Reads a layer front to back through the digest checks, calling <paramref name="onMember"/> for each member. Returns
    /// true when the tar stream was the layer's file itself (uncompressed, no digest to check), so a member's data start is
    /// an offset in that file.
    /// </summary>
    private static bool ReadLayer(ArchiveLayer layer, CancellationToken ct, Action<Member> onMember)
    {
        Stream raw;
        try { raw = layer.OpenRaw(); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new DaxFsBuildException(ex is FileNotFoundException or DirectoryNotFoundException ? BuildErrorKind.BlobMissing : BuildErrorKind.Unreadable,
                $"Cannot open {layer.Name}: {ex.Message}", new[] { layer.Name }, ex);
        }
        using (raw)
        {
            var hashed = layer.Digest is null ? null : new HashingStream(raw);
            Stream tar;
            try { tar = ArchiveStreams.OpenTar(hashed ?? raw, out _); }
            catch (Exception ex) when (TarMemberReader.IsDamage(ex))
            {
                throw new DaxFsBuildException(BuildErrorKind.ArchiveInvalid, $"Cannot read {layer.Name}: {ex.Message}", new[] { layer.Name }, ex);
            }
            using (tar)
            {
                var diff = layer.DiffId is null ? null : new HashingStream(tar);
                try
                {
                    using (var reader = new TarMemberReader(diff ?? tar, layer.Name))
                    {
                        try
                        {
                            TarEntry? e;
                            while ((e = reader.Next()) is not null)
                            {
                                ct.ThrowIfCancellationRequested();
                                onMember(new Member(e, reader.Ordinal, reader.DataStart));
                            }
                            reader.DrainRest(ct);
                        }
                        catch (DaxFsBuildException) when (hashed is not null && DigestWrong(hashed, layer, ct) is { } wrong) { throw wrong; }
                    }
                    if (diff is not null)
                    {
                        string got = diff.Finish(ct);
                        if (got != layer.DiffId)
                            throw new DaxFsBuildException(BuildErrorKind.DigestMismatch,
                                $"The uncompressed {layer.Name} has SHA-256 {got}, not the diff_id sha256:{layer.DiffId} its image configuration names: the archive is damaged or was altered. Nothing was built.",
                                new[] { layer.Name });
                    }
                }
                catch (DaxFsBuildException) { throw; }
                catch (Exception ex) when (TarMemberReader.IsDamage(ex))
                {
                    if (hashed is not null && DigestWrong(hashed, layer, ct) is { } wrong) throw wrong;
                    throw new DaxFsBuildException(BuildErrorKind.ArchiveTruncated, $"The compressed stream of {layer.Name} is truncated or damaged: {ex.Message} Download or copy it again.", new[] { layer.Name }, ex);
                }
            }
            if (hashed is not null && DigestWrong(hashed, layer, ct) is { } bad) throw bad;
            return hashed is null && layer.DiffId is null && ReferenceEquals(tar, raw) && raw is FileStream;
        }
    }

    /// <summary>The digest error for a blob whose bytes do not match its digest (or size), or null when they match.</summary>
    private static DaxFsBuildException? DigestWrong(HashingStream hashed, ArchiveLayer layer, CancellationToken ct)
    {
        string got;
        try { got = hashed.Finish(ct); }
        catch (IOException) { return null; }
        if (got == layer.Digest && (layer.Size is null || layer.Size == hashed.BytesRead)) return null;
        return new DaxFsBuildException(BuildErrorKind.DigestMismatch,
            got != layer.Digest
                ? $"{layer.Name} has SHA-256 {got}, not the digest sha256:{layer.Digest} that names it: the blob is damaged or was altered. Nothing was built; fetch the image again."
                : $"{layer.Name} is {hashed.BytesRead} bytes, not the {layer.Size} its descriptor gives: the image is damaged. Nothing was built; fetch the image again.",
            new[] { layer.Name });
    }

    private void ApplyMember(TarMember e, long ordinal, long dataStart, int layer, ArchiveLayer source)
    {
        Members++;
        string raw = e.Name;
        if (raw.Contains('\uFFFD') || raw.Contains('\0'))
            throw Fail(BuildErrorKind.ArchiveInvalid, source, raw, $"Member '{raw}' of {source.Name} has a name that is not valid UTF-8; DaxFs reads member names as UTF-8 only.");
        bool consumed = e.EntryType is TarEntryType.ExtendedAttributes or TarEntryType.LongLink or TarEntryType.LongPath; // by the reader
        Node parent;
        string name;
        int slash = raw.LastIndexOf('/');
        if (slash > 0 && _lastDirectory is not null && _lastGeneration == _generation && raw.AsSpan(0, slash).SequenceEqual(_lastDirectory)
            && raw.AsSpan(slash + 1) is var leaf && leaf.Length > 0 && !leaf.SequenceEqual(".") && !leaf.SequenceEqual(".."))
        {
            // In the directory the member before named, itself unchanged since (members come grouped by directory): the
            // path up to it was split, checked and walked then.
            if (consumed) return;
            parent = _lastParent!;
            name = raw[(slash + 1)..];
        }
        else
        {
            var parts = Split(raw, source, "Member");
            if (consumed) return;
            if (parts.Count == 0) { ApplyRoot(e, raw, layer, source); return; }
            parent = Walk(parts, source, raw, layer);
            name = parts[^1];
            _lastDirectory = null;
            if (slash > 0 && name.Length == raw.Length - slash - 1)
            {
                _lastDirectory = raw[..slash];
                _lastParent = parent;
                _lastGeneration = _generation;
            }
        }
        ApplyMemberIn(parent, name, e, ordinal, dataStart, layer, source, raw);
    }

    // The directory (the text of its path in the member before, and its node) a member was last placed in, valid while
    // nothing has been removed from the tree since (_generation counts removals).
    private string? _lastDirectory;
    private Node? _lastParent;
    private long _generation, _lastGeneration;

    /// <summary>"./": the root directory's own metadata.</summary>
    private void ApplyRoot(TarMember e, string raw, int layer, ArchiveLayer source)
    {
        if (e.EntryType != TarEntryType.Directory)
            throw Fail(BuildErrorKind.ArchiveInvalid, source, raw, $"Member '{raw}' of {source.Name} names the root but is not a directory.");
        SetMeta(_root.Inode, e, DaxFsConstants.S_IFDIR);
        _root.Layer = layer;
    }

    private void ApplyMemberIn(Node parent, string name, TarMember e, long ordinal, long dataStart, int layer, ArchiveLayer source, string raw)
    {
        var type = e.EntryType;

        if (_whiteouts && name.StartsWith(WhiteoutPrefix, StringComparison.Ordinal))
        {
            if (name == OpaqueMarker) { MakeOpaque(parent, layer); return; }
            string target = name[WhiteoutPrefix.Length..];
            if (target.Length == 0 || target == "." || target == "..")
                throw Fail(BuildErrorKind.ArchiveInvalid, source, raw, $"Whiteout '{raw}' in {source.Name} names no entry.");
            if (!parent.Children!.TryGetValue(target, out var gone))
                throw Fail(BuildErrorKind.WhiteoutTargetMissing, source, raw,
                    $"Whiteout '{raw}' in {source.Name} removes '{Join(parent.Path, target)}', which no lower layer has: the image's layers do not fit together (a layer is missing or out of order).");
            if (gone.Layer < layer) Remove(gone);
            return;
        }

        if (type == TarEntryType.HardLink)
        {
            var linkParts = Split(e.LinkName, source, "Hard link target of");
            var target = Find(linkParts);
            if (target is null || target.IsDirectory)
                throw Fail(BuildErrorKind.HardLinkTargetMissing, source, raw, target is null
                    ? $"Hard link '{raw}' in {source.Name} names '{e.LinkName}', which no earlier member (or lower layer) has: a hard link must follow its target in the archive."
                    : $"Hard link '{raw}' in {source.Name} names the directory '{e.LinkName}'; directories cannot be hard-linked.");
            if ((target.Inode.Mode & DaxFsConstants.S_IFMT) == DaxFsConstants.S_IFREG) { Place(parent, name, target.Inode, layer, source, raw); return; }
            // DAXFS shares inodes only between regular files: another kind of entry gets a copy of its own.
            var copy = new Inode { Mode = target.Inode.Mode, Uid = target.Inode.Uid, Gid = target.Inode.Gid, Size = target.Inode.Size, Target = target.Inode.Target };
            Place(parent, name, copy, layer, source, raw);
            return;
        }

        uint kind = type switch
        {
            TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile => DaxFsConstants.S_IFREG,
            TarEntryType.Directory => DaxFsConstants.S_IFDIR,
            TarEntryType.SymbolicLink => DaxFsConstants.S_IFLNK,
            TarEntryType.CharacterDevice => DaxFsConstants.S_IFCHR,
            TarEntryType.BlockDevice => DaxFsConstants.S_IFBLK,
            TarEntryType.Fifo => DaxFsConstants.S_IFIFO,
            _ => throw Fail(BuildErrorKind.ArchiveInvalid, source, raw,
                $"Member '{raw}' of {source.Name} is of tar type '{(char)type}' ({type}), which DaxFs does not read (sparse, multi-volume and tape members are not supported)."),
        };
        var inode = new Inode();
        SetMeta(inode, e, kind);
        if (kind == DaxFsConstants.S_IFREG) { inode.Size = e.Length; inode.Layer = layer; inode.Member = ordinal; inode.DataStart = dataStart; }
        else if (kind == DaxFsConstants.S_IFLNK)
        {
            if (string.IsNullOrEmpty(e.LinkName) || e.LinkName.Contains('\uFFFD'))
                throw Fail(BuildErrorKind.ArchiveInvalid, source, raw, $"Symbolic link '{raw}' of {source.Name} has an empty target or one that is not valid UTF-8.");
            inode.Target = Encoding.UTF8.GetBytes(e.LinkName);
            inode.Size = inode.Target.Length;
        }

        if (kind == DaxFsConstants.S_IFDIR && parent.Children!.TryGetValue(name, out var existing) && existing.IsDirectory)
        {
            // A directory met again (a lower layer's, or the same archive naming it twice) keeps its contents and takes the new metadata.
            existing.Inode.Mode = inode.Mode; existing.Inode.Uid = inode.Uid; existing.Inode.Gid = inode.Gid;
            existing.Layer = layer;
            return;
        }
        var node = Place(parent, name, inode, layer, source, raw);
        if (kind == DaxFsConstants.S_IFDIR) node.Children = new(StringComparer.Ordinal);
    }

    private static void SetMeta(Inode inode, TarMember e, uint kind)
    {
        inode.Mode = kind | ((uint)e.Mode & 0xFFF);
        inode.Uid = (uint)e.Uid;
        inode.Gid = (uint)e.Gid;
    }

    /// <summary>Puts a new entry at parent/name, replacing what a lower layer had there (a duplicate within one archive or layer is an error).</summary>
    private Node Place(Node parent, string name, Inode inode, int layer, ArchiveLayer source, string raw)
    {
        if (parent.Children!.TryGetValue(name, out var old))
        {
            if (old.Layer == layer)
                throw Fail(BuildErrorKind.DuplicateMember, source, raw,
                    $"'{raw}' appears twice in {source.Name}: which one the image should hold is ambiguous. Rebuild the archive without the duplicate.");
            Remove(old);
        }
        var node = new Node(name, parent, inode, layer);
        parent.Children[name] = node;
        return node;
    }

    private void Remove(Node n)
    {
        n.Parent!.Children!.Remove(n.Name);
        n.Parent = null;
        _generation++;
    }

    /// <summary>".wh..wh..opq": hides what lower layers put in the directory, keeping what this layer put there (recursively, as umoci does).</summary>
    private void MakeOpaque(Node dir, int layer)
    {
        var stack = new Stack<Node>();
        stack.Push(dir);
        while (stack.Count > 0)
        {
            var d = stack.Pop();
            foreach (var child in d.Children!.Values.ToList())
            {
                if (child.Layer < layer) Remove(child);
                else if (child.IsDirectory) stack.Push(child);
            }
        }
    }

    /// <summary>The directory that holds the last part of a path; missing directories are made (0755, root), as tar does.</summary>
    private Node Walk(List<string> parts, ArchiveLayer source, string raw, int layer)
    {
        var at = _root;
        for (int i = 0; i < parts.Count - 1; i++)
        {
            if (!at.Children!.TryGetValue(parts[i], out var next))
            {
                next = new Node(parts[i], at, new Inode { Mode = DaxFsConstants.S_IFDIR | 0x1ED }, layer) { Children = new(StringComparer.Ordinal) };
                at.Children[parts[i]] = next;
            }
            else if (!next.IsDirectory)
            {
                bool link = (next.Inode.Mode & DaxFsConstants.S_IFMT) == DaxFsConstants.S_IFLNK;
                throw Fail(link ? BuildErrorKind.MemberThroughSymlink : BuildErrorKind.ArchiveInvalid, source, raw, link
                    ? $"Member '{raw}' of {source.Name} lies below '{next.Path}', which is a symbolic link: an archive that writes through a link it made can put files anywhere, so it is refused."
                    : $"Member '{raw}' of {source.Name} lies below '{next.Path}', which is not a directory.");
            }
            at = next;
        }
        return at;
    }

    private Node? Find(List<string> parts)
    {
        var at = _root;
        foreach (var p in parts)
        {
            if (at.Children is null || !at.Children.TryGetValue(p, out var next)) return null;
            at = next;
        }
        return at;
    }

    /// <summary>The parts of a member path: "./" and empty parts dropped; an absolute path or ".." is refused.</summary>
    private static List<string> Split(string path, ArchiveLayer source, string what)
    {
        if (path.StartsWith('/'))
            throw Fail(BuildErrorKind.UnsafeMemberPath, source, path,
                $"{what} '{path}' in {source.Name} is an absolute path: a member must lie inside the image; refusing an archive that names files outside it.");
        var parts = new List<string>();
        foreach (var p in path.Split('/'))
        {
            if (p.Length == 0 || p == ".") continue;
            if (p == "..")
                throw Fail(BuildErrorKind.UnsafeMemberPath, source, path,
                    $"{what} '{path}' in {source.Name} climbs out of the image with '..': refusing an archive that names files outside it.");
            parts.Add(p);
        }
        return parts;
    }

    private static string Join(string dir, string name) => dir.Length == 0 ? name : dir + "/" + name;

    private static DaxFsBuildException Fail(BuildErrorKind kind, ArchiveLayer source, string member, string message) =>
        new(kind, message, new[] { source.Name, member });

    // ---- the source tree and the data pass ----

    /// <summary>How a layer's file is fingerprinted (<see cref="ArchiveLayer.Fingerprint"/> of a tarball): the file (device and
    /// inode), its length and its modification time.</summary>
    internal static string FingerprintOf(in StatInfo st) => $"{st.DevMajor}:{st.DevMinor}:{st.Ino}:{st.Size}:{st.MtimeSec}.{st.MtimeNsec}";

    /// <summary>
    /// The tarball opened for a data pass that copies every file from where its member's data lies in it (see
    /// <see cref="SourceNode.ArchiveOffset"/>), in the image's order and on any thread, without reading the tar headers again;
    /// null when the tree is not one uncompressed tarball read in place. The file must be the one the headers were read
    /// from, unchanged (<see cref="CheckUnchanged"/>); the caller disposes of it.
    /// </summary>
    public FileStream? OpenInPlace()
    {
        if (_layers.Count != 1 || !_inPlace[0] || _fingerprints[0] is null) return null;
        var source = _layers[0];
        Stream raw;
        try { raw = source.OpenRaw(); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new DaxFsBuildException(BuildErrorKind.FileChanged,
                $"Cannot open {source.Name} again for its file data ({ex.Message}): it changed while the image was being built; build again once nothing writes to it.", new[] { source.Name }, ex);
        }
        if (raw is not FileStream file) { raw.Dispose(); return null; }
        try { CheckUnchanged(file); }
        catch { file.Dispose(); throw; }
        return file;
    }

    /// <summary>Throws when the tarball <see cref="OpenInPlace"/> opened is not the file the headers were read from as it was then.</summary>
    public void CheckUnchanged(FileStream file)
    {
        var source = _layers[0];
        if (!Syscalls.Stat((int)file.SafeFileHandle.DangerousGetHandle(), out var st) || FingerprintOf(st) != _fingerprints[0])
            throw new DaxFsBuildException(BuildErrorKind.FileChanged,
                $"{source.Name} changed while the image was being built: build again once nothing writes to it.", new[] { source.Name });
    }

    private readonly Dictionary<(int Layer, long Member), SourceNode> _data = new();

    /// <summary>
    /// The tree as the builder takes it: pre-order, children sorted by ordinal name bytes, inodes numbered in that order,
    /// hard links sharing the first name's inode; exclusions and -SkipUnsupported applied as for a directory.
    /// </summary>
    public SourceTree ToSourceTree(ImageBuildOptions options, string rootPath)
    {
        var tree = new SourceTree { Archive = this };
        tree.SetRootPath(rootPath);
        var unsupported = new List<string>();
        long excluded = 0, hardLinkNames = 0;
        var rootNode = new SourceNode { Name = Array.Empty<byte>(), Parent = -1, Stat = StatOf(_root.Inode), IsPrimary = true, Ino = 1, Children = new() };
        tree.Nodes.Add(rootNode);
        tree.Inodes.Add(rootNode);
        var stack = new Stack<(Node Dir, int Index, string Rel, (byte[] Name, Node Node)[] Children, int Next)>();
        stack.Push((_root, 0, "", Sorted(_root), 0));
        while (stack.Count > 0)
        {
            var f = stack.Pop();
            if (f.Next >= f.Children.Length) continue;
            stack.Push((f.Dir, f.Index, f.Rel, f.Children, f.Next + 1));
            var (nameBytes, child) = f.Children[f.Next];
            // The relative path is made only when exclusions need it (a path per entry is most of this walk's garbage).
            string rel = options.Exclude.Count == 0 ? "" : f.Rel.Length == 0 ? child.Name : f.Rel + "/" + child.Name;
            if (options.Exclude.Count > 0 && SourceTree.IsExcluded(options.Exclude, rel, nameBytes)) { excluded++; continue; }
            uint type = child.Inode.Mode & DaxFsConstants.S_IFMT;
            if (type != DaxFsConstants.S_IFREG && type != DaxFsConstants.S_IFDIR && type != DaxFsConstants.S_IFLNK) { unsupported.Add(child.Path); continue; }
            var parent = tree.Nodes[f.Index];
            var node = new SourceNode { Name = nameBytes, Parent = f.Index, Stat = StatOf(child.Inode) };
            int index = tree.Nodes.Count;
            if (type == DaxFsConstants.S_IFREG && child.Inode.Primary is { } primary)
            {
                node.Ino = primary.Ino;
                primary.Names++;
                hardLinkNames++;
            }
            else
            {
                if ((long)tree.Inodes.Count >= uint.MaxValue - 1L)
                    throw new DaxFsBuildException(BuildErrorKind.TooManyInodes, "The archive has more entries than a DAXFS image can number (2^32 - 2).");
                node.IsPrimary = true;
                node.Ino = (uint)(tree.Inodes.Count + 1);
                tree.Inodes.Add(node);
                if (type == DaxFsConstants.S_IFREG)
                {
                    child.Inode.Primary = node;
                    node.ArchiveOffset = child.Inode.DataStart;
                    if (child.Inode.Size > 0) _data[(child.Inode.Layer, child.Inode.Member)] = node;
                }
            }
            tree.Nodes.Add(node);
            parent.Children!.Add(index);
            if (type == DaxFsConstants.S_IFLNK) node.LinkTarget = child.Inode.Target;
            else if (type == DaxFsConstants.S_IFDIR)
            {
                parent.SubdirectoryCount++;
                node.Children = new();
                stack.Push((child, index, rel, Sorted(child), 0));
            }
        }
        tree.SetCounts(hardLinkNames, excluded, options.SkipUnsupported ? unsupported.Count : 0);
        if (unsupported.Count > 0)
        {
            if (!options.SkipUnsupported)
                throw new DaxFsBuildException(BuildErrorKind.UnsupportedFileType,
                    $"{unsupported.Count} member{(unsupported.Count == 1 ? " is a" : "s are")} FIFO or device node, which DAXFS cannot hold: " +
                    $"{SourceTree.Summarize(unsupported)}.", unsupported) { NextStep = NextStep.ExcludeOrSkipUnsupported };
            foreach (var u in unsupported)
                tree.Warnings.Add(new BuildWarning(ErrorIds.UnsupportedFileSkipped, $"Skipped '{u}': DAXFS cannot hold FIFOs, sockets or device nodes.", u));
        }
        return tree;
    }

    private static (byte[], Node)[] Sorted(Node dir)
    {
        var list = new (byte[], Node)[dir.Children!.Count];
        int i = 0;
        foreach (var c in dir.Children.Values) list[i++] = (Encoding.UTF8.GetBytes(c.Name), c);
        Array.Sort(list, static (a, b) => a.Item1.AsSpan().SequenceCompareTo(b.Item1));
        return list;
    }

    private static StatInfo StatOf(Inode i) =>
        new(i.Mode, i.Uid, i.Gid, 1, 0, i.Size, 0, 0, 0, 0, 0, 0, Blocks: (i.Size + 511) / 512);

    /// <summary>
    /// The data pass: reads the layers again (each once, front to back, through the same digest checks) and copies every
    /// regular file the image holds from its member straight to its place in the image (or the backing file).
    /// Every file owns its data from its offset to the next multiple of <paramref name="blockSize"/> (each object starts
    /// on a block boundary), so files that follow each other in the image go out through one buffer as large writes,
    /// their padding written as the zeros it already is; any other jump flushes the buffer first. Writeback starts as
    /// the buffer goes out, so the caller's fsync has little left to wait for.
    /// </summary>
    public void WriteData(SafeFileHandle target, long baseOffset, long blockSize, bool direct, Action<SourceNode, long> onFile, CancellationToken ct)
    {
        using var sink = new ImageWriterSink(target, direct);
        for (int layer = 0; layer < _layers.Count; layer++)
        {
            var source = _layers[layer];
            if (!_data.Keys.Any(k => k.Layer == layer)) continue;
            if (source.Fingerprint is not null && source.Fingerprint() != _fingerprints[layer])
                throw new DaxFsBuildException(BuildErrorKind.FileChanged,
                    $"{source.Name} changed while the image was being built: build again once nothing writes to it.", new[] { source.Name });
            ReadLayer(source, ct, m =>
            {
                if (!_data.TryGetValue((layer, m.Ordinal), out var node)) return;
                if (m.Entry.Length != node.DataSize || m.Entry.DataStream is null)
                    throw new DaxFsBuildException(BuildErrorKind.FileChanged,
                        $"{source.Name} changed while the image was being built (member '{m.Entry.Name}' is not what the first pass read): build again once nothing writes to it.", new[] { source.Name });
                long offset = baseOffset + node.DataOffset, left = node.DataSize;
                long gap = offset - sink.Position;
                if (gap != 0)
                {
                    // The previous file's own padding up to this block: zeros through the buffer; past other objects
                    // (directories and links, written already), a skip; backwards, a jump.
                    if (gap > 0 && gap < blockSize && offset % blockSize == 0) sink.Seek(offset);
                    else if (gap > 0) sink.Skip(offset);
                    else sink.SeekAbsolute(offset);
                }
                var data = m.Entry.DataStream;
                while (left > 0)
                {
                    ct.ThrowIfCancellationRequested();
                    int n;
                    try { n = sink.WriteFrom(data, (int)Math.Min(int.MaxValue, left)); }
                    catch (Exception ex) when (TarMemberReader.IsDamage(ex))
                    {
                        throw new DaxFsBuildException(BuildErrorKind.ArchiveTruncated, $"Reading member '{m.Entry.Name}' of {source.Name} failed: {ex.Message} The archive is truncated or damaged.", new[] { source.Name, m.Entry.Name }, ex);
                    }
                    if (n == 0)
                        throw new DaxFsBuildException(BuildErrorKind.ArchiveTruncated,
                            $"Member '{m.Entry.Name}' of {source.Name} ends {left} bytes before the size its header gives: the archive is truncated.", new[] { source.Name, m.Entry.Name });
                    left -= n;
                    onFile(node, n);
                }
                onFile(node, 0);
            });
        }
        sink.Finish();
    }
}
