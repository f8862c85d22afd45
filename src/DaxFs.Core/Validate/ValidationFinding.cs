using DaxFs.Core.Format;

namespace DaxFs.Core.Validate;

/// <summary>
/// One problem the validator found. <see cref="Severity"/> and <see cref="Kernel"/> come from the rule
/// catalogue (<see cref="RuleIds.Get"/>); <see cref="Offset"/> is the absolute offset in the image of the
/// offending field or record; <see cref="Inode"/> is set when the finding is about one inode.
/// </summary>
public sealed record ValidationFinding(string RuleId, FindingSeverity Severity, KernelVerdict Kernel, long Offset, uint? Inode, string Message)
{
    /// <summary>
    /// How many occurrences this finding stands for: 1 for a finding about one thing; for a
    /// <see cref="Bookkeeping"/> summary, the inodes it covers (Offset and Inode are the first one's); for
    /// <see cref="RuleIds.FindingsTruncated"/>, the findings that were counted but not kept.
    /// </summary>
    public long Count { get; init; } = 1;

    /// <summary>
    /// True for the one summary per rule of the bookkeeping that only the kernel's <c>validate</c> mount option refuses
    /// and that it refuses for every image: the root's link count (no dirent names the root), directories' usual link
    /// count (2 plus their subdirectories), mkdaxfs's empty hard-link slots, split files' backing-file extents. Such
    /// findings never make an image unsafe, and <see cref="ImageValidator.PassesStrict"/> ignores them.
    /// </summary>
    public bool Bookkeeping { get; init; }
}

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

    /// <summary>Cancels a long validation with <see cref="OperationCanceledException"/>.</summary>
    public CancellationToken CancellationToken { get; init; }

    /// <summary>
    /// Fuzzing and tests: rethrow instead of reporting when a read escapes the validator's own bounds checks
    /// (the safety net in <see cref="ImageValidator"/> otherwise turns it into a finding, which would hide the
    /// missing check).
    /// </summary>
    internal bool ThrowOnMissedBoundsCheck { get; init; }
}
