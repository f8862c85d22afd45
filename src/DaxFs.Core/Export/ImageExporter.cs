using System.Runtime.InteropServices;
using System.Text;
using DaxFs.Core.Errors;
using DaxFs.Core.Linux;
using DaxFs.Core.Format;
using DaxFs.Core.Read;

namespace DaxFs.Core.Export;

public sealed class ExportOptions
{
    /// <summary>Replace files and symlinks that already exist in the destination.</summary>
    public bool Overwrite { get; init; }
    /// <summary>Set uid/gid from the image (needs CAP_CHOWN; default: only when running as root).</summary>
    public bool PreserveOwner { get; init; } = Linux.Syscalls.geteuid() == 0;
    /// <summary>Called with the image path of each name a branch's readdir lists but a lookup cannot open (nothing is written for it).</summary>
    public Action<string>? Unreachable { get; init; }
}

public readonly record struct ExportProgress(long ItemsDone, long BytesDone, string CurrentPath);

/// <summary>One thing written under the destination.</summary>
public sealed record ExportedItem(string ImagePath, string Destination, DaxFsItemType Type, long Size, bool HardLink);

/// <summary>What kind of export failure an <see cref="DaxFsExportException"/> is (the module picks its error category by it).</summary>
public enum ExportFailure
{
    /// <summary>The path to export is not in the image.</summary>
    NotInImage,
    /// <summary>The image holds something that cannot be exported: a file type other than file, directory or symlink, or a
    /// name that would write outside its directory (a hostile or damaged image).</summary>
    InvalidImage,
    /// <summary>The system refused for lack of permission (EACCES, EPERM).</summary>
    PermissionDenied,
    /// <summary>Something is in the way at the destination (EEXIST).</summary>
    AlreadyExists,
    /// <summary>Any other error of the system while writing (ENOSPC, EIO, …).</summary>
    WriteFailed,
}

public sealed class DaxFsExportException(string message, string? path, ExportFailure kind, Exception? inner = null) : Exception(message, inner)
{
    public string? PathInImage { get; } = path;

    public ExportFailure Kind { get; } = kind;

    /// <summary>The kind of failure an errno of the system means.</summary>
    public static ExportFailure KindOf(int errno) => errno switch
    {
        Linux.Errno.EACCES or Linux.Errno.EPERM => ExportFailure.PermissionDenied,
        Linux.Errno.EEXIST => ExportFailure.AlreadyExists,
        _ => ExportFailure.WriteFailed,
    };

    /// <summary>The destination folder, when it is what failed (it cannot be created or opened).</summary>
    public string? Destination { get; init; }

    /// <summary>What to do next when it is a command of the module; the module words it (<see cref="WithNextStep"/>).</summary>
    public NextStep NextStep { get; init; }

    /// <summary>This error with <paramref name="text"/> (the worded <see cref="NextStep"/>) after its message, all else kept.</summary>
    public DaxFsExportException WithNextStep(string text) =>
        new(Message.TrimEnd() + " " + text.Trim(), PathInImage, Kind, InnerException) { Destination = Destination, NextStep = NextStep.None };
}

/// <summary>
/// Extracts a subtree of an image into a directory with modes (setuid/setgid/sticky included), symlinks, hard links
/// and, as root, owners. Every file is created relative to an open descriptor of its parent with O_NOFOLLOW and
/// names are checked, so nothing is ever written outside the destination whatever the image holds.
/// </summary>
public sealed class ImageExporter(IImageTree tree, ExportOptions? options = null)
{
    private readonly IImageTree _tree = tree;
    private readonly ExportOptions _options = options ?? new ExportOptions();

    public IEnumerable<ExportedItem> Export(string imagePath, string destination, IProgress<ExportProgress>? progress = null, CancellationToken ct = default)
    {
        string full = DaxFsImageReader.NormalizePath(imagePath);
        var startItem = _tree.GetItem(full);
        if (startItem is null)
            throw new DaxFsExportException($"'{full}' does not exist in the image.", full, ExportFailure.NotInImage);
        return Export(startItem, destination, progress, ct);
    }

