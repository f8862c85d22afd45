using System.Text;
using DaxFs.Bench;
using DaxFs.Core.Build;
using DaxFs.Core.Format;
using DaxFs.Core.Format.V8;
using DaxFs.Core.Overlay;
using DaxFs.Core.Read;

namespace DaxFs.Core.Tests.Overlay;

/// <summary>
/// The bench's offline overlay writer (bench/DaxFs.Bench/KernelOverlayWriter.cs, which makes the 100,000-entry overlay of
/// build.ps1 Bench) writes what the format-8 module writes: the operations of ops-empty.sh and ops-split.sh replayed on the
/// images the kernel started from give the kernel-written overlays byte for byte (header, every bucket, the whole pool).
/// </summary>
public class KernelOverlayWriterTests
{
    private static byte[] B(string s) => Encoding.UTF8.GetBytes(s);

    private static byte[] Content(IImageTree view, string path)
    {
        using var s = view.OpenContent(view.GetItem(path)!.Ino);
        using var m = new MemoryStream();
        s.CopyTo(m);
        return m.ToArray();
    }

    /// <summary>The overlay region of an image: header block, buckets, pool.</summary>
    private static byte[] OverlayRegion(byte[] image)
    {
        var sb = SuperblockV8.Read(image);
        return image.AsSpan((int)sb.OverlayOffset, (int)sb.OverlaySize).ToArray();
    }

    private static void AssertSameOverlay(byte[] kernel, byte[] ours)
    {
        byte[] k = OverlayRegion(kernel), o = OverlayRegion(ours);
        Assert.Equal(k.Length, o.Length);
        int at = k.AsSpan().CommonPrefixLength(o);
        Assert.True(at == k.Length, $"the overlays differ first at overlay offset 0x{at:x}");
    }

