using System.Security.Cryptography;
using System.Text;
using DaxFs.Core.Format;
using DaxFs.Core.Build;
using DaxFs.Core.Linux;
using DaxFs.Core.Read;
using Microsoft.Win32.SafeHandles;

namespace DaxFs.Core.Compare;

/// <summary>How an entry differs between the reference and the difference tree.</summary>
public enum TreeChange
{
    /// <summary>Only in the difference tree.</summary>
    Added,
    /// <summary>Only in the reference tree.</summary>
    Removed,
    /// <summary>In both, with the properties of <see cref="TreeDifference.Properties"/> different.</summary>
    Modified,
}

/// <summary>Which properties of an entry differ (several at once).</summary>
[Flags]
public enum TreeProperties
{
    None = 0,
    /// <summary>File, directory or symbolic link.</summary>
    Type = 1,
    /// <summary>Permission bits (setuid, setgid and sticky included); not compared for symbolic links.</summary>
    Mode = 2,
    Uid = 4,
    Gid = 8,
    /// <summary>Regular files: their length.</summary>
    Size = 16,
    /// <summary>Regular files: the bytes (SHA-256 when the sizes are equal; a different size is different content).</summary>
    Content = 32,
    /// <summary>Symbolic links: the target.</summary>
    Target = 64,
}

/// <summary>One entry of a tree, as the comparer sees it.</summary>
public sealed record TreeEntry(byte[] PathBytes, DaxFsItemType Type, uint Mode, uint Uid, uint Gid, long Size, byte[]? Target)
{
    /// <summary>The path inside the tree ("/" for the root, "/a/b"), UTF-8 decoded (names that are not UTF-8 show U+FFFD).</summary>
    public string Path => Encoding.UTF8.GetString(PathBytes);
}

/// <summary>One difference: an entry added, removed or modified, with both sides' values.</summary>
public sealed record TreeDifference(TreeChange Change, TreeEntry? Reference, TreeEntry? Difference, TreeProperties Properties,
    string? ReferenceSha256, string? DifferenceSha256)
{
    public byte[] PathBytes => (Reference ?? Difference)!.PathBytes;
    public string Path => (Reference ?? Difference)!.Path;
}

/// <summary>What to compare.</summary>
public sealed class TreeCompareOptions
{
    /// <summary>Compare uid and gid (off when an image was built with another owner than the tree's).</summary>
    public bool CompareOwner { get; init; } = true;
    /// <summary>Compare file bytes by SHA-256 (off: metadata and sizes only).</summary>
    public bool CompareContent { get; init; } = true;
    /// <summary>Files hashed at once; default: one per processor.</summary>
    public int Workers { get; init; } = Environment.ProcessorCount;
    public CancellationToken CancellationToken { get; init; }
}

/// <summary>The result of a comparison: the differences in path order, and what was compared.</summary>
public sealed class TreeComparison
{
    public required IReadOnlyList<TreeDifference> Differences { get; init; }
    public required long ReferenceEntries { get; init; }
    public required long DifferenceEntries { get; init; }
    /// <summary>Pairs of equal-sized files hashed on both sides.</summary>
    public required long FilesHashed { get; init; }
    /// <summary>Bytes hashed, both sides together.</summary>
    public required long BytesHashed { get; init; }
    /// <summary>Entries of a directory tree that DAXFS cannot hold (FIFOs, sockets, devices), left out of the comparison.</summary>
    public required IReadOnlyList<string> Skipped { get; init; }
}

/// <summary>A tree to compare: an image (read in place from its memory map) or a directory on disk.</summary>
public abstract class ComparableTree
{
    private protected ComparableTree() { }

    internal abstract List<TreeEntry> Entries(CancellationToken ct);
    internal abstract byte[] Hash(TreeEntry entry);
    internal virtual IReadOnlyList<string> Skipped => Array.Empty<string>();

    public static ComparableTree FromImage(DaxFsImageReader reader) => new ImageTree(reader);
    public static ComparableTree FromDirectory(string path) => new DirectoryTree(path);

    /// <summary>An image: entries from its directories (raw names), content hashed straight from the mapped memory.</summary>
    private sealed class ImageTree(DaxFsImageReader reader) : ComparableTree
    {
        private readonly Dictionary<string, uint> _inodes = new(StringComparer.Ordinal);

