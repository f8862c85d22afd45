using System.Text;
using DaxFs.Bench;
using DaxFs.Core.Format;
using DaxFs.Core.Overlay;
using DaxFs.Core.Read;

namespace DaxFs.Core.Tests.Overlay;

/// <summary>
/// The overlay view's listing (which skips the second lookup where the listing already tells what it finds) gives exactly
/// what readdir followed by a lookup of every name gives (<see cref="OverlayView.ReadDirectory"/>, then
/// <see cref="OverlayView.TryLookupChild"/> and <see cref="OverlayView.TryGetAttributes"/>), on overlays written the kernel's
/// way over the basic split vector: new names, tombstones over base and overlay names, revived names, renames, a base name
/// shadowed by a live overlay dirent (listed twice), attribute changes.
/// </summary>
public class OverlayListingTests
{
    private static byte[] B(string s) => Encoding.UTF8.GetBytes(s);

    private static List<string> Reference(OverlayView view)
    {
        var lines = new List<string>();
        var pending = new Stack<(ulong Ino, string Path)>();
        var seen = new HashSet<ulong> { 1 };
        pending.Push((1, ""));
        while (pending.Count > 0)
        {
            var (dir, path) = pending.Pop();
            var subdirs = new List<(ulong, string)>();
            foreach (var (name, listed, mode, offset, _) in view.ReadDirectory(dir))
            {
                string p = path + "/" + Encoding.UTF8.GetString(name);
                if (view.TryLookupChild(dir, name, out ulong ino) && view.TryGetAttributes(ino, out var a))
                {
                    lines.Add($"{p}|{ino}|{a.Mode:x}|{a.Size}|{a.Uid}|{a.Nlink}|{offset}");
                    if (ModeBits.TypeOf(a.Mode) == DaxFsItemType.Directory && seen.Add(ino)) subdirs.Add((ino, p));
                }
                else lines.Add($"{p}|unreachable {listed}|{mode & DaxFsConstants.S_IFMT:x}|{offset}");
            }
            for (int k = subdirs.Count - 1; k >= 0; k--) pending.Push(subdirs[k]);
        }
        return lines;
    }

    private static List<string> Listed(OverlayView view) =>
        view.Walk("/").Select(i => i.Unreachable
            ? $"{i.FullName}|unreachable {i.Ino}|{i.Inode.Mode:x}|{i.EntryOffset}"
            : $"{i.FullName}|{i.Ino}|{i.Inode.Mode:x}|{i.Inode.Size}|{i.Inode.Uid}|{i.Inode.Nlink}|{i.EntryOffset}").ToList();

    /// <summary>How the root's base entries are put before the overlay is written: as mkdaxfs made them, in ascending or
    /// descending byte order (the listing proves a name the first of its name by order only while the names ascend), or
    /// ascending with the third entry given the second's name (a name listed twice in the base: the lookup finds the first).</summary>
    public enum BaseOrder { AsMade, Ascending, Descending, Repeated }

    [Theory]
    [InlineData(1, BaseOrder.AsMade)]
    [InlineData(2, BaseOrder.AsMade)]
    [InlineData(3, BaseOrder.AsMade)]
    [InlineData(1, BaseOrder.Ascending)]
    [InlineData(2, BaseOrder.Descending)]
    [InlineData(3, BaseOrder.Repeated)]
    [InlineData(4, BaseOrder.Repeated)]
    public void The_listing_equals_readdir_and_a_lookup_of_every_name(int seed, BaseOrder order)
    {
        string path = Validate.V8ValidationTests.V8("basic.v8.split.daxfs");
        byte[] image = File.ReadAllBytes(path);
        Reorder(image, order);
        using var baseReader = DaxFsImageReader.Open(new ByteImageMemory((byte[])image.Clone()));
        var baseItems = baseReader.Walk("/").ToList();
        var dirs = new List<(ulong Ino, List<byte[]> Names)> { (1, new()) };
        var dirOf = new Dictionary<string, int> { ["/"] = 0 };
        foreach (var i in baseItems)
        {
            dirs[dirOf[i.ParentPath]].Names.Add(i.NameBytes);
            if (i.Type == DaxFsItemType.Directory) { dirOf[i.FullName] = dirs.Count; dirs.Add((i.Ino, new())); }
        }
        var w = new KernelOverlayWriter(image, i => baseReader.IsBaseInode(i) ? baseReader.GetInode((uint)i) : null);
        var rng = new Random(seed);
        var live = new List<(int Dir, byte[] Name, ulong Ino)>();
        foreach (var (d, k) in dirs.Select((d, k) => (d, k)))
            foreach (var n in d.Names)
                if (baseReader.TryLookup(ParentPathOf(baseItems, d.Ino) + "/" + Encoding.UTF8.GetString(n), out uint ino)
                    && !(order == BaseOrder.Repeated && k == 0 && n.AsSpan().SequenceEqual(dirs[0].Names[1]))) // the repeated name stays untouched
                    live.Add((k, n, ino));
        for (int op = 0; op < 120; op++)
        {
            int kind = rng.Next(6);
            int di = rng.Next(dirs.Count);
            var name = B($"n{rng.Next(40)}");
            try
            {
                switch (kind)
                {
                    case 0: { ulong f = w.Create(dirs[di].Ino, name); live.Add((di, name, f)); break; }
                    case 1: { ulong d = w.Mkdir(dirs[di].Ino, name); live.Add((di, name, d)); dirs.Add((d, new())); break; }
                    case 2 or 3 when live.Count > 0:
                    {
                        int li = rng.Next(live.Count);
                        var (ld, ln, _) = live[li];
                        w.Remove(dirs[ld].Ino, ln);
                        live.RemoveAt(li);
                        break;
                    }
                    case 4 when live.Count > 0:
                    {
                        var (ld, ln, li) = live[rng.Next(live.Count)];
                        uint mode = w.OverlayMode(li) ?? baseReader.GetInode((uint)li).Mode;
                        w.Rename(dirs[ld].Ino, ln, dirs[di].Ino, name, li, mode);
                        live.RemoveAll(x => x.Dir == ld && x.Name.AsSpan().SequenceEqual(ln));
                        live.Add((di, name, li));
                        break;
                    }
                    case 5 when live.Count > 0: w.SetAttr(live[rng.Next(live.Count)].Ino, perm: 0x180, uid: 7); break;
                }
            }
            catch (IOException) { } // the name is taken: the kernel refuses it too
        }
        // A base name shadowed by a live overlay dirent (mv of a new file onto a base name): listed twice.
        ulong twin = w.Create(dirs[0].Ino, B("twin-source"));
        w.Rename(dirs[0].Ino, B("twin-source"), 1, dirs[0].Names[0], twin, w.OverlayMode(twin)!.Value);

        using var reader = DaxFsImageReader.Open(new ByteImageMemory(image));
        var view = OverlayView.Open(reader);
        var expected = Reference(view);
        Assert.Equal(expected, Listed(view));
        Assert.Equal(2, Listed(view).Count(l => l.StartsWith("/" + Encoding.UTF8.GetString(dirs[0].Names[0]) + "|", StringComparison.Ordinal)));
        if (order == BaseOrder.Repeated) Assert.Equal(2, dirs[0].Names.Count(n => n.AsSpan().SequenceEqual(dirs[0].Names[1])));
    }

