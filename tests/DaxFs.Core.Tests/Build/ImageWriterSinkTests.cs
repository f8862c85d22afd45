using DaxFs.Core.Build;
using DaxFs.Core.Linux;
using Microsoft.Win32.SafeHandles;

namespace DaxFs.Core.Tests.Build;

/// <summary>
/// The writer's buffer, written with direct I/O or through the page cache: every pattern the builder uses (objects on
/// block boundaries, each owning its padding, written with Write, Reserve, CopyFrom at a source offset and WriteFrom; a
/// Seek over padding, a Skip past objects written by another writer, a jump back, objects across the 1 MiB buffer's end)
/// gives the file a model of it says, and a direct sink stays direct throughout (no write off a boundary).
/// </summary>
public sealed class ImageWriterSinkTests : IDisposable
{
    private readonly TestTrees _trees = new();
    public void Dispose() => _trees.Dispose();

    [Theory]
    [InlineData(true, 1)]
    [InlineData(false, 1)]
    [InlineData(true, 2)]
    [InlineData(true, 3)]
    public void EveryWritePatternGivesTheModelsBytes(bool direct, int seed)
    {
        const int B = 4096;
        var rng = new Random(seed);
        string dir = _trees.NewFolder("sink-" + Guid.NewGuid().ToString("n")[..8]);
        // A source file to copy from at offsets (as from a tarball's members) and the objects: (offset, bytes).
        var source = new byte[6 << 20];
        rng.NextBytes(source);
        string sourcePath = Path.Combine(dir, "source");
        File.WriteAllBytes(sourcePath, source);
        var objects = new List<(long Offset, int Length)>();
        long at = B;
        for (int i = 0; i < 400; i++)
        {
            int length = rng.Next(10) switch { 0 => rng.Next(B, 3 * B), 1 => rng.Next(300_000, 1_500_000), 2 => 272 * rng.Next(1, 5000), _ => rng.Next(1, 3000) };
            objects.Add((at, length));
            at += (length + B - 1) / B * B;
        }
        long total = at + B;
        var model = new byte[total];
        string path = Path.Combine(dir, "image");
        using (var fs = new FileStream(path, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.ReadWrite, PreallocationSize = total }))
        {
            fs.SetLength(total);
            int srcFd = Syscalls.OpenAt(Syscalls.AT_FDCWD, System.Text.Encoding.UTF8.GetBytes(sourcePath), Syscalls.O_RDONLY);
            Assert.True(srcFd >= 0);
            try
            {
                // Two writers, as two threads: the first writes the odd objects front to back (skipping the even ones), the
                // second the even ones, back to front in runs (a jump back before each run).
                using (var odd = new ImageWriterSink(fs.SafeFileHandle, direct))
                {
                    bool startedDirect = odd.Direct;
                    odd.SeekAbsolute(0);
                    odd.Reserve(B).Fill(0xAB);
                    model.AsSpan(0, B).Fill(0xAB);
                    for (int i = 1; i < objects.Count; i += 2) WriteObject(odd, i, skip: rng.Next(2) == 0);
                    odd.Finish();
                    Assert.Equal(startedDirect, odd.Direct);
                }
                using (var even = new ImageWriterSink(fs.SafeFileHandle, direct))
                {
                    bool startedDirect = even.Direct;
                    for (int run = objects.Count / 2 - 1; run >= 0; run -= 25)
                    {
                        int first = Math.Max(0, run - 24) * 2;
                        even.SeekAbsolute(objects[first].Offset);
                        for (int i = first; i <= run * 2; i += 2) WriteObject(even, i, skip: true);
                    }
                    even.Finish();
                    Assert.Equal(startedDirect, even.Direct);
                }
            }
            finally { Syscalls.close(srcFd); }

            void WriteObject(ImageWriterSink sink, int i, bool skip)
            {
                var (offset, length) = objects[i];
                if (sink.Position != offset)
                {
                    // Over the previous object's padding within a block: zeros through the buffer; past other objects: a skip.
                    if (!skip && offset - sink.Position < B) sink.Seek(offset);
                    else sink.Skip(offset);
                }
                var dest = model.AsSpan((int)offset, length);
                switch (rng.Next(4))
                {
                    case 0:
                        var data = new byte[length];
                        rng.NextBytes(data);
                        sink.Write(data);
                        data.CopyTo(dest);
                        break;
                    case 1:
                        for (int done = 0; done < length;)
                        {
                            int n = Math.Min(272, length - done);
                            var s = sink.Reserve(n);
                            for (int k = 0; k < n; k++) s[k] = (byte)(i + k);
                            s.CopyTo(dest[done..]);
                            done += n;
                        }
                        break;
                    case 2:
                        long from = rng.Next(0, source.Length - length);
                        Assert.True(sink.CopyFrom(srcFd, from, length, _ => { }, CancellationToken.None));
                        source.AsSpan((int)from, length).CopyTo(dest);
                        break;
                    default:
                        int start = rng.Next(0, source.Length - length);
                        var stream = new MemoryStream(source, start, length);
                        for (int left = length; left > 0;) left -= sink.WriteFrom(stream, left);
                        source.AsSpan(start, length).CopyTo(dest);
                        break;
                }
            }
        }
        var written = File.ReadAllBytes(path);
        int diff = model.AsSpan().CommonPrefixLength(written);
        Assert.True(diff == model.Length, $"first difference at 0x{diff:x}");
    }
}
