using DaxFs.Core.Tests.Linux;
using System.Security.Cryptography;
using DaxFs.Core.Linux;
using DaxFs.Core.Operations;
using DaxFs.Core.Read;
using static DaxFs.Core.Tests.Linux.FakeHost;

namespace DaxFs.Core.Tests.Operations;

/// <summary>Writes into real mappings: plain files stand in for /dev/daxX.Y, /dev/mem and /dev/pmemN (same mmap code path).</summary>
public class DaxMemoryWriterTests
{
    private static readonly string Basic = TestPaths.Vector("basic.static.daxfs");

    private static string Sha256(byte[] b) => Convert.ToHexString(SHA256.HashData(b)).ToLowerInvariant();

    private static byte[] ReadAt(string path, long offset, int length)
    {
        using var f = File.OpenRead(path);
        f.Position = offset;
        var b = new byte[length];
        f.ReadExactly(b);
        return b;
    }

    private static DaxWriteResult WriteImage(string image, DaxMemoryTarget target, List<DaxWriteProgress>? seen = null)
    {
        using var src = File.OpenRead(image);
        return DaxMemoryWriter.Write(src, src.Length, target, seen is null ? null : new SyncProgress(seen));
    }

    private sealed class SyncProgress : IProgress<DaxWriteProgress>
    {
        private readonly List<DaxWriteProgress> _seen;
        public SyncProgress(List<DaxWriteProgress> seen) { _seen = seen; }
        public void Report(DaxWriteProgress value) => _seen.Add(value);
    }

    [Fact]
    public void Plain_file_target_is_written_verified_and_hashed()
    {
        using var dir = new TempDir();
        string target = dir.File("target.bin");
        File.WriteAllBytes(target, new byte[1 << 20]);
        var seen = new List<DaxWriteProgress>();
        var result = WriteImage(Basic, DaxMemoryTargets.ForFile(target), seen);
        byte[] image = File.ReadAllBytes(Basic);
        Assert.True(result.Verified);
        Assert.Equal(image.Length, result.BytesWritten);
        Assert.Equal(Sha256(image), result.Sha256);
        Assert.Equal(image, ReadAt(target, 0, image.Length));
        Assert.Contains(seen, p => p.Phase == "Writing" && p.BytesDone == image.Length);
        Assert.Contains(seen, p => p.Phase == "Verifying" && p.BytesDone == image.Length);
    }

    [Fact]
    public void Refuses_an_image_larger_than_the_target_before_writing()
    {
        using var dir = new TempDir();
        string target = dir.File("small.bin");
        File.WriteAllBytes(target, new byte[4096]);
        var ex = Assert.Throws<DaxLinuxException>(() => WriteImage(Basic, DaxMemoryTargets.ForFile(target)));
        Assert.Equal("ImageLargerThanTarget", ex.ErrorId);
        Assert.Equal(DaxErrorKind.ImageTooLarge, ex.Kind);
        Assert.All(File.ReadAllBytes(target), b => Assert.Equal(0, b));
    }

    [Fact]
    public void Verify_finds_the_first_differing_byte()
    {
        using var dir = new TempDir();
        string target = dir.File("t.bin");
        byte[] image = File.ReadAllBytes(Basic);
        var copy = (byte[])image.Clone();
        copy[0x5123] ^= 0xff;
        File.WriteAllBytes(target, copy);
        using var src = new MemoryStream(image);
        var (same, first, _) = DaxMemoryWriter.Verify(src, image.Length, DaxMemoryTargets.ForFile(target));
        Assert.False(same);
        Assert.Equal(0x5123, first);
    }

