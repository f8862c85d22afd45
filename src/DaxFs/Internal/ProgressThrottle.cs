using System.Diagnostics;

namespace DaxFs.Internal;

/// <summary>
/// The one rate limit of the module's progress records: at most one record per interval (200 ms), the first at once,
/// and a final one whenever the caller says the work is done, so a progress bar neither floods the host nor stops short.
/// </summary>
internal sealed class ProgressThrottle(int intervalMilliseconds = 200)
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private long _last = -1;

    /// <summary>Milliseconds since the throttle was made.</summary>
    public long Elapsed => _clock.ElapsedMilliseconds;

    /// <summary>True when a record is due: the first one, one a full interval after the last, or a final one.</summary>
    public bool Due(bool final = false)
    {
        long now = _clock.ElapsedMilliseconds;
        if (_last >= 0 && now - _last < intervalMilliseconds && !final) return false;
        _last = now;
        return true;
    }
}
