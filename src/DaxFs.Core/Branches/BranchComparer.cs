using DaxFs.Core.Format;
using DaxFs.Core.Read;

namespace DaxFs.Core.Branches;

public enum BranchChangeKind { Added, Removed, Modified, Attributes }

/// <summary>One path whose view differs between a branch and its parent. Before/After are null where the path is absent.</summary>
public sealed record BranchChange(string Path, BranchChangeKind Change, DaxFsItemType Type, string Details, ImageItem? Before, ImageItem? After);

/// <summary>
/// What a branch changed against its parent, as the kernel shows each of them (so only changes a mount can see: a rename the
/// kernel does not show is not reported, a write hidden from readers is reported only where it changes the size). Compares
/// the two views path by path: type, size, readable content and symlink target (Modified), permission bits and owner
/// (Attributes); main is compared against the base image.
/// </summary>
public static class BranchComparer
{
    public static IEnumerable<BranchChange> Compare(BranchView branch, CancellationToken cancellationToken = default) =>
        Compare((IImageTree?)branch.OpenParent() ?? branch.Reader, branch, cancellationToken);

    /// <summary>
    /// What <paramref name="branch"/> shows differently from <paramref name="parent"/>, path by path (null
    /// <paramref name="parent"/>: an empty tree, so every path is Added). Also used for a format-8 overlay against its base.
    /// </summary>
    public static IEnumerable<BranchChange> Compare(IImageTree? parent, IImageTree branch, CancellationToken cancellationToken = default)
    {
        var before = parent is null ? new Dictionary<string, ImageItem>(StringComparer.Ordinal) : Snapshot(parent, cancellationToken);
        var after = Snapshot(branch, cancellationToken);
        foreach (var path in before.Keys.Union(after.Keys).OrderBy(p => p, StringComparer.Ordinal))
        {
            cancellationToken.ThrowIfCancellationRequested();
            before.TryGetValue(path, out var b);
            after.TryGetValue(path, out var a);
            if (b is null) { yield return new BranchChange(path, BranchChangeKind.Added, a!.Type, Describe(a), null, a); continue; }
            if (a is null) { yield return new BranchChange(path, BranchChangeKind.Removed, b.Type, Describe(b), b, null); continue; }
            var content = new List<string>();
            var attributes = new List<string>();
            if (a.Type != b.Type) content.Add($"type {b.Type} → {a.Type}");
            else if (a.Type == DaxFsItemType.SymbolicLink && !(a.TargetBytes ?? []).AsSpan().SequenceEqual(b.TargetBytes ?? []))
                content.Add($"target {b.Target} → {a.Target}");
            if (a.Type == b.Type && a.Type == DaxFsItemType.File)
            {
                if (a.Inode.Size != b.Inode.Size) content.Add($"size {b.Inode.Size} → {a.Inode.Size}");
                if (!SameContent(parent!, b, branch, a)) content.Add("content differs");
            }
            if ((a.Inode.Mode & 0xFFF) != (b.Inode.Mode & 0xFFF) && a.Type == b.Type)
                attributes.Add($"mode {ModeBits.ToModeString(b.Inode.Mode)} → {ModeBits.ToModeString(a.Inode.Mode)}");
            if (a.Inode.Uid != b.Inode.Uid || a.Inode.Gid != b.Inode.Gid)
                attributes.Add($"owner {b.Inode.Uid}:{b.Inode.Gid} → {a.Inode.Uid}:{a.Inode.Gid}");
            if (content.Count > 0)
                yield return new BranchChange(path, BranchChangeKind.Modified, a.Type, string.Join("; ", content.Concat(attributes)), b, a);
            else if (attributes.Count > 0)
                yield return new BranchChange(path, BranchChangeKind.Attributes, a.Type, string.Join("; ", attributes), b, a);
        }
    }

    private static Dictionary<string, ImageItem> Snapshot(IImageTree tree, CancellationToken ct)
    {
        var result = new Dictionary<string, ImageItem>(StringComparer.Ordinal);
        if (tree.GetItem("/") is { } root) result["/"] = root;
        foreach (var item in tree.Walk("/", recurse: true, cancellationToken: ct))
            if (!item.Unreachable) result.TryAdd(item.FullName, item); // a name listed twice: the first, as ls shows it
        return result;
    }

    private static string Describe(ImageItem i) => i.Type switch
    {
        DaxFsItemType.File => $"file, {i.Inode.Size} bytes, {ModeBits.ToModeString(i.Inode.Mode)} {i.Inode.Uid}:{i.Inode.Gid}",
        DaxFsItemType.Directory => $"directory, {ModeBits.ToModeString(i.Inode.Mode)} {i.Inode.Uid}:{i.Inode.Gid}",
        DaxFsItemType.SymbolicLink => $"symlink → {i.Target}",
        _ => $"mode {Convert.ToString(i.Inode.Mode, 8)} (type unknown)",
    };

    private static bool SameContent(IImageTree ta, ImageItem a, IImageTree tb, ImageItem b)
    {
        try
        {
            using var sa = ta.OpenContent(a.Ino);
            using var sb = tb.OpenContent(b.Ino);
            if (sa.Length != sb.Length) return false;
            var ba = new byte[81920];
            var bb = new byte[81920];
            while (true)
            {
                int na = sa.ReadAtLeast(ba, ba.Length, throwOnEndOfStream: false);
                int nb = sb.ReadAtLeast(bb, bb.Length, throwOnEndOfStream: false);
                if (na != nb || !ba.AsSpan(0, na).SequenceEqual(bb.AsSpan(0, nb))) return false;
                if (na == 0) return true;
            }
        }
        catch (InvalidOperationException)
        {
            return true; // a split image without its backing file: sizes only
        }
    }
}
