using System.Diagnostics;
using System.Management.Automation;
using DaxFs.Core.Errors;
using DaxFs.Core.Format;
using DaxFs.Core.Linux;
using DaxFs.Core.Read;
using DaxFs.Core.Build;
using DaxFs.Internal;

namespace DaxFs.Commands;

/// <summary>
/// New-DaxFsImage: builds a DAXFS image (static, branching or split) from a directory tree, a tarball (plain, gzip, zstd
/// or xz), an OCI image layout (a directory or a tar of one) or a docker save archive. What -Path is, is found from the
/// item itself (a directory with an oci-layout file, a tar holding oci-layout or a docker manifest.json, any other file
/// is a tarball); -ArchiveType says it when the guess would be wrong.
/// </summary>
[Cmdlet(VerbsCommon.New, "DaxFsImage", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(DaxFsImage))]
public sealed class NewDaxFsImageCommand : PSCmdlet, IDisposable
{
    private readonly CancellationTokenSource _cancel = new();

    /// <summary>The directory whose contents become the image's root, or a tarball, OCI image layout or docker archive.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("FullName", "PSPath", "LiteralPath", "Source")]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = string.Empty;

    /// <summary>The image file; default: the directory's name + ".daxfs" in the current location.</summary>
    [Parameter(Position = 1)]
    [ValidateNotNullOrEmpty]
    public string? Destination { get; set; }

    /// <summary>Adds a branch table and a delta region so the kernel can create copy-on-write branches.</summary>
    [Parameter]
    public SwitchParameter Branching { get; set; }

    /// <summary>Bytes of the delta region (branching and split images). Default 64 MiB.</summary>
    [Parameter]
    [ValidateRange(4096, long.MaxValue)]
    public long DeltaSize { get; set; } = DaxFsConstants.DefaultDeltaSize;

    /// <summary>Split mode: regular-file data goes to this file; the image keeps metadata, a page cache and a delta region.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? BackingFile { get; set; }

    /// <summary>Split mode: page cache slots (a power of two). Default: the largest power of two not above the backing file's pages, at least 16.</summary>
    [Parameter]
    [ValidateRange(1, 1u << 31)]
    public uint PageCacheSlots { get; set; }

    /// <summary>Wildcards on paths relative to the root; a pattern without '/' matches a name at any depth. Excluding a directory excludes its contents.</summary>
    [Parameter]
    [SupportsWildcards]
    public string[] Exclude { get; set; } = Array.Empty<string>();

    /// <summary>Keep the source's owners (default) or record everything as root.</summary>
    [Parameter]
    public OwnerMode Owner { get; set; } = OwnerMode.Keep;

    /// <summary>Records this uid on every entry.</summary>
    [Parameter]
    public uint Uid { get; set; }

    /// <summary>Records this gid on every entry.</summary>
    [Parameter]
    public uint Gid { get; set; }

    /// <summary>Leave out FIFOs, sockets and device nodes with a warning instead of failing.</summary>
    [Parameter]
    public SwitchParameter SkipUnsupported { get; set; }

    /// <summary>Replace an existing destination (only once the new image is complete).</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>What -Path is (Tar, OciLayout, DockerArchive) when it is not a plain directory; default: found from the item.</summary>
    [Parameter]
    public ArchiveKind ArchiveType { get; set; }

    /// <summary>Container images: the tag of the image to build (OCI ref.name annotation or docker RepoTags entry); needed when the archive holds several.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Reference { get; set; }

    /// <summary>Container images: os/architecture[/variant] of the manifest to take from a multi-platform index. Default linux/amd64.</summary>
    [Parameter]
    [ValidatePattern("^[a-z0-9_]+/[a-z0-9_]+(/[a-z0-9_]+)?$")]
    public string Platform { get; set; } = "linux/amd64";

