using System.Collections;
using DaxFs.Core.Format.V8;
using System.Diagnostics.CodeAnalysis;

namespace DaxFs.Core.Overlay;

/// <summary>
/// The overlay's reachable keys and their pool offsets, for the lookups a listing makes for every entry (is there an INODE
/// entry for this inode, a DIRLIST for this directory, a DIRENT for this name). Inode numbers are dense (base inodes 1..N,
/// the kernel numbers new ones from a counter), so INODE and DIRLIST keys of inodes below a limit the caller gives are kept
/// in a flat array indexed by inode number (the INODE values, then the DIRLIST values, 4 bytes each: pool offsets that do
/// not fit go to the table): a lookup is one array read, and the array is a small fraction of the table's size. Every other key (DIRENT name hashes, DATA pages, inode numbers past
/// the limit) goes to an open-addressing table with each key beside its value in one array, so a lookup, found or not,
/// usually touches one cache line. Their low bits cluster (an inode number shifted left by 20), so the slot comes from a
/// multiplicative hash of the whole key. A bit filter of about 8 bits per such key (small enough to stay in the processor's
/// cache) answers most lookups of absent keys — the common case for base entries, which a listing asks about once each —
/// without touching the table. Which part holds a key depends on the key alone, so the two never disagree. Enumerates in
/// insertion order.
/// </summary>
internal sealed class OverlayKeyIndex : IReadOnlyDictionary<ulong, ulong>
{
    private ulong[] _slots;      // pairs: key + 1 (0 = empty), value
    private int _shift;          // 64 - log2(capacity)
    private int _hashCount;
    private ulong[] _order;      // keys in insertion order
    private int _count;
    private readonly ulong[] _filter; // one bit per filter slot: set when some hashed key maps there
    private readonly int _filterShift;
    private readonly uint[] _dense;  // [ino] INODE value + 1, [limit + ino] DIRLIST value + 1 (0 = absent)
    private readonly ulong _denseLimit;
    private bool _denseInTable;      // some INODE or DIRLIST key below the limit is in the table (its value does not fit)

    /// <param name="expected">Keys expected in all.</param>
    /// <param name="expectedInTable">Of those, the keys expected in the table (not the flat array's).</param>
    /// <param name="denseLimit">INODE and DIRLIST keys of inodes below this go to the flat array (4 bytes per inode and kind).</param>
    public OverlayKeyIndex(int expected = 0, int expectedInTable = -1, ulong denseLimit = 0)
    {
        if (expectedInTable < 0) expectedInTable = expected;
        _denseLimit = Math.Min(denseLimit, (ulong)Array.MaxLength / 2);
        _dense = _denseLimit == 0 ? [] : new uint[2 * _denseLimit];
        int capacity = 16;
        while (capacity < expectedInTable * 2 && capacity < (1 << 30)) capacity <<= 1;
        _slots = new ulong[capacity * 2];
        _shift = 64 - System.Numerics.BitOperations.Log2((uint)capacity);
        _order = new ulong[Math.Max(4, expected)];
        int filterBits = 512;
        while (filterBits < expectedInTable * 8 && filterBits < (1 << 30)) filterBits <<= 1;
        _filter = new ulong[filterBits / 64];
        _filterShift = 64 - System.Numerics.BitOperations.Log2((uint)filterBits);
    }

    private int FilterBit(ulong key) => (int)(((key ^ (key >> 29)) * 0xC2B2AE3D27D4EB4FUL) >> _filterShift);

    private bool MayContain(ulong key)
    {
        int bit = FilterBit(key);
        return (_filter[bit >> 6] & (1UL << bit)) != 0;
    }

    public int Count => _count;

    private int Slot(ulong key) => (int)((key * 0x9E3779B97F4A7C15UL) >> _shift);

    /// <summary>The flat array's index for <paramref name="key"/> (an INODE or DIRLIST key of an inode below the limit), or -1.</summary>
    private long DenseAt(ulong key)
    {
        ulong suffix = key & OverlayKeys.SuffixMask;
        if (suffix < OverlayKeys.DirListSuffix) return -1;
        ulong ino = key >> OverlayKeys.InoShift;
        if (ino >= _denseLimit) return -1;
        return (long)(suffix == OverlayKeys.InodeSuffix ? ino : _denseLimit + ino);
    }

