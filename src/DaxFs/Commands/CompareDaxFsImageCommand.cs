using System.Diagnostics;
using System.Management.Automation;
using DaxFs.Core.Errors;
using DaxFs.Core.Compare;
using DaxFs.Core.Format;
using DaxFs.Core.Linux;
using DaxFs.Core.Operations;
using DaxFs.Core.Read;
using DaxFs.Core.Build;
using DaxFs.Internal;

namespace DaxFs.Commands;

/// <summary>
/// Compare-DaxFsImage: what differs between two images, or an image and a directory: entries added, removed or modified
/// (type, mode, owner, size, content by SHA-256, link target). Images are hashed from their memory maps, in parallel.
/// </summary>
[Cmdlet(VerbsData.Compare, "DaxFsImage")]
[OutputType(typeof(DaxFsImageDifference))]
public sealed class CompareDaxFsImageCommand : DaxFsImageCmdlet
{
    private (string Path, ComparableTree Tree)? _reference;
    private readonly List<DaxFsImageReader> _opened = new();

    /// <summary>The image (or directory) to compare against.</summary>
    [Parameter(Mandatory = true, Position = 0)]
    [Alias("Reference")]
    public DaxFsImageSource ReferenceImage { get; set; } = null!;

    /// <summary>The images (or directories) compared with the reference, one comparison each.</summary>
    [Parameter(Mandatory = true, Position = 1, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Difference", "Path", "FullName", "ImagePath", "LiteralPath")]
    [SupportsWildcards]
    public DaxFsImageSource[] DifferenceImage { get; set; } = Array.Empty<DaxFsImageSource>();

    /// <summary>Leave uid and gid out (an image built with -Owner Root against its tree).</summary>
    [Parameter]
    public SwitchParameter IgnoreOwner { get; set; }

    /// <summary>Compare metadata and sizes only; no file is read.</summary>
    [Parameter]
    public SwitchParameter SkipContent { get; set; }

    protected override void BeginProcessing()
    {
        var paths = ResolveImagePaths(ReferenceImage);
        if (paths.Count != 1)
            ThrowTerminatingError(Errors.Make(ErrorIds.ReferenceNotSingle, ErrorCategory.InvalidArgument, ReferenceImage.Path,
                $"-ReferenceImage '{ReferenceImage.Path}' names {paths.Count} images; give exactly one."));
        var tree = OpenTree(paths[0], ReferenceImage.BackingFile, out var error);
        if (tree is null) ThrowTerminatingError(error!);
        _reference = (paths[0], tree!);
    }

    protected override void ProcessRecord()
    {
        var (refPath, refTree) = _reference!.Value;
        foreach (var source in DifferenceImage)
        {
            foreach (var path in ResolveImagePaths(source))
            {
                var tree = OpenTree(path, source.BackingFile, out var error);
                if (tree is null) { WriteError(error!); continue; }
                var clock = Stopwatch.StartNew();
                TreeComparison result;
                try
                {
                    result = TreeComparer.Compare(refTree, tree, new TreeCompareOptions
                    {
                        CompareOwner = !IgnoreOwner,
                        CompareContent = !SkipContent,
                        CancellationToken = Cancellation.Token,
                    });
                }
                catch (OperationCanceledException) when (Cancellation.IsCancellationRequested) { return; }
                catch (DaxFsFormatException ex) { WriteError(Errors.InvalidImage(ex, path)); continue; }
                catch (DaxFsBuildException ex)
                {
                    WriteError(Errors.Make(ErrorIds.DirectoryUnreadable, ErrorCategory.ReadError, path, $"Cannot read the directory '{path}': {ex.Message}", ex));
                    continue;
                }
                catch (AggregateException ex) when (ex.InnerException is IOException or UnauthorizedAccessException or InvalidOperationException)
                {
                    WriteError(Errors.Make(ErrorIds.CompareReadFailed, ErrorCategory.ReadError, path,
                        $"Comparing '{refPath}' with '{path}' failed: {ex.InnerException.Message}", ex.InnerException));
                    continue;
                }
                foreach (var s in result.Skipped)
                    WriteWarning($"'{s}' is a FIFO, socket or device node, which no image holds: left out of the comparison.");
                WriteVerbose($"Compared '{refPath}' ({result.ReferenceEntries} entries) with '{path}' ({result.DifferenceEntries} entries): " +
                    $"{result.Differences.Count} differences; {result.FilesHashed} pairs of files hashed ({result.BytesHashed} bytes) in {clock.Elapsed.TotalSeconds:0.000} s.");
                foreach (var d in result.Differences) WriteObject(DaxFsImageDifference.From(d, refPath, path));
            }
        }
    }

    /// <summary>A plain directory (not a daxfs mount point) is compared as a tree on disk; anything else is opened as an image.</summary>
    private ComparableTree? OpenTree(string path, string? backingFile, out ErrorRecord? error)
    {
        error = null;
        if (Directory.Exists(path) && !IsDaxFsMount(path)) return ComparableTree.FromDirectory(path);
        DaxFsImageReader reader;
        if (IsMemory(path))
        {
            // Device nodes, mounts, dma-bufs: the shared resolution.
            if (TryOpenImage(path, backingFile, out error) is not { } memory) return null;
            reader = memory;
        }
        else
        {
            // An image file: opened here, so that one missing or broken image among the inputs is a non-terminating error.
            try { reader = DaxFsImageReader.Open(path, backingFile); }
            catch (DaxFsFormatException ex) { error = Errors.InvalidImage(ex, path); return null; }
            catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException) { error = Errors.ImageNotFound(path, ex); return null; }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { error = Errors.ImageUnreadable(path, ex); return null; }
            _opened.Add(reader);
        }
        if (reader.HasExternalData && backingFile is null && !SkipContent)
        {
            error = Errors.Make(ErrorIds.BackingFileRequired, ErrorCategory.InvalidArgument, path,
                $"'{path}' is a split image: its file data is in a backing file. Pipe in Get-DaxFsImage '{path}' -BackingFile FILE, or add -SkipContent.");
            return null;
        }
        return ComparableTree.FromImage(reader);
    }

    private bool IsMemory(string path) =>
        path.StartsWith("/dev/", StringComparison.Ordinal) || Directory.Exists(path) ||
        (ReferenceImage.DmaBuf is not null && path == ReferenceImage.Path) || DifferenceImage.Any(s => s.DmaBuf is not null && s.Path == path);

    protected override void EndProcessing()
    {
        base.EndProcessing();
        foreach (var r in _opened) r.Dispose();
        _opened.Clear();
    }

    private static bool IsDaxFsMount(string path)
    {
        try
        {
            string normalized = MountInfo.NormalizePath(path);
            return new DaxFsMounter(LinuxContext.FromEnvironment()).ListMounts().Any(m => m.MountPoint == normalized);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or DaxLinuxException) { return false; }
    }
}
