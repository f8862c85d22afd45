using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using DaxFs.Core.Format;
using DaxFs.Core.Read;

namespace DaxFs.Internal;

/// <summary>Completes -Path inside the image named by -Image in the same command. Never throws.</summary>
public sealed class ImageItemPathCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var results = new List<CompletionResult>();
        try
        {
            object? image = fakeBoundParameters["Image"] ?? fakeBoundParameters["FullName"] ?? fakeBoundParameters["ImagePath"];
            if (image is PSObject pso) image = pso.BaseObject;
            string? path = image switch
            {
                string s => s,
                FileInfo f => f.FullName,
                DaxFsImage i => i.Path,
                DaxFsImageSource src => src.Path,
                _ => null,
            };
            if (string.IsNullOrEmpty(path)) return results;
            path = ResolvePath(path);
            if (!File.Exists(path)) return results;

            string word = (wordToComplete ?? string.Empty).Trim('\'', '"');
            int slash = word.LastIndexOf('/');
            string dir = slash < 0 ? "/" : (slash == 0 ? "/" : word[..slash]);
            string prefix = slash < 0 ? word : word[(slash + 1)..];
            string shownDir = slash < 0 ? "/" : word[..(slash + 1)];

            using var reader = DaxFsImageReader.Open(path);
            if (!reader.TryLookup(dir, out uint dirIno)) return results;
            if (ModeBits.TypeOf(reader.GetInode(dirIno).Mode) != DaxFsItemType.Directory) return results;
            foreach (var e in reader.ReadDirectory(dirIno))
            {
                string name = e.Name;
                if (!name.StartsWith(prefix, StringComparison.Ordinal)) continue;
                bool isDir = ModeBits.TypeOf(e.Mode) == DaxFsItemType.Directory;
                string text = shownDir + name + (isDir ? "/" : "");
                string quoted = text.IndexOfAny(new[] { ' ', '\'', '"', '$', '`', ';', '(', ')', '{', '}', '&', '|', ',' }) >= 0
                    ? "'" + text.Replace("'", "''") + "'" : text;
                results.Add(new CompletionResult(quoted, name, isDir ? CompletionResultType.ProviderContainer : CompletionResultType.ProviderItem, text));
                if (results.Count >= 500) break;
            }
        }
        catch
        {
            // Completion must never throw: a bad image or path just gives no suggestions.
        }
        return results;
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
