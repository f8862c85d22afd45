namespace DaxFs.Core.Format;

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
    /// findings never make an image unsafe, and the validator's strict verdict (<c>PassesStrict</c>) ignores them.
    /// </summary>
    public bool Bookkeeping { get; init; }
}
