using DaxFs.Core.Format;

namespace DaxFs.Core.Validate;

/// <summary>Options of <see cref="ImageValidator.Validate"/>.</summary>
public sealed class ValidationOptions
{
    /// <summary>
    /// Split images: the length of the backing file holding regular-file data, to bound those files' extents.
    /// Null: not checked (one <see cref="RuleIds.ExternalData"/> warning says so).
    /// </summary>
    public long? BackingFileLength { get; init; }

    /// <summary>Check the branch table and walk the delta logs of active, committed and aborted branches (the kernel can load each).</summary>
    public bool CheckBranches { get; init; } = true;

    /// <summary>
    /// The most findings kept for the result (at least 1). Every rule still runs over the whole image; errors are kept
    /// before warnings, so the verdict over the kept list is the verdict over all findings, and when some were not kept
    /// the list ends with a <see cref="RuleIds.FindingsTruncated"/> finding that counts them by rule.
    /// </summary>
    public int MaxFindings { get; init; } = 1000;

    /// <summary>
    /// Format 8: the page size of the machine that will mount the image (the kernel refuses a block_size that differs).
    /// Default: this machine's.
    /// </summary>
    public int PageSize { get; init; } = Environment.SystemPageSize;

    /// <summary>Cancels a long validation with <see cref="OperationCanceledException"/>.</summary>
    public CancellationToken CancellationToken { get; init; }

    /// <summary>
    /// Fuzzing and tests: rethrow instead of reporting when a read escapes the validator's own bounds checks
    /// (the safety net in <see cref="ImageValidator"/> otherwise turns it into a finding, which would hide the
    /// missing check).
    /// </summary>
    internal bool ThrowOnMissedBoundsCheck { get; init; }
}
