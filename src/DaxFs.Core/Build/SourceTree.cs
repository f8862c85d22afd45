using System.IO.Enumeration;
using System.Text;
using DaxFs.Core.Errors;
using DaxFs.Core.Linux;
using DaxFs.Core.Format;

namespace DaxFs.Core.Build;

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
    public long ArchiveOffset;              // primary regular file read from a tarball: where its member's data starts in the tar stream
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
    /// <summary>Names that are further names of an inode met before (hard links merged into one inode).</summary>
    public long HardLinkNames { get; private set; }
    /// <summary>Entries left out by the exclusions (an excluded directory counts once; its contents are not read).</summary>
    public long ExcludedCount { get; private set; }
    /// <summary>FIFOs, sockets and device nodes left out (-SkipUnsupported).</summary>
    public long SkippedCount { get; private set; }
    /// <summary>Regular files whose holes DAXFS stores as zeros (a file counts when 64 KiB or more of it is holes).</summary>
    public long SparseFileCount { get; private set; }
    /// <summary>The bytes of those holes: how much larger than their allocated blocks the files become in the image.</summary>
    public long SparseBytes { get; private set; }
    public string RootPath { get; private set; } = "";
    /// <summary>Set when the tree was read from tar streams (a tarball or container image layers): file data comes from there, not from <see cref="RootPath"/>.</summary>
    public LayerTree? Archive { get; init; }

    internal void SetRootPath(string path) => RootPath = path;

    internal void SetCounts(long hardLinkNames, long excluded, long skipped)
    {
        HardLinkNames = hardLinkNames;
        ExcludedCount = excluded;
        SkippedCount = skipped;
    }

    public static SourceTree Scan(ImageBuildOptions options, int workers, CancellationToken ct)
    {
        var tree = new SourceTree();
        tree.ScanCore(options, Math.Max(1, workers), ct);
        return tree;
    }

    private void ScanCore(ImageBuildOptions options, int workers, CancellationToken ct)
    {
        RootPath = Path.GetFullPath(options.SourcePath);
        var rootBytes = Encoding.UTF8.GetBytes(RootPath);
        int rootFd = Syscalls.OpenAt(Syscalls.AT_FDCWD, rootBytes, Syscalls.O_RDONLY | Syscalls.O_DIRECTORY);
        if (rootFd < 0)
        {
            int e = Syscalls.LastErrno;
            if (e == Errno.ENOENT)
                throw new DaxFsBuildException(BuildErrorKind.SourceNotFound, $"The source directory '{RootPath}' does not exist.", new[] { RootPath });
            if (e == 20 /* ENOTDIR */)
                throw new DaxFsBuildException(BuildErrorKind.SourceNotDirectory, $"The source '{RootPath}' is not a directory: give the directory whose contents become the image.", new[] { RootPath });
            throw new DaxFsBuildException(BuildErrorKind.Unreadable, $"Cannot open the source directory '{RootPath}': {Syscalls.StrError(e)}.", new[] { RootPath });
        }

        Listing rootListing;
        StatInfo rootStat;
        try
        {
            if (!Syscalls.Stat(rootFd, out rootStat))
                throw new DaxFsBuildException(BuildErrorKind.Unreadable, $"Cannot stat '{RootPath}': {Syscalls.StrError(Syscalls.LastErrno)}.", new[] { RootPath });
            rootListing = new Listing(Array.Empty<byte>());
            new ListingReader(rootFd, options.Exclude, ct).Run(rootListing, workers);
        }
        finally { Syscalls.close(rootFd); }

        Assemble(rootListing, rootStat, options);
    }

    /// <summary>What the numbering meets that the build reports at the end, in pre-order.</summary>
    private sealed class Findings
    {
        public readonly List<string> Unreadable = new();
        public readonly List<string> Unsupported = new();
        public (string Path, long Holes, long Size)? LargestSparse;
    }

    /// <summary>
    /// Numbers the listed tree in pre-order (children sorted by ordinal bytes), merges hard links, and collects
    /// unsupported and unreadable entries in that order. Single-threaded, so the result never depends on how the
    /// directories were read.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private void Assemble(Listing rootListing, StatInfo rootStat, ImageBuildOptions options)
    {
        var found = new Findings();
        var hardLinks = new Dictionary<(uint, uint, ulong), SourceNode>();
        var stack = new Stack<(int Node, Listing Listing, int Next)>();

        var root = new SourceNode { Name = Array.Empty<byte>(), Parent = -1, Stat = rootStat, IsPrimary = true, Ino = 1, Children = new() };
        Nodes.Add(root);
        Inodes.Add(root);
        Count(rootListing);
        if (Enter(rootListing, found.Unreadable)) stack.Push((0, rootListing, 0));

        while (stack.Count > 0)
        {
            var frame = stack.Pop();
            if (frame.Next >= frame.Listing.Entries.Length) continue;
            stack.Push((frame.Node, frame.Listing, frame.Next + 1));
            if (AddEntry(frame.Node, in frame.Listing.Entries[frame.Next], hardLinks, found) is { } directory) stack.Push((directory.Node, directory.Listing, 0));
        }

        WarnOfSparseFiles(found);
        ReportUnsupported(found.Unsupported, options);
        if (found.Unreadable.Count > 0)
            throw new DaxFsBuildException(BuildErrorKind.Unreadable,
                $"{found.Unreadable.Count} entr{(found.Unreadable.Count == 1 ? "y" : "ies")} cannot be read, and an image with holes is not written: {Summarize(found.Unreadable)}. " +
                "Fix the permissions, run as a user who can read them, or leave them out of the image.", found.Unreadable) { NextStep = NextStep.ExcludeUnreadable };
    }

    /// <summary>One listed entry of the directory node <paramref name="parentIndex"/> as the next node: numbered (or merged
    /// into its hard-link group), its link target or readability checked. Returns a directory to descend into, null for
    /// anything else (and for an entry left out: unsupported, or a directory that cannot be opened).</summary>
    private (int Node, Listing Listing)? AddEntry(int parentIndex, in ListedEntry entry, Dictionary<(uint, uint, ulong), SourceNode> hardLinks, Findings found)
    {
        var name = entry.Name;
        var stat = entry.Stat;
        var parent = Nodes[parentIndex];

        uint type = stat.Type;
        if (type != DaxFsConstants.S_IFREG && type != DaxFsConstants.S_IFDIR && type != DaxFsConstants.S_IFLNK)
        {
            found.Unsupported.Add(RelativePath(parent, name));
            return null;
        }

        var node = new SourceNode { Name = name, Parent = parentIndex, Stat = stat };
        int index = Nodes.Count;
        Number(node, parent, hardLinks, found);
        Nodes.Add(node);
        parent.Children!.Add(index);

        if (type == DaxFsConstants.S_IFLNK)
        {
            node.LinkTarget = entry.LinkTarget;
            if (node.LinkTarget is null) found.Unreadable.Add(RelativePath(parent, name) + $" ({Syscalls.StrError(entry.Errno)})");
            return null;
        }
        if (type == DaxFsConstants.S_IFREG)
        {
            if (node.IsPrimary && entry.Errno != 0) found.Unreadable.Add(RelativePath(parent, name) + " (permission denied)");
            return null;
        }
        parent.SubdirectoryCount++;
        node.Children = new();
        var child = entry.Child!;
        if (child.OpenErrno != 0)
        {
            if (child.OpenErrno == Errno.EMFILE)
                throw new DaxFsBuildException(BuildErrorKind.Unreadable,
                    $"The tree is nested deeper than this process may hold open directories ('{RelativePath(parent, name)}'); raise the open-file limit (ulimit -n).", new[] { RelativePath(parent, name) });
            found.Unreadable.Add(RelativePath(parent, name) + $" ({Syscalls.StrError(child.OpenErrno)})");
            return null;
        }
        Count(child);
        return Enter(child, found.Unreadable) ? (index, child) : null;
    }

    /// <summary>Gives <paramref name="node"/> its inode: the one of a regular file met before under another name (a hard
    /// link), or the next number; a new regular file's holes are counted.</summary>
    private void Number(SourceNode node, SourceNode parent, Dictionary<(uint, uint, ulong), SourceNode> hardLinks, Findings found)
    {
        var stat = node.Stat;
        bool regular = stat.Type == DaxFsConstants.S_IFREG;
        if (regular && stat.Nlink > 1 && hardLinks.TryGetValue((stat.DevMajor, stat.DevMinor, stat.Ino), out var primary))
        {
            node.Ino = primary.Ino;
            primary.Names++;
            HardLinkNames++;
            return;
        }
        if ((long)Inodes.Count >= uint.MaxValue - 1L)
            throw new DaxFsBuildException(BuildErrorKind.TooManyInodes, "The tree has more entries than a DAXFS image can number (2^32 - 2).");
        node.IsPrimary = true;
        node.Ino = (uint)(Inodes.Count + 1);
        Inodes.Add(node);
        if (regular && stat.Nlink > 1) hardLinks[(stat.DevMajor, stat.DevMinor, stat.Ino)] = node;
        if (regular && stat.HoleBytes >= SparseThreshold)
        {
            SparseFileCount++;
            SparseBytes += stat.HoleBytes;
            if (found.LargestSparse is null || stat.HoleBytes > found.LargestSparse.Value.Holes)
                found.LargestSparse = (RelativePath(parent, node.Name), stat.HoleBytes, stat.Size);
        }
    }

    /// <summary>One warning for the sparse files, naming the largest.</summary>
    private void WarnOfSparseFiles(Findings found)
    {
        if (SparseFileCount == 0) return;
        var l = found.LargestSparse!.Value;
        Warnings.Add(new BuildWarning(ErrorIds.SparseFile,
            $"{SparseFileCount} sparse file{(SparseFileCount == 1 ? "" : "s")} (the largest '{l.Path}', {l.Size} bytes of which {l.Holes} are holes): DAXFS has no holes, " +
            $"so the image stores them as zeros and grows by {SparseBytes} bytes ({SparseBytes / (1024.0 * 1024):0.#} MiB) beyond the blocks they use on disk.",
            l.Path, NextStep.ExcludeIfUnwanted));
    }

    /// <summary>FIFOs, sockets and device nodes: an error, or (SkipUnsupported) a warning for each.</summary>
    private void ReportUnsupported(List<string> unsupported, ImageBuildOptions options)
    {
        SkippedCount = options.SkipUnsupported ? unsupported.Count : 0;
        if (unsupported.Count == 0) return;
        if (!options.SkipUnsupported)
            throw new DaxFsBuildException(BuildErrorKind.UnsupportedFileType,
                $"{unsupported.Count} entr{(unsupported.Count == 1 ? "y is a" : "ies are")} FIFO, socket or device node, which DAXFS cannot hold: " +
                $"{Summarize(unsupported)}.", unsupported) { NextStep = NextStep.ExcludeOrSkipUnsupported };
        foreach (var u in unsupported)
            Warnings.Add(new BuildWarning(ErrorIds.UnsupportedFileSkipped, $"Skipped '{u}': DAXFS cannot hold FIFOs, sockets or device nodes.", u));
    }

    /// <summary>Reports what went wrong reading a directory; false when its names could not be read.</summary>
    private static bool Enter(Listing listing, List<string> unreadable)
    {
        if (listing.ReadErrno != 0)
        {
            string rel = Decode(listing.RelPath);
            unreadable.Add((rel.Length == 0 ? "/" : rel) + $" ({Syscalls.StrError(listing.ReadErrno)})");
            return false;
        }
        if (listing.StatErrors is not null) unreadable.AddRange(listing.StatErrors);
        return true;
    }

    /// <summary>Holes smaller than this are not reported (file systems keep small files inline, with no blocks at all).</summary>
    private const long SparseThreshold = 64 * 1024;

    /// <summary>Counts what a listing's exclusions left out.</summary>
    private void Count(Listing listing)
    {
        ExcludedCount += listing.Excluded;
    }

    internal static string Summarize(List<string> paths) =>
        string.Join(", ", paths.Take(10).Select(p => $"'{p}'")) + (paths.Count > 10 ? $" and {paths.Count - 10} more" : "");

    private static string Decode(byte[] name) => Encoding.UTF8.GetString(name);

    internal static bool IsExcluded(IReadOnlyList<string> patterns, string relativePath, byte[] name)
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

    /// <summary>One directory as <see cref="ListingReader"/> read it.</summary>
    internal sealed class Listing(byte[] relPath)
    {
        /// <summary>The path below the root, raw bytes ("" for the root).</summary>
        public byte[] RelPath { get; } = relPath;
        /// <summary>Opening the directory failed with this errno (0: it did not).</summary>
        public int OpenErrno;
        /// <summary>Reading its names failed with this errno (0: it did not).</summary>
        public int ReadErrno;
        /// <summary>Names that could not be stat'ed (other than removed since readdir), as messages, in name order.</summary>
        public List<string>? StatErrors;
        /// <summary>Names the exclusions left out of this directory.</summary>
        public int Excluded;
        /// <summary>The entries, stat'ed, sorted by ordinal bytes, excluded names left out.</summary>
        public ListedEntry[] Entries = Array.Empty<ListedEntry>();
    }

    internal struct ListedEntry
    {
        public byte[] Name;
        public StatInfo Stat;
        /// <summary>Symlinks: the target (null when readlink failed with <see cref="Errno"/>).</summary>
        public byte[]? LinkTarget;
        /// <summary>Symlinks: readlink's errno; regular files: nonzero when the process may not read the file.</summary>
        public int Errno;
        /// <summary>Directories: the child listing.</summary>
        public Listing? Child;
    }

    /// <summary>
    /// Reads the directories of a tree on several threads: each directory's names (getdents64), an lstat of each, symlink
    /// targets, read access of regular files. Directories are opened by their path below the root (short paths) or,
    /// below <see cref="DeepPath"/> bytes, one level at a time from their parent's descriptor on the thread that read the
    /// parent, so a deep tree holds one descriptor per level, as a plain walk does.
    /// </summary>
    private sealed class ListingReader(int rootFd, IReadOnlyList<string> exclude, CancellationToken ct)
    {
        private const int DeepPath = 2048;
        private readonly Stack<Listing> _queue = new();
        private int _busy;
        private Exception? _failure;

        public void Run(Listing root, int workers)
        {
            _queue.Push(root);
            var threads = new Thread[workers - 1];
            for (int i = 0; i < threads.Length; i++)
            {
                threads[i] = new Thread(Work, 256 * 1024) { IsBackground = true, Name = "DaxFs scan" };
                threads[i].Start();
            }
            Work();
            foreach (var t in threads) t.Join();
            if (_failure is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(_failure).Throw();
        }

        private void Work()
        {
            var deep = new List<(Listing, int Index)>();
            var shallow = new List<Listing>();
            while (true)
            {
                Listing job;
                lock (_queue)
                {
                    while (_queue.Count == 0 && _busy > 0 && _failure is null) Monitor.Wait(_queue);
                    if (_queue.Count == 0 || _failure is not null) { Monitor.PulseAll(_queue); return; }
                    job = _queue.Pop();
                    _busy++;
                }
                try
                {
                    ct.ThrowIfCancellationRequested();
                    if (job.RelPath.Length == 0) Read(job, rootFd, shallow, deep);
                    else
                    {
                        int fd = OpenBelow(rootFd, job.RelPath);
                        if (fd < 0) job.OpenErrno = Syscalls.LastErrno;
                        else ReadTree(job, fd, shallow, deep);
                    }
                }
                catch (Exception e)
                {
                    lock (_queue) { _failure ??= e; Monitor.PulseAll(_queue); }
                    return;
                }
                finally
                {
                    lock (_queue)
                    {
                        _busy--;
                        for (int i = shallow.Count - 1; i >= 0; i--) _queue.Push(shallow[i]);
                        if (shallow.Count > 0 || _busy == 0) Monitor.PulseAll(_queue);
                        shallow.Clear();
                    }
                }
            }
        }

        /// <summary>Reads <paramref name="top"/> (open as <paramref name="topFd"/>, which this closes) and, depth first, its deep subdirectories.</summary>
        private void ReadTree(Listing top, int topFd, List<Listing> shallow, List<(Listing, int)> deep)
        {
            var stack = new Stack<(Listing Listing, int Fd, List<(Listing, int)> Deep, int Next)>();
            try
            {
                deep.Clear();
                try { Read(top, topFd, shallow, deep); }
                catch { Syscalls.close(topFd); throw; }
                stack.Push((top, topFd, new(deep), 0));
                while (stack.Count > 0)
                {
                    var f = stack.Pop();
                    if (f.Next >= f.Deep.Count) { Syscalls.close(f.Fd); continue; }
                    stack.Push((f.Listing, f.Fd, f.Deep, f.Next + 1));
                    var (child, index) = f.Deep[f.Next];
                    ct.ThrowIfCancellationRequested();
                    int fd = Syscalls.OpenAt(f.Fd, f.Listing.Entries[index].Name, Syscalls.O_RDONLY | Syscalls.O_DIRECTORY | Syscalls.O_NOFOLLOW);
                    if (fd < 0) { child.OpenErrno = Syscalls.LastErrno; continue; }
                    deep.Clear();
                    try { Read(child, fd, shallow, deep); }
                    catch { Syscalls.close(fd); throw; }
                    stack.Push((child, fd, new(deep), 0));
                }
            }
            finally
            {
                while (stack.Count > 0) Syscalls.close(stack.Pop().Fd);
            }
        }

        /// <summary>Reads one directory's entries into <paramref name="l"/>; its subdirectories go to <paramref name="shallow"/> or <paramref name="deep"/>.</summary>
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
        private void Read(Listing l, int fd, List<Listing> shallow, List<(Listing, int)> deep)
        {
            var names = Syscalls.ReadDirectory(fd, out int errno);
            if (names is null) { l.ReadErrno = errno; return; }
            names.Sort(static (a, b) => a.AsSpan().SequenceCompareTo(b));
            var entries = new ListedEntry[names.Count];
            int count = 0;
            foreach (var n in names)
            {
                if (!Syscalls.Stat(fd, n, out var st))
                {
                    int e = Syscalls.LastErrno;
                    if (e == Errno.ENOENT) continue; // removed since readdir: it is not part of the tree
                    (l.StatErrors ??= new()).Add((l.RelPath.Length == 0 ? "" : Decode(l.RelPath) + "/") + Decode(n) + $" ({Syscalls.StrError(e)})");
                    continue;
                }
                if (exclude.Count > 0 && IsExcluded(exclude, l.RelPath.Length == 0 ? Decode(n) : Decode(l.RelPath) + "/" + Decode(n), n)) { l.Excluded++; continue; }
                ref var entry = ref entries[count++];
                entry.Name = n;
                entry.Stat = st;
                switch (st.Type)
                {
                    case DaxFsConstants.S_IFLNK:
                        entry.LinkTarget = Syscalls.ReadLink(fd, n, st.Size);
                        if (entry.LinkTarget is null) entry.Errno = Syscalls.LastErrno;
                        break;
                    case DaxFsConstants.S_IFREG:
                        if (!Syscalls.CanRead(fd, n)) entry.Errno = Errno.EACCES;
                        break;
                    case DaxFsConstants.S_IFDIR:
                        var child = new Listing(Join(l.RelPath, n));
                        entry.Child = child;
                        if (child.RelPath.Length < DeepPath) shallow.Add(child);
                        else deep.Add((child, count - 1));
                        break;
                }
            }
            l.Entries = count == entries.Length ? entries : entries.AsSpan(0, count).ToArray();
        }

        private static byte[] Join(byte[] dir, byte[] name)
        {
            if (dir.Length == 0) return name;
            var b = new byte[dir.Length + 1 + name.Length];
            dir.CopyTo(b, 0);
            b[dir.Length] = (byte)'/';
            name.CopyTo(b, dir.Length + 1);
            return b;
        }
    }

    /// <summary>Opens a directory below <paramref name="rootFd"/> by its relative path (not following a symlink in its last component).</summary>
    internal static int OpenBelow(int rootFd, byte[] rel, bool directory = true)
    {
        int flags = Syscalls.O_RDONLY | Syscalls.O_NOFOLLOW | (directory ? Syscalls.O_DIRECTORY : 0);
        if (rel.Length < 4000) return Syscalls.OpenAt(rootFd, rel, flags);
        int dirFd = Syscalls.dup(rootFd);
        if (dirFd < 0) return -1;
        var span = rel.AsSpan();
        while (true)
        {
            int slash = span.IndexOf((byte)'/');
            if (slash < 0)
            {
                int fd = Syscalls.OpenAt(dirFd, span, flags);
                int e = Syscalls.LastErrno;
                Syscalls.close(dirFd);
                System.Runtime.InteropServices.Marshal.SetLastPInvokeError(e);
                return fd;
            }
            int next = Syscalls.OpenAt(dirFd, span[..slash], Syscalls.O_RDONLY | Syscalls.O_DIRECTORY | Syscalls.O_NOFOLLOW);
            int err = Syscalls.LastErrno;
            Syscalls.close(dirFd);
            if (next < 0) { System.Runtime.InteropServices.Marshal.SetLastPInvokeError(err); return -1; }
            dirFd = next;
            span = span[(slash + 1)..];
        }
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
