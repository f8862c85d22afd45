using System.Management.Automation;
using DaxFs.Core.Errors;
using DaxFs.Core.Format;
using DaxFs.Core.Linux;
using DaxFs.Core.Operations;
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
    private const string DeviceSet = MemoryTargetParameters.DeviceSet;
    private const string PhysicalSet = MemoryTargetParameters.PhysicalSet;
    private const string DmaBufSet = MemoryTargetParameters.DmaBufSet;
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
        object what = MemoryTargetParameters.TargetName(ParameterSetName, Device, PhysicalAddress, DmaBuf);
        if (Directory.Exists(dest))
        {
            ThrowTerminatingError(Errors.Make(ErrorIds.DestinationIsDirectory, ErrorCategory.InvalidArgument, dest,
                $"'{dest}' is a directory; give the path of the image file to write."));
            return;
        }
        if (File.Exists(dest) && !Force)
        {
            ThrowTerminatingError(Errors.Make(ErrorIds.DestinationExists, ErrorCategory.ResourceExists, dest,
                $"'{dest}' exists. Add -Force to replace it, or choose another path."));
            return;
        }

        DaxMemoryTarget target = null!;
        MemoryImageHeader sb = null!;
        DaxTargetLock? reading = null;
        try
        {
            TryOrStop(() =>
            {
                target = MemoryTargetParameters.Resolve(ParameterSetName, Context, Device, PhysicalAddress, Size, DmaBuf);
                // Shared: no DaxFs process writes this memory while it is copied.
                reading = DaxTargetLock.Acquire(target, exclusive: false, "copy the image from it");
                sb = DaxMemoryImages.ReadSuperblock(target);
            }, what);

            long length = (long)sb.TotalSize;
            string action = $"Copy the {length}-byte DAXFS image at the start of {target.Description} through {target.DescribeMap(0, length, writable: false)} to {dest}";
            WriteVerbose(action);
            if (!ShouldProcess(dest, action)) return;

            string temp = System.IO.Path.Combine(System.IO.Path.GetDirectoryName(dest) ?? ".", $".{System.IO.Path.GetFileName(dest)}.{Environment.ProcessId}.tmp");
            bool done = false;
            // SIGTERM and SIGHUP stop the copy as Ctrl+C does (the temporary file is removed) before the process ends.
            using var signals = TerminationSignals.CancelOn(Cancellation);
            try
            {
                TryOrStop(() =>
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
                }, what);
                if (Cancellation.IsCancellationRequested)
                {
                    if (signals.Received is not null) throw new PipelineStoppedException();
                    return;
                }

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
                ThrowTerminatingError(Errors.Make(ex, ErrorIds.SaveFailed, ErrorCategory.WriteError, dest));
            }
            finally
            {
                if (!done) File.Delete(temp);
            }
        }
        finally { reading?.Dispose(); }
    }
}
