using System.Globalization;
using DaxFs.Core.Errors;
using DaxFs.Core.Format;
using DaxFs.Core.Linux;
using DaxFs.Core.Read;
using DaxFs.Core.Format.V8;

namespace DaxFs.Core.Operations;

/// <summary>What to mount where.</summary>
public sealed record DaxFsMountRequest
{
    /// <summary>The memory holding the image (a dax device, a physical range or a dma-buf).</summary>
    public required DaxMemoryTarget Target { get; init; }
    public required string MountPoint { get; init; }
    /// <summary>Ask the kernel to check the image structure at mount (the "validate" option).</summary>
    public bool Validate { get; init; }
    /// <summary>Split images: the file holding regular-file data (the "backing" option).</summary>
    public string? BackingFile { get; init; }
    /// <summary>An identifying name shown in the mount options (the "name" option).</summary>
    public string? Name { get; init; }
    /// <summary>Skip the mount gate (<see cref="ImageValidationCheck"/>): the kernel then trusts whatever the memory holds.</summary>
    public bool SkipValidation { get; init; }
    /// <summary>Format 8: the coherence backend (the "mem_model" option); null leaves the module's default (coherent).</summary>
    public DaxFsMemoryModel? MemoryModel { get; init; }
    /// <summary>
    /// Format 8, split images: the directory the base's regular files are read from (the "export" option): the module opens
    /// DIR/PATH for each base regular file at mount and fills the page cache from it (file position, not the image's data
    /// offset), instead of one backing file. Needs a base and a page cache; not with <see cref="BackingFile"/>.
    /// </summary>
    public string? ExportPath { get; init; }
}

/// <summary>The format-8 module's coherence backends (mem_model=): ordinary cache-coherent memory, or CXL 3 shared memory.</summary>
public enum DaxFsMemoryModel
{
    /// <summary>mem_model=coherent: cache-coherent memory (the module's default).</summary>
    Coherent,
    /// <summary>mem_model=cxl3: CXL 3 shared memory across hosts.</summary>
    Cxl3,
}

/// <summary>How a request will be mounted, decided before anything happens.</summary>
public sealed record DaxFsMountPlan
{
    public required DaxFsMountRequest Request { get; init; }
    /// <summary>True: fsopen/fsconfig/fsmount/move_mount (dma-buf). False: mount(2) with phys=/size=.</summary>
    public bool UsesNewMountApi { get; init; }
    /// <summary>phys= (physical start), for mount(2).</summary>
    public ulong PhysicalAddress { get; init; }
    /// <summary>size= for mount(2); the dma-buf's size otherwise. Never below the image's total_size.</summary>
    public ulong Size { get; init; }
    /// <summary>The source string of mount(2) (the device name, or "daxfs").</summary>
    public string Source { get; init; } = "daxfs";
    /// <summary>The image's superblock, once <see cref="DaxFsMounter.Inspect"/> has read it (format 5).</summary>
    public Superblock? Superblock { get; init; }
    /// <summary>The image's superblock, once <see cref="DaxFsMounter.Inspect"/> has read it (format 8).</summary>
    public SuperblockV8? Superblock8 { get; init; }
    /// <summary>The image's format, once <see cref="DaxFsMounter.Inspect"/> has read it.</summary>
    public DaxFsFormat Format => Superblock8 is not null ? DaxFsFormat.Format8 : Superblock is not null ? DaxFsFormat.Format5 : DaxFsFormat.Unknown;
    /// <summary>The image's total_size, once read.</summary>
    public ulong? TotalSize => Superblock8?.TotalSize ?? Superblock?.TotalSize;
    /// <summary>Static images (format 5: no branch table; format 8: no overlay) are mounted read-only (MS_RDONLY / MOUNT_ATTR_RDONLY).</summary>
    public bool ReadOnly { get; init; }
    /// <summary>What <see cref="DaxFsMounter.Inspect"/>'s checks found without refusing (warnings), in order.</summary>
    public IReadOnlyList<ValidationFinding> Findings { get; init; } = Array.Empty<ValidationFinding>();
    /// <summary>True when <see cref="DaxFsMountRequest.SkipValidation"/> kept the gate from running.</summary>
    public bool ValidationSkipped { get; init; }
    /// <summary>The daxfs module the host has loaded, once <see cref="DaxFsMounter.Inspect"/> has read it.</summary>
    public DaxFsKernelModule? Module { get; init; }

