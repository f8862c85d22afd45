using System.Text;
using DaxFs.Core.Format;

namespace DaxFs.Core.Read;

/// <summary>
/// A tree that resolves one name at a time over the base image, as the kernel's lookup does: a branch's replay or a
/// format-8 overlay. <see cref="NameLookup"/> walks paths through it, so each view says only how one name resolves.
/// </summary>
internal interface INameLookup
{
    /// <summary>The attributes a mount shows for <paramref name="ino"/>; false when no such inode resolves.</summary>
    bool TryGetAttributes(ulong ino, out BaseInode attributes);
    /// <summary>The inode a lookup of <paramref name="name"/> in directory <paramref name="dir"/> finds; false when none.</summary>
    bool TryLookupChild(ulong dir, ReadOnlySpan<byte> name, out ulong ino);
    /// <summary>The target of a symlink (bytes, without a NUL).</summary>
    byte[] ReadSymlinkTarget(ulong ino);
}

/// <summary>Path walks over an <see cref="INameLookup"/>: the root is always inode 1 (the kernel does not use root_inode).</summary>
internal static class NameLookup
{
    /// <summary>Resolves a text path (no symlinks followed) to its inode.</summary>
    public static bool TryLookup(INameLookup tree, string path, out ulong ino)
    {
        ino = DaxFsConstants.RootInode;
        foreach (var part in DaxFsImageReader.NormalizePath(path).Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (!tree.TryGetAttributes(ino, out var a) || ModeBits.TypeOf(a.Mode) != DaxFsItemType.Directory) return false;
            if (!tree.TryLookupChild(ino, Encoding.UTF8.GetBytes(part), out ulong child) || !tree.TryGetAttributes(child, out _)) return false;
            ino = child;
        }
        return tree.TryGetAttributes(ino, out _);
    }

    /// <summary>The item at an absolute raw path (components compared as bytes, as the kernel's lookup does), or null.</summary>
    public static ImageItem? GetItem(INameLookup tree, byte[] path)
    {
        ulong ino = DaxFsConstants.RootInode;
        byte[] last = Array.Empty<byte>();
        foreach (var part in PathResolver.SplitRaw(path))
        {
            if (!tree.TryGetAttributes(ino, out var d) || ModeBits.TypeOf(d.Mode) != DaxFsItemType.Directory) return null;
            if (!tree.TryLookupChild(ino, part, out ulong child) || !tree.TryGetAttributes(child, out _)) return null;
            ino = child;
            last = part;
        }
        if (!tree.TryGetAttributes(ino, out var a)) return null;
        return new ImageItem(DaxFsImageReader.NormalizePath(Encoding.UTF8.GetString(path)), last, ino, a,
            ModeBits.TypeOf(a.Mode) == DaxFsItemType.SymbolicLink ? tree.ReadSymlinkTarget(ino) : null, 0, -1,
            fullNameBytes: last.Length == 0 ? null : path);
    }
}
