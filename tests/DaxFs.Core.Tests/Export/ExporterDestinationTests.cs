using DaxFs.Core.Export;
using DaxFs.Core.Read;

namespace DaxFs.Core.Tests.Export;

/// <summary>
/// A destination folder that cannot be made is an export error naming the folder, not a bare .NET exception. (A folder
/// without write permission is the Pester suite's: as root it needs a child without CAP_DAC_OVERRIDE.)
/// </summary>
public sealed class ExporterDestinationTests : IDisposable
{
    private readonly string _work = Directory.CreateTempSubdirectory("daxfs-export-").FullName;
    public void Dispose() => Directory.Delete(_work, recursive: true);

    [Fact]
    public void A_destination_below_a_file_is_an_export_error_that_names_the_destination_and_writes_nothing()
    {
        string file = Path.Combine(_work, "a-file");
        File.WriteAllText(file, "mine");
        string dest = Path.Combine(file, "out");
        using var reader = DaxFsImageReader.Open(TestPaths.Vector("basic.static.daxfs"));

        var ex = Assert.Throws<DaxFsExportException>(() => new ImageExporter(reader).Export("/", dest).ToList());

        Assert.Equal(dest, ex.Destination);
        Assert.Equal(ExportFailure.WriteFailed, ex.Kind); // mkdir below a file: ENOTDIR
        Assert.Null(ex.PathInImage);
        Assert.IsType<IOException>(ex.InnerException);
        Assert.Contains($"'{dest}'", ex.Message);
        Assert.Contains("Nothing was written", ex.Message);
        Assert.Equal("mine", File.ReadAllText(file));
        Assert.Equal(new[] { file }, Directory.GetFileSystemEntries(_work));
    }

    [Fact]
    public void Each_failure_says_its_kind()
    {
        using var reader = DaxFsImageReader.Open(TestPaths.Vector("basic.static.daxfs"));
        string dest = Path.Combine(_work, "out");
        new ImageExporter(reader).Export("/", dest).ToList();

        var again = Assert.Throws<DaxFsExportException>(() => new ImageExporter(reader).Export("/", dest).ToList());
        Assert.Equal(ExportFailure.AlreadyExists, again.Kind);
        var missing = Assert.Throws<DaxFsExportException>(() => new ImageExporter(reader).Export("/no-such-item", dest).ToList());
        Assert.Equal(ExportFailure.NotInImage, missing.Kind);
    }

    [Theory]
    [InlineData(DaxFs.Core.Linux.Errno.EACCES, ExportFailure.PermissionDenied)]
    [InlineData(DaxFs.Core.Linux.Errno.EPERM, ExportFailure.PermissionDenied)]
    [InlineData(DaxFs.Core.Linux.Errno.EEXIST, ExportFailure.AlreadyExists)]
    [InlineData(DaxFs.Core.Linux.Errno.ENOSPC, ExportFailure.WriteFailed)]
    [InlineData(DaxFs.Core.Linux.Errno.EIO, ExportFailure.WriteFailed)]
    public void An_errno_maps_to_one_kind(int errno, ExportFailure kind) => Assert.Equal(kind, DaxFsExportException.KindOf(errno));
}