    /// <summary>The mem_model= value of the request ("coherent", "cxl3"), or null.</summary>
    public string? MemoryModelOption => Request.MemoryModel switch
    {
        DaxFsMemoryModel.Coherent => "coherent",
        DaxFsMemoryModel.Cxl3 => "cxl3",
        _ => null,
    };

    public DaxFsImageMode? ImageMode => Superblock8 is { } v8
        ? (v8.OverlayOffset == 0 ? DaxFsImageMode.Static : v8.BaseOffset == 0 ? DaxFsImageMode.OverlayOnly
            : v8.PageCacheOffset != 0 ? DaxFsImageMode.Split : DaxFsImageMode.Overlay)
        : Superblock is not { } sb ? null
        : sb.BranchTableEntries == 0 ? DaxFsImageMode.Static
        : sb.PageCacheOffset != 0 ? DaxFsImageMode.Split : DaxFsImageMode.Branching;

    /// <summary>The mount(2) data string: phys=0x…,size=0x…[,validate][,backing=…][,export=…][,name=…][,mem_model=…].</summary>
    public string Options
    {
        get
        {
            var parts = new List<string>();
            if (!UsesNewMountApi)
            {
                parts.Add("phys=0x" + PhysicalAddress.ToString("x", CultureInfo.InvariantCulture));
                parts.Add("size=0x" + Size.ToString("x", CultureInfo.InvariantCulture));
            }
            if (Request.Validate) parts.Add("validate");
            if (Request.BackingFile is not null) parts.Add("backing=" + Request.BackingFile);
            if (Request.ExportPath is not null) parts.Add("export=" + Request.ExportPath);
            if (Request.Name is not null) parts.Add("name=" + Request.Name);
            if (MemoryModelOption is { } model) parts.Add("mem_model=" + model);
            return string.Join(',', parts);
        }
    }

    /// <summary>The fsconfig parameters of the new mount API (dma-buf).</summary>
    public IReadOnlyList<FsParameter> FsParameters
    {
        get
        {
            var list = new List<FsParameter>();
            if (Request.Target.BufferHandle is { } fd) list.Add(FsParameter.FileDescriptor("dmabuf", fd));
            if (Request.BackingFile is not null) list.Add(FsParameter.String("backing", Request.BackingFile));
            if (Request.ExportPath is not null) list.Add(FsParameter.String("export", Request.ExportPath));
            if (Request.Name is not null) list.Add(FsParameter.String("name", Request.Name));
            if (MemoryModelOption is { } model) list.Add(FsParameter.String("mem_model", model));
            if (Request.Validate) list.Add(FsParameter.Flag("validate"));
            return list;
        }
    }

    /// <summary>The exact call, for ShouldProcess: "mount -t daxfs -o phys=…,size=… dax0.0 /mnt" or the fsopen… sequence.</summary>
    public string Description => UsesNewMountApi
        ? NewMountApi.Describe("daxfs", FsParameters, ReadOnly ? MountFlags.MOUNT_ATTR_RDONLY : 0, Request.MountPoint)
        : $"mount(2): mount -t daxfs -o {(ReadOnly ? "ro," : "")}{Options} {Source} {Request.MountPoint}";
}

/// <summary>
/// A check that runs on the image in the target's memory before the mount call: it refuses by throwing
/// <see cref="DaxLinuxException"/>, and returns what is worth reporting without refusing (warnings). The mount safety
/// gate (<see cref="ImageValidationCheck"/>) is one.
/// </summary>
public interface IDaxFsMountCheck
{
    IReadOnlyList<ValidationFinding> Check(ImageMemory image, DaxFsMountPlan plan, CancellationToken cancellationToken);
}

/// <summary>
/// Mounts DAXFS images that sit in memory. Three steps, so a cmdlet can ask ShouldProcess in between:
/// <see cref="Plan"/> (mount point, source, options), <see cref="Inspect"/> (reads the superblock from the target and runs
/// <see cref="Checks"/>: never a size below total_size, which crashes the kernel), <see cref="Mount"/>.
/// </summary>
public sealed class DaxFsMounter
{
    private readonly LinuxContext _ctx;

    public DaxFsMounter(LinuxContext context) { _ctx = context; }

