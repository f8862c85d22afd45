using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using DaxFs.Core.Format;
using DaxFs.Core.Build;
using DaxFs.TreeTools;
using static DaxFs.Core.Format.DaxFsConstants;

namespace DaxFs.Fuzz;

/// <summary>
/// Seed inputs: the reference vectors (small ones whole, big ones cut to their metadata) and images the engine's
/// writer makes from small generated trees: static, branching with live branches and delta logs of every entry type,
/// and split (page cache region, data in a backing file).
/// </summary>
public static partial class SeedCorpus
{
    /// <summary>Vectors up to this size are taken whole; bigger ones are cut here (the metadata comes first).</summary>
    public const int MaxSeedBytes = 128 * 1024;

    /// <summary>Seeds from the *.daxfs files of <paramref name="vectorsDir"/>, by name.</summary>
    public static List<(string Name, byte[] Bytes)> FromVectors(string vectorsDir)
    {
        var seeds = new List<(string, byte[])>();
        foreach (var path in Directory.GetFiles(vectorsDir, "*.daxfs").Order(StringComparer.Ordinal))
        {
            string name = Path.GetFileNameWithoutExtension(path);
            using var f = File.OpenRead(path);
            var bytes = new byte[(int)Math.Min(f.Length, MaxSeedBytes)];
            f.ReadExactly(bytes);
            seeds.Add(f.Length > MaxSeedBytes ? (name + ".cut", FitSuperblock(bytes)) : (name, bytes));
        }
        return seeds;
    }

    /// <summary>
    /// A cut image whose superblocks are made to agree with its new length (the base image and the delta region end
    /// at the cut), so the reader opens it and meets the missing objects one by one instead of refusing it at once.
    /// </summary>
    public static byte[] FitSuperblock(byte[] cut)
    {
        ulong len = (ulong)cut.Length;
        if (len < SuperblockRecordSize) return cut;
        var sb = Superblock.Read(cut.AsSpan(0, SuperblockRecordSize));
        sb.TotalSize = len;
        if (sb.BaseOffset != 0 && sb.BaseOffset < len && sb.BaseOffset + sb.BaseSize > len)
        {
            sb.BaseSize = len - sb.BaseOffset;
            if (sb.BaseOffset + BaseSuperblock.RecordSize <= len)
            {
                var b = BaseSuperblock.Read(cut.AsSpan((int)sb.BaseOffset, BaseSuperblock.RecordSize));
                b.TotalSize = Math.Min(b.TotalSize, sb.BaseSize);
                b.Write(cut.AsSpan((int)sb.BaseOffset, BaseSuperblock.RecordSize));
            }
        }
        if (sb.DeltaRegionOffset != 0 && sb.DeltaRegionOffset + sb.DeltaRegionSize > len)
        {
            ulong room = sb.DeltaRegionOffset < len ? (len - sb.DeltaRegionOffset) / BlockSize * BlockSize : 0;
            if (room == 0) sb.DeltaRegionOffset = sb.DeltaAllocOffset = 0;
            sb.DeltaRegionSize = room;
        }
        sb.Write(cut.AsSpan(0, SuperblockRecordSize));
        return cut;
    }

