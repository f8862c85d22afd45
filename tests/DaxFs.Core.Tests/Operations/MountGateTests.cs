using DaxFs.Core.Errors;
using DaxFs.Core.Format;
using DaxFs.Core.Linux;
using DaxFs.Core.Operations;
using DaxFs.Core.Read;
using DaxFs.Core.Tests.Linux;
using DaxFs.Core.Tests.Validate;
using DaxFs.Core.Validate;
using DaxFs.Fuzz;
using static DaxFs.Core.Format.DaxFsConstants;
using static DaxFs.Core.Tests.Linux.FakeHost;

namespace DaxFs.Core.Tests.Operations;

/// <summary>The mount gate (<see cref="ImageValidationCheck"/>): on by default, refuses every error finding before any
/// mount call with the rule ids, offsets and the fix, passes warnings on, and is skipped only when asked.</summary>
public class MountGateTests
{
    // The sample tree: 1 = /, 2 = /a, 3 = /f ("hello"), 4 = /l -> "f", 5 = /a/g ("gee").
    private const uint A = 2, F = 3, L = 4;

    /// <summary>A fake host whose /dev/mem holds <paramref name="image"/> at physical address 0, and a mount point.</summary>
    private sealed class Host : IDisposable
    {
        public readonly TempDir Root = new();
        public readonly FakeMountApi Api = new();
        public readonly LinuxContext Ctx;
        public readonly string MountPoint;
        public readonly ulong Length;

        public Host(byte[] image)
        {
            File.WriteAllBytes(Root.File("dev/mem"), image);
            MountPoint = Path.Combine(Root.Path, "mnt");
            Directory.CreateDirectory(MountPoint);
            Ctx = Context(Root, mountApi: Api);
            Length = (ulong)image.Length;
        }

        public DaxFsMountRequest Request(bool skip = false, string? backing = null) => new()
        {
            Target = DaxMemoryTargets.ForPhysicalRange(Ctx, 0, Length), MountPoint = MountPoint, SkipValidation = skip, BackingFile = backing,
        };

        public void Dispose() => Root.Dispose();
    }

    private static DaxLinuxException Refused(byte[] image, out FakeMountApi api)
    {
        using var h = new Host(image);
        api = h.Api;
        var mounter = new DaxFsMounter(h.Ctx);
        var plan = mounter.Plan(h.Request());
        var ex = Assert.Throws<DaxLinuxException>(() => mounter.Mount(mounter.Inspect(plan)));
        Assert.Empty(h.Api.Calls);
        return ex;
    }

    private static byte[] V8Image(string name) => File.ReadAllBytes(V8ValidationTests.V8(name));

    [Fact]
    public void A_format_8_overlay_image_passes_and_mounts_read_write_a_static_one_read_only()
    {
        using (var h = new Host(V8Image("overlay/overlay-only-after-writes.daxfs")))
        {
            var mounter = new DaxFsMounter(h.Ctx);
            var plan = mounter.Inspect(mounter.Plan(h.Request()));
            Assert.Equal(DaxFsFormat.Format8, plan.Format);
            Assert.Equal(DaxFsImageMode.OverlayOnly, plan.ImageMode);
            Assert.False(plan.ReadOnly);
            Assert.Empty(plan.Findings);
            mounter.Mount(plan);
            Assert.Single(h.Api.Calls);
        }
        using (var h = new Host(V8Image("deep.v8.static.daxfs")))
        {
            var mounter = new DaxFsMounter(h.Ctx);
            var plan = mounter.Inspect(mounter.Plan(h.Request()));
            Assert.Equal(DaxFsImageMode.Static, plan.ImageMode);
            Assert.True(plan.ReadOnly);
            Assert.Equal((ulong)V8Image("deep.v8.static.daxfs").Length, plan.TotalSize);
        }
    }

