using System.Globalization;
using System.Text;
using DaxFs.Core.Branches;
using DaxFs.Core.Errors;
using DaxFs.Core.Format;
using DaxFs.Core.Linux;
using DaxFs.Core.Read;
using Microsoft.Win32.SafeHandles;

namespace DaxFs.Core.Operations;

/// <summary>The branch table of a mounted image, read from its memory (a dax device, /dev/mem or the mount's dma-buf).</summary>
public sealed record LiveBranchTable(Superblock Superblock, IReadOnlyList<BranchInfo> Branches, string MemoryDescription)
{
    /// <summary>Slots the kernel can still hand out: it only reuses FREE records (aborted and committed ones stay taken).</summary>
    public int FreeSlots => (int)Math.Min(Superblock.BranchTableEntries, (uint)DaxFsConstants.MaxBranches) - Branches.Count(b => b.State != BranchState.Free);

    /// <summary>delta_region_offset + delta_region_size − delta_alloc_offset: where the next log would go, and what is left.</summary>
    public long DeltaFree
    {
        get
        {
            ulong end = Superblock.DeltaRegionOffset + Superblock.DeltaRegionSize;
            return Superblock.DeltaAllocOffset >= end ? 0 : (long)Math.Min(end - Superblock.DeltaAllocOffset, long.MaxValue);
        }
    }

    /// <summary>The record the kernel finds by name: any used record that is not COMMITTED (an invalidated sibling keeps
    /// its name; an aborted or committed branch's name is cleared).</summary>
    public BranchInfo? FindByName(string name) =>
        Branches.FirstOrDefault(b => b.State is not BranchState.Free and not BranchState.Committed && b.Name == name);

    public BranchInfo? FindById(ulong id) => id == 0 ? null : Branches.FirstOrDefault(b => b.Id == id && b.State != BranchState.Free);

    /// <summary>The branch and its ancestors up to main, nearest first; empty when the name is unknown.</summary>
    public IReadOnlyList<BranchInfo> Chain(string name)
    {
        var chain = new List<BranchInfo>();
        for (var b = FindByName(name); b is not null && chain.Count < DaxFsConstants.MaxBranches; b = FindById(b.ParentId)) chain.Add(b);
        return chain;
    }

    public static LiveBranchTable Read(ImageMemory memory, string description)
    {
        var sb = Superblock.Read(memory.Span(0, Superblock.RecordSize));
        if (sb.Magic != DaxFsConstants.SuperMagic)
            throw new DaxFsFormatException(RuleIds.SuperMagic, 0, $"{description} holds no DAXFS image (magic 0x{sb.Magic:x8}).");
        return new LiveBranchTable(sb, BranchTable.Read(memory, sb), description);
    }
}

/// <summary>Where a live mount stands: its mountinfo entry, its branch path, and its branch table when the memory could be read.</summary>
public sealed record LiveMountState
{
    public required MountInfoEntry Mount { get; init; }
    public required DaxFsMountOptions Options { get; init; }
    /// <summary>["main", "a", "b"] for branch=/main/a/b; empty for a static image.</summary>
    public IReadOnlyList<string> BranchPath => Options.Branch is { } p ? p.Split('/', StringSplitOptions.RemoveEmptyEntries) : Array.Empty<string>();
    public string? BranchName => BranchPath.Count > 0 ? BranchPath[^1] : null;
    public LiveBranchTable? Table { get; init; }
    /// <summary>Why <see cref="Table"/> is null: the memory could not be read (then the kernel decides alone).</summary>
    public string? TableUnreadable { get; init; }
}

/// <summary>A child branch to create: what the pre-checks found and the mount call that would create it.</summary>
public sealed record BranchCreatePlan
{
    public required LiveMountState Parent { get; init; }
    public required string Name { get; init; }
    public required string MountPoint { get; init; }
    public bool UsesNewMountApi { get; init; }
    /// <summary>mount(2) data: phys=…,size=…,branch=NAME,parent=PARENT.</summary>
    public string Options { get; init; } = "";
    public string Source { get; init; } = "none";
    public string ParentName => Parent.BranchName!;
    public string BranchPath => (Parent.Options.Branch ?? "/main").TrimEnd('/') + "/" + Name;

