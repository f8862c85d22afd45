using DaxFs.Core.Format.V8;
using DaxFs.Core.Overlay;

namespace DaxFs.Core.Tests.Overlay;

/// <summary>
/// The overlay view's key index keeps INODE and DIRLIST keys of inodes below its limit in a flat array and every other key
/// in a hash table: whichever part holds a key, it answers as a dictionary with first-wins adds would, and enumerates in
/// insertion order. Checked against a Dictionary on random operations over keys of every kind, including the edges of the
/// flat array (inode 0, the last inode below the limit, the first past it, a value of all ones that cannot be stored there).
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
            ulong value = rng.Next(8) == 0 ? ulong.MaxValue : (ulong)rng.NextInt64();
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

    [Fact]
    public void A_value_of_all_ones_for_a_flat_key_is_kept_and_replaced()
    {
        var index = new OverlayKeyIndex(4, 4, Limit);
        ulong key = OverlayKeys.Inode(5);
        Assert.True(index.TryAdd(key, ulong.MaxValue));
        Assert.True(index.TryGetValue(key, out ulong v) && v == ulong.MaxValue);
        Assert.False(index.ContainsKey(OverlayKeys.Inode(6)));
        index.Set(key, 7);
        Assert.Equal(7UL, index[key]);
        index.Set(key, ulong.MaxValue);
        Assert.Equal(ulong.MaxValue, index[key]);
        Assert.Equal([key], index.Keys);
    }
}
