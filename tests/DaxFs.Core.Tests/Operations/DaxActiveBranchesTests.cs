using DaxFs.Core.Errors;
using DaxFs.Core.Format;
using DaxFs.Core.Linux;
using DaxFs.Core.Operations;
using DaxFs.Core.Tests.Linux;

namespace DaxFs.Core.Tests.Operations;

/// <summary>
/// What the memory says about mounts of other kernels: the ACTIVE children in the branch table of a branching image, read
/// from a memory target (the fixtures' branch tables were written by the reference kernel module).
/// </summary>
public class DaxActiveBranchesTests
{
    private static string Fixture(string name) => Path.Combine(TestPaths.RepoRoot, "tests", "fixtures", "branches", name);

    /// <summary>A copy of <paramref name="image"/> at the start of a larger "memory" file (as a dax device holds it).</summary>
    private static DaxMemoryTarget Memory(TempDir dir, string image, long extra = 1 << 20, Action<byte[]>? change = null)
    {
        var bytes = File.ReadAllBytes(image);
        change?.Invoke(bytes);
        string path = dir.File("memory.bin");
        using (var f = File.Create(path)) { f.Write(bytes); f.SetLength(bytes.Length + extra); }
        return DaxMemoryTargets.ForFile(path);
    }

    [Fact]
    public void A_mounted_child_branch_is_found_and_main_is_not()
    {
        using var dir = new TempDir();
        var active = DaxActiveBranches.Find(Memory(dir, Fixture("feature.daxfs")));
        var b = Assert.Single(active);
        Assert.Equal("feature", b.Name);
        Assert.Equal("main", b.ParentName);
        Assert.Equal("feature (id 2, child of main)", DaxActiveBranches.Describe(active));
    }

    [Fact]
    public void Every_active_child_of_a_chain_is_found_but_not_a_committed_one()
    {
        using var dir = new TempDir();
        var names = DaxActiveBranches.Find(Memory(dir, Fixture("nested.daxfs"))).Select(b => b.Name).ToArray();
        Assert.Equal(new[] { "feature", "deep" }, names);
    }

    [Theory]
    [InlineData("basic.static.daxfs")]   // a static image records no mount
    [InlineData("basic.branching.daxfs")] // never mounted: an empty branch table
    public void Images_without_active_children_record_nothing(string vector)
    {
        using var dir = new TempDir();
        var target = Memory(dir, TestPaths.Vector(vector));
        Assert.Empty(DaxActiveBranches.Find(target));
        DaxActiveBranches.Refuse(target, "writing over it"); // does not throw
    }

    [Fact]
    public void An_aborted_or_invalidated_child_is_no_mount()
    {
        using var dir = new TempDir();
        // feature's record is slot 1 of the table at 4096: state (u32 @40) := ABORTED, as a sibling's commit leaves it.
        var target = Memory(dir, Fixture("feature.daxfs"), change: b => BitConverter.TryWriteBytes(b.AsSpan(4096 + 128 + 40, 4), 3u));
        Assert.Empty(DaxActiveBranches.Find(target));
    }

    [Fact]
    public void Memory_without_a_whole_image_records_nothing()
    {
        using var dir = new TempDir();
        // an interrupted write: the marker in place of the magic
        var marked = Memory(dir, Fixture("feature.daxfs"), change: b => IncompleteWrite.WriteMarker(b.AsSpan(0, IncompleteWrite.MarkerLength)));
        Assert.Empty(DaxActiveBranches.Find(marked));
        using var dir2 = new TempDir();
        string zero = dir2.File("zero.bin");
        File.WriteAllBytes(zero, new byte[8192]);
        Assert.Empty(DaxActiveBranches.Find(DaxMemoryTargets.ForFile(zero)));
        string tiny = dir2.File("tiny.bin");
        File.WriteAllBytes(tiny, new byte[100]);
        Assert.Empty(DaxActiveBranches.Find(DaxMemoryTargets.ForFile(tiny)));
    }

    [Fact]
    public void The_refusal_names_the_branches_the_action_and_the_way_out()
    {
        using var dir = new TempDir();
        var target = Memory(dir, Fixture("nested.daxfs"));
        var ex = Assert.Throws<DaxLinuxException>(() => DaxActiveBranches.Refuse(target, "writing over it"));
        Assert.Equal(ErrorIds.ImageHasActiveBranches, ex.ErrorId);
        Assert.Equal(DaxErrorKind.TargetInUse, ex.Kind);
        Assert.Equal(Errno.EBUSY, ex.Errno);
        Assert.Equal(target.Description, ex.Target);
        Assert.Contains("2 active branches: feature (id ", ex.Message);
        Assert.Contains("deep (id ", ex.Message);
        Assert.Contains("another host that shares the memory", ex.Message);
        Assert.Contains("writing over it pulls the image", ex.Message);
        Assert.Equal(NextStep.UnmountActiveBranches, ex.NextStep);
        Assert.Equal(target.NodePath, ex.NextStepSubject);
    }

    [Fact]
    public void A_namespace_is_read_through_its_node()
    {
        using var dir = new TempDir();
        // A raw namespace's block device dev/pmem0 holding the image; sysfs gives its size in 512-byte sectors.
        string dev = Path.Combine(dir.Path, "dev"), sys = Path.Combine(dir.Path, "sys");
        Directory.CreateDirectory(dev);
        var bytes = File.ReadAllBytes(Fixture("feature.daxfs"));
        using (var f = File.Create(Path.Combine(dev, "pmem0"))) { f.Write(bytes); f.SetLength(8 << 20); }
        dir.File("sys/sys/class/block/pmem0/size", "16384");
        var ctx = new LinuxContext { Sysfs = new SysfsTree(sys), DevRoot = dev, IsRoot = () => true };
        var ns = new NdctlNamespace { Dev = "namespace0.0", Mode = "raw", BlockDev = "pmem0" };
        var ex = Assert.Throws<DaxLinuxException>(() => DaxActiveBranches.RefuseNamespace(ctx, ns, "destroying namespace0.0"));
        Assert.Equal(ErrorIds.ImageHasActiveBranches, ex.ErrorId);
        Assert.StartsWith("namespace0.0 (pmem0) holds a branching image with 1 active branch: feature", ex.Message);
        Assert.Contains("destroying namespace0.0 pulls the image", ex.Message);
        // No node to read (a namespace in system-ram mode, or not enabled yet): nothing to refuse.
        DaxActiveBranches.RefuseNamespace(ctx, new NdctlNamespace { Dev = "namespace1.0", Mode = "devdax" }, "destroying namespace1.0");
        DaxActiveBranches.RefuseNamespace(ctx, new NdctlNamespace { Dev = "namespace1.0", Mode = "devdax", CharDev = "dax9.9" }, "destroying namespace1.0");
    }
}