    /// <summary>
    /// Exports <paramref name="startItem"/> (from <see cref="IImageTree.GetItem(byte[])"/> or a walk): its raw name is what the
    /// destination gets, so an entry whose name is not UTF-8 is written under its own bytes.
    /// </summary>
    public IEnumerable<ExportedItem> Export(ImageItem startItem, string destination, IProgress<ExportProgress>? progress = null, CancellationToken ct = default)
    {
        string destRoot = Path.GetFullPath(destination);
        int destFd = OpenDestination(destination, destRoot);
        var run = new Run(this, destFd, progress, ct);
        bool completed = false;
        try
        {
            string full = startItem.FullName;
            if (ModeBits.TypeOf(startItem.Inode.Mode) != DaxFsItemType.Directory)
            {
                foreach (var x in run.ExportOne(destFd, Array.Empty<byte>(), startItem.NameBytes, startItem, full, Path.Combine(destRoot, Encoding.UTF8.GetString(startItem.NameBytes))))
                    yield return x;
                completed = true;
                yield break;
            }
            run.Visited.Add(startItem.Ino);
            if (full == "/")
                run.Pending.Push(new Dir(destFd, Array.Empty<byte>(), "", destRoot, startItem.Ino));
            else
            {
                // A directory other than the root goes into the destination under its own name, like cp -r.
                var dir = run.EnterDirectory(new Dir(destFd, Array.Empty<byte>(), "", destRoot, 0), startItem.NameBytes, startItem, full);
                yield return new ExportedItem(full, dir.DestPath, DaxFsItemType.Directory, 0, false);
            }
            while (run.Pending.Count > 0)
                foreach (var x in run.ExportEntries(run.Pending.Pop()))
                    yield return x;
            completed = true;
        }
        finally { run.Finish(completed); }
    }

    /// <summary>Creates the destination folder as mkdir -p does (each missing folder on the way) and opens it; a failure is an
    /// export error naming the folder, with the errno's kind, and nothing written.</summary>
    private static int OpenDestination(string destination, string destRoot)
    {
        string at = "";
        foreach (string part in destRoot.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            at += "/" + part;
            if (Syscalls.MkdirAt(Syscalls.AT_FDCWD, Encoding.UTF8.GetBytes(at), 0x1FF) != 0 && Marshal.GetLastPInvokeError() != Linux.Errno.EEXIST)
            {
                var failed = Errno($"Cannot create the destination folder '{destination}'", null);
                throw new DaxFsExportException(failed.Message + " Nothing was written. Export into a folder this user may write to, or fix the permissions of its parent.",
                    null, failed.Kind, failed.InnerException) { Destination = destination };
            }
        }
        int destFd = Syscalls.OpenAt(Syscalls.AT_FDCWD, Encoding.UTF8.GetBytes(destRoot), Syscalls.O_RDONLY | Syscalls.O_DIRECTORY);
        if (destFd < 0)
        {
            var failed = Errno($"Cannot open the destination folder '{destination}'", null);
            throw new DaxFsExportException(failed.Message + " Nothing was written.", null, failed.Kind, failed.InnerException) { Destination = destination };
        }
        return destFd;
    }

    /// <summary>A directory being filled: its open descriptor, its path relative to the destination, in the image and on disk.</summary>
    private readonly record struct Dir(int Fd, byte[] Rel, string ImagePath, string DestPath, ulong Ino);

    /// <summary>The state of one export: the destination's descriptor, the directories still to fill and those to finish
    /// (mode and owner, deepest first), the first name of each hard-linked inode, and the counts for progress.</summary>
    private sealed class Run(ImageExporter exporter, int destFd, IProgress<ExportProgress>? progress, CancellationToken ct)
    {
        private readonly IImageTree _tree = exporter._tree;
        private readonly ExportOptions _options = exporter._options;
        private readonly Dictionary<ulong, byte[]> _linked = new(); // ino → path (relative to destFd) of its first name
        private readonly Stack<(int ParentFd, byte[] Name, BaseInode Inode, string ImagePath)> _fixups = new();
        private readonly List<int> _openDirs = new() { destFd };
        private long _items, _bytes;

        public HashSet<ulong> Visited { get; } = new();
        public Stack<Dir> Pending { get; } = new();

