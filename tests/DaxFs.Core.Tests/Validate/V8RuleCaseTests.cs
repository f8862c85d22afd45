using System.Buffers.Binary;
using DaxFs.Core.Format;
using DaxFs.Core.Overlay;
using DaxFs.Core.Read;
using DaxFs.Core.Validate;
using DaxFs.Core.Format.V8;

namespace DaxFs.Core.Tests.Validate;

/// <summary>
/// One mutant of a format-8 vector per rule: the validator reports that rule (with the missed-bounds-check trap on), and
/// the reader and the overlay view either read the image or stop with a format error, never anything else.
/// </summary>
public class V8RuleCaseTests
{
    private static byte[] Split => File.ReadAllBytes(V8ValidationTests.V8("overlay/overlay-after-writes.daxfs"));
    private static byte[] Only => File.ReadAllBytes(V8ValidationTests.V8("overlay/overlay-only-after-writes.daxfs"));

    private static void U32(byte[] b, ulong at, uint v) => BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan((int)at), v);
    private static void U64(byte[] b, ulong at, ulong v) => BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan((int)at), v);

    /// <summary>Where things are in an overlay image (found through the view of the pristine bytes).</summary>
    private sealed record Layout(ulong Overlay, ulong Buckets, ulong Pool, uint Count, OverlayView View, DaxFsImageReader Reader);

    private static Layout Find(byte[] bytes)
    {
        var r = DaxFsImageReader.Open(new ByteImageMemory((byte[])bytes.Clone()));
        var v = OverlayView.Open(r);
        var sb = r.Superblock8;
        return new Layout(sb.OverlayOffset, sb.OverlayOffset + v.Header.BucketOffset, v.PoolStart, sb.OverlayBucketCount, v, r);
    }

    /// <summary>The pool offset of the DIRENT for (parent, name).</summary>
    private static ulong Dirent(Layout l, ulong parent, string name) => l.View.FindDirent(parent, System.Text.Encoding.UTF8.GetBytes(name))!.Value.Offset;

    private static ulong InodeEntry(Layout l, ulong ino) => l.View.Keys[OverlayKeys.Inode(ino)];

    private static ulong BucketOf(Layout l, ulong key)
    {
        for (ulong i = 0; i < l.Count; i++)
        {
            var b = OverlayBucket.Read(l.Reader.Memory.Span(l.Buckets + i * 16, 16));
            if (b.Used && b.Key == key) return l.Buckets + i * 16;
        }
        throw new InvalidOperationException("no such key");
    }

    public static TheoryData<string> Rules() => new()
    {
        RuleIds.V8PageSize, RuleIds.V8Reserved, RuleIds.SuperTotalSize, RuleIds.BaseRegionBounds, RuleIds.OverlayBounds,
        RuleIds.OverlayBucketCount, RuleIds.OverlayTooSmall, RuleIds.PageCacheSlotCount, RuleIds.PageCacheTooSmall, RuleIds.PageCacheV2Magic,
        RuleIds.PageCacheLayout, RuleIds.RegionOverlapsSuper, RuleIds.RegionsOverlap, RuleIds.OverlayMagic, RuleIds.OverlayVersion,
        RuleIds.OverlayLayout, RuleIds.OverlayBucketValue, RuleIds.OverlayEntryType, RuleIds.OverlayKeyMismatch, RuleIds.OverlayDirentName,
        RuleIds.OverlayChainCycle, RuleIds.OverlayDirListCycle, RuleIds.OverlayFreeList, RuleIds.OverlayNextIno, RuleIds.OverlaySymlinkTarget,
        RuleIds.V8NoRoot, RuleIds.V8BackingPage, RuleIds.InodeType, RuleIds.DirentBadName, RuleIds.RootNotInodeOne, RuleIds.BaseNoInodes,
        RuleIds.InodeTableBounds,
    };

    /// <summary>The mutant for <paramref name="rule"/>, and the backing-file length to validate it with.</summary>
    private static (byte[] Bytes, long? Backing, int PageSize) Mutant(string rule)
    {
        byte[] b = Split;
        long? backing = 45056;
        int page = 4096;
        var l = Find(b);
        ulong pc = l.Reader.Superblock8.PageCacheOffset;
        switch (rule)
        {
            case RuleIds.V8PageSize: page = 16384; break; // an image built on a 4 KiB machine, mounted on a 16 KiB one
            case RuleIds.V8Reserved: b[200] = 1; break;
            case RuleIds.SuperTotalSize: U64(b, SuperblockV8.Offsets.TotalSize, (ulong)b.Length + 4096); break;
            case RuleIds.BaseRegionBounds: U64(b, SuperblockV8.Offsets.BaseSize, 1UL << 40); break;
            case RuleIds.OverlayBounds: U64(b, SuperblockV8.Offsets.OverlaySize, 1UL << 40); break;
            case RuleIds.OverlayBucketCount: U32(b, SuperblockV8.Offsets.OverlayBucketCount, 1000); break;
            case RuleIds.OverlayTooSmall: U64(b, SuperblockV8.Offsets.OverlaySize, 4096); break;
            case RuleIds.PageCacheSlotCount: U32(b, SuperblockV8.Offsets.PageCacheSlotCount, 4); break;
            case RuleIds.PageCacheTooSmall: U64(b, SuperblockV8.Offsets.PageCacheSize, 8192); break;
            case RuleIds.PageCacheV2Magic: U32(b, pc, 0); break;
            case RuleIds.PageCacheLayout: U64(b, pc + PageCacheHeaderV2.Offsets.SlotMetaOffset, 0); break;
            case RuleIds.RegionOverlapsSuper: U64(b, SuperblockV8.Offsets.BaseOffset, 2048); break;
            case RuleIds.RegionsOverlap: U64(b, SuperblockV8.Offsets.PageCacheOffset, l.Overlay + 8192); break;
            case RuleIds.OverlayMagic: U32(b, l.Overlay, 0x12345678); break;
            case RuleIds.OverlayVersion: U32(b, l.Overlay + 4, 1); break;
            case RuleIds.OverlayLayout: U64(b, l.Overlay + OverlayHeader.Offsets.PoolOffset, 1UL << 50); break;
            case RuleIds.OverlayBucketValue: U64(b, BucketOf(l, OverlayKeys.Inode(3)) + 8, 1UL << 40); break;
            case RuleIds.OverlayEntryType: U32(b, l.Pool + InodeEntry(l, 3), 7); break;
            case RuleIds.OverlayKeyMismatch:
            {
                // A used bucket moved past an unused one: its key's probe stops before it.
                ulong from = BucketOf(l, OverlayKeys.Inode(3));
                ulong to = l.Buckets + 512 * 16;
                Assert.Equal(0UL, BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan((int)to)) & 1);
                b.AsSpan((int)from, 16).CopyTo(b.AsSpan((int)to));
                b.AsSpan((int)from, 16).Clear();
                break;
            }
            case RuleIds.OverlayDirentName: b[(int)(l.Pool + Dirent(l, 1, "new-renamed.txt") + 48 + 3)] = (byte)'/'; break;
            case RuleIds.OverlayChainCycle: { ulong d = Dirent(l, 1, "new-renamed.txt"); U64(b, l.Pool + d + 32, d); break; }
            case RuleIds.OverlayDirListCycle: { ulong d = Dirent(l, 1, "new-renamed.txt"); U64(b, l.Pool + d + 40, d); break; }
            case RuleIds.OverlayFreeList:
            {
                ulong at = l.View.Header.PoolAlloc - 64; // inside the used pool: an entry that points at itself
                U64(b, l.Overlay + OverlayHeader.Offsets.FreeData, at);
                U64(b, l.Pool + at, at);
                break;
            }
            case RuleIds.OverlayNextIno: U64(b, l.Overlay + OverlayHeader.Offsets.NextIno, 5); break;
            case RuleIds.OverlaySymlinkTarget:
            {
                ulong ino = l.View.GetItem("/a/abs2")!.Ino;
                b.AsSpan((int)(l.Pool + l.View.Keys[OverlayKeys.Data(ino, 0)]), 4096).Fill((byte)'a');
                break;
            }
            case RuleIds.V8NoRoot:
            {
                b = Only;
                backing = null;
                var o = Find(b);
                U32(b, o.Pool + InodeEntry(o, 1) + OverlayInodeEntry.Offsets.Mode, DaxFsConstants.S_IFREG | 0x1A4);
                break;
            }
            case RuleIds.V8BackingPage:
            {
                // A base file whose backing-file extent ends past page 0xFFFFD.
                long rec = l.Reader.InodeOffset((uint)l.Reader.GetItem("/exact4096")!.Ino);
                U64(b, (ulong)rec + BaseInode.Offsets.DataOffset, 0xFFFFEUL * 4096);
                backing = null;
                break;
            }
            case RuleIds.InodeType: U32(b, (ulong)l.Reader.InodeOffset(3) + BaseInode.Offsets.Mode, 0x1000 | 0x1A4); break;
            case RuleIds.DirentBadName:
            {
                var e = l.Reader.ReadDirectory(1).First();
                b[(int)e.Offset + DaxFs.Core.Format.Dirent.Offsets.Name] = (byte)'/';
                break;
            }
            case RuleIds.RootNotInodeOne: U32(b, SuperblockV8.Offsets.RootInode, 2); break;
            case RuleIds.BaseNoInodes: U32(b, SuperblockV8.Offsets.InodeCount, 0); break;
            case RuleIds.InodeTableBounds: U64(b, SuperblockV8.Offsets.InodeOffset, (1UL << 20) * 64); break;
            default: throw new ArgumentException(rule);
        }
        l.Reader.Dispose();
        return (b, backing, page);
    }

    [Theory]
    [MemberData(nameof(Rules))]
    public void The_mutant_breaks_its_rule_and_nothing_escapes(string rule)
    {
        var (bytes, backing, page) = Mutant(rule);
        var findings = V8ValidationTests.Validate(bytes, backing, page);
        Assert.Contains(findings, f => f.RuleId == rule);
        Assert.All(findings, f => RuleIds.Get(f.RuleId));
        ReadEverything(bytes);
    }

    /// <summary>The rules only a format-8 image can break (RuleCaseTests crafts format-5 cases for the rest).</summary>
    public static readonly IReadOnlySet<string> Format8Only = typeof(RuleIds).GetFields()
        .Where(f => f.IsLiteral && (f.Name.StartsWith("V8") || f.Name.StartsWith("Overlay") || f.Name == nameof(RuleIds.PageCacheV2Magic)))
        .Select(f => (string)f.GetRawConstantValue()!).ToHashSet();

    [Fact]
    public void Every_format_8_rule_has_a_mutant_case()
    {
        var covered = new HashSet<string> { RuleIds.OverlayLostAppend }; // the kernel-written vector itself: V8ValidationTests
        foreach (string row in Rules()) covered.Add(row);
        Assert.Equal(21, Format8Only.Count);
        Assert.All(Format8Only, id => Assert.Contains(id, covered));
    }

    /// <summary>Reads every path and byte the reader can; only a format error (or a missing backing file) may stop it.</summary>
    internal static void ReadEverything(byte[] bytes)
    {
        DaxFsImageReader reader;
        try { reader = DaxFsImageReader.Open(new ByteImageMemory(bytes)); }
        catch (DaxFsFormatException) { return; }
        using (reader)
        {
            try
            {
                var tree = OverlayView.MountedTree(reader);
                foreach (var i in tree.Walk("/"))
                {
                    if (i.Unreachable || i.Type != DaxFsItemType.File) continue;
                    try { using var s = tree.OpenContent(i.Ino); s.CopyTo(Stream.Null); }
                    catch (InvalidOperationException) { } // split content without the backing file
                }
                if (tree is OverlayView v)
                {
                    OverlayState.Of(v);
                    v.FindLostAppends().ToList();
                }
            }
            catch (DaxFsFormatException) { }
        }
    }
}
