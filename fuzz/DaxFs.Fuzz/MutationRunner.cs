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

    /// <summary>Inputs the validator judged safe (no error) that the reader still refused, by the reader's rule.</summary>
    public Dictionary<string, long> SafeButRefused { get; } = new(StringComparer.Ordinal);

    /// <summary>One example input per <see cref="SafeButRefused"/> rule.</summary>
    public Dictionary<string, byte[]> SafeButRefusedExample { get; } = new(StringComparer.Ordinal);
    public TimeSpan Elapsed { get; set; }

    public int Crashes => Failures.Count(f => f.Kind == "crash");
    public int Hangs => Failures.Count(f => f.Kind == "hang");

    public override string ToString() =>
        $"{Executions} executions in {Elapsed.TotalSeconds:F1} s ({(Elapsed.TotalSeconds > 0 ? Executions / Elapsed.TotalSeconds : 0):F0}/s): " +
        $"{Opened} opened, {ReadCompletely} read completely, {ValidatorSafe} judged safe by the validator; {Crashes} crashes, {Hangs} hangs";
}

/// <summary>
/// Runs <see cref="FuzzTarget.Run"/> over inputs without afl-fuzz: replaying files, or mutating seeds with a fixed
/// seed. Inputs run one after another on a worker thread watched by the calling thread: when one input has run
/// longer than <see cref="PerInputTimeout"/>, its CancellationToken is cancelled (the walk and the validator stop)
/// and it is reported as a hang; if it ignores the cancellation for another timeout, the run stops there (the
/// worker is abandoned).
/// </summary>
public sealed class MutationRunner
{
    /// <summary>Generous: a normal input takes well under a millisecond.</summary>
    public TimeSpan PerInputTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Stop after this many failures.</summary>
    public int MaxFailures { get; init; } = 20;

    /// <summary>Where failing inputs are written as they are found (null: kept in the report only).</summary>
    public string? FailureDirectory { get; init; }

    /// <summary>Called with each failure as it is found (on the worker thread).</summary>
    public Action<FuzzFailure>? OnFailure { get; init; }

    /// <summary>What runs each input (tests of the runner put another here).</summary>
    public Func<byte[], CancellationToken, FuzzOutcome> Target { get; init; } = FuzzTarget.Run;

    /// <summary>Runs one input under the time limit, adding to <paramref name="report"/>; null when it passed.</summary>
    public FuzzFailure? RunOne(byte[] input, FuzzReport report)
    {
        int before = report.Failures.Count;
        Drive(report, run => run(input));
        return report.Failures.Count > before ? report.Failures[^1] : null;
    }

    /// <summary>Runs each input once.</summary>
    public FuzzReport Replay(IEnumerable<byte[]> inputs)
    {
        var report = new FuzzReport();
        var clock = Stopwatch.StartNew();
        Drive(report, run =>
        {
            foreach (var input in inputs)
                if (!run(input)) return;
        });
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
        Drive(report, run =>
        {
            var rng = new Random(seed);
            // Inputs that were read completely sometimes join the pool: a little feedback without coverage.
            var pool = new List<byte[]>(seeds);
            var mutator = new ImageMutator(rng, pool);
            foreach (var s in seeds)
                if (!run(s)) return;
            while (report.Executions < count && (duration is null || clock.Elapsed < duration))
            {
                var input = mutator.Mutate(pool[rng.Next(pool.Count)]);
                long completeBefore = report.ReadCompletely;
                if (!run(input)) return;
                if (report.ReadCompletely > completeBefore && pool.Count < 4 * seeds.Count + 256 && rng.Next(8) == 0 && input.Length <= 4 * SeedCorpus.MaxSeedBytes)
                    pool.Add(input);
            }
        });
        report.Elapsed = clock.Elapsed;
        return report;
    }

    // ---- the worker and its watchdog ------------------------------------------------------------------------

    private sealed class Current
    {
        public readonly CancellationTokenSource Cts = new();
        public readonly byte[] Input;
        public readonly long Started = Stopwatch.GetTimestamp();
        public long CancelledAt;
        public Current(byte[] input) => Input = input;
    }

    /// <summary>
    /// Runs <paramref name="produce"/> on a worker thread; it calls the given function once per input, which returns
    /// false when the run must stop. The calling thread watches the time each input takes.
    /// </summary>
    private void Drive(FuzzReport report, Action<Func<byte[], bool>> produce)
    {
        var gate = new object();
        Current? current = null;
        bool abandoned = false;
        Exception? producerError = null;

        bool Run(byte[] input)
        {
            var c = new Current(input);
            lock (gate)
            {
                if (abandoned) return false;
                current = c;
            }
            FuzzFailure? failure = null;
            FuzzOutcome outcome = default;
            try
            {
                outcome = Target(input, c.Cts.Token);
            }
            catch (OperationCanceledException) when (c.Cts.IsCancellationRequested)
            {
                failure = new FuzzFailure("hang", input, $"did not finish within {PerInputTimeout.TotalSeconds:0.###} s (stopped when cancelled)");
            }
            catch (Exception ex)
            {
                failure = new FuzzFailure(c.Cts.IsCancellationRequested ? "hang" : "crash", input, ex.ToString());
            }
            lock (gate)
            {
                current = null;
                if (abandoned) return false;
                report.Executions++;
                if (failure is null)
                {
                    if (outcome.Opened) report.Opened++;
                    if (outcome.ReadCompletely) report.ReadCompletely++;
                    if (outcome.ValidatorSafe) report.ValidatorSafe++;
                    if (outcome.RejectedRule is { } rule)
                    {
                        report.RejectedBy[rule] = report.RejectedBy.GetValueOrDefault(rule) + 1;
                        if (outcome.ValidatorSafe)
                        {
                            report.SafeButRefused[rule] = report.SafeButRefused.GetValueOrDefault(rule) + 1;
                            report.SafeButRefusedExample.TryAdd(rule, input);
                        }
                    }
                }
                else Record(report, failure);
                c.Cts.Dispose();
                return report.Failures.Count < MaxFailures;
            }
        }

        var worker = new Thread(() =>
        {
            try { produce(Run); }
            catch (Exception ex) { producerError = ex; }
        }) { IsBackground = true, Name = "fuzz worker" };
        worker.Start();

        long timeout = (long)(PerInputTimeout.TotalSeconds * Stopwatch.Frequency);
        var poll = TimeSpan.FromMilliseconds(Math.Clamp(PerInputTimeout.TotalMilliseconds / 4, 5, 100));
        while (!worker.Join(poll))
        {
            lock (gate)
            {
                if (current is not { } c) continue;
                long now = Stopwatch.GetTimestamp();
                if (c.CancelledAt == 0 && now - c.Started > timeout)
                {
                    c.CancelledAt = now;
                    c.Cts.Cancel();
                }
                else if (c.CancelledAt != 0 && now - c.CancelledAt > timeout)
                {
                    abandoned = true;
                    report.Executions++;
                    Record(report, new FuzzFailure("hang", c.Input,
                        $"did not finish within {PerInputTimeout.TotalSeconds:0.###} s and ignored cancellation for as long again (the run stopped here)"));
                    return;
                }
            }
        }
        if (producerError is not null) throw new InvalidOperationException("The fuzz runner's input producer failed.", producerError);
    }

    private void Record(FuzzReport report, FuzzFailure failure)
    {
        report.Failures.Add(failure);
        if (FailureDirectory is not null)
        {
            Directory.CreateDirectory(FailureDirectory);
            File.WriteAllBytes(Path.Combine(FailureDirectory, failure.FileName), failure.Input);
        }
        OnFailure?.Invoke(failure);
    }
}
