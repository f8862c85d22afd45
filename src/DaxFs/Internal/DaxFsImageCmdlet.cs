using System.Management.Automation;
using DaxFs.Core.Branches;
using DaxFs.Core.Errors;
using DaxFs.Core.Format;
using DaxFs.Core.Linux;
using DaxFs.Core.Operations;
using DaxFs.Core.Overlay;
using DaxFs.Core.Read;

namespace DaxFs.Internal;

/// <summary>
/// Shared image resolution for cmdlets that read images: path (relative, ~, PSDrive, wildcards), FileInfo or
/// DaxFsImage → open readers (cached per path for the cmdlet's lifetime), and their errors. Images in memory are read
/// in place: a device node path (/dev/dax0.0, /dev/pmem0), a daxfs mount point or DaxFsMount (the mount's memory), or
/// a DmaBuf.
/// </summary>
public abstract class DaxFsImageCmdlet : DaxLinuxCmdlet
{
    // The dma-bufs given as images to this cmdlet, by their image names (each name is one buffer's, see DmaBuf.ImageName).
    private readonly Dictionary<string, DmaBuf> _dmaBufs = new(StringComparer.Ordinal);

    private readonly Dictionary<string, DaxFsImageReader> _readers = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Path, string Branch), BranchView> _views = new();
    private readonly Dictionary<string, OverlayView> _overlays = new(StringComparer.Ordinal);
    /// <summary>
    /// Resolves an image parameter value to provider paths (wildcards expand unless literal). A value that names no image
    /// is a non-terminating error (one bad input among many): the result is then empty and the next input goes on.
    /// </summary>
    private protected IReadOnlyList<string> ResolveImagePaths(DaxFsImageSource source)
    {
        if (source.DmaBuf is { } buffer)
        {
            _dmaBufs[buffer.ImageName] = buffer;
            return new[] { buffer.ImageName };
        }
        // An image name of a dma-buf (an item's ImagePath, typed or piped as text): its buffer, or DmaBufClosed when opened.
        if (source.IsLiteral || DmaBuf.TryFind(source.Path, out _)) return new[] { source.Path };
        try
        {
            var resolved = GetResolvedProviderPathFromPSPath(source.Path, out var provider);
            if (provider.Name != "FileSystem")
            {
                WriteError(Errors.Make(ErrorIds.ImageNotOnFileSystem, ErrorCategory.InvalidArgument, source.Path,
                    $"'{source.Path}' is on the {provider.Name} provider; an image must be a file."));
                return Array.Empty<string>();
            }
            return resolved;
        }
        catch (ItemNotFoundException ex)
        {
            WriteError(Errors.ImageNotFound(source.Path, ex));
            return Array.Empty<string>();
        }
    }

    /// <summary>
    /// Opens (or reuses) the reader for an image path. A missing, unreadable or malformed image is a non-terminating error
    /// for that input (null is returned), so that the other images of the pipeline are still read.
    /// </summary>
    private protected DaxFsImageReader? OpenImage(string path, string? backingFile = null)
    {
        var reader = TryOpenImage(path, backingFile, out var error);
        if (error is not null) WriteError(error);
        return reader;
    }

    /// <summary>As <see cref="OpenImage"/>, but the error is returned (for a caller whose failure stops the command).</summary>
    private protected DaxFsImageReader? TryOpenImage(string path, string? backingFile, out ErrorRecord? error)
    {
        error = null;
        if (_readers.TryGetValue(path, out var cached)) return cached;
        try
        {
            var reader = OpenMemoryImage(path, backingFile, out error);
            if (error is not null) return null;
            if (reader is null)
            {
                if (Directory.Exists(path))
                {
                    error = Errors.Make(ErrorIds.ImageIsDirectory, ErrorCategory.InvalidArgument, path,
                        $"'{path}' is a directory, not an image (nor a daxfs mount point). To build an image from it, run New-DaxFsImage -Path '{path}'.");
                    return null;
                }
                reader = DaxFsImageReader.Open(path, backingFile);
            }
            _readers[path] = reader;
            return reader;
        }
        catch (DaxFsFormatException ex) { error = Errors.InvalidImage(ex, path); }
        catch (ImageSourceException ex) { error = Errors.NotAnImageFile(ex); }
        catch (FileNotFoundException ex) { error = Errors.ImageNotFound(path, ex); }
        catch (DirectoryNotFoundException ex) { error = Errors.ImageNotFound(path, ex); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { error = Errors.ImageUnreadable(path, ex); }
        return null;
    }

    /// <summary>
    /// The image in memory that <paramref name="path"/> names: a dma-buf given as the image, the memory of the daxfs
    /// mount at that folder, or a device node. Null when the path is none of these (an image file or a plain folder).
    /// </summary>
    private DaxFsImageReader? OpenMemoryImage(string path, string? backingFile, out ErrorRecord? error)
    {
        error = null;
        ImageMemory? memory = null;
        try
        {
            // A dma-buf given here, or named by an item or branch read from one (piped on): never another buffer that
            // reuses its fd, since the name holds the buffer's own id.
            if (_dmaBufs.TryGetValue(path, out var given) || DmaBuf.TryFind(path, out given))
            {
                if (given is null)
                    throw new DaxLinuxException(DaxErrorKind.InvalidArgument, ErrorIds.DmaBufClosed,
                        $"The {path} has been disposed; its memory is gone. Read the image again from the buffer that holds it now.", path, Errno.EBADF);
                memory = DaxMemoryImages.Open(given.ToTarget());
            }
            else if (Directory.Exists(path))
            {
                var mount = new DaxFsMounter(Context).ListMounts().FirstOrDefault(m => m.MountPoint == MountInfo.NormalizePath(path));
                if (mount is null) return null;
                memory = DaxMemoryImages.OpenMount(Context, mount);
            }
            else if (DaxMemoryImages.ForNode(Context, path) is { } target)
            {
                memory = DaxMemoryImages.Open(target);
            }
            else return null;
        }
        catch (DaxLinuxException ex)
        {
            error = LinuxErrors.From(ex, path);
            return null;
        }
        WriteVerbose($"Reading the image in the memory of {memory.Source} ({memory.Length} bytes, mapped read-only).");
        return DaxFsImageReader.Open(memory, backingFile);
    }

    /// <summary>
    /// The tree to read: the base image, or with <paramref name="branch"/> that branch's view (its chain's logs replayed over
    /// the base, as the kernel shows a mount of it). Null after a non-terminating BranchNotFound error.
    /// </summary>
    private protected IImageTree? OpenTree(string path, string? backingFile, string? branch)
    {
        var reader = OpenImage(path, backingFile);
        if (reader is null) return null;
        if (string.IsNullOrEmpty(branch)) return OpenMountedTree(path, reader);
        if (reader.Generation != DaxFsFormat.Format5)
        {
            WriteError(Errors.NoBranchesInFormat8(path));
            return null;
        }
        if (_views.TryGetValue((path, branch), out var cached)) return cached;
        BranchView view;
        try { view = BranchView.Open(reader, branch); }
        catch (DaxFsBranchNotFoundException ex)
        {
            WriteError(Errors.Make(ErrorIds.BranchNotFound, ErrorCategory.ObjectNotFound, branch, $"'{path}': {ex.Message} List them with Get-DaxFsBranch.", ex));
            return null;
        }
        catch (DaxFsFormatException ex)
        {
            WriteError(Errors.InvalidImage(ex, path));
            return null;
        }
        if (view.Branch.State == BranchState.Aborted)
            WriteWarning($"Branch '{branch}' of '{path}' is Aborted (a sibling's commit invalidated it): a mount of it answers ESTALE. This is what its log holds.");
        _views[(path, branch)] = view;
        return view;
    }

    /// <summary>
    /// What a mount of the image shows: for a format-8 image with an overlay, the overlay resolved over the base (cached
    /// per path); otherwise the base image itself. Null after a non-terminating InvalidDaxFsImage error for an overlay
    /// that cannot be read, so the next image goes on.
    /// </summary>
    private protected IImageTree? OpenMountedTree(string path, DaxFsImageReader reader)
    {
        if (!reader.HasOverlay) return reader;
        if (_overlays.TryGetValue(path, out var cached)) return cached;
        OverlayView view;
        try { view = OverlayView.Open(reader); }
        catch (DaxFsFormatException ex)
        {
            WriteError(Errors.InvalidImage(ex, path));
            return null;
        }
        return _overlays[path] = view;
    }

    /// <summary>Turns names a branch lists but cannot open into warnings (find reports them as missing).</summary>
    private protected void WarnUnreachable(string imagePath, string? branch, string itemPath) =>
        WriteWarning(branch is null
            ? $"'{itemPath}' is listed by the kernel's readdir in '{imagePath}' but cannot be opened: its stored name is longer than what readdir shows (it holds a NUL), so a lookup finds nothing. Test-DaxFsImage reports the damaged entry."
            : $"'{itemPath}' is listed by the kernel's readdir in branch '{branch}' of '{imagePath}' but cannot be opened (removed or renamed in the branch; see about_DaxFs).");

    /// <summary>
    /// Runs an enumeration of the engine over one image; a format error met on the way is a non-terminating InvalidData
    /// error for that image (what was output before it stands), and the next input goes on.
    /// </summary>
    private protected void Guard(string imagePath, Action action)
    {
        try { action(); }
        catch (DaxFsFormatException ex) { WriteError(Errors.InvalidImage(ex, imagePath)); }
        catch (OperationCanceledException) when (Cancellation.IsCancellationRequested) { }
    }

    private protected string ResolveFileSystemPath(string path) => GetUnresolvedProviderPathFromPSPath(path);

    protected override void EndProcessing() => CloseReaders();

    private void CloseReaders()
    {
        _views.Clear();
        _overlays.Clear();
        foreach (var r in _readers.Values) r.Dispose();
        _readers.Clear();
    }

    private protected override void DisposeResources() => CloseReaders();
}
