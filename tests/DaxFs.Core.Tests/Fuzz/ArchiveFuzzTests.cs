using DaxFs.Core.Build;
using DaxFs.Fuzz;

namespace DaxFs.Core.Tests.Fuzz;

/// <summary>
/// The tar and OCI reader fuzz target (fuzz/DaxFs.Fuzz ArchiveFuzzTarget, which `DaxFs.Fuzz tar-afl` runs under
/// afl-fuzz) over its seeds and a short deterministic mutation run: every input is built or refused with a
/// DaxFsBuildException, a built image reads and validates, and a refused build leaves nothing behind.
/// </summary>
public sealed class ArchiveFuzzTests
{
    private const int MutationSeed = 19_2026;
    private const int MutatedInputs = 1_500;

    public static string RegressionFolder => Path.Combine(FuzzTests.RegressionFolder, "archives");

    public static TheoryData<string> RegressionArchives()
    {
        var data = new TheoryData<string>();
        foreach (var f in Directory.GetFiles(RegressionFolder).Where(f => !f.EndsWith(".md", StringComparison.OrdinalIgnoreCase)).Order(StringComparer.Ordinal))
            data.Add(Path.GetFileName(f));
        return data;
    }

    /// <summary>Every archive that ever made the target fail (FuzzRegressions/archives, which build.ps1 Fuzz fills) is built
    /// or refused cleanly now.</summary>
    [Theory]
    [MemberData(nameof(RegressionArchives))]
    public void Regression_archive_replays_cleanly(string name) =>
        ArchiveFuzzTarget.Run(File.ReadAllBytes(Path.Combine(RegressionFolder, name)));

    [Fact]
    public void Seeds_build()
    {
        var seeds = ArchiveFuzzTarget.Seeds();
        Assert.Contains(seeds, s => s.Name.EndsWith(".gz", StringComparison.Ordinal));
        Assert.Contains(seeds, s => s.Name == "layout.tar");
        foreach (var (name, bytes) in seeds)
        {
            var outcome = ArchiveFuzzTarget.Run(bytes);
            Assert.True(outcome.Refused is null, $"{name}: {outcome}");
        }
    }

    [Fact]
    public void Mutated_archives_are_built_or_refused_cleanly()
    {
        var seeds = ArchiveFuzzTarget.Seeds();
        var rng = new Random(MutationSeed);
        var kinds = new Dictionary<string, int>();
        var failures = new List<string>();
        for (int i = 0; i < MutatedInputs; i++)
        {
            var input = ArchiveFuzzTarget.Mutate(seeds[rng.Next(seeds.Count)].Bytes, rng);
            try
            {
                var r = ArchiveFuzzTarget.Run(input);
                string key = r.Refused?.ToString() ?? "built";
                kinds[key] = kinds.GetValueOrDefault(key) + 1;
            }
            catch (Exception ex)
            {
                string file = Path.Combine(Path.GetTempPath(), $"daxfs-tar-fuzz-{i}.bin");
                File.WriteAllBytes(file, input);
                failures.Add($"input {i} ({file}): {ex.GetType().Name}: {ex.Message}");
                if (failures.Count >= 5) break;
            }
        }
        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));
        // The run reaches past the checksum: some mutants build, and the readers refuse others for several reasons.
        Assert.True(kinds.GetValueOrDefault("built") > 0, string.Join(", ", kinds));
        Assert.True(kinds.Count >= 4, string.Join(", ", kinds));
    }
}
