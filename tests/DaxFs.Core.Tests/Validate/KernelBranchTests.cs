using DaxFs.Core.Branches;
using DaxFs.Core.Format;
using DaxFs.Core.Read;
using DaxFs.Core.Validate;
using DaxFs.Fuzz;
using DaxFs.TreeTools;
using static DaxFs.Core.Tests.Validate.ValidatorTestKit;

namespace DaxFs.Core.Tests.Validate;

/// <summary>
/// The large branching image whose branches and delta logs the real kernel wrote (tests/fixtures/branches/README.md,
/// large-kernel.daxfs.gz): the untouched image passes the gate and reads in every branch; structural breaks aimed at
/// the kernel's records and entries are refused with their rule; seeded mutants of the kernel's bytes never make the
/// reader or the validator throw, with the missed-bounds-check trap on.
/// </summary>
public class KernelBranchTests
{
    public static readonly Lazy<byte[]> Fixture = new(() =>
        HostileImages.LoadFixture(Path.Combine(TestPaths.RepoRoot, "tests", "fixtures", "branches", "large-kernel.daxfs.gz")));

    private static readonly Lazy<Dictionary<string, HostileCase>> s_breaks = new(() =>
        HostileImages.KernelBranchBreaks(Fixture.Value).ToDictionary(c => c.Name, StringComparer.Ordinal));

    [Fact]
    public void The_kernel_made_image_has_large_logs_of_every_entry_type_in_every_state()
    {
        var branches = HostileImages.Branches(Fixture.Value);
        Assert.Equal(["main", "feature", "deep"], branches.Where(b => b.State == (uint)BranchState.Active).Select(b => b.Name));
        Assert.Single(branches, b => b.State == (uint)BranchState.Committed);
        Assert.Single(branches, b => b.State == (uint)BranchState.Aborted);
        var types = branches.SelectMany(b => b.Entries).Select(e => e.Type).ToHashSet();
        for (uint t = 1; t <= 8; t++) Assert.Contains(t, types); // WRITE .. SYMLINK
        Assert.True(branches.Sum(b => b.Entries.Count) > 1000, $"{branches.Sum(b => b.Entries.Count)} entries");
        using var reader = DaxFsImageReader.Open(new ByteImageMemory(Fixture.Value));
        Assert.True(reader.InodeCount > 7000);
    }

    [Theory]
    [InlineData("main")]
    [InlineData("feature")]
    [InlineData("deep")]
    public void The_kernel_made_image_passes_the_gate_and_every_branch_reads_in_full(string branch)
    {
        var findings = Run(Fixture.Value);
        Assert.True(ImageValidator.IsSafe(findings), Describe(findings));
        Assert.DoesNotContain(findings, f => !f.Bookkeeping);
        using var reader = DaxFsImageReader.Open(new ByteImageMemory(Fixture.Value));
        var view = BranchView.Open(reader, branch);
        int files = 0;
        foreach (var item in view.Walk("/"))
        {
            if (item.Unreachable || item.Type != DaxFsItemType.File) continue;
            using var s = view.OpenContent(item.Ino);
            s.CopyTo(Stream.Null);
            files++;
        }
        Assert.True(files > 5000, $"{files} files");
    }

    [Fact]
    public void Main_replays_from_the_kernels_logs_as_the_kernel_listed_it()
    {
        // The guest's find through a fresh mount of main: '%p %y %m %U %G %s %l', and the names it could not open.
        string dir = Path.Combine(TestPaths.RepoRoot, "tests", "fixtures", "branches");
        using var gz = new System.IO.Compression.GZipStream(File.OpenRead(Path.Combine(dir, "large.main.listing.txt.gz")), System.IO.Compression.CompressionMode.Decompress);
        var guest = new StreamReader(gz).ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd()).Order(StringComparer.Ordinal).ToList();
        using var reader = DaxFsImageReader.Open(new ByteImageMemory(Fixture.Value));
        var view = BranchView.Open(reader, "main");
        var items = view.Walk("/").ToList();
        static string Line(ImageItem i)
        {
            char y = i.Type switch { DaxFsItemType.File => 'f', DaxFsItemType.Directory => 'd', DaxFsItemType.SymbolicLink => 'l', _ => 'U' };
            return $".{(i.FullName == "/" ? "" : i.FullName)} {y} {Convert.ToString(i.Inode.Mode & 0xFFF, 8)} {i.Inode.Uid} {i.Inode.Gid} {i.Inode.Size} {i.Target}".TrimEnd();
        }
        var mine = items.Where(i => !i.Unreachable).Select(Line).Append(Line(view.GetItem("/")!)).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(guest.Count, mine.Count);
        Assert.Equal(guest, mine);
        var errors = File.ReadAllLines(Path.Combine(dir, "large.main.find-errors.txt")).Where(l => l.Contains("No such file")).Select(l => l.Split('\u2018', '\u2019')[1][1..]);
        Assert.Equal(errors.Order(StringComparer.Ordinal), items.Where(i => i.Unreachable).Select(i => i.FullName).Order(StringComparer.Ordinal));
    }

    public static TheoryData<string> BreakNames() => new(s_breaks.Value.Values.Where(c => c.Kind == "structural").Select(c => c.Name));

    [Theory]
    [MemberData(nameof(BreakNames))]
    public void Breaks_of_what_the_kernel_wrote_are_refused_with_their_rule(string name)
    {
        var c = s_breaks.Value[name];
        var findings = Run(c.Bytes);
        Assert.False(ImageValidator.IsSafe(findings), Describe(findings));
        Assert.True(findings.Any(f => f.RuleId == c.Expect && f.Severity == FindingSeverity.Error), $"Expected {c.Expect}; got:{Environment.NewLine}{Describe(findings)}");
        Assert.True(findings.Count < 40, Describe(findings)); // the break, not a wall of bookkeeping
    }

    [Fact]
    public void Seeded_mutants_of_the_kernels_records_and_logs_never_throw()
    {
        int refused = 0;
        foreach (var c in HostileImages.KernelBranchMutants(Fixture.Value, "kernel", 16_016, 60))
        {
            _ = FuzzTarget.Run(c.Bytes); // throws on a contract break: a reader crash, a validator exception, a missed bounds check
            var findings = Run(c.Bytes);
            Assert.All(findings, f => Assert.Equal(RuleIds.Get(f.RuleId).Severity, f.Severity));
            if (!ImageValidator.IsSafe(findings)) refused++;
        }
        Assert.True(refused > 10, $"only {refused} of 60 mutants refused: the mutations miss the kernel's bytes");
        var mutator = new ImageMutator(new Random(16_017), [Fixture.Value]);
        for (int i = 0; i < 20; i++)
        {
            var input = mutator.Mutate(Fixture.Value, null);
            _ = FuzzTarget.Run(input);
            _ = Run(input);
        }
    }
}
