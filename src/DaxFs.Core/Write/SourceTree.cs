using System.IO.Enumeration;
using System.Text;
using DaxFs.Core.Format;

namespace DaxFs.Core.Write;

/// <summary>One name in the source tree (a hard-linked file has one node per name, all sharing one inode).</summary>
internal sealed class SourceNode
{
    public required byte[] Name;            // empty for the root
    public required int Parent;             // index of the parent node; -1 for the root
    public StatInfo Stat;
    public uint Ino;                        // image inode number (shared by hard links)
    public bool IsPrimary;                  // the first name of its inode: holds the inode's data
    public List<int>? Children;             // directories: child node indices, sorted by ordinal bytes
    public byte[]? LinkTarget;              // symlinks
    public int SubdirectoryCount;           // directories
    public uint Names = 1;                  // primary: names the inode has in the image
    public long DataOffset;                 // primary: set by the layout
    public long DataSize;                   // primary: the inode's size field
}

/// <summary>
/// The source tree, scanned once: pre-order, children sorted by ordinal name bytes, inode numbers in that
/// order from 1 (the root), one inode per distinct source inode. Nothing is read from files here.
/// </summary>
internal sealed class SourceTree
{
    public List<SourceNode> Nodes { get; } = new();
    /// <summary>Primary nodes in inode-number order (Inodes[0] is inode 1, the root).</summary>
    public List<SourceNode> Inodes { get; } = new();
    public List<BuildWarning> Warnings { get; } = new();
    public string RootPath { get; private set; } = "";

    public static SourceTree Scan(ImageBuildOptions options, CancellationToken ct)
    {
        var tree = new SourceTree();
        tree.ScanCore(options, ct);
        return tree;
    }