    /// <summary>The pair index of <paramref name="key"/> in the table, or of the empty slot where it would go (then false).</summary>
    private bool Find(ulong key, out int at)
    {
        int mask = _slots.Length / 2 - 1;
        ulong stored = key + 1;
        for (int i = Slot(key); ; i = (i + 1) & mask)
        {
            ulong s = _slots[2 * i];
            if (s == stored) { at = 2 * i; return true; }
            if (s == 0) { at = 2 * i; return false; }
        }
    }

    /// <summary>Adds <paramref name="key"/> unless present (then false, the value kept). One probe of the part that holds it.</summary>
    public bool TryAdd(ulong key, ulong value)
    {
        long d = DenseAt(key);
        if (d >= 0)
        {
            if (_dense[d] != 0 || (_denseInTable && MayContain(key) && Find(key, out _))) return false;
            if (value < uint.MaxValue)
            {
                _dense[d] = (uint)value + 1;
                Append(key);
                return true;
            }
        }
        if ((_hashCount + 1) * 2 > _slots.Length / 2) Grow();
        if (Find(key, out int at)) return false;
        Insert(at, key, value);
        if (d >= 0) _denseInTable = true;
        Append(key);
        return true;
    }

    private void Append(ulong key)
    {
        if (_count == _order.Length) Array.Resize(ref _order, _order.Length * 2);
        _order[_count++] = key;
    }

    private void Insert(int at, ulong key, ulong value)
    {
        _slots[at] = key + 1;
        _slots[at + 1] = value;
        _hashCount++;
        int bit = FilterBit(key);
        _filter[bit >> 6] |= 1UL << bit;
    }

    /// <summary>Sets the value of <paramref name="key"/>, adding it when absent.</summary>
    public void Set(ulong key, ulong value)
    {
        if (TryAdd(key, value)) return;
        long d = DenseAt(key);
        if (d >= 0 && _dense[d] != 0)
        {
            if (value < uint.MaxValue) { _dense[d] = (uint)value + 1; return; }
            _dense[d] = 0; // a value past 32 bits has no place in the array: the key moves to the table
            if ((_hashCount + 1) * 2 > _slots.Length / 2) Grow();
            Find(key, out int free);
            Insert(free, key, value);
            _denseInTable = true;
            return;
        }
        Find(key, out int at);
        _slots[at + 1] = value;
    }

    private void Grow()
    {
        var old = _slots;
        _slots = new ulong[old.Length * 2];
        _shift--;
        int mask = _slots.Length / 2 - 1;
        for (int p = 0; p < old.Length; p += 2)
        {
            if (old[p] == 0) continue;
            int i = Slot(old[p] - 1);
            while (_slots[2 * i] != 0) i = (i + 1) & mask;
            _slots[2 * i] = old[p];
            _slots[2 * i + 1] = old[p + 1];
        }
    }

    public bool ContainsKey(ulong key) => TryGetValue(key, out _);

    public bool TryGetValue(ulong key, [MaybeNullWhen(false)] out ulong value)
    {
        long d = DenseAt(key);
        if (d >= 0)
        {
            uint v = _dense[d];
            if (v != 0) { value = v - 1; return true; }
            if (!_denseInTable) { value = 0; return false; }
        }
        if (MayContain(key) && Find(key, out int at)) { value = _slots[at + 1]; return true; }
        value = 0;
        return false;
    }

    public ulong this[ulong key] => TryGetValue(key, out ulong v) ? v : throw new KeyNotFoundException($"Key 0x{key:x} is not in the overlay's table.");

    public IEnumerable<ulong> Keys => _order.Take(_count);

    public IEnumerable<ulong> Values => Keys.Select(k => this[k]);

    public IEnumerator<KeyValuePair<ulong, ulong>> GetEnumerator()
    {
        for (int i = 0; i < _count; i++) yield return new KeyValuePair<ulong, ulong>(_order[i], this[_order[i]]);
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
