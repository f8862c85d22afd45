using System.Buffers.Binary;
using System.Text;
using DaxFs.Core.Branches;
using DaxFs.Core.Format;
using DaxFs.Core.Read;
using DaxFs.Core.Tests.Build;
using DaxFs.Core.Validate;
using DaxFs.Core.Build;

namespace DaxFs.Core.Tests.Branches;

/// <summary>Branch tables and delta logs written by hand, field by field as FORMAT.md lays them out, then read back.</summary>
public sealed class BranchTableTests : IDisposable
{
    private readonly TestTrees _trees = new();
    public void Dispose() => _trees.Dispose();

    private (byte[] Image, ulong DeltaOff) BranchingImage()
    {
        string src = _trees.Make("basic");
        string img = Path.Combine(_trees.NewFolder("out" + Guid.NewGuid().ToString("n")[..6]), "b.daxfs");
        new ImageBuilder(new ImageBuildOptions { SourcePath = src, Destination = img, Mode = DaxFsImageMode.Branching, DeltaSize = 4 << 20 }).Build();
        var bytes = File.ReadAllBytes(img);
        return (bytes, Superblock.Read(bytes).DeltaRegionOffset);
    }

    private static void PutBranch(byte[] image, int index, ulong id, ulong parent, string name, BranchState state, ulong logOff, byte[] log) =>
        LogWriter.PutBranch(image, index, id, parent, name, state, logOff, log);

    [Fact]
    public void ReadsEveryRecordAndEveryKindOfEntry()
    {
        var (image, delta) = BranchingImage();
        var main = new LogWriter();
        var child = new LogWriter();
        child.Create(2, 1, 20, 0x81A4, "new.txt");
        child.Write(20, 0, "hello branch"u8.ToArray());
        child.Create(5, 1, 21, 0x41ED, "newdir");
        child.Symlink(21, 22, "ln", "../new.txt");
        child.Delete(1, 3, "one");
        child.Rename(1, 21, 20, "new.txt", "moved.txt");
        child.SetAttr(4, 0x8180, (uint)(DeltaAttributes.Mode));
        child.Truncate(20, 5);
        PutBranch(image, 0, 1, 0, "main", BranchState.Active, delta, main.Bytes);
        PutBranch(image, 1, 2, 1, "feature", BranchState.Active, delta + (1 << 20), child.Bytes);

        using var reader = DaxFsImageReader.Open(new ByteImageMemory(image, "hand-made"));
        var branches = BranchTable.Read(reader);
        Assert.Equal(new[] { "main", "feature" }, branches.Select(b => b.Name));
        var feature = branches[1];
        Assert.Equal("main", feature.ParentName);
        Assert.Equal(BranchState.Active, feature.State);
        Assert.Equal(3u, feature.Generation);
        Assert.Equal((ulong)child.Bytes.Length, feature.LogUsed);
        Assert.Empty(BranchTable.ReadLog(reader, branches[0]));

        var log = BranchTable.ReadLog(reader, feature);
        Assert.Equal(new[] { DeltaKind.Create, DeltaKind.Write, DeltaKind.Mkdir, DeltaKind.Symlink, DeltaKind.Delete, DeltaKind.Rename, DeltaKind.SetAttr, DeltaKind.Truncate }, log.Select(e => e.Kind));
        Assert.Equal("new.txt", log[0].Name);
        Assert.Equal(20ul, log[0].NewIno);
        Assert.Equal(0x81A4u, log[0].Mode);
        Assert.Equal(1000u, log[0].Uid);
        Assert.Equal(12u, log[1].Length);
        Assert.Equal("hello branch", Encoding.UTF8.GetString(image, (int)log[1].DataOffset!, 12));
        Assert.Equal("../new.txt", log[3].Target);
        Assert.Equal("one", log[4].Name);
        Assert.Equal(("new.txt", "moved.txt", 21ul), (log[5].Name, log[5].NewName, log[5].NewParentIno!.Value));
        Assert.Equal(DeltaAttributes.Mode, log[6].Valid);
        Assert.Equal(5ul, log[7].NewSize);
        Assert.True(log.Zip(log.Skip(1)).All(p => p.First.LogPosition + p.First.TotalSize == p.Second.LogPosition));

        // The validator reads the same table and logs without objection.
        var findings = ImageValidator.Validate(new ByteImageMemory(image, "hand-made"));
        Assert.DoesNotContain(findings, f => f.RuleId.StartsWith("BRANCH", StringComparison.Ordinal) || f.RuleId.StartsWith("DELTA", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(4, 23u)]        // total_size below the header
    [InlineData(4, 1u << 30)]   // total_size past the log
    [InlineData(0, 99u)]        // unknown type
    [InlineData(24 + 28, 999u)] // CREATE name length past the entry
    public void MalformedEntriesRaiseDeltaEntryWithTheirOffset(int field, uint value)
    {
        var (image, delta) = BranchingImage();
        var log = new LogWriter();
        log.Create(2, 1, 20, 0x81A4, "x");
        var bytes = log.Bytes;
        if (field == 24 + 28) BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(field), (ushort)value);
        else BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(field), value);
        PutBranch(image, 0, 1, 0, "main", BranchState.Active, delta, bytes);
        using var reader = DaxFsImageReader.Open(new ByteImageMemory(image, "hand-made"));
        var ex = Assert.Throws<DaxFsFormatException>(() => BranchTable.ReadLog(reader, BranchTable.Read(reader)[0]));
        Assert.Equal(RuleIds.DeltaEntry, ex.RuleId);
        Assert.InRange(ex.Offset, (long)delta, (long)delta + bytes.Length);
    }

    [Fact]
    public void ALogOutsideTheDeltaRegionIsRefused()
    {
        var (image, delta) = BranchingImage();
        PutBranch(image, 0, 1, 0, "main", BranchState.Active, delta, new byte[48]);
        BinaryPrimitives.WriteUInt64LittleEndian(image.AsSpan(4096 + 16), 4096); // log offset inside the superblock area
        using var reader = DaxFsImageReader.Open(new ByteImageMemory(image, "hand-made"));
        var ex = Assert.Throws<DaxFsFormatException>(() => BranchTable.ReadLog(reader, BranchTable.Read(reader)[0]));
        Assert.Equal(RuleIds.BranchLogBounds, ex.RuleId);
    }

    [Fact]
    public void AStaticImageHasNoBranches()
    {
        using var reader = DaxFsImageReader.Open(TestPaths.Vector("basic.static.daxfs"));
        Assert.Empty(BranchTable.Read(reader));
    }
}
