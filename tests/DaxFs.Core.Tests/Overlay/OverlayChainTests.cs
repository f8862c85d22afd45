using System.Buffers.Binary;
using System.Text;
using DaxFs.Bench;
using DaxFs.Core.Format;
using DaxFs.Core.Format.V8;
using DaxFs.Core.Overlay;
using DaxFs.Core.Read;

namespace DaxFs.Core.Tests.Overlay;

/// <summary>
/// A lookup follows a dirent chain (the bucket of a name's key, then each dirent's <c>next</c>) checking every link, read in
/// place: a chain that loops ends with OVL-CHAIN-CYCLE and a link to an entry that is not a dirent with OVL-ENTRY-TYPE, for
/// a lookup by name and for a listing whose base name has such a chain, never an endless walk.
/// </summary>
public class OverlayChainTests
{
    /// <summary>The basic split vector with a new file "a" in the root and the bucket of (root, <paramref name="name"/>)
    /// pointing at a's dirent, whose <c>next</c> is then set by <paramref name="link"/> (a's offset, the INODE entry's).</summary>
    private static byte[] Image(byte[] name, Func<ulong, ulong, ulong> link)
    {
        byte[] image = File.ReadAllBytes(Validate.V8ValidationTests.V8("basic.v8.split.daxfs"));
        using (var baseReader = DaxFsImageReader.Open(new ByteImageMemory((byte[])image.Clone())))
        {
            var w = new KernelOverlayWriter(image, i => baseReader.IsBaseInode(i) ? baseReader.GetInode((uint)i) : null);
            w.Create(1, "a"u8);
        }
        using var reader = DaxFsImageReader.Open(new ByteImageMemory((byte[])image.Clone()));
        var view = OverlayView.Open(reader);
        ulong a = view.FindDirent(1, "a"u8)!.Value.Offset;
        Assert.True(view.TryLookupChild(1, "a"u8, out ulong ino));
        ulong inodeEntry = view.Keys[OverlayKeys.Inode(ino)];
        ulong pool = view.PoolStart;
        BinaryPrimitives.WriteUInt64LittleEndian(image.AsSpan((int)(pool + a) + OverlayDirentEntry.Offsets.Next), link(a, inodeEntry));
        ulong key = OverlayKeys.Dirent(1, name);
        ulong buckets = reader.Superblock8.OverlayOffset + view.Header.BucketOffset;
        ulong count = view.BucketCount;
        for (ulong i = key & (count - 1); ; i = (i + 1) & (count - 1))
        {
            var at = image.AsSpan((int)(buckets + i * OverlayBucket.RecordSize), OverlayBucket.RecordSize);
            if (OverlayBucket.Read(at).Used) continue;
            OverlayBucket.For(key, a).Write(at);
            break;
        }
        return image;
    }

    private static string BaseName()
    {
        using var reader = DaxFsImageReader.Open(Validate.V8ValidationTests.V8("basic.v8.split.daxfs"));
        return reader.Walk("/", recurse: false).First().Name;
    }

    [Theory]
    [InlineData(false, RuleIds.OverlayChainCycle)]
    [InlineData(true, RuleIds.OverlayEntryType)]
    public void A_bad_chain_ends_a_lookup_and_a_listing_with_its_rule(bool toInodeEntry, string rule)
    {
        foreach (string name in new[] { "zzz-not-in-the-base", BaseName() })
        {
            byte[] image = Image(Encoding.UTF8.GetBytes(name), (a, inode) => toInodeEntry ? inode : a);
            using var reader = DaxFsImageReader.Open(new ByteImageMemory(image));
            var view = OverlayView.Open(reader);
            Assert.Equal(rule, Assert.Throws<DaxFsFormatException>(() => view.FindDirent(1, Encoding.UTF8.GetBytes(name))).RuleId);
            Assert.Equal(rule, Assert.Throws<DaxFsFormatException>(() => view.TryLookupChild(1, Encoding.UTF8.GetBytes(name), out _)).RuleId);
            if (name != "zzz-not-in-the-base")
                Assert.Equal(rule, Assert.Throws<DaxFsFormatException>(() => view.Walk("/").ToList()).RuleId);
            Assert.True(view.TryLookupChild(1, "a"u8, out _)); // the head itself is found
        }
    }
}