        /// <summary>Writes the entries of <paramref name="dir"/>: files, symlinks and hard links now, directories made and queued.</summary>
        public IEnumerable<ExportedItem> ExportEntries(Dir dir)
        {
            foreach (var e in _tree.ListDirectory(dir.Ino, dir.ImagePath, 0))
            {
                ct.ThrowIfCancellationRequested();
                CheckName(e.NameBytes, dir.ImagePath);
                if (e.Unreachable)
                {
                    _options.Unreachable?.Invoke(e.FullName);
                    continue;
                }
                string childImage = dir.ImagePath + "/" + Encoding.UTF8.GetString(e.NameBytes);
                string childDest = Path.Combine(dir.DestPath, Encoding.UTF8.GetString(e.NameBytes));
                if (ModeBits.TypeOf(e.Inode.Mode) == DaxFsItemType.Directory)
                {
                    if (!Visited.Add(e.Ino))
                        throw new DaxFsFormatException(RuleIds.TreeCycle, e.EntryOffset, $"Directory inode {e.Ino} ('{childImage}') is reached a second time.");
                    EnterDirectory(dir, e.NameBytes, e, childImage);
                    _items++;
                    yield return new ExportedItem(childImage, childDest, DaxFsItemType.Directory, 0, false);
                    continue;
                }
                foreach (var x in ExportOne(dir.Fd, dir.Rel, e.NameBytes, e, childImage, childDest))
                {
                    _items++;
                    _bytes += x.HardLink ? 0 : x.Size;
                    progress?.Report(new ExportProgress(_items, _bytes, childImage));
                    yield return x;
                }
            }
        }

        /// <summary>Makes (or reuses) the directory <paramref name="name"/> in <paramref name="parent"/>, opens it without
        /// following a link, queues it to be filled and its mode and owner to be set last.</summary>
        public Dir EnterDirectory(Dir parent, byte[] name, ImageItem item, string imagePath)
        {
            string dest = Path.Combine(parent.DestPath, Encoding.UTF8.GetString(name));
            if (Syscalls.MkdirAt(parent.Fd, name, 0x1C0) != 0 && Marshal.GetLastPInvokeError() != Linux.Errno.EEXIST)
                throw Errno($"Cannot create the directory '{dest}'", imagePath);
            int fd = Syscalls.OpenAt(parent.Fd, name, Syscalls.O_RDONLY | Syscalls.O_DIRECTORY | Syscalls.O_NOFOLLOW);
            if (fd < 0) throw Errno($"Cannot open '{dest}' (a symlink or file is in the way?)", imagePath);
            _openDirs.Add(fd);
            _fixups.Push((parent.Fd, name, item.Inode, imagePath));
            var dir = new Dir(fd, parent.Rel.Length == 0 ? name : [.. parent.Rel, (byte)'/', .. name], imagePath, dest, item.Ino);
            Pending.Push(dir);
            return dir;
        }

        /// <summary>One entry that is not a directory: a symlink, a second name of a file already written, or a file.</summary>
        public IEnumerable<ExportedItem> ExportOne(int parentFd, byte[] parentRel, byte[] name, ImageItem item, string imagePath, string destPath)
        {
            var inode = item.Inode;
            var type = ModeBits.TypeOf(inode.Mode);
            if (_options.Overwrite) Syscalls.UnlinkAt(parentFd, name); // a directory in the way stays and fails below
            if (type == DaxFsItemType.SymbolicLink)
            {
                byte[] target = item.TargetBytes ?? _tree.ReadSymlinkTarget(item.Ino);
                if (Syscalls.SymlinkAt(target, parentFd, name) != 0) throw Errno($"Cannot create the symlink '{destPath}'", imagePath);
                if (_options.PreserveOwner) Syscalls.FchownAt(parentFd, name, inode.Uid, inode.Gid);
                yield return new ExportedItem(imagePath, destPath, type, target.Length, false);
                yield break;
            }
            if (type != DaxFsItemType.File) throw Unsupported(inode, imagePath);
            if (_linked.TryGetValue(item.Ino, out var first))
            {
                if (Syscalls.LinkAt(destFd, first, parentFd, name) != 0) throw Errno($"Cannot create the hard link '{destPath}'", imagePath);
                yield return new ExportedItem(imagePath, destPath, type, (long)inode.Size, true);
                yield break;
            }
            WriteFile(parentFd, name, item, imagePath, destPath);
            if (inode.Nlink > 1) _linked[item.Ino] = parentRel.Length == 0 ? name : [.. parentRel, (byte)'/', .. name];
            yield return new ExportedItem(imagePath, destPath, type, (long)inode.Size, false);
        }

        private DaxFsExportException Unsupported(BaseInode inode, string imagePath) =>
            inode.Mode == 0 && _tree.BranchName is { } branch
                ? new DaxFsExportException(
                    $"'{imagePath}' has mode 0 in branch '{branch}', as a fresh kernel mount of the branch shows it: one branch made " +
                    "the file and a branch below it changed it (a write, truncate or chown), and the kernel takes the mode and owner of " +
                    "such a change from the base image only. A fresh mount cannot open it either; the mount that made the change shows " +
                    "it from its inode cache. Export it from the branch that made it, or copy it from that mount (see about_DaxFs).", imagePath, ExportFailure.InvalidImage)
                : new DaxFsExportException($"'{imagePath}' has an unsupported file type (mode {Convert.ToString(inode.Mode, 8)}).", imagePath, ExportFailure.InvalidImage);

