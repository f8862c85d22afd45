using System.Text;
using DaxFs.Core.Format;

namespace DaxFs.Core.Read;

/// <summary>Why a path did not resolve.</summary>
public enum PathResolutionError
{
    None,
    /// <summary>A component does not exist (and no symlink led there).</summary>
    NotFound,
    /// <summary>A symlink on the way points at a path that is not in the image.</summary>
    DanglingLink,
    /// <summary>More than <see cref="PathResolver.MaxSymlinks"/> symlinks were followed (ELOOP).</summary>
    TooManyLinks,
    /// <summary>A component before the last is not a directory (ENOTDIR).</summary>
    NotADirectory,
}

/// <summary>The outcome of <see cref="PathResolver.Resolve"/>: the item, or why there is none.</summary>
public sealed class PathResolution
{
    public ImageItem? Item { get; init; }
    public PathResolutionError Error { get; init; }
    /// <summary>DanglingLink: the symlink whose target is missing, and its target as stored.</summary>
    public string? LinkPath { get; init; }
    public string? LinkTarget { get; init; }
    /// <summary>The path (as resolved so far) that does not exist or is not a directory.</summary>
    public string? FailedAt { get; init; }
    /// <summary>A message that says what is wrong, e.g. "'/bin' is a link to 'usr/bin', which is not in the image".</summary>
    public string Message { get; init; } = string.Empty;
}

/// <summary>
/// Path walking as the kernel's namei does it inside one image: symlinks met before the last component are always followed
/// (relative targets from the link's directory, absolute ones from the image root), the last one only when asked, ".."
/// goes to the parent of the directory actually reached (at the root it stays), and more than 40 links is ELOOP.
/// Paths are raw bytes, so names that are not UTF-8 resolve too.
/// </summary>
public static class PathResolver
{
    /// <summary>The kernel's limit on symlinks followed in one lookup (MAXSYMLINKS).</summary>
    public const int MaxSymlinks = 40;

    public static PathResolution Resolve(IImageTree tree, string path, bool followLast) =>
        Resolve(tree, Encoding.UTF8.GetBytes(path), followLast);

    public static PathResolution Resolve(IImageTree tree, byte[] path, bool followLast)
    {
        // As in namei, a trailing "/" (or "/.") asks for the directory itself: a last symlink is then followed too.
        if (path.AsSpan().EndsWith("/"u8) || path.AsSpan().EndsWith("/."u8)) followLast = true;
        var done = new List<byte[]>();                               // the directories reached, from the root
        var pending = new LinkedList<(byte[] Name, Link? From)>();   // components still to walk, with the link they came from
        foreach (var c in SplitRaw(path)) pending.AddLast((c, null));
        int links = 0;
        while (pending.First is { } node)
        {
            pending.RemoveFirst();
            var (name, from) = node.Value;
            if (name.AsSpan().SequenceEqual(".."u8))
            {
                if (done.Count > 0) done.RemoveAt(done.Count - 1);
                continue;
            }
            done.Add(name);
            var item = tree.GetItem(Join(done));
            if (item is null)
            {
                string at = Text(Join(done));
                return from is { } link
                    ? Fail(PathResolutionError.DanglingLink, at, $"'{link.Path}' is a link to '{link.Target}', which is not in the image ('{at}' does not exist).", link)
                    : Fail(PathResolutionError.NotFound, at, $"'{at}' does not exist in the image.");
            }
            bool last = pending.Count == 0;
            if (item.Type == DaxFsItemType.SymbolicLink && (!last || followLast))
            {
                if (++links > MaxSymlinks)
                    return Fail(PathResolutionError.TooManyLinks, item.FullName,
                        $"Too many levels of symbolic links at '{item.FullName}' (more than {MaxSymlinks}, as the kernel allows): the links form a loop.");
                byte[] target = item.TargetBytes ?? tree.ReadSymlinkTarget(item.Ino);
                var linkInfo = new Link(Text(Join(done)), Text(target));
                done.RemoveAt(done.Count - 1);
                if (target.Length > 0 && target[0] == (byte)'/') done.Clear();
                var parts = SplitRaw(target);
                for (int i = parts.Count - 1; i >= 0; i--) pending.AddFirst((parts[i], linkInfo));
                if (parts.Count == 0 && target.Length == 0)
                    return Fail(PathResolutionError.DanglingLink, linkInfo.Path, $"'{linkInfo.Path}' is a link with an empty target.", linkInfo);
                continue;
            }
            if (!last && item.Type != DaxFsItemType.Directory)
                return Fail(PathResolutionError.NotADirectory, item.FullName, $"'{item.FullName}' is a {item.Type}, not a directory, so nothing lies below it.");
        }
        var result = tree.GetItem(Join(done));
        return result is null
            ? Fail(PathResolutionError.NotFound, Text(Join(done)), $"'{Text(Join(done))}' does not exist in the image.")
            : new PathResolution { Item = result };
    }

    private sealed record Link(string Path, string Target);

    private static PathResolution Fail(PathResolutionError error, string at, string message, Link? link = null) =>
        new() { Error = error, FailedAt = at, Message = message, LinkPath = link?.Path, LinkTarget = link?.Target };

    /// <summary>The components of a raw path ("" and "." left out; ".." kept).</summary>
    internal static List<byte[]> SplitRaw(byte[] path)
    {
        var parts = new List<byte[]>();
        int start = 0;
        for (int i = 0; i <= path.Length; i++)
        {
            if (i < path.Length && path[i] != (byte)'/') continue;
            int len = i - start;
            if (len > 0 && !(len == 1 && path[start] == (byte)'.')) parts.Add(path[start..i]);
            start = i + 1;
        }
        return parts;
    }

    private static byte[] Join(List<byte[]> parts)
    {
        if (parts.Count == 0) return "/"u8.ToArray();
        var buffer = new List<byte>();
        foreach (var p in parts) { buffer.Add((byte)'/'); buffer.AddRange(p); }
        return buffer.ToArray();
    }

    private static string Text(byte[] bytes) => Encoding.UTF8.GetString(bytes);
}
