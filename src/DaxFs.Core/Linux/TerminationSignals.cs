using System.Runtime.InteropServices;

namespace DaxFs.Core.Linux;

/// <summary>
/// SIGTERM and SIGHUP handled like Ctrl+C while a long operation runs: the signal cancels the operation's token, the
/// operation cleans up as it does when cancelled (removes its temporary file, releases its locks), and then the signal's
/// default action ends the process as the sender asked. Without this a SIGTERM ends the process at once and leaves a
/// multi-GiB temporary file behind. Create it around the operation and dispose it once the cleanup has run; the handler
/// waits for that (at most <see cref="CleanupTimeout"/>) before the process ends.
/// </summary>
public sealed class TerminationSignals : IDisposable
{
    private readonly CancellationTokenSource _cancel;
    private readonly ManualResetEventSlim _cleanedUp = new();
    private readonly PosixSignalRegistration[] _registrations;
    private int _received;

    private TerminationSignals(CancellationTokenSource cancel, TimeSpan cleanupTimeout)
    {
        _cancel = cancel;
        CleanupTimeout = cleanupTimeout;
        _registrations = OperatingSystem.IsWindows()
            ? Array.Empty<PosixSignalRegistration>()
            : new[] { PosixSignalRegistration.Create(PosixSignal.SIGTERM, Handle), PosixSignalRegistration.Create(PosixSignal.SIGHUP, Handle) };
    }

    /// <summary>Cancels <paramref name="cancel"/> on SIGTERM or SIGHUP until disposed.</summary>
    public static TerminationSignals CancelOn(CancellationTokenSource cancel, TimeSpan? cleanupTimeout = null)
    {
        ArgumentNullException.ThrowIfNull(cancel);
        return new TerminationSignals(cancel, cleanupTimeout ?? TimeSpan.FromSeconds(30));
    }

    /// <summary>How long the signal waits for the cleanup before the process ends anyway.</summary>
    public TimeSpan CleanupTimeout { get; }

    /// <summary>The signal that cancelled the operation (SIGTERM or SIGHUP), or null.</summary>
    public PosixSignal? Received => _received == 0 ? null : (PosixSignal)_received;

    private void Handle(PosixSignalContext context)
    {
        Interlocked.CompareExchange(ref _received, (int)context.Signal, 0);
        try { _cancel.Cancel(); }
        catch (ObjectDisposedException) { }
        catch (AggregateException) { } // a cancellation callback failed: the wait below still bounds the delay
        _cleanedUp.Wait(CleanupTimeout);
        // context.Cancel stays false: the default action (the process ends) follows, now that the cleanup has run.
    }

    /// <summary>The cleanup has run: a pending signal may now end the process. Later signals take their default action.</summary>
    public void Dispose()
    {
        _cleanedUp.Set();
        foreach (var r in _registrations) r.Dispose();
    }
}
