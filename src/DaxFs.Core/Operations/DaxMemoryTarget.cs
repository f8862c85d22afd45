using System.Runtime.InteropServices;
using DaxFs.Core.Errors;
using DaxFs.Core.Linux;
using DaxFs.Core.Read;
using Microsoft.Win32.SafeHandles;

namespace DaxFs.Core.Operations;

/// <summary>Where an image lives in memory.</summary>
public enum DaxMemoryTargetKind
{
    /// <summary>A device-dax node (/dev/daxX.Y): mmap only, in multiples of its align.</summary>
    DaxDevice,
    /// <summary>A physical address range through /dev/mem (or the device that holds it).</summary>
    PhysicalRange,
    /// <summary>A dma-buf fd.</summary>
    DmaBuf,
    /// <summary>A plain file (tests; an image file that plays memory).</summary>
    File,
    /// <summary>A block device whose memory is mapped through its node (a raw pmem namespace: /dev/pmem0).</summary>
    BlockDevice,
}

/// <summary>
/// A memory region an image can be written to, read from and mounted from: a dax device, a physical range, a dma-buf or
/// a plain file. Every access is an mmap(MAP_SHARED) window whose offset and length are widened to the target's
/// granularity (the dax device's align, else the page size), so callers may ask for any range inside
/// <see cref="Size"/>. Create with <see cref="DaxMemoryTargets"/>.
/// </summary>
public sealed class DaxMemoryTarget
{
    private readonly Func<bool, SafeHandle> _open;
    private readonly bool _ownsOpenedHandle;

    internal DaxMemoryTarget(DaxMemoryTargetKind kind, string description, string nodePath, long size, ulong nodeOffset, long granularity,
        Func<bool, SafeHandle> open, bool ownsOpenedHandle)
    {
        Kind = kind;
        Description = description;
        NodePath = nodePath;
        Size = size;
        NodeOffset = nodeOffset;
        Granularity = Math.Max(granularity, Environment.SystemPageSize);
        _open = open;
        _ownsOpenedHandle = ownsOpenedHandle;
    }

    public DaxMemoryTargetKind Kind { get; }
    /// <summary>"dax0.0", "physical range 0x100000000+0x4000000", "dma-buf (system heap, fd 7)", a file path.</summary>
    public string Description { get; }
    /// <summary>The node that is mapped: /dev/dax0.0, /dev/mem, /dev/pmem0, a file; "dma-buf" for a dma-buf.</summary>
    public string NodePath { get; }
    /// <summary>Bytes available from the target's start.</summary>
    public long Size { get; }
    /// <summary>Offset of the target's first byte inside <see cref="NodePath"/> (the physical address for /dev/mem).</summary>
    public ulong NodeOffset { get; }
    /// <summary>mmap offsets and lengths are multiples of this.</summary>
    public long Granularity { get; }
    /// <summary>The dax device name, when the target is (or goes through) one.</summary>
    public string? Device { get; init; }
    /// <summary>Physical start of the target when known (device resource, or the range asked for).</summary>
    public ulong? PhysicalAddress { get; init; }
    /// <summary>The dax device behind the target is made of several physical ranges (it maps contiguously through its
    /// node, but no single phys=/size= pair describes it).</summary>
    public bool IsMultiRange { get; init; }
    /// <summary>The heap a dma-buf came from.</summary>
    public string? Heap { get; init; }
    /// <summary>The dma-buf fd (owned by the caller), for DMA_BUF_IOCTL_SYNC and FSCONFIG_SET_FD.</summary>
    public SafeHandle? BufferHandle { get; init; }

    /// <summary>The mmap call a window over [offset, offset+length) makes, for -WhatIf and -Verbose.</summary>
    public string DescribeMap(long offset, long length, bool writable)
    {
        var (start, mapLength, _) = Widen(offset, length);
        return $"mmap({NodePath}, offset 0x{start:x}, length 0x{mapLength:x}, {(writable ? "PROT_READ|PROT_WRITE" : "PROT_READ")}, MAP_SHARED)";
    }

    /// <summary>Maps [offset, offset+length) of the target. The window unmaps when disposed.</summary>
    public unsafe MemoryWindow Map(long offset, long length, bool writable)
    {
        if (offset < 0 || length <= 0 || offset > Size || length > Size - offset)
            throw new ArgumentOutOfRangeException(nameof(length), $"[{offset}, {offset}+{length}) is outside {Description} ({Size} bytes).");
        var (start, mapLength, delta) = Widen(offset, length);
        SafeHandle fd = _open(writable);
        try
        {
            bool added = false;
            fd.DangerousAddRef(ref added);
            try
            {
                IntPtr p = Syscalls.mmap(IntPtr.Zero, (nuint)mapLength, writable ? Syscalls.PROT_READ | Syscalls.PROT_WRITE : Syscalls.PROT_READ,
                    Syscalls.MAP_SHARED, fd, (long)start);
                if (p == Syscalls.MAP_FAILED)
                    throw MapError(Syscalls.LastErrno, start, mapLength, writable);
                return new MemoryWindow(p, mapLength, (IntPtr)((byte*)p + delta), length);
            }
            finally { if (added) fd.DangerousRelease(); }
        }
        finally
        {
            if (_ownsOpenedHandle) fd.Dispose();
        }
    }

