using DaxFs.Core.Branches;
using DaxFs.Core.Linux;
using DaxFs.Core.Operations;
using DaxFs.Core.Read;
using DaxFs.Core.Tests.Linux;
using static DaxFs.Core.Tests.Linux.FakeHost;

namespace DaxFs.Core.Tests.Operations;

/// <summary>Images read in place from memory: device nodes, a mount's phys= range or dma-buf. Plain files play the memory.</summary>
public class DaxMemoryImagesTests
{
    private static readonly string Nested = Path.Combine(TestPaths.RepoRoot, "tests/fixtures/branches/nested.daxfs");

    private static string Node(TempDir root, string name, long length, string? image = "", long offset = 0)
    {
        string path = root.File("dev/" + name);
        using var f = new FileStream(path, FileMode.Create);
        f.SetLength(length);
        if (image == "") image = Nested;
        if (image is not null)
        {
            f.Position = offset;
            f.Write(File.ReadAllBytes(image));
        }
        return path;
    }

    private static List<string> Branches(ImageMemory memory)
    {
        using var reader = DaxFsImageReader.Open(memory);
        return BranchTable.Read(reader).Select(b => $"{b.Name} {b.Id} {b.ParentId} {b.State}").ToList();
    }

    private static List<string> FileBranches()
    {
        using var reader = DaxFsImageReader.Open(Nested);
        return BranchTable.Read(reader).Select(b => $"{b.Name} {b.Id} {b.ParentId} {b.State}").ToList();
    }

    [Fact]
    public void A_block_device_node_maps_exactly_the_image_and_sizes_from_sysfs()
    {
        using var root = new TempDir();
        string pmem = Node(root, "pmem0", 16 * (long)MiB);
        root.File("sys/class/block/pmem0/size", $"{16 * MiB / 512}\n");
        var target = DaxMemoryImages.ForNode(Context(root), pmem);
        Assert.NotNull(target);
        Assert.Equal(DaxMemoryTargetKind.BlockDevice, target!.Kind);
        Assert.Equal(16 * (long)MiB, target.Size);
        Assert.Equal(pmem, target.NodePath);
        using var memory = DaxMemoryImages.Open(target);
        Assert.Equal(new FileInfo(Nested).Length, memory.Length);
        Assert.Equal(FileBranches(), Branches(memory));
    }

    [Theory]
    [InlineData("v8/basic.v8.split.daxfs")]
    [InlineData("v8/deep.v8.static.daxfs")]
    public void A_format_8_image_in_memory_maps_its_total_size_and_reads_as_its_file(string vector)
    {
        using var root = new TempDir();
        string image = TestPaths.Vector(vector);
        string pmem = Node(root, "pmem0", 16 * (long)MiB, image);
        root.File("sys/class/block/pmem0/size", $"{16 * MiB / 512}\n");
        var target = DaxMemoryImages.ForNode(Context(root), pmem)!;
        Assert.Equal(new FileInfo(image).Length, DaxMemoryImages.ReadImageLength(target));
        using var memory = DaxMemoryImages.Open(target);
        Assert.Equal(new FileInfo(image).Length, memory.Length);
        using var fromMemory = DaxFsImageReader.Open(memory);
        using var fromFile = DaxFsImageReader.Open(image);
        Assert.Equal(DaxFs.Core.Format.DaxFsFormat.Format8, fromMemory.Generation);
        Assert.Equal(fromFile.Mode, fromMemory.Mode);
        Assert.Equal(fromFile.Walk("/").Select(i => i.FullName), fromMemory.Walk("/").Select(i => i.FullName));
    }

    [Fact]
    public void A_version_DaxFs_does_not_read_is_refused_naming_both_it_reads()
    {
        using var root = new TempDir();
        var bytes = File.ReadAllBytes(TestPaths.Vector("v8/deep.v8.static.daxfs"));
        bytes[4] = 7;
        string pmem = root.File("dev/pmem0");
        File.WriteAllBytes(pmem, bytes);
        root.File("sys/class/block/pmem0/size", $"{bytes.Length / 512}\n");
        var ex = Assert.Throws<DaxLinuxException>(() => DaxMemoryImages.ReadImageLength(DaxMemoryImages.ForNode(Context(root), pmem)!));
        Assert.Equal(DaxFs.Core.Errors.ErrorIds.UnsupportedImageVersion, ex.ErrorId);
        Assert.Contains("versions 5 and 8", ex.Message);
    }

    [Fact]
    public void A_format_8_image_in_memory_maps_its_total_size_and_reads_as_a_mount_shows_it()
    {
        using var root = new TempDir();
        string image = Validate.V8ValidationTests.V8("overlay/overlay-only-after-writes.daxfs");
        string pmem = Node(root, "pmem0", 16 * (long)MiB, image);
        root.File("sys/class/block/pmem0/size", $"{16 * MiB / 512}\n");
        var target = DaxMemoryImages.ForNode(Context(root), pmem)!;
        var header = DaxMemoryImages.ReadSuperblock(target);
        Assert.Equal(DaxFs.Core.Format.DaxFsFormat.Format8, header.Format);
        Assert.Equal((ulong)new FileInfo(image).Length, header.TotalSize);
        using var memory = DaxMemoryImages.Open(target);
        Assert.Equal(new FileInfo(image).Length, memory.Length);
        using var reader = DaxFsImageReader.Open(memory);
        var tree = DaxFs.Core.Overlay.OverlayView.MountedTree(reader);
        using var fromFile = DaxFsImageReader.Open(image);
        Assert.Equal(DaxFs.Core.Overlay.OverlayView.MountedTree(fromFile).Walk("/").Select(i => i.FullName + " " + i.Ino),
            tree.Walk("/").Select(i => i.FullName + " " + i.Ino));
    }

