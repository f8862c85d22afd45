using System.Text;
using DaxFs.Core.Format;
using DaxFs.Core.Read;
using DaxFs.Fuzz;

namespace DaxFs.Core.Tests.Fuzz;

/// <summary>
/// The fuzz entry point (fuzz/DaxFs.Fuzz, the same one afl-fuzz runs) over a short deterministic mutation run of the
/// vectors and generated images, and over every input in FuzzRegressions/ (each input that ever failed).
/// </summary>
public sealed class FuzzTests
{
    /// <summary>Fixed: the same inputs on every run, so a failure replays.</summary>
    private const int MutationSeed = 6_2025;

    private const int MutatedInputs = 12_000;

    private static readonly Lazy<string> s_backing = new(() =>
        Program.EnsureBackingFile(Path.Combine(AppContext.BaseDirectory, "fuzz-backing.bin")));

    private static readonly Lazy<List<(string Name, byte[] Bytes)>> s_seeds = new(() =>
        SeedCorpus.FromVectors(TestPaths.Vectors).Concat(SeedCorpus.FromGeneratedTrees()).ToList());

    private static readonly object s_gate = new();

    /// <summary>FuzzTarget reads split content from one process-wide backing file: set it once, the same for every test.</summary>
    private static MutationRunner Runner(TimeSpan? timeout = null)
    {
        lock (s_gate) FuzzTarget.BackingFile = s_backing.Value;
        return new MutationRunner { PerInputTimeout = timeout ?? TimeSpan.FromSeconds(15), MaxFailures = 5 };
    }

    public static string RegressionFolder => Path.Combine(TestPaths.RepoRoot, "tests", "DaxFs.Core.Tests", "FuzzRegressions");

    private static string Explain(FuzzReport report)
    {
        var text = new StringBuilder(report.ToString());
        string dir = Path.Combine(Path.GetTempPath(), "daxfs-fuzz-failures");
        foreach (var f in report.Failures)
        {
            Directory.CreateDirectory(dir);
            File.WriteAllBytes(Path.Combine(dir, f.FileName), f.Input);
            text.AppendLine().Append($"{f.Kind} ({Path.Combine(dir, f.FileName)}): {f.Detail}");
        }
        return text.ToString();
    }

    [Fact]
    public void Seeds_include_every_image_mode_and_open()
    {
        var seeds = s_seeds.Value;
        Assert.Contains(seeds, s => s.Name == "basic.static");
        Assert.Contains(seeds, s => s.Name.EndsWith(".cut", StringComparison.Ordinal));
        var modes = new HashSet<DaxFsImageMode>();
        foreach (var (name, bytes) in seeds)
        {
            if (name.EndsWith(".cut", StringComparison.Ordinal)) Assert.Equal(SeedCorpus.MaxSeedBytes, bytes.Length);
            using var reader = DaxFsImageReader.Open(new ByteImageMemory(bytes));
            modes.Add(reader.Mode);
        }
        Assert.Equal(new[] { DaxFsImageMode.Static, DaxFsImageMode.Branching, DaxFsImageMode.Split }.Order(), modes.Order());
        // The branch seed carries live branches whose delta logs the validator walks without complaint.
        var branches = seeds.Single(s => s.Name == "tree0.branches").Bytes;
        var findings = Core.Validate.ImageValidator.Validate(new ByteImageMemory(branches));
        Assert.DoesNotContain(findings, f => f.RuleId.StartsWith("BRANCH", StringComparison.Ordinal) || f.RuleId == RuleIds.DeltaEntry);
    }

    [Fact]
    public void Seeds_include_the_kernel_made_branching_images()
    {
        string dir = Path.Combine(TestPaths.RepoRoot, "tests", "fixtures", "branches");
        Assert.Equal(dir, Program.FindKernelFixtures(TestPaths.Vectors));
        var seeds = SeedCorpus.FromKernelFixtures(dir);
        Assert.Equal(["kernel-feature", "kernel-large-kernel", "kernel-nested"], seeds.Select(s => s.Name).Order(StringComparer.Ordinal));
        foreach (var (name, bytes) in seeds)
        {
            using (var reader = DaxFsImageReader.Open(new ByteImageMemory(bytes))) Assert.Equal(DaxFsImageMode.Branching, reader.Mode);
            var result = FuzzTarget.Run(bytes);
            Assert.True(result.ReadCompletely, name);
            Assert.True(Core.Validate.ImageValidator.IsSafe(Core.Validate.ImageValidator.Validate(new ByteImageMemory(bytes))), name);
        }
    }

    [Fact]
    public void Mutations_are_deterministic_and_varied()
    {
        var seed = s_seeds.Value.Single(s => s.Name == "basic.static").Bytes;
        var pool = s_seeds.Value.Select(s => s.Bytes).ToList();
        var a = new ImageMutator(new Random(7), pool);
        var b = new ImageMutator(new Random(7), pool);
        var kinds = new List<int>();
        int changed = 0, resized = 0;
        for (int i = 0; i < 400; i++)
        {
            var x = a.Mutate(seed, kinds);
            Assert.Equal(x, b.Mutate(seed));
            if (!x.AsSpan().SequenceEqual(seed)) changed++;
            if (x.Length != seed.Length) resized++;
        }
        Assert.Equal(ImageMutator.Kinds.Length, kinds.Distinct().Count());
        Assert.True(changed > 300, $"only {changed} of 400 mutations changed the input");
        Assert.True(resized > 20, $"only {resized} of 400 mutations truncated or grew the input");
    }