    protected override void ProcessRecord()
    {
        string? source = ResolveSource(Path);
        if (source is null) return;
        ArchiveKind? kind;
        try { kind = MyInvocation.BoundParameters.ContainsKey(nameof(ArchiveType)) ? ArchiveType : ArchiveSource.Detect(source); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            WriteError(Errors.Make(ex, ErrorIds.SourceUnreadable, ErrorCategory.ReadError, source));
            return;
        }
        if (kind is not (ArchiveKind.OciLayout or ArchiveKind.DockerArchive) && (MyInvocation.BoundParameters.ContainsKey(nameof(Reference)) || MyInvocation.BoundParameters.ContainsKey(nameof(Platform))))
        {
            WriteError(Errors.Make(ErrorIds.NotAContainerImage, ErrorCategory.InvalidArgument, source,
                $"-Reference and -Platform choose an image in an OCI layout or docker archive, but '{source}' is {(kind is null ? "a directory" : "a tarball")}: leave them out, or give -ArchiveType if it is a container image."));
            return;
        }
        ArchiveSource? archive = kind is { } k ? new ArchiveSource { Kind = k, Path = source, Reference = Reference, Platform = Platform } : null;
        string dest = Destination is null ? DefaultDestination(source) : GetUnresolvedProviderPathFromPSPath(Destination);
        string? backing = BackingFile is null ? null : GetUnresolvedProviderPathFromPSPath(BackingFile);
        var mode = backing is not null ? DaxFsImageMode.Split : Branching ? DaxFsImageMode.Branching : DaxFsImageMode.Static;
        if (mode == DaxFsImageMode.Static && (MyInvocation.BoundParameters.ContainsKey(nameof(DeltaSize))))
        {
            WriteError(Errors.Make(ErrorIds.DeltaSizeWithoutBranching, ErrorCategory.InvalidArgument, DeltaSize,
                "-DeltaSize sizes the delta region of a branching or split image: add -Branching (or -BackingFile)."));
            return;
        }

        var builder = new ImageBuilder(new ImageBuildOptions
        {
            SourcePath = source,
            Archive = archive,
            Destination = dest,
            Mode = mode,
            DeltaSize = DeltaSize,
            BackingFile = backing,
            PageCacheSlots = PageCacheSlots,
            Exclude = Exclude,
            Owner = Owner,
            Uid = MyInvocation.BoundParameters.ContainsKey(nameof(Uid)) ? Uid : null,
            Gid = MyInvocation.BoundParameters.ContainsKey(nameof(Gid)) ? Gid : null,
            SkipUnsupported = SkipUnsupported,
            Overwrite = Force,
        });

        // SIGTERM and SIGHUP stop the build as Ctrl+C does (the temporary file is removed) before the process ends.
        using var signals = TerminationSignals.CancelOn(_cancel);
        ImageBuildPlan plan;
        try
        {
            WriteProgress(new ProgressRecord(1, Activity(dest), "Scanning " + source));
            plan = builder.Plan(_cancel.Token);
        }
        catch (DaxFsBuildException ex) { WriteError(ToError(ex, source)); return; }
        catch (OperationCanceledException) { StopIfSignalled(signals); return; }
        finally
        {
            if (!_cancel.IsCancellationRequested) WriteProgress(new ProgressRecord(1, Activity(dest), "Scanned") { RecordType = ProgressRecordType.Completed });
        }

        WriteVerbose($"Scanned '{source}' in {Seconds(plan.ScanTime)}: {plan.InodeCount} inodes ({plan.FileCount} files, {plan.DirectoryCount} directories, " +
                     $"{plan.SymlinkCount} symlinks), {plan.DataBytes} bytes of file data ({Formatting.Size(plan.DataBytes)}), {plan.HardLinkNames} hard-link name{(plan.HardLinkNames == 1 ? "" : "s")}, " +
                     $"{plan.ExcludedCount} excluded, {plan.SkippedCount} skipped, {plan.SparseFileCount} sparse ({plan.SparseBytes} bytes of holes).");
        WriteVerbose($"Layout ({Seconds(plan.LayoutTime)}): {mode.ToString().ToLowerInvariant()} image of {plan.TotalSize} bytes ({Formatting.Size(plan.TotalSize)}); base image {plan.BaseSize} bytes" +
                     (mode == DaxFsImageMode.Split ? $" of metadata, file data in the backing file ({plan.BackingSize} bytes), {plan.PageCacheSlots} page cache slots" : $" holding {plan.DataBytes} bytes of file data") +
                     (mode == DaxFsImageMode.Static ? "; no branch table." : $"; a branch table and a delta region of {DeltaSize} bytes."));
        string action = $"Build a {mode.ToString().ToLowerInvariant()} DAXFS image of '{source}' ({plan.InodeCount} inodes, {plan.TotalSize} bytes" +
                        (backing is null ? ")" : $", backing file '{backing}' of {plan.BackingSize} bytes)") +
                        (File.Exists(dest) ? ", replacing the existing file" : "");
        if (!ShouldProcess(dest, action)) return;

        foreach (var w in plan.Warnings) WriteWarning(w.Message);
        foreach (var stale in builder.RemoveStaleTemporaryFiles())
            WriteWarning(stale.Removed
                ? $"Removed '{stale.Path}' ({stale.Length} bytes): the temporary file of an earlier build of this destination by process {stale.ProcessId}, which no longer runs (it was killed)."
                : stale.ProcessId is null
                    ? $"'{stale.Path}' ({stale.Length} bytes) looks like the temporary file of an earlier build of this destination, by a DaxFs version that did not record its process: remove it if no build of '{dest}' is running."
                    : $"'{stale.Path}' ({stale.Length} bytes) is the temporary file of an earlier build by process {stale.ProcessId}, which no longer runs, but it belongs to another user or could not be removed: remove it yourself.");

        var progress = new ThrottledProgress(this, Activity(dest));
        ImageBuildResult result;
        var clock = Stopwatch.StartNew();
        try
        {
            result = builder.Build(progress, _cancel.Token);
        }
        catch (DaxFsBuildException ex) { WriteError(ToError(ex, source)); return; }
        catch (OperationCanceledException) { StopIfSignalled(signals); return; }
        finally
        {
            if (!_cancel.IsCancellationRequested) progress.Complete(); // a stopped pipeline takes no more records
        }

        var written = clock.Elapsed;
        WriteVerbose($"Wrote '{result.Destination}' in {Seconds(written)} ({Formatting.Size(plan.TotalSize + plan.BackingSize)} at {Formatting.Size((long)((plan.TotalSize + plan.BackingSize) / Math.Max(written.TotalSeconds, 0.001)))}/s); " +
                     $"scan, layout and write took {Seconds(plan.ScanTime + plan.LayoutTime + written)} in all.");
        using var reader = DaxFsImageReader.Open(result.Destination, result.BackingFile);
        WriteObject(DaxFsImage.From(reader, result.Destination));
    }

