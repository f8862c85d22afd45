using DaxFs.Core.Build;
using DaxFs.Core.Errors;
using DaxFs.Core.Linux;
using DaxFs.Core.Operations;

namespace DaxFs.Internal;

/// <summary>
/// The engine's <see cref="NextStep"/> facts worded for an operator at the PowerShell prompt: which cmdlet and which
/// parameter do it. The engine describes the problem and never names the module's surface; this is the one place that
/// does, so a renamed parameter is renamed here (and <c>ArchitectureTests</c> keeps the engine free of it).
/// </summary>
internal static class NextSteps
{
    /// <summary>The sentence for <paramref name="step"/>; <paramref name="target"/> is what it acts on (the error's target: a
    /// device, a mount point, a path; or its subject: a process id) where the sentence names it. Null for <see cref="NextStep.None"/>.</summary>
    public static string? Text(NextStep step, string? target = null) => step switch
    {
        NextStep.None => null,
        NextStep.RunAsRootOrPreview => "Run PowerShell as root (sudo pwsh), or use -WhatIf to see what would be done.",
        NextStep.CreateMountPoint => $"Create it first: New-Item -ItemType Directory '{target}'.",
        NextStep.CheckMounts => "Check Get-DaxFsMount, dismount it, or choose another mount point.",
        NextStep.DismountFirst => $"Dismount it first (Dismount-DaxFs '{target}'), or choose another mount point.",
        NextStep.ListMounts => "List daxfs mounts with Get-DaxFsMount.",
        NextStep.DismountLazily => $"Dismount-DaxFs '{target}' -Lazy does that.",
        NextStep.WaitForProcess => $"Wait-Process -Id {target} waits for it.",
        NextStep.ListNamespaces => "List the namespaces with Get-DaxNamespace to see what it made.",
        NextStep.ListDevicesAndNamespaces => "Get-DaxDevice and Get-DaxNamespace list the names.",
        NextStep.ListDevices => "Get-DaxDevice lists the devices.",
        NextStep.ListOrCreateDevices => "List the devices with Get-DaxDevice; a devdax namespace makes one: New-DaxNamespace -Mode devdax.",
        NextStep.ListBlockNamespaces => "Get-DaxNamespace lists the namespaces and their block devices.",
        NextStep.SetDevdaxMode => $"Set-DaxDevice {target} -Mode devdax does that.",
        NextStep.ForceConversion => "Add -Force to convert anyway.",
        NextStep.ReconfigureNamespace => "New-DaxNamespace -Reconfigure namespaceX.Y -Mode ... does that.",
        NextStep.ListRegions => "Get-DaxRegion lists the regions.",
        NextStep.ShowRegionSpace => "Get-DaxRegion shows each region's AvailableSize and MaxAvailableExtent.",
        NextStep.ShowRegionAlignment => "Get-DaxRegion shows each region's Align.",
        NextStep.LargerNamespace => "New-DaxNamespace -Size makes a larger namespace.",
        NextStep.SingleRangeDevice => "The devices with one range: Get-DaxDevice | Where-Object { $_.Mappings.Count -le 1 }.",
        NextStep.UseDevice => "Use -Device for memory a dax device holds.",
        NextStep.GiveSize => "Give a non-zero -Size.",
        NextStep.WriteImage => "Write-DaxFsImage writes it.",
        NextStep.CheckMountsAndWriteAgain => "Get-DaxFsMount lists the daxfs mounts.",
        NextStep.RebuildImage => "New-DaxFsImage builds it.",
        NextStep.ValidateRebuildOrSkip =>
            "Run Test-DaxFsImage -Detailed on the image file you wrote here, rebuild it with New-DaxFsImage and write it again with Write-DaxFsImage; " +
            "mount with -SkipValidation only if you know this image is safe for the kernel.",
        NextStep.GiveBackingFile => "It is the file New-DaxFsImage -BackingFile wrote beside the image.",
        NextStep.OtherBranchName => "Choose another -Name.",
        NextStep.ShorterBranchName => "Choose a shorter -Name.",
        NextStep.OtherBranchNameOrMountIt => "Choose another -Name, or mount that branch.",
        NextStep.BuildBranchingImage => "Build a branching one with New-DaxFsImage -Branching.",
        NextStep.RebuildBranchingImage => "Build a new image with New-DaxFsImage -Branching and write it again.",
        NextStep.LargerDeltaRegion => DeltaSize,
        NextStep.UseActiveParent => "Mount a branch of it that is active (Get-DaxFsMount) and use that as -Parent.",
        NextStep.DismountStaleParent => "Dismount it (Dismount-DaxFs) and use an active branch as -Parent.",
        NextStep.OtherMountPoint => "Choose another -MountPoint.",
        NextStep.MountChildBranch => "New-DaxFsBranch mounts one.",
        NextStep.DismountStaleBranch => "Dismount-DaxFs does that.",
        NextStep.UnmountActiveBranches => $"Get-DaxFsBranch {target} lists them; -Force goes ahead when no kernel uses them any more.",
        NextStep.BuildFromDirectory => $"To build an image from it, run New-DaxFsImage -Path '{target}'.",
        NextStep.ReplaceExisting => "Use -Force to replace it.",
        NextStep.ValidateImage => "Test-DaxFsImage -Detailed lists what is wrong with it.",
        NextStep.RebuildInFormat => $"New-DaxFsImage -Format {target} builds it in that format; Write-DaxFsImage places it.",
        NextStep.NameBackingFile => "Give -BackingFile.",
        NextStep.ExcludeDestinationFolder => $"-Exclude '{target}' leaves that folder out.",
        NextStep.ExcludeUnreadable => "-Exclude leaves paths out of the image.",
        NextStep.ExcludeOrSkipUnsupported => "Exclude them with -Exclude, or leave them out with -SkipUnsupported.",
        NextStep.ExcludeIfUnwanted => "Exclude them with -Exclude if they should not be in the image.",
        NextStep.ChooseReference => "Give one of these tags with -Reference.",
        NextStep.ChoosePlatform => "Choose one with -Platform (and -Reference).",
        NextStep.BuildOtherPlatform => $"-Platform {target} builds it anyway.",
        _ => null,
    };

