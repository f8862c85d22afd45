using System.Management.Automation;
using DaxFs.Core.Errors;
using DaxFs.Core.Export;
using DaxFs.Core.Format;
using DaxFs.Core.Linux;
using DaxFs.Core.Read;
using DaxFs.Internal;

namespace DaxFs.Commands;

/// <summary>Export-DaxFsItem: extracts files or a subtree of an image into a directory, without mounting.</summary>
[Cmdlet(VerbsData.Export, "DaxFsItem", DefaultParameterSetName = PathSet, SupportsShouldProcess = true)]
[OutputType(typeof(DaxFsExportedItem))]
public sealed class ExportDaxFsItemCommand : DaxFsImageCmdlet
{
    private const string PathSet = "Path";
    private const string ItemSet = "Item";

    [Parameter(Mandatory = true, Position = 0, ParameterSetName = PathSet)]
    [Alias("ImagePath")]
    [SupportsWildcards]
    public DaxFsImageSource[] Image { get; set; } = Array.Empty<DaxFsImageSource>();

    /// <summary>Paths inside the image; a directory's contents go into the destination, a file goes into it by name. Default: / (everything).</summary>
    [Parameter(Position = 1, ParameterSetName = PathSet)]
    [ArgumentCompleter(typeof(ImageItemPathCompleter))]
    public string[] Path { get; set; } = { "/" };

    /// <summary>Items from Get-DaxFsItem.</summary>
    [Parameter(Mandatory = true, ParameterSetName = ItemSet, ValueFromPipeline = true)]
    public DaxFsItem InputObject { get; set; } = null!;

    /// <summary>The directory to write into (created when missing).</summary>
    [Parameter(Mandatory = true)]
    [ValidateNotNullOrEmpty]
    public string Destination { get; set; } = string.Empty;

    /// <summary>For split images: the backing file with the regular-file data.</summary>
    [Parameter]
    public string? BackingFile { get; set; }

