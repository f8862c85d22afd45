using System.Globalization;
using System.Text;
using DaxFs.Core.Errors;
using DaxFs.Core.Format;
using DaxFs.Core.Linux;
using DaxFs.Core.Read;
using DaxFs.Core.Validate;

namespace DaxFs.Core.Operations;

/// <summary>
/// The mount safety gate: runs every validator rule (<see cref="ImageValidator"/>) on the image in the target's memory
/// and refuses the mount on any <see cref="FindingSeverity.Error"/> finding, since without its <c>validate</c> option the
/// kernel trusts the image (a region past the end, an inode table or directory outside the memory, a branch log out of
/// place crash it), and its <c>validate</c> option refuses every real image. <see cref="DaxFsMounter"/> runs it by default.
/// </summary>
/// <remarks>
/// The window validated is the memory the kernel maps (the mount's size= or the dma-buf), so everything the kernel can
/// dereference is inside it; a region inside that window but past total_size is not reported (the kernel maps it).
/// An image file that passes Test-DaxFsImage passes the gate once written: a larger window never adds an error. Split
/// images are validated with the length of the backing file given to the mount; without one, regular-file extents are
/// not checked (one <see cref="RuleIds.ExternalData"/> warning). The validator reads only through
/// <see cref="ImageMemory.Span"/> (bounds-checked) and its work is bounded by the metadata that fits in the window.
/// </remarks>
public sealed class ImageValidationCheck : IDaxFsMountCheck
{
    /// <summary>The error id of the refusal.</summary>
    public const string ErrorId = ErrorIds.ImageFailsValidation;

    /// <summary>Findings spelled out in the refusal's message (the rest are counted, and all are in the exception).</summary>
    public int ListedFindings { get; init; } = 5;

    public IReadOnlyList<ValidationFinding> Check(ImageMemory image, DaxFsMountPlan plan, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(plan);
        long? backing = null;
        if (plan.Request.BackingFile is { } path)
        {
            try { backing = new FileInfo(path).Length; }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { backing = null; }
        }
        var findings = ImageValidator.Validate(image, new ValidationOptions
        {
            BackingFileLength = backing,
            CancellationToken = cancellationToken,
        });
        var errors = findings.Where(f => f.Severity == FindingSeverity.Error).ToList();
        if (errors.Count > 0)
            throw new DaxLinuxException(DaxErrorKind.ImageInvalid, ErrorId,
                Describe(plan.Request.Target.Description, errors, ListedFindings, findings.FirstOrDefault(f => f.RuleId == RuleIds.FindingsTruncated)),
                plan.Request.Target.Description, Errno.EINVAL)
            { Findings = findings, NextStep = NextStep.ValidateRebuildOrSkip };
        return findings;
    }

    /// <summary>The refusal's message: how many errors, which rules, the first few with offsets, what was counted but not
    /// kept (<paramref name="truncated"/>, a <see cref="RuleIds.FindingsTruncated"/> finding). What to do is the exception's
    /// <see cref="NextStep"/>.</summary>
    public static string Describe(string target, IReadOnlyList<ValidationFinding> errors, int listed, ValidationFinding? truncated = null)
    {
        var rules = errors.Select(e => e.RuleId).Distinct(StringComparer.Ordinal).ToList();
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture,
            $"The image in {target} fails validation with {errors.Count} error{(errors.Count == 1 ? "" : "s")} ({string.Join(", ", rules)}). ");
        sb.Append("The kernel mounts without checking the structure, so such an image could crash it or show wrong data; DaxFs refuses to mount it. ");
        foreach (var e in errors.Take(Math.Max(0, listed)))
            sb.Append(CultureInfo.InvariantCulture, $"{e.RuleId} at 0x{Math.Max(e.Offset, 0):x}: {e.Message.TrimEnd('.')}. ");
        if (errors.Count > listed) sb.Append(CultureInfo.InvariantCulture, $"({errors.Count - listed} more.) ");
        if (truncated is not null) sb.Append(CultureInfo.InvariantCulture, $"{truncated.RuleId}: {truncated.Message} ");
        return sb.ToString().TrimEnd();
    }
}
