using DaxFs.Core.Errors;
using System.Diagnostics;
using System.Net.Sockets;
using DaxFs.Core.Read;

namespace DaxFs.Core.Tests.Read;

/// <summary>
/// A path given as an image that is no image file (a FIFO, a socket, a character device that is not a dax device, a
/// directory) is refused at once with <see cref="ImageSourceException"/>: a FIFO's open no longer waits for a writer.
/// </summary>
public sealed class ImageSourceTests : IDisposable
{
    private readonly string _work = Directory.CreateTempSubdirectory("daxfs-source-").FullName;
    public void Dispose() => Directory.Delete(_work, recursive: true);

    /// <summary>Opens on another thread and fails the test after 10 s instead of hanging when the open blocks.</summary>
    private static ImageSourceException Refused(string path)
    {
        var open = Task.Run(() => MappedFileImageMemory.Open(path).Dispose());
        Assert.True(Task.WhenAny(open, Task.Delay(TimeSpan.FromSeconds(10))).GetAwaiter().GetResult() == open, $"opening '{path}' blocked");
        var ex = Assert.IsType<ImageSourceException>(open.Exception?.InnerException);
        Assert.Equal(path, ex.Path);
        return ex;
    }

    [Fact]
    public void A_fifo_is_refused_without_blocking()
    {
        string fifo = Path.Combine(_work, "fifo");
        using (var mk = Process.Start("mkfifo", fifo)) mk.WaitForExit();
        var ex = Refused(fifo);
        Assert.Equal(ImageSourceKind.Fifo, ex.Kind);
        Assert.Contains("named pipe", ex.Message);
        Assert.Throws<ImageSourceException>(() => DaxFsImageReader.Open(fifo));
    }

    [Fact]
    public void A_socket_is_refused()
    {
        string path = Path.Combine(_work, "sock");
        using var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        s.Bind(new UnixDomainSocketEndPoint(path));
        Assert.Equal(ImageSourceKind.Socket, Refused(path).Kind);
    }

    [Theory]
    [InlineData("/dev/null")]
    [InlineData("/dev/zero")]
    public void A_character_device_that_is_not_a_dax_device_is_refused(string path) =>
        Assert.Equal(ImageSourceKind.CharacterDevice, Refused(path).Kind);

    [Fact]
    public void A_directory_is_refused_as_a_directory_not_as_permission_denied()
    {
        var ex = Refused(_work);
        Assert.Equal(ImageSourceKind.Directory, ex.Kind);
        Assert.Contains("build an image from it", ex.Message);
    }

    [Fact]
    public void Image_files_and_symlinks_to_them_open_and_a_missing_path_is_not_found()
    {
        string image = TestPaths.Vector("basic.static.daxfs");
        string link = Path.Combine(_work, "link");
        File.CreateSymbolicLink(link, image);
        using (var m = MappedFileImageMemory.Open(link)) Assert.Equal(new FileInfo(image).Length, m.Length);
        using (var r = DaxFsImageReader.Open(image)) Assert.True(r.Base.InodeCount > 0);
        string empty = Path.Combine(_work, "empty");
        File.WriteAllBytes(empty, Array.Empty<byte>());
        using (var m = MappedFileImageMemory.Open(empty)) Assert.Equal(0, m.Length);
        Assert.Throws<FileNotFoundException>(() => MappedFileImageMemory.Open(Path.Combine(_work, "none")));
    }
}