    [Fact]
    public void A_dax_device_node_goes_through_the_device_catalog()
    {
        using var root = new TempDir();
        AddDaxDevice(root, "dax0.0", 8 * MiB, 0x100a00000);
        Node(root, "dax0.0", 8 * (long)MiB);
        var target = DaxMemoryImages.ForNode(Context(root), Path.Combine(root.Path, "dev/dax0.0"));
        Assert.Equal(DaxMemoryTargetKind.DaxDevice, target!.Kind);
        Assert.Equal(2 * (long)MiB, target.Granularity);
        using var memory = DaxMemoryImages.Open(target);
        Assert.Equal(FileBranches(), Branches(memory));
    }

    [Fact]
    public void Paths_that_are_no_known_device_node_are_left_to_the_file_reader()
    {
        using var root = new TempDir();
        var ctx = Context(root);
        Assert.Null(DaxMemoryImages.ForNode(ctx, Node(root, "loop9", (long)MiB)));                 // sysfs does not know it
        Assert.Null(DaxMemoryImages.ForNode(ctx, root.File("images/pmem0", "x")));          // not under the device folder
        Assert.Null(DaxMemoryImages.ForNode(ctx, Path.Combine(root.Path, "dev")));            // the folder itself
    }

    [Fact]
    public void Memory_without_an_image_or_with_a_larger_image_is_refused()
    {
        using var root = new TempDir();
        Node(root, "pmem1", (long)MiB, image: null);
        root.File("sys/class/block/pmem1/size", $"{MiB / 512}\n");
        var ex = Assert.Throws<DaxLinuxException>(() => DaxMemoryImages.Open(DaxMemoryImages.ForNode(Context(root), Path.Combine(root.Path, "dev/pmem1"))!));
        Assert.Equal("NoDaxFsImageAtTarget", ex.ErrorId);
        Assert.Equal(DaxErrorKind.NoImageAtTarget, ex.Kind);

        // The node says it has 2 MiB: the 5 MiB image in it cannot be whole.
        Node(root, "pmem2", 8 * (long)MiB);
        root.File("sys/class/block/pmem2/size", $"{2 * MiB / 512}\n");
        ex = Assert.Throws<DaxLinuxException>(() => DaxMemoryImages.Open(DaxMemoryImages.ForNode(Context(root), Path.Combine(root.Path, "dev/pmem2"))!));
        Assert.Equal("ImageLargerThanTarget", ex.ErrorId);

        root.File("sys/class/block/pmem3/size", "junk\n");
        Node(root, "pmem3", (long)MiB);
        ex = Assert.Throws<DaxLinuxException>(() => DaxMemoryImages.ForNode(Context(root), Path.Combine(root.Path, "dev/pmem3")));
        Assert.Equal("BlockDeviceSizeUnknown", ex.ErrorId);
    }

    [Fact]
    public void A_mount_is_read_through_its_phys_range_or_its_dma_buf()
    {
        using var root = new TempDir();
        const ulong phys = 0x200000;
        Node(root, "mem", (long)phys + 8 * (long)MiB, Nested, (long)phys);
        long size = new FileInfo(Nested).Length;
        var api = new FakeMountApi { DmaBufFile = Nested };
        string mountInfo = root.File("mountinfo",
            $"40 1 0:40 / /mnt/main rw,relatime - daxfs none ro,phys=0x{phys:x},size={size},branch=/main\n" +
            $"41 1 0:41 / /mnt/dma rw,relatime - daxfs none ro,source=dmabuf,size={size},branch=/main\n");
        var ctx = Context(root, mountApi: api, mountInfo: mountInfo);
        var mounts = new DaxFsMounter(ctx).ListMounts();
        using (var memory = DaxMemoryImages.OpenMount(ctx, mounts.Single(m => m.MountPoint == "/mnt/main")))
            Assert.Equal(FileBranches(), Branches(memory));
        using (var memory = DaxMemoryImages.OpenMount(ctx, mounts.Single(m => m.MountPoint == "/mnt/dma")))
            Assert.Equal(FileBranches(), Branches(memory));
        Assert.Contains("ioctl(DAXFS_IOC_GET_DMABUF, /mnt/dma)", api.Calls);

        api.DmaBufFile = null;
        var ex = Assert.Throws<DaxLinuxException>(() => DaxMemoryImages.OpenMount(ctx, mounts.Single(m => m.MountPoint == "/mnt/dma")));
        Assert.Equal("DmaBufUnavailable", ex.ErrorId);
    }
}
