using System.Reflection;
using DaxFs.Core.Format;
using DaxFs.Core.Format.V8;

namespace DaxFs.Core.Tests.Format;

/// <summary>
/// Each record's <c>Offsets</c> are the one definition of where its fields sit: writing a record puts every field at
/// its named offset and nowhere else, reading takes it back from there, and no two fields share a byte.
/// </summary>
public class RecordLayoutTests
{
    public static TheoryData<Type> Records => new()
    {
        typeof(Superblock), typeof(BaseSuperblock), typeof(BaseInode), typeof(BranchRecord), typeof(PageCacheHeader),
        typeof(SuperblockV8), typeof(OverlayHeader), typeof(OverlayInodeEntry), typeof(OverlayDirListEntry), typeof(PageCacheHeaderV2),
    };

    private static int RecordSize(Type t) => (int)t.GetField("RecordSize")!.GetRawConstantValue()!;

    private static Dictionary<string, int> Offsets(Type t) =>
        t.GetNestedType("Offsets")!.GetFields(BindingFlags.Public | BindingFlags.Static).Where(f => f.IsLiteral)
            .ToDictionary(f => f.Name, f => (int)f.GetRawConstantValue()!);

    private static IEnumerable<FieldInfo> NumberFields(Type t) =>
        t.GetFields(BindingFlags.Public | BindingFlags.Instance).Where(f => f.FieldType == typeof(uint) || f.FieldType == typeof(ulong));

    private static int Width(FieldInfo f) => f.FieldType == typeof(uint) ? 4 : 8;

    private static byte[] Write(Type t, object record)
    {
        var bytes = new byte[RecordSize(t)];
        // Span<byte> cannot be boxed: call through a small generic helper.
        typeof(RecordLayoutTests).GetMethod(nameof(WriteInto), BindingFlags.NonPublic | BindingFlags.Static)!.MakeGenericMethod(t)
            .Invoke(null, new[] { record, bytes });
        return bytes;
    }

    private static void WriteInto<T>(T record, byte[] bytes) where T : struct
    {
        switch (record)
        {
            case Superblock s: s.Write(bytes); break;
            case BaseSuperblock s: s.Write(bytes); break;
            case BaseInode s: s.Write(bytes); break;
            case BranchRecord s: s.Write(bytes); break;
            case PageCacheHeader s: s.Write(bytes); break;
            case SuperblockV8 s: s.Write(bytes); break;
            case OverlayHeader s: s.Write(bytes); break;
            case OverlayInodeEntry s: s.Write(bytes); break;
            case OverlayDirListEntry s: s.Write(bytes); break;
            case PageCacheHeaderV2 s: s.Write(bytes); break;
            default: throw new ArgumentException(typeof(T).Name);
        }
    }

    private static object Read(Type t, byte[] bytes) => t.Name switch
    {
        nameof(Superblock) => Superblock.Read(bytes),
        nameof(BaseSuperblock) => BaseSuperblock.Read(bytes),
        nameof(BaseInode) => BaseInode.Read(bytes),
        nameof(BranchRecord) => BranchRecord.Read(bytes),
        nameof(PageCacheHeader) => PageCacheHeader.Read(bytes),
        nameof(SuperblockV8) => SuperblockV8.Read(bytes),
        nameof(OverlayHeader) => OverlayHeader.Read(bytes),
        nameof(OverlayInodeEntry) => OverlayInodeEntry.Read(bytes),
        nameof(OverlayDirListEntry) => OverlayDirListEntry.Read(bytes),
        nameof(PageCacheHeaderV2) => PageCacheHeaderV2.Read(bytes),
        _ => throw new ArgumentException(t.Name),
    };

