using DaxFs.Core.Errors;
using DaxFs.Core.Format;
using DaxFs.Core.Linux;
using DaxFs.Core.Operations;
using DaxFs.Core.Tests.Linux;
using DaxFs.Core.Read;
using DaxFs.Core.Validate;
using static DaxFs.Core.Tests.Linux.FakeHost;

namespace DaxFs.Core.Tests.Operations;

/// <summary>
/// Write-DaxFsImage is crash-consistent: killed at any step (a store or a flush), or losing any unflushed stores to a power
/// cut, the target holds the old image untouched, the whole new image, or bytes the gate refuses as
/// <see cref="RuleIds.IncompleteWrite"/> — never a prefix that mounts. After every kill a rewrite succeeds and mounts.
/// The target is a file playing /dev/mem on a fake host (the same mmap/msync path as a dax device).
/// </summary>
public class CrashConsistentWriteTests
{
    // An odd chunk size so that stores straddle blocks and the body takes many steps.
    private const int Chunk = 10007;

    private sealed class Killed : Exception { }

    /// <summary>Throws before step <see cref="KillAt"/> (0-based); counts steps and records them.</summary>
    private sealed class Steps : DaxMemoryWriter.IWriteSteps
    {
        public int KillAt = int.MaxValue;
        public int Count;
        public readonly List<(long Offset, byte[]? Bytes)> Log = new(); // Bytes null = a flush

        public void Storing(long offset, ReadOnlySpan<byte> bytes)
        {
            if (Count++ == KillAt) throw new Killed();
            Log.Add((offset, bytes.ToArray()));
        }

        public void Flushing()
        {
            if (Count++ == KillAt) throw new Killed();
            Log.Add((0, null));
        }
    }

    /// <summary>A fake host whose /dev/mem (a file of <paramref name="size"/> bytes) holds <paramref name="old"/>.</summary>
    private sealed class Host : IDisposable
    {
        public readonly TempDir Root = new();
        public readonly FakeMountApi Api = new();
        public readonly LinuxContext Ctx;
        public readonly string Node;
        public readonly long Size;

        public Host(long size)
        {
            Size = size;
            Node = Root.File("dev/mem");
            Ctx = Context(Root, mountApi: Api);
            Directory.CreateDirectory(Path.Combine(Root.Path, "mnt"));
        }

        public void Reset(byte[] old)
        {
            var bytes = new byte[Size];
            old.CopyTo(bytes, 0);
            File.WriteAllBytes(Node, bytes);
        }

        public DaxMemoryTarget Target() => DaxMemoryTargets.ForPhysicalRange(Ctx, 0, (ulong)Size);

        public DaxFsMountRequest Request() => new() { Target = Target(), MountPoint = Path.Combine(Root.Path, "mnt") };

        public void Dispose() => Root.Dispose();
    }

    private static void Write(Host h, byte[] image, Steps? steps)
    {
        using var src = new MemoryStream(image, writable: false);
        DaxMemoryWriter.Write(src, image.Length, h.Target(), null, default, steps, Chunk);
    }

    private static bool Same(byte[] bytes, byte[] image) => bytes.AsSpan(0, image.Length).SequenceEqual(image);

    private static IReadOnlyList<ValidationFinding> Validate(byte[] bytes) => ImageValidator.Validate(new ByteImageMemory(bytes, "target"));

    /// <summary>What the gate must say of bytes left by an interrupted write: the old image whole, the new image whole,
    /// or refused with IMG-INCOMPLETE-WRITE (and the reader refuses it with the same rule).</summary>
    private static void AssertOldNewOrIncomplete(byte[] bytes, byte[] old, byte[] image, string when)
    {
        if (Same(bytes, old) || Same(bytes, image)) return;
        var findings = Validate(bytes);
        Assert.False(ImageValidator.IsSafe(findings), $"{when}: a mix of old and new bytes passes the gate.");
        Assert.True(findings.Any(f => f.RuleId == RuleIds.IncompleteWrite && f.Severity == FindingSeverity.Error),
            $"{when}: refused, but not as {RuleIds.IncompleteWrite}: {string.Join(", ", findings.Select(f => f.RuleId).Distinct())}.");
        var ex = Assert.Throws<DaxFsFormatException>(() => DaxFsImageReader.Open(new ByteImageMemory(bytes, "target")).Dispose());
        Assert.Equal(RuleIds.IncompleteWrite, ex.RuleId);
    }

