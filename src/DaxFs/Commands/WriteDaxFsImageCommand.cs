using System.Management.Automation;
using DaxFs.Core.Errors;
using DaxFs.Core.Linux;
using DaxFs.Core.Operations;
using DaxFs.Internal;

namespace DaxFs.Commands;

/// <summary>
/// Write-DaxFsImage: copies an image into memory (a dax device, a dma-buf or a physical range) and verifies it by reading
/// it back. Refuses images larger than the target, memory that a daxfs mount is using, and memory whose branching image
/// has active branches (mounts of any kernel that shares the memory).
/// </summary>
[Cmdlet(VerbsCommunications.Write, "DaxFsImage", DefaultParameterSetName = DeviceSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
[OutputType(typeof(DaxFsMemoryImage))]
public sealed class WriteDaxFsImageCommand : DaxMemoryTargetCmdlet
{
    private const int ProgressId = 0x44415801;

    /// <summary>The image: a path, a FileInfo, or a DaxFsImage (from New-DaxFsImage or Get-DaxFsImage).</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Path", "FullName", "ImagePath", "LiteralPath")]
    public DaxFsImageSource Image { get; set; } = null!;

    /// <summary>Write even over memory that a daxfs mount uses (the mounted file system will see the new bytes), or that
    /// holds a branching image whose branch table shows active branches (mounted by some kernel, here or on another host).</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>Return where the image now is (pipe it to Mount-DaxFs).</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        var paths = ResolveImagePaths(Image);
        if (paths.Count != 1)
        {
            ThrowTerminatingError(Errors.Make(ErrorIds.OneImageAtATime, ErrorCategory.InvalidArgument, Image.Path,
                $"'{Image.Path}' names {paths.Count} images; one memory region holds one image. Name a single file."));
            return;
        }
        string path = paths[0];
        if (OpenImage(path) is null) return; // not a DAXFS image: the error is written
        long length = new FileInfo(path).Length;

        DaxMemoryTarget target = null!;
        object targetName = TargetName;
        Linux(() =>
        {
            target = ResolveTarget();
            DaxMemoryWriter.CheckFits(length, target);
            var mounts = new DaxFsMounter(Context).MountsOver(target);
            if (mounts.Count > 0 && !Force)
                throw new DaxLinuxException(DaxErrorKind.MountPointBusy, ErrorIds.TargetMounted,
                    $"{target.Description} holds a mounted daxfs ({string.Join(", ", mounts.Select(m => m.MountPoint))}); writing over it changes a live file system. " +
                    "Dismount it first (Get-DaxFsMount | Dismount-DaxFs), or add -Force.", target.Description, Errno.EBUSY);
            // Mounts on other kernels (other hosts of a memory pool) show only in the memory: a branching image's branch table.
            if (!Force) DaxActiveBranches.Refuse(target, "writing over it");
        }, targetName);

        string action = $"Write {path} ({length} bytes) through {target.DescribeMap(0, length, writable: true)} and read it back";
        WriteVerbose(action);
        if (!ShouldProcess(target.Description, action)) return;

        DaxWriteResult result = null!;
        var progress = new Progress(this, $"Writing {System.IO.Path.GetFileName(path)} to {target.Description}");
        // SIGTERM and SIGHUP stop the write as Ctrl+C does (the target stays marked incomplete) before the process ends.
        using var signals = TerminationSignals.CancelOn(Cancellation);
        try
        {
            Linux(() =>
            {
                using var source = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
                result = DaxMemoryWriter.Write(source, length, target, progress, Cancellation.Token);
            }, targetName);
        }
        finally { progress.Complete(); }

        WriteVerbose($"Wrote and verified {result.BytesWritten} bytes in {result.Elapsed.TotalSeconds:0.###} s; SHA-256 {result.Sha256}.");
        if (PassThru)
            WriteObject(new DaxFsMemoryImage
            {
                TargetKind = target.Kind.ToString(),
                Target = target.Description,
                Device = target.Device,
                PhysicalAddress = target.PhysicalAddress is { } p ? DaxDevice.Clamp(p) : null,
                Size = target.Size,
                DmaBuf = ParameterSetName == DmaBufSet ? DmaBuf : null,
                ImagePath = path,
                BytesWritten = result.BytesWritten,
                Sha256 = result.Sha256,
                Verified = result.Verified,
                Elapsed = result.Elapsed,
            });
    }

    /// <summary>Runs engine code; its errors end the command (one image, one target: nothing else to go on with).</summary>
    private void Linux(Action action, object target)
    {
        try { action(); }
        catch (DaxLinuxException ex) { ThrowTerminatingError(LinuxErrors.From(ex, target)); }
        catch (SyscallException ex) { ThrowTerminatingError(LinuxErrors.Unexpected(ex, ErrorIds.WriteFailed, target, "Check dmesg for the kernel's reason.")); }
        catch (IOException ex) { ThrowTerminatingError(LinuxErrors.Unexpected(ex, ErrorIds.WriteFailed, target, "Check that the image file is not being changed.")); }
        catch (OperationCanceledException) when (Cancellation.IsCancellationRequested) { throw new PipelineStoppedException(); }
    }

    /// <summary>Progress of the write and the verification: at most one record per 200 ms, with rate and time left.</summary>
    private sealed class Progress : IProgress<DaxWriteProgress>
    {
        private readonly Cmdlet _cmdlet;
        private readonly string _activity;
        private readonly ProgressThrottle _throttle = new();
        private string _phase = string.Empty;
        private long _phaseStart;
        private bool _shown;

        public Progress(Cmdlet cmdlet, string activity) { _cmdlet = cmdlet; _activity = activity; }

        public void Report(DaxWriteProgress value)
        {
            long now = _throttle.Elapsed;
            if (value.Phase != _phase) { _phase = value.Phase; _phaseStart = now; }
            if (!_throttle.Due(final: value.BytesDone >= value.BytesTotal)) return;
            double seconds = Math.Max((now - _phaseStart) / 1000.0, 0.001);
            double rate = value.BytesDone / seconds;
            var record = new ProgressRecord(ProgressId, _activity,
                $"{value.Phase}: {Formatting.Size(value.BytesDone)} of {Formatting.Size(value.BytesTotal)}, {Formatting.Size((long)rate)}/s")
            {
                PercentComplete = value.BytesTotal > 0 ? (int)(value.BytesDone * 100 / value.BytesTotal) : 0,
                SecondsRemaining = rate > 0 ? (int)Math.Ceiling((value.BytesTotal - value.BytesDone) / rate) : -1,
            };
            _cmdlet.WriteProgress(record);
            _shown = true;
        }

        public void Complete()
        {
            if (_shown) _cmdlet.WriteProgress(new ProgressRecord(ProgressId, _activity, "Done") { RecordType = ProgressRecordType.Completed });
        }
    }
}
