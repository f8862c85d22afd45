using System.Security.Cryptography;
using System.Text.Json;
using DaxFs.Core.Format;
using DaxFs.Core.Read;
using DaxFs.TreeTools;

namespace DaxFs.Core.Tests;

/// <summary>One path of a NAME.expected.json listing.</summary>
public sealed record ExpectedEntry(string Type, int Mode, uint Uid, uint Gid, long? Size, string? Sha256, string? Target, string? LinkGroup);

/// <summary>
/// An image's listing in the shape of the vectors' NAME.expected.json, compared with it by the one comparison the VM
/// suite uses for the kernel's mounts too (<see cref="VectorListing.Compare"/>).
/// </summary>
public static class ExpectedListing
{
    /// <summary>NAME.expected.json as values by path (for tests that compute from it; comparisons use <see cref="AssertMatches"/>).</summary>
    public static SortedDictionary<string, ExpectedEntry> Load(string jsonPath)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(jsonPath));
        var result = new SortedDictionary<string, ExpectedEntry>(StringComparer.Ordinal);
        foreach (var p in doc.RootElement.EnumerateObject())
        {
            var v = p.Value;
            result[p.Name] = new ExpectedEntry(
                v.GetProperty("type").GetString()!,
                v.GetProperty("mode").GetInt32(),
                v.GetProperty("uid").GetUInt32(),
                v.GetProperty("gid").GetUInt32(),
                v.TryGetProperty("size", out var s) ? s.GetInt64() : null,
                v.TryGetProperty("sha256", out var h) ? h.GetString() : null,
                v.TryGetProperty("target", out var t) ? t.GetString() : null,
                v.TryGetProperty("link_group", out var g) ? g.GetString() : null);
        }
        return result;
    }

    /// <summary>The listing of an image, by path (link_group = smallest path of a group of paths sharing an inode).</summary>
    public static IReadOnlyList<DaxFs.TreeTools.TreeEntry> FromImage(DaxFsImageReader reader) => FromTree(reader);

    /// <summary>The listing of a tree (a base image or a view over it, such as a format-8 overlay) as <c>find</c> makes it:
    /// names that cannot be looked up are left out.</summary>
    public static IReadOnlyList<DaxFs.TreeTools.TreeEntry> FromTree(IImageTree reader)
    {
        var items = new List<ImageItem>();
        var root = reader.GetItem("/")!;
        items.Add(root);
        items.AddRange(reader.Walk("/", recurse: true).Where(i => !i.Unreachable));
        var groups = items.Where(i => i.Type == DaxFsItemType.File).GroupBy(i => i.Ino)
            .Where(g => g.Count() > 1)
            .ToDictionary(g => g.Key, g => g.Select(i => i.FullName).OrderBy(n => n, StringComparer.Ordinal).First());
        var result = new List<DaxFs.TreeTools.TreeEntry>();
        foreach (var i in items.OrderBy(i => i.FullName, StringComparer.Ordinal))
        {
            var entry = new DaxFs.TreeTools.TreeEntry
            {
                Path = i.FullName, Type = "dir", Mode = (int)(i.Inode.Mode & 0xFFF), Uid = i.Inode.Uid, Gid = i.Inode.Gid,
                Nlink = i.Inode.Nlink, Inode = i.Ino,
            };
            switch (i.Type)
            {
                case DaxFsItemType.Directory:
                    result.Add(entry);
                    break;
                case DaxFsItemType.SymbolicLink:
                    result.Add(entry with { Type = "symlink", Target = i.Target, Size = i.Target?.Length ?? 0 });
                    break;
                default:
                    using (var s = reader.OpenContent(i.Ino))
                    {
                        result.Add(entry with
                        {
                            Type = "file", Size = (long)i.Inode.Size, Sha256 = Convert.ToHexString(SHA256.HashData(s)).ToLowerInvariant(),
                            LinkGroup = groups.TryGetValue(i.Ino, out var g) ? g : null,
                        });
                    }
                    break;
            }
        }
        return result;
    }

    /// <summary>Asserts that the image lists as the vector's NAME.expected.json says, naming every difference.</summary>
    public static void AssertMatches(DaxFsImageReader reader, string expectedJson, bool compareOwners = true) =>
        Assert.Empty(VectorListing.Compare(FromImage(reader), expectedJson, ignoreOwners: !compareOwners));

    /// <summary>Asserts that a tree lists as the vector's NAME.expected.json says, naming every difference.</summary>
    public static void AssertMatches(IImageTree tree, string expectedJson, bool compareOwners = true) =>
        Assert.Empty(VectorListing.Compare(FromTree(tree), expectedJson, ignoreOwners: !compareOwners));
}
