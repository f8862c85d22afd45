using System.Management.Automation;
using DaxFs.Core.Branches;
using DaxFs.Core.Format;
using DaxFs.Internal;

namespace DaxFs.Commands;

/// <summary>Compare-DaxFsBranch: what a branch changed against its parent, offline, as the kernel shows both.</summary>
[Cmdlet(VerbsData.Compare, "DaxFsBranch")]
[OutputType(typeof(DaxFsBranchChange))]
public sealed class CompareDaxFsBranchCommand : DaxFsImageCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("FullName", "ImagePath")]
    [SupportsWildcards]
    public DaxFsImageSource[] Image { get; set; } = Array.Empty<DaxFsImageSource>();

    /// <summary>The branch whose changes to list (compared with its parent; main with the base image).</summary>
    [Parameter(Mandatory = true, Position = 1)]
    [ArgumentCompleter(typeof(BranchNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string Branch { get; set; } = string.Empty;

    /// <summary>Only these kinds of change.</summary>
    [Parameter]
    public BranchChangeKind[]? Change { get; set; }

    [Parameter]
    public string? BackingFile { get; set; }

    protected override void ProcessRecord()
    {
        foreach (var source in Image)
        foreach (var imagePath in ResolveImagePaths(source))
        {
            if (OpenTree(imagePath, BackingFile is null ? source.BackingFile : ResolveFileSystemPath(BackingFile), Branch) is not BranchView view) continue;
            string? parent = view.Chain.Count > 1 ? view.Chain[1].Name : null;
            WriteVerbose($"Comparing branch '{Branch}' of '{imagePath}' with {(parent is null ? "the base image" : $"its parent '{parent}'")}.");
            Guard(imagePath, () =>
            {
                foreach (var c in BranchComparer.Compare(view, Cancellation.Token))
                {
                    if (Change is not null && Array.IndexOf(Change, c.Change) < 0) continue;
                    WriteObject(new DaxFsBranchChange
                    {
                        Path = c.Path, Change = c.Change.ToString(), Type = c.Type.ToString(), Details = c.Details, Branch = Branch, Parent = parent, ImagePath = imagePath,
                        Before = c.Before is null ? null : DaxFsItem.From(c.Before, imagePath, parent),
                        After = c.After is null ? null : DaxFsItem.From(c.After, imagePath, Branch),
                    });
                }
            });
        }
    }
}
