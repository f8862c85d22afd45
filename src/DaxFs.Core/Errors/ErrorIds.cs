namespace DaxFs.Core.Errors;

/// <summary>
/// The catalogue of error ids (and the ids of build warnings): the stable first part of every FullyQualifiedErrorId the
/// module writes, whether the engine raises the error (<c>DaxLinuxException.ErrorId</c>) or a cmdlet does. An id never
/// changes meaning once released; a new condition gets a new id here. Tests assert these strings, so they are written
/// out (<c>nameof</c>) rather than derived.
/// </summary>
public static class ErrorIds
{
    // Permissions, tools and the system (Linux/)
    public const string DaxctlFailed = nameof(DaxctlFailed);
    public const string DaxctlNotInstalled = nameof(DaxctlNotInstalled);
    public const string DaxctlOutputInvalid = nameof(DaxctlOutputInvalid);
    public const string DmaBufAllocationFailed = nameof(DmaBufAllocationFailed);
    public const string DmaBufNameTooLong = nameof(DmaBufNameTooLong);
    public const string DmaBufSetNameFailed = nameof(DmaBufSetNameFailed);
    public const string DmaHeapNotFound = nameof(DmaHeapNotFound);
    public const string InvalidDmaBufSize = nameof(InvalidDmaBufSize);
    public const string InvalidDmaHeapName = nameof(InvalidDmaHeapName);
    public const string NdctlFailed = nameof(NdctlFailed);
    public const string NdctlNotInstalled = nameof(NdctlNotInstalled);
    public const string NdctlOutputInvalid = nameof(NdctlOutputInvalid);
    public const string NotRoot = nameof(NotRoot);

    // Devices, namespaces and memory targets
    public const string BlockDeviceSizeUnknown = nameof(BlockDeviceSizeUnknown);
    public const string DaxDeviceInSystemRam = nameof(DaxDeviceInSystemRam);
    public const string DaxDeviceMultiRange = nameof(DaxDeviceMultiRange);
    public const string DaxDeviceNotFound = nameof(DaxDeviceNotFound);
    public const string DaxNamespaceNotFound = nameof(DaxNamespaceNotFound);
    public const string DaxRegionNotFound = nameof(DaxRegionNotFound);
    public const string DeviceNodeNotFound = nameof(DeviceNodeNotFound);
    public const string DmaBufClosed = nameof(DmaBufClosed);
    public const string DmaBufUnavailable = nameof(DmaBufUnavailable);
    public const string InvalidDaxDeviceMode = nameof(InvalidDaxDeviceMode);
    public const string InvalidPhysicalRange = nameof(InvalidPhysicalRange);
    public const string MapFailed = nameof(MapFailed);
    public const string MapPermissionDenied = nameof(MapPermissionDenied);
    public const string NamespaceHasNoDaxDevice = nameof(NamespaceHasNoDaxDevice);
    public const string OpenFailed = nameof(OpenFailed);
    public const string PhysicalAddressUnknown = nameof(PhysicalAddressUnknown);
    public const string PhysicalMemoryDeviceMissing = nameof(PhysicalMemoryDeviceMissing);
    public const string PhysicalRangeUnreachable = nameof(PhysicalRangeUnreachable);

    // Mounting and the mount gate
    public const string BackingFileNotFound = nameof(BackingFileNotFound);
    public const string BackingPathHasComma = nameof(BackingPathHasComma);
    public const string DaxFsModuleNotLoaded = nameof(DaxFsModuleNotLoaded);
    public const string DaxFsMountNotFound = nameof(DaxFsMountNotFound);
    public const string ExportDirectoryNotFound = nameof(ExportDirectoryNotFound);
    public const string ExportNeedsSplitImage = nameof(ExportNeedsSplitImage);
    public const string ExportPathHasComma = nameof(ExportPathHasComma);
    public const string ExportWithBackingFile = nameof(ExportWithBackingFile);
    public const string FileSystemNotSupported = nameof(FileSystemNotSupported);
    public const string ImageFailsValidation = nameof(ImageFailsValidation);
    public const string ImageLargerThanMountSize = nameof(ImageLargerThanMountSize);
    public const string MountBusy = nameof(MountBusy);
    public const string MountFailed = nameof(MountFailed);
    public const string MountInfoUnreadable = nameof(MountInfoUnreadable);
    public const string ModuleCannotMountFormat = nameof(ModuleCannotMountFormat);
    public const string MountMemoryUnknown = nameof(MountMemoryUnknown);
    public const string MountOptionNeedsFormat8 = nameof(MountOptionNeedsFormat8);
    public const string MountPointBusy = nameof(MountPointBusy);
    public const string MountPointNotFound = nameof(MountPointNotFound);
    public const string MountSizeTooSmall = nameof(MountSizeTooSmall);
    public const string NoDaxFsImageAtTarget = nameof(NoDaxFsImageAtTarget);
    public const string NotADaxFsMount = nameof(NotADaxFsMount);
    public const string NotMounted = nameof(NotMounted);
    public const string TargetMounted = nameof(TargetMounted);
    public const string UnmountFailed = nameof(UnmountFailed);
    public const string UnsupportedImageVersion = nameof(UnsupportedImageVersion);
    public const string UnsupportedMountSource = nameof(UnsupportedMountSource);

