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

    /// <summary>Stop collecting (and stop working) once this many findings have been made.</summary>
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