    /// <summary>
    /// Checks run by <see cref="Inspect"/> after the built-in superblock checks, in order. It starts with the mount gate,
    /// <see cref="ImageValidationCheck"/>, which a request skips with <see cref="DaxFsMountRequest.SkipValidation"/>.
    /// </summary>
    public IList<IDaxFsMountCheck> Checks { get; } = new List<IDaxFsMountCheck> { new ImageValidationCheck() };

    public DaxFsMountPlan Plan(DaxFsMountRequest request)
    {
        string mountPoint = MountInfo.NormalizePath(request.MountPoint);
        if (!Directory.Exists(mountPoint))
            throw new DaxLinuxException(DaxErrorKind.MountPointNotFound, ErrorIds.MountPointNotFound,
                $"The mount point '{mountPoint}' does not exist{(File.Exists(mountPoint) ? " as a directory (it is a file)" : "")}.",
                mountPoint, Errno.ENOENT) { NextStep = NextStep.CreateMountPoint };
        var existing = TryFindMount(mountPoint);
        if (existing is not null)
            throw new DaxLinuxException(DaxErrorKind.MountPointBusy, ErrorIds.MountPointBusy,
                $"'{mountPoint}' is already a mount point ({existing.FileSystemType} from {existing.Source})." +
                (existing.FileSystemType == "daxfs" ? "" : $" Dismount it first (umount '{mountPoint}'), or choose another mount point."),
                mountPoint, Errno.EBUSY) { NextStep = existing.FileSystemType == "daxfs" ? NextStep.DismountFirst : NextStep.None };
        if (request.BackingFile is not null && !File.Exists(request.BackingFile))
            throw new DaxLinuxException(DaxErrorKind.NotFound, ErrorIds.BackingFileNotFound,
                $"The backing file '{request.BackingFile}' does not exist.",
                request.BackingFile, Errno.ENOENT) { NextStep = NextStep.GiveBackingFile };

        if (request.ExportPath is not null)
        {
            if (request.BackingFile is not null)
                throw new DaxLinuxException(DaxErrorKind.InvalidArgument, ErrorIds.ExportWithBackingFile,
                    $"A mount reads a split image's file data either from one backing file (backing={request.BackingFile}) or from an export directory (export={request.ExportPath}), " +
                    "not both: the format-8 module refuses the pair. Give the backing file the image was built with, or the directory the image was built from.",
                    request.ExportPath, Errno.EINVAL);
            if (!Directory.Exists(request.ExportPath))
                throw new DaxLinuxException(DaxErrorKind.NotFound, ErrorIds.ExportDirectoryNotFound,
                    $"The export directory '{request.ExportPath}' does not exist{(File.Exists(request.ExportPath) ? " as a directory (it is a file)" : "")}. " +
                    "Give the directory the image was built from: the module reads each base regular file from the same path under it.",
                    request.ExportPath, Errno.ENOENT);
        }

        var target = request.Target;
        request = request with { MountPoint = mountPoint };
        switch (target.Kind)
        {
            case DaxMemoryTargetKind.DmaBuf:
                return new DaxFsMountPlan { Request = request, UsesNewMountApi = true, Size = (ulong)target.Size, Source = "dmabuf" };
            case DaxMemoryTargetKind.DaxDevice:
            case DaxMemoryTargetKind.PhysicalRange:
                if (target.IsMultiRange)
                    throw new DaxLinuxException(DaxErrorKind.DeviceMultiRange, ErrorIds.DaxDeviceMultiRange,
                        $"{target.Description} is made of several physical ranges, and a daxfs mount names one range (phys=, size=). " +
                        "Use a dax device with one range, or place the image in a dma-buf.",
                        target.Device ?? target.Description, Errno.EINVAL) { NextStep = NextStep.SingleRangeDevice };
                if (target.PhysicalAddress is not { } phys)
                    throw new DaxLinuxException(DaxErrorKind.NotRoot, ErrorIds.PhysicalAddressUnknown,
                        $"The physical start of {target.Description} is unknown (sysfs 'resource' is readable by root only). Run as root.",
                        target.Description, Errno.EACCES);
                if (request.BackingFile is not null && request.BackingFile.Contains(','))
                    throw new DaxLinuxException(DaxErrorKind.InvalidArgument, ErrorIds.BackingPathHasComma,
                        $"The backing file path '{request.BackingFile}' contains a comma, which mount(2) options cannot carry. Move or link the file to a path without commas.",
                        request.BackingFile, Errno.EINVAL);
                if (request.ExportPath is not null && request.ExportPath.Contains(','))
                    throw new DaxLinuxException(DaxErrorKind.InvalidArgument, ErrorIds.ExportPathHasComma,
                        $"The export directory '{request.ExportPath}' contains a comma, which mount(2) options cannot carry. Move or link the directory to a path without commas.",
                        request.ExportPath, Errno.EINVAL);
                return new DaxFsMountPlan
                {
                    Request = request, UsesNewMountApi = false, PhysicalAddress = phys, Size = (ulong)target.Size,
                    Source = target.Device ?? "daxfs",
                };
            default:
                throw new DaxLinuxException(DaxErrorKind.InvalidArgument, ErrorIds.UnsupportedMountSource,
                    $"{target.Description} cannot be mounted: the kernel mounts a physical range, a dax device or a dma-buf.", target.Description, Errno.EINVAL);
        }
    }