    [Fact]
    public void Dax_device_maps_in_multiples_of_its_align()
    {
        using var root = new TempDir();
        AddDaxDevice(root, "dax0.0", 8 * MiB, 0x100a00000);
        var target = DaxMemoryTargets.ForDevice(Context(root), "dax0.0");
        Assert.Equal(DaxMemoryTargetKind.DaxDevice, target.Kind);
        Assert.Equal((long)(8 * MiB), target.Size);
        Assert.Equal(2L * 1024 * 1024, target.Granularity);
        Assert.Equal(0x100a00000UL, target.PhysicalAddress);
        Assert.Contains("length 0x200000", target.DescribeMap(0, 0x14000, true));
        Assert.Contains("length 0x400000", target.DescribeMap(0x1ff000, 0x2000, false));
        Assert.Contains("offset 0x0", target.DescribeMap(0x1ff000, 0x2000, false));

        var result = WriteImage(Basic, target);
        Assert.True(result.Verified);
        byte[] image = File.ReadAllBytes(Basic);
        Assert.Equal(image, ReadAt(Path.Combine(root.Path, "dev/dax0.0"), 0, image.Length));
    }

    [Fact]
    public void Readers_open_an_image_in_device_memory_zero_copy()
    {
        using var root = new TempDir();
        AddDaxDevice(root, "dax0.0", 4 * MiB, 0x100a00000);
        var target = DaxMemoryTargets.ForDevice(Context(root), "dax0.0");
        WriteImage(Basic, target);
        using var reader = DaxFsImageReader.Open(target.OpenImageMemory());
        Assert.Equal("dax0.0", reader.Memory.Source);
        Assert.Equal(4L * 1024 * 1024, reader.Memory.Length);
        ExpectedListing.AssertMatches(reader, TestPaths.Vector("basic.expected.json"));
    }

    [Fact]
    public void Physical_range_through_dev_mem_at_an_unaligned_address()
    {
        using var root = new TempDir();
        string mem = root.File("dev/mem");
        using (var f = new FileStream(mem, FileMode.Create)) f.SetLength(16 * (long)MiB);
        var ctx = Context(root);
        var target = DaxMemoryTargets.ForPhysicalRange(ctx, 0x300800, MiB);
        Assert.Equal(mem, target.NodePath);
        Assert.Equal(0x300800UL, target.NodeOffset);
        Assert.Contains("offset 0x300000", target.DescribeMap(0, 4096, true));
        Assert.True(WriteImage(Basic, target).Verified);
        byte[] image = File.ReadAllBytes(Basic);
        Assert.Equal(image, ReadAt(mem, 0x300800, image.Length));
    }

    [Fact]
    public void Physical_range_falls_back_to_the_dax_device_that_holds_it()
    {
        using var root = new TempDir(); // no dev/mem: as when the kernel refuses it
        AddDaxDevice(root, "dax0.0", 8 * MiB, 0x100a00000);
        var target = DaxMemoryTargets.ForPhysicalRange(Context(root), 0x100a00000 + 2 * MiB, MiB);
        Assert.Equal("dax0.0", target.Device);
        Assert.Equal(2 * MiB, target.NodeOffset);
        Assert.Equal(0x100c00000UL, target.PhysicalAddress);
        Assert.Contains("through dax0.0", target.Description);
        Assert.True(WriteImage(Basic, target).Verified);
        byte[] image = File.ReadAllBytes(Basic);
        Assert.Equal(image, ReadAt(Path.Combine(root.Path, "dev/dax0.0"), (long)(2 * MiB), image.Length));
    }

    [Fact]
    public void Physical_range_falls_back_to_a_raw_pmem_namespace()
    {
        using var root = new TempDir();
        root.File("sys/bus/nd/devices/namespace0.0/mode", "raw\n");
        root.File("sys/bus/nd/devices/namespace0.0/resource", "0x100000000\n");
        root.File("sys/bus/nd/devices/namespace0.0/size", "268435456\n");
        Directory.CreateDirectory(Path.Combine(root.Path, "sys/bus/nd/devices/namespace0.0/block/pmem0"));
        string pmem = root.File("dev/pmem0");
        using (var f = new FileStream(pmem, FileMode.Create)) f.SetLength(8 * (long)MiB);
        var target = DaxMemoryTargets.ForPhysicalRange(Context(root), 0x100000000, 4 * MiB);
        Assert.Equal(pmem, target.NodePath);
        Assert.Equal(0UL, target.NodeOffset);
        Assert.True(WriteImage(Basic, target).Verified);
    }

