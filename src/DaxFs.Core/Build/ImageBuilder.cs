using System.Numerics;
using System.Text;
using DaxFs.Core.Errors;
using DaxFs.Core.Linux;
using DaxFs.Core.Branches;
using DaxFs.Core.Format;
using DaxFs.Core.Format.V8;
using Microsoft.Win32.SafeHandles;

namespace DaxFs.Core.Build;

/// <summary>
/// Builds a DAXFS image of format 5 (<see cref="DaxFsConstants.Version"/>) or format 8 (<see cref="DaxFsV8Constants.Version"/>)
/// from a directory tree: scan (<see cref="Plan"/>), then write (<see cref="Build"/>) to a temporary file beside the
/// destination that is renamed into place only when whole.
/// </summary>
/// <remarks>
/// Layout: inodes numbered in pre-order with children sorted by ordinal name bytes (root = 1), one inode per
/// distinct source inode; every data object block-aligned in inode order; directory arrays reserve the real
/// 272-byte dirent stride; an empty directory has size 0 and offset 0. Directory nlink is 2 + subdirectories,
/// file nlink the names it has in the image, symlink nlink 1. The same tree always gives the same bytes.
/// The tree and its objects are placed once for both formats; what differs (the superblock, format 5's base header and
/// branch table and delta region, format 8's page-size blocks, overlay and page cache v2) comes from the format layer
/// (<c>Format/</c>, <c>Format/V8/</c> with <see cref="RegionsV8"/>).
/// </remarks>
public sealed class ImageBuilder
{
    private static readonly byte[] Nul = { 0 };
    private readonly ImageBuildOptions _options;
    private SourceTree? _tree;
    private Layout? _layout;
    private ImageBuildPlan? _plan;

    public ImageBuilder(ImageBuildOptions options) => _options = options ?? throw new ArgumentNullException(nameof(options));

    /// <summary>Checks the options and destination, scans the tree and lays the image out. Writes nothing.</summary>
    public ImageBuildPlan Plan(CancellationToken ct = default)
    {
        if (_plan is not null) return _plan;
        var warnings = CheckOptions();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        _tree = _options.Mode == DaxFsImageMode.OverlayOnly ? null
            : _options.Archive is { } archive ? ScanArchive(archive, ct) : SourceTree.Scan(_options, Workers, ct);
        var scanTime = clock.Elapsed;
        if (_tree is not null) warnings.AddRange(_tree.Warnings);
        _layout = Layout.Compute(_tree, _options, BlockSizeOf(_options));
        var layoutTime = clock.Elapsed - scanTime;
        var l = _layout;
        var inodes = _tree?.Inodes;
        _plan = new ImageBuildPlan
        {
            Format = l.Format,
            Mode = _options.Mode,
            BlockSize = (uint)l.B,
            OverlayPoolSize = l.OverlayPoolSize,
            OverlayBuckets = l.OverlayBuckets,
            // An overlay-only image holds one inode, its root (in the overlay).
            InodeCount = inodes is null ? 1 : (uint)inodes.Count,
            FileCount = inodes?.Count(n => n.Stat.IsRegular) ?? 0,
            DirectoryCount = inodes?.Count(n => n.Stat.IsDirectory) ?? 1,
            SymlinkCount = inodes?.Count(n => n.Stat.IsSymlink) ?? 0,
            DataBytes = l.DataBytes,
            BaseSize = l.BaseSize,
            TotalSize = l.TotalSize,
            BackingSize = l.BackingSize,
            PageCacheSlots = l.PageCacheSlots,
            Warnings = warnings,
            HardLinkNames = _tree?.HardLinkNames ?? 0,
            ExcludedCount = _tree?.ExcludedCount ?? 0,
            SkippedCount = _tree?.SkippedCount ?? 0,
            SparseFileCount = _tree?.SparseFileCount ?? 0,
            SparseBytes = _tree?.SparseBytes ?? 0,
            ScanTime = scanTime,
            LayoutTime = layoutTime,
        };
        return _plan;
    }

