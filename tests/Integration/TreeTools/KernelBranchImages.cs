using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace DaxFs.TreeTools;

/// <summary>A branch record of an image and the entries of its delta log, as the kernel wrote them.</summary>
/// <param name="Index">The record's slot in the branch table.</param>
/// <param name="Record">The record's absolute offset.</param>
/// <param name="Entries">Each entry's absolute offset, type and total_size, in log order.</param>
public sealed record KernelBranch(int Index, long Record, ulong Id, ulong ParentId, long LogOffset, long LogSize, long LogCapacity, uint State, string Name,
    IReadOnlyList<(long At, uint Type, uint Size)> Entries);

// Hostile cases made from a large branching image whose branches and delta logs the real kernel wrote
// (tests/fixtures/branches/large-kernel.daxfs.gz: main with a committed child's changes, an aborted child, and a live
// child and grandchild, each with hundreds of entries of every type).
public static partial class HostileImages
{
    /// <summary>The kernel-made large branching image, decompressed from its .gz fixture.</summary>
    public static byte[] LoadFixture(string gzPath)
    {
        using var gz = new GZipStream(File.OpenRead(gzPath), CompressionMode.Decompress);
        var m = new MemoryStream();
        gz.CopyTo(m);
        return m.ToArray();
    }

    /// <summary>Every non-free branch record of <paramref name="image"/> with its log's entries (walked while they are in bounds).</summary>
    public static List<KernelBranch> Branches(byte[] image)
    {
        var l = new Layout(image);
        var list = new List<KernelBranch>();
        for (int i = 0; i < l.BranchEntries; i++)
        {
            long r = l.BranchTable + i * (long)BranchRecord;
            ulong id = U64(image, (int)r);
            uint state = U32(image, (int)r + 40);
            if (id == 0 && state == 0) continue;
            long log = (long)U64(image, (int)r + 16), size = (long)U64(image, (int)r + 24), cap = (long)U64(image, (int)r + 32);
            var name = image.AsSpan((int)r + 56, 32);
            int nul = name.IndexOf((byte)0);
            var entries = new List<(long, uint, uint)>();
            for (long p = 0; log > 0 && p + 24 <= size && log + size <= image.Length;)
            {
                uint type = U32(image, (int)(log + p)), total = U32(image, (int)(log + p + 4));
                if (type == 0 || total < 24 || p + total > size) break;
                entries.Add((log + p, type, total));
                p += total;
            }
            list.Add(new KernelBranch(i, r, id, U64(image, (int)r + 8), log, size, cap, state, Encoding.ASCII.GetString(nul < 0 ? name : name[..nul]), entries));
        }
        return list;
    }