    [Fact]
    public void A_hostile_format_8_overlay_is_refused_before_the_kernel_sees_it()
    {
        // A dirent chain that points at itself: the kernel's lookup would never end.
        byte[] b = V8Image("overlay/overlay-only-after-writes.daxfs");
        using (var r = DaxFsImageReader.Open(new ByteImageMemory((byte[])b.Clone())))
        {
            var v = DaxFs.Core.Overlay.OverlayView.Open(r);
            ulong d = v.FindDirent(1, "a.txt"u8)!.Value.Offset;
            System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan((int)(v.PoolStart + d + 32)), d);
        }
        var ex = Refused(b, out _);
        Assert.Equal(ImageValidationCheck.ErrorId, ex.ErrorId);
        Assert.Contains(ex.Findings, f => f.RuleId == RuleIds.OverlayChainCycle);
    }

    [Fact]
    public void The_gate_is_in_every_mounter_by_default()
    {
        using var root = new TempDir();
        Assert.IsType<ImageValidationCheck>(Assert.Single(new DaxFsMounter(Context(root)).Checks));
    }

    [Theory]
    [InlineData(TinyLayout.Static)]
    [InlineData(TinyLayout.Branching)]
    public void A_sound_image_passes_with_the_root_link_count_as_its_only_warning(TinyLayout layout)
    {
        using var h = new Host(ValidatorTestKitSamples.Sample(layout).Bytes);
        var mounter = new DaxFsMounter(h.Ctx);
        var plan = mounter.Inspect(mounter.Plan(h.Request()));
        Assert.False(plan.ValidationSkipped);
        var root = Assert.Single(plan.Findings);
        Assert.Equal(RuleIds.NlinkMismatch, root.RuleId);
        Assert.Equal(1u, root.Inode);
        mounter.Mount(plan);
        Assert.Single(h.Api.Calls);
    }

    /// <summary>Structural breaks the kernel would dereference without a check (super.c, inode.c, dir.c, branch.c, pcache.c).</summary>
    public static TheoryData<string, string> Breaks() => new()
    {
        // Each of these crashed the reference module in the VM when mounted without the gate (NULL dereference in
        // daxfs_fill_super, daxfs_pcache_init, daxfs_iterate_ro, strlen, daxfs_delta_build_index; stack overflow in
        // load_branch_from_dax).
        { "base offset past the end", RuleIds.BaseRegionBounds },
        { "page cache region past the end", RuleIds.PageCacheBounds },
        { "base region past the end", RuleIds.BaseRegionBounds },
        { "inode table past the base", RuleIds.InodeTableBounds },
        { "root out of range", RuleIds.RootInodeRange },
        { "root is a file", RuleIds.RootNotDirectory },
        { "root_inode is not 1", RuleIds.RootNotInodeOne },
        { "file data past the end", RuleIds.InodeDataBounds },
        { "directory data past the end", RuleIds.InodeDataBounds },
        { "dirent names inode 0", RuleIds.DirentIno },
        { "dirent name too long", RuleIds.DirentNameLength },
        { "directory contains its ancestor", RuleIds.TreeCycle },
        { "empty symlink", RuleIds.SymlinkEmpty },
        { "unterminated symlink", RuleIds.SymlinkTermination },
        { "regions overlap", RuleIds.RegionsOverlap },
        { "branch log past the region", RuleIds.BranchLogBounds },
        { "delta entry past its log", RuleIds.DeltaEntry },
        { "delta symlink without NUL", RuleIds.DeltaSymlinkTermination },
        { "branch parent cycle", RuleIds.BranchCycle },
        { "page cache slots past the region", RuleIds.PageCacheLayout },
    };

    private static byte[] Break(string name)
    {
        BuiltImage s() => ValidatorTestKitSamples.Sample();
        BuiltImage main(ulong logSize = 0)
        {
            var b = ValidatorTestKitSamples.Sample(TinyLayout.Branching);
            return b.SetBranch(0, 1, 0, "main", BranchState.Active, (ulong)b.DeltaOffset, logSize, 16384);
        }
        switch (name)
        {
            case "base region past the end": { var b = s(); return b.W64(32, (ulong)b.Bytes.Length).Bytes; }
            case "base offset past the end": { var b = s(); return b.W64(24, (ulong)b.Bytes.Length + BlockSize).Bytes; }
            case "page cache region past the end": { var b = s(); return b.W64(160, (ulong)b.Bytes.Length).W64(168, BlockSize).W32(176, 1).Bytes; }
            case "inode table past the base": { var b = s(); return b.W32(b.BaseOffset + 32, 100000).Bytes; }
            case "root out of range": { var b = s(); return b.W32(b.BaseOffset + 36, 99).Bytes; }
            case "root is a file": { var b = s(); return b.W32(b.Inode(1) + 4, S_IFREG | 0x1A4).Bytes; }
            case "root_inode is not 1": { var b = s(); return b.W32(b.BaseOffset + 36, A).Bytes; }
            case "file data past the end": { var b = s(); return b.W64(b.Inode(F) + 24, 1UL << 40).Bytes; }
            case "directory data past the end": { var b = s(); return b.W64(b.Inode(A) + 24, (ulong)b.Bytes.Length).Bytes; }
            case "dirent names inode 0": { var b = s(); return b.W32(b.Dirent(1, 0), 0).Bytes; }
            case "dirent name too long": { var b = s(); return b.W16(b.Dirent(1, 0) + 8, 4000).Bytes; }
            case "directory contains its ancestor":
            {
                var t = ValidatorTestKitSamples.Tree();
                t.Link(A, "up", t.Root);
                return t.Build().Bytes;
            }
            case "empty symlink": { var b = s(); return b.W64(b.Inode(L) + 16, 0).W64(b.Inode(L) + 24, 1UL << 50).Bytes; }
            case "unterminated symlink": { var b = s(); b.Bytes[b.Data(L) + 1] = (byte)'x'; return b.Bytes; }
            case "regions overlap": { var b = ValidatorTestKitSamples.Sample(TinyLayout.Branching); return b.W64(40, (ulong)b.BaseOffset).Bytes; }
            case "branch log past the region": { var b = main(); return b.W64(b.Branch(0) + 16, (ulong)b.Bytes.Length).Bytes; }
            case "delta entry past its log": { var b = main(48); b.DeltaEntry(b.DeltaOffset, 1, 4096); return b.Bytes; }
            case "delta symlink without NUL":
            {
                var b = main(64);
                long f = b.DeltaEntry(b.DeltaOffset, 8, 64, 9);
                b.W64(f, 1).W64(f + 8, 9).W16(f + 24, 2).W16(f + 26, 3);
                "lntgt!"u8.CopyTo(b.Bytes.AsSpan((int)f + 32));
                return b.Bytes;
            }
            case "branch parent cycle":
            {
                var b = main();
                b.SetBranch(0, 1, 2, "main", BranchState.Active, (ulong)b.DeltaOffset, 0, 16384);
                b.SetBranch(1, 2, 1, "two", BranchState.Active, (ulong)b.DeltaOffset + 16384, 0, 16384);
                return b.Bytes;
            }
            case "page cache slots past the region":
            {
                var b = ValidatorTestKitSamples.Sample(TinyLayout.Split);
                return b.W64(b.PageCacheOffset + 16, 1UL << 40).Bytes;
            }
            default: throw new ArgumentException(name);
        }
    }

    [Theory]
    [MemberData(nameof(Breaks))]
    public void A_structural_break_is_refused_before_the_mount_call_with_its_rule(string name, string rule)
    {
        var ex = Refused(Break(name), out _);
        Assert.Equal(ImageValidationCheck.ErrorId, ex.ErrorId);
        Assert.Equal(DaxErrorKind.ImageInvalid, ex.Kind);
        Assert.Equal(Errno.EINVAL, ex.Errno);
        Assert.StartsWith("physical range", ex.Target);
        Assert.Contains(ex.Findings, f => f.RuleId == rule && f.Severity == FindingSeverity.Error);
        Assert.Contains(rule, ex.Message);
        var first = ex.Findings.First(f => f.Severity == FindingSeverity.Error);
        Assert.Contains($"{first.RuleId} at 0x{first.Offset:x}: ", ex.Message);
        Assert.Equal(NextStep.ValidateRebuildOrSkip, ex.NextStep);
    }

    [Fact]
    public void The_message_lists_the_first_five_errors_and_counts_the_rest()
    {
        var t = new TinyImage();
        for (int i = 0; i < 8; i++) t.Link(t.Root, $"f{i}", t.File("x"));
        var b = t.Build();
        for (int i = 0; i < 8; i++) b.W32(b.Dirent(1, i), 1000 + (uint)i);
        var ex = Refused(b.Bytes, out _);
        Assert.Equal(8, ex.Findings.Count(f => f.RuleId == RuleIds.DirentIno));
        Assert.Equal(5, System.Text.RegularExpressions.Regex.Matches(ex.Message, "DIRENT-INO at 0x").Count);
        Assert.Contains("(3 more.)", ex.Message);
        Assert.Contains("with 8 errors (DIRENT-INO)", ex.Message);
    }

    [Fact]
    public void SkipValidation_lets_a_hostile_image_through_to_the_kernel()
    {
        using var h = new Host(Break("base region past the end"));
        var mounter = new DaxFsMounter(h.Ctx);
        var plan = mounter.Inspect(mounter.Plan(h.Request(skip: true)));
        Assert.True(plan.ValidationSkipped);
        Assert.Empty(plan.Findings);
        mounter.Mount(plan);
        Assert.Single(h.Api.Calls);
    }

    [Fact]
    public void Split_images_are_checked_against_the_backing_file_given_to_the_mount()
    {
        var b = ValidatorTestKitSamples.Sample(TinyLayout.Split);
        using var h = new Host(b.Bytes);
        var mounter = new DaxFsMounter(h.Ctx);

        // Without a backing file: regular-file extents cannot be checked, which is a warning.
        var plan = mounter.Inspect(mounter.Plan(h.Request()));
        Assert.Contains(plan.Findings, f => f.RuleId == RuleIds.ExternalData);

        string backing = h.Root.File("img.data", new string('x', (int)b.BackingLength));
        plan = mounter.Inspect(mounter.Plan(h.Request(backing: backing)));
        Assert.DoesNotContain(plan.Findings, f => f.RuleId == RuleIds.ExternalData);
        Assert.Empty(ValidatorTestKit.WithoutRootBaseline(plan.Findings));

        string shorter = h.Root.File("short.data", "x");
        var ex = Assert.Throws<DaxLinuxException>(() => mounter.Inspect(mounter.Plan(h.Request(backing: shorter))));
        Assert.Contains(ex.Findings, f => f.RuleId == RuleIds.InodeDataBounds && f.Inode is not null);
    }

    [Fact]
    public void A_cancelled_validation_stops_the_inspection()
    {
        using var h = new Host(ValidatorTestKitSamples.Sample().Bytes);
        var mounter = new DaxFsMounter(h.Ctx);
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => mounter.Inspect(mounter.Plan(h.Request()), cts.Token));
    }

    /// <summary>An image in memory that records every read the validator makes (all inside the window, by construction
    /// of <see cref="ImageMemory.Span"/>; this proves it on hostile input and sums the bytes read).</summary>
    private sealed class RecordingMemory : ImageMemory
    {
        private readonly byte[] _bytes;
        public long BytesRead;
        public long HighestEnd;

        public RecordingMemory(byte[] bytes) => _bytes = bytes;
        public override long Length => _bytes.LongLength;
        public override string Source => "(recording)";

        protected override ReadOnlySpan<byte> GetSpanUnchecked(long offset, int length)
        {
            BytesRead += length;
            HighestEnd = Math.Max(HighestEnd, offset + length);
            return _bytes.AsSpan((int)offset, length);
        }

        public override void Dispose() { }
    }

    [Fact]
    public void On_mutated_images_the_gate_reads_only_inside_the_window_and_a_bounded_amount()
    {
        var seeds = new[]
        {
            ValidatorTestKitSamples.Sample().Bytes, ValidatorTestKitSamples.Sample(TinyLayout.Branching).Bytes,
            ValidatorTestKitSamples.Sample(TinyLayout.Split).Bytes, ValidatorTestKit.Vector("deep.static"),
        };
        var mutator = new ImageMutator(new Random(4242), seeds);
        var gate = new ImageValidationCheck();
        int refused = 0, passed = 0;
        using var root = new TempDir();
        using (var f = new FileStream(root.File("dev/mem"), FileMode.Create)) f.SetLength(64 * (long)MiB);
        for (int i = 0; i < 400; i++)
        {
            byte[] data = mutator.Mutate(seeds[i % seeds.Length]);
            if (data.Length < BlockSize || data.Length > 64 * (long)MiB) continue;
            var mem = new RecordingMemory(data);
            var plan = new DaxFsMountPlan
            {
                Request = new DaxFsMountRequest { Target = DaxMemoryTargets.ForPhysicalRange(Context(root), 0, (ulong)data.Length), MountPoint = "/mnt" },
                Size = (ulong)data.Length,
            };
            try { gate.Check(mem, plan, default); passed++; }
            catch (DaxLinuxException ex) when (ex.ErrorId == ImageValidationCheck.ErrorId) { refused++; }
            Assert.True(mem.HighestEnd <= data.Length);
            // Linear work: every byte a bounded number of times (names are compared in place for duplicates).
            Assert.True(mem.BytesRead <= 16L * data.Length + (1 << 20), $"mutant {i}: {mem.BytesRead} bytes read from {data.Length}");
        }
        Assert.True(refused > 0 && passed > 0, $"refused {refused}, passed {passed}");
    }

    [Fact]
    public void The_gate_refuses_a_branch_log_out_of_place_in_a_700_directory_image()
    {
        // Issue 16's repro: a branching image of 700 directories, branch record 0 made ACTIVE "main" with its log at
        // 0xFFFFFFFF000. The bookkeeping of 700 directories once filled the finding limit before the branch check ran.
        var b = (byte[])LargeImages.SevenHundred.Value.Branching.Clone();
        long r = new ImageLayout(b).BranchRecord(0);
        BitConverter.TryWriteBytes(b.AsSpan((int)r), 1UL);
        BitConverter.TryWriteBytes(b.AsSpan((int)r + 40), (uint)BranchState.Active);
        "main"u8.CopyTo(b.AsSpan((int)r + 56));
        BitConverter.TryWriteBytes(b.AsSpan((int)r + 16), 0xFFFFFFFF000UL);
        var ex = Refused(b, out _);
        Assert.Equal(ImageValidationCheck.ErrorId, ex.ErrorId);
        Assert.Contains(RuleIds.BranchLogBounds, ex.Message);
    }
}