    /// <summary>A read-only <see cref="ImageMemory"/> over the target's first <paramref name="length"/> bytes (default:
    /// all of it), for the reader and the validator.</summary>
    public ImageMemory OpenImageMemory(long? length = null)
    {
        long n = length ?? Size;
        var window = Map(0, n, writable: false);
        return new PointerImageMemory(window.Pointer, n, Description, window);
    }

    private (ulong Start, long Length, long Delta) Widen(long offset, long length)
    {
        ulong absolute = NodeOffset + (ulong)offset;
        ulong g = (ulong)Granularity;
        ulong start = absolute / g * g;
        long delta = (long)(absolute - start);
        long mapLength = (long)(((ulong)(delta + length) + g - 1) / g * g);
        return (start, mapLength, delta);
    }

    private DaxLinuxException MapError(int errno, ulong start, long length, bool writable)
    {
        string call = $"mmap({NodePath}, offset 0x{start:x}, length 0x{length:x}{(writable ? ", writable" : "")})";
        if (errno is Errno.EPERM or Errno.EACCES)
            return new DaxLinuxException(Kind == DaxMemoryTargetKind.PhysicalRange ? DaxErrorKind.PhysicalRangeUnreachable : DaxErrorKind.PermissionDenied,
                Kind == DaxMemoryTargetKind.PhysicalRange ? ErrorIds.PhysicalRangeUnreachable : ErrorIds.MapPermissionDenied,
                $"{call} was refused ({Errno.Describe(errno)}). " + (Kind == DaxMemoryTargetKind.PhysicalRange
                    ? "The kernel restricts /dev/mem (CONFIG_STRICT_DEVMEM/CONFIG_IO_STRICT_DEVMEM) and no dax device or raw namespace holds this range."
                    : "Run as root."), Description, errno) { NextStep = Kind == DaxMemoryTargetKind.PhysicalRange ? NextStep.UseDevice : NextStep.None };
        return new DaxLinuxException(DaxErrorKind.SystemCallFailed, ErrorIds.MapFailed,
            $"{call} failed: {Errno.Describe(errno)}." + (errno == Errno.EINVAL && Kind == DaxMemoryTargetKind.DaxDevice
                ? $" A dax device maps only in multiples of its align ({Granularity} bytes)." : ""), Description, errno);
    }

    public override string ToString() => Description;
}

/// <summary>A mapped window; <see cref="Pointer"/> is the first byte asked for. Unmaps on dispose.</summary>
public sealed unsafe class MemoryWindow : IDisposable
{
    private IntPtr _base;
    private readonly long _mapLength;

    // The mapping holds its own reference to the file in the kernel: closing the fd (or the dma-buf handle) later is fine.
    internal MemoryWindow(IntPtr mapBase, long mapLength, IntPtr pointer, long length)
    {
        _base = mapBase;
        _mapLength = mapLength;
        Pointer = pointer;
        Length = length;
    }

    public IntPtr Pointer { get; }
    public long Length { get; }

    /// <summary>The window's bytes (spans hold at most 2 GiB: take slices with <see cref="Slice"/>).</summary>
    public Span<byte> Slice(long offset, int length)
    {
        ObjectDisposedException.ThrowIf(_base == IntPtr.Zero, this);
        if (offset < 0 || length < 0 || offset > Length - length) throw new ArgumentOutOfRangeException(nameof(offset));
        return new Span<byte>((byte*)Pointer + offset, length);
    }

    /// <summary>msync(MS_SYNC) over the whole window: written data reaches the device before this returns.</summary>
    public void Flush()
    {
        ObjectDisposedException.ThrowIf(_base == IntPtr.Zero, this);
        if (Syscalls.msync(_base, (nuint)_mapLength, Syscalls.MS_SYNC) != 0)
            throw new SyscallException("msync", Syscalls.LastErrno);
    }

    public void Dispose()
    {
        IntPtr b = Interlocked.Exchange(ref _base, IntPtr.Zero);
        if (b == IntPtr.Zero) return;
        Syscalls.munmap(b, (nuint)_mapLength);
        GC.SuppressFinalize(this);
    }

