using System.Management.Automation;
using DaxFs.Core.Format;
using DaxFs.Core.Linux;
using DaxFs.Core.Read;
using DaxFs.Internal;

namespace DaxFs.Commands;

/// <summary>
/// Save-DaxFsImage: copies the image that sits in memory (a dax device, a physical range or a dma-buf) into a file, so
/// the reading cmdlets can inspect it and Write-DaxFsImage can put it back. The superblock is read from the memory first
/// and the copy is exactly total_size bytes; memory without a DAXFS image, or with an image that claims more bytes than
/// the memory has, is refused.
/// </summary>
[Cmdlet(VerbsData.Save, "DaxFsImage", DefaultParameterSetName = DeviceSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(DaxFsImage))]
public sealed class SaveDaxFsImageCommand : DaxLinuxCmdlet
{
    private const string DeviceSet = "Device";
    private const string PhysicalSet = "PhysicalAddress";
    private const string DmaBufSet = "DmaBuf";
    private const int ChunkSize = 1 << 20;

    /// <summary>A dax device in devdax mode (dax0.0): the image at its start.</summary>
    [Parameter(Mandatory = true, ParameterSetName = DeviceSet, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(DaxDeviceNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string Device { get; set; } = string.Empty;

    /// <summary>The physical start of the memory that holds the image.</summary>
    [Parameter(Mandatory = true, ParameterSetName = PhysicalSet, ValueFromPipelineByPropertyName = true)]
    public ulong PhysicalAddress { get; set; }

    /// <summary>Bytes of memory at -PhysicalAddress.</summary>
    [Parameter(Mandatory = true, ParameterSetName = PhysicalSet, ValueFromPipelineByPropertyName = true)]
    [ValidateRange(1, ulong.MaxValue)]
    public ulong Size { get; set; }

    /// <summary>A dma-buf from New-DmaBuf that holds an image.</summary>
    [Parameter(Mandatory = true, ParameterSetName = DmaBufSet)]
    public DmaBuf DmaBuf { get; set; } = null!;

    /// <summary>The file to write the image to.</summary>
    [Parameter(Mandatory = true, Position = 0)]
    [ValidateNotNullOrEmpty]
    public string Destination { get; set; } = string.Empty;

    /// <summary>Replace an existing file.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void ProcessRecord()
    {
        string dest = GetUnresolvedProviderPathFromPSPath(Destination);
        object what = ParameterSetName switch { DeviceSet => Device, DmaBufSet => DmaBuf, _ => $"0x{PhysicalAddress:x}" };
        if (Directory.Exists(dest))
        {
            ThrowTerminatingError(Errors.Make("DestinationIsDirectory", ErrorCategory.InvalidArgument, dest,
                $"'{dest}' is a directory; give the path of the image file to write."));
            return;
        }
        if (File.Exists(dest) && !Force)
        {
            ThrowTerminatingError(Errors.Make("DestinationExists", ErrorCategory.ResourceExists, dest,
                $"'{dest}' exists. Add -Force to replace it, or choose another path."));
            return;
        }

        DaxMemoryTarget target = null!;
        Superblock sb = default;
        Try(() =>
        {
            if (ParameterSetName == DmaBufSet && (DmaBuf.IsClosed || DmaBuf.IsInvalid))
                throw new DaxLinuxException(DaxErrorKind.InvalidArgument, "DmaBufClosed",
                    "The dma-buf has been disposed; its memory is gone.", DmaBuf.ToString(), Errno.EBADF);
            target = ParameterSetName switch
            {
                DeviceSet => DaxMemoryTargets.ForDevice(Context, Device),
                DmaBufSet => DaxMemoryTargets.ForDmaBuf(DmaBuf, DmaBuf.Size, DmaBuf.ToString(), DmaBuf.Heap),
                _ => DaxMemoryTargets.ForPhysicalRange(Context, PhysicalAddress, Size),
            };
            sb = ReadSuperblock(target);
        }, what, terminating: true);

        long length = (long)sb.TotalSize;
        string action = $"Copy the {length}-byte DAXFS image at the start of {target.Description} through {target.DescribeMap(0, length, writable: false)} to {dest}";
        WriteVerbose(action);
        if (!ShouldProcess(dest, action)) return;

        string temp = System.IO.Path.Combine(System.IO.Path.GetDirectoryName(dest) ?? ".", $".{System.IO.Path.GetFileName(dest)}.{Environment.ProcessId}.tmp");
        bool done = false;
        try
        {
            Try(() =>
            {
                using (var window = target.Map(0, length, writable: false))
                using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
                {
                    for (long offset = 0; offset < length; offset += ChunkSize)
                    {
                        if (Cancellation.IsCancellationRequested) throw new OperationCanceledException(Cancellation.Token);
                        file.Write(window.Slice(offset, (int)Math.Min(ChunkSize, length - offset)));
                    }
                    file.Flush(flushToDisk: true);
                }
            }, what, terminating: true);
            if (Cancellation.IsCancellationRequested) return;

            DaxFsImageReader reader;
            try { reader = DaxFsImageReader.Open(temp); }
            catch (DaxFsFormatException ex) { ThrowTerminatingError(Errors.InvalidImage(ex, target.Description)); return; }
            using (reader)
            {
                File.Move(temp, dest, overwrite: Force);
                done = true;
                WriteObject(DaxFsImage.From(reader, dest));
            }
        }
        catch (IOException ex)
        {
            ThrowTerminatingError(Errors.Make(ex, "SaveFailed", ErrorCategory.WriteError, dest));
        }
        finally
        {
            if (!done) File.Delete(temp);
        }
    }

    /// <summary>The superblock at the start of the target; refuses memory without a DAXFS image of this version, or
    /// whose image claims more bytes than the memory holds.</summary>
    private static Superblock ReadSuperblock(DaxMemoryTarget target)
    {
        if (target.Size < DaxFsConstants.BlockSize)
            throw new DaxLinuxException(DaxErrorKind.NoImageAtTarget, "NoDaxFsImageAtTarget",
                $"{target.Description} has {target.Size} bytes: not even a superblock fits.", target.Description, Errno.EINVAL);
        Superblock sb;
        using (var memory = target.OpenImageMemory(DaxFsConstants.BlockSize))
            sb = Superblock.Read(memory.Span(0, Superblock.RecordSize));
        if (sb.Magic != DaxFsConstants.SuperMagic)
            throw new DaxLinuxException(DaxErrorKind.NoImageAtTarget, "NoDaxFsImageAtTarget",
                $"{target.Description} holds no DAXFS image (magic 0x{sb.Magic:x8}, expected 0x{DaxFsConstants.SuperMagic:x8}).",
                target.Description, Errno.EINVAL);
        if (sb.Version != DaxFsConstants.Version)
            throw new DaxLinuxException(DaxErrorKind.NoImageAtTarget, "UnsupportedImageVersion",
                $"The image in {target.Description} is DAXFS version {sb.Version}; DaxFs reads version {DaxFsConstants.Version} only.",
                target.Description, Errno.EINVAL);
        if (sb.TotalSize < DaxFsConstants.BlockSize || sb.TotalSize > (ulong)target.Size)
            throw new DaxLinuxException(DaxErrorKind.ImageTooLarge, "ImageLargerThanTarget",
                $"The image in {target.Description} says it is {sb.TotalSize} bytes (total_size), but the memory has {target.Size}: " +
                "the superblock is damaged or the image belongs to a larger region. Write a whole image with Write-DaxFsImage.",
                target.Description, Errno.ERANGE);
        return sb;
    }
}
