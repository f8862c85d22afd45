using System.Buffers.Binary;
using System.Text;

namespace DaxFs.TreeTools;

/// <summary>One damaged image for the hostile boot.</summary>
/// <param name="Name">Unique, file-name safe.</param>
/// <param name="Kind">"structural" (a named break), "valid" (must mount and read back), "mutant" (random bytes).</param>
/// <param name="Expect">For structural cases: the rule id the mount gate must name, or the error id of the refusal
/// that comes before the gate (ImageLargerThanMountSize); null for valid cases and mutants.</param>
/// <param name="Backing">Split images: mount with the backing file.</param>
/// <param name="Source">Which source tree the image was made from: "small" or "large" (thousands of directories).</param>
public sealed record HostileCase(string Name, string Kind, string? Expect, byte[] Bytes, bool Backing = false, string Source = "small");

/// <summary>
/// The hostile set of the 'hostile' integration boot: every structural break of the DAXFS format the kernel might
/// dereference at mount or on the first readdir, lookup or read (FORMAT.md, the reference module's super.c, inode.c,
/// dir.c, file.c, branch.c, delta.c, pcache.c), and random mutations of real images from fixed seeds. Written against
/// the format with raw offsets, independent of the module under test.
/// </summary>
public static partial class HostileImages
{
    private const int Block = 4096, InodeSize = 64, DirentStride = 272, BranchRecord = 128;
    private const uint SIfmt = 0xF000, SIfdir = 0x4000, SIfreg = 0x8000, SIflnk = 0xA000;

    /// <summary>Field offsets of an image, read from its superblock and base image.</summary>
    private sealed class Layout
    {
        public readonly byte[] B;
        public Layout(byte[] b) => B = b;
        public long BaseOffset => (long)U64(B, 24);
        public long BaseSize => (long)U64(B, 32);
        public long BranchTable => (long)U64(B, 40);
        public uint BranchEntries => U32(B, 48);
        public long DeltaOffset => (long)U64(B, 72);
        public long DeltaSize => (long)U64(B, 80);
        public long PcacheOffset => (long)U64(B, 160);
        public long InodeTable => BaseOffset + (long)U64(B, (int)BaseOffset + 24);
        public uint InodeCount => U32(B, (int)BaseOffset + 32);
        public long Inode(uint ino) => InodeTable + (ino - 1) * (long)InodeSize;
        public uint Mode(uint ino) => U32(B, (int)Inode(ino) + 4);
        public ulong Size(uint ino) => U64(B, (int)Inode(ino) + 16);
        public long Data(uint ino) => BaseOffset + (long)U64(B, (int)Inode(ino) + 24);
        public long Dirent(uint dir, int j) => Data(dir) + j * (long)DirentStride;
        public long MetadataEnd => BaseOffset + (long)U64(B, (int)BaseOffset + 40);

        /// <summary>Pick the last matching inode instead of the first (large images: far into the table).</summary>
        public bool FromEnd;

        /// <summary>The first inode of the type, from 2 up (the last one when <see cref="FromEnd"/>; 0 when none).</summary>
        public uint First(uint type, Func<uint, bool>? and = null)
        {
            if (FromEnd)
            {
                for (uint i = InodeCount; i >= 2; i--)
                    if ((Mode(i) & SIfmt) == type && (and?.Invoke(i) ?? true)) return i;
                return 0;
            }
            for (uint i = 2; i <= InodeCount; i++)
                if ((Mode(i) & SIfmt) == type && (and?.Invoke(i) ?? true)) return i;
            return 0;
        }
    }

