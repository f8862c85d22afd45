using System.Text.RegularExpressions;

namespace DaxFs.Core.Tests;

/// <summary>
/// The engine's map as ARCHITECTURE.md draws it: the arrows between the folders of src/DaxFs.Core, measured from
/// the code, match the document's table exactly; each folder is its namespace; no PowerShell in the engine; and no
/// raw field offset outside the format layer.
/// </summary>
public class ArchitectureTests
{
    private static readonly string Engine = Path.Combine(TestPaths.RepoRoot, "src", "DaxFs.Core");

    private sealed record SourceFile(string Folder, string RelativePath, string Text, string Code);

    private static readonly Lazy<IReadOnlyList<SourceFile>> s_files = new(() =>
        Directory.EnumerateFiles(Engine, "*.cs", SearchOption.AllDirectories)
            .Select(p => Path.GetRelativePath(Engine, p).Replace('\\', '/'))
            .Where(r => !r.StartsWith("bin/", StringComparison.Ordinal) && !r.StartsWith("obj/", StringComparison.Ordinal) && r.Contains('/'))
            .Select(r =>
            {
                string text = File.ReadAllText(Path.Combine(Engine, r));
                return new SourceFile(r[..r.IndexOf('/')], r, text, StripCommentsAndStrings(text));
            })
            .ToList());

    /// <summary>Code without comments and string literals (so that prose and messages never count as code).</summary>
    private static string StripCommentsAndStrings(string text)
    {
        string s = Regex.Replace(text, @"/\*.*?\*/", " ", RegexOptions.Singleline);
        s = Regex.Replace(s, @"//[^\n]*", " ");
        s = Regex.Replace(s, @"@""(?:""""|[^""])*""", "\"\"");
        s = Regex.Replace(s, @"\$?""(?:\\.|[^""\\\n])*""", "\"\"");
        s = Regex.Replace(s, @"'(?:\\.|[^'\\\n])'", "' '");
        return s;
    }

    /// <summary>The table of ARCHITECTURE.md: folder → the folders it may use.</summary>
    private static Dictionary<string, SortedSet<string>> DocumentedArrows()
    {
        var map = new Dictionary<string, SortedSet<string>>(StringComparer.Ordinal);
        foreach (string line in File.ReadLines(Path.Combine(TestPaths.RepoRoot, "ARCHITECTURE.md")))
        {
            var m = Regex.Match(line, @"^\| `(\w+)/` \|.*\| ([^|]*) \|\s*$");
            if (!m.Success) continue;
            var uses = Regex.Matches(m.Groups[2].Value, @"`(\w+)`").Select(u => u.Groups[1].Value);
            map[m.Groups[1].Value] = new SortedSet<string>(uses, StringComparer.Ordinal);
        }
        // The last column names folders in backticks; other backticked words there are explanation.
        foreach (var uses in map.Values) uses.IntersectWith(map.Keys);
        return map;
    }

    /// <summary>The types each engine namespace declares (for qualified names such as <c>Branches.BranchSpace</c>).</summary>
    private static Dictionary<string, HashSet<string>> DeclaredTypes() =>
        s_files.Value.GroupBy(f => f.Folder).ToDictionary(g => g.Key, g => g
            .SelectMany(f => Regex.Matches(f.Code, @"\b(?:class|struct|record|interface|enum)\s+(\w+)").Select(m => m.Groups[1].Value))
            .ToHashSet(StringComparer.Ordinal), StringComparer.Ordinal);

    private static Dictionary<string, SortedSet<string>> MeasuredArrows()
    {
        var types = DeclaredTypes();
        var folders = types.Keys.ToHashSet(StringComparer.Ordinal);
        var map = folders.ToDictionary(f => f, _ => new SortedSet<string>(StringComparer.Ordinal), StringComparer.Ordinal);
        foreach (var f in s_files.Value)
        {
            // using DaxFs.Core.X; using static DaxFs.Core.X.Y; DaxFs.Core.X.Y anywhere; X.Type where X declares Type.
            foreach (Match m in Regex.Matches(f.Code, @"\bDaxFs\.Core\.(\w+)"))
                map[f.Folder].Add(m.Groups[1].Value);
            foreach (Match m in Regex.Matches(f.Code, @"(?<![\w.])(\w+)\.(\w+)"))
                if (types.TryGetValue(m.Groups[1].Value, out var declared) && declared.Contains(m.Groups[2].Value))
                    map[f.Folder].Add(m.Groups[1].Value);
            map[f.Folder].Remove(f.Folder);
        }
        return map;
    }

