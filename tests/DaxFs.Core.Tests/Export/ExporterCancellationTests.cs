using DaxFs.Core.Export;
using DaxFs.Core.Read;

namespace DaxFs.Core.Tests.Export;

/// <summary>
/// An export stopped (Ctrl+C, SIGTERM, SIGHUP: all cancel the token) while a file is being written leaves no part of that
/// file under its name; the files finished before it stay.
/// </summary>
public sealed class ExporterCancellationTests : IDisposable
{
    private readonly string _work = Directory.CreateTempSubdirectory("daxfs-export-").FullName;
    public void Dispose() => Directory.Delete(_work, recursive: true);

    /// <summary>The image's tree, with content streams that cancel the token once a file's first chunk was read.</summary>
    private sealed class CancelInside(DaxFsImageReader reader, CancellationTokenSource cts, string cancelIn) : IImageTree
    {
        public DaxFsImageReader Reader => reader;
        public string? BranchName => null;
        public bool TryLookup(string path, out ulong ino) => ((IImageTree)reader).TryLookup(path, out ino);
        public ImageItem? GetItem(string path) => ((IImageTree)reader).GetItem(path);
        public ImageItem? GetItem(byte[] path) => ((IImageTree)reader).GetItem(path);
        public IEnumerable<ImageItem> ListDirectory(ulong dirIno, string dirPath, int depth) => ((IImageTree)reader).ListDirectory(dirIno, dirPath, depth);
        public IEnumerable<ImageItem> Walk(string path = "/", bool recurse = true, int depth = int.MaxValue, CancellationToken cancellationToken = default) =>
            ((IImageTree)reader).Walk(path, recurse, depth, cancellationToken);
        public byte[] ReadSymlinkTarget(ulong ino) => ((IImageTree)reader).ReadSymlinkTarget(ino);
        public Stream OpenContent(ulong ino)
        {
            var inner = ((IImageTree)reader).OpenContent(ino);
            return ((IImageTree)reader).TryLookup(cancelIn, out ulong target) && target == ino ? new CancelAfterFirstRead(inner, cts) : inner;
        }
    }

    private sealed class CancelAfterFirstRead(Stream inner, CancellationTokenSource cts) : Stream
    {
        public override int Read(byte[] buffer, int offset, int count) { int n = inner.Read(buffer, offset, count); cts.Cancel(); return n; }
        public override int Read(Span<byte> buffer) { int n = inner.Read(buffer); cts.Cancel(); return n; }
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => inner.Length;
        public override long Position { get => inner.Position; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        protected override void Dispose(bool disposing) { if (disposing) inner.Dispose(); base.Dispose(disposing); }
    }

    [Fact]
    public void A_file_cut_short_by_cancellation_is_removed_and_the_finished_ones_stay()
    {
        // big: /one-mib-plus-one.bin (1 MiB + 1: two chunks) then /three-mib.bin (three chunks), in name order.
        using var reader = DaxFsImageReader.Open(TestPaths.Vector("big.static.daxfs"));
        using var cts = new CancellationTokenSource();
        string dest = Path.Combine(_work, "out");
        var done = new List<ExportedItem>();
        Assert.ThrowsAny<OperationCanceledException>(() =>
        {
            foreach (var item in new ImageExporter(new CancelInside(reader, cts, "/three-mib.bin")).Export("/", dest, null, cts.Token)) done.Add(item);
        });
        Assert.False(File.Exists(Path.Combine(dest, "three-mib.bin")), "the file being written when the export stopped is left behind");
        Assert.Equal(1048577, new FileInfo(Path.Combine(dest, "one-mib-plus-one.bin")).Length);
        Assert.Contains(done, i => i.ImagePath == "/one-mib-plus-one.bin");
    }
}