    /// <summary>
    /// Reads the superblock from the target and refuses what must never reach the kernel: no DAXFS magic, another
    /// version, or a total_size above the size to mount (the kernel crashes on that). Then runs <see cref="Checks"/> on
    /// the image in memory (the mount gate first, unless the request skips it). Returns the plan with the superblock,
    /// the read-only decision and the checks' warnings filled in.
    /// </summary>
    public DaxFsMountPlan Inspect(DaxFsMountPlan plan, CancellationToken cancellationToken = default)
    {
        var target = plan.Request.Target;
        long window = (long)Math.Min(plan.Size, (ulong)target.Size);
        if (window < DaxFsConstants.BlockSize)
            throw new DaxLinuxException(DaxErrorKind.ImageTooLarge, ErrorIds.MountSizeTooSmall,
                $"{target.Description} offers {window} bytes: not even a superblock ({DaxFsConstants.BlockSize} bytes) fits (rule {RuleIds.ImageTruncated}).", target.Description, Errno.EINVAL);

        using var memory = target.OpenImageMemory(window);
        if (ImageFormat.Detect(memory.Span(0, 8)) == DaxFsFormat.Format8)
            return RunChecks(plan, memory, RequireModule(InspectV8(plan, memory)), cancellationToken);
        var sb = Superblock.Read(memory.Span(0, Superblock.RecordSize));
        if (sb.Magic != DaxFsConstants.SuperMagic && IncompleteWrite.IsMarked(memory.Span(0, IncompleteWrite.MarkerLength)))
        {
            // The gate's refusal, whether or not the request skips validation: these bytes are never a mountable image.
            var findings = Validate.ImageValidator.Validate(memory, new Validate.ValidationOptions { CancellationToken = cancellationToken });
            throw new DaxLinuxException(DaxErrorKind.ImageInvalid, ImageValidationCheck.ErrorId,
                ImageValidationCheck.Describe(target.Description, findings.Where(f => f.Severity == FindingSeverity.Error).ToList(), 1) +
                " Write the image again.",
                target.Description, Errno.EINVAL) { Findings = findings, NextStep = NextStep.WriteImage };
        }
        if (sb.Magic != DaxFsConstants.SuperMagic)
            throw new DaxLinuxException(DaxErrorKind.NoImageAtTarget, ErrorIds.NoDaxFsImageAtTarget,
                $"{target.Description} holds no DAXFS image (magic 0x{sb.Magic:x8}, expected 0x{DaxFsConstants.SuperMagic:x8}; rule {RuleIds.SuperMagic}). Write one first.",
                target.Description, Errno.EINVAL) { NextStep = NextStep.WriteImage };
        if (sb.Version != DaxFsConstants.Version)
            throw new DaxLinuxException(DaxErrorKind.NoImageAtTarget, ErrorIds.UnsupportedImageVersion,
                $"The image in {target.Description} is DAXFS version {sb.Version}; DaxFs knows formats {DaxFsConstants.Version} and {DaxFsV8Constants.Version} only (rule {RuleIds.SuperVersion}). Build it again.",
                target.Description, Errno.EINVAL) { NextStep = NextStep.RebuildImage };
        if (sb.TotalSize > plan.Size)
            throw new DaxLinuxException(DaxErrorKind.ImageTooLarge, ErrorIds.ImageLargerThanMountSize,
                $"The image in {target.Description} says it is {sb.TotalSize} bytes (total_size), more than the {plan.Size} bytes to mount (rule {RuleIds.SuperTotalSize}). " +
                "Mounting with a size below the image's crashes the kernel, so DaxFs refuses. The image is truncated or belongs to a larger region: write it again.",
                target.Description, Errno.ERANGE) { NextStep = NextStep.WriteImage };

        var result = plan with { Superblock = sb, ReadOnly = sb.BranchTableEntries == 0, ValidationSkipped = plan.Request.SkipValidation };
        return RunChecks(plan, memory, RequireModule(result), cancellationToken);
    }

