using System.Management.Automation;
using DaxFs.Core.Errors;
using DaxFs.Core.Format;
using DaxFs.Core.Linux;
using DaxFs.Core.Operations;
using DaxFs.Internal;

namespace DaxFs.Commands;

/// <summary>
/// Mount-DaxFs: mounts an image that sits in memory. A dax device or physical range mounts with mount(2) and
/// phys=/size= options; a dma-buf through the new mount API (fsopen, fsconfig, fsmount, move_mount). Before the mount
/// call the image's superblock is read from the memory itself: no DAXFS magic, another version, or a total size above
/// the size to mount (which crashes the kernel) is refused. Then the mount gate validates the whole image there and
/// refuses any error finding (ImageFailsValidation), unless -SkipValidation.
/// </summary>
[Cmdlet(VerbsData.Mount, "DaxFs", DefaultParameterSetName = DeviceSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(DaxFsMount))]
public sealed class MountDaxFsCommand : DaxMemoryTargetCmdlet
{
    private const string InputSet = "InputObject";

    /// <summary>What Write-DaxFsImage -PassThru returns.</summary>
    [Parameter(Mandatory = true, ParameterSetName = InputSet, ValueFromPipeline = true)]
    public DaxFsMemoryImage InputObject { get; set; } = null!;

    /// <summary>An existing, empty directory that is not a mount point yet.</summary>
    [Parameter(Mandatory = true, Position = 0)]
    [ValidateNotNullOrEmpty]
    public string MountPoint { get; set; } = string.Empty;

    /// <summary>Ask the kernel to check the image's structure while mounting (the validate option).</summary>
    [Parameter]
    public SwitchParameter Validate { get; set; }

    /// <summary>Mount without the validation gate (the kernel then trusts the image: a hostile one can crash it).</summary>
    [Parameter]
    public SwitchParameter SkipValidation { get; set; }

    /// <summary>Split images: the file New-DaxFsImage -BackingFile wrote with the regular-file data.</summary>
    [Parameter]
    public string? BackingFile { get; set; }

    /// <summary>Format 8, split images: the directory the image was built from, whose files the module reads the base's
    /// regular-file data from (export=), instead of a backing file.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? ExportPath { get; set; }

    /// <summary>A name shown in the mount's options (name=).</summary>
    [Parameter]
    [ValidatePattern("^[^,\\s]+$")]
    public string? Name { get; set; }

    /// <summary>Format 8: the coherence backend, coherent (the module's default) or cxl3 (the mem_model option).</summary>
    [Parameter]
    public DaxFsMemoryModel MemoryModel { get; set; }

    protected override void ProcessRecord()
    {
        string mountPoint = GetUnresolvedProviderPathFromPSPath(MountPoint);
        string? backing = BackingFile is null ? null : GetUnresolvedProviderPathFromPSPath(BackingFile);
        string? export = ExportPath is null ? null : GetUnresolvedProviderPathFromPSPath(ExportPath);
        var mounter = new DaxFsMounter(Context);
        DaxFsMountPlan plan = null!;
        if (!Try(() =>
            {
                var target = Target();
                plan = mounter.Plan(new DaxFsMountRequest
                {
                    Target = target, MountPoint = mountPoint, Validate = Validate, BackingFile = backing, Name = Name, SkipValidation = SkipValidation, ExportPath = export,
                    MemoryModel = MyInvocation.BoundParameters.ContainsKey(nameof(MemoryModel)) ? MemoryModel : null,
                });
            }, mountPoint)) return;

        WriteVerbose(plan.Description);
        // The format-8 module dropped the link-count rule: its validate mounts DaxFs's images and refuses only mkdaxfs's empty
        // inode slots (INODE-EMPTY, reported as a warning below when the image has them).
        bool validate8 = Validate && DaxFsKernelModule.Read(Context.Sysfs).Format == Core.Format.DaxFsFormat.Format8;
        if (Validate && !validate8)
            WriteWarning("The kernel's validate option refuses every DAXFS image: it requires each inode's link count to equal the " +
                "directory entries naming it, and no entry names the root directory (inode 1), so the root never matches; split images also " +
                "fail its data-offset rule, which checks offsets in the backing file against the image's base region. Expect the mount to be " +
                "refused with the kernel's reason; mount without -Validate to use the image (Test-DaxFsImage checks it without the kernel).");
        if (SkipValidation)
            WriteWarning($"-SkipValidation: the image in {plan.Request.Target.Description} is mounted without the validation gate. Without its " +
                "validate option the kernel trusts the image: a damaged or hostile one can crash the kernel (and the host) or show wrong data. " +
                "Use it only for an image you know is sound (Test-DaxFsImage on the file you wrote).");
        if (!ShouldProcess(plan.Request.MountPoint, plan.Description)) return;
        RequireRoot("Mount-DaxFs");
        MountInfoEntry? entry = null;
        if (!Try(() =>
            {
                // Shared: no DaxFs process writes this memory while the gate reads it and the kernel mounts it.
                using var reading = DaxTargetLock.Acquire(plan.Request.Target, exclusive: false, "mount it");
                plan = InspectWithFindings(mounter, plan);
                WriteVerbose($"The host has loaded the {plan.Module?.Description ?? "daxfs module"}" + (plan.Module?.SourceVersion is { } src ? $" (srcversion {src})." : "."));
                WriteVerbose($"{plan.Request.Target.Description} holds a {plan.ImageMode} DAXFS format-{(int)plan.Format} image of {plan.TotalSize} bytes" +
                    (plan.ValidationSkipped ? "; not validated (-SkipValidation)." : $"; it passed validation ({plan.Findings.Count} warning{(plan.Findings.Count == 1 ? "" : "s")})."));
                ReportFindings(plan, validate8);
                entry = mounter.Mount(plan);
            }, plan.Request.MountPoint)) return;

        if (entry is not null) WriteObject(DaxFsMount.From(entry, plan.Module));
        else WriteWarning($"The mount call succeeded, but {Context.MountInfoPath} shows no mount at '{plan.Request.MountPoint}'.");
    }

