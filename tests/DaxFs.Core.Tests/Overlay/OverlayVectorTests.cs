using System.Security.Cryptography;
using System.Text;
using DaxFs.Core.Format;
using DaxFs.Core.Overlay;
using DaxFs.Core.Read;
using DaxFs.Core.Format.V8;

namespace DaxFs.Core.Tests.Overlay;

/// <summary>
/// The two format-8 images whose overlay the v8 kernel wrote (shared vectors/v8/overlay) list offline exactly as a fresh
/// mount listed them (NAME.kernel-view.txt: find -printf '%y|%m|%U|%G|%s|%n|%l|/%P', then sha256 of every regular file).
/// </summary>
public class OverlayVectorTests
{
    public static string Ovl(string name) => Validate.V8ValidationTests.V8("overlay/" + name);

    public static DaxFsImageReader Open(string name)
    {
        string backing = Ovl(name + ".backing");
        return DaxFsImageReader.Open(Ovl(name + ".daxfs"), File.Exists(backing) ? backing : null);
    }

    /// <summary>The kernel's view: path → the find line, and path → sha256.</summary>
    private static (SortedDictionary<string, string> Lines, SortedDictionary<string, string> Sha) KernelView(string name)
    {
        var lines = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var sha = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in File.ReadAllLines(Ovl(name + ".kernel-view.txt"), Encoding.UTF8))
        {
            if (line.Length == 0) continue;
            var f = line.Split('|');
            if (f[0] == "sha256") sha[f[2]] = f[1];
            else lines[f[7]] = line;
        }
        return (lines, sha);
    }

    /// <summary>The same lines made offline from the view.</summary>
    private static (SortedDictionary<string, string> Lines, SortedDictionary<string, string> Sha) OfflineView(IImageTree tree)
    {
        var lines = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var sha = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var i in new[] { tree.GetItem("/")! }.Concat(tree.Walk("/").Where(i => !i.Unreachable)))
        {
            char type = i.Type switch { DaxFsItemType.Directory => 'd', DaxFsItemType.SymbolicLink => 'l', _ => 'f' };
            string mode = Convert.ToString(i.Inode.Mode & 0xFFF, 8);
            lines[i.FullName] = $"{type}|{mode}|{i.Inode.Uid}|{i.Inode.Gid}|{i.Inode.Size}|{i.Inode.Nlink}|{i.Target}|{i.FullName}";
            if (i.Type == DaxFsItemType.File)
            {
                using var s = tree.OpenContent(i.Ino);
                sha[i.FullName] = Convert.ToHexString(SHA256.HashData(s)).ToLowerInvariant();
            }
        }
        return (lines, sha);
    }

    [Theory]
    [InlineData("overlay-after-writes", DaxFsImageMode.Split)]
    [InlineData("overlay-only-after-writes", DaxFsImageMode.OverlayOnly)]
    public void Offline_view_equals_the_kernel_view(string name, DaxFsImageMode mode)
    {
        using var reader = Open(name);
        Assert.Equal(mode, reader.Mode);
        var view = OverlayView.MountedTree(reader);
        Assert.IsType<OverlayView>(view);
        var (kLines, kSha) = KernelView(name);
        var (oLines, oSha) = OfflineView(view);
        Assert.Equal(kLines.Keys, oLines.Keys);
        foreach (var (path, line) in kLines) Assert.Equal(line, oLines[path]);
        Assert.Equal(kSha, oSha);
    }

    [Fact]
    public void Overlay_state_of_the_split_image_is_what_the_kernel_left()
    {
        // OVERLAY.md: 51 buckets used, pool_alloc 92864, next_ino 29, free lists empty.
        using var reader = Open("overlay-after-writes");
        var view = OverlayView.Open(reader);
        Assert.Equal(51, view.UsedBuckets);
        Assert.Equal(92864UL, view.Header.PoolAlloc);
        Assert.Equal(29UL, view.Header.NextIno);
        Assert.True(OverlayHeader.FreeListEmpty(view.Header.FreeInode) && OverlayHeader.FreeListEmpty(view.Header.FreeData) && OverlayHeader.FreeListEmpty(view.Header.FreeDirent));
    }

    [Fact]
    public void The_lost_append_is_reported_and_not_shown()
    {
        // OVERLAY.md: /a/b/c/hello.txt 13 -> 27 bytes in the writing mount; after a remount 13 (its page keeps the 14 appended bytes).
        using var reader = Open("overlay-after-writes");
        var view = OverlayView.Open(reader);
        var hello = view.GetItem("/newdir/c-moved/hello.txt")!;
        Assert.Equal(13UL, hello.Inode.Size);
        var lost = Assert.Single(view.FindLostAppends());
        Assert.Equal(hello.Ino, lost.Ino);
        Assert.Equal(0UL, lost.Page);
        Assert.Equal(14, lost.BytesPastSize);
        using var only = Open("overlay-only-after-writes");
        Assert.Empty(OverlayView.Open(only).FindLostAppends());
    }

    [Fact]
    public void Tombstones_hide_base_and_overlay_names()
    {
        using var reader = Open("overlay-after-writes");
        var view = OverlayView.Open(reader);
        Assert.NotNull(reader.GetItem("/suid"));        // in the base
        Assert.Null(view.GetItem("/suid"));             // removed through the mount
        Assert.Null(view.GetItem("/emptydir"));
        Assert.Null(view.GetItem("/gone.txt"));         // made and removed in the overlay
        Assert.Null(view.GetItem("/a/b/c"));            // renamed away
        Assert.NotNull(view.GetItem("/newdir/c-moved"));
        Assert.DoesNotContain(view.Walk("/", recurse: false), i => i.Name == "suid");
    }
}