    /// <summary>
    /// NAME.daxfs after the source directory (rootfs.daxfs for /) in the current location, or beside the source when the
    /// current location is inside it (-Path .), so that the default never lands in the tree it is made from. For / nothing
    /// is outside the tree: the build then asks for -Exclude of the folder holding the image.
    /// </summary>
    private string DefaultDestination(string source)
    {
        string tree = source.TrimEnd('/');
        string leaf = tree.Length == 0 ? "rootfs" : System.IO.Path.GetFileName(tree);
        if (File.Exists(source))
        {
            // busybox.tar.gz → busybox.daxfs
            foreach (var ext in new[] { ".tar.gz", ".tar.zst", ".tar.xz", ".tgz", ".tzst", ".txz", ".tar", ".gz", ".zst", ".xz" })
                if (leaf.Length > ext.Length && leaf.EndsWith(ext, StringComparison.OrdinalIgnoreCase)) { leaf = leaf[..^ext.Length]; break; }
        }
        string name = leaf + ".daxfs";
        string here = SessionState.Path.CurrentFileSystemLocation.ProviderPath.TrimEnd('/');
        bool hereInside = tree.Length == 0 || here == tree || here.StartsWith(tree + "/", StringComparison.Ordinal);
        string folder = hereInside && tree.Length > 0 ? System.IO.Path.GetDirectoryName(tree)! : (here.Length == 0 ? "/" : here);
        string dest = System.IO.Path.Combine(folder, name);
        WriteVerbose($"No -Destination: writing the image to '{dest}'" + (hereInside && tree.Length > 0 ? " (beside the source, as the current location is inside it)." : "."));
        return dest;
    }

