using DaxFs.Core.Branches;
using DaxFs.Core.Errors;
using DaxFs.Core.Format;
using DaxFs.Core.Linux;

namespace DaxFs.Core.Operations;

/// <summary>
/// What the memory itself says about who uses the image in it: the branch table of a branching (format 5) image lives in
/// that memory, and every kernel that mounts one of its branches writes the record there — kernels on other hosts of a
/// memory pool included. A branch other than main in state ACTIVE is mounted by some kernel, or was left by a kernel that
/// stopped without unmounting (the module discards a branch when it is unmounted). Main is different: the module marks it
/// ACTIVE at the image's first mount and never changes that, so main's record cannot tell whether main is mounted now.
/// A static image records nothing.
/// </summary>
public static class DaxActiveBranches
{
    /// <summary>
    /// The ACTIVE branches other than main in the branching image at the start of <paramref name="target"/>; empty when
    /// the memory holds no DAXFS format-5 image, a static image, an interrupted write, or a branch table the memory does not
    /// hold whole (nothing readable records a mount then). Map errors (no such node, not root) are raised.
    /// </summary>
    public static IReadOnlyList<BranchInfo> Find(DaxMemoryTarget target)
    {
        ArgumentNullException.ThrowIfNull(target);
        if (target.Size < DaxFsConstants.BlockSize) return Array.Empty<BranchInfo>();
        Superblock sb;
        using (var head = target.OpenImageMemory(DaxFsConstants.BlockSize))
            sb = Superblock.Read(head.Span(0, Superblock.RecordSize));
        if (sb.Magic != DaxFsConstants.SuperMagic || sb.Version != DaxFsConstants.Version) return Array.Empty<BranchInfo>();
        if (sb.BranchTableEntries == 0 || sb.BranchTableOffset == 0) return Array.Empty<BranchInfo>();
        ulong tableEnd = sb.BranchTableOffset + (ulong)Math.Min(sb.BranchTableEntries, (uint)DaxFsConstants.MaxBranches) * DaxFsConstants.BranchRecordSize;
        if (sb.BranchTableOffset > (ulong)target.Size || tableEnd > (ulong)target.Size) return Array.Empty<BranchInfo>();
        using var memory = target.OpenImageMemory((long)tableEnd);
        return BranchTable.Read(memory, sb).Where(IsMountedChild).ToList();
    }

    /// <summary>Throws ImageHasActiveBranches when the memory of namespace <paramref name="ns"/> (its dax device, or its raw
    /// or fsdax block device) holds active branches. A namespace without a node to read (system-ram mode, no device yet)
    /// holds no image any kernel mounts: nothing to refuse.</summary>
    public static void RefuseNamespace(LinuxContext context, NdctlNamespace ns, string action)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(ns);
        DaxMemoryTarget target;
        try
        {
            if (ns.CharDev is { Length: > 0 } dax) target = DaxMemoryTargets.ForDevice(context, dax);
            else if (ns.BlockDev is { Length: > 0 } block) target = DaxMemoryTargets.ForBlockDevice(context, block);
            else return;
        }
        catch (DaxLinuxException ex) when (ex.Kind is DaxErrorKind.NotFound or DaxErrorKind.DeviceInSystemRam) { return; }
        Refuse(target, action, $"{ns.Dev} ({target.Description})", ns.Dev);
    }

    /// <summary>A branch whose ACTIVE record means a mount somewhere: any but main (main stays ACTIVE for good).</summary>
    public static bool IsMountedChild(BranchInfo branch) =>
        branch.State == BranchState.Active && branch.ParentId != 0 && !string.Equals(branch.Name, "main", StringComparison.Ordinal);

    /// <summary>"feature (id 2, child of main), deep (id 3, child of feature)".</summary>
    public static string Describe(IEnumerable<BranchInfo> branches) =>
        string.Join(", ", branches.Select(b => $"{(b.Name.Length > 0 ? b.Name : "(no name)")} (id {b.Id}, child of {b.ParentName ?? $"id {b.ParentId}"})"));

    /// <summary>Throws <see cref="DaxLinuxException"/> ImageHasActiveBranches (ResourceBusy) when
    /// <paramref name="target"/> holds active branches; <paramref name="action"/> says what would have destroyed them
    /// ("writing over it", "destroying the namespace"), <paramref name="what"/> names the memory for the message and
    /// <paramref name="targetName"/> is the error's target (default: the target's description).</summary>
    public static void Refuse(DaxMemoryTarget target, string action, string? what = null, string? targetName = null)
    {
        var active = Find(target);
        if (active.Count == 0) return;
        string name = what ?? target.Description;
        throw new DaxLinuxException(DaxErrorKind.TargetInUse, ErrorIds.ImageHasActiveBranches,
            $"{name} holds a branching image with {active.Count} active branch{(active.Count == 1 ? "" : "es")}: {Describe(active)}. " +
            "Each is mounted by a kernel on this host or on another host that shares the memory, or was left by a kernel that stopped " +
            $"without unmounting; {action} pulls the image from under those mounts. Unmount those branches where they are mounted.",
            targetName ?? target.Description, Errno.EBUSY) { NextStep = NextStep.UnmountActiveBranches, NextStepSubject = target.NodePath };
    }
}
