using System.Management.Automation;
using DaxFs.Core.Format;
using DaxFs.Core.Read;
using DaxFs.Internal;

namespace DaxFs.Commands;

/// <summary>Measure-DaxFsImage: where the bytes of an image go (unsquashfs -s, dump.erofs -s), and its largest files and directories.</summary>
[Cmdlet(VerbsDiagnostic.Measure, "DaxFsImage")]
[OutputType(typeof(DaxFsImageSpace))]
public sealed class MeasureDaxFsImageCommand : DaxFsImageCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Path", "FullName", "ImagePath", "LiteralPath")]
    [SupportsWildcards]
    public DaxFsImageSource[] Image { get; set; } = Array.Empty<DaxFsImageSource>();

    /// <summary>For split images: the backing file with the regular-file data.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? BackingFile { get; set; }

    /// <summary>How many of the largest files and directories to list.</summary>
    [Parameter]
    [ValidateRange(0, 100_000)]
    public int Top { get; set; } = 10;

    protected override void ProcessRecord()
    {
        foreach (var source in Image)
        {
            string? backing = BackingFile is null ? source.BackingFile : ResolveFileSystemPath(BackingFile);
            foreach (var path in ResolveImagePaths(source))
            {
                var reader = OpenImage(path, backing);
                Guard(path, () =>
                {
                    var report = ImageSpace.Measure(reader, Top, Cancellation.Token);
                    WriteObject(DaxFsImageSpace.From(report, path, reader.Mode));
                });
            }
        }
    }
}