    private static string Show(Dictionary<string, SortedSet<string>> map) =>
        string.Join("\n", map.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key} -> {string.Join(", ", kv.Value)}"));

    [Fact]
    public void The_arrows_between_engine_folders_are_the_ones_ARCHITECTURE_md_lists()
    {
        var documented = DocumentedArrows();
        var measured = MeasuredArrows();
        Assert.Equal(measured.Keys.OrderBy(k => k, StringComparer.Ordinal), documented.Keys.OrderBy(k => k, StringComparer.Ordinal));
        Assert.Equal(Show(documented), Show(measured));
    }

    [Fact]
    public void The_documented_arrows_have_no_cycle()
    {
        var map = DocumentedArrows();
        var state = new Dictionary<string, int>(StringComparer.Ordinal);
        bool Visit(string n)
        {
            if (state.TryGetValue(n, out int s)) return s == 2;
            state[n] = 1;
            foreach (var m in map.GetValueOrDefault(n) ?? new SortedSet<string>())
                if (!Visit(m)) return false;
            state[n] = 2;
            return true;
        }
        Assert.All(map.Keys, k => Assert.True(Visit(k), $"the arrows from {k} lead back to it"));
        Assert.Empty(map["Format"]);
        Assert.Empty(map["Errors"]);
        Assert.Equal(new[] { "Errors", "Format" }, map["Linux"]);
    }

    [Fact]
    public void Each_engine_folder_is_its_namespace()
    {
        var wrong = s_files.Value
            .Select(f => (f.RelativePath, Namespace: Regex.Match(f.Code, @"^namespace\s+([\w.]+)\s*;", RegexOptions.Multiline).Groups[1].Value,
                Expected: "DaxFs.Core." + Path.GetDirectoryName(f.RelativePath)!.Replace('/', '.')))
            .Where(x => x.Namespace != x.Expected)
            .Select(x => $"{x.RelativePath}: namespace {x.Namespace}, expected {x.Expected}");
        Assert.Empty(wrong);
    }

