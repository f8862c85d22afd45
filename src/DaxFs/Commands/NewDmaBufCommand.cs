using System.Management.Automation;
using DaxFs.Core.Errors;
using DaxFs.Core.Linux;
using DaxFs.Internal;
using Microsoft.Win32.SafeHandles;

namespace DaxFs.Commands;

/// <summary>New-DmaBuf: allocates a dma-buf from /dev/dma_heap/HEAP (DMA_HEAP_IOCTL_ALLOC) and returns its handle.</summary>
[Cmdlet(VerbsCommon.New, "DmaBuf", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(DmaBuf))]
public sealed class NewDmaBufCommand : DaxLinuxCmdlet
{
    /// <summary>The heap (an entry of /dev/dma_heap: system, cma…).</summary>
    [Parameter(Position = 0)]
    [ArgumentCompleter(typeof(DmaHeapNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string Heap { get; set; } = "system";

    /// <summary>Bytes (the kernel rounds up to whole pages).</summary>
    [Parameter(Mandatory = true, Position = 1)]
    [ValidateRange(1, long.MaxValue)]
    public long Size { get; set; }

    /// <summary>A name for the buffer (DMA_BUF_SET_NAME, at most 31 bytes), shown in the kernel's dma-buf listings.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Name { get; set; }

    protected override void ProcessRecord()
    {
        var heap = Context.DmaHeap;
        string path = heap.HeapPath(Heap);
        if (!ShouldProcess(path, $"DMA_HEAP_IOCTL_ALLOC of {Size} bytes" + (Name is null ? "" : $", DMA_BUF_SET_NAME '{Name}'"))) return;
        SafeFileHandle? fd = null;
        try
        {
            fd = heap.Allocate(Heap, Size);
            if (Name is not null) heap.SetName(fd, Name);
            long size = heap.GetSize(fd);
            WriteObject(new DmaBuf(fd, Heap, size, Name));
            fd = null;
        }
        catch (DaxLinuxException ex)
        {
            ThrowTerminatingError(LinuxErrors.From(ex, path));
        }
        catch (SyscallException ex)
        {
            ThrowTerminatingError(LinuxErrors.Unexpected(ex, ErrorIds.DmaBufAllocationFailed, path, "Check dmesg for the heap's reason."));
        }
        finally
        {
            fd?.Dispose();
        }
    }
}