    [Theory]
    [InlineData("xy\0a/b", "xy", null)]      // a slash after the NUL: cut off with the rest
    [InlineData("xy/a\0b", null, RuleIds.DirentBadName)] // a slash before it: an invalid name
    [InlineData("xy/ab", null, RuleIds.DirentBadName)]
    [InlineData("xyab\0", "xyab", null)]
    public void A_base_name_is_cut_at_its_first_NUL_and_refused_with_a_slash_before_it(string stored, string? listed, string? rule)
    {
        byte[] image = File.ReadAllBytes(Validate.V8ValidationTests.V8("basic.v8.split.daxfs"));
        ulong start;
        using (var r = DaxFsImageReader.Open(new ByteImageMemory((byte[])image.Clone()))) start = r.ListedDirectory(1, out _);
        var name = Encoding.Latin1.GetBytes(stored);
        name.CopyTo(image.AsSpan((int)start + Dirent.NameOffset));
        BitConverter.TryWriteBytes(image.AsSpan((int)start + Dirent.Offsets.NameLength), (ushort)name.Length);
        using var reader = DaxFsImageReader.Open(new ByteImageMemory(image));
        var view = OverlayView.Open(reader);
        if (rule is not null)
        {
            Assert.Equal(rule, Assert.Throws<DaxFsFormatException>(() => reader.ReadDirectoryAsListed(1).ToList()).RuleId);
            Assert.Equal(rule, Assert.Throws<DaxFsFormatException>(() => view.Walk("/").ToList()).RuleId);
            return;
        }
        var (entry, cut) = reader.ReadDirectoryAsListed(1).First();
        Assert.Equal(listed, Encoding.Latin1.GetString(entry.NameBytes));
        Assert.True(cut);
        // No lookup finds a cut name: the view lists it unreachable, as find does.
        var item = Assert.Single(view.Walk("/", recurse: false), i => i.Name == listed);
        Assert.True(item.Unreachable);
    }

    /// <summary>Rewrites the root's base entry array in place in the order <paramref name="order"/> names.</summary>
    private static void Reorder(byte[] image, BaseOrder order)
    {
        if (order == BaseOrder.AsMade) return;
        ulong start, count;
        using (var r = DaxFsImageReader.Open(new ByteImageMemory((byte[])image.Clone()))) start = r.ListedDirectory(1, out count);
        Assert.True(count >= 3);
        var entries = Enumerable.Range(0, (int)count)
            .Select(j => image.AsSpan((int)start + j * DaxFsConstants.DirentStride, DaxFsConstants.DirentSize).ToArray()).ToList();
        static byte[] Name(byte[] e) => e.AsSpan(Dirent.NameOffset, Dirent.ReadNameLength(e)).ToArray();
        entries.Sort((a, b) => Name(a).AsSpan().SequenceCompareTo(Name(b)));
        if (order == BaseOrder.Descending) entries.Reverse();
        if (order == BaseOrder.Repeated)
            Dirent.Write(entries[2], Dirent.ReadIno(entries[2]), Dirent.ReadMode(entries[2]), Name(entries[1]));
        for (int j = 0; j < entries.Count; j++) entries[j].CopyTo(image, (int)start + j * DaxFsConstants.DirentStride);
    }

    private static string ParentPathOf(List<ImageItem> items, ulong dirIno) =>
        dirIno == 1 ? "" : items.First(i => i.Ino == dirIno && i.Type == DaxFsItemType.Directory).FullName;
}
