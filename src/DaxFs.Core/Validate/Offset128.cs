using System.Runtime.CompilerServices;

namespace DaxFs.Core.Validate;

/// <summary>
/// An unsigned 128-bit number for the validator's offset arithmetic: sums and products of 64-bit fields read from a
/// hostile image never wrap. It does what <see cref="UInt128"/> did here, and exists because ReadyToRun cannot precompile
/// a method that uses <see cref="UInt128"/> (its layout is outside the assembly's version bubble), so every validator
/// method using it was JIT-compiled on the first validation of each process (measured: most of the first
/// Test-DaxFsImage's time; build/Bench.ps1 reports the JIT's share).
/// </summary>
internal readonly struct Offset128 : IEquatable<Offset128>, IComparable<Offset128>
{
    private readonly ulong _hi, _lo;

    private Offset128(ulong hi, ulong lo) { _hi = hi; _lo = lo; }

    public static implicit operator Offset128(ulong v) => new(0, v);

    /// <summary>The low 64 bits, as UInt128's explicit conversions give them (callers check the range first).</summary>
    public static explicit operator ulong(Offset128 v) => v._lo;
    public static explicit operator long(Offset128 v) => (long)v._lo;

    public static Offset128 operator +(Offset128 a, Offset128 b)
    {
        ulong lo = a._lo + b._lo;
        return new(a._hi + b._hi + (lo < a._lo ? 1UL : 0UL), lo);
    }

    public static Offset128 operator -(Offset128 a, Offset128 b)
    {
        ulong lo = a._lo - b._lo;
        return new(a._hi - b._hi - (a._lo < b._lo ? 1UL : 0UL), lo);
    }

    public static Offset128 operator *(Offset128 a, Offset128 b)
    {
        ulong hi = Math.BigMul(a._lo, b._lo, out ulong lo);
        return new(hi + a._hi * b._lo + a._lo * b._hi, lo);
    }

    public static Offset128 operator /(Offset128 a, ulong d) => a._hi == 0 ? new(0, a._lo / d) : DivideWide(a, d);

    // Only for quotients of values past 2^64, which no sound image has: the one place UInt128 stays (not inlined, so the
    // callers stay precompiled).
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static Offset128 DivideWide(Offset128 a, ulong d)
    {
        var q = new UInt128(a._hi, a._lo) / d;
        return new((ulong)(q >> 64), (ulong)q);
    }

    public static bool operator <(Offset128 a, Offset128 b) => a._hi < b._hi || (a._hi == b._hi && a._lo < b._lo);
    public static bool operator >(Offset128 a, Offset128 b) => b < a;
    public static bool operator <=(Offset128 a, Offset128 b) => !(b < a);
    public static bool operator >=(Offset128 a, Offset128 b) => !(a < b);
    public static bool operator ==(Offset128 a, Offset128 b) => a._hi == b._hi && a._lo == b._lo;
    public static bool operator !=(Offset128 a, Offset128 b) => !(a == b);

    public bool Equals(Offset128 other) => this == other;
    public override bool Equals(object? obj) => obj is Offset128 o && this == o;
    public override int GetHashCode() => HashCode.Combine(_hi, _lo);
    public int CompareTo(Offset128 other) => this < other ? -1 : this > other ? 1 : 0;

    /// <summary>Decimal, or hexadecimal with "x" (the formats the validator's messages use).</summary>
    public string ToString(string? format) => _hi == 0 ? _lo.ToString(format, System.Globalization.CultureInfo.InvariantCulture) : WideText(format);
    public override string ToString() => ToString(null);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private string WideText(string? format) => new UInt128(_hi, _lo).ToString(format, System.Globalization.CultureInfo.InvariantCulture);
}
