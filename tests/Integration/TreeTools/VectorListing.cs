using System.Text.Json;

namespace DaxFs.TreeTools;

/// <summary>Compares a listing with a vector's NAME.expected.json (path → type, mode, uid, gid, size, sha256, target,
/// link_group): the one comparison for the VM suite's mounts and the xunit suite's images alike.</summary>
public static class VectorListing
{
    /// <summary>The differences between <paramref name="listing"/> and the vector's listing (empty when they agree).</summary>
    public static IReadOnlyList<string> Compare(IReadOnlyList<TreeEntry> listing, string expectedJson) => Compare(listing, expectedJson, ignoreOwners: false);

    /// <summary>As <see cref="Compare(IReadOnlyList{TreeEntry}, string)"/>; <paramref name="ignoreOwners"/>: uid and gid are not
    /// compared (a tree written without root).</summary>
    public static IReadOnlyList<string> Compare(IReadOnlyList<TreeEntry> listing, string expectedJson, bool ignoreOwners) =>
        Compare(listing, expectedJson, ignoreOwners, rootListed: true);

    /// <summary>As <see cref="Compare(IReadOnlyList{TreeEntry}, string, bool)"/>; without <paramref name="rootListed"/> the
    /// listing has no entry for "/" (Get-DaxFsItem lists what is under the root, not the root itself, and an export's
    /// destination folder is not the image's root) and the vector's "/" is not compared.</summary>
    public static IReadOnlyList<string> Compare(IReadOnlyList<TreeEntry> listing, string expectedJson, bool ignoreOwners, bool rootListed)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(expectedJson));
        var diff = new List<string>();
        var byPath = listing.ToDictionary(e => e.Path, StringComparer.Ordinal);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var p in doc.RootElement.EnumerateObject())
        {
            if (!rootListed && p.Name == "/") continue;
            seen.Add(p.Name);
            if (!byPath.TryGetValue(p.Name, out var e)) { diff.Add($"{p.Name}: missing from the tree"); continue; }
            var want = p.Value;
            string? Str(string k) => want.TryGetProperty(k, out var v) ? v.ValueKind == JsonValueKind.String ? v.GetString() : v.GetRawText() : null;
            void Check(string k, string? got) { if (Str(k) != got) diff.Add($"{p.Name}: {k} is {got ?? "(none)"}, the vector says {Str(k) ?? "(none)"}"); }
            Check("type", e.Type);
            Check("mode", e.Mode.ToString());
            if (!ignoreOwners)
            {
                Check("uid", e.Uid.ToString());
                Check("gid", e.Gid.ToString());
            }
            if (e.Type == "file") Check("size", e.Size.ToString());
            Check("sha256", e.Sha256);
            Check("target", e.Target);
            Check("link_group", e.LinkGroup);
        }
        foreach (var e in listing)
            if (!seen.Contains(e.Path) && (rootListed || e.Path != "/")) diff.Add($"{e.Path}: not in the vector listing");
        return diff;
    }
}