    [Fact]
    public void Ops_empty_replayed_on_a_fresh_overlay_only_image_give_the_kernel_written_image()
    {
        string dir = Path.Combine(Path.GetTempPath(), "daxfs-kow-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            string img = Path.Combine(dir, "empty.daxfs");
            new ImageBuilder(new ImageBuildOptions
            {
                Destination = img, Format = DaxFsFormat.Format8, Mode = DaxFsImageMode.OverlayOnly, BlockSize = 4096,
                OverlayPoolSize = 2 << 20, OverlayBuckets = 1024,
            }).Build();
            byte[] image = File.ReadAllBytes(img);
            byte[] kernel = File.ReadAllBytes(OverlayVectorTests.Ovl("overlay-only-after-writes.daxfs"));
            byte[] big, shrunk;
            using (var kr = DaxFsImageReader.Open(new ByteImageMemory(kernel)))
            {
                var kv = OverlayView.Open(kr);
                big = Content(kv, "/sub-moved/big.bin");
                shrunk = [.. Content(kv, "/sub-moved/shrunk-moved.bin"), .. new byte[7000].Select((_, i) => (byte)(i * 7 + 1))];
            }
            var w = new KernelOverlayWriter(image);
            ulong docs = w.Mkdir(1, B("docs"));                                          // op1
            ulong sub = w.Mkdir(docs, B("sub"));                                          // op2
            ulong a = w.Create(1, B("a.txt")); w.Write(a, 0, B("first version\n"));       // op3
            ulong readme = w.Create(docs, B("readme.txt"));                               // op4
            w.Write(readme, 0, B("hello world, this is the overlay-only image\n"));
            w.Write(readme, 6, B("WORLD"));                                               // op5
            w.Write(a, 14, B("appended line\n"));                                         // op6
            ulong bigIno = w.Create(sub, B("big.bin")); w.Write(bigIno, 0, big);          // op7
            w.Write(bigIno, 8188, B("ABCDEFGH"));                                         // op8
            ulong sh = w.Create(1, B("shrunk.bin")); w.Write(sh, 0, shrunk);              // op9
            w.SetAttr(sh, size: 5000);                                                    // op10
            w.SetAttr(a, perm: 0x180);                                                    // op11 chmod 0600
            w.SetAttr(docs, perm: 0x1E8);                                                 // op12 chmod 0750 of a directory: not stored
            w.SetAttr(readme, uid: 1000, gid: 1000);                                      // op13
            w.Mkdir(1, B("rmme")); w.Remove(1, B("rmme"));                                // op14
            ulong gone = w.Create(1, B("gone.txt")); w.Write(gone, 0, B("short-lived\n")); w.Remove(1, B("gone.txt")); // op15
            w.Symlink(1, B("link-readme"), B("docs/readme.txt"));                         // op16
            w.Symlink(docs, B("abs-link"), B("/etc/hostname"));                           // op17
            ulong old = w.Create(1, B("old-name")); w.Write(old, 0, B("renamed\n"));      // op18
            w.Rename(1, B("old-name"), 1, B("new-name"), old, w.OverlayMode(old)!.Value);
            w.Rename(1, B("shrunk.bin"), sub, B("shrunk-moved.bin"), sh, w.OverlayMode(sh)!.Value); // op19
            w.Rename(docs, B("sub"), 1, B("sub-moved"), sub, w.OverlayMode(sub)!.Value);  // op20

            Assert.Equal(91024UL, w.Header.PoolAlloc);
            Assert.Equal(13UL, w.Header.NextIno);
            AssertSameOverlay(kernel, image);
            Assert.True(kernel.AsSpan().SequenceEqual(image), $"the images differ first at 0x{kernel.AsSpan().CommonPrefixLength(image):x}");
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void Ops_split_replayed_on_the_base_give_the_kernel_written_overlay()
    {
        byte[] kernel = File.ReadAllBytes(OverlayVectorTests.Ovl("overlay-after-writes.daxfs"));
        string backing = OverlayVectorTests.Ovl("overlay-after-writes.backing");
        // The image mkdaxfs made: the same superblock and base, a new overlay (empty: RegionsV8.NewOverlay, as the writer
        // writes it); the page cache is left as it is (the kernel filled slots on reads; not part of the comparison).
        byte[] image = (byte[])kernel.Clone();
        var sb = SuperblockV8.Read(image);
        image.AsSpan((int)sb.OverlayOffset, (int)sb.OverlaySize).Clear();
        var kh = OverlayHeader.Read(kernel.AsSpan((int)sb.OverlayOffset));
        RegionsV8.NewOverlay(sb.OverlayBucketCount, (long)kh.PoolSize, sb.BlockSize, sb.InodeCount + 1UL)
            .Write(image.AsSpan((int)sb.OverlayOffset, OverlayHeader.RecordSize));

        using var baseReader = DaxFsImageReader.Open(new ByteImageMemory((byte[])image.Clone()), backing);
        ulong Ino(string path) => baseReader.TryLookup(path, out uint i) ? i : throw new FileNotFoundException(path);
        BaseInode? BaseInodeOf(ulong ino) => baseReader.IsBaseInode(ino) ? baseReader.GetInode((uint)ino) : null;
        byte[]? BasePage(ulong ino, ulong page)
        {
            if (!baseReader.IsBaseInode(ino)) return null;
            var b = baseReader.GetInode((uint)ino);
            if (ModeBits.TypeOf(b.Mode) != DaxFsItemType.File || page * 4096 >= b.Size) return null;
            using var s = baseReader.OpenContent(ino);
            s.Position = (long)page * 4096;
            var buf = new byte[Math.Min(4096, (long)b.Size - s.Position)];
            s.ReadExactly(buf);
            return buf;
        }
        byte[] big, shrunk;
        using (var kr = DaxFsImageReader.Open(new ByteImageMemory(kernel), backing))
        {
            var kv = OverlayView.Open(kr);
            big = Content(kv, "/newdir/big.bin")[..20000];
            shrunk = [.. Content(kv, "/a/shrunk-moved.bin"), .. new byte[7000].Select((_, i) => (byte)(i * 7 + 1))];
        }
        ulong a = Ino("/a"), ab = Ino("/a/b");
        var w = new KernelOverlayWriter(image, BaseInodeOf, BasePage);
        ulong nt = w.Create(1, B("new.txt")); w.Write(nt, 0, B("created in the overlay\n"));   // op1
        w.Write(Ino("/exact4096"), 100, B("XYZ"));                                             // op2
        w.Write(Ino("/a/five000"), 4092, B("ABCDEFGH"));                                       // op3
        w.Write(Ino("/a/b/c/hello.txt"), 13, B("appended line\n"));                            // op4 (its size is not stored)
        w.SetAttr(Ino("/private"), size: 3);                                                   // op5
        w.SetAttr(Ino("/one"), perm: 0x180);                                                   // op6
        w.SetAttr(a, perm: 0x1E9);                                                             // op7 (a directory: not stored)
        w.SetAttr(Ino("/owned"), uid: 1000, gid: 1000);                                        // op8
        ulong newdir = w.Mkdir(1, B("newdir"));                                                // op9
        w.Mkdir(ab, B("newsub"));                                                              // op10
        ulong bigIno = w.Create(newdir, B("big.bin")); w.Write(bigIno, 0, big);                // op11
        ulong sh = w.Create(newdir, B("shrunk.bin")); w.Write(sh, 0, shrunk);                  // op12
        w.SetAttr(sh, size: 5000);                                                             // op13
        w.Write(bigIno, 20000, B("more\n"));                                                   // op14
        w.SetAttr(nt, uid: 4321, gid: 8765);                                                   // op15
        w.SetAttr(nt, perm: 0x1A0);                                                            // op16
        w.Remove(1, B("emptydir"));                                                            // op17
        w.Mkdir(1, B("tmpdir")); w.Remove(1, B("tmpdir"));                                     // op18
        w.Remove(1, B("suid"));                                                                // op19
        ulong gone = w.Create(1, B("gone.txt")); w.Write(gone, 0, B("short-lived\n")); w.Remove(1, B("gone.txt")); // op20
        w.Symlink(newdir, B("link-to-five000"), B("../a/five000"));                            // op21
        w.Symlink(a, B("abs2"), B("/etc/hostname"));                                           // op22
        ulong utf8 = Ino("/päivää-日本");
        w.Rename(1, B("päivää-日本"), 1, B("renamed-utf8"), utf8, baseReader.GetInode((uint)utf8).Mode); // op23
        w.Rename(1, B("new.txt"), 1, B("new-renamed.txt"), nt, w.OverlayMode(nt)!.Value);      // op24
        ulong hard1 = Ino("/hard1");
        w.Rename(1, B("hard1"), ab, B("hard1-moved"), hard1, baseReader.GetInode((uint)hard1).Mode); // op25
        ulong c = Ino("/a/b/c");
        w.Rename(ab, B("c"), newdir, B("c-moved"), c, baseReader.GetInode((uint)c).Mode);      // op26
        w.Rename(newdir, B("shrunk.bin"), a, B("shrunk-moved.bin"), sh, w.OverlayMode(sh)!.Value); // op27

        Assert.Equal(92864UL, w.Header.PoolAlloc);
        Assert.Equal(29UL, w.Header.NextIno);
        AssertSameOverlay(kernel, image);
    }
}