    /// <summary>
    /// Refuses an image the loaded daxfs module cannot mount: the format-5 module says "unsupported version 8", the
    /// format-8 one "unsupported version N (expected 8)" for a format-5 image, and format-8 options (mem_model=) are unknown parameters to the
    /// format-5 module. A module DaxFs does not know, or none loaded, is left to the kernel to judge.
    /// </summary>
    private DaxFsMountPlan RequireModule(DaxFsMountPlan plan)
    {
        var module = DaxFsKernelModule.Read(_ctx.Sysfs);
        var target = plan.Request.Target;
        int format = (int)plan.Format;
        if (plan.Request.MemoryModel is not null && plan.Format != DaxFsFormat.Format8)
            throw new DaxLinuxException(DaxErrorKind.InvalidArgument, ErrorIds.MountOptionNeedsFormat8,
                $"The memory model (mem_model={plan.MemoryModelOption}) is an option of the format-8 module, and the image in {target.Description} is format {format}: " +
                "the format-5 module refuses the option. Mount without a memory model, or rebuild the image in format 8 and load the format-8 daxfs module.",
                target.Description, Errno.EINVAL) { NextStep = NextStep.RebuildInFormat, NextStepSubject = "8" };
        if (plan.Request.ExportPath is not null && plan.Format != DaxFsFormat.Format8)
            throw new DaxLinuxException(DaxErrorKind.InvalidArgument, ErrorIds.MountOptionNeedsFormat8,
                $"An export directory (export={plan.Request.ExportPath}) is an option of the format-8 module, and the image in {target.Description} is format {format}: " +
                "the format-5 module refuses the option. Mount a format-5 split image with its backing file, or rebuild the image in format 8 and load the format-8 daxfs module.",
                target.Description, Errno.EINVAL) { NextStep = NextStep.RebuildInFormat, NextStepSubject = "8" };
        if (module.Refuses(plan.Format))
        {
            int other = (int)module.Format;
            throw new DaxLinuxException(DaxErrorKind.WrongModule, ErrorIds.ModuleCannotMountFormat,
                $"The image in {target.Description} is DAXFS format {format}, and this host has loaded the {module.Description} ({DaxFsKernelModule.SysfsPath}), " +
                $"which mounts format {other} only (it would refuse with 'unsupported version {format}'). Either load the format-{format} module " +
                $"(after every daxfs mount is gone: rmmod daxfs, then insmod the format-{format} daxfs.ko), or rebuild the image in format {other} for the loaded module.",
                target.Description, Errno.EINVAL) { NextStep = NextStep.RebuildInFormat, NextStepSubject = other.ToString(CultureInfo.InvariantCulture) };
        }
        return plan with { Module = module };
    }

    /// <summary>Format 8: the superblock, the total_size refusal, and read-only exactly when the image has no overlay (as the kernel decides).</summary>
    private static DaxFsMountPlan InspectV8(DaxFsMountPlan plan, ImageMemory memory)
    {
        var target = plan.Request.Target;
        var sb = SuperblockV8.Read(memory.Span(0, SuperblockV8.RecordSize));
        if (sb.TotalSize > plan.Size)
            throw new DaxLinuxException(DaxErrorKind.ImageTooLarge, ErrorIds.ImageLargerThanMountSize,
                $"The image in {target.Description} says it is {sb.TotalSize} bytes (total_size), more than the {plan.Size} bytes to mount (rule {RuleIds.SuperTotalSize}). " +
                "Its regions past the mount size would be outside the memory the kernel maps, so DaxFs refuses. The image is truncated or belongs to a larger region: write it again.",
                target.Description, Errno.ERANGE) { NextStep = NextStep.WriteImage };
        if (plan.Request.ExportPath is { } export && (sb.PageCacheOffset == 0 || sb.BaseOffset == 0))
            throw new DaxLinuxException(DaxErrorKind.InvalidArgument, ErrorIds.ExportNeedsSplitImage,
                $"The image in {target.Description} has no {(sb.BaseOffset == 0 ? "base" : "page cache")}, and an export directory (export={export}) serves a split image's " +
                $"base files through its page cache: the format-8 module refuses with \"'export' requires a {(sb.BaseOffset == 0 ? "base image" : "pcache region")}\". " +
                "Mount it without an export directory, or build a split format-8 image of the directory (one with a backing file) and mount that with the directory.",
                target.Description, Errno.EINVAL);
        return plan with { Superblock8 = sb, ReadOnly = sb.OverlayOffset == 0, ValidationSkipped = plan.Request.SkipValidation };
    }

