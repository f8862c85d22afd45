using DaxFs.Core.Format.V8;
using DaxFs.Core.Overlay;

namespace DaxFs.Core.Tests.Overlay;

/// <summary>
/// The overlay view's key index keeps INODE and DIRLIST keys of inodes below its limit in a flat array and every other key
/// in a hash table: whichever part holds a key, it answers as a dictionary with first-wins adds would, and enumerates in
/// insertion order. Checked against a Dictionary on random operations over keys of every kind, including the edges of the
/// flat array (inode 0, the last inode below the limit, the first past it; pool offsets of 32 bits and more, which it cannot
/// hold, and the largest it can).
/// </summary>
public class OverlayKeyIndexTests
{
    private const ulong Limit = 64;

    private static ulong RandomKey(Random rng)
    {
        ulong ino = rng.Next(6) switch
        {
            0 => 0,
            1 => Limit - 1,
            2 => Limit,
            3 => (ulong)rng.NextInt64(1L << 43),
            _ => (ulong)rng.Next((int)Limit + 8),
        };
        return rng.Next(5) switch
        {
            0 => OverlayKeys.Inode(ino),
            1 => OverlayKeys.DirList(ino),
            2 => OverlayKeys.Data(ino, (ulong)rng.Next(3)),
            3 => OverlayKeys.Dirent(ino, [(byte)('a' + rng.Next(26))]),
            _ => (ulong)rng.NextInt64() & OverlayKeys.KeyMask,
        };
    }

    [Theory]
    [InlineData(1, 0)]
    [InlineData(2, 16)]
    [InlineData(3, 4000)]
    public void It_answers_as_a_dictionary_whichever_part_holds_a_key(int seed, int expected)
    {
        var rng = new Random(seed);
        var index = new OverlayKeyIndex(expected, expected / 2, Limit);
        var model = new Dictionary<ulong, ulong>();
        var order = new List<ulong>();
        for (int op = 0; op < 20000; op++)
        {
            ulong key = RandomKey(rng);
            ulong value = rng.Next(6) switch
            {
                0 => ulong.MaxValue,
                1 => uint.MaxValue,
                2 => uint.MaxValue - 1,
                3 => (ulong)rng.NextInt64(),
                _ => (ulong)rng.Next(1 << 28),
            };
            if (rng.Next(4) == 0)
            {
                if (!model.ContainsKey(key)) order.Add(key);
                model[key] = value;
                index.Set(key, value);
            }
            else
            {
                bool added = model.TryAdd(key, value);
                if (added) order.Add(key);
                Assert.Equal(added, index.TryAdd(key, value));
            }
            ulong probe = RandomKey(rng);
            Assert.Equal(model.TryGetValue(probe, out ulong want), index.TryGetValue(probe, out ulong got));
            Assert.Equal(want, got);
        }
        Assert.Equal(model.Count, index.Count);
        Assert.Equal(order, index.Keys);
        Assert.Equal(order.Select(k => model[k]), index.Select(p => p.Value));
        foreach (var (k, v) in model) Assert.Equal(v, index[k]);
    }

    [Theory]
    [InlineData(ulong.MaxValue)]
    [InlineData(uint.MaxValue)]
    [InlineData(1UL << 40)]
    public void A_value_the_flat_array_cannot_hold_is_kept_and_replaced(ulong large)
    {
        var index = new OverlayKeyIndex(4, 4, Limit);
        ulong key = OverlayKeys.Inode(5);
        Assert.True(index.TryAdd(key, large));
        Assert.False(index.TryAdd(key, 1));
        Assert.True(index.TryGetValue(key, out ulong v) && v == large);
        Assert.False(index.ContainsKey(OverlayKeys.Inode(6)));
        index.Set(key, uint.MaxValue - 1);
        Assert.Equal(uint.MaxValue - 1, index[key]);
        index.Set(key, large);
        Assert.Equal(large, index[key]);
        index.Set(key, 0);
        Assert.Equal(0UL, index[key]);
        Assert.Equal([key], index.Keys);
    }
}