    /// <summary>Replace files and symlinks that already exist in the destination.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>Extract what this branch shows (its chain's logs replayed over the base image). Items from Get-DaxFsItem -Branch carry their branch.</summary>
    [Parameter]
    [ArgumentCompleter(typeof(BranchNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string? Branch { get; set; }

    /// <summary>
    /// Keep each item's path inside the image under the destination, as unsquashfs -d DEST IMAGE PATH does: /etc/ssh/sshd_config
    /// goes to DEST/etc/ssh/sshd_config. Without it a file goes into the destination by name (and a directory as itself).
    /// </summary>
    [Parameter]
    public SwitchParameter KeepPath { get; set; }

    /// <summary>Output one object per item written.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        string dest = GetUnresolvedProviderPathFromPSPath(Destination);
        if (ParameterSetName == ItemSet)
        {
            string? branch = Branch ?? InputObject.Branch;
            var tree = OpenTree(InputObject.ImagePath, BackingFile is null ? null : ResolveFileSystemPath(BackingFile), branch);
            if (tree is not null) Run(tree, InputObject.ImagePath, InputObject.FullName, InputObject.FullNameBytes, dest);
            return;
        }
        foreach (var source in Image)
        foreach (var imagePath in ResolveImagePaths(source))
        {
            var tree = OpenTree(imagePath, BackingFile is null ? source.BackingFile : ResolveFileSystemPath(BackingFile), Branch);
            if (tree is null) continue;
            foreach (var p in Path) Run(tree, imagePath, DaxFsImageReader.NormalizePath(p), System.Text.Encoding.UTF8.GetBytes(p.Replace('\\', '/')), dest);
        }
    }

    private void Run(IImageTree tree, string imagePath, string path, byte[] rawPath, string dest)
    {
        // Symlinks before the last component are followed as the kernel does; a last one is exported as the link it is.
        var resolved = PathResolver.Resolve(tree, rawPath, followLast: false);
        if (resolved.Item is null)
        {
            WriteError(Errors.PathNotResolved(imagePath, path, resolved));
            return;
        }
        var start = resolved.Item;
        path = start.FullName;
        if (KeepPath && resolved.Item.ParentPath is { Length: > 1 } parent)
            dest = System.IO.Path.Join(dest, parent);
        // A split image's file bytes are in its backing file: without it the export would stop at the first file. Checked
        // before -WhatIf's line too, as the real run would fail.
        if (tree.Reader.HasExternalData && tree.Reader.BackingFile is null)
        {
            WriteError(Errors.Make(ErrorIds.BackingFileRequired, ErrorCategory.ResourceUnavailable, imagePath,
                $"'{imagePath}' is a split image: its file data is in a backing file. Pass it with -BackingFile, or pipe in Get-DaxFsImage '{imagePath}' -BackingFile FILE."));
            return;
        }
        string branchNote = tree.BranchName is null ? "" : $" (branch '{tree.BranchName}')";
        if (!ShouldProcess(dest, $"Extract '{path}' of '{imagePath}'{branchNote}")) return;
        var exporter = new ImageExporter(tree, new ExportOptions { Overwrite = Force, Unreachable = p => WarnUnreachable(imagePath, tree.BranchName, p) });
        var activity = $"Export-DaxFsItem {imagePath}{(path == "/" ? "" : ":" + path)}";
        // The totals, from the metadata alone (a walk reads no file data), so the progress can say how far it is.
        long totalItems = 0, totalBytes = 0;
        try { (totalItems, totalBytes) = Measure(tree, start); }
        catch (DaxFsFormatException) { } // the export meets it too, and reports it once
        catch (OperationCanceledException) when (Cancellation.IsCancellationRequested) { return; }
        var throttle = new ProgressThrottle();
        var progress = new Progress(p =>
        {
            if (!throttle.Due()) return;
            int percent = totalBytes > 0 ? (int)(100 * Math.Min(p.BytesDone, totalBytes) / totalBytes)
                : totalItems > 0 ? (int)(100 * Math.Min(p.ItemsDone, totalItems) / totalItems) : 0;
            WriteProgress(new ProgressRecord(2, activity, $"{p.ItemsDone} of {totalItems} items, {Formatting.Size(p.BytesDone)} of {Formatting.Size(totalBytes)}")
            {
                CurrentOperation = p.CurrentPath,
                PercentComplete = Math.Clamp(percent, 0, 100),
            });
        });
        // SIGTERM and SIGHUP stop the export as Ctrl+C does (the file being written is removed) before the process ends.
        using var signals = TerminationSignals.CancelOn(Cancellation);
        Guard(imagePath, () =>
        {
            try
            {
                foreach (var item in exporter.Export(start, dest, progress, Cancellation.Token))
                    if (PassThru) WriteObject(DaxFsExportedItem.From(item));
            }
            catch (DaxFsExportException ex)
            {
                var category = ex.Kind switch
                {
                    ExportFailure.PermissionDenied => ErrorCategory.PermissionDenied,
                    ExportFailure.AlreadyExists => ErrorCategory.ResourceExists,
                    ExportFailure.WriteFailed => ErrorCategory.WriteError,
                    _ => ErrorCategory.InvalidData,
                };
                var shown = NextSteps.Text(ex.NextStep) is { } next ? ex.WithNextStep(next) : ex;
                WriteError(new ErrorRecord(shown, ErrorIds.ExportFailed, category, ex.PathInImage ?? ex.Destination ?? path));
            }
            finally
            {
                WriteProgress(new ProgressRecord(2, activity, "Done") { RecordType = ProgressRecordType.Completed });
            }
        });
        if (signals.Received is not null) throw new PipelineStoppedException();
    }

    /// <summary>
    /// Entries below <paramref name="start"/> (itself included) and the bytes the export writes for them (file data and
    /// symlink targets, a hard-linked file once), from the metadata only; each directory once.
    /// </summary>
    private (long Items, long Bytes) Measure(IImageTree tree, ImageItem start)
    {
        var files = new HashSet<ulong>();
        long Bytes(ImageItem i) =>
            i.Type is DaxFsItemType.File or DaxFsItemType.SymbolicLink && files.Add(i.Ino) ? (long)Math.Min(i.Inode.Size, long.MaxValue / 4) : 0;
        long items = 1, bytes = Bytes(start);
        if (start.Type != DaxFsItemType.Directory) return (items, bytes);
        var seen = new HashSet<ulong> { start.Ino };
        var pending = new Stack<ulong>();
        pending.Push(start.Ino);
        while (pending.Count > 0)
        {
            foreach (var e in tree.ListDirectory(pending.Pop(), "", 0))
            {
                Cancellation.Token.ThrowIfCancellationRequested();
                if (e.Unreachable) continue;
                items++;
                bytes += Bytes(e);
                if (e.Type == DaxFsItemType.Directory && seen.Add(e.Ino)) pending.Push(e.Ino);
            }
        }
        return (items, bytes);
    }

    /// <summary>Reports on the pipeline thread (the export runs on it).</summary>
    private sealed class Progress(Action<ExportProgress> report) : IProgress<ExportProgress>
    {
        public void Report(ExportProgress value) => report(value);
    }
}
