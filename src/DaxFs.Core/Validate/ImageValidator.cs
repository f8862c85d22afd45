using DaxFs.Core.Format;
using DaxFs.Core.Read;

namespace DaxFs.Core.Validate;

/// <summary>
/// Checks an image against every rule of <see cref="RuleIds"/>: the checks of the kernel's <c>validate</c> mount
/// option plus DaxFs's own (truncation, names, tree shape, the 272-byte dirent stride, branches, delta logs).
/// </summary>
/// <remarks>
/// <para>Never throws for any bytes (only <see cref="OperationCanceledException"/>): every offset and size taken
/// from the image is compared in 128-bit arithmetic, every read goes through <see cref="ImageMemory.Span"/> after
/// a bounds check, and all work is bounded by what physically fits in the image (a directory whose dirent array
/// is not in the image is reported once and skipped; directories whose arrays overlap are reported and skipped,
/// so no dirent is read twice; symlink targets are scanned for their NUL in one ascending sweep).</para>
/// <para>Facts taken from the reference kernel module (read for facts only):</para>
/// <list type="bullet">
/// <item>A branch record's <c>delta_log_offset</c> is an <b>absolute</b> image offset, not one relative to the delta
/// region: the kernel maps a branch's log by handing that value straight to its offset-to-pointer helper
/// (branch.c), and new logs get their offset from the delta allocator, which starts at the superblock's
/// <c>delta_alloc_offset</c> (itself absolute, equal to <c>delta_region_offset</c> in a fresh image) and bumps it
/// (dax_mem.c). The allocator checks only the region's end, never its start, hence
/// <see cref="RuleIds.DeltaAllocOffset"/>.</item>
/// <item>The kernel stops scanning a delta log at an entry whose total_size is 0 (delta.c); the validator does the
/// same and reports nothing for it (it is how an allocated but never written entry looks), nor for a tail of fewer
/// than 24 zero bytes. The kernel bounds entries by the log's capacity; the validator, more strictly, by its used
/// size. Live branches' logs must not overlap (each gets its own allocation); an overlapping one is reported
/// under <see cref="RuleIds.BranchLogBounds"/> and not walked again.</item>
/// <item>An aborted branch's name is cleared by the kernel, so an empty name is accepted for ABORTED records.</item>
/// <item>Data bounds use the base image's own total_size; the inode-table bound uses the superblock's
/// base_size (validate.c). The kernel applies the data bound to regular files in split mode too, although their
/// offsets point into the backing file: <see cref="RuleIds.SplitDataKernelBounds"/>.</item>
/// <item>The kernel reads regular files through the page cache whenever a page cache region exists, whatever the
/// base image's external-data flag says (file.c): <see cref="RuleIds.SplitModeMismatch"/>. It uses the page cache
/// header's own slot_count and slot offsets, not the superblock's: <see cref="RuleIds.PageCacheLayout"/>.</item>
/// <item>The kernel's root is always inode 1 (DAXFS_ROOT_INO, super.c); it never reads the base image's root_inode
/// except under <c>validate</c>: <see cref="RuleIds.RootNotInodeOne"/>.</item>
/// <item>A symlink's target is a pointer into the image (inode.c; a delta-log SYMLINK entry's target in the log) that
/// readlink hands to strlen: <see cref="RuleIds.SymlinkEmpty"/>, <see cref="RuleIds.DeltaSymlinkTermination"/>. The
/// kernel loads aborted branches too (by name, and as parents), so their logs are walked like live ones.</item>
/// </list>
/// <para>Kernel rules are evaluated for every inode (the kernel stops at the first failure). DaxFs's own inode
/// rules (<see cref="RuleIds.InodeNumber"/>, data bounds, <see cref="RuleIds.TreeUnreachable"/>) are not applied
/// to an inode of no known type. An all-zero record that no dirent names, as mkdaxfs leaves for each extra name of a
/// hard-linked file, is <see cref="RuleIds.InodeEmptySlot"/> (a warning: the kernel only reads inodes that dirents
/// name); named by a dirent, or when not every directory could be read, it is <see cref="RuleIds.InodeType"/>. When some directory's entries could not be read, <see cref="RuleIds.NlinkMismatch"/> and
/// <see cref="RuleIds.TreeUnreachable"/> are not evaluated, since the counts would be wrong; without a valid root
/// directory, <see cref="RuleIds.TreeUnreachable"/> is not evaluated either. The root is named by no dirent, so
/// its nlink never matches (the kernel's validate refuses every image for this, as FORMAT.md reports).</para>
/// <para>Findings: every rule runs over the whole image, whatever their number; <see cref="ValidationOptions.MaxFindings"/>
/// only caps how many are kept (errors before warnings, so <see cref="IsSafe"/> over the result is the verdict over all
/// of them), and a <see cref="RuleIds.FindingsTruncated"/> finding counts the rest by rule. What the kernel's validate
/// refuses in every image (the root's nlink, directories' usual 2 + subdirectories, mkdaxfs's empty hard-link slots
/// and their nlink 0, split files' backing-file extents) is one <see cref="ValidationFinding.Bookkeeping"/> finding per
/// rule with the count and the first inodes; the same rules' other breaks (a file's nlink no writer sets) stay
/// findings of their own.</para>
/// </remarks>
public static class ImageValidator
{
    /// <summary>Validates <paramref name="image"/>; returns the findings in the order they were made.</summary>
    public static IReadOnlyList<ValidationFinding> Validate(ImageMemory image, ValidationOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(image);
        options ??= new ValidationOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxFindings, 1, nameof(options.MaxFindings));
        return new ValidationRun(image, options).Run();
    }

    /// <summary>
    /// The strict verdict: true when nothing was found but the <see cref="ValidationFinding.Bookkeeping"/> summaries
    /// every image has for the kernel's <c>validate</c> option. An image as a correct writer lays it out passes; any
    /// error, any other warning (a dirent's mode that differs from its inode's, an unreachable inode, a link count no
    /// writer would set, a split image checked without its backing file, a truncated list of findings) fails it.
    /// </summary>
    public static bool PassesStrict(IReadOnlyList<ValidationFinding> findings)
    {
        ArgumentNullException.ThrowIfNull(findings);
        foreach (var f in findings)
            if (!f.Bookkeeping) return false;
        return true;
    }

    /// <summary>True when no finding has severity <see cref="FindingSeverity.Error"/>.</summary>
    public static bool IsSafe(IReadOnlyList<ValidationFinding> findings)
    {
        ArgumentNullException.ThrowIfNull(findings);
        foreach (var f in findings)
            if (f.Severity == FindingSeverity.Error) return false;
        return true;
    }
}