    public static TheoryData<string, string> Pairs() => new()
    {
        { "basic.static.daxfs", "deep.static.daxfs" },   // a larger image over a smaller one
        { "deep.static.daxfs", "basic.static.daxfs" },   // a smaller image over a larger one
        { "deep.static.daxfs", "basic.branching.daxfs" },
        // Format 8 (the superblock record is block 0's first 4096 bytes as in format 5; the overlay and page cache headers
        // are body): a format-8 image over a format-5 one, the reverse, and format 8 over format 8.
        { "deep.static.daxfs", "v8/empty.v8.split.daxfs" },
        { "v8/deep.v8.static.daxfs", "basic.static.daxfs" },
        { "v8/deep.v8.static.daxfs", "v8/empty.v8.split.daxfs" },
    };

    [Theory]
    [MemberData(nameof(Pairs))]
    public void A_write_killed_at_any_step_leaves_the_old_image_or_a_target_the_gate_refuses_as_incomplete(string oldName, string newName)
    {
        byte[] old = File.ReadAllBytes(TestPaths.Vector(oldName)), image = File.ReadAllBytes(TestPaths.Vector(newName));
        using var h = new Host(Math.Max(old.Length, image.Length));
        var mounter = new DaxFsMounter(h.Ctx);

        h.Reset(old);
        var count = new Steps();
        Write(h, image, count);
        Assert.True(count.Count > 12, $"only {count.Count} steps");
        Assert.True(Same(File.ReadAllBytes(h.Node), image));

        for (int k = 0; k < count.Count; k++)
        {
            h.Reset(old);
            Assert.Throws<Killed>(() => Write(h, image, new Steps { KillAt = k }));
            byte[] left = File.ReadAllBytes(h.Node);
            if (k == 0)
            {
                Assert.True(Same(left, old), "nothing was stored before the first step");
                continue;
            }
            if (k == count.Count - 1)
            {
                Assert.True(Same(left, image), "killed at the last flush: every store was made (the page cache holds them)");
                continue;
            }
            // Every step after the first leaves the marker: the gate refuses before any mount call, naming the rule.
            Assert.True(IncompleteWrite.IsMarked(left), $"killed before step {k}: block 0 is not marked");
            var ex = Assert.Throws<DaxLinuxException>(() => mounter.Inspect(mounter.Plan(h.Request())));
            Assert.Equal(ImageValidationCheck.ErrorId, ex.ErrorId);
            Assert.Equal(DaxErrorKind.ImageInvalid, ex.Kind);
            Assert.Contains(RuleIds.IncompleteWrite, ex.Message);
            Assert.Contains(ex.Findings, f => f.RuleId == RuleIds.IncompleteWrite);
            var read = Assert.Throws<DaxLinuxException>(() => DaxMemoryImages.ReadSuperblock(h.Target()));
            Assert.Equal("IncompleteWriteAtTarget", read.ErrorId);

            // A rewrite succeeds, and the gate lets it through to the mount call.
            Write(h, image, null);
            Assert.True(Same(File.ReadAllBytes(h.Node), image));
            int calls = h.Api.Calls.Count;
            mounter.Mount(mounter.Inspect(mounter.Plan(h.Request())));
            Assert.Equal(calls + 1, h.Api.Calls.Count);
        }
    }

    [Theory]
    [MemberData(nameof(Pairs))]
    public void A_power_cut_at_any_step_losing_any_unflushed_stores_never_leaves_a_mix_that_passes(string oldName, string newName)
    {
        byte[] old = File.ReadAllBytes(TestPaths.Vector(oldName)), image = File.ReadAllBytes(TestPaths.Vector(newName));
        using var h = new Host(Math.Max(old.Length, image.Length));
        h.Reset(old);
        var steps = new Steps();
        Write(h, image, steps);
        var log = steps.Log;

        // After step k, what reached the memory is: every store before the last flush, plus any of the stores since.
        // Try none, all, every other one, only the last, and the last torn in half (aligned 8-byte stores never tear).
        for (int k = 0; k <= log.Count; k++)
        {
            int lastFlush = log.Take(k).Select((s, i) => (s, i)).Where(x => x.s.Bytes is null).Select(x => x.i).DefaultIfEmpty(-1).Last();
            var pending = Enumerable.Range(lastFlush + 1, k - lastFlush - 1).Where(i => log[i].Bytes is not null).ToList();
            var variants = new List<(string Name, Func<int, int, int> Persisted)> // (pending index, store length) → bytes kept
            {
                ("none", (_, _) => 0),
                ("all", (_, n) => n),
                ("every other", (j, n) => j % 2 == 0 ? n : 0),
                ("only the last", (j, n) => j == pending.Count - 1 ? n : 0),
                ("the last torn", (j, n) => j < pending.Count - 1 ? n : n == 8 ? 0 : n / 2),
            };
            foreach (var (name, persisted) in variants)
            {
                var bytes = new byte[h.Size];
                old.CopyTo(bytes, 0);
                for (int i = 0; i <= lastFlush; i++)
                    if (log[i].Bytes is { } b) b.CopyTo(bytes, log[i].Offset);
                for (int j = 0; j < pending.Count; j++)
                {
                    var (offset, b) = log[pending[j]];
                    b!.AsSpan(0, persisted(j, b!.Length)).CopyTo(bytes.AsSpan((int)offset));
                }
                AssertOldNewOrIncomplete(bytes, old, image, $"power cut after step {k} of {log.Count}, pending stores kept: {name}");
            }
        }
    }