        internal override List<TreeEntry> Entries(CancellationToken ct)
        {
            var list = new List<TreeEntry>();
            uint root = reader.RootInode;
            list.Add(Entry("/"u8.ToArray(), root));
            var visited = new HashSet<uint> { root };
            var pending = new Stack<(byte[] Path, uint Ino)>();
            pending.Push((Array.Empty<byte>(), root));
            while (pending.Count > 0)
            {
                var (dirPath, dirIno) = pending.Pop();
                foreach (var e in reader.ReadDirectory(dirIno))
                {
                    ct.ThrowIfCancellationRequested();
                    var path = new byte[dirPath.Length + 1 + e.NameBytes.Length];
                    dirPath.CopyTo(path, 0);
                    path[dirPath.Length] = (byte)'/';
                    e.NameBytes.CopyTo(path, dirPath.Length + 1);
                    var entry = Entry(path, e.Ino);
                    list.Add(entry);
                    if (entry.Type == DaxFsItemType.Directory)
                    {
                        if (!visited.Add(e.Ino))
                            throw new DaxFsFormatException(RuleIds.TreeCycle, e.Offset,
                                $"Directory inode {e.Ino} ('{entry.Path}') is reached a second time: the image's directories form a cycle or share a child.");
                        pending.Push((path, e.Ino));
                    }
                }
            }
            return list;
        }

        private TreeEntry Entry(byte[] path, uint ino)
        {
            var inode = reader.GetInode(ino);
            var type = ModeBits.TypeOf(inode.Mode);
            byte[]? target = type == DaxFsItemType.SymbolicLink ? reader.ReadSymlinkTarget(ino) : null;
            if (type == DaxFsItemType.File) _inodes[Encoding.Latin1.GetString(path)] = ino;
            return new TreeEntry(path, type, inode.Mode & 0xFFF, inode.Uid, inode.Gid, inode.Size > long.MaxValue ? long.MaxValue : (long)inode.Size, target);
        }

        internal override byte[] Hash(TreeEntry entry)
        {
            uint ino = _inodes[Encoding.Latin1.GetString(entry.PathBytes)];
            if (!reader.HasExternalData && entry.Size <= int.MaxValue) return SHA256.HashData(reader.GetContentSpan(ino));
            using var s = reader.OpenContent(ino);
            return SHA256.HashData(s);
        }
    }

    /// <summary>A directory: lstat'ed once (the writer's scanner: raw names, hard links, no symlinks followed), files hashed by reading them.</summary>
    private sealed class DirectoryTree(string path) : ComparableTree
    {
        private readonly string _root = System.IO.Path.GetFullPath(path);
        private List<string> _skipped = new();

        internal override IReadOnlyList<string> Skipped => _skipped;

        internal override List<TreeEntry> Entries(CancellationToken ct)
        {
            var tree = SourceTree.Scan(new ImageBuildOptions { SourcePath = _root, Destination = "/dev/null", SkipUnsupported = true },
                Math.Max(1, Math.Min(8, Environment.ProcessorCount)), ct);
            _skipped = tree.Warnings.Select(w => w.Path ?? w.Message).ToList();
            var list = new List<TreeEntry>(tree.Nodes.Count);
            foreach (var node in tree.Nodes)
            {
                var rel = tree.RelativeBytes(node);
                var full = new byte[rel.Length + 1];
                full[0] = (byte)'/';
                rel.CopyTo(full, 1);
                var st = node.Stat;
                var type = ModeBits.TypeOf(st.Mode);
                list.Add(new TreeEntry(full, type, st.Mode & 0xFFF, st.Uid, st.Gid, type == DaxFsItemType.File ? st.Size : 0, node.LinkTarget));
            }
            return list;
        }

        internal override byte[] Hash(TreeEntry entry)
        {
            var rootBytes = Encoding.UTF8.GetBytes(_root);
            var full = new byte[rootBytes.Length + entry.PathBytes.Length];
            rootBytes.CopyTo(full, 0);
            entry.PathBytes.CopyTo(full, rootBytes.Length);
            int fd = Syscalls.OpenAt(Syscalls.AT_FDCWD, full, Syscalls.O_RDONLY | Syscalls.O_NOFOLLOW | Syscalls.O_CLOEXEC);
            if (fd < 0) throw new IOException($"Cannot open '{_root}{entry.Path}': {Syscalls.StrError(Syscalls.LastErrno)}.");
            using var handle = new SafeFileHandle(fd, ownsHandle: true);
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            // A pooled buffer the size of the file (up to 1 MiB): most files are read in one call, nothing is allocated per file.
            var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent((int)Math.Clamp(entry.Size + 1, 4096, 1 << 20));
            try
            {
                long offset = 0;
                int n;
                while ((n = RandomAccess.Read(handle, buffer, offset)) > 0) { hash.AppendData(buffer, 0, n); offset += n; }
                return hash.GetHashAndReset();
            }
            finally { System.Buffers.ArrayPool<byte>.Shared.Return(buffer); }
        }
    }
}