    /// <summary>What sets a delta region's size (the advice of every "no room for a branch" message and warning).</summary>
    public const string DeltaSize =
        "New-DaxFsImage -DeltaSize sets the region's size when the image is built (-DeltaSize 2MB or more for one child): " +
        "rebuild the image with a larger -DeltaSize and write it again.";

    /// <summary>Writing an image into <paramref name="target"/> again, as a command with the target's parameters.</summary>
    public static string WriteImage(DaxMemoryTarget target) => target.Kind switch
    {
        DaxMemoryTargetKind.DaxDevice when target.Device is not null => $"Write-DaxFsImage IMAGE -Device {target.Device} writes it.",
        DaxMemoryTargetKind.DmaBuf => "Write-DaxFsImage IMAGE -DmaBuf $buffer writes it.",
        DaxMemoryTargetKind.PhysicalRange or DaxMemoryTargetKind.DaxDevice =>
            $"Write-DaxFsImage IMAGE -PhysicalAddress 0x{target.PhysicalAddress ?? target.NodeOffset:x} -Size {target.Size} writes it.",
        _ => "Write-DaxFsImage writes it.",
    };

    /// <summary><paramref name="ex"/> with its next step worded after its message (itself when it has none).</summary>
    public static DaxLinuxException Worded(DaxLinuxException ex) =>
        Text(ex.NextStep, ex.NextStepSubject ?? ex.Target) is { } text ? ex.WithNextStep(text) : ex;

    /// <summary>A build error with its next step worded after its message (itself when it has none).</summary>
    public static DaxFsBuildException Worded(DaxFsBuildException ex) =>
        Text(ex.NextStep, ex.NextStepSubject) is { } text ? ex.WithNextStep(text) : ex;

    /// <summary>A build warning's message with its next step worded after it.</summary>
    public static string Worded(BuildWarning warning) =>
        Text(warning.NextStep) is { } text ? warning.Message.TrimEnd() + " " + text : warning.Message;
}