    private string? ResolveSource(string path)
    {
        try
        {
            var resolved = SessionState.Path.GetResolvedProviderPathFromPSPath(path, out var provider);
            if (provider.Name != "FileSystem")
            {
                WriteError(Errors.Make(ErrorIds.SourceNotOnFileSystem, ErrorCategory.InvalidArgument, path, $"'{path}' is on the {provider.Name} provider; give a directory."));
                return null;
            }
            if (resolved.Count != 1)
            {
                WriteError(Errors.Make(ErrorIds.SourceAmbiguous, ErrorCategory.InvalidArgument, path,
                    $"'{path}' matches {resolved.Count} items; give one directory (or pipe several to build one image each)."));
                return null;
            }
            return resolved[0];
        }
        catch (ItemNotFoundException ex)
        {
            WriteError(Errors.Make(ex, ErrorIds.SourceNotFound, ErrorCategory.ObjectNotFound, path));
            return null;
        }
    }

    private static string Seconds(TimeSpan t) => $"{t.TotalSeconds:0.###} s";

    private static string Activity(string dest) => $"New-DaxFsImage {dest}";

    private static ErrorRecord ToError(DaxFsBuildException ex, string source)
    {
        var category = ex.Kind switch
        {
            BuildErrorKind.SourceNotFound or BuildErrorKind.BlobMissing or BuildErrorKind.ManifestNotFound => ErrorCategory.ObjectNotFound,
            BuildErrorKind.ArchiveInvalid or BuildErrorKind.ArchiveTruncated or BuildErrorKind.UnsafeMemberPath or BuildErrorKind.MemberThroughSymlink
                or BuildErrorKind.DuplicateMember or BuildErrorKind.HardLinkTargetMissing or BuildErrorKind.WhiteoutTargetMissing => ErrorCategory.InvalidData,
            BuildErrorKind.DigestMismatch => ErrorCategory.SecurityError,
            BuildErrorKind.ManifestAmbiguous => ErrorCategory.InvalidArgument,
            BuildErrorKind.SourceNotDirectory or BuildErrorKind.InvalidOption or BuildErrorKind.DestinationInsideSource => ErrorCategory.InvalidArgument,
            BuildErrorKind.DestinationExists => ErrorCategory.ResourceExists,
            BuildErrorKind.Unreadable => ErrorCategory.PermissionDenied,
            BuildErrorKind.UnsupportedFileType => ErrorCategory.InvalidData,
            BuildErrorKind.FileChanged => ErrorCategory.ResourceUnavailable,
            BuildErrorKind.TooManyInodes => ErrorCategory.LimitsExceeded,
            BuildErrorKind.DiskFull => ErrorCategory.ResourceUnavailable,
            _ => ErrorCategory.WriteError,
        };
        object target = ex.Paths.Count == 1 ? ex.Paths[0] : ex.Paths.Count > 1 ? ex.Paths.ToArray() : source;
        return new ErrorRecord(ex, "DaxFsBuild." + ex.Kind, category, target);
    }

    protected override void StopProcessing() => _cancel.Cancel();

    /// <summary>After a SIGTERM or SIGHUP the script goes no further: the process ends once the cleanup is done.</summary>
    private static void StopIfSignalled(TerminationSignals signals)
    {
        if (signals.Received is not null) throw new PipelineStoppedException();
    }

    public void Dispose()
    {
        _cancel.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>Write-Progress from the build, at most every 200 ms (the build reports per entry, on this thread).</summary>
    private sealed class ThrottledProgress(PSCmdlet cmdlet, string activity) : IProgress<BuildProgress>
    {
        private readonly ProgressThrottle _throttle = new();
        private bool _shown;

        public void Report(BuildProgress p)
        {
            if (cmdlet.Stopping) return;
            if (!_throttle.Due()) return;
            _shown = true;
            int percent = p.BytesTotal > 0 ? (int)(100 * p.BytesDone / p.BytesTotal) : p.ItemsTotal > 0 ? (int)(100 * p.ItemsDone / p.ItemsTotal) : 0;
            cmdlet.WriteProgress(new ProgressRecord(1, activity, $"{p.ItemsDone} of {p.ItemsTotal} entries, {Formatting.Size(p.BytesDone)} of {Formatting.Size(p.BytesTotal)}")
            {
                PercentComplete = Math.Clamp(percent, 0, 100),
                CurrentOperation = p.CurrentPath,
            });
        }

        public void Complete()
        {
            if (_shown) cmdlet.WriteProgress(new ProgressRecord(1, activity, "Done") { RecordType = ProgressRecordType.Completed });
        }
    }
}
