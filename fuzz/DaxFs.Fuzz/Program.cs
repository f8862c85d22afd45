using System.Globalization;
using System.Text;
using SharpFuzz;

namespace DaxFs.Fuzz;

/// <summary>
/// DaxFs.Fuzz COMMAND [options]
///   afl [--backing FILE]                  the afl-fuzz target (SharpFuzz; the input comes on standard input)
///   replay PATH... [--backing FILE]       runs each file (or each file in each folder) once; exit 1 on a crash or hang
///   mutate [--seconds N] [--count N] [--seed N] [--corpus DIR]... [--vectors DIR] [--failures DIR] [--backing FILE]
///                                         the built-in mutation fuzzer (no coverage feedback, no afl needed)
///   seeds OUTDIR [--vectors DIR]          writes the seed corpus (cut vectors and generated images; archives/ for the tar target)
///   tar-afl                               the afl-fuzz target of the tar and OCI readers (input: a tarball or OCI layout tar)
///   tar-replay PATH... [--timeout S]      runs each archive (or each file in each folder) once; exit 1 on a crash or hang
///   tar-mutate [--seconds N] [--count N] [--seed N] [--failures DIR] [--timeout S]
///                                         the built-in mutation fuzzer over the archive seeds
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            Console.WriteLine(Usage);
            return args.Length == 0 ? 2 : 0;
        }
        try
        {
            var o = Options.Parse(args.Skip(1).ToArray());
            if (o.Backing is not null) FuzzTarget.BackingFile = EnsureBackingFile(o.Backing);
            return args[0] switch
            {
                "afl" => Afl(),
                "replay" => Replay(o),
                "mutate" => Mutate(o),
                "seeds" => Seeds(o),
                "tar-afl" => TarAfl(),
                "tar-replay" => TarReplay(o),
                "tar-mutate" => TarMutate(o),
                _ => throw new ArgumentException($"Unknown command '{args[0]}'."),
            };
        }
        catch (ArgumentException ex)
        {
            Console.Error.WriteLine(ex.Message);
            Console.Error.WriteLine(Usage);
            return 2;
        }
    }

    private const string Usage =
        "DaxFs.Fuzz afl [--backing FILE]\n" +
        "DaxFs.Fuzz replay PATH... [--backing FILE]\n" +
        "DaxFs.Fuzz mutate [--seconds N] [--count N] [--seed N] [--corpus DIR]... [--vectors DIR] [--failures DIR] [--backing FILE]\n" +
        "DaxFs.Fuzz seeds OUTDIR [--vectors DIR]\n" +
        "DaxFs.Fuzz tar-afl\n" +
        "DaxFs.Fuzz tar-replay PATH... [--timeout S]\n" +
        "DaxFs.Fuzz tar-mutate [--seconds N] [--count N] [--seed N] [--failures DIR] [--timeout S]";

    private static int TarAfl()
    {
        Fuzzer.Run(stream =>
        {
            using var ms = new MemoryStream();
            stream.CopyTo(ms);
            ArchiveFuzzTarget.Run(ms.ToArray());
        });
        return 0;
    }

    /// <summary>One archive through <see cref="ArchiveFuzzTarget.Run"/> with a time limit: null when it was built or refused
    /// cleanly, else "crash: ..." or "hang: ...".</summary>
    private static string? RunArchive(byte[] input, double timeoutSeconds, out ArchiveFuzzTarget.Outcome outcome)
    {
        using var cancel = new CancellationTokenSource();
        var run = Task.Run(() => ArchiveFuzzTarget.Run(input, cancel.Token));
        outcome = default;
        bool done;
        try { done = run.Wait(TimeSpan.FromSeconds(timeoutSeconds)); }
        catch (AggregateException) { done = true; } // faulted: reported below
        if (!done)
        {
            cancel.Cancel();
            return $"hang: not done after {timeoutSeconds} s";
        }
        if (run.IsFaulted)
        {
            var ex = run.Exception!.InnerException!;
            return $"crash: {ex.GetType().Name}: {FirstLine(ex.Message)}";
        }
        outcome = run.Result;
        return null;
    }

    /// <summary>The files to replay: each file named, and the files of each folder named (not its README or dot files).</summary>
    private static List<string> InputFiles(Options o)
    {
        var files = new List<string>();
        foreach (var p in o.Positional)
        {
            if (Directory.Exists(p)) files.AddRange(Directory.GetFiles(p).Where(f => !Path.GetFileName(f).StartsWith('.') && !f.EndsWith(".md", StringComparison.OrdinalIgnoreCase)).Order(StringComparer.Ordinal));
            else if (File.Exists(p)) files.Add(p);
            else throw new ArgumentException($"'{p}' does not exist.");
        }
        return files;
    }

    private static int TarReplay(Options o)
    {
        var files = InputFiles(o);
        int failed = 0;
        foreach (var f in files)
        {
            var failure = RunArchive(File.ReadAllBytes(f), o.Timeout, out var outcome);
            if (failure is not null) failed++;
            Console.WriteLine(failure is null ? $"ok     {f}: {outcome}" : $"FAILED {f}: {failure}");
        }
        Console.WriteLine($"replayed {files.Count} archives: {files.Count - failed} passed, {failed} failed");
        return failed == 0 ? 0 : 1;
    }

    private static int TarMutate(Options o)
    {
        var seeds = ArchiveFuzzTarget.Seeds();
        var rng = new Random(o.Seed);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        long executions = 0, crashes = 0, hangs = 0;
        var refused = new Dictionary<string, int>();
        for (; executions < o.Count && (o.Seconds is null || clock.Elapsed.TotalSeconds < o.Seconds); executions++)
        {
            var input = ArchiveFuzzTarget.Mutate(seeds[rng.Next(seeds.Count)].Bytes, rng);
            var failure = RunArchive(input, o.Timeout, out var outcome);
            if (failure is null)
            {
                string key = outcome.Refused?.ToString() ?? "built";
                refused[key] = refused.GetValueOrDefault(key) + 1;
                continue;
            }
            bool hang = failure.StartsWith("hang", StringComparison.Ordinal);
            if (hang) hangs++; else crashes++;
            string file = $"tar-{(hang ? "hang" : "crash")}-{executions}.tar";
            if (o.Failures is not null) { Directory.CreateDirectory(o.Failures); File.WriteAllBytes(Path.Combine(o.Failures, file), input); }
            Console.WriteLine($"{(hang ? "HANG" : "CRASH")} {file}: {failure}");
        }
        foreach (var (k, n) in refused.OrderByDescending(kv => kv.Value)) Console.WriteLine($"  {k,-24} {n}");
        Console.WriteLine($"execs_done={executions} crashes={crashes} hangs={hangs}");
        return crashes + hangs == 0 ? 0 : 1;
    }

    private static int Afl()
    {
        // In process: afl-fuzz's fork server protocol is spoken by SharpFuzz; any exception escaping is a crash.
        Fuzzer.Run(stream =>
        {
            using var ms = new MemoryStream();
            stream.CopyTo(ms);
            FuzzTarget.Run(ms.ToArray());
        });
        return 0;
    }

    private static int Replay(Options o)
    {
        var files = InputFiles(o);
        var runner = new MutationRunner { PerInputTimeout = TimeSpan.FromSeconds(o.Timeout) };
        var report = new FuzzReport();
        int failed = 0;
        foreach (var f in files)
        {
            var failure = runner.RunOne(File.ReadAllBytes(f), report);
            if (failure is null) Console.WriteLine($"ok     {f}: {Describe(File.ReadAllBytes(f))}");
            else
            {
                failed++;
                Console.WriteLine($"{failure.Kind.ToUpperInvariant(),-6} {f}: {failure.Detail}");
            }
        }
        Console.WriteLine($"replayed {files.Count} inputs: {files.Count - failed} passed, {failed} failed");
        return failed == 0 ? 0 : 1;
    }

    private static string Describe(byte[] input)
    {
        try { return FuzzTarget.Run(input).ToString(); }
        catch (Exception ex) { return ex.GetType().Name; }
    }

    private static int Mutate(Options o)
    {
        var seeds = LoadSeeds(o);
        Console.WriteLine($"mutating {seeds.Count} seeds, seed {o.Seed}, " +
                          (o.Seconds is null ? $"{o.Count} inputs" : $"{o.Seconds} s{(o.Count < long.MaxValue ? $" or {o.Count} inputs" : "")}"));
        var runner = new MutationRunner
        {
            PerInputTimeout = TimeSpan.FromSeconds(o.Timeout),
            FailureDirectory = o.Failures,
            OnFailure = f => Console.WriteLine($"{f.Kind.ToUpperInvariant()}: {f.FileName}: {FirstLine(f.Detail)}"),
        };
        var report = runner.Mutate(seeds, o.Seed, o.Count, o.Seconds is null ? null : TimeSpan.FromSeconds(o.Seconds.Value));
        Console.WriteLine(report);
        foreach (var (rule, n) in report.RejectedBy.OrderByDescending(kv => kv.Value).Take(12))
            Console.WriteLine($"  refused by the reader: {rule,-24} {n}");
        foreach (var (rule, n) in report.SafeButRefused.OrderByDescending(kv => kv.Value))
        {
            Console.WriteLine($"  judged safe by the validator but refused by the reader: {rule,-24} {n}");
            if (o.Failures is not null)
            {
                Directory.CreateDirectory(o.Failures);
                File.WriteAllBytes(Path.Combine(o.Failures, $"safe-but-refused-{rule}.daxfs"), report.SafeButRefusedExample[rule]);
            }
        }
        Console.WriteLine($"execs_done={report.Executions} crashes={report.Crashes} hangs={report.Hangs}");
        return report.Failures.Count == 0 ? 0 : 1;
    }

    private static string FirstLine(string s) => s.Split('\n')[0].TrimEnd();

    private static List<byte[]> LoadSeeds(Options o)
    {
        var seeds = new List<byte[]>();
        foreach (var dir in o.Corpus)
            foreach (var f in Directory.GetFiles(dir).Order(StringComparer.Ordinal))
                if (new FileInfo(f).Length <= SeedCorpus.MaxLargeSeedBytes) seeds.Add(File.ReadAllBytes(f));
        if (seeds.Count == 0)
        {
            seeds.AddRange(SeedCorpus.FromVectors(o.Vectors ?? FindVectors()).Select(s => s.Bytes));
            seeds.AddRange(SeedCorpus.FromGeneratedTrees().Select(s => s.Bytes));
            seeds.AddRange(SeedCorpus.FromLargeTrees().Select(s => s.Bytes));
            seeds.AddRange(SeedCorpus.FromKernelFixtures(FindKernelFixtures(o.Vectors ?? FindVectors())).Select(s => s.Bytes));
        }
        return seeds;
    }

    private static int Seeds(Options o)
    {
        if (o.Positional.Count != 1) throw new ArgumentException("seeds needs one output folder.");
        string vectors = o.Vectors ?? FindVectors();
        var all = SeedCorpus.FromVectors(vectors).Concat(SeedCorpus.FromGeneratedTrees()).Concat(SeedCorpus.FromLargeTrees())
            .Concat(SeedCorpus.FromKernelFixtures(FindKernelFixtures(vectors))).ToList();
        int n = SeedCorpus.WriteTo(o.Positional[0], all);
        string archives = Path.Combine(o.Positional[0], "archives");
        Directory.CreateDirectory(archives);
        foreach (var (name, bytes) in ArchiveFuzzTarget.Seeds()) { File.WriteAllBytes(Path.Combine(archives, name), bytes); n++; }
        Console.WriteLine($"wrote {n} seeds to {o.Positional[0]} ({all.Sum(s => (long)s.Bytes.Length)} bytes)");
        return 0;
    }

    /// <summary>The repository's tests/vectors above the current folder or the program.</summary>
    public static string FindVectors()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                string candidate = Path.Combine(dir.FullName, "tests", "vectors");
                if (File.Exists(Path.Combine(candidate, "basic.static.daxfs"))) return candidate;
            }
        throw new ArgumentException("Cannot find the repository's tests/vectors above the current folder: run from the repository or pass --vectors DIR.");
    }

    /// <summary>tests/fixtures/branches beside the vectors folder (tests/vectors): the kernel-made branching images.</summary>
    public static string FindKernelFixtures(string vectors)
    {
        string dir = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(vectors).TrimEnd('/'))!, "fixtures", "branches");
        if (!Directory.Exists(dir)) throw new ArgumentException($"Cannot find the kernel-made branch fixtures at {dir} (they are part of the repository: git checkout -- tests/fixtures).");
        return dir;
    }

    /// <summary>A backing file for split images: 1 MiB of a fixed pattern, made once.</summary>
    public static string EnsureBackingFile(string path)
    {
        const int Size = 1 << 20;
        if (!File.Exists(path) || new FileInfo(path).Length != Size)
        {
            var bytes = new byte[Size];
            new Random(42).NextBytes(bytes);
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
            File.WriteAllBytes(path, bytes);
        }
        return Path.GetFullPath(path);
    }

    private sealed class Options
    {
        public List<string> Positional { get; } = new();
        public List<string> Corpus { get; } = new();
        public string? Vectors, Failures, Backing;
        public double? Seconds;
        public long Count = long.MaxValue;
        public int Seed = 1;
        public double Timeout = 10;

        public static Options Parse(string[] args)
        {
            var o = new Options();
            for (int i = 0; i < args.Length; i++)
            {
                string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
                switch (args[i])
                {
                    case "--seconds": o.Seconds = double.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--count": o.Count = long.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--seed": o.Seed = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--timeout": o.Timeout = double.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--corpus": o.Corpus.Add(Next()); break;
                    case "--vectors": o.Vectors = Next(); break;
                    case "--failures": o.Failures = Next(); break;
                    case "--backing": o.Backing = Next(); break;
                    default:
                        if (args[i].StartsWith("--", StringComparison.Ordinal)) throw new ArgumentException($"Unknown option {args[i]}.");
                        o.Positional.Add(args[i]);
                        break;
                }
            }
            if (o.Seconds is null && o.Count == long.MaxValue) o.Count = 10_000;
            return o;
        }
    }
}