    [Fact]
    public void Deterministic_mutation_run_has_no_crash_and_no_hang()
    {
        var seeds = s_seeds.Value.Select(s => s.Bytes).ToList();
        var report = Runner().Mutate(seeds, MutationSeed, MutatedInputs);
        Assert.True(report.Failures.Count == 0, Explain(report));
        Assert.Equal(MutatedInputs, report.Executions);
        // The run reaches deep: many inputs open, many read completely, and the reader refuses the rest for many reasons.
        Assert.True(report.Opened > MutatedInputs / 2, report.ToString());
        Assert.True(report.ReadCompletely > MutatedInputs / 4, report.ToString());
        Assert.True(report.RejectedBy.Count >= 12, "refused only by " + string.Join(", ", report.RejectedBy.Keys));
    }

    public static TheoryData<string> RegressionInputs()
    {
        var data = new TheoryData<string>();
        foreach (var f in Directory.GetFiles(RegressionFolder).Where(f => !f.EndsWith(".md", StringComparison.OrdinalIgnoreCase)).Order(StringComparer.Ordinal))
            data.Add(Path.GetFileName(f));
        return data;
    }

    [Fact]
    public void Regression_folder_is_not_empty()
    {
        Assert.NotEmpty(RegressionInputs());
        Assert.True(File.Exists(Path.Combine(RegressionFolder, "README.md")));
    }

    [Theory]
    [MemberData(nameof(RegressionInputs))]
    public void Regression_input_replays_cleanly(string name)
    {
        var report = Runner().Replay(new[] { File.ReadAllBytes(Path.Combine(RegressionFolder, name)) });
        Assert.True(report.Failures.Count == 0, Explain(report));
        Assert.Equal(1, report.Executions);
    }

    [Fact]
    public void A_crash_and_a_hang_are_reported_as_failures()
    {
        // The runner itself: a target that breaks its contract is caught, and one that never ends is cut off.
        // Inputs that must not hang get a limit no loaded machine reaches; the hanging targets below never end on their
        // own, so their short limits cannot make the outcome depend on timing.
        var runner = Runner(TimeSpan.FromSeconds(60));
        var report = new FuzzReport();
        // Not a DaxFs image: refused, not a failure.
        Assert.Null(runner.RunOne(new byte[5000], report));
        Assert.Equal("SB-MAGIC", report.RejectedBy.Keys.Single());
        // null input: ArgumentNullException escapes FuzzTarget.Run, which the runner reports as a crash.
        var crash = runner.RunOne(null!, report);
        Assert.Equal("crash", crash?.Kind);
        Assert.Contains(nameof(ArgumentNullException), crash!.Detail);

        // A target that runs until cancelled, and one that ignores cancellation: both are hangs.
        var cancellable = new MutationRunner
        {
            PerInputTimeout = TimeSpan.FromMilliseconds(200),
            Target = (_, ct) => { Task.Delay(Timeout.Infinite, ct).Wait(ct); return default; },
        };
        var hang = cancellable.RunOne(new byte[1], report);
        Assert.Equal("hang", hang?.Kind);
        Assert.Contains("stopped when cancelled", hang!.Detail);
        var release = new ManualResetEventSlim(); // not disposed: the abandoned worker may still be waking from it
        var stubborn = new MutationRunner
        {
            PerInputTimeout = TimeSpan.FromMilliseconds(200),
            Target = (_, _) => { release.Wait(); return default; },
        };
        hang = stubborn.RunOne(new byte[2], report);
        release.Set();
        Assert.Equal("hang", hang?.Kind);
        Assert.Contains("ignored cancellation", hang!.Detail);
        Assert.Equal(new byte[2], hang.Input);
        Assert.Equal(2, report.Hangs);
        Assert.Equal(1, report.Crashes);
        Assert.Equal(4, report.Executions);
    }

    [Fact]
    public void Split_content_outside_the_backing_file_is_a_format_error()
    {
        // Found by the fuzzer: OpenContent disposed the backing file stream and then read its length for the
        // message, so a hostile offset raised ObjectDisposedException instead of DaxFsFormatException.
        var split = s_seeds.Value.Single(s => s.Name == "tree0.split").Bytes;
        string empty = Path.Combine(AppContext.BaseDirectory, "fuzz-empty-backing.bin");
        File.WriteAllBytes(empty, Array.Empty<byte>());
        using var reader = DaxFsImageReader.Open(new ByteImageMemory(split), empty);
        var file = reader.Walk("/").First(i => i.Type == DaxFsItemType.File && i.Inode.Size > 0);
        var ex = Assert.Throws<DaxFsFormatException>(() => reader.OpenContent(file.Ino));
        Assert.Equal(RuleIds.InodeDataBounds, ex.RuleId);
        Assert.Contains("(0 bytes)", ex.Message);
    }
}