    [Theory]
    [MemberData(nameof(Records))]
    public void Every_field_is_written_at_its_named_offset_and_read_back_from_it(Type t)
    {
        var offsets = Offsets(t);
        foreach (var f in NumberFields(t))
        {
            Assert.True(offsets.ContainsKey(f.Name), $"{t.Name}.Offsets has no {f.Name}");
            object record = Activator.CreateInstance(t)!;
            f.SetValue(record, f.FieldType == typeof(uint) ? uint.MaxValue : (object)ulong.MaxValue);
            var bytes = Write(t, record);
            int at = offsets[f.Name];
            for (int i = 0; i < bytes.Length; i++)
                Assert.True(bytes[i] == (i >= at && i < at + Width(f) ? 0xFF : 0), $"{t.Name}.{f.Name}: byte {i} is 0x{bytes[i]:x2}");
            Assert.Equal(f.GetValue(record), f.GetValue(Read(t, bytes)));
        }
    }

    [Theory]
    [MemberData(nameof(Records))]
    public void Fields_do_not_overlap_and_fit_in_the_record(Type t)
    {
        var offsets = Offsets(t);
        var widths = NumberFields(t).ToDictionary(f => f.Name, Width);
        if (t == typeof(BranchRecord)) widths["Name"] = BranchRecord.NameFieldSize;
        var spans = offsets.Select(o => (o.Key, Start: o.Value, End: o.Value + widths[o.Key])).OrderBy(s => s.Start).ToList();
        Assert.Equal(widths.Count, spans.Count);
        for (int i = 1; i < spans.Count; i++)
            Assert.True(spans[i - 1].End <= spans[i].Start, $"{t.Name}: {spans[i - 1].Key} overlaps {spans[i].Key}");
        Assert.True(spans[^1].End <= RecordSize(t), $"{t.Name}: {spans[^1].Key} ends past the {RecordSize(t)}-byte record");
    }

    [Fact]
    public void A_dirent_and_a_page_cache_slot_are_written_at_their_named_offsets()
    {
        var d = new byte[DaxFsConstants.DirentSize];
        Dirent.Write(d, 0x01020304, 0x0A0B0C0D, "ab"u8);
        Assert.Equal(0x01020304u, BitConverter.ToUInt32(d, Dirent.Offsets.Ino));
        Assert.Equal(0x0A0B0C0Du, BitConverter.ToUInt32(d, Dirent.Offsets.Mode));
        Assert.Equal((ushort)2, BitConverter.ToUInt16(d, Dirent.Offsets.NameLength));
        Assert.Equal("ab"u8.ToArray(), d.AsSpan(Dirent.Offsets.Name, 2).ToArray());
        Assert.Equal((0x01020304u, 0x0A0B0C0Du, (ushort)2), (Dirent.ReadIno(d), Dirent.ReadMode(d), Dirent.ReadNameLength(d)));

        var s = new byte[PageCacheSlot.RecordSize];
        PageCacheSlot.WriteValid(s, 5);
        Assert.Equal((5UL << 2) | 2, BitConverter.ToUInt64(s, PageCacheSlot.Offsets.StateTag));
        Assert.Equal(1u, BitConverter.ToUInt32(s, PageCacheSlot.Offsets.RefBit));
    }