    public string Description => UsesNewMountApi
        ? $"ioctl(DAXFS_IOC_GET_DMABUF) on '{Parent.Mount.MountPoint}', " + NewMountApi.Describe("daxfs",
            new[] { new FsParameter(FsConfigCommand.SetFd, "dmabuf"), FsParameter.String("branch", Name), FsParameter.String("parent", ParentName) }, 0, MountPoint)
        : $"mount(2): mount -t daxfs -o {Options} {Source} {MountPoint}";
}

/// <summary>A sibling branch a commit invalidates, and where it is mounted.</summary>
public sealed record InvalidatedBranch(string Name, string BranchPath, IReadOnlyList<string> MountPoints);

/// <summary>How a branch ends: merged into main (commit) or discarded (abort).</summary>
public enum BranchEnd { Commit, Abort }

/// <summary>A commit or abort of the branch mounted at <see cref="MountPoint"/>, with what it touches.</summary>
public sealed record BranchEndPlan
{
    public required bool Commit { get; init; }
    public required LiveMountState State { get; init; }
    public string MountPoint => State.Mount.MountPoint;
    /// <summary>The branches merged into main (commit) or discarded (abort): the mounted branch first, main excluded.</summary>
    public required IReadOnlyList<string> Chain { get; init; }
    /// <summary>Commit: the branches at every level of the chain that share a parent with a merged branch (ESTALE afterwards).</summary>
    public IReadOnlyList<InvalidatedBranch> Invalidated { get; init; } = Array.Empty<InvalidatedBranch>();
    /// <summary>Other mounts of a branch of the chain: they answer ESTALE afterwards too.</summary>
    public IReadOnlyList<string> ChainMounts { get; init; } = Array.Empty<string>();
    /// <summary>Oddities the branch table shows (a branch of the chain already committed or aborted).</summary>
    public IReadOnlyList<string> Notes { get; init; } = Array.Empty<string>();

    public string Call => $"mount(2): mount -o remount,{(Commit ? "commit" : "abort")} {MountPoint}";

    /// <summary>The -WhatIf text: what is merged or discarded, and every mount that goes stale.</summary>
    public string Description
    {
        get
        {
            var sb = new StringBuilder();
            string chain = $"'{Chain[0]}'" + (Chain.Count > 1 ? " with its parent chain " + string.Join(", ", Chain.Skip(1).Select(c => $"'{c}'")) : "");
            sb.Append(Commit ? $"Merge {chain} into main" : $"Discard {chain} back to main (main and the siblings stay as they are)");
            sb.Append($"; '{MountPoint}' then shows main.");
            if (ChainMounts.Count > 0)
                sb.Append($" Mounts of {(Commit ? "merged" : "discarded")} branches go stale (ESTALE): {string.Join(", ", ChainMounts.Select(m => $"'{m}'"))}.");
            if (Commit)
            {
                if (Invalidated.Count == 0) sb.Append(" No sibling branch is invalidated.");
                else
                    sb.Append(" Siblings invalidated (ESTALE on file operations, SIGBUS on mappings): " + string.Join(", ", Invalidated.Select(i =>
                        $"'{i.Name}' ({i.BranchPath}, {(i.MountPoints.Count == 0 ? "not mounted" : "mounted at " + string.Join(", ", i.MountPoints.Select(m => $"'{m}'")))})")) + ".");
            }
            foreach (var n in Notes) sb.Append(" Note: ").Append(n).Append('.');
            if (State.TableUnreadable is not null)
                sb.Append($" (Branches read from mountinfo only: {State.TableUnreadable})");
            sb.Append(" Call: ").Append(Call);
            return sb.ToString();
        }
    }
}

/// <summary>
/// Creates, commits and aborts branches of mounted images. Every check that the branch table can answer runs before the
/// kernel is called (name, parent, slots, delta space); the table is read from the mount's memory: the dax device or
/// /dev/mem range of phys=, or the mount's dma-buf (ioctl DAXFS_IOC_GET_DMABUF). When the memory cannot be read, the
/// plan says why and the kernel decides; its errno comes back as the same errors.
/// </summary>
public sealed class DaxFsBranchManager
{
    private readonly LinuxContext _ctx;
    private readonly DaxFsMounter _mounter;

