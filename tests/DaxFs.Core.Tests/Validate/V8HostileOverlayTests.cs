using System.Buffers.Binary;
using DaxFs.Core.Format;
using DaxFs.Core.Overlay;
using DaxFs.Core.Read;
using DaxFs.Core.Validate;

namespace DaxFs.Core.Tests.Validate;

/// <summary>
/// Hostile overlays: seeded random damage to the superblock, the overlay header, the used buckets and the used pool of the
/// kernel-written images (and pool offsets planted in next, dir_next, bucket values and free-list heads, which make cycles).
/// The validator runs with the missed-bounds-check trap on and must not throw; the reader and the overlay view must read
/// through or stop with a format error — nothing else, no endless loop.
/// </summary>
public class V8HostileOverlayTests
{
    public static TheoryData<string, int> Cases()
    {
        var d = new TheoryData<string, int>();
        foreach (var name in new[] { "overlay-after-writes", "overlay-only-after-writes" })
            for (int seed = 0; seed < 8; seed++) d.Add(name, seed);
        return d;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Damaged_overlays_give_findings_or_format_errors_only(string name, int seed)
    {
        byte[] pristine = File.ReadAllBytes(V8ValidationTests.V8($"overlay/{name}.daxfs"));
        ulong ov, buckets, pool, alloc;
        uint count;
        using (var r = DaxFsImageReader.Open(new ByteImageMemory((byte[])pristine.Clone())))
        {
            var v = OverlayView.Open(r);
            ov = r.Superblock8.OverlayOffset;
            buckets = ov + v.Header.BucketOffset;
            pool = v.PoolStart;
            alloc = v.Header.PoolAlloc;
            count = r.Superblock8.OverlayBucketCount;
        }
        var usedBuckets = new List<ulong>();
        for (ulong i = 0; i < count; i++)
            if ((BinaryPrimitives.ReadUInt64LittleEndian(pristine.AsSpan((int)(buckets + i * 16))) & 1) != 0) usedBuckets.Add(buckets + i * 16);

        var rng = new Random(seed * 7919 + name.Length);
        int unsafeCount = 0;
        for (int round = 0; round < 60; round++)
        {
            byte[] b = (byte[])pristine.Clone();
            int edits = 1 + rng.Next(4);
            for (int e = 0; e < edits; e++)
            {
                switch (rng.Next(6))
                {
                    case 0: b[rng.Next(112)] = (byte)rng.Next(256); break;                                   // superblock fields
                    case 1: b[(int)ov + rng.Next(72)] = (byte)rng.Next(256); break;                            // overlay header
                    case 2: b[(int)usedBuckets[rng.Next(usedBuckets.Count)] + rng.Next(16)] = (byte)rng.Next(256); break; // a used bucket
                    case 3: b[(int)pool + rng.Next((int)alloc)] = (byte)rng.Next(256); break;                // a used pool byte
                    case 4:                                                                                  // a planted pool offset
                    {
                        ulong target = (ulong)rng.Next((int)alloc) & ~7UL;
                        int field = rng.Next(3);
                        ulong at = field == 0 ? usedBuckets[rng.Next(usedBuckets.Count)] + 8                  // a bucket's value
                            : field == 1 ? pool + ((ulong)rng.Next((int)alloc) & ~7UL) + 32                   // a dirent's next or dir_next
                            : ov + (ulong)(48 + 8 * rng.Next(3));                                              // a free-list head
                        if (at + 8 <= (ulong)b.Length) BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan((int)at), target);
                        break;
                    }
                    default: b[(int)ov + (int)(alloc / 2) + rng.Next(4096)] ^= 0xFF; break;                  // anywhere in the overlay
                }
            }
            var findings = ImageValidator.Validate(new ByteImageMemory(b), new ValidationOptions { PageSize = 4096, ThrowOnMissedBoundsCheck = true });
            if (!ImageValidator.IsSafe(findings)) unsafeCount++;
            V8RuleCaseTests.ReadEverything(b);
        }
        Assert.True(unsafeCount > 0, "the damage should make some images unsafe");
    }
}