    [Fact]
    public void Format_8_dirent_bucket_slot_and_keys_sit_where_FORMAT_V8_says()
    {
        // DIRENT: type @0, flags @4, parent @8, child @16, child_mode @24, name_len @28, next @32, dir_next @40, name @48 (256).
        var e = new OverlayDirentEntry { Type = 3, Flags = 1, ParentIno = 0x1122, ChildIno = 0x3344, ChildMode = 0x81A4, NameLength = 2,
            Next = 0x55, DirNext = 0x66, NameField = "ab"u8.ToArray() };
        var d = new byte[OverlayDirentEntry.RecordSize];
        e.Write(d);
        Assert.Equal(304, d.Length);
        Assert.Equal((3u, 1u), (BitConverter.ToUInt32(d, 0), BitConverter.ToUInt32(d, 4)));
        Assert.Equal((0x1122UL, 0x3344UL), (BitConverter.ToUInt64(d, 8), BitConverter.ToUInt64(d, 16)));
        Assert.Equal((0x81A4u, (ushort)2), (BitConverter.ToUInt32(d, 24), BitConverter.ToUInt16(d, 28)));
        Assert.Equal((0x55UL, 0x66UL), (BitConverter.ToUInt64(d, 32), BitConverter.ToUInt64(d, 40)));
        Assert.Equal(new byte[] { (byte)'a', (byte)'b', 0 }, d.AsSpan(48, 3).ToArray());
        var back = OverlayDirentEntry.Read(d);
        Assert.True(back.Tombstone);
        Assert.Equal("ab"u8.ToArray(), back.Name.ToArray());

        var b = OverlayBucket.For(0x1234, 0x40);
        Assert.True(b.Used);
        Assert.Equal(0x1234UL, b.Key);
        Assert.Equal((0x1234UL << 1) | 1, b.StateKey);

        var slot = new byte[16];
        BitConverter.TryWriteBytes(slot.AsSpan(0), (((5UL << 20) | 7) << 6) | (3UL << 2) | 2);
        var s = PageCacheSlotV2.Read(slot);
        Assert.Equal((2UL, 3u, (5UL << 20) | 7), (s.State, s.Readers, s.Tag));

        Assert.Equal((9UL << 20) | 0xFFFFF, OverlayKeys.Inode(9));
        Assert.Equal((9UL << 20) | 0xFFFFE, OverlayKeys.DirList(9));
        Assert.Equal((9UL << 20) | 3, OverlayKeys.Data(9, 3));
        // FNV-1a 64 of the 8 little-endian bytes of 1, then "a", shifted right by 1.
        ulong h = 0xcbf29ce484222325;
        foreach (byte c in new byte[] { 1, 0, 0, 0, 0, 0, 0, 0, (byte)'a' }) { h ^= c; h *= 0x100000001b3; }
        Assert.Equal(h >> 1, OverlayKeys.Dirent(1, "a"u8));
    }

    [Theory]
    [InlineData(1UL, "a")]
    [InlineData(0x0102030405060708UL, "ovl-00001a")]
    [InlineData(ulong.MaxValue, "")]
    [InlineData(77UL, "a name of some length, with bytes \xff past ASCII")]
    public void A_directory_seed_then_the_name_gives_the_dirent_key(ulong parent, string name)
    {
        // A listing hashes the parent's 8 bytes once per directory (DirentSeed) and each name from there (DirentFrom): the
        // same FNV-1a 64 over the parent's little-endian bytes and the name, shifted right by 1.
        var bytes = System.Text.Encoding.Latin1.GetBytes(name);
        ulong h = 0xcbf29ce484222325;
        foreach (byte c in BitConverter.GetBytes(parent).Concat(bytes)) { h ^= c; h *= 0x100000001b3; }
        Assert.Equal(h >> 1, OverlayKeys.DirentFrom(OverlayKeys.DirentSeed(parent), bytes));
        Assert.Equal(h >> 1, OverlayKeys.Dirent(parent, bytes));
    }

    [Fact]
    public void Every_delta_entry_type_has_a_fixed_part_and_unknown_types_none()
    {
        foreach (uint type in new uint[] { 1, 2, 3, 4, 5, 6, 7, 8 }) Assert.True(DeltaEntry.FixedSize(type) > 0);
        Assert.Equal(-1, DeltaEntry.FixedSize(0));
        Assert.Equal(-1, DeltaEntry.FixedSize(9));
        var symlink = new byte[DeltaEntry.Symlink.FixedSize];
        BitConverter.TryWriteBytes(symlink.AsSpan(DeltaEntry.Symlink.NameLength), (ushort)3);
        BitConverter.TryWriteBytes(symlink.AsSpan(DeltaEntry.Symlink.TargetLength), (ushort)4);
        Assert.Equal(3UL + 4 + 1, DeltaEntry.VariableSize(DeltaEntry.TypeSymlink, symlink));
    }
}
