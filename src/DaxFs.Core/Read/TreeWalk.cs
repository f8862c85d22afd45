namespace DaxFs.Core.Read;

/// <summary>
/// The one walk of an image tree, for the base image's reader and a branch's view alike: like <c>ls -R</c> and
/// Get-ChildItem -Recurse, a directory's entries together, then each subdirectory in turn, down to a depth. Each
/// directory inode is entered once, so no image (a cycle, a directory with two parents) makes the walk endless; what a
/// second meeting means is the caller's (<paramref name="metAgain"/>: the reader raises a format error, a branch view
/// skips it). Names marked <see cref="ImageItem.Unreachable"/> are listed but not entered.
/// </summary>
internal static class TreeWalk
{
    /// <summary>Lists the entries of directory <paramref name="dirIno"/> (its attributes <paramref name="dir"/>) at
    /// <paramref name="dirPath"/> ("" for the root) as items at <paramref name="level"/>; <paramref name="dirRaw"/> is the
    /// directory's raw path when it (or a directory above it) is not UTF-8, so that the items keep their raw paths.</summary>
    public delegate IEnumerable<ImageItem> Lister(ulong dirIno, Format.BaseInode dir, string dirPath, int level, byte[]? dirRaw);

    public static IEnumerable<ImageItem> Walk(ImageItem start, string startPath, Lister list, Action<ImageItem> metAgain, bool recurse, int depth,
        CancellationToken cancellationToken)
    {
        if (start.Type != Format.DaxFsItemType.Directory)
        {
            yield return start;
            yield break;
        }
        var visited = new HashSet<ulong> { start.Ino };
        var pending = new Stack<(string Path, ulong Ino, Format.BaseInode Inode, int Level, byte[]? Raw)>();
        pending.Push((startPath == "/" ? "" : startPath, start.Ino, start.Inode, 0, start.HasRawPath ? start.FullNameBytes : null));
        var subdirs = new List<(string, ulong, Format.BaseInode, int, byte[]?)>();
        while (pending.Count > 0)
        {
            var dir = pending.Pop();
            subdirs.Clear();
            foreach (var item in list(dir.Ino, dir.Inode, dir.Path, dir.Level, dir.Raw))
            {
                cancellationToken.ThrowIfCancellationRequested();
                yield return item;
                if (!recurse || item.Unreachable || dir.Level + 1 > depth || item.Type != Format.DaxFsItemType.Directory) continue;
                if (visited.Add(item.Ino)) subdirs.Add((item.FullName, item.Ino, item.Inode, dir.Level + 1, dir.Raw is not null || item.HasRawName ? item.FullNameBytes : null));
                else metAgain(item);
            }
            for (int k = subdirs.Count - 1; k >= 0; k--) pending.Push(subdirs[k]);
        }
    }
}
