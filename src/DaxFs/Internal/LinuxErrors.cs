using System.Management.Automation;
using DaxFs.Core.Linux;

namespace DaxFs.Internal;

/// <summary>
/// <see cref="DaxLinuxException"/> → ErrorRecord: the engine's stable id, a category from the kind of failure, the
/// device/path/range that failed as target, the exception with its <see cref="DaxLinuxException.NextStep"/> worded for
/// the prompt (<see cref="NextSteps"/>): the same exception otherwise, its inner exception and facts kept.
/// </summary>
internal static class LinuxErrors
{
    public static ErrorRecord From(DaxLinuxException ex, object? fallbackTarget = null)
    {
        var worded = NextSteps.Worded(ex);
        return new(worded, worded.ErrorId, Category(worded), (object?)worded.Target ?? fallbackTarget);
    }

    public static ErrorCategory Category(DaxLinuxException ex) => ex.Kind switch
    {
        DaxErrorKind.NotRoot or DaxErrorKind.PermissionDenied => ErrorCategory.PermissionDenied,
        DaxErrorKind.ToolNotInstalled => ErrorCategory.NotInstalled,
        DaxErrorKind.ModuleNotLoaded => ErrorCategory.NotInstalled,
        DaxErrorKind.ToolOutputInvalid => ErrorCategory.ParserError,
        DaxErrorKind.NotFound or DaxErrorKind.MountPointNotFound or DaxErrorKind.NotMounted => ErrorCategory.ObjectNotFound,
        DaxErrorKind.DeviceInSystemRam => ErrorCategory.InvalidOperation,
        DaxErrorKind.DeviceMultiRange => ErrorCategory.NotImplemented,
        DaxErrorKind.ImageTooLarge => ErrorCategory.LimitsExceeded,
        DaxErrorKind.NoImageAtTarget or DaxErrorKind.ImageInvalid => ErrorCategory.InvalidData,
        DaxErrorKind.MountPointBusy or DaxErrorKind.TargetInUse => ErrorCategory.ResourceBusy,
        DaxErrorKind.VerifyFailed => ErrorCategory.WriteError,
        DaxErrorKind.PhysicalRangeUnreachable => ErrorCategory.ResourceUnavailable,
        DaxErrorKind.InvalidArgument => ErrorCategory.InvalidArgument,
        DaxErrorKind.MountRefused => ErrorCategory.InvalidOperation,
        DaxErrorKind.BranchRefused => ex.Errno switch
        {
            Errno.ENOSPC => ErrorCategory.LimitsExceeded,
            Errno.EEXIST => ErrorCategory.ResourceExists,
            Errno.ENAMETOOLONG or Errno.EINVAL => ErrorCategory.InvalidArgument,
            Errno.ENOENT => ErrorCategory.ObjectNotFound,
            Errno.EBUSY => ErrorCategory.ResourceBusy,
            _ => ErrorCategory.InvalidOperation,
        },
        DaxErrorKind.ToolFailed => ex.Errno switch
        {
            Errno.EBUSY => ErrorCategory.ResourceBusy,
            Errno.EPERM or Errno.EACCES => ErrorCategory.PermissionDenied,
            Errno.ENOENT or Errno.ENXIO or Errno.ENODEV => ErrorCategory.ObjectNotFound,
            Errno.EINVAL => ErrorCategory.InvalidArgument,
            Errno.ENOSPC => ErrorCategory.LimitsExceeded,
            _ => ErrorCategory.InvalidOperation,
        },
        _ => ErrorCategory.InvalidOperation,
    };

    /// <summary>An engine failure that is not a <see cref="DaxLinuxException"/> (a syscall nobody mapped, an I/O error).</summary>
    public static ErrorRecord Unexpected(Exception ex, string id, object? target, string nextStep) =>
        new(new InvalidOperationException($"{ex.Message.TrimEnd('.')}. {nextStep}", ex), id,
            ex is UnauthorizedAccessException ? ErrorCategory.PermissionDenied : ErrorCategory.InvalidOperation, target);
}

/// <summary>
/// The base of the device, memory and mount cmdlets: the host (<see cref="LinuxContext.FromEnvironment"/>, so the
/// DAXFS_* test variables apply), cancellation, and the translation of engine errors.
/// </summary>
public abstract class DaxLinuxCmdlet : PSCmdlet, IDisposable
{
    private LinuxContext? _context;
    private protected readonly CancellationTokenSource Cancellation = new();

    private protected LinuxContext Context => _context ??= LinuxContext.FromEnvironment();

    /// <summary>Runs <paramref name="action"/>; a <see cref="DaxLinuxException"/> becomes a non-terminating error (one
    /// failed input among many). False when it failed or was stopped.</summary>
    private protected bool Try(Action action, object? target) => Run(action, target, WriteError);

    /// <summary>Runs <paramref name="action"/>; a <see cref="DaxLinuxException"/> ends the command (nothing else to go on with).</summary>
    private protected bool TryOrStop(Action action, object? target) => Run(action, target, ThrowTerminatingError);

    private bool Run(Action action, object? target, Action<ErrorRecord> report)
    {
        try
        {
            action();
            return true;
        }
        catch (DaxLinuxException ex)
        {
            report(LinuxErrors.From(ex, target));
            return false;
        }
        catch (OperationCanceledException) when (Cancellation.IsCancellationRequested)
        {
            return false;
        }
    }

    /// <summary>Throws the NotRoot error (terminating) unless the process is root.</summary>
    private protected void RequireRoot(string what) => TryOrStop(() => Context.RequireRoot(what), what);

    protected override void StopProcessing() => Cancellation.Cancel();

    public void Dispose()
    {
        Cancellation.Dispose();
        GC.SuppressFinalize(this);
    }
}
