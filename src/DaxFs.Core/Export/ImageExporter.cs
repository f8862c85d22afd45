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
    private readonly ExportOptions _options = options ?? new ExportOptions();

    public IEnumerable<ExportedItem> Export(string imagePath, string destination, IProgress<ExportProgress>? progress = null, CancellationToken ct = default)
    {
        string full = DaxFsImageReader.NormalizePath(imagePath);
        var startItem = tree.GetItem(full);
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
        string full = startItem.FullName;
        byte[] startName = startItem.NameBytes;
        try { Directory.CreateDirectory(destination); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // EACCES/EPERM (UnauthorizedAccessException) or another error of mkdir, such as a file in the way.
            // .NET carries the errno of a failed mkdir in IOException.HResult on Linux.
            int errno = ex is UnauthorizedAccessException ? Linux.Errno.EACCES : ex.HResult;
            var inner = new IOException(ex.Message, ex) { HResult = errno };
            throw new DaxFsExportException(
                $"Cannot create the destination folder '{destination}': {ex.Message} Nothing was written. Export into a folder this user may write to, " +
                "or fix the permissions of its parent.", null, DaxFsExportException.KindOf(errno), inner) { Destination = destination };
        }
        int destFd = Syscalls.OpenAt(Syscalls.AT_FDCWD, Encoding.UTF8.GetBytes(Path.GetFullPath(destination)), Syscalls.O_RDONLY | Syscalls.O_DIRECTORY);
        if (destFd < 0)
        {
            var ex = Errno($"Cannot open the destination folder '{destination}'", null);
            throw new DaxFsExportException(ex.Message + " Nothing was written.", null, ex.Kind, ex.InnerException) { Destination = destination };
        }
        ulong startIno = startItem.Ino;
        var linked = new Dictionary<ulong, byte[]>(); // ino → path (relative to destFd) of its first name
        var fixups = new Stack<(int ParentFd, byte[] Name, BaseInode Inode, string ImagePath)>();
        var openDirs = new List<int> { destFd };
        long items = 0, bytes = 0;
        bool completed = false;
        try
        {
            var start = startItem.Inode;
            if (ModeBits.TypeOf(start.Mode) != DaxFsItemType.Directory)
            {
                byte[] name = startName;
                foreach (var x in ExportOne(destFd, Array.Empty<byte>(), name, startItem, full, Path.Combine(Path.GetFullPath(destination), Encoding.UTF8.GetString(name)), linked)) { yield return x; }
                yield break;
            }
            var visited = new HashSet<ulong> { startIno };
            var stack = new Stack<(int Fd, byte[] Rel, string ImagePath, string DestPath, ulong Ino, BaseInode Inode)>();
            if (full == "/")
                stack.Push((destFd, Array.Empty<byte>(), "", Path.GetFullPath(destination), startIno, start));
            else
            {
                // A directory other than the root goes into the destination under its own name, like cp -r.
                byte[] name = startName;
                string d = Path.Combine(Path.GetFullPath(destination), Encoding.UTF8.GetString(name));
                if (Syscalls.MkdirAt(destFd, name, 0x1C0) != 0 && Marshal.GetLastPInvokeError() != 17)
                    throw Errno($"Cannot create the directory '{d}'", full);
                int fd = Syscalls.OpenAt(destFd, name, Syscalls.O_RDONLY | Syscalls.O_DIRECTORY | Syscalls.O_NOFOLLOW);
                if (fd < 0) throw Errno($"Cannot open '{d}' (a symlink or file is in the way?)", full);
                openDirs.Add(fd);
                fixups.Push((destFd, name, start, full));
                stack.Push((fd, name, full, d, startIno, start));
                yield return new ExportedItem(full, d, DaxFsItemType.Directory, 0, false);
            }
            while (stack.Count > 0)
            {
                var dir = stack.Pop();
                foreach (var e in tree.ListDirectory(dir.Ino, dir.ImagePath, 0))
                {
                    ct.ThrowIfCancellationRequested();
                    CheckName(e.NameBytes, dir.ImagePath);
                    if (e.Unreachable)
                    {
                        _options.Unreachable?.Invoke(e.FullName);
                        continue;
                    }
                    var inode = e.Inode;
                    string childImage = dir.ImagePath + "/" + Encoding.UTF8.GetString(e.NameBytes);
                    string childDest = Path.Combine(dir.DestPath, Encoding.UTF8.GetString(e.NameBytes));
                    byte[] rel = dir.Rel.Length == 0 ? e.NameBytes : [.. dir.Rel, (byte)'/', .. e.NameBytes];
                    if (ModeBits.TypeOf(inode.Mode) == DaxFsItemType.Directory)
                    {
                        if (!visited.Add(e.Ino))
                            throw new DaxFsFormatException(RuleIds.TreeCycle, e.EntryOffset, $"Directory inode {e.Ino} ('{childImage}') is reached a second time.");
                        if (Syscalls.MkdirAt(dir.Fd, e.NameBytes, 0x1C0) != 0 && Marshal.GetLastPInvokeError() != 17 /* EEXIST */)
                            throw Errno($"Cannot create the directory '{childDest}'", childImage);
                        int fd = Syscalls.OpenAt(dir.Fd, e.NameBytes, Syscalls.O_RDONLY | Syscalls.O_DIRECTORY | Syscalls.O_NOFOLLOW);
                        if (fd < 0) throw Errno($"Cannot open '{childDest}' (a symlink or file is in the way?)", childImage);
                        openDirs.Add(fd);
                        fixups.Push((dir.Fd, e.NameBytes, inode, childImage));
                        stack.Push((fd, rel, childImage, childDest, e.Ino, inode));
                        items++;
                        yield return new ExportedItem(childImage, childDest, DaxFsItemType.Directory, 0, false);
                    }
                    else
                    {
                        foreach (var x in ExportOne(dir.Fd, dir.Rel, e.NameBytes, e, childImage, childDest, linked))
                        {
                            items++;
                            bytes += x.HardLink ? 0 : x.Size;
                            progress?.Report(new ExportProgress(items, bytes, childImage));
                            yield return x;
                        }
                    }
                }
            }
            completed = true;
        }
        finally
        {
            // Directory modes and owners last (deepest first), so a read-only directory was still writable while
            // filled; also when stopped early, so what was extracted has its modes.
            try
            {
                while (fixups.Count > 0)
                {
                    var (parentFd, name, inode, path) = fixups.Pop();
                    bool ownerOk = !_options.PreserveOwner || Syscalls.FchownAt(parentFd, name, inode.Uid, inode.Gid) == 0;
                    if (!ownerOk && completed) throw Errno($"Cannot set the owner of '{path}'", path);
                    if (Syscalls.FchmodAt(parentFd, name, inode.Mode & 0xFFF) != 0 && completed) throw Errno($"Cannot set the mode of '{path}'", path);
                }
            }
            finally
            {
                foreach (int fd in openDirs) Syscalls.close(fd);
            }
        }

        IEnumerable<ExportedItem> ExportOne(int parentFd, byte[] parentRel, byte[] name, ImageItem item, string imagePathOf, string destPath,
            Dictionary<ulong, byte[]> links)
        {
            ulong ino = item.Ino;
            var inode = item.Inode;
            byte[] rel = parentRel.Length == 0 ? name : [.. parentRel, (byte)'/', .. name];
            var type = ModeBits.TypeOf(inode.Mode);
            if (_options.Overwrite) Syscalls.UnlinkAt(parentFd, name); // a directory in the way stays and fails below
            if (type == DaxFsItemType.SymbolicLink)
            {
                byte[] target = item.TargetBytes ?? tree.ReadSymlinkTarget(ino);
                if (Syscalls.SymlinkAt(target, parentFd, name) != 0) throw Errno($"Cannot create the symlink '{destPath}'", imagePathOf);
                if (_options.PreserveOwner) Syscalls.FchownAt(parentFd, name, inode.Uid, inode.Gid);
                yield return new ExportedItem(imagePathOf, destPath, type, target.Length, false);
                yield break;
            }
            if (type != DaxFsItemType.File && inode.Mode == 0 && tree.BranchName is { } branch)
                throw new DaxFsExportException(
                    $"'{imagePathOf}' has mode 0 in branch '{branch}', as a fresh kernel mount of the branch shows it: one branch made " +
                    "the file and a branch below it changed it (a write, truncate or chown), and the kernel takes the mode and owner of " +
                    "such a change from the base image only. A fresh mount cannot open it either; the mount that made the change shows " +
                    "it from its inode cache. Export it from the branch that made it, or copy it from that mount (see about_DaxFs).", imagePathOf, ExportFailure.InvalidImage);
            if (type != DaxFsItemType.File)
                throw new DaxFsExportException($"'{imagePathOf}' has an unsupported file type (mode {Convert.ToString(inode.Mode, 8)}).", imagePathOf, ExportFailure.InvalidImage);
            if (links.TryGetValue(ino, out var first))
            {
                if (Syscalls.LinkAt(destFd, first, parentFd, name) != 0) throw Errno($"Cannot create the hard link '{destPath}'", imagePathOf);
                yield return new ExportedItem(imagePathOf, destPath, type, (long)inode.Size, true);
                yield break;
            }
            int fd = Syscalls.OpenAt(parentFd, name, Syscalls.O_WRONLY | Syscalls.O_CREAT | Syscalls.O_EXCL | Syscalls.O_NOFOLLOW, 0x180);
            if (fd < 0)
            {
                var failed = Errno($"Cannot create '{destPath}'", imagePathOf);
                throw failed.Kind == ExportFailure.AlreadyExists
                    ? new DaxFsExportException(failed.Message, failed.PathInImage, failed.Kind, failed.InnerException) { NextStep = NextStep.ReplaceExisting }
                    : failed;
            }
            try
            {
                using var content = tree.OpenContent(ino);
                var buffer = new byte[Math.Min(1 << 20, Math.Max(4096, (long)inode.Size))];
                int n;
                while ((n = content.Read(buffer)) > 0)
                {
                    ct.ThrowIfCancellationRequested();
                    if (!Syscalls.WriteAll(fd, buffer.AsSpan(0, n))) throw Errno($"Cannot write '{destPath}'", imagePathOf);
                }
                if (_options.PreserveOwner && Syscalls.fchown(fd, inode.Uid, inode.Gid) != 0) throw Errno($"Cannot set the owner of '{destPath}'", imagePathOf);
                if (Syscalls.fchmod(fd, inode.Mode & 0xFFF) != 0) throw Errno($"Cannot set the mode of '{destPath}'", imagePathOf);
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
            if (inode.Nlink > 1) links[ino] = rel;
            yield return new ExportedItem(imagePathOf, destPath, type, (long)inode.Size, false);
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
