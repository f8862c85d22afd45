using System.Management.Automation;
using DaxFs.Internal;

namespace DaxFs.Commands;

/// <summary>Get-DaxFsImage: the superblock summary of one or more images.</summary>
[Cmdlet(VerbsCommon.Get, "DaxFsImage")]
[OutputType(typeof(DaxFsImage))]
public sealed class GetDaxFsImageCommand : DaxFsImageCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Path", "FullName", "ImagePath", "LiteralPath")]
    [SupportsWildcards]
    public DaxFsImageSource[] Image { get; set; } = Array.Empty<DaxFsImageSource>();

    /// <summary>For split images: the backing file with the regular-file data.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? BackingFile { get; set; }

    protected override void ProcessRecord()
    {
        foreach (var source in Image)
        {
            string? backing = BackingFile is null ? source.BackingFile : ResolveFileSystemPath(BackingFile);
            foreach (var path in ResolveImagePaths(source))
            {
                var reader = OpenImage(path, backing);
                if (reader is null) continue;
                WriteObject(DaxFsImage.From(reader, path));
            }
        }
    }
}
