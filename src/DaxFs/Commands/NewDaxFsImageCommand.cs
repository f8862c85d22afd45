using System.Diagnostics;
using System.Management.Automation;
using DaxFs.Core.Errors;
using DaxFs.Core.Format;
using DaxFs.Core.Format.V8;
using DaxFs.Core.Linux;
using DaxFs.Core.Read;
using DaxFs.Core.Build;
using DaxFs.Internal;

namespace DaxFs.Commands;

/// <summary>
/// New-DaxFsImage: builds a DAXFS image from a directory tree, a tarball (plain, gzip, zstd or xz), an OCI image layout
/// (a directory or a tar of one) or a docker save archive: format 5 (static, branching or split) or format 8 (static,
/// split with an overlay, or an empty overlay-only image). What -Path is, is found from the item itself (a directory
/// with an oci-layout file, a tar holding oci-layout or a docker manifest.json, any other file is a tarball);
/// -ArchiveType says it when the guess would be wrong.
/// </summary>
[Cmdlet(VerbsCommon.New, "DaxFsImage", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = TreeSet)]
[OutputType(typeof(DaxFsImage))]
public sealed class NewDaxFsImageCommand : PSCmdlet, IDisposable
{
    private const string TreeSet = "Tree", EmptySet = "Empty";
    private readonly CancellationTokenSource _cancel = new();

    /// <summary>The directory whose contents become the image's root, or a tarball, OCI image layout or docker archive.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true, ParameterSetName = TreeSet)]
    [Alias("FullName", "PSPath", "LiteralPath", "Source")]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = string.Empty;

