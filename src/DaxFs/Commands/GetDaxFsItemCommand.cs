using DaxFs.Core.Errors;
using System.Management.Automation;
using DaxFs.Core.Format;
using DaxFs.Core.Read;
using DaxFs.Internal;

namespace DaxFs.Commands;

/// <summary>Get-DaxFsItem: the entries of an image as objects, like Get-ChildItem over a mounted image.</summary>
[Cmdlet(VerbsCommon.Get, "DaxFsItem")]
[OutputType(typeof(DaxFsItem))]
public sealed class GetDaxFsItemCommand : DaxFsImageCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("FullName", "ImagePath")]
    [SupportsWildcards]
    public DaxFsImageSource[] Image { get; set; } = Array.Empty<DaxFsImageSource>();

    /// <summary>Paths inside the image (default: the root). A directory lists its children; a file lists itself.</summary>
    [Parameter(Position = 1)]
    [ArgumentCompleter(typeof(ImageItemPathCompleter))]
    public string[] Path { get; set; } = { "/" };

    [Parameter]
    public SwitchParameter Recurse { get; set; }

    /// <summary>How many levels below each path to list (implies -Recurse); 0 lists only direct children.</summary>
    [Parameter]
    [ValidateRange(0, int.MaxValue)]
    public int Depth { get; set; } = -1;

    /// <summary>Only entries whose name matches this wildcard pattern (directories are still searched).</summary>
    [Parameter]
    [SupportsWildcards]
    public string? Filter { get; set; }

    /// <summary>Only entries of these types.</summary>
    [Parameter]
    public DaxFsItemType[]? Type { get; set; }

    [Parameter]
    public string? BackingFile { get; set; }

    /// <summary>Show this branch's view: its chain's delta logs replayed over the base image, as a mount of the branch shows it.</summary>
    [Parameter]
    [ArgumentCompleter(typeof(BranchNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string? Branch { get; set; }

    protected override void ProcessRecord()
    {
        var pattern = Filter is null ? null : new WildcardPattern(Filter, WildcardOptions.CultureInvariant);
        bool recurse = Recurse.IsPresent || Depth >= 0;
        int depth = Depth >= 0 ? Depth : int.MaxValue;
        foreach (var source in Image)
        foreach (var imagePath in ResolveImagePaths(source))
        {
            string? backing = BackingFile is null ? source.BackingFile : ResolveFileSystemPath(BackingFile);
            var tree = OpenTree(imagePath, backing, Branch);
            if (tree is null) continue;
            foreach (var p in Path)
            {
                Guard(imagePath, () =>
                {
                    // Symlinks before the last component are followed as the kernel does; the last one is listed itself (like ls -ld).
                    var resolved = PathResolver.Resolve(tree, System.Text.Encoding.UTF8.GetBytes(p.Replace('\\', '/')), followLast: false);
                    if (resolved.Item is null)
                    {
                        WriteError(Errors.PathNotResolved(imagePath, DaxFsImageReader.NormalizePath(p), resolved));
                        return;
                    }
                    string inside = resolved.Item.FullName;
                    if (resolved.Item.HasRawPath)
                    {
                        // Reached through a link whose target is not UTF-8: the walk takes text paths, so list what the bytes name.
                        if (resolved.Item.Type != DaxFsItemType.Directory)
                        {
                            WriteObject(DaxFsItem.From(resolved.Item, imagePath, Branch));
                            return;
                        }
                        WriteError(Errors.Make(ErrorIds.PathNotUtf8, ErrorCategory.InvalidArgument, inside,
                            $"'{p}' in '{imagePath}' leads to the directory '{inside}', whose path is not UTF-8, so it cannot be listed by path. " +
                            "Get-DaxFsItem -Recurse on its parent lists it, each item keeping its raw path for Get-DaxFsContent and Export-DaxFsItem."));
                        return;
                    }
                    foreach (var item in ReadAhead.Of(tree.Walk(inside, recurse, depth, Cancellation.Token), cancellationToken: Cancellation.Token))
                    {
                        if (item.Unreachable)
                        {
                            WarnUnreachable(imagePath, Branch, item.FullName);
                            continue;
                        }
                        if (pattern is not null && !pattern.IsMatch(item.Name)) continue;
                        if (Type is not null && Array.IndexOf(Type, item.Type) < 0) continue;
                        WriteObject(DaxFsItem.From(item, imagePath, Branch));
                    }
                });
            }
        }
    }
}