    public DaxFsBranchManager(LinuxContext context)
    {
        _ctx = context;
        _mounter = new DaxFsMounter(context);
    }

    /// <summary>The mount at <paramref name="mountPoint"/> with its branch table (read from its memory when possible).</summary>
    public LiveMountState Inspect(string mountPoint)
    {
        var entry = _mounter.FindMount(mountPoint);
        var options = DaxFsMountOptions.From(entry);
        LiveBranchTable? table = null;
        string? why = null;
        try { table = ReadTable(entry, options); }
        catch (DaxLinuxException ex) { why = ex.Message; }
        catch (DaxFsFormatException ex) { why = $"the memory of '{entry.MountPoint}' does not hold a readable branch table ({ex.Message})"; }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentOutOfRangeException) { why = ex.Message; }
        return new LiveMountState { Mount = entry, Options = options, Table = table, TableUnreadable = why };
    }

    /// <summary>Maps the memory behind a mount and reads its superblock and branch table.</summary>
    public LiveBranchTable ReadTable(MountInfoEntry entry, DaxFsMountOptions options)
    {
        if (options.DmaBuf)
        {
            SafeFileHandle fd;
            try { fd = _ctx.MountApi.GetDmaBuf(entry.MountPoint); }
            catch (SyscallException ex)
            {
                throw new DaxLinuxException(DaxErrorKind.SystemCallFailed, ErrorIds.DmaBufUnavailable,
                    $"ioctl(DAXFS_IOC_GET_DMABUF) on '{entry.MountPoint}' failed: {Errno.Describe(ex.ErrorNumber)}.", entry.MountPoint, ex.ErrorNumber, ex);
            }
            using (fd)
            {
                long size = options.Size is { } s ? (long)Math.Min(s, long.MaxValue) : Syscalls.lseek(fd, 0, Syscalls.SEEK_END);
                var target = DaxMemoryTargets.ForDmaBuf(fd, size, $"the dma-buf of '{entry.MountPoint}'");
                return ReadFrom(target);
            }
        }
        if (options.PhysicalAddress is not { } phys || options.Size is not { } len || len == 0)
            throw new DaxLinuxException(DaxErrorKind.InvalidArgument, ErrorIds.MountMemoryUnknown,
                $"mountinfo shows no phys= and size= for '{entry.MountPoint}'.", entry.MountPoint, Errno.EINVAL);
        return ReadFrom(DaxMemoryTargets.ForPhysicalRange(_ctx, phys, len));
    }

    private static LiveBranchTable ReadFrom(DaxMemoryTarget target)
    {
        long head = Math.Min(target.Size, DaxFsConstants.BlockSize);
        Superblock sb;
        using (var first = target.OpenImageMemory(head)) sb = Superblock.Read(first.Span(0, Superblock.RecordSize));
        ulong tableEnd = sb.BranchTableOffset + (ulong)Math.Min(sb.BranchTableEntries, (uint)DaxFsConstants.MaxBranches) * DaxFsConstants.BranchRecordSize;
        long need = (long)Math.Min((ulong)target.Size, Math.Max((ulong)head, tableEnd));
        using var memory = target.OpenImageMemory(need);
        return LiveBranchTable.Read(memory, target.Description);
    }

    /// <summary>The rules of a branch name the kernel applies (and two that mount(2) options need), checked with no memory.</summary>
    public static void CheckName(string name)
    {
        int bytes = Encoding.UTF8.GetByteCount(name);
        if (bytes > DaxFsConstants.BranchNameMax)
            throw new DaxLinuxException(DaxErrorKind.BranchRefused, ErrorIds.BranchNameTooLong,
                $"The branch name '{name}' is {bytes} bytes long; the branch table holds names of at most {DaxFsConstants.BranchNameMax} bytes (the kernel answers ENAMETOOLONG).",
                name, Errno.ENAMETOOLONG) { NextStep = NextStep.ShorterBranchName };
        if (bytes == 0 || name == "main" || name.IndexOfAny(new[] { ',', '/', '\0', '=' }) >= 0 || name.Any(char.IsWhiteSpace))
            throw new DaxLinuxException(DaxErrorKind.BranchRefused, ErrorIds.BranchNameInvalid,
                name == "main"
                    ? "'main' is the root branch of every image and cannot be created again (the kernel answers EINVAL)."
                    : $"The branch name '{name}' cannot be used: a name is 1 to {DaxFsConstants.BranchNameMax} bytes without ',', '=', '/', NUL or white space (mount options and branch paths carry it).",
                name, Errno.EINVAL) { NextStep = NextStep.OtherBranchName };
    }

    /// <summary>
    /// The checks the branch table answers, in the kernel's order: the name is not taken, the parent is active, a slot is
    /// free, and the delta region has 1 MiB left for the new log. Throws <see cref="DaxLinuxException"/> (BranchRefused)
    /// with a stable id and the fix.
    /// </summary>
    public static void CheckCreate(LiveBranchTable table, string name, string parent, string where)
    {
        CheckName(name);
        if (table.Superblock.BranchTableEntries == 0)
            throw new DaxLinuxException(DaxErrorKind.BranchRefused, ErrorIds.ImageNotBranching,
                $"The image at {where} is static: it has no branch table.", where, Errno.EINVAL) { NextStep = NextStep.BuildBranchingImage };
        var taken = table.FindByName(name);
        if (taken is not null)
            throw new DaxLinuxException(DaxErrorKind.BranchRefused, ErrorIds.BranchNameInUse,
                taken.State == BranchState.Active
                    ? $"The image at {where} already has an active branch '{name}' (slot {taken.Index}{(taken.ParentName is { } p ? ", child of '" + p + "'" : "")})."
                    : $"The name '{name}' is still held by a branch a commit invalidated (slot {taken.Index}, {taken.State}): the kernel keeps an invalidated sibling's name for good.",
                name, Errno.EEXIST) { NextStep = taken.State == BranchState.Active ? NextStep.OtherBranchNameOrMountIt : NextStep.OtherBranchName };
        var p2 = table.FindByName(parent);
        if (p2 is null || p2.State != BranchState.Active)
            throw new DaxLinuxException(DaxErrorKind.BranchRefused, ErrorIds.ParentBranchNotActive,
                p2 is null
                    ? $"The image at {where} has no branch '{parent}' any more (it was committed, aborted or unmounted)."
                    : $"The parent branch '{parent}' is {p2.State}: a commit of one of its siblings invalidated it, so its mount answers ESTALE.",
                parent, p2 is null ? Errno.ENOENT : Errno.ESTALE) { NextStep = p2 is null ? NextStep.UseActiveParent : NextStep.DismountStaleParent };
        if (table.FreeSlots <= 0)
            throw new DaxLinuxException(DaxErrorKind.BranchRefused, ErrorIds.BranchTableFull,
                $"All {Math.Min(table.Superblock.BranchTableEntries, (uint)DaxFsConstants.MaxBranches)} slots of the branch table at {where} are used: the kernel never frees the slot of a committed, aborted or unmounted branch, so a table holds at most {DaxFsConstants.MaxBranches} branches ever.",
                where, Errno.ENOSPC) { NextStep = NextStep.RebuildBranchingImage };
        if (table.DeltaFree < BranchSpace.LogBytes)
            throw new DaxLinuxException(DaxErrorKind.BranchRefused, ErrorIds.DeltaRegionFull,
                BranchSpace.NoRoomLeft(table.DeltaFree, (long)Math.Min(table.Superblock.DeltaRegionSize, long.MaxValue), where), where, Errno.ENOSPC)
            { NextStep = NextStep.LargerDeltaRegion };
    }

    /// <summary>A format-8 mount (no static flag, no branch= in its options): the format-8 module has no branches at all.</summary>
    private static DaxLinuxException NoBranchesInFormat8(string mountPoint, string what) =>
        new(DaxErrorKind.BranchRefused, ErrorIds.Format8HasNoBranches,
            $"'{mountPoint}' holds a DAXFS format-8 image, and format 8 has no branches (the format-8 module removed them with the delta logs): " +
            $"there is no branch to {what}. A format-8 mount with an overlay is written to directly, and every kernel that mounts the same memory " +
            "sees the writes in the shared overlay; the overlay's listing (its state, and what it changed against the base) is read offline from the memory. " +
            "For private writes over a shared image, mount an OverlayFS view on top of it (about_DaxFs), or build the image in format 5 for branches.",
            mountPoint, Errno.EOPNOTSUPP);

    /// <summary>Resolves the parent mount, reads its table, runs every pre-check, and says how the child will be mounted.</summary>
    public BranchCreatePlan PlanCreate(string parentMountPoint, string name, string mountPoint)
    {
        CheckName(name);
        var parent = Inspect(parentMountPoint);
        string at = $"'{parent.Mount.MountPoint}'";
        if (parent.Options.Format == DaxFsFormat.Format8) throw NoBranchesInFormat8(parent.Mount.MountPoint, "create");
        if (parent.Options.Static || parent.BranchName is null)
            throw new DaxLinuxException(DaxErrorKind.BranchRefused, ErrorIds.ImageNotBranching,
                $"The image mounted at {at} is static: it has no branch table, so it cannot have branches.",
                parent.Mount.MountPoint, Errno.EINVAL) { NextStep = NextStep.BuildBranchingImage };
        if (parent.Table is { } table) CheckCreate(table, name, parent.BranchName, at);

        // The new mount point: the same rules as Mount-DaxFs (exists, is a directory, not a mount point yet).
        string mp = MountInfo.NormalizePath(mountPoint);
        if (!Directory.Exists(mp))
            throw new DaxLinuxException(DaxErrorKind.MountPointNotFound, ErrorIds.MountPointNotFound,
                $"The mount point '{mp}' does not exist.", mp, Errno.ENOENT) { NextStep = NextStep.CreateMountPoint };
        var busy = MountInfo.FindMountAt(_mounter.ReadMountInfo(), mp);
        if (busy is not null)
            throw new DaxLinuxException(DaxErrorKind.MountPointBusy, ErrorIds.MountPointBusy,
                $"'{mp}' is already a mount point ({busy.FileSystemType} from {busy.Source}).", mp, Errno.EBUSY) { NextStep = NextStep.OtherMountPoint };

        if (parent.Options.DmaBuf)
            return new BranchCreatePlan { Parent = parent, Name = name, MountPoint = mp, UsesNewMountApi = true, Source = "dmabuf" };
        if (parent.Options.PhysicalAddress is not { } phys || parent.Options.Size is not { } size)
            throw new DaxLinuxException(DaxErrorKind.InvalidArgument, ErrorIds.MountMemoryUnknown,
                $"mountinfo shows neither a dma-buf nor phys=/size= for {at}, so the child's memory is unknown.", parent.Mount.MountPoint, Errno.EINVAL);
        // The parent's size= is the one the kernel accepted for this image: never smaller than total_size.
        string options = FormattableString.Invariant($"phys=0x{phys:x},size=0x{size:x},branch={name},parent={parent.BranchName}");
        return new BranchCreatePlan
        {
            Parent = parent, Name = name, MountPoint = mp, Options = options,
            Source = parent.Mount.Source is { Length: > 0 } s && !s.Contains(' ') ? s : "none",
        };
    }

    /// <summary>Creates the branch: mount(2), or the dma-buf's fd through the new mount API. Returns the new mount.</summary>
    public MountInfoEntry? Create(BranchCreatePlan plan)
    {
        string where = $"'{plan.Parent.Mount.MountPoint}'";
        if (plan.UsesNewMountApi)
        {
            SafeFileHandle fd;
            try { fd = _ctx.MountApi.GetDmaBuf(plan.Parent.Mount.MountPoint); }
            catch (SyscallException ex) when (ex.ErrorNumber == Errno.ESTALE)
            {
                throw StaleParent(plan, ex);
            }
            catch (SyscallException ex)
            {
                throw new DaxLinuxException(DaxErrorKind.SystemCallFailed, ErrorIds.DmaBufUnavailable,
                    $"ioctl(DAXFS_IOC_GET_DMABUF) on '{plan.Parent.Mount.MountPoint}' failed: {Errno.Describe(ex.ErrorNumber)}" +
                    (ex.ErrorNumber == Errno.ENOENT ? " (the kernel says the mount was not made from a dma-buf)." : "."), plan.Parent.Mount.MountPoint, ex.ErrorNumber, ex);
            }
            using (fd)
            {
                var parameters = new[] { FsParameter.FileDescriptor("dmabuf", fd), FsParameter.String("branch", plan.Name), FsParameter.String("parent", plan.ParentName) };
                try { NewMountApi.Mount(_ctx.MountApi, "daxfs", parameters, 0, plan.MountPoint); }
                catch (DaxLinuxException ex) when (ex.InnerException is SyscallException sys && !sys.Call.StartsWith("fsopen", StringComparison.Ordinal) &&
                                                   sys.Call is not ("fsmount" or "move_mount") && Translate(plan, sys, where, ex.KernelMessages) is { } t) { throw t; }
            }
        }
        else
        {
            try { _ctx.MountApi.Mount(plan.Source, plan.MountPoint, "daxfs", 0, plan.Options); }
            catch (SyscallException ex)
            {
                throw Translate(plan, ex, where, Array.Empty<string>()) ?? MountErrors.FromSyscall(ex, "daxfs", plan.MountPoint, Array.Empty<string>());
            }
        }
        return MountInfo.FindMountAt(_mounter.ReadMountInfo(), plan.MountPoint);
    }

    private static DaxLinuxException StaleParent(BranchCreatePlan plan, SyscallException ex) =>
        new(DaxErrorKind.BranchRefused, ErrorIds.ParentBranchNotActive,
            $"The parent mount '{plan.Parent.Mount.MountPoint}' answers ESTALE: a commit invalidated its branch '{plan.ParentName}'.",
            plan.ParentName, ex.ErrorNumber, ex) { NextStep = NextStep.DismountStaleParent };

    /// <summary>The kernel's answers to a branch creation, as the pre-checks would have said them.</summary>
    private static DaxLinuxException? Translate(BranchCreatePlan plan, SyscallException ex, string where, IReadOnlyList<string> messages)
    {
        string said = messages.Count > 0 ? " The kernel said: " + string.Join(" | ", messages.Select(MountErrors.StripPrefix)) + "." : "";
        return ex.ErrorNumber switch
        {
            Errno.ENOSPC => new DaxLinuxException(DaxErrorKind.BranchRefused, ErrorIds.BranchSpaceExhausted,
                $"The kernel refused to create branch '{plan.Name}' with ENOSPC: the branch table at {where} has no free slot, or its delta region has less than the 1 MiB a new branch takes" +
                (plan.Parent.TableUnreadable is { } why ? $" (DaxFs could not check which: {why.TrimEnd('.')})" : "") + ". " + BranchSpace.Advice + said,
                plan.Name, ex.ErrorNumber, ex) { NextStep = NextStep.LargerDeltaRegion },
            Errno.EEXIST => new DaxLinuxException(DaxErrorKind.BranchRefused, ErrorIds.BranchNameInUse,
                $"The kernel refused: the image at {where} already has a branch named '{plan.Name}' (EEXIST; an invalidated sibling keeps its name).{said}", plan.Name, ex.ErrorNumber, ex)
            { NextStep = NextStep.OtherBranchName },
            Errno.ENAMETOOLONG => new DaxLinuxException(DaxErrorKind.BranchRefused, ErrorIds.BranchNameTooLong,
                $"The kernel refused the name '{plan.Name}' (ENAMETOOLONG): at most {DaxFsConstants.BranchNameMax} bytes.{said}", plan.Name, ex.ErrorNumber, ex)
            { NextStep = NextStep.ShorterBranchName },
            Errno.ENOENT => new DaxLinuxException(DaxErrorKind.BranchRefused, ErrorIds.ParentBranchNotActive,
                $"The kernel found no branch '{plan.ParentName}' in the image at {where} (ENOENT): it was committed, aborted or unmounted.{said}", plan.ParentName, ex.ErrorNumber, ex)
            { NextStep = NextStep.UseActiveParent },
            Errno.ESTALE => StaleParent(plan, ex),
            _ => null,
        };
    }

    /// <summary>What a commit (or abort) of the branch mounted at <paramref name="mountPoint"/> merges (or discards) and invalidates.</summary>
    public BranchEndPlan PlanEnd(string mountPoint, BranchEnd end)
    {
        bool commit = end == BranchEnd.Commit;
        var state = Inspect(mountPoint);
        string what = commit ? "commit" : "abort";
        if (state.Options.Format == DaxFsFormat.Format8) throw NoBranchesInFormat8(state.Mount.MountPoint, what);
        if (state.Options.Static || state.BranchPath.Count == 0)
            throw new DaxLinuxException(DaxErrorKind.BranchRefused, ErrorIds.ImageNotBranching,
                $"'{state.Mount.MountPoint}' holds a static image: it has no branches to {what}.", state.Mount.MountPoint, Errno.EOPNOTSUPP);
        if (state.BranchPath.Count < 2)
            throw new DaxLinuxException(DaxErrorKind.BranchRefused, ErrorIds.MainBranchCannotEnd,
                $"'{state.Mount.MountPoint}' shows main (branch=/main): main is never {(commit ? "committed" : "aborted")} (the kernel answers EOPNOTSUPP; after a commit or abort a mount shows main). " +
                $"{(commit ? "Commit" : "Abort")} a child branch instead.", state.Mount.MountPoint, Errno.EOPNOTSUPP) { NextStep = NextStep.MountChildBranch };

        var chainNames = state.BranchPath.Skip(1).Reverse().ToList();
        var mounts = SameMemoryMounts(state);
        if (state.Table is { } table)
        {
            var me = table.FindByName(state.BranchName!);
            if (me is null || me.State != BranchState.Active)
                throw new DaxLinuxException(DaxErrorKind.BranchRefused, ErrorIds.BranchNotActive,
                    $"The branch '{state.BranchName}' mounted at '{state.Mount.MountPoint}' is {(me is null ? "gone from the branch table" : me.State.ToString())}: a commit of a sibling (or of a branch of its chain) invalidated it, and its files answer ESTALE. Nothing is left to {what}; dismount it.",
                    state.Mount.MountPoint, Errno.ESTALE) { NextStep = NextStep.DismountStaleBranch };
        }

        // Mounts of the other branches of the chain go stale with it.
        var chainMounts = new List<string>();
        for (int depth = 2; depth < state.BranchPath.Count; depth++)
        {
            string prefix = "/" + string.Join('/', state.BranchPath.Take(depth));
            chainMounts.AddRange(mounts.Where(m => m.Path == prefix).Select(m => m.Entry.MountPoint));
        }

        var invalidated = new List<InvalidatedBranch>();
        var notes = new List<string>();
        var records = state.Table?.Chain(state.BranchName!) ?? Array.Empty<BranchInfo>();
        foreach (var r in records.Skip(1).Where(r => r.ParentId != 0 && r.State != BranchState.Active))
            notes.Add($"a branch of this mount's chain (id {r.Id}) is already {r.State} in the branch table");
        if (commit && records.Count > 1)
        {
            // The kernel's rule, level by level: every ACTIVE record with the same parent as a merged branch.
            var live = state.Table!;
            foreach (var r in records.Where(r => r.ParentId != 0))
            {
                foreach (var sib in live.Branches.Where(b => b.State == BranchState.Active && b.ParentId == r.ParentId && b.Id != r.Id).OrderBy(b => b.Name, StringComparer.Ordinal))
                {
                    string parentPath = PathOf(live, sib.ParentId);
                    string path = parentPath + "/" + sib.Name;
                    invalidated.Add(new InvalidatedBranch(sib.Name, path, mounts.Where(m => m.Path.EndsWith("/" + sib.Name, StringComparison.Ordinal)).Select(m => m.Entry.MountPoint).ToList()));
                }
            }
        }
        else if (commit)
        {
            // No table: the mounted siblings mountinfo shows (same memory, same parent path, another name).
            for (int level = state.BranchPath.Count - 1; level >= 1; level--)
            {
                string parentPath = "/" + string.Join('/', state.BranchPath.Take(level));
                string self = state.BranchPath[level];
                var names = mounts.Select(m => m.Path).Where(p => p.StartsWith(parentPath + "/", StringComparison.Ordinal) && p.IndexOf('/', parentPath.Length + 1) < 0)
                    .Select(p => p[(parentPath.Length + 1)..]).Where(n => n != self).Distinct(StringComparer.Ordinal).OrderBy(n => n, StringComparer.Ordinal);
                foreach (var n in names)
                {
                    string path = parentPath + "/" + n;
                    invalidated.Add(new InvalidatedBranch(n, path, mounts.Where(m => m.Path == path).Select(m => m.Entry.MountPoint).ToList()));
                }
            }
        }
        return new BranchEndPlan { Commit = commit, State = state, Chain = chainNames, Invalidated = invalidated, ChainMounts = chainMounts, Notes = notes };
    }

    private static string PathOf(LiveBranchTable table, ulong id)
    {
        var names = new List<string>();
        for (var b = table.FindById(id); b is not null && names.Count < DaxFsConstants.MaxBranches; b = table.FindById(b.ParentId))
            names.Insert(0, b.Name.Length > 0 ? b.Name : $"<id {b.Id}>");
        return "/" + string.Join('/', names);
    }

    /// <summary>Runs the remount that commits or aborts; the kernel's errno becomes an error that says what happened.</summary>
    public void End(BranchEndPlan plan)
    {
        string flag = plan.Commit ? "commit" : "abort";
        try { _ctx.MountApi.Mount("none", plan.MountPoint, "daxfs", MountFlags.MS_REMOUNT, flag); }
        catch (SyscallException ex)
        {
            string b = plan.State.BranchName!;
            throw ex.ErrorNumber switch
            {
                Errno.ESTALE => new DaxLinuxException(DaxErrorKind.BranchRefused, ErrorIds.BranchNotActive,
                    $"The kernel refused to {flag} '{b}' (ESTALE): a commit invalidated it. Dismount '{plan.MountPoint}'.", plan.MountPoint, ex.ErrorNumber, ex),
                Errno.EBUSY => new DaxLinuxException(DaxErrorKind.BranchRefused, ErrorIds.BranchHasChildren,
                    $"The kernel refused to {flag} '{b}' (EBUSY): the branch has active children in this mount. Commit, abort or dismount them first.", plan.MountPoint, ex.ErrorNumber, ex),
                Errno.EOPNOTSUPP => new DaxLinuxException(DaxErrorKind.BranchRefused, ErrorIds.MainBranchCannotEnd,
                    $"The kernel refused to {flag} at '{plan.MountPoint}' (EOPNOTSUPP): the mount shows main, which is never {(plan.Commit ? "committed" : "aborted")}.", plan.MountPoint, ex.ErrorNumber, ex),
                Errno.ENOSPC => new DaxLinuxException(DaxErrorKind.BranchRefused, ErrorIds.ParentLogFull,
                    $"The kernel could not merge '{b}' (ENOSPC): a parent's 1 MiB delta log cannot hold the child's entries. Nothing was committed past that level; abort instead, or make smaller changes per branch.", plan.MountPoint, ex.ErrorNumber, ex),
                Errno.EPERM or Errno.EACCES => new DaxLinuxException(DaxErrorKind.NotRoot, ErrorIds.NotRoot,
                    $"The remount of '{plan.MountPoint}' was refused ({Errno.Describe(ex.ErrorNumber)}). Run as root.", plan.MountPoint, ex.ErrorNumber, ex),
                _ => new DaxLinuxException(DaxErrorKind.BranchRefused, plan.Commit ? ErrorIds.CommitFailed : ErrorIds.AbortFailed,
                    $"The kernel refused to {flag} '{b}' at '{plan.MountPoint}': {Errno.Describe(ex.ErrorNumber)}. The kernel log has the reason: dmesg | tail.", plan.MountPoint, ex.ErrorNumber, ex),
            };
        }
    }

    /// <summary>daxfs mounts of the same memory as <paramref name="state"/> (same phys= range, or dma-buf mounts of the same size), with their branch paths.</summary>
    private List<(MountInfoEntry Entry, string Path)> SameMemoryMounts(LiveMountState state)
    {
        var o = state.Options;
        return _mounter.ListMounts().Select(m => (Entry: m, Opt: DaxFsMountOptions.From(m)))
            .Where(x => x.Opt.Branch is not null && x.Entry.MountPoint != state.Mount.MountPoint &&
                        (o.DmaBuf ? x.Opt.DmaBuf && x.Opt.Size == o.Size : x.Opt.PhysicalAddress == o.PhysicalAddress && x.Opt.Size == o.Size))
            .Select(x => (x.Entry, x.Opt.Branch!.TrimEnd('/')))
            .ToList();
    }
}