    /// <summary>
    /// The untouched kernel-made image ("valid") and structural breaks aimed at what the kernel wrote: its branch records
    /// (the live child and grandchild, the committed and the aborted one) and entries far into their logs (the last
    /// entry of a log, the first CREATE, RENAME, WRITE and SYMLINK the kernel logged). Names get "kernel-"; each expects
    /// the rule the mount gate must name.
    /// </summary>
    public static List<HostileCase> KernelBranchBreaks(byte[] image, string source = "kernel")
    {
        var list = new List<HostileCase>();
        var branches = Branches(image);
        KernelBranch Named(string name) => branches.Single(b => b.Name == name);
        KernelBranch InState(uint state) => branches.First(b => b.State == state);
        var main = Named("main");
        var feature = Named("feature");
        var deep = Named("deep");
        var aborted = InState(3);
        var committed = InState(2);
        if (deep.ParentId != feature.Id || feature.ParentId != main.Id || feature.Entries.Count < 100 || deep.Entries.Count < 20 || main.Entries.Count < 20)
            throw new ArgumentException("The image is not the kernel-made fixture: main, feature (child of main) and deep (child of feature), each with a log of many entries.");
        (long At, uint Type, uint Size) First(KernelBranch b, uint type) => b.Entries.First(e => e.Type == type);
        long len = image.Length;
        void Add(string name, string? expect, Action<byte[]> patch)
        {
            var b = (byte[])image.Clone();
            patch(b);
            list.Add(new HostileCase("kernel-" + name, expect is null ? "valid" : "structural", expect, b, false, source));
        }

        Add("branches-valid", null, _ => { });
        // Branch records
        Add("deep-log-past-end", "BRANCH-LOG-BOUNDS", b => W64(b, deep.Record + 16, (ulong)len));
        Add("feature-log-size-over-capacity", "BRANCH-LOG-BOUNDS", b => W64(b, feature.Record + 24, (ulong)feature.LogCapacity + 4096));
        Add("feature-log-in-base-image", "BRANCH-LOG-BOUNDS", b => W64(b, feature.Record + 16, (ulong)new Layout(b).BaseOffset));
        Add("aborted-log-past-end", "BRANCH-LOG-BOUNDS", b => W64(b, aborted.Record + 16, (ulong)len + (1 << 20)));
        Add("committed-log-offset-zero", "BRANCH-LOG-BOUNDS", b => W64(b, committed.Record + 16, 0));
        Add("deep-log-over-feature-log", "BRANCH-LOG-BOUNDS", b => W64(b, deep.Record + 16, (ulong)feature.LogOffset + 4096));
        Add("feature-parent-is-deep", "BRANCH-CYCLE", b => W64(b, feature.Record + 8, deep.Id));
        Add("deep-parent-missing", "BRANCH-PARENT", b => W64(b, deep.Record + 8, 77));
        Add("feature-name-unterminated", "BRANCH-NAME", b => b.AsSpan((int)feature.Record + 56, 32).Fill((byte)'f'));
        Add("deep-state-invalid", "BRANCH-STATE", b => W32(b, deep.Record + 40, 9));
        Add("deep-log-cut-inside-last-entry", "DELTA-ENTRY", b => W64(b, deep.Record + 24, (ulong)deep.LogSize - 5));
        // Entries the kernel logged, far into the logs
        Add("main-last-entry-size-huge", "DELTA-ENTRY", b => W32(b, main.Entries[^1].At + 4, 0x7FFFFFF0));
        Add("feature-middle-entry-below-header", "DELTA-ENTRY", b => W32(b, feature.Entries[feature.Entries.Count / 2].At + 4, 8));
        Add("deep-last-entry-unknown-type", "DELTA-ENTRY", b => W32(b, deep.Entries[^1].At, 77));
        Add("feature-create-name-past-entry", "DELTA-ENTRY", b => W16(b, First(feature, 2).At + 24 + 28, 4000));
        Add("feature-rename-names-past-entry", "DELTA-ENTRY", b => W16(b, First(feature, 6).At + 24 + 26, 4000));
        Add("deep-write-length-past-entry", "DELTA-ENTRY", b => W32(b, First(deep, 1).At + 24 + 8, 1 << 20));
        Add("feature-symlink-without-nul", "DELTA-SYMLINK-NUL", b =>
        {
            var e = First(feature, 8);
            long nul = e.At + 24 + 32 + BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan((int)e.At + 24 + 24)) + BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan((int)e.At + 24 + 26));
            if (b[nul] != 0) throw new InvalidOperationException($"The SYMLINK entry at 0x{e.At:x} has no NUL where its target ends.");
            b[nul] = (byte)'x';
        });
        return list;
    }

    /// <summary>
    /// Seeded mutants of a kernel-made branching image: one to three changes each (as <see cref="Mutants(byte[], string, int, int)"/>)
    /// in the superblock, every used branch record and every branch's used log, where the kernel's own bytes are.
    /// </summary>
    public static List<HostileCase> KernelBranchMutants(byte[] image, string prefix, int seed, int count, string source = "kernel")
    {
        var l = new Layout(image);
        var ranges = new List<(long Start, long End)> { (0, 192) };
        foreach (var b in Branches(image))
        {
            ranges.Add((b.Record, b.Record + BranchRecord));
            if (b.LogOffset > 0 && b.LogSize > 0 && b.LogOffset + b.LogSize <= image.Length) ranges.Add((b.LogOffset, b.LogOffset + b.LogSize));
        }
        ranges.Add((l.BaseOffset, l.BaseOffset + 48));
        return Mutate(image, ranges, prefix, seed, count, source);
    }
}