    /// <summary>The image file; default: the directory's name + ".daxfs" in the current location. An empty image needs one.</summary>
    [Parameter(Position = 1, ParameterSetName = TreeSet)]
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = EmptySet)]
    [ValidateNotNullOrEmpty]
    public string? Destination { get; set; }

    /// <summary>The on-disk format: 5 (default: the format-5 module, branches) or 8 (the current module 0.1.0, the shared overlay).</summary>
    [Parameter]
    [ValidateSet("5", "8")]
    public int Format { get; set; } = 5;

    /// <summary>Format 8: an overlay-only image with no base and no source tree: an empty root directory that kernels write to.</summary>
    [Parameter(Mandatory = true, ParameterSetName = EmptySet)]
    public SwitchParameter Empty { get; set; }

    /// <summary>Format 5: adds a branch table and a delta region so the kernel can create copy-on-write branches.</summary>
    [Parameter(ParameterSetName = TreeSet)]
    public SwitchParameter Branching { get; set; }

    /// <summary>Format 5: bytes of the delta region (branching and split images). Default 64 MiB.</summary>
    [Parameter(ParameterSetName = TreeSet)]
    [ValidateRange(4096, long.MaxValue)]
    public long DeltaSize { get; set; } = DaxFsConstants.DefaultDeltaSize;

    /// <summary>Split mode: regular-file data goes to this file; the image keeps metadata, a page cache and (format 5) a delta region or (format 8) an overlay.</summary>
    [Parameter(ParameterSetName = TreeSet)]
    [ValidateNotNullOrEmpty]
    public string? BackingFile { get; set; }

    /// <summary>Split mode: page cache slots (a power of two; format 8: at least 8). Default: the largest power of two not above the backing file's pages, at least 16.</summary>
    [Parameter(ParameterSetName = TreeSet)]
    [ValidateRange(1, 1u << 31)]
    public uint PageCacheSlots { get; set; }

    /// <summary>Format 8, split and empty images: bytes of the overlay pool that kernels write new entries and pages to (a multiple of the page size). Default 64 MiB.</summary>
    [Parameter]
    [ValidateRange(4096, long.MaxValue)]
    public long OverlayPoolSize { get; set; } = (long)DaxFsV8Constants.DefaultPoolSize;

    /// <summary>Format 8, split and empty images: buckets of the overlay's hash table (a power of two). Default 65536.</summary>
    [Parameter]
    [ValidateRange(1, 1u << 31)]
    public uint OverlayBuckets { get; set; } = DaxFsV8Constants.DefaultBucketCount;

    /// <summary>Format 8: the page size of the machines that will mount the image (the kernel refuses another). Default: this machine's.</summary>
    [Parameter]
    [ValidateSet("4096", "16384", "65536")]
    public uint PageSize { get; set; }

    /// <summary>Wildcards on paths relative to the root; a pattern without '/' matches a name at any depth. Excluding a directory excludes its contents.</summary>
    [Parameter(ParameterSetName = TreeSet)]
    [SupportsWildcards]
    public string[] Exclude { get; set; } = Array.Empty<string>();

    /// <summary>Keep the source's owners (default) or record everything as root.</summary>
    [Parameter(ParameterSetName = TreeSet)]
    public OwnerMode Owner { get; set; } = OwnerMode.Keep;

    /// <summary>Records this uid on every entry.</summary>
    [Parameter]
    public uint Uid { get; set; }

    /// <summary>Records this gid on every entry.</summary>
    [Parameter]
    public uint Gid { get; set; }

    /// <summary>Leave out FIFOs, sockets and device nodes with a warning instead of failing.</summary>
    [Parameter(ParameterSetName = TreeSet)]
    public SwitchParameter SkipUnsupported { get; set; }

    /// <summary>Replace an existing destination (only once the new image is complete).</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>What -Path is (Tar, OciLayout, DockerArchive) when it is not a plain directory; default: found from the item.</summary>
    [Parameter(ParameterSetName = TreeSet)]
    public ArchiveKind ArchiveType { get; set; }

    /// <summary>Container images: the tag of the image to build (OCI ref.name annotation or docker RepoTags entry); needed when the archive holds several.</summary>
    [Parameter(ParameterSetName = TreeSet)]
    [ValidateNotNullOrEmpty]
    public string? Reference { get; set; }

    /// <summary>Container images: os/architecture[/variant] of the manifest to take from a multi-platform index. Default linux/amd64.</summary>
    [Parameter(ParameterSetName = TreeSet)]
    [ValidatePattern("^[a-z0-9_]+/[a-z0-9_]+(/[a-z0-9_]+)?$")]
    public string Platform { get; set; } = "linux/amd64";

    protected override void ProcessRecord()
    {
        bool v8 = Format == 8;
        if (OptionOfOtherFormat(v8) is { } mismatch) { WriteError(mismatch); return; }
        string? source = Empty ? null : ResolveSource(Path);
        if (source is null && !Empty) return;
        string dest = Destination is null ? DefaultDestination(source!) : GetUnresolvedProviderPathFromPSPath(Destination);
        ArchiveKind? kind = null;
        if (source is not null)
        {
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
        }
        ArchiveSource? archive = kind is { } k ? new ArchiveSource { Kind = k, Path = source!, Reference = Reference, Platform = Platform } : null;
        string? backing = BackingFile is null ? null : GetUnresolvedProviderPathFromPSPath(BackingFile);
        var mode = Empty ? DaxFsImageMode.OverlayOnly : backing is not null ? DaxFsImageMode.Split : Branching ? DaxFsImageMode.Branching : DaxFsImageMode.Static;
        if (!v8 && mode == DaxFsImageMode.Static && (MyInvocation.BoundParameters.ContainsKey(nameof(DeltaSize))))
        {
            WriteError(Errors.Make(ErrorIds.DeltaSizeWithoutBranching, ErrorCategory.InvalidArgument, DeltaSize,
                "-DeltaSize sizes the delta region of a branching or split image: add -Branching (or -BackingFile)."));
            return;
        }
        if (v8 && mode == DaxFsImageMode.Static && OverlayOption() is { } overlayOption)
        {
            WriteError(Errors.Make(ErrorIds.OptionOfOtherFormat, ErrorCategory.InvalidArgument, overlayOption,
                $"-{overlayOption} sizes the overlay of a split or empty format-8 image; a static image has none (it mounts read-only): add -BackingFile, or -Empty for an overlay-only image."));
            return;
        }

        var builder = new ImageBuilder(new ImageBuildOptions
        {
            SourcePath = source ?? string.Empty,
            Archive = archive,
            Destination = dest,
            Format = v8 ? DaxFsFormat.Format8 : DaxFsFormat.Format5,
            Mode = mode,
            DeltaSize = DeltaSize,
            BackingFile = backing,
            PageCacheSlots = PageCacheSlots,
            BlockSize = v8 && PageSize != 0 ? PageSize : null,
            OverlayPoolSize = v8 && mode != DaxFsImageMode.Static ? OverlayPoolSize : null,
            OverlayBuckets = v8 && mode != DaxFsImageMode.Static ? OverlayBuckets : null,
            Exclude = Exclude,
            Owner = Owner,
            Uid = MyInvocation.BoundParameters.ContainsKey(nameof(Uid)) ? Uid : null,
            Gid = MyInvocation.BoundParameters.ContainsKey(nameof(Gid)) ? Gid : null,
            SkipUnsupported = SkipUnsupported,
            Overwrite = Force,
        });
        string what = Empty ? "an empty overlay-only format-8 DAXFS image" : $"a {mode.ToString().ToLowerInvariant()} format-{Format} DAXFS image of '{source}'";

        // SIGTERM and SIGHUP stop the build as Ctrl+C does (the temporary file is removed) before the process ends.
        using var signals = TerminationSignals.CancelOn(_cancel);
        ImageBuildPlan plan;
        try
        {
            WriteProgress(new ProgressRecord(1, Activity(dest), source is null ? "Laying out" : "Scanning " + source));
            plan = builder.Plan(_cancel.Token);
        }
        catch (DaxFsBuildException ex) { WriteError(ToError(ex, source ?? dest)); return; }
        catch (OperationCanceledException) { StopIfSignalled(signals); return; }
        finally
        {
            if (!_cancel.IsCancellationRequested) WriteProgress(new ProgressRecord(1, Activity(dest), "Scanned") { RecordType = ProgressRecordType.Completed });
        }

        if (source is not null)
            WriteVerbose($"Scanned '{source}' in {Seconds(plan.ScanTime)}: {plan.InodeCount} inodes ({plan.FileCount} files, {plan.DirectoryCount} directories, " +
                         $"{plan.SymlinkCount} symlinks), {plan.DataBytes} bytes of file data ({Formatting.Size(plan.DataBytes)}), {plan.HardLinkNames} hard-link name{(plan.HardLinkNames == 1 ? "" : "s")}, " +
                         $"{plan.ExcludedCount} excluded, {plan.SkippedCount} skipped, {plan.SparseFileCount} sparse ({plan.SparseBytes} bytes of holes).");
        string modeName = mode == DaxFsImageMode.OverlayOnly ? "overlay-only" : mode.ToString().ToLowerInvariant();
        WriteVerbose($"Layout ({Seconds(plan.LayoutTime)}): {modeName} image of {plan.TotalSize} bytes ({Formatting.Size(plan.TotalSize)}), format {Format}, block size {plan.BlockSize}" +
                     (mode == DaxFsImageMode.OverlayOnly ? "; no base (the root directory is in the overlay)"
                        : $"; base image {plan.BaseSize} bytes" + (mode == DaxFsImageMode.Split ? $" of metadata, file data in the backing file ({plan.BackingSize} bytes), {plan.PageCacheSlots} page cache slots" : $" holding {plan.DataBytes} bytes of file data")) +
                     (v8 ? (plan.OverlayBuckets == 0 ? "; no overlay (it mounts read-only)." : $"; an overlay pool of {plan.OverlayPoolSize} bytes ({Formatting.Size(plan.OverlayPoolSize)}) with {plan.OverlayBuckets} buckets.")
                        : mode == DaxFsImageMode.Static ? "; no branch table." : $"; a branch table and a delta region of {DeltaSize} bytes."));
        string action = $"Build {what} ({plan.InodeCount} inodes, {plan.TotalSize} bytes" +
                        (backing is null ? ")" : $", backing file '{backing}' of {plan.BackingSize} bytes)") +
                        (File.Exists(dest) ? ", replacing the existing file" : "");
        if (!ShouldProcess(dest, action)) return;

        foreach (var w in plan.Warnings) WriteWarning(NextSteps.Worded(w));
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
        catch (DaxFsBuildException ex) { WriteError(ToError(ex, source ?? dest)); return; }
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

    /// <summary>The first option given that belongs to the other format generation, as a parameter error that says which
    /// format has it; null when every option given fits <paramref name="v8"/>.</summary>
    private ErrorRecord? OptionOfOtherFormat(bool v8)
    {
        var bound = MyInvocation.BoundParameters;
        if (v8)
        {
            foreach (string name in new[] { nameof(Branching), nameof(DeltaSize) })
                if (bound.ContainsKey(name))
                    return Errors.Make(ErrorIds.OptionOfOtherFormat, ErrorCategory.InvalidArgument, name,
                        $"-{name} is a format-5 option: format 8 has no branches or delta region (kernels write to the image's shared overlay). " +
                        "Leave it out and give -BackingFile for a split image with an overlay (or -Empty for an overlay-only one), or build -Format 5 for branches.");
            return null;
        }
        foreach (string name in new[] { nameof(Empty), nameof(OverlayPoolSize), nameof(OverlayBuckets), nameof(PageSize) })
            if (bound.ContainsKey(name))
                return Errors.Make(ErrorIds.OptionOfOtherFormat, ErrorCategory.InvalidArgument, name,
                    $"-{name} is a format-8 option (format 5 has no overlay and always uses 4096-byte blocks): add -Format 8 to build a format-8 image for the current daxfs module.");
        return null;
    }

    /// <summary>The overlay option given (-OverlayPoolSize or -OverlayBuckets), or null.</summary>
    private string? OverlayOption() =>
        new[] { nameof(OverlayPoolSize), nameof(OverlayBuckets) }.FirstOrDefault(MyInvocation.BoundParameters.ContainsKey);

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
        return new ErrorRecord(NextSteps.Worded(ex), "DaxFsBuild." + ex.Kind, category, target);
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
