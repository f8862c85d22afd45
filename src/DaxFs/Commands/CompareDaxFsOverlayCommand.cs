using System.Management.Automation;
using DaxFs.Core.Branches;
using DaxFs.Core.Overlay;
using DaxFs.Internal;

namespace DaxFs.Commands;

/// <summary>Compare-DaxFsOverlay: what the overlay of a format-8 image changed against its base, offline, as a mount shows it.</summary>
[Cmdlet(VerbsData.Compare, "DaxFsOverlay")]
[OutputType(typeof(DaxFsOverlayChange))]
public sealed class CompareDaxFsOverlayCommand : DaxFsImageCmdlet
{
    /// <summary>The images (files, device nodes, daxfs mount points or dma-bufs); each is compared with its own base.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Path", "FullName", "ImagePath", "LiteralPath")]
    [SupportsWildcards]
    public DaxFsImageSource[] Image { get; set; } = Array.Empty<DaxFsImageSource>();

    /// <summary>Only these kinds of change.</summary>
    [Parameter]
    public BranchChangeKind[]? Change { get; set; }

    /// <summary>For split images: the backing file with the base's regular-file data (without it, file content is compared by size only).</summary>
    [Parameter]
    public string? BackingFile { get; set; }

    protected override void ProcessRecord()
    {
        foreach (var source in Image)
        foreach (var imagePath in ResolveImagePaths(source))
        {
            var reader = OpenImage(imagePath, BackingFile is null ? source.BackingFile : ResolveFileSystemPath(BackingFile));
            if (reader is null || !GetDaxFsOverlayCommand.HasOverlay(this, reader, imagePath)) continue;
            if (OpenMountedTree(imagePath, reader) is not OverlayView view) continue;
            WriteVerbose(reader.HasBase ? $"Comparing the overlay of '{imagePath}' with its base." : $"'{imagePath}' has no base: every path is the overlay's.");
            Guard(imagePath, () =>
            {
                foreach (var c in BranchComparer.Compare(reader.HasBase ? reader : null, view, Cancellation.Token))
                {
                    if (Change is not null && Array.IndexOf(Change, c.Change) < 0) continue;
                    WriteObject(new DaxFsOverlayChange
                    {
                        Path = c.Path, Change = c.Change, Type = c.Type, Details = c.Details, ImagePath = imagePath,
                        Before = c.Before is null ? null : DaxFsItem.From(c.Before, imagePath),
                        After = c.After is null ? null : DaxFsItem.From(c.After, imagePath),
                    });
                }
            });
        }
    }
}
