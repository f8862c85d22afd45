using System.Management.Automation;
using DaxFs.Core.Format;
using DaxFs.Core.Read;
using DaxFs.Core.Validate;
using DaxFs.Internal;

namespace DaxFs.Commands;

/// <summary>Test-DaxFsImage: every kernel rule and DaxFs's own, over any bytes.</summary>
[Cmdlet(VerbsDiagnostic.Test, "DaxFsImage")]
[OutputType(typeof(bool), typeof(DaxFsValidationFinding))]
public sealed class TestDaxFsImageCommand : DaxFsImageCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Path", "FullName", "ImagePath", "LiteralPath")]
    [SupportsWildcards]
    public DaxFsImageSource[] Image { get; set; } = Array.Empty<DaxFsImageSource>();

    /// <summary>One object per finding instead of $true/$false.</summary>
    [Parameter]
    public SwitchParameter Detailed { get; set; }

    /// <summary>Fail on any warning too, except the kernel-validate-only bookkeeping every image has (ImageValidator.PassesStrict).</summary>
    [Parameter]
    public SwitchParameter Strict { get; set; }

    /// <summary>For split images: the backing file, so regular-file data bounds are checked too.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? BackingFile { get; set; }

    protected override void ProcessRecord()
    {
        foreach (var source in Image)
        {
            string? backing = BackingFile is not null ? ResolveFileSystemPath(BackingFile) : source.BackingFile;
            foreach (var path in ResolveImagePaths(source))
            {
                IReadOnlyList<ValidationFinding> findings;
                try
                {
                    using var memory = MappedFileImageMemory.Open(path);
                    long? backingLength = backing is not null && File.Exists(backing) ? new FileInfo(backing).Length : null;
                    findings = ImageValidator.Validate(memory, new ValidationOptions
                    {
                        BackingFileLength = backingLength,
                        CancellationToken = Cancellation.Token,
                    });
                }
                catch (ImageSourceException ex) { WriteError(Errors.NotAnImageFile(ex)); continue; }
                catch (DaxFsFormatException ex) { WriteError(Errors.InvalidImage(ex, path)); continue; }
                catch (FileNotFoundException ex) { WriteError(Errors.ImageNotFound(path, ex)); continue; }
                catch (DirectoryNotFoundException ex) { WriteError(Errors.ImageNotFound(path, ex)); continue; }
                catch (OperationCanceledException) { return; }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { WriteError(Errors.ImageUnreadable(path, ex)); continue; }

                if (Detailed)
                {
                    foreach (var f in findings) WriteObject(DaxFsValidationFinding.From(f, path));
                }
                else
                {
                    foreach (var f in findings)
                        WriteVerbose($"{path}: {f.Severity} {f.RuleId} at 0x{Math.Max(f.Offset, 0):x}: {f.Message}");
                    bool ok = Strict ? ImageValidator.PassesStrict(findings) : ImageValidator.IsSafe(findings);
                    WriteObject(Verdict(ok, path, findings));
                }
            }
        }
    }

    /// <summary>The type name of a verdict: the [bool] with the image's path (a view shows which image each is for).</summary>
    public const string VerdictTypeName = "DaxFs.DaxFsImageVerdict";

    /// <summary>
    /// The verdict as a [bool] (so <c>if (Test-DaxFsImage x)</c> and <c>-eq $true</c> keep working) that also says which image
    /// it is for: ImagePath, Errors and Warnings note properties, shown by the DaxFsImageVerdict view.
    /// </summary>
    private static PSObject Verdict(bool ok, string path, IReadOnlyList<ValidationFinding> findings)
    {
        var verdict = new PSObject(ok);
        verdict.TypeNames.Insert(0, VerdictTypeName);
        verdict.Properties.Add(new PSNoteProperty("ImagePath", path));
        verdict.Properties.Add(new PSNoteProperty("Errors", findings.Count(f => f.Severity == FindingSeverity.Error)));
        verdict.Properties.Add(new PSNoteProperty("Warnings", findings.Count(f => f.Severity != FindingSeverity.Error)));
        return verdict;
    }
}