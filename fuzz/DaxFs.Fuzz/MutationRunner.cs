using System.Diagnostics;
using System.Security.Cryptography;

namespace DaxFs.Fuzz;

/// <summary>One input that failed: a crash (an exception that is not allowed) or a hang (it did not finish in time).</summary>
public sealed record FuzzFailure(string Kind, byte[] Input, string Detail)
{
    /// <summary>A stable file name: kind and the first 16 hex digits of the input's SHA-256.</summary>
    public string FileName => $"{Kind}-{Convert.ToHexString(SHA256.HashData(Input))[..16].ToLowerInvariant()}.daxfs";
}

/// <summary>What a run did.</summary>
public sealed class FuzzReport
{
    public long Executions { get; set; }
    public long Opened { get; set; }
    public long ReadCompletely { get; set; }
    public long ValidatorSafe { get; set; }
    public List<FuzzFailure> Failures { get; } = new();
    public Dictionary<string, long> RejectedBy { get; } = new(StringComparer.Ordinal);
    public TimeSpan Elapsed { get; set; }

    public int Crashes => Failures.Count(f => f.Kind == "crash");
    public int Hangs => Failures.Count(f => f.Kind == "hang");

    public override string ToString() =>
        $"{Executions} executions in {Elapsed.TotalSeconds:F1} s ({(Elapsed.TotalSeconds > 0 ? Executions / Elapsed.TotalSeconds : 0):F0}/s): " +
        $"{Opened} opened, {ReadCompletely} read completely, {ValidatorSafe} judged safe by the validator; {Crashes} crashes, {Hangs} hangs";
}

/// <summary>
/// Runs <see cref="FuzzTarget.Run"/> over inputs without afl-fuzz: replaying files, or mutating seeds with a fixed
/// seed. Each input runs on a worker with a time limit: past it the input's CancellationToken is cancelled (the walk
/// and the validator stop), and the input is reported as a hang either way.
/// </summary>
public sealed class MutationRunner
{
    /// <summary>Generous: a normal input takes well under a millisecond.</summary>
    public TimeSpan PerInputTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Stop after this many failures (a hung worker keeps a core busy).</summary>
    public int MaxFailures { get; init; } = 20;

    /// <summary>Where failing inputs are written as they are found (null: kept in the report only).</summary>
    public string? FailureDirectory { get; init; }

    /// <summary>Called with each failure as it is found.</summary>
    public Action<FuzzFailure>? OnFailure { get; init; }

    /// <summary>What runs each input (tests of the runner put another here).</summary>
    public Func<byte[], CancellationToken, FuzzOutcome> Target { get; init; } = FuzzTarget.Run;

    /// <summary>Runs one input under the time limit; null when it passed.</summary>
    public FuzzFailure? RunOne(byte[] input, FuzzReport report)
    {
        using var cts = new CancellationTokenSource();
        var target = Target;
        var task = Task.Run(() => target(input, cts.Token), CancellationToken.None);
        report.Executions++;
        FuzzFailure? failure = null;
        if (!WaitQuietly(task, PerInputTimeout))
        {
            cts.Cancel();
            bool stopped = WaitQuietly(task, PerInputTimeout);
            failure = new FuzzFailure("hang", input, stopped
                ? $"did not finish within {PerInputTimeout.TotalSeconds:F0} s (stopped when cancelled)"
                : $"did not finish within {PerInputTimeout.TotalSeconds:F0} s and ignored cancellation");
        }
        else if (task.IsFaulted)
        {
            var ex = task.Exception!.InnerException!;
            failure = new FuzzFailure("crash", input, ex.ToString());
        }
        else
        {
            var o = task.Result;
            if (o.Opened) report.Opened++;
            if (o.ReadCompletely) report.ReadCompletely++;
            if (o.ValidatorSafe) report.ValidatorSafe++;
            if (o.RejectedRule is { } rule) report.RejectedBy[rule] = report.RejectedBy.GetValueOrDefault(rule) + 1;
        }
        if (failure is not null)
        {
            report.Failures.Add(failure);
            if (FailureDirectory is not null)
            {
                Directory.CreateDirectory(FailureDirectory);
                File.WriteAllBytes(Path.Combine(FailureDirectory, failure.FileName), input);
            }
            OnFailure?.Invoke(failure);
        }
        return failure;
    }

    private static bool WaitQuietly(Task task, TimeSpan timeout)
    {
        try { return task.Wait(timeout); }
        catch (AggregateException) { return true; }
    }

    /// <summary>Runs each input once.</summary>
    public FuzzReport Replay(IEnumerable<byte[]> inputs)
    {
        var report = new FuzzReport();
        var clock = Stopwatch.StartNew();
        foreach (var input in inputs)
        {
            RunOne(input, report);
            if (report.Failures.Count >= MaxFailures) break;
        }
        report.Elapsed = clock.Elapsed;
        return report;
    }

    /// <summary>
    /// Mutates the seeds: <paramref name="count"/> inputs, or until <paramref name="duration"/> has passed, whichever
    /// comes first. Each seed runs once unchanged first. The same seed and count give the same inputs.
    /// </summary>
    public FuzzReport Mutate(IReadOnlyList<byte[]> seeds, int seed, long count, TimeSpan? duration = null)
    {
        if (seeds.Count == 0) throw new ArgumentException("No seed inputs.", nameof(seeds));
        var report = new FuzzReport();
        var clock = Stopwatch.StartNew();
        var rng = new Random(seed);
        // Inputs that reached further (opened and read completely) join the pool: a little feedback without coverage.
        var pool = new List<byte[]>(seeds);
        var mutator = new ImageMutator(rng, pool);
        foreach (var s in seeds)
        {
            RunOne(s, report);
            if (report.Failures.Count >= MaxFailures) break;
        }
        while (report.Executions < count && report.Failures.Count < MaxFailures && (duration is null || clock.Elapsed < duration))
        {
            var parent = pool[rng.Next(pool.Count)];
            var input = mutator.Mutate(parent);
            long completeBefore = report.ReadCompletely;
            RunOne(input, report);
            if (report.ReadCompletely > completeBefore && pool.Count < 4 * seeds.Count + 256 && rng.Next(8) == 0 && input.Length <= 4 * SeedCorpus.MaxSeedBytes)
                pool.Add(input);
        }
        report.Elapsed = clock.Elapsed;
        return report;
    }
}
