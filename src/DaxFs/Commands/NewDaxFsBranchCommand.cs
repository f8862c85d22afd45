using System.Management.Automation;
using DaxFs.Core.Linux;
using DaxFs.Core.Operations;
using DaxFs.Internal;

namespace DaxFs.Commands;

/// <summary>
/// New-DaxFsBranch: creates a child branch of a mounted branch and mounts it. The memory, phys=/size= or dma-buf, comes
/// from the parent's mount. Before the kernel is called the branch table is read from that memory and the name (length,
/// uniqueness), the parent (active), a free slot and 1 MiB of delta region are checked, each with its own error.
/// </summary>
[Cmdlet(VerbsCommon.New, "DaxFsBranch", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(DaxFsMount))]
public sealed class NewDaxFsBranchCommand : DaxLinuxCmdlet
{
    /// <summary>The new branch's name: 1 to 31 bytes, unique in the image, not "main".</summary>
    [Parameter(Mandatory = true, Position = 0)]
    [ValidateNotNullOrEmpty]
    public string Name { get; set; } = string.Empty;

    /// <summary>The parent branch: its mount point, or its DaxFsMount (Get-DaxFsMount, Mount-DaxFs, New-DaxFsBranch).</summary>
    [Parameter(Mandatory = true, Position = 1, ValueFromPipeline = true)]
    [DaxFsMountTransformation]
    [ArgumentCompleter(typeof(DaxFsMountPointCompleter))]
    [ValidateNotNullOrEmpty]
    public string Parent { get; set; } = string.Empty;

    /// <summary>An existing, empty directory that is not a mount point yet: where the new branch is mounted.</summary>
    [Parameter(Mandatory = true, Position = 2)]
    [ValidateNotNullOrEmpty]
    public string MountPoint { get; set; } = string.Empty;

    protected override void ProcessRecord()
    {
        string parent = MountInfo.NormalizePath(GetUnresolvedProviderPathFromPSPath(Parent));
        string mountPoint = GetUnresolvedProviderPathFromPSPath(MountPoint);
        var manager = new DaxFsBranchManager(Context);
        BranchCreatePlan plan = null!;
        if (!Try(() => plan = manager.PlanCreate(parent, Name, mountPoint), Name)) return;

        if (plan.Parent.Table is { } t)
            WriteVerbose($"Branch table of '{parent}' ({t.MemoryDescription}): {t.Branches.Count} records used, {t.FreeSlots} free; " +
                         $"{t.DeltaFree} bytes left in the delta region.");
        else
            WriteVerbose($"The branch table of '{parent}' could not be read, so the kernel checks alone: {plan.Parent.TableUnreadable}");
        WriteVerbose(plan.Description);
        if (!ShouldProcess(plan.MountPoint, $"Create branch '{plan.BranchPath}' ({plan.Description})")) return;
        RequireRoot("New-DaxFsBranch");
        MountInfoEntry? entry = null;
        if (!Try(() => entry = manager.Create(plan), Name)) return;
        if (entry is not null) WriteObject(DaxFsMount.From(entry, DaxFsKernelModule.Read(Context.Sysfs)));
        else WriteWarning($"The mount call succeeded, but {Context.MountInfoPath} shows no mount at '{plan.MountPoint}'.");
    }
}