    ~MemoryWindow()
    {
        if (_base != IntPtr.Zero) Syscalls.munmap(_base, (nuint)_mapLength);
    }
}

/// <summary>Builds <see cref="DaxMemoryTarget"/>s, resolving devices and physical ranges through sysfs.</summary>
public static class DaxMemoryTargets
{
    /// <summary>A devdax device by name: size and align from sysfs (fstat says 0 for these nodes).</summary>
    public static DaxMemoryTarget ForDevice(LinuxContext ctx, string name)
    {
        var d = new DaxDeviceCatalog(ctx).GetMappable(name);
        return FromDevice(d, 0, (long)d.Size, d.Name);
    }

    internal static DaxMemoryTarget FromDevice(DaxDeviceInfo d, ulong offset, long size, string description) =>
        new(DaxMemoryTargetKind.DaxDevice, description, d.DevicePath, size, offset, (long)d.Align, w => OpenNode(d.DevicePath, w, d.Name), true)
        {
            Device = d.Name,
            PhysicalAddress = d.PhysicalAddress is { } p ? p + offset : null,
            IsMultiRange = d.IsMultiRange,
        };

    /// <summary>
    /// A physical range. Tried through /dev/mem first; when the kernel refuses (a driver holds the range: Debian's
    /// kernels do so under CONFIG_IO_STRICT_DEVMEM), through the dax device or raw pmem namespace that holds it.
    /// </summary>
    public static DaxMemoryTarget ForPhysicalRange(LinuxContext ctx, ulong physicalAddress, ulong size)
    {
        if (size == 0 || size > long.MaxValue || physicalAddress > ulong.MaxValue - size)
            throw new DaxLinuxException(DaxErrorKind.InvalidArgument, ErrorIds.InvalidPhysicalRange,
                $"0x{physicalAddress:x}+0x{size:x} is not a usable physical range.", $"0x{physicalAddress:x}", Errno.EINVAL)
            { NextStep = size == 0 ? NextStep.GiveSize : NextStep.None };
        string description = $"physical range 0x{physicalAddress:x}+0x{size:x}";
        string mem = ctx.PhysicalMemoryPath;
        var direct = new DaxMemoryTarget(DaxMemoryTargetKind.PhysicalRange, description, mem, (long)size, physicalAddress, Environment.SystemPageSize,
            w => OpenNode(mem, w, description), true) { PhysicalAddress = physicalAddress };

        DaxLinuxException? refused;
        try
        {
            using (direct.Map(0, Math.Min((long)size, Environment.SystemPageSize), writable: false)) { }
            return direct;
        }
        catch (DaxLinuxException ex) when (ex.Kind is DaxErrorKind.PhysicalRangeUnreachable or DaxErrorKind.SystemCallFailed or DaxErrorKind.NotFound
                                           or DaxErrorKind.PermissionDenied)
        {
            refused = ex;
        }

        var holder = new DaxDeviceCatalog(ctx).FindHolding(physicalAddress, size);
        if (holder is not null && holder.Mode == DaxDeviceModes.DevDax && File.Exists(holder.DevicePath))
            return FromDevice(holder, physicalAddress - holder.PhysicalAddress!.Value, (long)size, description + $" (through {holder.Name})");

        var ns = FindRawNamespace(ctx, physicalAddress, size);
        if (ns is { } n)
        {
            string node = ctx.DevicePath(n.Block);
            return new DaxMemoryTarget(DaxMemoryTargetKind.PhysicalRange, description + $" (through {n.Block})", node, (long)size,
                physicalAddress - n.Start, Environment.SystemPageSize, w => OpenNode(node, w, n.Block), true) { PhysicalAddress = physicalAddress };
        }

        if (refused.Kind == DaxErrorKind.NotFound)
            throw new DaxLinuxException(DaxErrorKind.NotFound, ErrorIds.PhysicalMemoryDeviceMissing,
                $"{mem} does not exist on this host (a kernel built without CONFIG_DEVMEM, or a container that does not pass it in), " +
                $"and no dax device or raw pmem namespace holds the {description}.",
                description, refused.Errno, refused) { NextStep = NextStep.UseDevice };
        throw new DaxLinuxException(DaxErrorKind.PhysicalRangeUnreachable, ErrorIds.PhysicalRangeUnreachable,
            $"The {description} cannot be reached from user space: {refused.Message.TrimEnd('.')}; and no dax device or raw pmem " +
            "namespace holds it. Name the dax device that holds the memory, or make the range available to /dev/mem.", description, refused.Errno, refused)
            { NextStep = NextStep.UseDevice };
    }