    private void ScanCore(ImageBuildOptions options, CancellationToken ct)
    {
        RootPath = Path.GetFullPath(options.SourcePath);
        var rootBytes = Encoding.UTF8.GetBytes(RootPath);
        int rootFd = NativeFs.OpenAt(NativeFs.AT_FDCWD, rootBytes, NativeFs.O_RDONLY | NativeFs.O_DIRECTORY);
        if (rootFd < 0)
        {
            int e = NativeFs.LastErrno;
            if (e == NativeFs.ENOENT)
                throw new DaxFsBuildException(BuildErrorKind.SourceNotFound, $"The source directory '{RootPath}' does not exist.", new[] { RootPath });
            if (e == 20 /* ENOTDIR */)
                throw new DaxFsBuildException(BuildErrorKind.SourceNotDirectory, $"The source '{RootPath}' is not a directory: give the directory whose contents become the image.", new[] { RootPath });
            throw new DaxFsBuildException(BuildErrorKind.Unreadable, $"Cannot open the source directory '{RootPath}': {NativeFs.Describe(e)}.", new[] { RootPath });
        }

        var unreadable = new List<string>();
        var unsupported = new List<string>();
        var hardLinks = new Dictionary<(uint, uint, ulong), SourceNode>();
        var stack = new Stack<Frame>();
        try
        {
            if (!NativeFs.Stat(rootFd, out var rootStat))
                throw new DaxFsBuildException(BuildErrorKind.Unreadable, $"Cannot stat '{RootPath}': {NativeFs.Describe(NativeFs.LastErrno)}.", new[] { RootPath });
            var root = new SourceNode { Name = Array.Empty<byte>(), Parent = -1, Stat = rootStat, IsPrimary = true, Ino = 1, Children = new() };
            Nodes.Add(root);
            Inodes.Add(root);
            var rootFrame = ReadFrame(0, rootFd, this, unreadable);
            rootFd = -1; // owned by the frame now
            if (rootFrame is not null) stack.Push(rootFrame);

            while (stack.Count > 0)
            {
                ct.ThrowIfCancellationRequested();
                var frame = stack.Peek();
                if (frame.Next >= frame.Entries.Count)
                {
                    stack.Pop();
                    frame.Dispose();
                    continue;
                }
                var (name, stat) = frame.Entries[frame.Next++];
                var parent = Nodes[frame.Node];
                if (options.Exclude.Count > 0 && IsExcluded(options.Exclude, RelativePath(parent, name), name)) continue;
                string Rel() => RelativePath(parent, name);

                uint type = stat.Type;
                if (type != DaxFsConstants.S_IFREG && type != DaxFsConstants.S_IFDIR && type != DaxFsConstants.S_IFLNK)
                {
                    unsupported.Add(Rel());
                    continue;
                }

                var node = new SourceNode { Name = name, Parent = frame.Node, Stat = stat };
                int index = Nodes.Count;
                if (type == DaxFsConstants.S_IFREG && stat.Nlink > 1 && hardLinks.TryGetValue((stat.DevMajor, stat.DevMinor, stat.Ino), out var primary))
                {
                    node.Ino = primary.Ino;
                    primary.Names++;
                }
                else
                {
                    if ((long)Inodes.Count >= uint.MaxValue - 1L)
                        throw new DaxFsBuildException(BuildErrorKind.TooManyInodes, "The tree has more entries than a DAXFS image can number (2^32 - 2).");
                    node.IsPrimary = true;
                    node.Ino = (uint)(Inodes.Count + 1);
                    Inodes.Add(node);
                    if (type == DaxFsConstants.S_IFREG && stat.Nlink > 1) hardLinks[(stat.DevMajor, stat.DevMinor, stat.Ino)] = node;
                }
                Nodes.Add(node);
                parent.Children!.Add(index);

                if (type == DaxFsConstants.S_IFLNK)
                {
                    node.LinkTarget = NativeFs.ReadLink(frame.Fd, name, stat.Size);
                    if (node.LinkTarget is null) unreadable.Add(Rel() + $" ({NativeFs.Describe(NativeFs.LastErrno)})");
                }
                else if (type == DaxFsConstants.S_IFREG)
                {
                    if (node.IsPrimary && !NativeFs.CanRead(frame.Fd, name)) unreadable.Add(Rel() + " (permission denied)");
                }
                else
                {
                    parent.SubdirectoryCount++;
                    node.Children = new();
                    int fd = NativeFs.OpenAt(frame.Fd, name, NativeFs.O_RDONLY | NativeFs.O_DIRECTORY | NativeFs.O_NOFOLLOW);
                    if (fd < 0)
                    {
                        int e = NativeFs.LastErrno;
                        if (e == NativeFs.EMFILE)
                            throw new DaxFsBuildException(BuildErrorKind.Unreadable,
                                $"The tree is nested deeper than this process may hold open directories ('{Rel()}'); raise the open-file limit (ulimit -n).", new[] { Rel() });
                        unreadable.Add(Rel() + $" ({NativeFs.Describe(e)})");
                        continue;
                    }
                    var child = ReadFrame(index, fd, this, unreadable);
                    if (child is not null) stack.Push(child);
                }
            }
        }
        finally
        {
            if (rootFd >= 0) NativeFs.close(rootFd);
            while (stack.Count > 0) stack.Pop().Dispose();
        }

        if (unsupported.Count > 0)
        {
            if (!options.SkipUnsupported)
                throw new DaxFsBuildException(BuildErrorKind.UnsupportedFileType,
                    $"{unsupported.Count} entr{(unsupported.Count == 1 ? "y is a" : "ies are")} FIFO, socket or device node, which DAXFS cannot hold: " +
                    $"{Summarize(unsupported)}. Exclude them with -Exclude, or leave them out with -SkipUnsupported.", unsupported);
            foreach (var u in unsupported)
                Warnings.Add(new BuildWarning("UnsupportedFileSkipped", $"Skipped '{u}': DAXFS cannot hold FIFOs, sockets or device nodes.", u));
        }
        if (unreadable.Count > 0)
            throw new DaxFsBuildException(BuildErrorKind.Unreadable,
                $"{unreadable.Count} entr{(unreadable.Count == 1 ? "y" : "ies")} cannot be read, and an image with holes is not written: {Summarize(unreadable)}. " +
                "Fix the permissions, run as a user who can read them, or leave them out with -Exclude.", unreadable);
    }

