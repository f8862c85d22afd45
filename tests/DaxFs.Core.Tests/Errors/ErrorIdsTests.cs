using System.Text.RegularExpressions;
using DaxFs.Core.Errors;

namespace DaxFs.Core.Tests.Errors;

/// <summary>Every error id of the engine and the module comes from the one catalogue, each id once, none unused.</summary>
public class ErrorIdsTests
{
    private static readonly string Src = Path.Combine(TestPaths.RepoRoot, "src");

    private static IEnumerable<(string File, int Line, string Text)> SourceLines() =>
        Directory.EnumerateFiles(Src, "*.cs", SearchOption.AllDirectories)
            .Where(p => !p.Contains("/obj/", StringComparison.Ordinal) && !p.Contains("/bin/", StringComparison.Ordinal))
            .SelectMany(p => File.ReadLines(p).Select((t, i) => (Path.GetRelativePath(Src, p), i + 1, t)));

    // Where an id is given: an engine error (its kind), an ErrorRecord, a build warning, an id compared or assigned.
    private static readonly Regex IdPlace = new(@"DaxErrorKind\.|Errors\.Make\(|Unexpected\(|new ErrorRecord\(|BuildWarning\(|ErrorId\b|ErrorCategory\.");
    private static readonly Regex IdLiteral = new(@"""([A-Z][a-z]+(?:[A-Z][A-Za-z0-9]*)+)""");

    [Fact]
    public void No_error_id_is_written_as_a_literal_outside_the_catalogue()
    {
        var literals = SourceLines()
            .Where(l => !l.File.EndsWith("ErrorIds.cs", StringComparison.Ordinal) && !l.Text.TrimStart().StartsWith("///", StringComparison.Ordinal) && IdPlace.IsMatch(l.Text))
            .SelectMany(l => IdLiteral.Matches(l.Text).Select(m => $"{l.File}:{l.Line} \"{m.Groups[1].Value}\""));
        Assert.Empty(literals);
    }

    [Fact]
    public void Each_id_is_listed_once_and_used()
    {
        Assert.Equal(ErrorIds.All.Count, ErrorIds.All.Distinct(StringComparer.Ordinal).Count());
        Assert.Contains(ErrorIds.NotRoot, ErrorIds.All);
        var code = string.Join("\n", SourceLines().Where(l => !l.File.EndsWith("ErrorIds.cs", StringComparison.Ordinal)).Select(l => l.Text));
        var unused = ErrorIds.All.Where(id => !Regex.IsMatch(code, $@"\bErrorIds\.{id}\b"));
        Assert.Empty(unused);
    }

    [Fact]
    public void The_literal_check_finds_an_id_written_out()
    {
        string line = "throw new DaxLinuxException(DaxErrorKind.NotRoot, \"NotRoot\", \"x needs root.\", what, Errno.EPERM);";
        Assert.Matches(IdPlace, line);
        Assert.Equal(new[] { "NotRoot" }, IdLiteral.Matches(line).Select(m => m.Groups[1].Value));
    }
}
