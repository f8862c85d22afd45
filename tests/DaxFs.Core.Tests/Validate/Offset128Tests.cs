using DaxFs.Core.Validate;

namespace DaxFs.Core.Tests.Validate;

/// <summary>Offset128 (the validator's 128-bit offset arithmetic, precompilable) computes what UInt128 computes.</summary>
public class Offset128Tests
{
    private static readonly ulong[] Edges = [0, 1, 2, 271, 272, 4095, 4096, 0x7FFFFFFF, 0xFFFFFFFF, 0x100000000, long.MaxValue, (ulong)long.MaxValue + 1, ulong.MaxValue - 1, ulong.MaxValue];

    private static IEnumerable<(UInt128 A, UInt128 B)> Pairs()
    {
        var rng = new Random(128);
        var values = new List<UInt128>();
        foreach (ulong e in Edges) { values.Add(e); values.Add((UInt128)e + ulong.MaxValue); values.Add((UInt128)e << 64 | e); }
        for (int i = 0; i < 200; i++) values.Add(new UInt128(rng.Next(3) == 0 ? (ulong)rng.NextInt64() : 0, (ulong)rng.NextInt64() * (ulong)rng.Next(1, 4)));
        foreach (var a in values)
            foreach (var b in values.Take(60)) yield return (a, b);
    }

    private static Offset128 Of(UInt128 v)
    {
        // Build it as the validator does: from 64-bit values, with its own operators.
        Offset128 hi = (ulong)(v >> 64), lo = (ulong)v;
        return hi * ((Offset128)ulong.MaxValue + 1UL) + lo;
    }

    private static UInt128 Back(Offset128 v) => UInt128.Parse(v.ToString("x"), System.Globalization.NumberStyles.HexNumber);

    [Fact]
    public void Arithmetic_comparisons_conversions_and_text_agree_with_UInt128()
    {
        int n = 0;
        foreach (var (a, b) in Pairs())
        {
            Offset128 x = Of(a), y = Of(b);
            Assert.Equal(a, Back(x));
            Assert.Equal(a + b, Back(x + y));
            Assert.Equal(a - b, Back(x - y));
            Assert.Equal(a * b, Back(x * y));
            ulong d = (ulong)b == 0 ? 4096 : (ulong)b;
            Assert.Equal(a / d, Back(x / d));
            Assert.Equal(a < b, x < y);
            Assert.Equal(a <= b, x <= y);
            Assert.Equal(a > b, x > y);
            Assert.Equal(a >= b, x >= y);
            Assert.Equal(a == b, x == y);
            Assert.Equal(a.CompareTo(b), x.CompareTo(y));
            Assert.Equal((ulong)a, (ulong)x);
            Assert.Equal((long)a, (long)x);
            Assert.Equal(a.ToString(), x.ToString());
            Assert.Equal(a.ToString("x"), x.ToString("x"));
            Assert.Equal(a > long.MaxValue, x > long.MaxValue);
            n++;
        }
        Assert.True(n > 10000);
    }
}
