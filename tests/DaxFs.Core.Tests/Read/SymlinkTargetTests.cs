using DaxFs.Core.Format;
using DaxFs.Core.Read;
using DaxFs.Core.Tests.Validate;
using DaxFs.Core.Validate;

namespace DaxFs.Core.Tests.Read;

/// <summary>
/// A symlink's target is the bytes before its first NUL (the kernel hands that string to the VFS), and no target
/// is longer than PATH_MAX - 1 = 4095 bytes. Found by the fuzzer: the reader refused every symlink whose recorded
/// size exceeded 4096, even when its NUL came early and the validator (like the kernel) accepted the image.
/// </summary>
public class SymlinkTargetTests
{
    private static (BuiltImage Image, uint Link) LongLink(int length)
    {
        var t = new TinyImage();
        uint l = t.Symlink(new string('t', length));
        t.Link(t.Root, "l", l);
        return (t.Build(), l);
    }

    private static byte[] Target(byte[] bytes, uint ino)
    {
        using var reader = DaxFsImageReader.Open(new ByteImageMemory(bytes));
        var walked = Assert.Single(reader.Walk("/"));
        var target = reader.ReadSymlinkTarget(ino);
        Assert.Equal(target, walked.TargetBytes);
        return target;
    }

    [Fact]
    public void A_large_size_with_an_early_NUL_reads_up_to_the_NUL()
    {
        var (b, l) = LongLink(6000);
        b.Bytes[b.Data(l) + 3] = 0;
        Assert.Equal("ttt"u8.ToArray(), Target(b.Bytes, l));
        ValidatorTestKit.AssertNoRule(ImageValidator.Validate(new ByteImageMemory(b.Bytes)), RuleIds.SymlinkTermination);
    }

    [Fact]
    public void The_longest_target_reads_whole()
    {
        var (b, l) = LongLink(4095);
        Assert.Equal(4095, Target(b.Bytes, l).Length);
    }

    [Theory]
    [InlineData(4096)]
    [InlineData(6000)]
    public void A_target_longer_than_4095_bytes_is_a_format_error(int length)
    {
        var (b, l) = LongLink(length);
        using var reader = DaxFsImageReader.Open(new ByteImageMemory(b.Bytes));
        var ex = Assert.Throws<DaxFsFormatException>(() => reader.ReadSymlinkTarget(l));
        Assert.Equal(RuleIds.SymlinkTermination, ex.RuleId);
        Assert.Equal(b.Inode(l) + 16, ex.Offset);
        Assert.Throws<DaxFsFormatException>(() => reader.Walk("/").ToList());
    }
}