        /// <summary>Creates the file (never over an existing one unless <see cref="ExportOptions.Overwrite"/> removed it), copies
        /// its content, sets owner and mode; a stop while copying leaves no part of it under its name.</summary>
        private void WriteFile(int parentFd, byte[] name, ImageItem item, string imagePath, string destPath)
        {
            var inode = item.Inode;
            int fd = Syscalls.OpenAt(parentFd, name, Syscalls.O_WRONLY | Syscalls.O_CREAT | Syscalls.O_EXCL | Syscalls.O_NOFOLLOW, 0x180);
            if (fd < 0)
            {
                var failed = Errno($"Cannot create '{destPath}'", imagePath);
                throw failed.Kind == ExportFailure.AlreadyExists
                    ? new DaxFsExportException(failed.Message, failed.PathInImage, failed.Kind, failed.InnerException) { NextStep = NextStep.ReplaceExisting }
                    : failed;
            }
            try
            {
                using var content = _tree.OpenContent(item.Ino);
                var buffer = new byte[Math.Min(1 << 20, Math.Max(4096, (long)inode.Size))];
                int n;
                while ((n = content.Read(buffer)) > 0)
                {
                    ct.ThrowIfCancellationRequested();
                    if (!Syscalls.WriteAll(fd, buffer.AsSpan(0, n))) throw Errno($"Cannot write '{destPath}'", imagePath);
                }
                if (_options.PreserveOwner && Syscalls.fchown(fd, inode.Uid, inode.Gid) != 0) throw Errno($"Cannot set the owner of '{destPath}'", imagePath);
                if (Syscalls.fchmod(fd, inode.Mode & 0xFFF) != 0) throw Errno($"Cannot set the mode of '{destPath}'", imagePath);
            }
            catch (OperationCanceledException)
            {
                // Stopped (Ctrl+C, SIGTERM, SIGHUP) while this file was written: no part of a file is left under its name.
                Syscalls.close(fd);
                fd = -1;
                Syscalls.UnlinkAt(parentFd, name);
                throw;
            }
            finally { if (fd >= 0) Syscalls.close(fd); }
        }

        /// <summary>Directory modes and owners last (deepest first), so a read-only directory was still writable while filled;
        /// also when stopped early, so what was extracted has its modes (their failures count only for a completed export).
        /// Then every descriptor is closed.</summary>
        public void Finish(bool completed)
        {
            try
            {
                while (_fixups.Count > 0)
                {
                    var (parentFd, name, inode, path) = _fixups.Pop();
                    bool ownerOk = !_options.PreserveOwner || Syscalls.FchownAt(parentFd, name, inode.Uid, inode.Gid) == 0;
                    if (!ownerOk && completed) throw Errno($"Cannot set the owner of '{path}'", path);
                    if (Syscalls.FchmodAt(parentFd, name, inode.Mode & 0xFFF) != 0 && completed) throw Errno($"Cannot set the mode of '{path}'", path);
                }
            }
            finally
            {
                foreach (int fd in _openDirs) Syscalls.close(fd);
            }
        }
    }

    private static void CheckName(byte[] name, string parent)
    {
        bool bad = name.Length == 0 || Array.IndexOf(name, (byte)'/') >= 0 || Array.IndexOf(name, (byte)0) >= 0
                   || (name.Length == 1 && name[0] == '.') || (name.Length == 2 && name[0] == '.' && name[1] == '.');
        if (bad)
            throw new DaxFsExportException(
                $"A directory entry in '{(parent.Length == 0 ? "/" : parent)}' has the name '{Encoding.UTF8.GetString(name)}', which would write outside its directory: the image is hostile or damaged. Nothing is written for it.", parent, ExportFailure.InvalidImage)
            { NextStep = NextStep.ValidateImage };
    }

    private static DaxFsExportException Errno(string what, string? path)
    {
        int e = Marshal.GetLastPInvokeError();
        return new DaxFsExportException($"{what}: {Marshal.GetPInvokeErrorMessage(e)}.", path, DaxFsExportException.KindOf(e),
            new IOException(Marshal.GetPInvokeErrorMessage(e)) { HResult = e });
    }
}