    [Fact]
    public void The_superblock_is_the_last_store_and_the_marker_the_first()
    {
        byte[] old = File.ReadAllBytes(TestPaths.Vector("deep.static.daxfs")), image = File.ReadAllBytes(TestPaths.Vector("basic.static.daxfs"));
        using var h = new Host(old.Length);
        h.Reset(old);
        var steps = new Steps();
        Write(h, image, steps);
        var log = steps.Log;
        Assert.Equal(0, log[0].Offset);
        Assert.Equal(BitConverter.GetBytes(IncompleteWrite.Marker), log[0].Bytes);
        Assert.Null(log[1].Bytes); // flushed before anything else changes
        Assert.Null(log[^1].Bytes);
        Assert.Equal(0, log[^2].Offset);
        Assert.Equal(image.AsSpan(0, 8).ToArray(), log[^2].Bytes);
        Assert.Null(log[^3].Bytes);
        Assert.Equal(8, log[^4].Offset); // the rest of the superblock, flushed before its first eight bytes
        Assert.Equal(image.AsSpan(8, DaxFsConstants.BlockSize - 8).ToArray(), log[^4].Bytes!);
        Assert.All(log.Skip(2).Take(log.Count - 6), s => Assert.True(s.Bytes is null || s.Offset >= DaxFsConstants.BlockSize || s.Offset == 8));
    }

    [Fact]
    public void A_cancelled_write_leaves_the_target_refused_as_incomplete_and_the_reason_is_readable()
    {
        byte[] old = File.ReadAllBytes(TestPaths.Vector("deep.static.daxfs")), image = File.ReadAllBytes(TestPaths.Vector("basic.branching.daxfs"));
        using var h = new Host(image.Length);
        h.Reset(old);
        using var cts = new CancellationTokenSource();
        var progress = new CancelAt(cts, 100_000);
        using (var src = new MemoryStream(image, writable: false))
            Assert.ThrowsAny<OperationCanceledException>(() => DaxMemoryWriter.Write(src, image.Length, h.Target(), progress, cts.Token, null, Chunk));
        var findings = Validate(File.ReadAllBytes(h.Node));
        var f = Assert.Single(findings);
        Assert.Equal(RuleIds.IncompleteWrite, f.RuleId);
        Assert.Equal(0, f.Offset);
        Assert.Contains("DAXFSWIP write in progress: " + image.Length + " bytes by DaxFs, pid " + Environment.ProcessId, f.Message);
        Assert.Equal(KernelVerdict.AlwaysRejects, f.Kernel);
    }

    [Theory]
    [InlineData(8)]
    [InlineData(9)]
    [InlineData(100)]
    [InlineData(4096)]
    public void Targets_of_any_image_length_from_the_marker_up_are_written_whole(int length)
    {
        using var h = new Host(8192);
        h.Reset(File.ReadAllBytes(TestPaths.Vector("basic.static.daxfs")).AsSpan(0, 8192).ToArray());
        var image = new byte[length];
        new Random(length).NextBytes(image);
        Write(h, image, null);
        Assert.True(Same(File.ReadAllBytes(h.Node), image));
    }

    private sealed class CancelAt : IProgress<DaxWriteProgress>
    {
        private readonly CancellationTokenSource _cts;
        private readonly long _at;
        public CancelAt(CancellationTokenSource cts, long at) { _cts = cts; _at = at; }
        public void Report(DaxWriteProgress value) { if (value.BytesDone >= _at) _cts.Cancel(); }
    }
}