    /// <summary>Reads the tarball's or container image's headers (every layer, in order) into a source tree; file data stays where it is.</summary>
    private SourceTree ScanArchive(ArchiveSource archive, CancellationToken ct)
    {
        string path = Path.GetFullPath(archive.Path);
        var tree = new LayerTree(whiteouts: archive.Kind != ArchiveKind.Tar, scanHeaders: _options.ScanTarHeaders);
        if (archive.Kind == ArchiveKind.Tar)
        {
            var pathBytes = Encoding.UTF8.GetBytes(path);
            tree.Apply(new ArchiveLayer
            {
                Name = $"'{path}'",
                OpenRaw = () => new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16),
                Fingerprint = () => Syscalls.Stat(Syscalls.AT_FDCWD, pathBytes, out var st, follow: true) ? LayerTree.FingerprintOf(st) : "missing",
            }, ct);
        }
        else
        {
            List<ArchiveLayer> layers;
            try
            {
                var image = ContainerImage.Open(new ArchiveSource { Kind = archive.Kind, Path = path, Reference = archive.Reference, Platform = archive.Platform });
                layers = image.Layers();
            }
            catch (InvalidOperationException ex)
            {
                // System.Text.Json: a field of the wrong JSON type, or text that is not UTF-8.
                throw new DaxFsBuildException(BuildErrorKind.ArchiveInvalid, $"'{path}' is not a valid container image: a field of its index, manifest or configuration is not what the OCI and docker formats say ({ex.Message}).", new[] { path }, ex);
            }
            foreach (var layer in layers) tree.Apply(layer, ct);
        }
        return tree.ToSourceTree(_options, path);
    }

    /// <summary>The block size an image of <paramref name="o"/> gets: 4096 for format 5; for format 8 the one asked for, else this machine's page size.</summary>
    internal static long BlockSizeOf(ImageBuildOptions o) =>
        o.Format == DaxFsFormat.Format8 ? o.BlockSize ?? (uint)Math.Max(Environment.SystemPageSize, DaxFsV8Constants.MinBlockSize) : DaxFsConstants.BlockSize;

    private List<BuildWarning> CheckOptions()
    {
        var o = _options;
        var warnings = new List<BuildWarning>();
        CheckFormatOptions(o);
        if (o.Mode == DaxFsImageMode.Split && string.IsNullOrEmpty(o.BackingFile))
            throw new DaxFsBuildException(BuildErrorKind.InvalidOption, "A split image needs a backing file for its file data.") { NextStep = NextStep.NameBackingFile };
        if (o.Mode != DaxFsImageMode.Split && !string.IsNullOrEmpty(o.BackingFile))
            throw new DaxFsBuildException(BuildErrorKind.InvalidOption, "A backing file is only used by split images.");
        if (o.Format == DaxFsFormat.Format5 && o.Mode != DaxFsImageMode.Static)
        {
            if (o.DeltaSize <= 0 || o.DeltaSize % DaxFsConstants.BlockSize != 0)
                throw new DaxFsBuildException(BuildErrorKind.InvalidOption, $"The delta region size must be a positive multiple of 4096 bytes (got {o.DeltaSize}).");
            if (o.DeltaSize < 2 * DaxFsConstants.BranchLogCapacity)
                warnings.Add(new BuildWarning(ErrorIds.SmallDeltaRegion, BranchSpace.NoRoomAtBuild(o.DeltaSize), null, NextStep.LargerDeltaRegion));
        }
        if (o.PageCacheSlots != 0 && (o.Mode != DaxFsImageMode.Split || !BitOperations.IsPow2(o.PageCacheSlots)))
            throw new DaxFsBuildException(BuildErrorKind.InvalidOption, o.Mode != DaxFsImageMode.Split
                ? "Page cache slots are only used by split images."
                : $"The page cache slot count must be a power of two (got {o.PageCacheSlots}).");
        if (o.PageCacheSlots != 0 && o.Format == DaxFsFormat.Format8 && o.PageCacheSlots < RegionsV8.MinPageCacheSlots)
            throw new DaxFsBuildException(BuildErrorKind.InvalidOption,
                $"A format-8 page cache needs at least {RegionsV8.MinPageCacheSlots} slots (the kernel's validate refuses fewer; got {o.PageCacheSlots}).");

        if (o.Mode == DaxFsImageMode.OverlayOnly)
        {
            CheckDestinations(o, null, null);
            return warnings;
        }
        string source = Path.GetFullPath(o.SourcePath);
        if (o.Archive is { } archive)
        {
            string a = Path.GetFullPath(archive.Path);
            bool isDir = Directory.Exists(a);
            if (!isDir && !File.Exists(a))
                throw new DaxFsBuildException(BuildErrorKind.SourceNotFound, $"The archive '{a}' does not exist.", new[] { a });
            if (isDir && archive.Kind != ArchiveKind.OciLayout)
                throw new DaxFsBuildException(BuildErrorKind.InvalidOption, $"'{a}' is a directory, not a {archive.Kind} archive.", new[] { a });
            source = "";
        }
        else if (!Directory.Exists(source))
        {
            if (File.Exists(source))
                throw new DaxFsBuildException(BuildErrorKind.SourceNotDirectory, $"The source '{source}' is not a directory: give the directory whose contents become the image.", new[] { source });
            throw new DaxFsBuildException(BuildErrorKind.SourceNotFound, $"The source directory '{source}' does not exist.", new[] { source });
        }
        CheckDestinations(o, source.Length == 0 ? null : source, source.Length == 0 ? null : Syscalls.RealPath(source));
        return warnings;
    }

    /// <summary>The options that depend on the format: what each generation has (branches and a delta region in format 5; an
    /// overlay and the page size in format 8) and the sizes of what it has.</summary>
    private static void CheckFormatOptions(ImageBuildOptions o)
    {
        if (o.Format is not (DaxFsFormat.Format5 or DaxFsFormat.Format8))
            throw new DaxFsBuildException(BuildErrorKind.InvalidOption, $"DaxFs builds format 5 or format 8 images (got {o.Format}).");
        if (o.Format == DaxFsFormat.Format5)
        {
            if (o.Mode is DaxFsImageMode.OverlayOnly or DaxFsImageMode.Overlay)
                throw new DaxFsBuildException(BuildErrorKind.InvalidOption,
                    "Format 5 has no overlay (its writable images are branching or split): build this image as format 8, or choose a format-5 mode.");
            if (o.OverlayPoolSize is not null || o.OverlayBuckets is not null)
                throw new DaxFsBuildException(BuildErrorKind.InvalidOption,
                    "The overlay pool and buckets size a format-8 overlay: build the image as format 8, or leave them out (format 5 writes to branches in its delta region).");
            if (o.BlockSize is not null && o.BlockSize != DaxFsConstants.BlockSize)
                throw new DaxFsBuildException(BuildErrorKind.InvalidOption, $"Format 5 always uses 4096-byte blocks (got {o.BlockSize}); only format 8 records the page size.");
            return;
        }

        if (o.Mode == DaxFsImageMode.Branching)
            throw new DaxFsBuildException(BuildErrorKind.InvalidOption,
                "Format 8 has no branches: kernels write to the image's shared overlay instead. Build a split image (with a backing file) or an overlay-only image, or build format 5 for branches.");
        if (o.Mode == DaxFsImageMode.Overlay)
            throw new DaxFsBuildException(BuildErrorKind.InvalidOption,
                "DaxFs does not build a format-8 image with inline file data under an overlay (mkdaxfs does not either, and the kernel reads such a file's base bytes past the pages written over them): build a split image or an overlay-only image.");
        long b = BlockSizeOf(o);
        if (b < DaxFsV8Constants.MinBlockSize || b > 1 << 20 || !BitOperations.IsPow2(b))
            throw new DaxFsBuildException(BuildErrorKind.InvalidOption,
                $"The block size must be the page size of the machine that mounts the image, a power of two from 4096 to 1 MiB (got {b}).");
        if (o.Mode == DaxFsImageMode.Static && (o.OverlayPoolSize is not null || o.OverlayBuckets is not null))
            throw new DaxFsBuildException(BuildErrorKind.InvalidOption,
                "A static format-8 image has no overlay (it mounts read-only): give a backing file for a split image, or build an overlay-only image, to size an overlay.");
        if (o.OverlayPoolSize is long pool && (pool < b || pool % b != 0))
            throw new DaxFsBuildException(BuildErrorKind.InvalidOption, $"The overlay pool size must be a positive multiple of the block size, {b} bytes (got {pool}).");
        if (o.OverlayBuckets is uint buckets && !BitOperations.IsPow2(buckets))
            throw new DaxFsBuildException(BuildErrorKind.InvalidOption, $"The overlay bucket count must be a power of two (got {buckets}).");
    }

    /// <summary>The image and backing file destinations: files (not folders) in folders that exist, outside the source tree unless
    /// left out of it, not already there unless they may be replaced, and not the same file.</summary>
    private static void CheckDestinations(ImageBuildOptions o, string? source, string? sourceReal)
    {
        foreach (var (what, path) in new[] { ("image", o.Destination), ("backing file", o.BackingFile) })
        {
            if (string.IsNullOrEmpty(path)) continue;
            string full = Path.GetFullPath(path);
            if (Directory.Exists(full))
                throw new DaxFsBuildException(BuildErrorKind.InvalidOption, $"The {what} destination '{full}' is a directory: give a file name.", new[] { full });
            string dir = Path.GetDirectoryName(full)!;
            string? dirReal = Syscalls.RealPath(dir)
                ?? throw new DaxFsBuildException(BuildErrorKind.InvalidOption, $"The folder '{dir}' for the {what} does not exist: create it first.", new[] { dir });
            if (sourceReal is not null && (dirReal == sourceReal || dirReal.StartsWith(sourceReal.TrimEnd('/') + "/", StringComparison.Ordinal))
                && !InExcludedFolder(o.Exclude, sourceReal, dirReal))
            {
                string folder = dirReal[sourceReal.TrimEnd('/').Length..].TrimStart('/');
                throw new DaxFsBuildException(BuildErrorKind.DestinationInsideSource,
                    $"The {what} '{full}' would be inside the source tree '{source}' and end up in itself: write it outside the tree" +
                    (folder.Length == 0 ? "." : $", or leave its folder '{folder}' out of the image."), new[] { full })
                { NextStep = folder.Length == 0 ? NextStep.None : NextStep.ExcludeDestinationFolder, NextStepSubject = folder };
            }
            if (File.Exists(full) && !o.Overwrite)
                throw new DaxFsBuildException(BuildErrorKind.DestinationExists, $"The {what} '{full}' already exists (a replaced file is replaced only once the new one is complete).", new[] { full })
                    { NextStep = NextStep.ReplaceExisting };
        }
        if (o.BackingFile is not null && Path.GetFullPath(o.BackingFile) == Path.GetFullPath(o.Destination))
            throw new DaxFsBuildException(BuildErrorKind.InvalidOption, "The backing file and the image must be different files.");
    }

    /// <summary>True when folder <paramref name="dirReal"/> (inside <paramref name="sourceReal"/>) or one above it is left out by the exclusions, so a file written there is not read into the image.</summary>
    private static bool InExcludedFolder(IReadOnlyList<string> exclude, string sourceReal, string dirReal)
    {
        if (exclude.Count == 0 || dirReal == sourceReal) return false;
        string relative = dirReal[sourceReal.TrimEnd('/').Length..].TrimStart('/');
        string prefix = "";
        foreach (var part in relative.Split('/'))
        {
            prefix = prefix.Length == 0 ? part : prefix + "/" + part;
            if (SourceTree.IsExcluded(exclude, prefix, Encoding.UTF8.GetBytes(part))) return true;
        }
        return false;
    }

    /// <summary>Writes the image (and in split mode the backing file). Nothing appears under the destination names unless the build completes.</summary>
    public ImageBuildResult Build(IProgress<BuildProgress>? progress = null, CancellationToken ct = default)
    {
        var plan = Plan(ct);
        var tree = _tree;
        var layout = _layout!;
        string dest = Path.GetFullPath(_options.Destination);
        string? backing = _options.BackingFile is null ? null : Path.GetFullPath(_options.BackingFile);

        // A build killed earlier (SIGKILL, a crash) left its temporary file here: remove it before the space check.
        var stale = RemoveStaleTemporaryFiles();
        CheckFreeSpace(dest, layout.ImageAllocatedBytes + (backing is not null && SameFolder(dest, backing) ? layout.BackingSize : 0));
        if (backing is not null && !SameFolder(dest, backing)) CheckFreeSpace(backing, layout.BackingSize);

        string? imageTemp = null, backingTemp = null;
        FileStream? image = null, back = null;
        try
        {
            image = CreateTemp(dest, layout.TotalSize, layout.ImageAllocatedBytes, out imageTemp);
            if (backing is not null) back = CreateTemp(backing, layout.BackingSize, layout.BackingSize, out backingTemp);

            if (tree is not null) WriteContent(tree, layout, image.SafeFileHandle, back?.SafeFileHandle, plan, progress, ct);
            else WriteHeaders(null, layout, image.SafeFileHandle);
            if (layout.Format == DaxFsFormat.Format8) WriteRegionsV8(layout, image.SafeFileHandle);
            else if (back is not null) WritePageCache(layout, image.SafeFileHandle, back.SafeFileHandle);

            back?.Flush(flushToDisk: true);
            image.Flush(flushToDisk: true);
            back?.Dispose(); back = null;
            image.Dispose(); image = null;
            ct.ThrowIfCancellationRequested();

            if (backingTemp is not null) { File.Move(backingTemp, backing!, _options.Overwrite); backingTemp = null; }
            File.Move(imageTemp, dest, _options.Overwrite);
            imageTemp = null;
        }
        catch (IOException ex) when (ex.HResult is Errno.ENOSPC or Errno.EDQUOT || ex.Message.Contains("disk was full", StringComparison.OrdinalIgnoreCase))
        {
            throw new DaxFsBuildException(BuildErrorKind.DiskFull,
                $"The disk holding '{dest}' filled up while writing the image ({layout.TotalSize} bytes): free space or choose another destination. Nothing was left behind.", new[] { dest }, ex);
        }
        catch (IOException ex) when (ex is not FileNotFoundException)
        {
            throw new DaxFsBuildException(BuildErrorKind.WriteFailed, $"Writing the image '{dest}' failed: {ex.Message} Nothing was left behind.", new[] { dest }, ex);
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new DaxFsBuildException(BuildErrorKind.WriteFailed,
                $"Cannot write in the folder of '{dest}': {ex.Message} Choose a folder you can write to.", new[] { dest }, ex);
        }
        finally
        {
            back?.Dispose();
            image?.Dispose();
            if (imageTemp is not null) TryDelete(imageTemp);
            if (backingTemp is not null) TryDelete(backingTemp);
        }
        return new ImageBuildResult { Destination = dest, BackingFile = backing, Plan = plan, StaleTemporaryFiles = stale };
    }

    /// <summary>Removes the temporary files that killed builds of this destination (and backing file) left, and lists
    /// them with those it could not prove stale (see <see cref="Write.StaleTemporaryFiles"/>). <see cref="Build"/> calls it.</summary>
    public IReadOnlyList<StaleTemporaryFile> RemoveStaleTemporaryFiles()
    {
        var found = new List<StaleTemporaryFile>(StaleTemporaryFiles.Clean(_options.Destination));
        if (_options.BackingFile is not null) found.AddRange(StaleTemporaryFiles.Clean(_options.BackingFile));
        return found;
    }

    private static bool SameFolder(string a, string b) => Path.GetDirectoryName(a) == Path.GetDirectoryName(b);

    private static void CheckFreeSpace(string path, long needed)
    {
        long free;
        try { free = new DriveInfo(Path.GetDirectoryName(path)!).AvailableFreeSpace; }
        catch (Exception) { return; } // unknown: writing will tell
        if (free < needed)
            throw new DaxFsBuildException(BuildErrorKind.DiskFull,
                $"The image needs {needed} bytes but the disk holding '{path}' has {free} free: free space or choose another destination.", new[] { path });
    }

    private static FileStream CreateTemp(string destination, long length, long allocate, out string tempPath)
    {
        tempPath = StaleTemporaryFiles.NewName(destination);
        var fs = new FileStream(tempPath, new FileStreamOptions
        {
            Mode = FileMode.CreateNew, Access = FileAccess.ReadWrite, Share = FileShare.None,
            PreallocationSize = allocate,
        });
        try { fs.SetLength(length); }
        catch { fs.Dispose(); TryDelete(tempPath); throw; }
        return fs;
    }

    private static void TryDelete(string path)
    {
        try { File.Delete(path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    /// <summary>Threads that read the tree and write data (default: up to 4, by core count).</summary>
    private int Workers => _options.Workers ?? Math.Clamp(Environment.ProcessorCount, 1, 4);

    /// <summary>Trees smaller than this are written on the calling thread (progress reports come in order, per entry).</summary>
    internal const int ParallelThreshold = 4096;

    private void WriteContent(SourceTree tree, Layout layout, SafeFileHandle imageHandle, SafeFileHandle? backingHandle,
        ImageBuildPlan plan, IProgress<BuildProgress>? progress, CancellationToken ct)
    {
        WriteHeaders(tree, layout, imageHandle);

        if (tree.Archive is not null)
        {
            // One uncompressed tarball: every object in inode order, file data copied from where each member's data lies in
            // it, as from a directory (the headers are not read again). Otherwise directories and symlinks from the tree
            // (single pass in inode order), then file data straight from the archive, read again front to back.
            using (var inPlace = tree.Archive.OpenInPlace())
            {
                if (inPlace is not null)
                {
                    WriteObjects(tree, layout, imageHandle, backingHandle, rootFd: -1, archiveFd: (int)inPlace.SafeFileHandle.DangerousGetHandle(), plan, progress, ct);
                    tree.Archive.CheckUnchanged(inPlace);
                    return;
                }
            }
            long items = 0, bytes = 0;
            using (var writer = new RangeWriter(tree, layout, imageHandle, backingHandle, rootFd: -1, archiveFd: -1, _options.DirectWrites))
            {
                writer.Write(0, tree.Inodes.Count, (n, di, db) => { items += di; }, ct);
                writer.Finish();
            }
            long baseAbs = backingHandle is null ? layout.BaseOffset : 0;
            tree.Archive.WriteData(backingHandle ?? imageHandle, baseAbs, layout.B, _options.DirectWrites, (n, b) =>
            {
                bytes += b;
                progress?.Report(new BuildProgress(items, plan.InodeCount, bytes, plan.DataBytes, () => tree.RelativePath(n)));
            }, ct);
            return;
        }

        var root = Encoding.UTF8.GetBytes(tree.RootPath);
        int rootFd = Syscalls.OpenAt(Syscalls.AT_FDCWD, root, Syscalls.O_RDONLY | Syscalls.O_DIRECTORY);
        if (rootFd < 0)
            throw new DaxFsBuildException(BuildErrorKind.Unreadable, $"Cannot open the source directory '{tree.RootPath}' again: {Syscalls.StrError(Syscalls.LastErrno)}.", new[] { tree.RootPath });
        try { WriteObjects(tree, layout, imageHandle, backingHandle, rootFd, archiveFd: -1, plan, progress, ct); }
        finally { Syscalls.close(rootFd); }
    }

    /// <summary>
    /// Writes every data object in inode order: file data from the directory <paramref name="rootFd"/>, or (a tarball read in
    /// place) from <paramref name="archiveFd"/>. Large trees are written by several threads, each a range at a time.
    /// </summary>
    private void WriteObjects(SourceTree tree, Layout layout, SafeFileHandle imageHandle, SafeFileHandle? backingHandle, int rootFd, int archiveFd,
        ImageBuildPlan plan, IProgress<BuildProgress>? progress, CancellationToken ct)
    {
        int workers = Workers;
        if (workers == 1 || tree.Inodes.Count < (_options.ParallelThreshold ?? ParallelThreshold))
        {
            long items = 0, bytes = 0;
            using var writer = new RangeWriter(tree, layout, imageHandle, backingHandle, rootFd, archiveFd, _options.DirectWrites);
            writer.Write(0, tree.Inodes.Count, (n, di, db) =>
            {
                items += di; bytes += db;
                progress?.Report(new BuildProgress(items, plan.InodeCount, bytes, plan.DataBytes, () => tree.RelativePath(n)));
            }, ct);
            writer.Finish();
            return;
        }

        // Objects sit at offsets fixed by the layout, so ranges of inodes are written side by side, each front to
        // back through a writer's buffer. There are several ranges per thread, taken in turn by whichever thread is
        // free, so a thread that gets less CPU (or slower files) does not hold up the end. Progress is reported from
        // this (the caller's) thread.
        var ranges = Partition(tree, workers * RangesPerWorker);
        long itemsDone = 0, bytesDone = 0;
        int nextRange = -1;
        SourceNode? current = null;
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var tasks = Enumerable.Range(0, Math.Min(workers, ranges.Count)).Select(_ => Task.Factory.StartNew(() =>
        {
            try
            {
                using var writer = new RangeWriter(tree, layout, imageHandle, backingHandle, rootFd, archiveFd, _options.DirectWrites);
                Action<SourceNode, long, long> onProgress = (n, di, db) =>
                {
                    Interlocked.Add(ref itemsDone, di);
                    Interlocked.Add(ref bytesDone, db);
                    current = n;
                };
                int k;
                while ((k = Interlocked.Increment(ref nextRange)) < ranges.Count)
                    writer.Write(ranges[k].From, ranges[k].To, onProgress, cts.Token);
                writer.Finish();
            }
            catch { cts.Cancel(); throw; }
        }, cts.Token, TaskCreationOptions.LongRunning, TaskScheduler.Default)).ToArray();
        try
        {
            while (!Task.WaitAll(tasks, 100))
            {
                var n = current;
                progress?.Report(new BuildProgress(Interlocked.Read(ref itemsDone), plan.InodeCount, Interlocked.Read(ref bytesDone), plan.DataBytes,
                    n is null ? null : () => tree.RelativePath(n)));
            }
        }
        catch (AggregateException ex)
        {
            var real = ex.Flatten().InnerExceptions.FirstOrDefault(e => e is not OperationCanceledException);
            if (real is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(real).Throw();
            ct.ThrowIfCancellationRequested();
            throw new OperationCanceledException(ct);
        }
        progress?.Report(new BuildProgress(itemsDone, plan.InodeCount, bytesDone, plan.DataBytes, null));
    }

    /// <summary>
    /// The superblock and what comes before the data objects: format 5's branch table (all FREE: zero), base superblock and
    /// inode table; format 8's inode table at the start of the base. An overlay-only image (no <paramref name="tree"/>) has
    /// only its superblock here.
    /// </summary>
    private void WriteHeaders(SourceTree? tree, Layout layout, SafeFileHandle imageHandle)
    {
        using var sink = new ImageWriterSink(imageHandle, _options.DirectWrites);
        var block0 = sink.Reserve((int)layout.B);
        if (layout.Format == DaxFsFormat.Format8) layout.SuperblockV8.Write(block0);
        else layout.Superblock.Write(block0);
        if (tree is not null)
        {
            sink.Seek(layout.BaseOffset);
            if (layout.Format == DaxFsFormat.Format5) layout.BaseSuperblock.Write(sink.Reserve(DaxFsConstants.BlockSize));
            foreach (var n in tree.Inodes)
                InodeOf(n).Write(sink.Reserve(DaxFsConstants.InodeSize));
        }
        sink.Finish();
    }

    /// <summary>Format 8: the overlay's header (and an overlay-only image's root entry and its bucket) and the page cache's header.
    /// The bucket table, the pool and the page cache slots are otherwise zero: the file is sparse there.</summary>
    private void WriteRegionsV8(Layout layout, SafeFileHandle image)
    {
        long b = layout.B;
        var block = new byte[b];
        if (layout.OverlayOffset != 0)
        {
            layout.Overlay.Write(block);
            RandomAccess.Write(image, block, layout.OverlayOffset);
            if (_options.Mode == DaxFsImageMode.OverlayOnly)
            {
                var (index, bucket) = RegionsV8.OverlayOnlyRootBucket(layout.OverlayBuckets);
                var rec = new byte[OverlayBucket.RecordSize];
                bucket.Write(rec);
                RandomAccess.Write(image, rec, layout.OverlayOffset + (long)layout.Overlay.BucketOffset + index * OverlayBucket.RecordSize);
                var root = new byte[OverlayInodeEntry.RecordSize];
                RegionsV8.OverlayOnlyRoot(_options.Uid ?? 0, _options.Gid ?? 0).Write(root);
                RandomAccess.Write(image, root, layout.OverlayOffset + (long)layout.Overlay.PoolOffset);
            }
        }
        if (layout.PageCacheOffset != 0)
        {
            Array.Clear(block);
            RegionsV8.NewPageCache(layout.PageCacheSlots, b).Write(block);
            RandomAccess.Write(image, block, layout.PageCacheOffset);
        }
    }

    /// <summary>Ranges of inodes per writing thread (see <see cref="Partition"/>).</summary>
    private const int RangesPerWorker = 8;

    /// <summary>Splits the inodes into contiguous ranges of about equal work (bytes plus a per-entry cost).</summary>
    private static List<(int From, int To)> Partition(SourceTree tree, int parts)
    {
        const long PerEntry = 32 * 1024; // an open/stat/close costs about as much as copying this many cached bytes
        long total = 0;
        foreach (var n in tree.Inodes) total += PerEntry + n.Stat.Size * (n.Stat.IsRegular ? 1 : 0);
        var ranges = new List<(int, int)>();
        long acc = 0, share = total / parts;
        int from = 0;
        for (int i = 0; i < tree.Inodes.Count; i++)
        {
            var n = tree.Inodes[i];
            acc += PerEntry + (n.Stat.IsRegular ? n.Stat.Size : 0);
            if (acc >= share * (ranges.Count + 1) && ranges.Count < parts - 1) { ranges.Add((from, i + 1)); from = i + 1; }
        }
        if (from < tree.Inodes.Count) ranges.Add((from, tree.Inodes.Count));
        return ranges;
    }

    /// <summary>Writes ranges of inodes, each front to back, through its own buffers (one per thread).</summary>
    private sealed class RangeWriter : IDisposable
    {
        private readonly SourceTree _tree;
        private readonly long _baseAbs;
        private readonly ImageWriterSink _sink;
        private readonly ImageWriterSink? _backSink;
        // Files are opened relative to their directory, kept open while the writer stays in it (pre-order keeps a
        // directory's files together), so each open looks up one name instead of the whole path.
        private readonly ParentDirectory _dir;
        // A tarball read in place (file data from where each member's data lies in it), or -1.
        private readonly int _archiveFd;

        public RangeWriter(SourceTree tree, Layout layout, SafeFileHandle imageHandle, SafeFileHandle? backingHandle, int rootFd, int archiveFd, bool direct)
        {
            _tree = tree;
            _archiveFd = archiveFd;
            _baseAbs = layout.BaseOffset;
            _sink = new ImageWriterSink(imageHandle, direct);
            _backSink = backingHandle is null ? null : new ImageWriterSink(backingHandle, direct);
            _dir = new ParentDirectory(tree, rootFd);
        }

        /// <summary>Writes the data objects of inodes [from, to) in order; <paramref name="onProgress"/> gets (node, items, bytes) increments.</summary>
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
        public void Write(int from, int to, Action<SourceNode, long, long> onProgress, CancellationToken ct)
        {
            var tree = _tree;
            var sink = _sink;
            var backSink = _backSink;
            long baseAbs = _baseAbs;
            bool positioned = false, backPositioned = false;
            void SeekImage(long offset) { if (!positioned) { sink.SeekAbsolute(offset); positioned = true; } else sink.Seek(offset); }
            for (int i = from; i < to; i++)
            {
                ct.ThrowIfCancellationRequested();
                var n = tree.Inodes[i];
                if (n.Stat.IsDirectory)
                {
                    if (n.Children!.Count > 0)
                    {
                        SeekImage(baseAbs + n.DataOffset);
                        foreach (int c in n.Children)
                        {
                            var child = tree.Nodes[c];
                            Dirent.Write(sink.Reserve(DaxFsConstants.DirentStride), child.Ino, ModeOf(child), child.Name);
                        }
                    }
                }
                else if (n.Stat.IsSymlink)
                {
                    SeekImage(baseAbs + n.DataOffset);
                    sink.Write(n.LinkTarget);
                    sink.Write(Nul);
                }
                else if (n.DataSize > 0 && (tree.Archive is null || _archiveFd >= 0))
                {
                    ImageWriterSink target;
                    if (backSink is not null)
                    {
                        if (!backPositioned) { backSink.SeekAbsolute(n.DataOffset); backPositioned = true; } else backSink.Seek(n.DataOffset);
                        target = backSink;
                    }
                    else { SeekImage(baseAbs + n.DataOffset); target = sink; }
                    if (_archiveFd >= 0) CopyMember(tree, n, _archiveFd, target, b => onProgress(n, 0, b), ct);
                    else CopyFile(tree, n, _dir, target, b => onProgress(n, 0, b), ct);
                }
                onProgress(n, 1, 0);
            }
        }

        /// <summary>Writes what is buffered and starts its writeback.</summary>
        public void Finish()
        {
            _sink.Finish();
            _backSink?.Finish();
        }

        public void Dispose()
        {
            _dir.Dispose();
            _sink.Dispose();
            _backSink?.Dispose();
        }
    }

    /// <summary>The open directory of the files a writer is copying: the root's descriptor, or one it opened and closes.</summary>
    private sealed class ParentDirectory : IDisposable
    {
        private readonly SourceTree _tree;
        private readonly int _rootFd;
        private int _node, _fd;

        public ParentDirectory(SourceTree tree, int rootFd)
        {
            _tree = tree;
            _rootFd = _fd = rootFd;
        }

        /// <summary>A descriptor of the directory node <paramref name="parent"/>, or -1 with errno set.</summary>
        public int Get(int parent)
        {
            if (parent == _node && _fd >= 0) return _fd;
            Dispose();
            _node = parent;
            _fd = parent == 0 ? _rootFd : SourceTree.OpenBelow(_rootFd, _tree.RelativeBytes(_tree.Nodes[parent]));
            return _fd;
        }

        public void Dispose()
        {
            if (_fd >= 0 && _fd != _rootFd) Syscalls.close(_fd);
            _fd = -1;
        }
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private static void CopyFile(SourceTree tree, SourceNode n, ParentDirectory dir, ImageWriterSink sink, Action<long> onBytes, CancellationToken ct)
    {
        int dirFd = dir.Get(n.Parent);
        int fd = dirFd < 0 ? -1 : Syscalls.OpenAt(dirFd, n.Name, Syscalls.O_RDONLY | Syscalls.O_NOFOLLOW);
        if (fd < 0)
        {
            int e = Syscalls.LastErrno;
            string rel = tree.RelativePath(n);
            if (e == Errno.ENOENT)
                throw new DaxFsBuildException(BuildErrorKind.FileChanged, $"'{rel}' disappeared while the image was being built: build again once the tree is quiet.", new[] { rel });
            throw new DaxFsBuildException(BuildErrorKind.Unreadable, $"Cannot read '{rel}': {Syscalls.StrError(e)}. Fix its permissions, or leave it out of the image.", new[] { rel })
                { NextStep = NextStep.ExcludeUnreadable };
        }
        string Rel() => tree.RelativePath(n);
        try
        {
            bool complete;
            try { complete = sink.CopyFrom(fd, 0, n.DataSize, onBytes, ct); }
            catch (IOException ex) when (ex.HResult is not Errno.ENOSPC and not Errno.EDQUOT)
            {
                throw new DaxFsBuildException(BuildErrorKind.Unreadable, $"Reading '{Rel()}' failed: {ex.Message} The image was not written.", new[] { Rel() }, ex);
            }
            if (!complete) throw Changed(Rel(), "shrank");
            // One fstat after the copy tells all: the same inode (not replaced since the scan), the same size and mtime.
            if (!Syscalls.Stat(fd, out var after)) throw Changed(Rel(), "could not be checked");
            if (after.Ino != n.Stat.Ino || after.DevMajor != n.Stat.DevMajor || after.DevMinor != n.Stat.DevMinor || !after.IsRegular)
                throw Changed(Rel(), "was replaced");
            if (after.Size != n.DataSize) throw Changed(Rel(), after.Size > n.DataSize ? "grew" : "shrank");
            if (after.MtimeSec != n.Stat.MtimeSec || after.MtimeNsec != n.Stat.MtimeNsec) throw Changed(Rel(), "was modified");
        }
        finally { Syscalls.close(fd); }
    }

    /// <summary>Copies a file's data from its member in a tarball read in place (<see cref="LayerTree.OpenInPlace"/>).</summary>
    private static void CopyMember(SourceTree tree, SourceNode n, int archiveFd, ImageWriterSink sink, Action<long> onBytes, CancellationToken ct)
    {
        bool complete;
        try { complete = sink.CopyFrom(archiveFd, n.ArchiveOffset, n.DataSize, onBytes, ct); }
        catch (IOException ex) when (ex.HResult is not Errno.ENOSPC and not Errno.EDQUOT)
        {
            throw new DaxFsBuildException(BuildErrorKind.Unreadable, $"Reading the data of '{tree.RelativePath(n)}' from '{tree.RootPath}' failed: {ex.Message} The image was not written.", new[] { tree.RootPath, tree.RelativePath(n) }, ex);
        }
        if (!complete)
            throw new DaxFsBuildException(BuildErrorKind.FileChanged,
                $"'{tree.RootPath}' changed while the image was being built (it ends before the data of '{tree.RelativePath(n)}'): build again once nothing writes to it.", new[] { tree.RootPath });
    }

    private static DaxFsBuildException Changed(string rel, string how) =>
        new(BuildErrorKind.FileChanged, $"'{rel}' {how} while the image was being built, so the image would not match the tree: build again once the tree is quiet.", new[] { rel });

    /// <summary>Format 5, split mode: header, slot records and the first pages of the backing file pre-warmed (first page wins).</summary>
    private static void WritePageCache(Layout layout, SafeFileHandle image, SafeFileHandle backing)
    {
        uint slots = layout.PageCacheSlots;
        long metaSize = DaxFsConstants.AlignUp((long)slots * DaxFsConstants.PageCacheSlotSize, DaxFsConstants.BlockSize);
        var header = new PageCacheHeader
        {
            Magic = DaxFsConstants.PageCacheMagic, Version = DaxFsConstants.PageCacheVersion, SlotCount = slots,
            HashShift = (uint)BitOperations.Log2(slots), SlotMetaOffset = DaxFsConstants.BlockSize,
            SlotDataOffset = (ulong)(DaxFsConstants.BlockSize + metaSize),
        };
        var block = new byte[DaxFsConstants.BlockSize];
        header.Write(block);
        long region = layout.PageCacheOffset;
        RandomAccess.Write(image, block, region);

        long pages = layout.BackingSize / DaxFsConstants.BlockSize;
        long warm = Math.Min(pages, slots); // page p < slots lands in slot p: the first pages fill every slot they can
        if (warm == 0) return;
        var meta = new byte[warm * DaxFsConstants.PageCacheSlotSize];
        for (long p = 0; p < warm; p++)
        {
            PageCacheSlot.WriteValid(meta.AsSpan((int)(p * PageCacheSlot.RecordSize), PageCacheSlot.RecordSize), (ulong)p);
        }
        RandomAccess.Write(image, meta, region + DaxFsConstants.BlockSize);

        var buf = new byte[1 << 20];
        long dataAt = region + (long)header.SlotDataOffset;
        for (long off = 0; off < warm * DaxFsConstants.BlockSize; off += buf.Length)
        {
            int want = (int)Math.Min(buf.Length, warm * DaxFsConstants.BlockSize - off);
            int got = RandomAccess.Read(backing, buf.AsSpan(0, want), off);
            if (got != want) throw new IOException("The backing file ended before its recorded size.");
            RandomAccess.Write(image, buf.AsSpan(0, want), dataAt + off);
        }
    }

    private BaseInode InodeOf(SourceNode n) => new()
    {
        Ino = n.Ino,
        Mode = ModeOf(n),
        Uid = _options.Uid ?? (_options.Owner == OwnerMode.Root ? 0 : n.Stat.Uid),
        Gid = _options.Gid ?? (_options.Owner == OwnerMode.Root ? 0 : n.Stat.Gid),
        Size = (ulong)n.DataSize,
        DataOffset = (ulong)n.DataOffset,
        Nlink = n.Stat.IsDirectory ? (uint)(2 + n.SubdirectoryCount) : n.Stat.IsRegular ? n.Names : 1,
    };

    private static uint ModeOf(SourceNode n) => n.Stat.Mode & 0xFFFF;

    /// <summary>Where everything goes.</summary>
    private sealed class Layout
    {
        public DaxFsFormat Format;
        /// <summary>The block size objects and regions are aligned to.</summary>
        public long B;
        public Superblock Superblock;
        public BaseSuperblock BaseSuperblock;
        public SuperblockV8 SuperblockV8;
        public OverlayHeader Overlay;
        /// <summary>From the start of the image: the base region (0 in an overlay-only image), format 8's overlay (0 = none) and the page cache (0 = none).</summary>
        public long BaseOffset, OverlayOffset, PageCacheOffset;
        public long BaseSize, TotalSize, BackingSize, DataBytes, ImageAllocatedBytes, OverlayPoolSize;
        public uint PageCacheSlots, OverlayBuckets;

        public static Layout Compute(SourceTree? tree, ImageBuildOptions o, long blockSize) =>
            o.Format == DaxFsFormat.Format8 ? ComputeV8(tree, o, blockSize) : ComputeV5(tree!, o);

        /// <summary>
        /// Places every data object of the base, in inode order, each on a block boundary from <paramref name="dataStart"/>
        /// (offsets from the base region's start; split mode: regular files in the backing file from 0). Returns the base
        /// region's size (the end of the last object), the backing file's size and the bytes of file data. Both formats.
        /// </summary>
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
        private static (long BaseSize, long BackingSize, long DataBytes) PlaceObjects(SourceTree tree, long dataStart, long b, bool split)
        {
            long cursor = dataStart, back = 0, dataBytes = 0;
            foreach (var node in tree.Inodes)
            {
                if (node.Stat.IsDirectory)
                {
                    long count = node.Children!.Count;
                    node.DataSize = count * DaxFsConstants.DirentSize;
                    if (count == 0) { node.DataOffset = 0; continue; }
                    node.DataOffset = cursor;
                    cursor += DaxFsConstants.AlignUp(count * DaxFsConstants.DirentStride, b);
                }
                else if (node.Stat.IsSymlink)
                {
                    node.DataSize = node.LinkTarget!.Length;
                    node.DataOffset = cursor;
                    cursor += DaxFsConstants.AlignUp(node.DataSize + 1, b);
                }
                else
                {
                    node.DataSize = node.Stat.Size;
                    dataBytes += node.DataSize;
                    if (split) { node.DataOffset = back; back += DaxFsConstants.AlignUp(node.DataSize, b); }
                    else { node.DataOffset = cursor; cursor += DaxFsConstants.AlignUp(node.DataSize, b); }
                }
            }
            return (cursor, back, dataBytes);
        }

        /// <summary>Format 5: superblock block, then (static) the base, or (branching, split) the branch table, the base, the
        /// page cache (split) and the delta region.</summary>
        private static Layout ComputeV5(SourceTree tree, ImageBuildOptions o)
        {
            const long B = DaxFsConstants.BlockSize;
            bool split = o.Mode == DaxFsImageMode.Split;
            long n = tree.Inodes.Count;
            long dataStart = DaxFsConstants.AlignUp(B + n * DaxFsConstants.InodeSize, B);
            var (baseSize, back, dataBytes) = PlaceObjects(tree, dataStart, B, split);

            var l = new Layout { Format = DaxFsFormat.Format5, B = B, BaseSize = baseSize, BackingSize = back, DataBytes = dataBytes };
            l.BaseSuperblock = new BaseSuperblock
            {
                Magic = DaxFsConstants.BaseMagic, Version = DaxFsConstants.Version, Flags = split ? DaxFsConstants.BaseFlagExternalData : 0,
                BlockSize = (uint)B, TotalSize = (ulong)baseSize, InodeOffset = (ulong)B, InodeCount = (uint)n,
                RootInode = DaxFsConstants.RootInode, DataOffset = (ulong)dataStart,
            };
            var sb = new Superblock
            {
                Magic = DaxFsConstants.SuperMagic, Version = DaxFsConstants.Version, BlockSize = (uint)B,
                BaseSize = (ulong)baseSize, NextInodeId = (ulong)n + 1,
            };
            if (o.Mode == DaxFsImageMode.Static)
            {
                sb.BaseOffset = (ulong)B;
                sb.TotalSize = (ulong)(B + baseSize);
                l.ImageAllocatedBytes = B + baseSize;
            }
            else PlaceBranchingRegionsV5(l, ref sb, o);
            l.BaseOffset = (long)sb.BaseOffset;
            l.Superblock = sb;
            l.TotalSize = (long)sb.TotalSize;
            return l;
        }

        /// <summary>A branching or split format-5 image: the branch table after the superblock block, the base after it, then
        /// the page cache (split) and the delta region, which stays sparse until the kernel writes to it.</summary>
        private static void PlaceBranchingRegionsV5(Layout l, ref Superblock sb, ImageBuildOptions o)
        {
            const long B = DaxFsConstants.BlockSize;
            long baseOffset = B + DaxFsConstants.BranchTableSize;
            long after = baseOffset + l.BaseSize;
            sb.BaseOffset = (ulong)baseOffset;
            sb.BranchTableOffset = (ulong)B;
            sb.BranchTableEntries = DaxFsConstants.MaxBranches;
            sb.NextBranchId = 1;
            if (o.Mode == DaxFsImageMode.Split) after += PlacePageCacheV5(l, ref sb, o, after);
            sb.DeltaRegionOffset = (ulong)after;
            sb.DeltaRegionSize = (ulong)o.DeltaSize;
            sb.DeltaAllocOffset = (ulong)after;
            sb.TotalSize = (ulong)(after + o.DeltaSize);
            l.ImageAllocatedBytes = after;
        }

        /// <summary>A split format-5 image's page cache at <paramref name="at"/>; returns its size.</summary>
        private static long PlacePageCacheV5(Layout l, ref Superblock sb, ImageBuildOptions o, long at)
        {
            var (slots, size) = PlacePageCache(l, o, at, PageCacheHeader.RegionSize);
            sb.PageCacheOffset = (ulong)at;
            sb.PageCacheSize = (ulong)size;
            sb.PageCacheSlotCount = slots;
            sb.PageCacheHashShift = (uint)BitOperations.Log2(slots);
            return size;
        }

        /// <summary>A split image's page cache at <paramref name="at"/>, either format: its slot count (chosen or the
        /// default for the backing file's size) and its region size by the format's own rule, recorded in the layout.</summary>
        private static (uint Slots, long Size) PlacePageCache(Layout l, ImageBuildOptions o, long at, Func<uint, long> regionSize)
        {
            uint slots = o.PageCacheSlots != 0 ? o.PageCacheSlots : RegionsV8.DefaultPageCacheSlots(l.BackingSize, l.B);
            l.PageCacheSlots = slots;
            l.PageCacheOffset = at;
            return (slots, regionSize(slots));
        }

        /// <summary>
        /// Format 8 (FORMAT-V8.md §1): superblock block, base at one block (inode table at its start, data on the next block
        /// boundary), then in split mode the overlay and the page cache, each on a block boundary; an overlay-only image has
        /// the superblock and the overlay alone. Regions are where mkdaxfs 0.1.0 puts them.
        /// </summary>
        private static Layout ComputeV8(SourceTree? tree, ImageBuildOptions o, long b)
        {
            bool split = o.Mode == DaxFsImageMode.Split;
            var l = new Layout { Format = DaxFsFormat.Format8, B = b };
            var sb = new SuperblockV8 { Magic = DaxFsConstants.SuperMagic, Version = DaxFsV8Constants.Version, BlockSize = (uint)b };
            long end = b;
            ulong nextIno = 2; // overlay-only: the root is inode 1
            if (tree is not null)
            {
                end = PlaceBaseV8(l, ref sb, tree, split);
                nextIno = (ulong)tree.Inodes.Count + 1;
            }
            l.ImageAllocatedBytes = end;
            if (split || o.Mode == DaxFsImageMode.OverlayOnly) end += PlaceOverlayV8(l, ref sb, o, nextIno, end);
            if (split) end += PlacePageCacheV8(l, ref sb, o, end);
            sb.TotalSize = (ulong)end;
            l.SuperblockV8 = sb;
            l.TotalSize = end;
            return l;
        }

        /// <summary>The format-8 base at one block: the inode table at its start, its data objects from the next block
        /// boundary. Returns where the base ends, on a block boundary.</summary>
        private static long PlaceBaseV8(Layout l, ref SuperblockV8 sb, SourceTree tree, bool split)
        {
            long b = l.B;
            long n = tree.Inodes.Count;
            long dataStart = RegionsV8.DataOffset(n, b);
            var (baseSize, back, dataBytes) = PlaceObjects(tree, dataStart, b, split);
            l.BaseOffset = b;
            l.BaseSize = baseSize;
            l.BackingSize = back;
            l.DataBytes = dataBytes;
            sb.BaseOffset = (ulong)b;
            sb.BaseSize = (ulong)baseSize;
            sb.InodeOffset = 0;
            sb.InodeCount = (uint)n;
            sb.RootInode = DaxFsConstants.RootInode;
            sb.DataOffset = (ulong)dataStart;
            return DaxFsConstants.AlignUp(b + baseSize, b);
        }

        /// <summary>The format-8 overlay at <paramref name="at"/> (overlay-only: with the root as its first entry); returns its
        /// size. Written are the header and (overlay-only) the root's bucket and entry; the bucket table and pool stay sparse.</summary>
        private static long PlaceOverlayV8(Layout l, ref SuperblockV8 sb, ImageBuildOptions o, ulong nextIno, long at)
        {
            long b = l.B;
            uint buckets = o.OverlayBuckets ?? DaxFsV8Constants.DefaultBucketCount;
            long pool = o.OverlayPoolSize ?? (long)DaxFsV8Constants.DefaultPoolSize;
            long size = RegionsV8.OverlaySize(buckets, pool, b);
            bool rootInOverlay = o.Mode == DaxFsImageMode.OverlayOnly;
            l.Overlay = RegionsV8.NewOverlay(buckets, pool, b, nextIno, rootInOverlay ? OverlayInodeEntry.RecordSize : 0UL);
            l.OverlayOffset = at;
            l.OverlayBuckets = buckets;
            l.OverlayPoolSize = pool;
            sb.OverlayOffset = (ulong)at;
            sb.OverlaySize = (ulong)size;
            sb.OverlayBucketCount = buckets;
            sb.OverlayBucketShift = (uint)BitOperations.Log2(buckets);
            l.ImageAllocatedBytes = at + b;
            return size;
        }

        /// <summary>A split format-8 image's page cache at <paramref name="at"/>; returns its size.</summary>
        private static long PlacePageCacheV8(Layout l, ref SuperblockV8 sb, ImageBuildOptions o, long at)
        {
            var (slots, size) = PlacePageCache(l, o, at, n => RegionsV8.PageCacheSize(n, l.B));
            sb.PageCacheOffset = (ulong)at;
            sb.PageCacheSize = (ulong)size;
            sb.PageCacheSlotCount = slots;
            sb.PageCacheHashShift = (uint)BitOperations.Log2(slots);
            return size;
        }
    }
}