    private static uint U32(byte[] b, int at) => BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(at));
    private static ulong U64(byte[] b, int at) => BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan(at));
    private static void W16(byte[] b, long at, ushort v) => BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan((int)at), v);
    private static void W32(byte[] b, long at, uint v) => BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan((int)at), v);
    private static void W64(byte[] b, long at, ulong v) => BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan((int)at), v);

    /// <summary>
    /// A branching image as the kernel leaves it after use: main ACTIVE with a log at the start of the delta region
    /// holding MKDIR /newdir, CREATE /newdir/f, WRITE "written in a branch\n" to it and SYMLINK /newlink -> f. The
    /// kernel mounts it and shows those entries. Needs a delta region of at least 1 MiB.
    /// </summary>
    public static byte[] WithLiveMain(byte[] branching)
    {
        var b = (byte[])branching.Clone();
        var l = new Layout(b);
        ulong next = l.InodeCount + 1UL;
        ulong dir = next, file = next + 1, link = next + 2;
        var log = new List<byte>();
        void Entry(uint type, ulong ino, byte[] body)
        {
            var e = new byte[24 + body.Length];
            BinaryPrimitives.WriteUInt32LittleEndian(e, type);
            BinaryPrimitives.WriteUInt32LittleEndian(e.AsSpan(4), (uint)e.Length);
            BinaryPrimitives.WriteUInt64LittleEndian(e.AsSpan(8), ino);
            BinaryPrimitives.WriteUInt64LittleEndian(e.AsSpan(16), 1);
            body.CopyTo(e, 24);
            log.AddRange(e);
        }
        byte[] Create(ulong parent, ulong ino, uint mode, string name)
        {
            var n = Encoding.ASCII.GetBytes(name);
            var f = new byte[32 + n.Length];
            BinaryPrimitives.WriteUInt64LittleEndian(f, parent);
            BinaryPrimitives.WriteUInt64LittleEndian(f.AsSpan(8), ino);
            BinaryPrimitives.WriteUInt32LittleEndian(f.AsSpan(16), mode);
            BinaryPrimitives.WriteUInt16LittleEndian(f.AsSpan(28), (ushort)n.Length);
            n.CopyTo(f, 32);
            return f;
        }
        Entry(5, dir, Create(1, dir, SIfdir | 0x1ED, "newdir"));
        Entry(2, file, Create(dir, file, SIfreg | 0x1A4, "f"));
        var data = Encoding.ASCII.GetBytes("written in a branch\n");
        var w = new byte[16 + data.Length];
        BinaryPrimitives.WriteUInt32LittleEndian(w.AsSpan(8), (uint)data.Length);
        data.CopyTo(w, 16);
        Entry(1, file, w);
        var s = new byte[32 + "newlink".Length + "newdir/f".Length + 1];
        BinaryPrimitives.WriteUInt64LittleEndian(s, 1);
        BinaryPrimitives.WriteUInt64LittleEndian(s.AsSpan(8), link);
        BinaryPrimitives.WriteUInt16LittleEndian(s.AsSpan(24), (ushort)"newlink".Length);
        BinaryPrimitives.WriteUInt16LittleEndian(s.AsSpan(26), (ushort)"newdir/f".Length);
        Encoding.ASCII.GetBytes("newlinknewdir/f").CopyTo(s, 32);
        Entry(8, link, s);
        log.CopyTo(b, (int)l.DeltaOffset);

        const ulong Capacity = 1 << 20;
        long rec = l.BranchTable;
        W64(b, rec, 1);                          // branch_id
        W64(b, rec + 8, 0);                      // parent_id
        W64(b, rec + 16, (ulong)l.DeltaOffset);  // delta_log_offset (absolute)
        W64(b, rec + 24, (ulong)log.Count);      // delta_log_size
        W64(b, rec + 32, Capacity);              // delta_log_capacity
        W32(b, rec + 40, 1);                     // ACTIVE
        W32(b, rec + 44, 1);                     // refcount
        W64(b, rec + 48, link + 1);              // next_local_ino
        Encoding.ASCII.GetBytes("main").CopyTo(b, rec + 56);
        W32(b, 52, 1);                           // active_branches
        W64(b, 56, 2);                           // next_branch_id
        W64(b, 88, (ulong)l.DeltaOffset + Capacity); // delta_alloc_offset
        return b;
    }

    /// <summary>The named structural breaks, plus the untouched images as "valid" cases.</summary>
    public static List<HostileCase> Structural(byte[] staticImage, byte[] branchingImage, byte[]? splitImage) =>
        Structural(staticImage, branchingImage, splitImage, "small");

    /// <summary>
    /// The named structural breaks of images of the <paramref name="source"/> tree ("small", or "large": names get a
    /// "large-" prefix, and each break hits the last directory, file or symlink of the inode table, after thousands of
    /// others).
    /// </summary>
    public static List<HostileCase> Structural(byte[] staticImage, byte[] branchingImage, byte[]? splitImage, string source)
    {
        var list = new List<HostileCase>();
        var live = WithLiveMain(branchingImage);
        bool fromEnd = source != "small";
        string prefix = fromEnd ? source + "-" : "";
        void Add(string name, string? expect, byte[] seed, Action<byte[], Layout> patch, bool backing = false)
        {
            var b = (byte[])seed.Clone();
            patch(b, new Layout(b) { FromEnd = fromEnd });
            list.Add(new HostileCase(prefix + name, expect is null ? "valid" : "structural", expect, b, backing, source));
        }
        long len = staticImage.Length;
        var st = new Layout(staticImage) { FromEnd = fromEnd };
        uint subdir = st.First(SIfdir, i => st.Size(i) > 0);
        uint file = st.First(SIfreg, i => st.Size(i) > 0);
        uint symlink = st.First(SIflnk);
        if (subdir == 0 || file == 0 || symlink == 0) throw new ArgumentException("The static image needs a non-empty subdirectory, a non-empty file and a symlink.");

        Add("static-valid", null, staticImage, (_, _) => { });
        Add("branching-valid", null, branchingImage, (_, _) => { });
        Add("branching-live-main-valid", null, live, (_, _) => { });
        if (splitImage is not null) Add("split-valid", null, splitImage, (_, _) => { }, backing: true);

        // Superblock and regions
        Add("truncated-half", "ImageLargerThanMountSize", staticImage[..(int)(len / 2 / Block * Block)], (_, _) => { });
        Add("total-size-past-memory", "ImageLargerThanMountSize", staticImage, (b, _) => W64(b, 16, (ulong)len + (1 << 20)));
        Add("base-region-past-end", "SB-BASE-BOUNDS", staticImage, (b, _) => W64(b, 32, (ulong)len));
        Add("base-offset-past-end", "SB-BASE-BOUNDS", staticImage, (b, _) => W64(b, 24, (ulong)len + Block));
        Add("base-offset-zero", "SB-NOBASE", staticImage, (b, _) => W64(b, 24, 0));
        Add("base-over-superblock", "SB-OVERLAP-SUPER", staticImage, (b, _) => W64(b, 24, 64));
        Add("pcache-past-end-static", "SB-PCACHE-BOUNDS", staticImage, (b, _) => { W64(b, 160, (ulong)len); W64(b, 168, Block); W32(b, 176, 1); });
        // Base image and inode table
        Add("inode-count-huge", "BASE-INODETABLE-BOUNDS", staticImage, (b, l) => W32(b, l.BaseOffset + 32, 0x7FFFFFFF));
        Add("inode-table-past-base", "BASE-INODETABLE-BOUNDS", staticImage, (b, l) => W64(b, l.BaseOffset + 24, (ulong)l.BaseSize));
        Add("base-total-over-base-size", "BASE-TOTALSIZE", staticImage, (b, l) => W64(b, l.BaseOffset + 16, (ulong)l.BaseSize + (1 << 30)));
        Add("root-out-of-range", "BASE-ROOT-RANGE", staticImage, (b, l) => W32(b, l.BaseOffset + 36, 9999));
        Add("root-not-inode-1", "BASE-ROOT-ONE", staticImage, (b, l) => W32(b, l.BaseOffset + 36, subdir));
        Add("inode-1-is-a-file", "BASE-ROOT-NOTDIR", staticImage, (b, l) => W32(b, l.Inode(1) + 4, SIfreg | 0x1A4));
        Add("inode-type-fifo", "INODE-TYPE", staticImage, (b, l) => W32(b, l.Inode(file) + 4, 0x1000 | 0x1A4));
        // Directories and dirents
        Add("root-dir-data-past-end", "INODE-DATA-BOUNDS", staticImage, (b, l) => W64(b, l.Inode(1) + 24, 1UL << 40));
        Add("root-dir-size-huge", "INODE-DATA-BOUNDS", staticImage, (b, l) => W64(b, l.Inode(1) + 16, 271UL * 1000000));
        Add("root-dir-size-not-271", "DIR-SIZE", staticImage, (b, l) => W64(b, l.Inode(1) + 16, l.Size(1) + 1));
        Add("subdir-data-at-image-end", "INODE-DATA-BOUNDS", staticImage, (b, l) => W64(b, l.Inode(subdir) + 24, (ulong)(len - l.BaseOffset - 100)));
        Add("dirent-ino-past-count", "DIRENT-INO", staticImage, (b, l) => W32(b, l.Dirent(1, 0), l.InodeCount + 5));
        Add("dirent-ino-zero", "DIRENT-INO", staticImage, (b, l) => W32(b, l.Dirent(1, 0), 0));
        Add("dirent-ino-huge", "DIRENT-INO", staticImage, (b, l) => W32(b, l.Dirent(1, 0), 0xFFFFFFFF));
        Add("dirent-namelen-65535", "DIRENT-NAMELEN", staticImage, (b, l) => W16(b, l.Dirent(1, 0) + 8, 0xFFFF));
        Add("dirent-empty-name", "DIRENT-EMPTYNAME", staticImage, (b, l) => W16(b, l.Dirent(1, 0) + 8, 0));
        Add("dirent-name-with-slash", "DIRENT-BADNAME", staticImage, (b, l) => b[l.Dirent(1, 0) + 16] = (byte)'/');
        Add("directory-contains-root", "TREE-CYCLE", staticImage, (b, l) => { W32(b, l.Dirent(subdir, 0), 1); W32(b, l.Dirent(subdir, 0) + 4, SIfdir | 0x1ED); });
        Add("directory-contains-itself", "TREE-CYCLE", staticImage, (b, l) => { W32(b, l.Dirent(subdir, 0), subdir); W32(b, l.Dirent(subdir, 0) + 4, SIfdir | 0x1ED); });
        Add("two-dirs-share-entries", "DIR-OVERLAP", staticImage, (b, l) =>
        {
            uint other = l.First(SIfdir, i => i != subdir && l.Size(i) > 0);
            if (other == 0) other = 1;
            W64(b, l.Inode(subdir) + 24, U64(b, (int)l.Inode(other) + 24));
            W64(b, l.Inode(subdir) + 16, U64(b, (int)l.Inode(other) + 16));
        });
        // Files and symlinks
        Add("file-data-past-end", "INODE-DATA-BOUNDS", staticImage, (b, l) => W64(b, l.Inode(file) + 24, (ulong)len));
        Add("file-data-offset-wraps", "INODE-DATA-BOUNDS", staticImage, (b, l) => W64(b, l.Inode(file) + 24, ulong.MaxValue - 10));
        Add("file-size-huge", "INODE-DATA-BOUNDS", staticImage, (b, l) => W64(b, l.Inode(file) + 16, 1UL << 50));
        Add("symlink-unterminated", "SYMLINK-NUL", staticImage, (b, l) => b[l.Data(symlink) + (long)l.Size(symlink)] = (byte)'x');
        Add("symlink-empty-wild-offset", "SYMLINK-EMPTY", staticImage, (b, l) => { W64(b, l.Inode(symlink) + 16, 0); W64(b, l.Inode(symlink) + 24, 1UL << 50); });
        Add("symlink-past-end", "INODE-DATA-BOUNDS", staticImage, (b, l) => W64(b, l.Inode(symlink) + 24, (ulong)len));
        // Branching: regions, branch table, delta logs
        long blen = live.Length;
        Add("branch-table-over-base", "SB-OVERLAP", branchingImage, (b, l) => W64(b, 40, (ulong)l.BaseOffset));
        Add("branch-table-past-end", "SB-BRANCHTABLE-BOUNDS", branchingImage, (b, _) => W64(b, 40, (ulong)blen));
        Add("branch-table-entries-4096", "SB-BRANCHTABLE-ENTRIES", branchingImage, (b, _) => W32(b, 48, 4096));
        Add("branch-table-at-zero", "SB-BRANCHTABLE-ENTRIES", branchingImage, (b, _) => W64(b, 40, 0));
        Add("delta-region-past-end", "SB-DELTA-BOUNDS", branchingImage, (b, _) => W64(b, 80, (ulong)blen));
        Add("delta-alloc-before-region", "SB-DELTA-ALLOC", branchingImage, (b, _) => W64(b, 88, Block));
        Add("main-log-past-end", "BRANCH-LOG-BOUNDS", live, (b, l) => W64(b, l.BranchTable + 16, (ulong)blen));
        Add("main-log-offset-zero", "BRANCH-LOG-BOUNDS", live, (b, l) => W64(b, l.BranchTable + 16, 0));
        Add("main-log-size-over-capacity", "BRANCH-LOG-BOUNDS", live, (b, l) => W64(b, l.BranchTable + 24, 4UL << 20));
        Add("delta-entry-size-huge", "DELTA-ENTRY", live, (b, l) => W32(b, l.DeltaOffset + 4, 0x7FFFFFF0));
        Add("delta-entry-size-below-header", "DELTA-ENTRY", live, (b, l) => W32(b, l.DeltaOffset + 4, 8));
        Add("delta-entry-unknown-type", "DELTA-ENTRY", live, (b, l) => W32(b, l.DeltaOffset, 77));
        Add("delta-create-name-past-entry", "DELTA-ENTRY", live, (b, l) => W16(b, l.DeltaOffset + 24 + 28, 4000));
        Add("delta-symlink-without-nul", "DELTA-SYMLINK-NUL", live, (b, l) =>
        {
            // The SYMLINK entry is the last one; its NUL is the last byte of the log.
            long end = l.DeltaOffset + (long)U64(b, (int)l.BranchTable + 24);
            b[end - 1] = (byte)'x';
        });
        Add("branch-parent-cycle", "BRANCH-CYCLE", live, (b, l) =>
        {
            W64(b, l.BranchTable + 8, 2);
            long r = l.BranchTable + BranchRecord;
            W64(b, r, 2); W64(b, r + 8, 1); W64(b, r + 16, (ulong)l.DeltaOffset + (1 << 20)); W32(b, r + 40, 1);
            Encoding.ASCII.GetBytes("loop").CopyTo(b, r + 56);
        });
        Add("branch-parent-missing", "BRANCH-PARENT", live, (b, l) => W64(b, l.BranchTable + 8, 77));
        Add("branch-name-unterminated", "BRANCH-NAME", live, (b, l) => b.AsSpan((int)l.BranchTable + 56, 32).Fill((byte)'m'));
        Add("branch-state-invalid", "BRANCH-STATE", live, (b, l) => W32(b, l.BranchTable + 40, 9));
        Add("aborted-parent-log-past-end", "BRANCH-LOG-BOUNDS", live, (b, l) =>
        {
            // An aborted branch is still loaded as the parent of a live one.
            long r = l.BranchTable + BranchRecord;
            W64(b, r, 2); W64(b, r + 8, 1); W64(b, r + 16, (ulong)blen + (1 << 20)); W64(b, r + 24, 4096); W64(b, r + 32, 4096); W32(b, r + 40, 3);
            Encoding.ASCII.GetBytes("gone").CopyTo(b, r + 56);
        });
        // Split: the page cache
        if (splitImage is not null)
        {
            Add("split-pcache-slots-past-region", "PC-LAYOUT", splitImage, (b, l) => W64(b, l.PcacheOffset + 16, 1UL << 40), backing: true);
            Add("split-pcache-data-past-region", "PC-LAYOUT", splitImage, (b, l) => W64(b, l.PcacheOffset + 24, 1UL << 40), backing: true);
            Add("split-pcache-zero-slots", "PC-LAYOUT", splitImage, (b, l) => W32(b, l.PcacheOffset + 8, 0), backing: true);
            Add("split-pcache-region-past-end", "SB-PCACHE-BOUNDS", splitImage, (b, _) => W64(b, 160, (ulong)b.Length), backing: true);
            Add("split-flag-without-pcache", "SB-SPLIT-MODE", splitImage, (b, _) => W64(b, 160, 0), backing: true);
            Add("split-file-past-backing", "INODE-DATA-BOUNDS", splitImage, (b, l) =>
            {
                uint f = l.First(SIfreg, i => l.Size(i) > 0);
                W64(b, l.Inode(f) + 24, 1UL << 40);
            }, backing: true);
        }
        return list;
    }

    private static readonly ulong[] Interesting =
    {
        0, 1, 2, 4, 0x10, 0x7F, 0x80, 0xFF, 0x100, 270, 271, 272, 4095, 4096, 4097, 0x7FFF, 0xFFFF, 0x10000,
        0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0x100000000, 0x7FFFFFFFFFFFFFFF, 0xFFFFFFFFFFFFF000, ulong.MaxValue,
    };

    /// <summary>
    /// <paramref name="count"/> mutants of <paramref name="image"/> from <paramref name="seed"/>: one to three changes each,
    /// in the metadata the kernel reads (superblock, branch table, base superblock, inode table, directory data, and
    /// for branching images the start of the delta region): a bit flip, a random byte, or an aligned 2/4/8-byte field
    /// set to a boundary value or to a value relative to the image's length.
    /// </summary>
    public static List<HostileCase> Mutants(byte[] image, string prefix, int seed, int count) => Mutants(image, prefix, seed, count, "small");

    /// <summary>As <see cref="Mutants(byte[], string, int, int)"/>, with the cases marked as made from <paramref name="source"/>.</summary>
    public static List<HostileCase> Mutants(byte[] image, string prefix, int seed, int count, string source)
    {
        var l = new Layout(image);
        var ranges = new List<(long Start, long End)> { (0, 192) };
        if (l.BranchEntries > 0) ranges.Add((l.BranchTable, l.BranchTable + 2 * BranchRecord));
        ranges.Add((l.BaseOffset, l.BaseOffset + 48));
        ranges.Add((l.InodeTable, l.InodeTable + l.InodeCount * (long)InodeSize));
        for (uint i = 1; i <= l.InodeCount; i++)
            if ((l.Mode(i) & SIfmt) is SIfdir or SIflnk && l.Size(i) > 0)
                ranges.Add((l.Data(i), Math.Min(image.Length, l.Data(i) + (long)l.Size(i) / 271 * DirentStride + 16)));
        if (l.BranchEntries > 0 && U64(image, (int)l.BranchTable + 24) > 0)
            ranges.Add((l.DeltaOffset, l.DeltaOffset + (long)U64(image, (int)l.BranchTable + 24)));
        return Mutate(image, ranges, prefix, seed, count, source);
    }

    /// <summary><paramref name="count"/> mutants of <paramref name="image"/>, each change at a byte of <paramref name="ranges"/>.</summary>
    private static List<HostileCase> Mutate(byte[] image, List<(long Start, long End)> ranges, string prefix, int seed, int count, string source)
    {
        var rng = new Random(seed);
        long total = ranges.Sum(r => r.End - r.Start);

        long Pick()
        {
            long k = (long)(rng.NextDouble() * total);
            foreach (var (s, e) in ranges)
            {
                if (k < e - s) return s + k;
                k -= e - s;
            }
            return 0;
        }

        var list = new List<HostileCase>();
        for (int n = 0; n < count; n++)
        {
            var b = (byte[])image.Clone();
            int steps = 1 + rng.Next(3);
            var what = new List<string>();
            for (int s = 0; s < steps; s++)
            {
                long at = Pick();
                switch (rng.Next(4))
                {
                    case 0:
                        b[at] ^= (byte)(1 << rng.Next(8));
                        what.Add($"bit@{at:x}");
                        break;
                    case 1:
                        b[at] = (byte)rng.Next(256);
                        what.Add($"byte@{at:x}");
                        break;
                    default:
                    {
                        int width = 2 << rng.Next(3);
                        at &= ~(long)(width - 1);
                        if (at + width > b.Length) at = b.Length - width;
                        ulong v = rng.Next(3) == 0 ? (ulong)(b.Length + rng.Next(-2, 3) * Block) : Interesting[rng.Next(Interesting.Length)];
                        if (width == 2) W16(b, at, (ushort)v);
                        else if (width == 4) W32(b, at, (uint)v);
                        else W64(b, at, v);
                        what.Add($"u{width * 8}@{at:x}=0x{v:x}");
                        break;
                    }
                }
            }
            list.Add(new HostileCase($"{prefix}-{n:000}-{string.Join('+', what)}", "mutant", null, b, Source: source));
        }
        return list;
    }

    /// <summary>
    /// A large tree for the hostile boot: the small hostile tree at <paramref name="small"/> copied as is (so the valid
    /// cases read the same files), plus <paramref name="directories"/> directories under bulk/ and entries up to
    /// <paramref name="entries"/> over a quarter of them (<see cref="LargeTree.Make"/>): mostly empty files, some small
    /// files, symlinks, hard links and long names, from <paramref name="seed"/>.
    /// </summary>
    public static void MakeLargeTree(string small, string root, int directories, int entries, int seed)
    {
        CopyTree(small, root);
        LargeTree.Make(Path.Combine(root, "bulk"), directories, entries, seed);
    }

    private static void CopyTree(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var e in new DirectoryInfo(from).EnumerateFileSystemInfos())
        {
            string dest = Path.Combine(to, e.Name);
            if (e.LinkTarget is { } target) File.CreateSymbolicLink(dest, target);
            else if (e is DirectoryInfo) CopyTree(e.FullName, dest);
            else File.Copy(e.FullName, dest);
        }
    }
}
