using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using DaxFs.Core.Branches;
using DaxFs.Core.Format;
using DaxFs.Core.Overlay;
using DaxFs.Core.Read;

namespace DaxFs.Internal;

/// <summary>Completes -Path inside the image named by -Image in the same command (in the view of -Branch when given). Never throws.</summary>
public sealed class ImageItemPathCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var results = new List<CompletionResult>();
        try
        {
            string? path = ImagePathFrom(fakeBoundParameters) ?? ImagePathFromPipeline(commandAst);
            if (path is null) return results;

            string word = (wordToComplete ?? string.Empty).Trim('\'', '"');
            int slash = word.LastIndexOf('/');
            string dir = slash < 0 ? "/" : (slash == 0 ? "/" : word[..slash]);
            string prefix = slash < 0 ? word : word[(slash + 1)..];
            string shownDir = slash < 0 ? "/" : word[..(slash + 1)];

            using var reader = DaxFsImageReader.Open(path);
            IImageTree tree = fakeBoundParameters["Branch"] is string branch && branch.Length > 0 ? BranchView.Open(reader, branch) : OverlayView.MountedTree(reader);
            var dirItem = tree.GetItem(dir);
            if (dirItem is null || dirItem.Type != DaxFsItemType.Directory) return results;
            // The tooltip says which generation the image is, and whether the names come through its overlay (as a mount shows them).
            string of = $" (format {(int)reader.Generation} image{(tree is OverlayView ? ", through its overlay" : tree.BranchName is { } b ? $", branch {b}" : "")})";
            foreach (var e in tree.ListDirectory(dirItem.Ino, "", 0))
            {
                if (e.Unreachable) continue;
                string name = e.Name;
                if (!name.StartsWith(prefix, StringComparison.Ordinal)) continue;
                bool isDir = e.Type == DaxFsItemType.Directory;
                string text = shownDir + name + (isDir ? "/" : "");
                results.Add(new CompletionResult(Quote(text), name, isDir ? CompletionResultType.ProviderContainer : CompletionResultType.ProviderItem, text + of));
            }
        }
        catch
        {
            // Completion must never throw: a bad image or path just gives no suggestions.
        }
        return results;
    }

    private static readonly char[] s_special = { ' ', '\'', '"', '$', '`', ';', '(', ')', '{', '}', '[', ']', '&', '|', ',', '@', '#', '<', '>', '*', '?',
        '\u2018', '\u2019', '\u201A', '\u201B', '\u201C', '\u201D', '\u201E' };

    /// <summary>
    /// The text to insert for a name: single-quoted when it holds whitespace (a newline or tab too), a control character or
    /// anything PowerShell would parse (quotes of every kind doubled), so the argument is exactly the name.
    /// </summary>
    internal static string Quote(string text)
    {
        bool plain = text.Length > 0 && text.IndexOfAny(s_special) < 0 && !text.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)) && text[0] != '-';
        if (plain) return text;
        var sb = new System.Text.StringBuilder(text.Length + 2).Append('\'');
        foreach (char c in text)
        {
            sb.Append(c);
            if (c is '\'' or '\u2018' or '\u2019' or '\u201A' or '\u201B') sb.Append(c);
        }
        return sb.Append('\'').ToString();
    }

    /// <summary>
    /// The image piped into the command being completed: <c>$img | Get-DaxFsItem -Path …</c> (a variable holding a path,
    /// FileInfo, DaxFsImage or DaxFsItem), <c>'x.daxfs' | …</c>, or <c>Get-Item x.daxfs | …</c>/<c>Get-DaxFsImage x.daxfs | …</c>
    /// (their first string argument). Nothing is run to find it.
    /// </summary>
    internal static string? ImagePathFromPipeline(CommandAst? commandAst)
    {
        if (commandAst?.Parent is not PipelineAst pipeline) return null;
        int at = pipeline.PipelineElements.IndexOf(commandAst);
        if (at <= 0) return null;
        object? value = pipeline.PipelineElements[at - 1] switch
        {
            CommandExpressionAst { Expression: VariableExpressionAst v } => VariableValue(v.VariablePath.UserPath),
            CommandExpressionAst { Expression: StringConstantExpressionAst s } => s.Value,
            CommandAst c => c.CommandElements.Skip(1).OfType<StringConstantExpressionAst>().FirstOrDefault()?.Value,
            _ => null,
        };
        if (value is null) return null;
        return ImagePathFrom(new Hashtable { ["Image"] = value });
    }

    private static object? VariableValue(string name)
    {
        using var ps = PowerShell.Create(RunspaceMode.CurrentRunspace);
        var r = ps.AddCommand("Get-Variable").AddParameter("Name", name).AddParameter("ValueOnly").AddParameter("ErrorAction", "Ignore").Invoke();
        return r.Count > 0 ? r[0] : null;
    }

    /// <summary>The image file named by -Image (or its aliases) in a command being completed; null when none exists.</summary>
    internal static string? ImagePathFrom(IDictionary fakeBoundParameters)
    {
        object? image = fakeBoundParameters["Image"] ?? fakeBoundParameters["FullName"] ?? fakeBoundParameters["ImagePath"] ?? fakeBoundParameters["Path"];
        if (image is PSObject pso) image = pso.BaseObject;
        if (image is object[] { Length: > 0 } many) image = many[0] is PSObject p0 ? p0.BaseObject : many[0];
        string? path = image switch
        {
            string s => s,
            FileInfo f => f.FullName,
            DaxFsImage i => i.Path,
            DaxFsImageSource src => src.Path,
            DaxFsItem item => item.ImagePath,
            _ => null,
        };
        if (string.IsNullOrEmpty(path)) return null;
        path = ResolvePath(path);
        return File.Exists(path) ? path : null;
    }

    private static string ResolvePath(string path)
    {
        try
        {
            using var ps = PowerShell.Create(RunspaceMode.CurrentRunspace);
            var r = ps.AddCommand("Resolve-Path").AddParameter("LiteralPath", path).AddParameter("ErrorAction", "Ignore").Invoke();
            if (r.Count > 0 && r[0].BaseObject is PathInfo pi) return pi.ProviderPath;
        }
        catch
        {
            // fall through to the plain path
        }
        return System.IO.Path.GetFullPath(path);
    }
}

/// <summary>Completes -Branch with the names of the branches a mount can name in the image given by -Image. Never throws.</summary>
public sealed class BranchNameCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var results = new List<CompletionResult>();
        try
        {
            string? path = ImageItemPathCompleter.ImagePathFrom(fakeBoundParameters) ?? ImageItemPathCompleter.ImagePathFromPipeline(commandAst);
            if (path is null) return results;
            string word = (wordToComplete ?? string.Empty).Trim('\'', '"');
            using var reader = DaxFsImageReader.Open(path);
            if (reader.Generation != DaxFsFormat.Format5) return results; // format 8 has no branches
            foreach (var b in BranchTable.Read(reader))
            {
                if (b.State is BranchState.Free or BranchState.Committed || b.Name.Length == 0) continue;
                if (!b.Name.StartsWith(word, StringComparison.Ordinal)) continue;
                results.Add(new CompletionResult(ImageItemPathCompleter.Quote(b.Name), b.Name, CompletionResultType.ParameterValue, $"{b.Name} ({b.State}, parent {b.ParentName ?? "none"})"));
            }
        }
        catch
        {
            // Completion must never throw.
        }
        return results;
    }
}