    [Fact]
    public void The_engine_has_no_PowerShell()
    {
        Assert.Empty(s_files.Value.Where(f => f.Code.Contains("System.Management.Automation", StringComparison.Ordinal)).Select(f => f.RelativePath));
        Assert.DoesNotContain("PowerShell", File.ReadAllText(Path.Combine(Engine, "DaxFs.Core.csproj")), StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>
    /// Outside Format/ (and Linux/, which decodes the kernel's own structures such as statx), image bytes are read
    /// only through the format's records: no BinaryPrimitives, no slice at a literal position, and no finding or
    /// format error at "an offset plus a number".
    /// </summary>
    [Fact]
    public void No_raw_field_offset_appears_outside_the_format_layer()
    {
        var rules = new (string Why, Regex Pattern)[]
        {
            ("decodes bytes itself", new Regex(@"\bBinaryPrimitives\.")),
            ("slices at a literal position", new Regex(@"\[\s*(?:[2-9]|\d{2,})\s*\.\.|\.Slice\(\s*(?:[2-9]|\d{2,})\s*[,)]")),
            ("reads a field at a literal position", new Regex(@"\bU(?:16|32|64)\(\s*\w+\s*,\s*\d+\s*\)")),
            ("reports an offset plus a literal", new Regex(@"(?:DaxFsFormatException|Report|Bad(?:<\w+>)?)\(\s*(?:RuleIds\.\w+\s*,\s*)?[^,;]*?\+\s*(?:[2-9]|\d{2,})\b[^,;]*,")),
        };
        var found = new List<string>();
        foreach (var f in s_files.Value.Where(f => f.Folder is not "Format" and not "Linux"))
        {
            string[] lines = f.Code.Split('\n');
            for (int i = 0; i < lines.Length; i++)
                foreach (var (why, pattern) in rules)
                    if (pattern.IsMatch(lines[i])) found.Add($"{f.RelativePath}:{i + 1} {why}: {lines[i].Trim()}");
        }
        Assert.Empty(found);
    }

    /// <summary>An errno comes from the one syscall layer (the call's own errno), never guessed back from a .NET
    /// exception's HResult (what Export did for its destination folder). Build/ writes the image through .NET's FileStream,
    /// whose failures carry the errno only as HResult (ENOSPC, EDQUOT), and is out of this rule while it does.</summary>
    [Fact]
    public void No_errno_is_read_back_from_an_HResult()
    {
        var read = new Regex(@"\.HResult\b(?!\s*=[^=])");
        Assert.Empty(s_files.Value.Where(f => f.Folder != "Build").SelectMany(f => f.Code.Split('\n').Select((l, i) => (f.RelativePath, Line: i + 1, Text: l)))
            .Where(l => read.IsMatch(l.Text)).Select(l => $"{l.RelativePath}:{l.Line} {l.Text.Trim()}"));
        Assert.Matches(read, "int errno = ex is UnauthorizedAccessException ? Linux.Errno.EACCES : ex.HResult;");
        Assert.DoesNotMatch(read, "new IOException(m) { HResult = e }");
    }

    [Fact]
    public void Only_the_format_layer_names_the_format_version()
    {
        var literal = new Regex(@"(?i)\bversion 5\b|\bv5\b|\bnot 5\b");
        Assert.Empty(s_files.Value.Where(f => f.Folder != "Format" && literal.IsMatch(f.Text)).Select(f => f.RelativePath));
    }

    [Fact]
    public void The_offset_check_finds_what_it_is_for()
    {
        // The patterns above on lines the old code had: each must be caught.
        string[] old =
        {
            "throw new DaxFsFormatException(RuleIds.BaseVersion, (long)_baseOffset + 4, \"\");",
            "Report(RuleIds.BranchState, (long)at + 40, null, \"\");",
            "uint type = U32(h, 0), total = U32(h, 4);",
            "BinaryPrimitives.WriteUInt32LittleEndian(s[8..], 1);",
            "NameBytes = body.Slice(32, n).ToArray()",
        };
        var file = new SourceFile("Read", "Read/Old.cs", string.Join('\n', old), StripCommentsAndStrings(string.Join('\n', old)));
        var patterns = new[]
        {
            new Regex(@"\bBinaryPrimitives\."),
            new Regex(@"\[\s*(?:[2-9]|\d{2,})\s*\.\.|\.Slice\(\s*(?:[2-9]|\d{2,})\s*[,)]"),
            new Regex(@"\bU(?:16|32|64)\(\s*\w+\s*,\s*\d+\s*\)"),
            new Regex(@"(?:DaxFsFormatException|Report|Bad(?:<\w+>)?)\(\s*(?:RuleIds\.\w+\s*,\s*)?[^,;]*?\+\s*(?:[2-9]|\d{2,})\b[^,;]*,"),
        };
        Assert.All(file.Code.Split('\n'), line => Assert.Contains(patterns, p => p.IsMatch(line)));
    }

    /// <summary>The string literals of C# source, in order: regular, verbatim and interpolated (the text between the holes;
    /// literals inside a hole are their own entries). Comments and char literals are skipped.</summary>
    internal static List<(int Line, string Text)> StringLiterals(string code)
    {
        var found = new List<(int, string)>();
        int i = 0, line = 1;
        Scan(code, ref i, ref line, found, closeBrace: false);
        return found;
    }

    private static void Scan(string c, ref int i, ref int line, List<(int, string)> found, bool closeBrace)
    {
        int depth = 0;
        while (i < c.Length)
        {
            char ch = c[i];
            if (ch == '\n') { line++; i++; }
            else if (ch == '/' && i + 1 < c.Length && c[i + 1] == '/') { while (i < c.Length && c[i] != '\n') i++; }
            else if (ch == '/' && i + 1 < c.Length && c[i + 1] == '*')
            {
                int end = c.IndexOf("*/", i + 2, StringComparison.Ordinal);
                end = end < 0 ? c.Length : end + 2;
                line += c.AsSpan(i, end - i).Count('\n');
                i = end;
            }
            else if (ch == '\'')
            {
                i++;
                while (i < c.Length && c[i] != '\'') i += c[i] == '\\' ? 2 : 1;
                i++;
            }
            else if (ch == '"' || ((ch == '$' || ch == '@') && i + 1 < c.Length && (c[i + 1] == '"' || ((c[i + 1] == '$' || c[i + 1] == '@') && i + 2 < c.Length && c[i + 2] == '"'))))
            {
                bool verbatim = false, interpolated = false;
                while (c[i] != '"') { verbatim |= c[i] == '@'; interpolated |= c[i] == '$'; i++; }
                i++;
                int startLine = line;
                var text = new System.Text.StringBuilder();
                while (i < c.Length)
                {
                    char d = c[i];
                    if (d == '\n') line++;
                    if (!verbatim && d == '\\') { text.Append(d).Append(c[i + 1]); i += 2; continue; }
                    if (d == '"' && verbatim && i + 1 < c.Length && c[i + 1] == '"') { text.Append('"'); i += 2; continue; }
                    if (d == '"') { i++; break; }
                    if (interpolated && d == '{' && i + 1 < c.Length && c[i + 1] == '{') { text.Append('{'); i += 2; continue; }
                    if (interpolated && d == '}' && i + 1 < c.Length && c[i + 1] == '}') { text.Append('}'); i += 2; continue; }
                    if (interpolated && d == '{') { i++; Scan(c, ref i, ref line, found, closeBrace: true); text.Append("{}"); continue; }
                    text.Append(d);
                    i++;
                }
                found.Add((startLine, text.ToString()));
            }
            else if (closeBrace && ch == '{') { depth++; i++; }
            else if (closeBrace && ch == '}') { i++; if (depth-- == 0) return; }
            else i++;
        }
    }

    /// <summary>A cmdlet name (Verb-Noun) or a parameter (-Name) in a string.</summary>
    internal static readonly Regex CmdletSurface = new(
        @"\b(?:Get|Set|New|Remove|Mount|Dismount|Save|Write|Test|Compare|Measure|Export|Import|Complete|Undo|Where|ForEach|Select|Invoke|Start|Stop|Add|Clear|Out|Format|Sort|Update|Publish|Copy|Move|Rename|Wait)-[A-Z][A-Za-z]+" +
        @"|(?<![\w-])-[A-Z][a-z][A-Za-z]*\b");

    /// <summary>
    /// The engine describes problems; only the module names its cmdlets and parameters (src/DaxFs/Internal/NextSteps.cs
    /// words an error's <see cref="Errors.NextStep"/>). A string literal in the engine that names a cmdlet or a parameter
    /// fails here, so the engine cannot learn the module's surface again.
    /// </summary>
    [Fact]
    public void No_engine_string_names_a_cmdlet_or_a_parameter()
    {
        var found = s_files.Value
            .SelectMany(f => StringLiterals(f.Text).Where(l => CmdletSurface.IsMatch(l.Text))
                .Select(l => $"{f.RelativePath}:{l.Line} {CmdletSurface.Match(l.Text).Value}: \"{l.Text}\""))
            .ToList();
        Assert.Empty(found);
    }

    [Fact]
    public void The_cmdlet_surface_check_finds_what_it_is_for()
    {
        // Lines the old engine had (and a literal inside an interpolation hole): each names the surface once.
        string old = string.Join('\n',
            "throw new X($\"{what} needs root. Run PowerShell as root (sudo pwsh), or use -WhatIf to see what would be done.\", what);",
            "sb.Append(\"Run Test-DaxFsImage -Detailed on the image file you wrote here\");",
            "string m = $\"Dismount it first {(daxfs ? $\"(Dismount-DaxFs '{p}')\" : \"(umount)\")}.\";",
            "string n = @\"Choose another -Name.\"; // -Force in a comment is not a message",
            "string o = \"format-8, dma-buf, 2026-12-03T16:52:13Z, x86-64, non-zero\"; char q = '\"'; string r = \"-Size\";");
        var hits = StringLiterals(old).Where(l => CmdletSurface.IsMatch(l.Text)).Select(l => (l.Line, CmdletSurface.Match(l.Text).Value)).ToList();
        Assert.Equal(new[] { (1, "-WhatIf"), (2, "Test-DaxFsImage"), (3, "Dismount-DaxFs"), (4, "-Name"), (5, "-Size") }, hits);
    }
}