/// <summary>
/// Compares two trees (images or directories): what was added, removed or modified (type, mode, owner, size, content by
/// SHA-256, link target), in ordinal path order. Content is hashed only for regular files of equal size, both sides, in
/// parallel; an image's files are hashed straight from its memory map.
/// </summary>
public static class TreeComparer
{
    public static TreeComparison Compare(ComparableTree reference, ComparableTree difference, TreeCompareOptions? options = null)
    {
        options ??= new TreeCompareOptions();
        var ct = options.CancellationToken;
        List<TreeEntry> left = null!, right = null!;
        // The two listings are independent: read them at once.
        Parallel.Invoke(new ParallelOptions { CancellationToken = ct },
            () => left = Sorted(reference.Entries(ct)),
            () => right = Sorted(difference.Entries(ct)));

        var diffs = new List<TreeDifference?>();
        var toHash = new List<(int Index, TreeEntry A, TreeEntry B)>();
        int i = 0, j = 0;
        while (i < left.Count || j < right.Count)
        {
            int c = i >= left.Count ? 1 : j >= right.Count ? -1 : ComparePath(left[i].PathBytes, right[j].PathBytes);
            if (c < 0) { diffs.Add(new TreeDifference(TreeChange.Removed, left[i++], null, TreeProperties.None, null, null)); continue; }
            if (c > 0) { diffs.Add(new TreeDifference(TreeChange.Added, null, right[j++], TreeProperties.None, null, null)); continue; }
            var a = left[i++];
            var b = right[j++];
            var p = Properties(a, b, options);
            if (options.CompareContent && a.Type == DaxFsItemType.File && b.Type == DaxFsItemType.File && a.Size == b.Size && a.Size > 0)
            {
                toHash.Add((diffs.Count, a, b));
                diffs.Add(p == TreeProperties.None ? null : new TreeDifference(TreeChange.Modified, a, b, p, null, null));
            }
            else if (p != TreeProperties.None) diffs.Add(new TreeDifference(TreeChange.Modified, a, b, p, null, null));
        }

        var hashes = new (byte[] A, byte[] B)[toHash.Count];
        Parallel.For(0, toHash.Count, new ParallelOptions { CancellationToken = ct, MaxDegreeOfParallelism = Math.Max(1, options.Workers) },
            k => hashes[k] = (reference.Hash(toHash[k].A), difference.Hash(toHash[k].B)));
        long bytesHashed = 0;
        for (int k = 0; k < toHash.Count; k++)
        {
            var (index, a, b) = toHash[k];
            bytesHashed += 2 * a.Size;
            var (ha, hb) = hashes[k];
            var prev = diffs[index];
            var p = (prev?.Properties ?? TreeProperties.None) | (ha.AsSpan().SequenceEqual(hb) ? TreeProperties.None : TreeProperties.Content);
            diffs[index] = p == TreeProperties.None ? null
                : new TreeDifference(TreeChange.Modified, a, b, p, Convert.ToHexString(ha).ToLowerInvariant(), Convert.ToHexString(hb).ToLowerInvariant());
        }

        return new TreeComparison
        {
            Differences = diffs.Where(d => d is not null).Select(d => d!).ToList(),
            ReferenceEntries = left.Count,
            DifferenceEntries = right.Count,
            FilesHashed = toHash.Count,
            BytesHashed = bytesHashed,
            Skipped = reference.Skipped.Concat(difference.Skipped).ToList(),
        };
    }

    private static TreeProperties Properties(TreeEntry a, TreeEntry b, TreeCompareOptions o)
    {
        if (a.Type != b.Type) return TreeProperties.Type;
        var p = TreeProperties.None;
        if (a.Type != DaxFsItemType.SymbolicLink && a.Mode != b.Mode) p |= TreeProperties.Mode;
        if (o.CompareOwner && a.Uid != b.Uid) p |= TreeProperties.Uid;
        if (o.CompareOwner && a.Gid != b.Gid) p |= TreeProperties.Gid;
        if (a.Type == DaxFsItemType.File && a.Size != b.Size) p |= TreeProperties.Size | (o.CompareContent ? TreeProperties.Content : 0);
        if (a.Type == DaxFsItemType.SymbolicLink && !a.Target.AsSpan().SequenceEqual(b.Target)) p |= TreeProperties.Target;
        return p;
    }

    private static List<TreeEntry> Sorted(List<TreeEntry> list)
    {
        list.Sort((x, y) => ComparePath(x.PathBytes, y.PathBytes));
        return list;
    }

    // Paths in the order a listing shows them: by components, so that "/a/b" comes right after "/a" and before "/a-b".
    private static int ComparePath(byte[] x, byte[] y)
    {
        int n = Math.Min(x.Length, y.Length);
        for (int k = 0; k < n; k++)
        {
            if (x[k] == y[k]) continue;
            byte bx = x[k] == (byte)'/' ? (byte)0 : x[k], by = y[k] == (byte)'/' ? (byte)0 : y[k];
            return bx.CompareTo(by);
        }
        return x.Length.CompareTo(y.Length);
    }
}