    private DaxFsMountPlan RunChecks(DaxFsMountPlan plan, ImageMemory memory, DaxFsMountPlan result, CancellationToken cancellationToken)
    {
        var found = new List<ValidationFinding>();
        foreach (var check in Checks)
        {
            if (plan.Request.SkipValidation && check is ImageValidationCheck) continue;
            found.AddRange(check.Check(memory, result, cancellationToken));
        }
        return result with { Findings = found };
    }

    /// <summary>Mounts; returns the new mount as mountinfo shows it (null if it cannot be found there).</summary>
    public MountInfoEntry? Mount(DaxFsMountPlan plan)
    {
        string target = plan.Request.MountPoint;
        // daxfs gives its reasons only to the kernel log: watch it across the call.
        using var log = _ctx.KernelLog.Watch();
        if (plan.UsesNewMountApi)
        {
            NewMountApi.Mount(_ctx.MountApi, "daxfs", plan.FsParameters, plan.ReadOnly ? MountFlags.MOUNT_ATTR_RDONLY : 0, target, log);
        }
        else
        {
            try { _ctx.MountApi.Mount(plan.Source, target, "daxfs", plan.ReadOnly ? MountFlags.MS_RDONLY : 0, plan.Options); }
            catch (SyscallException ex) { throw MountErrors.FromSyscall(ex, "daxfs", target, Array.Empty<string>(), kernelLog: KernelLogRecord.Of(log.ReadNew(), "daxfs")); }
        }
        return TryFindMount(target);
    }

    /// <summary>Unmounts a daxfs mount (refuses other file systems unless <paramref name="anyFileSystem"/>).</summary>
    public void Unmount(string mountPoint, bool lazy = false, bool force = false, bool anyFileSystem = false)
    {
        string p = MountInfo.NormalizePath(mountPoint);
        FindMount(p, anyFileSystem);
        int flags = MountFlags.UMOUNT_NOFOLLOW | (lazy ? MountFlags.MNT_DETACH : 0) | (force ? MountFlags.MNT_FORCE : 0);
        try { _ctx.MountApi.Unmount(p, flags); }
        catch (SyscallException ex) when (ex.ErrorNumber == Errno.EBUSY)
        {
            throw new DaxLinuxException(DaxErrorKind.MountPointBusy, ErrorIds.MountBusy,
                $"'{p}' is busy: files on it are open or a process works in it (fuser -vm '{p}' shows which). Close them, or detach it now and let it go when unused (a lazy unmount).",
                p, ex.ErrorNumber, ex) { NextStep = NextStep.DismountLazily };
        }
        catch (SyscallException ex) when (ex.ErrorNumber is Errno.EPERM or Errno.EACCES)
        {
            throw new DaxLinuxException(DaxErrorKind.NotRoot, ErrorIds.NotRoot, $"umount2('{p}') was refused ({Errno.Describe(ex.ErrorNumber)}). Run as root.", p, ex.ErrorNumber, ex);
        }
        catch (SyscallException ex)
        {
            throw new DaxLinuxException(DaxErrorKind.SystemCallFailed, ErrorIds.UnmountFailed, $"umount2('{p}') failed: {Errno.Describe(ex.ErrorNumber)}.", p, ex.ErrorNumber, ex);
        }
    }

    /// <summary>daxfs mounts whose memory overlaps the target's physical range: writing there changes a live file
    /// system. Empty when the target's physical start is unknown (dma-bufs, or no root).</summary>
    public IReadOnlyList<MountInfoEntry> MountsOver(DaxMemoryTarget target)
    {
        if (target.PhysicalAddress is not { } start) return Array.Empty<MountInfoEntry>();
        ulong end = start + (ulong)target.Size;
        return ListMounts().Where(m =>
        {
            var o = DaxFsMountOptions.From(m);
            return o.PhysicalAddress is { } p && o.Size is { } n && p < end && start < p + n;
        }).ToList();
    }

