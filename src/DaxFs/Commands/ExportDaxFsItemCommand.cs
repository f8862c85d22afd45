using System.Management.Automation;
using DaxFs.Core.Errors;
using DaxFs.Core.Export;
using DaxFs.Core.Format;
using DaxFs.Core.Read;
using DaxFs.Internal;

namespace DaxFs.Commands;

/// <summary>Export-DaxFsItem: extracts files or a subtree of an image into a directory, without mounting.</summary>
[Cmdlet(VerbsData.Export, "DaxFsItem", DefaultParameterSetName = PathSet, SupportsShouldProcess = true)]
[OutputType(typeof(ExportedItem))]
public sealed class ExportDaxFsItemCommand : DaxFsImageCmdlet
{
    private const string PathSet = "Path";
    private const string ItemSet = "Item";

    [Parameter(Mandatory = true, Position = 0, ParameterSetName = PathSet)]
    [Alias("ImagePath")]
    public DaxFsImageSource Image { get; set; } = null!;

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
            if (tree is not null) Run(tree, InputObject.ImagePath, InputObject.FullName, dest);
            return;
        }
        foreach (var imagePath in ResolveImagePaths(Image))
        {
            var tree = OpenTree(imagePath, BackingFile is null ? Image.BackingFile : ResolveFileSystemPath(BackingFile), Branch);
            if (tree is null) continue;
            foreach (var p in Path) Run(tree, imagePath, DaxFsImageReader.NormalizePath(p), dest);
        }
    }

    private void Run(IImageTree tree, string imagePath, string path, string dest)
    {
        if (!tree.TryLookup(path, out _))
        {
            WriteError(Errors.ItemNotFound(imagePath, path));
            return;
        }
        string branchNote = tree.BranchName is null ? "" : $" (branch '{tree.BranchName}')";
        if (!ShouldProcess(dest, $"Extract '{path}' of '{imagePath}'{branchNote}")) return;
        var exporter = new ImageExporter(tree, new ExportOptions { Overwrite = Force, Unreachable = p => WarnUnreachable(imagePath, tree.BranchName, p) });
        var activity = $"Export-DaxFsItem {imagePath}{(path == "/" ? "" : ":" + path)}";
        var throttle = new ProgressThrottle();
        var progress = new Progress(p =>
        {
            if (!throttle.Due()) return;
            WriteProgress(new ProgressRecord(2, activity, $"{p.ItemsDone} items, {Formatting.Size(p.BytesDone)}") { CurrentOperation = p.CurrentPath });
        });
        Guard(imagePath, () =>
        {
            try
            {
                foreach (var item in exporter.Export(path, dest, progress, Cancellation.Token))
                    if (PassThru) WriteObject(item);
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
                WriteError(new ErrorRecord(ex, ErrorIds.ExportFailed, category, ex.PathInImage ?? ex.Destination ?? path));
            }
            finally
            {
                WriteProgress(new ProgressRecord(2, activity, "Done") { RecordType = ProgressRecordType.Completed });
            }
        });
    }

    /// <summary>Reports on the pipeline thread (the export runs on it).</summary>
    private sealed class Progress(Action<ExportProgress> report) : IProgress<ExportProgress>
    {
        public void Report(ExportProgress value) => report(value);
    }
}