public class OverlayStateTests
{
    [Theory]
    // OVERLAY.md: 51 buckets (12 INODE, 16 DATA, 19 DIRENT of which 9 tombstones, 4 DIRLIST), pool_alloc 92864, next_ino 29;
    // 43 buckets (12 INODE, 14 DATA, 14 DIRENT of which 5 tombstones, 3 DIRLIST), pool_alloc 91024, next_ino 13.
    [InlineData("overlay-after-writes", 51, 12, 16, 19, 9, 4, 92864UL, 29UL)]
    [InlineData("overlay-only-after-writes", 43, 12, 14, 14, 5, 3, 91024UL, 13UL)]
    public void Counts_entries_by_kind_as_the_kernel_left_them(string name, int buckets, int inodes, int data, int dirents, int tombstones, int lists, ulong alloc, ulong nextIno)
    {
        using var reader = OverlayVectorTests.Open(name);
        var s = OverlayState.Of(OverlayView.Open(reader));
        Assert.Equal((buckets, inodes, data, dirents, tombstones, lists), (s.BucketsUsed, s.InodeEntries, s.DataPages, s.Dirents, s.Tombstones, s.DirLists));
        Assert.Equal(alloc, s.PoolUsed);
        Assert.Equal(2UL << 20, s.PoolSize);
        Assert.Equal(s.PoolSize - alloc, s.PoolFree);
        Assert.Equal(1024u, s.BucketCount);
        Assert.Equal(nextIno, s.NextIno);
        Assert.True(s.FreeInode.Empty && s.FreeData.Empty && s.FreeDirent.Empty);
    }

    [Fact]
    public void A_free_list_is_walked_and_a_looping_one_is_refused()
    {
        byte[] bytes = File.ReadAllBytes(OverlayVectorTests.Ovl("overlay-only-after-writes.daxfs"));
        using var r0 = DaxFsImageReader.Open(new ByteImageMemory((byte[])bytes.Clone()));
        var v0 = OverlayView.Open(r0);
        ulong pool = v0.PoolStart, alloc = v0.Header.PoolAlloc, hdr = r0.Superblock8.OverlayOffset;
        // Two free entries past pool_alloc: a -> b -> end, head with generation 3.
        ulong a = alloc + 64, b = alloc + 128;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan((int)(pool + a)), b);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan((int)(pool + b)), ulong.MaxValue);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan((int)hdr + OverlayHeader.Offsets.FreeInode), (3UL << 48) | a);
        using (var r = DaxFsImageReader.Open(new ByteImageMemory((byte[])bytes.Clone())))
        {
            var s = OverlayState.Of(OverlayView.Open(r));
            Assert.Equal(new OverlayFreeList((3UL << 48) | a, false, 3, 2), s.FreeInode);
        }
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan((int)(pool + b)), a); // b -> a: a loop
        using (var r = DaxFsImageReader.Open(new ByteImageMemory(bytes)))
        {
            var ex = Assert.Throws<DaxFsFormatException>(() => OverlayState.Of(OverlayView.Open(r)));
            Assert.Equal(RuleIds.OverlayFreeList, ex.RuleId);
        }
    }

    [Fact]
    public void Changes_against_the_base_are_what_the_mount_shows()
    {
        using var reader = OverlayVectorTests.Open("overlay-after-writes");
        var changes = DaxFs.Core.Branches.BranchComparer.Compare(reader, OverlayView.Open(reader)).ToDictionary(c => c.Path);
        Assert.Equal(DaxFs.Core.Branches.BranchChangeKind.Removed, changes["/suid"].Change);
        Assert.Equal(DaxFs.Core.Branches.BranchChangeKind.Removed, changes["/emptydir"].Change);
        Assert.Equal(DaxFs.Core.Branches.BranchChangeKind.Added, changes["/new-renamed.txt"].Change);
        Assert.Equal(DaxFs.Core.Branches.BranchChangeKind.Added, changes["/newdir/c-moved/hello.txt"].Change);
        Assert.Equal("mode -rw-r--r-- → -rw-------", changes["/one"].Details);
        Assert.Equal("size 7 → 3; content differs", changes["/private"].Details);
        Assert.Equal("content differs", changes["/exact4096"].Details);
        Assert.False(changes.ContainsKey("/a"));          // chmod of a directory is not stored
        Assert.False(changes.ContainsKey("/empty"));
        using var only = OverlayVectorTests.Open("overlay-only-after-writes");
        var all = DaxFs.Core.Branches.BranchComparer.Compare(null, OverlayView.Open(only)).ToList();
        Assert.All(all, c => Assert.Equal(DaxFs.Core.Branches.BranchChangeKind.Added, c.Change));
        Assert.Equal(10, all.Count); // the 10 lines of the kernel view, the root included
    }
}