    /// <summary>Images of small generated trees (deterministic for a seed), built with <see cref="ImageBuilder"/>.</summary>
    public static List<(string Name, byte[] Bytes)> FromGeneratedTrees(int seed = 1)
    {
        var seeds = new List<(string, byte[])>();
        string work = Directory.CreateTempSubdirectory("daxfs-fuzz-seeds-").FullName;
        try
        {
            for (int t = 0; t < 3; t++)
            {
                string src = Path.Combine(work, "tree" + t);
                MakeTree(src, new Random(seed * 100 + t), t);
                seeds.Add(($"tree{t}.static", Build(src, Path.Combine(work, $"tree{t}.static.daxfs"), DaxFsImageMode.Static)));
                if (t == 0)
                {
                    var branching = Build(src, Path.Combine(work, "tree0.branching.daxfs"), DaxFsImageMode.Branching, deltaSize: 2 * BlockSize);
                    seeds.Add(("tree0.branching", branching));
                    seeds.Add(("tree0.branches", WithBranches(branching)));
                    seeds.Add(("tree0.split", Build(src, Path.Combine(work, "tree0.split.daxfs"), DaxFsImageMode.Split,
                        deltaSize: BlockSize, backing: Path.Combine(work, "tree0.backing"))));
                }
            }
        }
        finally
        {
            try { Directory.Delete(work, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
        return seeds;
    }

    /// <summary>The large tree's default shape: thousands of directories, tens of thousands of entries.</summary>
    public const int LargeDirectories = 2000, LargeEntries = 20000;

    /// <summary>Large seeds go up to this size (corpus folders skip bigger files).</summary>
    public const int MaxLargeSeedBytes = 16 << 20;

    /// <summary>
    /// Images of a large generated tree (<see cref="LargeTree.Make"/>): static, branching, branching with live branches
    /// and delta logs (<see cref="WithBranches"/>), and split. Every structure is at the scale where per-directory
    /// bookkeeping once filled the validator's finding limit before the branch and symlink checks ran.
    /// </summary>
    public static List<(string Name, byte[] Bytes)> FromLargeTrees(int seed = 1, int directories = LargeDirectories, int entries = LargeEntries)
    {
        var seeds = new List<(string, byte[])>();
        string work = Directory.CreateTempSubdirectory("daxfs-fuzz-large-").FullName;
        try
        {
            string src = Path.Combine(work, "large");
            LargeTree.Make(src, directories, entries, seed);
            seeds.Add(("large.static", Build(src, Path.Combine(work, "large.static.daxfs"), DaxFsImageMode.Static)));
            var branching = Build(src, Path.Combine(work, "large.branching.daxfs"), DaxFsImageMode.Branching, deltaSize: 2 * BlockSize);
            seeds.Add(("large.branching", branching));
            seeds.Add(("large.branches", WithBranches(branching)));
            seeds.Add(("large.split", Build(src, Path.Combine(work, "large.split.daxfs"), DaxFsImageMode.Split,
                deltaSize: BlockSize, backing: Path.Combine(work, "large.backing"))));
        }
        finally
        {
            try { Directory.Delete(work, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
        return seeds;
    }

    /// <summary>
    /// Images whose branches and delta logs the real kernel wrote (tests/fixtures/branches: feature.daxfs, nested.daxfs,
    /// and the large large-kernel.daxfs.gz, decompressed), by name: logs of every entry type as the kernel lays them out,
    /// committed, aborted and live branches. <paramref name="fixturesDir"/> is that folder.
    /// </summary>
    public static List<(string Name, byte[] Bytes)> FromKernelFixtures(string fixturesDir)
    {
        var seeds = new List<(string, byte[])>();
        foreach (var path in Directory.GetFiles(fixturesDir).Order(StringComparer.Ordinal))
        {
            string file = Path.GetFileName(path);
            if (file.EndsWith(".daxfs", StringComparison.Ordinal)) seeds.Add(("kernel-" + file[..^6], File.ReadAllBytes(path)));
            else if (file.EndsWith(".daxfs.gz", StringComparison.Ordinal))
            {
                using var gz = new System.IO.Compression.GZipStream(File.OpenRead(path), System.IO.Compression.CompressionMode.Decompress);
                var m = new MemoryStream();
                gz.CopyTo(m);
                if (m.Length <= MaxLargeSeedBytes) seeds.Add(("kernel-" + file[..^9], m.ToArray()));
            }
        }
        return seeds;
    }

    /// <summary>Writes every seed to <paramref name="dir"/> (one file each, named after its source).</summary>
    public static int WriteTo(string dir, IEnumerable<(string Name, byte[] Bytes)> seeds)
    {
        Directory.CreateDirectory(dir);
        int n = 0;
        foreach (var (name, bytes) in seeds)
        {
            File.WriteAllBytes(Path.Combine(dir, name + ".daxfs"), bytes);
            n++;
        }
        return n;
    }

    private static byte[] Build(string src, string dest, DaxFsImageMode mode, long deltaSize = DefaultDeltaSize, string? backing = null)
    {
        new ImageBuilder(new ImageBuildOptions
        {
            SourcePath = src,
            Destination = dest,
            Mode = mode,
            DeltaSize = deltaSize,
            BackingFile = backing,
            Owner = OwnerMode.Root,
            Overwrite = true,
        }).Build();
        return File.ReadAllBytes(dest);
    }

    /// <summary>A few files (sizes around the block and dirent boundaries), subdirectories, symlinks and a hard link.</summary>
    private static void MakeTree(string root, Random rng, int shape)
    {
        Directory.CreateDirectory(root);
        int[] sizes = { 0, 1, 270, 271, 272, 4095, 4096, 4097 };
        var dirs = new List<string> { root };
        int entries = shape switch { 0 => 8, 1 => 14, _ => 5 };
        string? firstFile = null;
        for (int i = 0; i < entries; i++)
        {
            string parent = dirs[rng.Next(dirs.Count)];
            string name = shape == 1 && i % 3 == 0 ? new string((char)('a' + i), 40 + rng.Next(200)) : $"e{i}";
            string path = Path.Combine(parent, name);
            switch (rng.Next(6))
            {
                case 0:
                case 1:
                    Directory.CreateDirectory(path);
                    dirs.Add(path);
                    break;
                case 2:
                    File.CreateSymbolicLink(path, rng.Next(2) == 0 ? "../" + name : new string('t', 1 + rng.Next(300)));
                    break;
                default:
                    var data = new byte[sizes[rng.Next(sizes.Length)]];
                    rng.NextBytes(data);
                    File.WriteAllBytes(path, data);
                    firstFile ??= path;
                    break;
            }
        }
        if (shape == 2)
        {
            // Depth: a chain of directories.
            string p = root;
            for (int d = 0; d < 12; d++) Directory.CreateDirectory(p = Path.Combine(p, "d" + d));
            File.WriteAllText(Path.Combine(p, "leaf"), "deep");
        }
        if (firstFile is not null && link(firstFile, Path.Combine(root, "hardlink")) != 0)
            File.Copy(firstFile, Path.Combine(root, "hardlink")); // no hard links here: a plain copy keeps the tree usable
    }

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int link(string from, string to);

    /// <summary>
    /// The branching image with a "main" branch (ACTIVE) and a child (COMMITTED) whose delta logs hold one entry of
    /// each type, so the fuzzer starts from the branch and delta-log checks as a kernel would have left them.
    /// </summary>
    public static byte[] WithBranches(byte[] branching)
    {
        var bytes = (byte[])branching.Clone();
        var sb = Superblock.Read(bytes.AsSpan(0, SuperblockRecordSize));
        if (sb.BranchTableOffset == 0 || sb.DeltaRegionOffset == 0 || sb.DeltaRegionSize < 2 * BlockSize || (ulong)bytes.Length < sb.DeltaRegionOffset + sb.DeltaRegionSize)
            throw new InvalidOperationException("Not a branching image with a two-block delta region.");
        ulong delta = sb.DeltaRegionOffset;
        int log0 = (int)delta, log1 = (int)delta + BlockSize;
        int size0 = WriteDeltaLog(bytes.AsSpan(log0, BlockSize), first: true);
        int size1 = WriteDeltaLog(bytes.AsSpan(log1, BlockSize), first: false);
        WriteBranch(bytes, sb, 0, id: 1, parent: 0, log0, size0, BranchState.Active, "main");
        WriteBranch(bytes, sb, 1, id: 2, parent: 1, log1, size1, BranchState.Committed, "child");
        sb.ActiveBranches = 2;
        sb.NextBranchId = 3;
        sb.DeltaAllocOffset = delta + 2 * BlockSize;
        sb.Write(bytes.AsSpan(0, SuperblockRecordSize));
        return bytes;
    }

    private static void WriteBranch(byte[] bytes, in Superblock sb, int index, ulong id, ulong parent, int log, int size, BranchState state, string name)
    {
        var r = new BranchRecord
        {
            BranchId = id, ParentId = parent, DeltaLogOffset = (ulong)log, DeltaLogSize = (ulong)size, DeltaLogCapacity = BlockSize,
            State = (uint)state, RefCount = 1, NextLocalIno = 100, NameField = new byte[32], Generation = 1,
        };
        Encoding.ASCII.GetBytes(name).CopyTo(r.NameField, 0);
        r.Write(bytes.AsSpan((int)sb.BranchTableOffset + index * BranchRecordSize, BranchRecordSize));
    }

    /// <summary>One entry of each of the eight types (or, for the child, a shorter log); returns the bytes used.</summary>
    private static int WriteDeltaLog(Span<byte> log, bool first)
    {
        int p = 0;
        void Entry(Span<byte> l, uint type, ulong ino, ReadOnlySpan<byte> fixedPart, ReadOnlySpan<byte> variable)
        {
            int total = 24 + fixedPart.Length + variable.Length;
            total = (total + 7) & ~7;
            var e = l.Slice(p, total);
            e.Clear();
            BinaryPrimitives.WriteUInt32LittleEndian(e, type);
            BinaryPrimitives.WriteUInt32LittleEndian(e[4..], (uint)total);
            BinaryPrimitives.WriteUInt64LittleEndian(e[8..], ino);
            BinaryPrimitives.WriteUInt64LittleEndian(e[16..], 1_700_000_000UL + (ulong)p);
            fixedPart.CopyTo(e[24..]);
            variable.CopyTo(e[(24 + fixedPart.Length)..]);
            p += total;
        }
        Span<byte> f = stackalloc byte[32];

        // 1 WRITE: offset u64, len u32, flags u32, data
        f.Clear(); BinaryPrimitives.WriteUInt64LittleEndian(f, 0); BinaryPrimitives.WriteUInt32LittleEndian(f[8..], 5);
        Entry(log, 1, 2, f[..16], "hello"u8);
        // 2 CREATE: parent u64, new_ino u64, mode, uid, gid u32, name_len u16, flags u16
        f.Clear(); BinaryPrimitives.WriteUInt64LittleEndian(f, 1); BinaryPrimitives.WriteUInt64LittleEndian(f[8..], 100);
        BinaryPrimitives.WriteUInt32LittleEndian(f[16..], S_IFREG | 0x1A4); BinaryPrimitives.WriteUInt16LittleEndian(f[28..], 3);
        Entry(log, 2, 100, f[..32], "new"u8);
        if (!first) return p;
        // 3 DELETE: parent u64, name_len u16, flags u16, reserved u32
        f.Clear(); BinaryPrimitives.WriteUInt64LittleEndian(f, 1); BinaryPrimitives.WriteUInt16LittleEndian(f[8..], 3);
        Entry(log, 3, 100, f[..16], "new"u8);
        // 4 TRUNCATE: new_size u64
        f.Clear(); BinaryPrimitives.WriteUInt64LittleEndian(f, 4096);
        Entry(log, 4, 2, f[..8], default);
        // 5 MKDIR: as CREATE
        f.Clear(); BinaryPrimitives.WriteUInt64LittleEndian(f, 1); BinaryPrimitives.WriteUInt64LittleEndian(f[8..], 101);
        BinaryPrimitives.WriteUInt32LittleEndian(f[16..], S_IFDIR | 0x1ED); BinaryPrimitives.WriteUInt16LittleEndian(f[28..], 3);
        Entry(log, 5, 101, f[..32], "dir"u8);
        // 6 RENAME: old_parent, new_parent, ino u64, old_len u16, new_len u16, reserved u32; both names
        f.Clear(); BinaryPrimitives.WriteUInt64LittleEndian(f, 1); BinaryPrimitives.WriteUInt64LittleEndian(f[8..], 101);
        BinaryPrimitives.WriteUInt64LittleEndian(f[16..], 2); BinaryPrimitives.WriteUInt16LittleEndian(f[24..], 2); BinaryPrimitives.WriteUInt16LittleEndian(f[26..], 2);
        Entry(log, 6, 2, f[..32], "e1e2"u8);
        // 7 SETATTR: mode, uid, gid, valid u32, size u64
        f.Clear(); BinaryPrimitives.WriteUInt32LittleEndian(f, S_IFREG | 0x180); BinaryPrimitives.WriteUInt32LittleEndian(f[12..], 9);
        BinaryPrimitives.WriteUInt64LittleEndian(f[16..], 7);
        Entry(log, 7, 2, f[..24], default);
        // 8 SYMLINK: parent u64, new_ino u64, uid, gid u32, name_len u16, target_len u16 (fixed part padded to 32); name, target, NUL
        f.Clear(); BinaryPrimitives.WriteUInt64LittleEndian(f, 1); BinaryPrimitives.WriteUInt64LittleEndian(f[8..], 102);
        BinaryPrimitives.WriteUInt16LittleEndian(f[24..], 2); BinaryPrimitives.WriteUInt16LittleEndian(f[26..], 4);
        Entry(log, 8, 102, f[..32], "ln/tmp\0"u8);
        return p;
    }
}
