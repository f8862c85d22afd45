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

    /// <summary>
    /// The header scanner (an uncompressed tarball's ustar and GNU headers read in place) against System.Formats.Tar, over the
    /// uncompressed ustar and GNU seeds and mutations of them (fields overwritten with their checksums fixed, type flags,
    /// cuts, zeroed blocks, bit flips): each input gives the same outcome both ways, the same image bytes or the same
    /// refusal, and the scanner reads (does not leave to the tar reader) the seeds and a share of the mutants.
    /// </summary>
    [Fact]
    public void The_header_scanner_reads_what_the_tar_reader_reads()
    {
        var seeds = ArchiveFuzzTarget.Seeds().Where(s => s.Name is "tree.ustar.tar" or "tree.gnu.tar").ToList();
        Assert.Equal(2, seeds.Count);
        foreach (var (_, bytes) in seeds) Assert.NotNull(Scan(bytes));
        var rng = new Random(MutationSeed + 8);
        string dir = Path.Combine(Path.GetTempPath(), $"daxfs-scan-{Guid.NewGuid():n}");
        Directory.CreateDirectory(dir);
        int scanned = 0, built = 0;
        var differ = new List<string>();
        try
        {
            for (int i = 0; i < 800; i++)
            {
                var input = i < seeds.Count ? seeds[i].Bytes : ArchiveFuzzTarget.Mutate(seeds[rng.Next(seeds.Count)].Bytes, rng);
                string path = Path.Combine(dir, $"in{i}.tar");
                File.WriteAllBytes(path, input);
                if (Scan(input) is not null) scanned++;
                string Outcome(bool scan)
                {
                    string dest = Path.Combine(dir, $"out{i}-{scan}.daxfs");
                    try
                    {
                        new ImageBuilder(new ImageBuildOptions
                        {
                            SourcePath = path, Destination = dest, SkipUnsupported = true, ScanTarHeaders = scan,
                            Archive = new ArchiveSource { Kind = ArchiveKind.Tar, Path = path },
                        }).Build();
                        return Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(dest)));
                    }
                    catch (DaxFsBuildException ex) { return $"refused {ex.Kind}: {ex.Message}"; }
                }
                string a = Outcome(true), b = Outcome(false);
                if (!a.StartsWith("refused", StringComparison.Ordinal)) built++;
                if (a != b)
                {
                    string file = Path.Combine(Path.GetTempPath(), $"daxfs-scan-differs-{i}.tar");
                    File.WriteAllBytes(file, input);
                    differ.Add($"input {i} ({file}): scanner {a} / tar reader {b}");
                    if (differ.Count >= 5) break;
                }
            }
        }
        finally { Directory.Delete(dir, recursive: true); }
        Assert.True(differ.Count == 0, string.Join(Environment.NewLine, differ));
        Assert.True(scanned > 100 && built > 100, $"scanned {scanned}, built {built}");
    }

    private static List<(TarMember, long)>? Scan(byte[] tar)
    {
        string path = Path.Combine(Path.GetTempPath(), $"daxfs-scan-{Guid.NewGuid():n}.tar");
        File.WriteAllBytes(path, tar);
        try
        {
            using var f = new FileStream(path, FileMode.Open, FileAccess.Read);
            return TarHeaderScanner.TryScan(f.SafeFileHandle, f.Length, CancellationToken.None);
        }
        finally { File.Delete(path); }
    }
}