    [Fact]
    public void Physical_range_nobody_holds_is_a_clear_error()
    {
        using var root = new TempDir();
        var ex = Assert.Throws<DaxLinuxException>(() => DaxMemoryTargets.ForPhysicalRange(Context(root), 0x100000000, MiB));
        Assert.Equal(DaxErrorKind.NotFound, ex.Kind);
        Assert.Equal("PhysicalMemoryDeviceMissing", ex.ErrorId);
        Assert.Contains("/dev/mem does not exist", ex.Message.Replace(root.Path, ""));
        Assert.DoesNotContain("Get-DaxDevice", ex.Message);
        ex = Assert.Throws<DaxLinuxException>(() => DaxMemoryTargets.ForPhysicalRange(Context(root), 0x100000000, 0));
        Assert.Equal("InvalidPhysicalRange", ex.ErrorId);
    }

    [Fact]
    public void Memfd_dma_buf_is_written_and_read_back()
    {
        var heap = new MemfdDmaHeap();
        using var buf = heap.Allocate("system", 300_000);
        long size = heap.GetSize(buf);
        Assert.Equal(0, size % Environment.SystemPageSize);
        Assert.True(size >= 300_000);
        heap.SetName(buf, "test-buffer");
        Assert.Throws<DaxLinuxException>(() => heap.SetName(buf, new string('x', 40)));
        var target = DaxMemoryTargets.ForDmaBuf(buf, size, "dma-buf (memfd)", "system");
        Assert.True(WriteImage(Basic, target).Verified);
        using var reader = DaxFsImageReader.Open(target.OpenImageMemory());
        Assert.Equal(19u, reader.InodeCount);
    }

    [Fact]
    public void Real_dma_heap_in_a_missing_folder_says_so()
    {
        using var dir = new TempDir();
        var heap = new LinuxDmaHeap(Path.Combine(dir.Path, "dma_heap"));
        Assert.Empty(heap.ListHeaps());
        var ex = Assert.Throws<DaxLinuxException>(() => heap.Allocate("system", 4096));
        Assert.Equal("DmaHeapNotFound", ex.ErrorId);
        Assert.Equal(DaxErrorKind.NotFound, ex.Kind);
        Assert.Contains("CONFIG_DMABUF_HEAPS", ex.Message);
        Assert.Equal("InvalidDmaHeapName", Assert.Throws<DaxLinuxException>(() => heap.Allocate("../x", 4096)).ErrorId);
        Assert.Equal("InvalidDmaBufSize", Assert.Throws<DaxLinuxException>(() => heap.Allocate("system", 0)).ErrorId);
    }

    [Fact]
    public void Dma_heap_that_is_not_a_heap_fails_the_ioctl_cleanly()
    {
        using var dir = new TempDir();
        dir.File("dma_heap/system", "not a device");
        var ex = Assert.Throws<DaxLinuxException>(() => new LinuxDmaHeap(Path.Combine(dir.Path, "dma_heap")).Allocate("system", 4096));
        Assert.Equal("DmaBufAllocationFailed", ex.ErrorId);
        Assert.Equal(Errno.ENOTTY, ex.Errno);
    }

    [Fact]
    public void Windows_reject_ranges_outside_the_target()
    {
        using var dir = new TempDir();
        string target = dir.File("t.bin");
        File.WriteAllBytes(target, new byte[8192]);
        var t = DaxMemoryTargets.ForFile(target);
        Assert.Throws<ArgumentOutOfRangeException>(() => t.Map(4096, 8192, false));
        using var w = t.Map(100, 200, false);
        Assert.Throws<ArgumentOutOfRangeException>(() => w.Slice(100, 101));
    }
}