    /// <summary>A dma-buf the caller owns (the handle must stay open while windows are mapped).</summary>
    public static DaxMemoryTarget ForDmaBuf(SafeHandle buffer, long size, string description, string? heap = null) =>
        new(DaxMemoryTargetKind.DmaBuf, description, "dma-buf", size, 0, Environment.SystemPageSize, _ => buffer, false) { Heap = heap, BufferHandle = buffer };

    /// <summary>A block device by name (pmem0): its size from /sys/class/block/NAME/size (512-byte sectors).</summary>
    public static DaxMemoryTarget ForBlockDevice(LinuxContext ctx, string name)
    {
        string node = ctx.DevicePath(name);
        string? sectors = ctx.Sysfs.ReadText($"/sys/class/block/{name}/size");
        if (!SysfsValues.TryParseUInt64(sectors, out ulong count) || count == 0 || count > long.MaxValue / 512)
            throw new DaxLinuxException(DaxErrorKind.NotFound, ErrorIds.BlockDeviceSizeUnknown,
                $"The size of {node} is unknown: /sys/class/block/{name}/size reads '{sectors}'. Check the device with lsblk.", name, Errno.ENODEV);
        if (!File.Exists(node))
            throw new DaxLinuxException(DaxErrorKind.NotFound, ErrorIds.DeviceNodeNotFound,
                $"{node} does not exist. Check the name (lsblk lists the block devices).", name, Errno.ENOENT) { NextStep = NextStep.ListBlockNamespaces };
        return new DaxMemoryTarget(DaxMemoryTargetKind.BlockDevice, name, node, (long)count * 512, 0, Environment.SystemPageSize,
            w => OpenNode(node, w, name), true);
    }

    /// <summary>A plain file: its length is the target's size.</summary>
    public static DaxMemoryTarget ForFile(string path)
    {
        long size = new FileInfo(path).Length;
        return new DaxMemoryTarget(DaxMemoryTargetKind.File, path, path, size, 0, Environment.SystemPageSize, w => OpenNode(path, w, path), true);
    }

    private static SafeFileHandle OpenNode(string path, bool writable, string what)
    {
        try
        {
            var fd = Syscalls.Open(path, writable ? Syscalls.O_RDWR : Syscalls.O_RDONLY);
            // A block device's page cache (a raw pmem namespace) does not see what the kernel writes into the memory
            // directly (a daxfs mount's branch table and delta logs): drop the clean cached pages so the map reads the
            // memory as it is now. Harmless (and ignored) for dax nodes, /dev/mem and files.
            Syscalls.posix_fadvise(fd, 0, 0, Syscalls.POSIX_FADV_DONTNEED);
            return fd;
        }
        catch (SyscallException ex) when (ex.ErrorNumber is Errno.ENOENT or Errno.ENXIO or Errno.ENODEV)
        {
            throw new DaxLinuxException(DaxErrorKind.NotFound, ErrorIds.DeviceNodeNotFound,
                $"{path} does not exist ({Errno.Describe(ex.ErrorNumber)}). Check the name.", what, ex.ErrorNumber, ex) { NextStep = NextStep.ListDevices };
        }
        catch (SyscallException ex) when (ex.ErrorNumber is Errno.EACCES or Errno.EPERM)
        {
            throw new DaxLinuxException(DaxErrorKind.NotRoot, ErrorIds.NotRoot,
                $"Opening {path} was refused ({Errno.Describe(ex.ErrorNumber)}). Run as root.", what, ex.ErrorNumber, ex);
        }
        catch (SyscallException ex)
        {
            throw new DaxLinuxException(DaxErrorKind.SystemCallFailed, ErrorIds.OpenFailed, $"{ex.Message}.", what, ex.ErrorNumber, ex);
        }
    }

    private static (string Block, ulong Start)? FindRawNamespace(LinuxContext ctx, ulong start, ulong length)
    {
        const string nd = "/sys/bus/nd/devices";
        var fs = ctx.Sysfs;
        foreach (var name in fs.List(nd).Where(n => n.StartsWith("namespace", StringComparison.Ordinal)))
        {
            try
            {
                string dir = $"{nd}/{name}";
                if (fs.ReadText(dir + "/mode") != "raw") continue;
                if (!SysfsValues.TryParseUInt64(fs.ReadText(dir + "/resource"), out ulong res) ||
                    !SysfsValues.TryParseUInt64(fs.ReadText(dir + "/size"), out ulong size)) continue;
                if (start < res || length > size || start - res > size - length) continue;
                var block = fs.List(dir + "/block").FirstOrDefault();
                if (block is not null && File.Exists(ctx.DevicePath(block))) return (block, res);
            }
            catch (UnauthorizedAccessException) { }
            catch (IOException) { }
        }
        return null;
    }
}
