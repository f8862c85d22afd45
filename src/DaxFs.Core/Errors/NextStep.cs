namespace DaxFs.Core.Errors;

/// <summary>
/// What an operator does next about an engine error, as a fact. The engine's message describes the problem (and any next
/// step that needs no command); where the next step is a command of the module (a cmdlet, a parameter), the engine names
/// it here and the module words it (src/DaxFs/Internal/NextSteps.cs), since only the module knows its own surface.
/// <c>ArchitectureTests</c> fails when an engine string names a cmdlet or a parameter.
/// </summary>
public enum NextStep
{
    /// <summary>The message says all there is to do.</summary>
    None,

    // The host
    /// <summary>Run as root, or see what would be done without doing it.</summary>
    RunAsRootOrPreview,
    /// <summary>A mount point is missing: create the directory (the error's target).</summary>
    CreateMountPoint,
    /// <summary>The mount point or the memory is in use: look at the daxfs mounts, dismount, or use another mount point.</summary>
    CheckMounts,
    /// <summary>A daxfs mount is already at the mount point (the error's target): dismount it first, or use another mount point.</summary>
    DismountFirst,
    /// <summary>Not a mount point: list the daxfs mounts.</summary>
    ListMounts,
    /// <summary>A mount is busy: a lazy unmount (of the error's target) detaches it now.</summary>
    DismountLazily,
    /// <summary>Another process holds the memory: wait for it (the subject is its process id).</summary>
    WaitForProcess,

    // Devices, namespaces, regions
    /// <summary>A tool made a namespace but printed none: list the namespaces.</summary>
    ListNamespaces,
    /// <summary>A dax device or namespace name is unknown: list both.</summary>
    ListDevicesAndNamespaces,
    /// <summary>A dax device name is unknown: list the devices.</summary>
    ListDevices,
    /// <summary>No such dax device: list them, or make one from a devdax namespace.</summary>
    ListOrCreateDevices,
    /// <summary>A block device name is unknown: list the namespaces (lsblk lists block devices).</summary>
    ListBlockNamespaces,
    /// <summary>The dax device (the error's target) must be put back in devdax mode.</summary>
    SetDevdaxMode,
    /// <summary>daxctl refuses to convert memory the kernel onlines by itself unless forced.</summary>
    ForceConversion,
    /// <summary>A label-less NVDIMM: reconfigure its one namespace instead of creating one.</summary>
    ReconfigureNamespace,
    /// <summary>A region name is unknown: list the regions.</summary>
    ListRegions,
    /// <summary>A region has no room: see each region's available size.</summary>
    ShowRegionSpace,
    /// <summary>A size or alignment was refused: see each region's alignment.</summary>
    ShowRegionAlignment,
    /// <summary>The target is too small for the image: make a larger namespace.</summary>
    LargerNamespace,
    /// <summary>A device of several ranges cannot be mounted by phys=: pick a device with one range.</summary>
    SingleRangeDevice,
    /// <summary>A physical range cannot be reached: name the dax device that holds the memory instead.</summary>
    UseDevice,
    /// <summary>A physical range of size zero: give a size.</summary>
    GiveSize,

    // Images in memory
    /// <summary>The memory holds no whole image: write one (the mount cmdlet adds its own target).</summary>
    WriteImage,
    /// <summary>What was read back differs: check the daxfs mounts (something else may write to the memory), then write again.</summary>
    CheckMountsAndWriteAgain,
    /// <summary>The image is of a version DaxFs does not know: build it again.</summary>
    RebuildImage,
    /// <summary>The mount gate refused the image: validate the file, rebuild, write again, or skip the gate knowingly.</summary>
    ValidateRebuildOrSkip,
    /// <summary>The backing file of a split image is missing: it is the file the build wrote beside the image.</summary>
    GiveBackingFile,

    // Branches
    /// <summary>The branch name is taken or not allowed: choose another.</summary>
    OtherBranchName,
    /// <summary>The branch name is too long: choose a shorter one.</summary>
    ShorterBranchName,
    /// <summary>An active branch has the name: choose another, or mount that branch.</summary>
    OtherBranchNameOrMountIt,
    /// <summary>The image is static: build a branching one.</summary>
    BuildBranchingImage,
    /// <summary>The branch table is full for good: build a new branching image and write it.</summary>
    RebuildBranchingImage,
    /// <summary>The delta region is too small: build the image with a larger delta region.</summary>
    LargerDeltaRegion,
    /// <summary>The parent branch is gone: use a mount of an active branch as the parent.</summary>
    UseActiveParent,
    /// <summary>The parent branch went stale: dismount it and use an active branch as the parent.</summary>
    DismountStaleParent,
    /// <summary>The mount point for the branch is taken: choose another.</summary>
    OtherMountPoint,
    /// <summary>Main cannot end: mount a child branch and end that.</summary>
    MountChildBranch,
    /// <summary>The branch went stale: dismount it.</summary>
    DismountStaleBranch,
    /// <summary>Kernels (here or on other hosts sharing the memory) have branches of the image mounted: unmount them where
    /// they are (the subject is the node whose branch table lists them), or write/destroy anyway when none is used any more.</summary>
    UnmountActiveBranches,

    // Image files
    /// <summary>A directory was given as an image: build one from it (the error's target).</summary>
    BuildFromDirectory,
    /// <summary>The destination exists: replace it on purpose.</summary>
    ReplaceExisting,
    /// <summary>The image is damaged or hostile: list every finding.</summary>
    ValidateImage,
    /// <summary>The image is of the other DAXFS generation than the loaded module: build it again in the format that is the
    /// subject (5 or 8) and write it.</summary>
    RebuildInFormat,

    // Building images
    /// <summary>A split image was asked for without a backing file: name one.</summary>
    NameBackingFile,
    /// <summary>The destination's folder is inside the source tree: leave that folder out of the image (the subject is the
    /// folder, relative to the source).</summary>
    ExcludeDestinationFolder,
    /// <summary>Entries of the source cannot be read: fix their permissions, or leave them out of the image.</summary>
    ExcludeUnreadable,
    /// <summary>FIFOs, sockets or device nodes in the source: leave them out by name, or skip every such entry.</summary>
    ExcludeOrSkipUnsupported,
    /// <summary>Sparse files grow the image: leave them out if they should not be in it.</summary>
    ExcludeIfUnwanted,
    /// <summary>No image or several of the asked tag in a container image: name one of the tags it lists.</summary>
    ChooseReference,
    /// <summary>No image of the asked platform in a container image: name one of the platforms (and tags) it lists.</summary>
    ChoosePlatform,
    /// <summary>The only image is of another platform than the one asked for: ask for that platform (the subject) to build it.</summary>
    BuildOtherPlatform,
}