    /// <summary>Inspect; a gate refusal gets its findings as DaxFsValidationFinding objects in the exception's Data["Findings"],
    /// and a target that needs an image written names this target's parameters in the command that writes it.</summary>
    private DaxFsMountPlan InspectWithFindings(DaxFsMounter mounter, DaxFsMountPlan plan)
    {
        try { return mounter.Inspect(plan, Cancellation.Token); }
        catch (DaxLinuxException ex) when (ex.ErrorId == ImageValidationCheck.ErrorId || ex.NextStep == NextStep.WriteImage)
        {
            string where = plan.Request.Target.Description;
            var shown = ex.NextStep == NextStep.WriteImage ? ex.WithNextStep(NextSteps.WriteImage(plan.Request.Target)) : ex;
            if (ex.ErrorId == ImageValidationCheck.ErrorId)
                shown.Data["Findings"] = ex.Findings.Select(f => DaxFsValidationFinding.From(f, where)).ToArray();
            if (ReferenceEquals(shown, ex)) throw;
            throw shown;
        }
    }

    /// <summary>Warnings the gate found. Bookkeeping only the kernel's validate option minds (the link counts: the root is
    /// named by no dirent in any image, and directories count their subdirectories as on other Linux file systems) goes
    /// to verbose; the rest (a backing file not given, a page cache header, a dirent's mode...) is a warning. With the
    /// format-8 module's validate option asked for, what that option refuses is a warning too: the mount will be refused.</summary>
    private void ReportFindings(DaxFsMountPlan plan, bool validate8)
    {
        foreach (var f in plan.Findings)
        {
            string line = $"{f.RuleId} at 0x{Math.Max(f.Offset, 0):x}: {f.Message}";
            if (f.Kernel == Core.Format.KernelVerdict.RejectsWithValidate && validate8 && plan.Format == Core.Format.DaxFsFormat.Format8)
                WriteWarning($"{plan.Request.Target.Description}: {line.TrimEnd('.')} (the validate option you asked for refuses this: mount without -Validate).");
            else if (f.Kernel == Core.Format.KernelVerdict.RejectsWithValidate) WriteVerbose(line.TrimEnd('.') + " (only the kernel's validate option minds this).");
            else WriteWarning($"{plan.Request.Target.Description}: {line}");
        }
    }

    private DaxMemoryTarget Target()
    {
        if (NamesMemoryTarget) return ResolveTarget();
        // What Write-DaxFsImage -PassThru returned: where it wrote the image.
        if (InputObject.DmaBuf is { } buf) return buf.ToTarget();
        if (InputObject.TargetKind == nameof(DaxMemoryTargetKind.DaxDevice) && InputObject.Device is { } dev)
            return DaxMemoryTargets.ForDevice(Context, dev);
        if (InputObject.TargetKind == nameof(DaxMemoryTargetKind.PhysicalRange) && InputObject.PhysicalAddress is { } phys)
            return DaxMemoryTargets.ForPhysicalRange(Context, (ulong)phys, (ulong)InputObject.Size);
        throw new DaxLinuxException(DaxErrorKind.InvalidArgument, ErrorIds.UnsupportedMountSource,
            $"{InputObject.Target} ({InputObject.TargetKind}) cannot be mounted: the kernel mounts a dax device, a physical range or a dma-buf.",
            InputObject.Target, Errno.EINVAL);
    }
}
