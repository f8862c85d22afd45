using DaxFs.Core.Errors;
using DaxFs.Core.Format;
using DaxFs.Core.Linux;
using DaxFs.Core.Read;
using Microsoft.Win32.SafeHandles;

namespace DaxFs.Core.Operations;

/// <summary>
/// An image read straight from memory, for the reading cmdlets (items, content, branches): the memory of a device node
/// (a dax device, a raw pmem namespace's block device), of a dma-buf, or of a daxfs mount. The superblock is read first
/// and exactly total_size bytes are mapped read-only, so a branch table the kernel is changing is seen as it is now.
/// </summary>
public static class DaxMemoryImages
{
    /// <summary>
    /// The superblock at the start of <paramref name="target"/>; refuses memory without a DAXFS image of this version, or
    /// whose image claims more bytes than the memory holds.
    /// </summary>
    public static Superblock ReadSuperblock(DaxMemoryTarget target)
    {
        ArgumentNullException.ThrowIfNull(target);
        if (target.Size < DaxFsConstants.BlockSize)
            throw new DaxLinuxException(DaxErrorKind.NoImageAtTarget, ErrorIds.NoDaxFsImageAtTarget,
                $"{target.Description} has {target.Size} bytes: not even a superblock fits.", target.Description, Errno.EINVAL);
        Superblock sb;
        bool marked;
        using (var memory = target.OpenImageMemory(DaxFsConstants.BlockSize))
        {
            sb = Superblock.Read(memory.Span(0, Superblock.RecordSize));
            marked = IncompleteWrite.IsMarked(memory.Span(0, IncompleteWrite.MarkerLength));
        }
        if (sb.Magic != DaxFsConstants.SuperMagic && marked)
            throw new DaxLinuxException(DaxErrorKind.NoImageAtTarget, ErrorIds.IncompleteWriteAtTarget,
                $"{target.Description} holds no whole DAXFS image: an image write into it was interrupted before it finished (rule {RuleIds.IncompleteWrite}). " +
                "Write the image again.", target.Description, Errno.EINVAL) { NextStep = NextStep.WriteImage };
        if (sb.Magic != DaxFsConstants.SuperMagic)
            throw new DaxLinuxException(DaxErrorKind.NoImageAtTarget, ErrorIds.NoDaxFsImageAtTarget,
                $"{target.Description} holds no DAXFS image (magic 0x{sb.Magic:x8}, expected 0x{DaxFsConstants.SuperMagic:x8}).",
                target.Description, Errno.EINVAL);
        if (sb.Version != DaxFsConstants.Version)
            throw new DaxLinuxException(DaxErrorKind.NoImageAtTarget, ErrorIds.UnsupportedImageVersion,
                $"The image in {target.Description} is DAXFS version {sb.Version}; DaxFs reads version {DaxFsConstants.Version} only.",
                target.Description, Errno.EINVAL);
        if (sb.TotalSize < DaxFsConstants.BlockSize || sb.TotalSize > (ulong)target.Size)
            throw new DaxLinuxException(DaxErrorKind.ImageTooLarge, ErrorIds.ImageLargerThanTarget,
                $"The image in {target.Description} says it is {sb.TotalSize} bytes (total_size), but the memory has {target.Size}: " +
                "the superblock is damaged or the image belongs to a larger region. Write a whole image.",
                target.Description, Errno.ERANGE) { NextStep = NextStep.WriteImage };
        return sb;
    }

    /// <summary>Maps the image at the start of <paramref name="target"/> read-only: its superblock's total_size bytes.</summary>
    public static ImageMemory Open(DaxMemoryTarget target)
    {
        var sb = ReadSuperblock(target);
        return target.OpenImageMemory((long)sb.TotalSize);
    }

    /// <summary>
    /// The memory behind a device node path: a dax device (/dev/dax0.0, size and align from sysfs) or a block device
    /// (/dev/pmem0, size from /sys/class/block/NAME/size). Null when <paramref name="path"/> is not a node directly under
    /// the device folder that sysfs knows as one of these (then it is read as an image file).
    /// </summary>
    public static DaxMemoryTarget? ForNode(LinuxContext context, string path)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(path);
        string dev = Path.GetFullPath(context.DevRoot).TrimEnd('/') + "/";
        string full = Path.GetFullPath(path);
        if (!full.StartsWith(dev, StringComparison.Ordinal)) return null;
        string name = full[dev.Length..];
        if (name.Length == 0 || name.Contains('/')) return null;
        if (context.Sysfs.Exists($"/sys/bus/dax/devices/{name}")) return DaxMemoryTargets.ForDevice(context, name);
        if (context.Sysfs.Exists($"/sys/class/block/{name}")) return DaxMemoryTargets.ForBlockDevice(context, name);
        return null;
    }

    /// <summary>
    /// Maps the image a daxfs mount shows: the phys= range (through /dev/mem, or the dax device or raw namespace holding
    /// it), or the mount's dma-buf (ioctl DAXFS_IOC_GET_DMABUF on the mount point).
    /// </summary>
    public static ImageMemory OpenMount(LinuxContext context, MountInfoEntry entry)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(entry);
        var options = DaxFsMountOptions.From(entry);
        if (options.DmaBuf)
        {
            SafeFileHandle fd;
            try { fd = context.MountApi.GetDmaBuf(entry.MountPoint); }
            catch (SyscallException ex)
            {
                throw new DaxLinuxException(DaxErrorKind.SystemCallFailed, ErrorIds.DmaBufUnavailable,
                    $"ioctl(DAXFS_IOC_GET_DMABUF) on '{entry.MountPoint}' failed: {Errno.Describe(ex.ErrorNumber)}." +
                    (ex.ErrorNumber == Errno.ESTALE ? " A commit invalidated the branch mounted there; read the memory through another mount of the image." : ""),
                    entry.MountPoint, ex.ErrorNumber, ex);
            }
            // A mapping keeps its own reference to the dma-buf: the fd may close once the image is mapped.
            using (fd)
            {
                long size = options.Size is { } s ? (long)Math.Min(s, long.MaxValue) : Syscalls.lseek(fd, 0, Syscalls.SEEK_END);
                return Open(DaxMemoryTargets.ForDmaBuf(fd, size, $"the dma-buf of '{entry.MountPoint}'"));
            }
        }
        if (options.PhysicalAddress is not { } phys || options.Size is not { } len || len == 0)
            throw new DaxLinuxException(DaxErrorKind.InvalidArgument, ErrorIds.MountMemoryUnknown,
                $"mountinfo shows no phys= and size= for '{entry.MountPoint}', so its memory is unknown.", entry.MountPoint, Errno.EINVAL);
        return Open(DaxMemoryTargets.ForPhysicalRange(context, phys, len));
    }
}
