using DaxFs.Core.Linux;
using DaxFs.Core.Operations;

namespace DaxFs.Core.Tests.Linux;

public class MountInfoTests
{
    private const string Sample =
        "22 27 0:21 / /proc rw,relatime - proc proc rw\n" +
        "36 35 98:0 /mnt1 /mnt/parent rw,noatime master:1 - ext3 /dev/root rw,errors=continue\n" +
        "61 27 0:52 / /mnt/dax\\040root ro,relatime shared:30 - daxfs dax0.0 ro,phys=0x100a00000,size=526385152,static\n" +
        "62 27 0:53 / /mnt/branch rw,relatime - daxfs daxfs ro,name=pool,source=dmabuf,size=268435456,branch=/main\n" +
        "63 27 0:54 / /mnt/tab\\011and\\134slash rw - tmpfs tmp\\040fs rw,size=1024k\n";

    [Fact]
    public void Parses_fields_optional_fields_and_super_options()
    {
        var all = MountInfo.Parse(Sample);
        Assert.Equal(5, all.Count);
        var ext = all[1];
        Assert.Equal(36, ext.MountId);
        Assert.Equal(35, ext.ParentId);
        Assert.Equal("98:0", ext.Device);
        Assert.Equal("/mnt1", ext.Root);
        Assert.Equal("/mnt/parent", ext.MountPoint);
        Assert.Equal(new[] { "master:1" }, ext.OptionalFields);
        Assert.Equal("ext3", ext.FileSystemType);
        Assert.Equal("/dev/root", ext.Source);
        Assert.Equal("rw,errors=continue", ext.SuperOptions);
        Assert.False(ext.ReadOnly);
    }

    [Fact]
    public void Unescapes_octal_sequences()
    {
        var all = MountInfo.Parse(Sample);
        Assert.Equal("/mnt/dax root", all[2].MountPoint);
        Assert.Equal("/mnt/tab\tand\\slash", all[4].MountPoint);
        Assert.Equal("tmp fs", all[4].Source);
        Assert.Equal("a b", MountInfo.Unescape("a\\040b"));
        Assert.Equal("a\\04", MountInfo.Unescape("a\\04"));      // incomplete escape stays
        Assert.Equal("é\n", MountInfo.Unescape("\\303\\251\\012")); // UTF-8 bytes
        Assert.Equal("/x\\040y\\011z\\134", MountInfo.Escape("/x y\tz\\"));
    }

    [Fact]
    public void Daxfs_options_become_typed_fields()
    {
        var all = MountInfo.Parse(Sample);
        var s = DaxFsMountOptions.From(all[2]);
        Assert.Equal(0x100a00000UL, s.PhysicalAddress);
        Assert.Equal(526385152UL, s.Size);
        Assert.True(s.Static);
        Assert.False(s.DmaBuf);
        Assert.True(all[2].ReadOnly);
        var b = DaxFsMountOptions.From(all[3]);
        Assert.True(b.DmaBuf);
        Assert.Equal("/main", b.Branch);
        Assert.Equal("pool", b.Name);
        Assert.Null(b.PhysicalAddress);
        Assert.True(all[3].ReadOnly); // super option ro, mount option rw
    }

    [Fact]
    public void Finds_the_last_mount_at_a_path()
    {
        var all = MountInfo.Parse(Sample + "70 61 0:60 / /mnt/dax\\040root rw - tmpfs tmpfs rw\n");
        Assert.Equal("tmpfs", MountInfo.FindMountAt(all, "/mnt/dax root/")?.FileSystemType);
        Assert.Null(MountInfo.FindMountAt(all, "/mnt"));
    }

    [Fact]
    public void Skips_malformed_lines()
    {
        Assert.Empty(MountInfo.Parse("garbage\n1 2 3\n\n"));
    }

    [Fact]
    public void Reads_this_machines_mountinfo()
    {
        if (!File.Exists("/proc/self/mountinfo")) return;
        var all = MountInfo.Read();
        Assert.Contains(all, e => e.MountPoint == "/");
    }
}