    // Branches of a mounted image
    public const string AbortFailed = nameof(AbortFailed);
    public const string BranchHasChildren = nameof(BranchHasChildren);
    public const string BranchNameInUse = nameof(BranchNameInUse);
    public const string BranchNameInvalid = nameof(BranchNameInvalid);
    public const string BranchNameTooLong = nameof(BranchNameTooLong);
    public const string BranchNotActive = nameof(BranchNotActive);
    public const string BranchNotFound = nameof(BranchNotFound);
    public const string BranchSpaceExhausted = nameof(BranchSpaceExhausted);
    public const string BranchTableFull = nameof(BranchTableFull);
    public const string CommitFailed = nameof(CommitFailed);
    public const string DeltaRegionFull = nameof(DeltaRegionFull);
    public const string DeltaSizeWithoutBranching = nameof(DeltaSizeWithoutBranching);
    public const string ImageHasActiveBranches = nameof(ImageHasActiveBranches);
    public const string ImageNotBranching = nameof(ImageNotBranching);
    public const string MainBranchCannotEnd = nameof(MainBranchCannotEnd);
    public const string ParentBranchNotActive = nameof(ParentBranchNotActive);
    public const string ParentLogFull = nameof(ParentLogFull);
    public const string SmallDeltaRegion = nameof(SmallDeltaRegion);

    // Building, reading, saving and writing images
    public const string BackingFileRequired = nameof(BackingFileRequired);
    public const string CompareReadFailed = nameof(CompareReadFailed);
    public const string DestinationExists = nameof(DestinationExists);
    public const string DestinationIsDirectory = nameof(DestinationIsDirectory);
    public const string DirectoryUnreadable = nameof(DirectoryUnreadable);
    public const string ExportFailed = nameof(ExportFailed);
    /// <summary>New-DaxFsImage: an option of one format generation given for an image of the other (-DeltaSize with -Format 8, -Empty without it...).</summary>
    public const string OptionOfOtherFormat = nameof(OptionOfOtherFormat);
    public const string ImageIsDirectory = nameof(ImageIsDirectory);
    public const string ImageLargerThanTarget = nameof(ImageLargerThanTarget);
    public const string ImageNotFound = nameof(ImageNotFound);
    public const string ImageNotOnFileSystem = nameof(ImageNotOnFileSystem);
    public const string ImageUnreadable = nameof(ImageUnreadable);
    public const string ItemNotAFile = nameof(ItemNotAFile);
    public const string ItemNotFoundInImage = nameof(ItemNotFoundInImage);
    public const string OneImageAtATime = nameof(OneImageAtATime);
    public const string ReferenceNotSingle = nameof(ReferenceNotSingle);
    public const string SaveFailed = nameof(SaveFailed);
    public const string SourceAmbiguous = nameof(SourceAmbiguous);
    public const string SourceNotFound = nameof(SourceNotFound);
    public const string SourceNotOnFileSystem = nameof(SourceNotOnFileSystem);
    public const string SourceUnreadable = nameof(SourceUnreadable);
    public const string NotAContainerImage = nameof(NotAContainerImage);
    public const string UnsupportedFileSkipped = nameof(UnsupportedFileSkipped);
    public const string WriteFailed = nameof(WriteFailed);
    public const string WriteVerificationFailed = nameof(WriteVerificationFailed);

    // Format 8 (no branches; the shared overlay)
    public const string Format8HasNoBranches = nameof(Format8HasNoBranches);
    public const string ImageHasNoOverlay = nameof(ImageHasNoOverlay);
    public const string NoOverlayInFormat5 = nameof(NoOverlayInFormat5);

    // Paths inside images, interrupted writes, two operators at once
    public const string DanglingSymbolicLink = nameof(DanglingSymbolicLink);
    public const string ImageNotAFile = nameof(ImageNotAFile);
    public const string IncompleteWriteAtTarget = nameof(IncompleteWriteAtTarget);
    public const string NotADirectoryInImage = nameof(NotADirectoryInImage);
    public const string PathNotUtf8 = nameof(PathNotUtf8);
    public const string SparseFile = nameof(SparseFile);
    public const string TargetInUse = nameof(TargetInUse);
    public const string TooManySymbolicLinks = nameof(TooManySymbolicLinks);

    /// <summary>Every id of the catalogue.</summary>
    public static IReadOnlyList<string> All { get; } = typeof(ErrorIds).GetFields(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Static)
        .Where(f => f.IsLiteral).Select(f => (string)f.GetRawConstantValue()!).ToArray();
}
