using System.Security.Cryptography;
using System.Text.Json;
using DaxFs.Core.Format;
using DaxFs.Core.Read;

namespace DaxFs.Core.Tests;

/// <summary>One path of a NAME.expected.json listing.</summary>
public sealed record ExpectedEntry(string Type, int Mode, uint Uid, uint Gid, long? Size, string? Sha256, string? Target, string? LinkGroup);

/// <summary>Reads NAME.expected.json and makes the same listing from an image, so the two compare as dictionaries.</summary>
public static class ExpectedListing
{
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

    /// <summary>The listing of an image in the expected.json shape (link_group = smallest path of a group of paths sharing an inode).</summary>
    public static SortedDictionary<string, ExpectedEntry> FromImage(DaxFsImageReader reader) => FromTree(reader);

    /// <summary>The listing of a tree (a base image or a view over it) as <c>find</c> makes it: names that cannot be looked up are left out.</summary>
    public static SortedDictionary<string, ExpectedEntry> FromTree(IImageTree reader)
    {
        var items = new List<ImageItem>();
        var root = reader.GetItem("/")!;
        items.Add(root);
        items.AddRange(reader.Walk("/", recurse: true).Where(i => !i.Unreachable));
        var groups = items.Where(i => i.Type == DaxFsItemType.File).GroupBy(i => i.Ino)
            .Where(g => g.Count() > 1)
            .ToDictionary(g => g.Key, g => g.Select(i => i.FullName).OrderBy(n => n, StringComparer.Ordinal).First());
        var result = new SortedDictionary<string, ExpectedEntry>(StringComparer.Ordinal);
        foreach (var i in items)
        {
            int perm = (int)(i.Inode.Mode & 0xFFF);
            switch (i.Type)
            {
                case DaxFsItemType.Directory:
                    result[i.FullName] = new ExpectedEntry("dir", perm, i.Inode.Uid, i.Inode.Gid, null, null, null, null);
                    break;
                case DaxFsItemType.SymbolicLink:
                    result[i.FullName] = new ExpectedEntry("symlink", perm, i.Inode.Uid, i.Inode.Gid, null, null, i.Target, null);
                    break;
                default:
                    using (var s = reader.OpenContent(i.Ino))
                    {
                        string sha = Convert.ToHexString(SHA256.HashData(s)).ToLowerInvariant();
                        result[i.FullName] = new ExpectedEntry("file", perm, i.Inode.Uid, i.Inode.Gid, (long)i.Inode.Size, sha, null,
                            groups.TryGetValue(i.Ino, out var g) ? g : null);
                    }
                    break;
            }
        }
        return result;
    }

    /// <summary>Asserts two listings are equal, naming the first path that differs.</summary>
    public static void AssertEqual(IDictionary<string, ExpectedEntry> expected, IDictionary<string, ExpectedEntry> actual, bool compareOwners = true)
    {
        Assert.Equal(expected.Keys.ToArray(), actual.Keys.ToArray());
        foreach (var (path, e) in expected)
        {
            var a = actual[path];
            if (!compareOwners) a = a with { Uid = e.Uid, Gid = e.Gid };
            Assert.True(e == a, $"{path}: expected {e}, got {a}");
        }
    }
}