    /// <summary>The mount at <paramref name="mountPoint"/>; throws NotMounted when there is none, NotADaxFsMount when it
    /// is another file system (unless <paramref name="anyFileSystem"/>).</summary>
    public MountInfoEntry FindMount(string mountPoint, bool anyFileSystem = false)
    {
        string p = MountInfo.NormalizePath(mountPoint);
        var entry = TryFindMount(p) ?? throw new DaxLinuxException(DaxErrorKind.NotMounted, ErrorIds.NotMounted,
            $"'{p}' is not a mount point.", p, Errno.EINVAL) { NextStep = NextStep.ListMounts };
        if (entry.FileSystemType != "daxfs" && !anyFileSystem)
            throw new DaxLinuxException(DaxErrorKind.NotMounted, ErrorIds.NotADaxFsMount,
                $"'{p}' is a {entry.FileSystemType} mount, not daxfs; DaxFs leaves it alone. Use umount for other file systems.", p, Errno.EINVAL);
        return entry;
    }

    /// <summary>daxfs mounts from mountinfo.</summary>
    public IReadOnlyList<MountInfoEntry> ListMounts() => ReadMountInfo().Where(e => e.FileSystemType == "daxfs").ToList();

    public IReadOnlyList<MountInfoEntry> ReadMountInfo()
    {
        try { return MountInfo.Read(_ctx.MountInfoPath); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new DaxLinuxException(DaxErrorKind.SystemCallFailed, ErrorIds.MountInfoUnreadable,
                $"Cannot read {_ctx.MountInfoPath}: {ex.Message}. Is /proc mounted?", _ctx.MountInfoPath, Errno.EIO, ex);
        }
    }

    private MountInfoEntry? TryFindMount(string mountPoint) => MountInfo.FindMountAt(ReadMountInfo(), mountPoint);
}

/// <summary>The daxfs fields of a mount, read from its super options (phys=, size=, source=dmabuf, static, branch=…, overlay, export).</summary>
public sealed record DaxFsMountOptions
{
    public ulong? PhysicalAddress { get; init; }
    public ulong? Size { get; init; }
    public bool DmaBuf { get; init; }
    public bool Static { get; init; }
    /// <summary>"/main" or "/main/child": the branch path the kernel shows.</summary>
    public string? Branch { get; init; }
    public string? Name { get; init; }
    public bool HasBackingFile { get; init; }
    /// <summary>Format 8: the image has a shared overlay and is mounted read-write through it ("overlay").</summary>
    public bool Overlay { get; init; }
    /// <summary>Format 8: the page cache is exported ("export").</summary>
    public bool Export { get; init; }

    /// <summary>
    /// The format of the mounted image, from what the module shows: the format-5 module always shows "static" or
    /// "branch=" (and "backing=&lt;path&gt;" for split images); the format-8 module shows neither, only "overlay" when the
    /// image has one (measured in the VM: "ro,phys=…,size=…" for a static format-8 image, "rw,…,overlay" with an overlay).
    /// </summary>
    public DaxFsFormat Format => Static || Branch is not null || HasBackingFile ? DaxFsFormat.Format5 : DaxFsFormat.Format8;

    public static DaxFsMountOptions From(MountInfoEntry e)
    {
        ulong? phys = null, size = null;
        bool dmabuf = false, isStatic = false, backing = false, overlay = false, export = false;
        string? branch = null, name = null;
        foreach (var (k, v) in e.SuperOptionList)
        {
            switch (k)
            {
                case "phys" when SysfsValues.TryParseUInt64(v, out ulong p): phys = p; break;
                case "size" when SysfsValues.TryParseUInt64(v, out ulong s): size = s; break;
                case "source" when v == "dmabuf": dmabuf = true; break;
                case "static": isStatic = true; break;
                case "branch": branch = v; break;
                case "name": name = v; break;
                case "backing": backing = true; break;
                case "overlay" when v is null: overlay = true; break;
                case "export" when v is null: export = true; break;
            }
        }
        return new DaxFsMountOptions
        {
            PhysicalAddress = phys, Size = size, DmaBuf = dmabuf, Static = isStatic, Branch = branch, Name = name, HasBackingFile = backing,
            Overlay = overlay, Export = export,
        };
    }
}