    internal static string Summarize(List<string> paths) =>
        string.Join(", ", paths.Take(10).Select(p => $"'{p}'")) + (paths.Count > 10 ? $" and {paths.Count - 10} more" : "");

    private static string Decode(byte[] name) => Encoding.UTF8.GetString(name);

    private static bool IsExcluded(IReadOnlyList<string> patterns, string relativePath, byte[] name)
    {
        if (patterns.Count == 0) return false;
        string? leaf = null;
        foreach (var p in patterns)
        {
            if (string.IsNullOrEmpty(p)) continue;
            if (p.Contains('/'))
            {
                if (FileSystemName.MatchesSimpleExpression(p.TrimStart('/').TrimEnd('/'), relativePath, ignoreCase: false)) return true;
            }
            else if (FileSystemName.MatchesSimpleExpression(p, leaf ??= Decode(name), ignoreCase: false)) return true;
        }
        return false;
    }

    /// <summary>Reads a directory's names, stats each, sorts by ordinal bytes. Takes ownership of <paramref name="fd"/>.</summary>
    private static Frame? ReadFrame(int node, int fd, SourceTree tree, List<string> unreadable)
    {
        string rel = tree.RelativePath(tree.Nodes[node]);
        var names = NativeFs.ReadDirectory(fd, out int errno);
        if (names is null) { unreadable.Add((rel.Length == 0 ? "/" : rel) + $" ({NativeFs.Describe(errno)})"); NativeFs.close(fd); return null; }
        names.Sort(static (a, b) => a.AsSpan().SequenceCompareTo(b));
        var entries = new List<(byte[], StatInfo)>(names.Count);
        foreach (var n in names)
        {
            if (!NativeFs.Stat(fd, n, out var st))
            {
                int e = NativeFs.LastErrno;
                if (e == NativeFs.ENOENT) continue; // removed since readdir: it is not part of the tree
                unreadable.Add((rel.Length == 0 ? "" : rel + "/") + Decode(n) + $" ({NativeFs.Describe(e)})");
                continue;
            }
            entries.Add((n, st));
        }
        return new Frame(node, fd, entries);
    }

    private sealed class Frame(int node, int fd, List<(byte[] Name, StatInfo Stat)> entries) : IDisposable
    {
        public int Node { get; } = node;
        public int Fd { get; private set; } = fd;
        public List<(byte[] Name, StatInfo Stat)> Entries { get; } = entries;
        public int Next;
        public void Dispose() { if (Fd >= 0) { NativeFs.close(Fd); Fd = -1; } }
    }

    /// <summary>The '/'-separated path of a node relative to the root ("" for the root), made on demand (not stored: deep trees would pay depth × entries).</summary>
    public string RelativePath(SourceNode node) => Encoding.UTF8.GetString(RelativeBytes(node));

    private string RelativePath(SourceNode parent, byte[] name)
    {
        string p = RelativePath(parent);
        return p.Length == 0 ? Decode(name) : p + "/" + Decode(name);
    }

    /// <summary>The path of a node relative to the root, as raw bytes.</summary>
    public byte[] RelativeBytes(SourceNode node)
    {
        var parts = new List<byte[]>();
        for (var n = node; n.Parent >= 0; n = Nodes[n.Parent]) parts.Add(n.Name);
        parts.Reverse();
        int len = parts.Sum(p => p.Length) + Math.Max(0, parts.Count - 1);
        var b = new byte[len];
        int o = 0;
        for (int i = 0; i < parts.Count; i++)
        {
            if (i > 0) b[o++] = (byte)'/';
            parts[i].CopyTo(b, o);
            o += parts[i].Length;
        }
        return b;
    }
}
