using System.IO.Compression;
using System.Text;
using System.Text.Unicode;
using DaxFs.Core.Format;
using DaxFs.Core.Overlay;
using DaxFs.Core.Read;
using DaxFs.TreeTools;

namespace DaxFs.Core.Tests.Overlay;

/// <summary>
/// A format-8 split image of the generated tree mixed-5505 (names of random bytes, most not UTF-8) after the v8 kernel
/// wrote through a mount (the v8 boot's Invoke-V8Writes: new files, directories and symlinks, a write across pages,
/// renames, a truncate, chmod and chown, names made and removed), and a fresh mount's listing of it with every name and
/// target escaped byte for byte (tests/fixtures/overlay/README.md). The real-kernel suite once reported this image's
/// offline view as missing entries: it was the test's listing (U+FFFD names against escaped ones), and this pins what the
/// engine reads: every entry, with its raw name.
/// </summary>
public class OverlayRawNameTests
{
    private static string Fixture(string name) => Path.Combine(TestPaths.RepoRoot, "tests", "fixtures", "overlay", name);

    private static byte[] Gunzip(string name)
    {
        using var gz = new GZipStream(File.OpenRead(Fixture(name)), CompressionMode.Decompress);
        using var ms = new MemoryStream();
        gz.CopyTo(ms);
        return ms.ToArray();
    }

    [Fact]
    public void Every_entry_lists_with_its_raw_name_as_the_kernel_listed_it()
    {
        // No backing file: names and attributes only (the content is the real-kernel suite's).
        using var reader = DaxFsImageReader.Open(new ByteImageMemory(Gunzip("mixed-5505-after-writes.daxfs.gz")));
        var view = OverlayView.Open(reader);
        var offline = view.Walk("/").Select(i =>
        {
            char type = i.Type switch { DaxFsItemType.Directory => 'd', DaxFsItemType.SymbolicLink => 'l', _ => 'f' };
            string target = i.TargetBytes is null ? "" : Names.Escape(i.TargetBytes);
            return $"{type}|{Convert.ToString(i.Inode.Mode & 0xFFF, 8)}|{i.Inode.Uid}|{i.Inode.Gid}|{i.Inode.Size}|{i.Inode.Nlink}|{target}|{Names.Escape(i.FullNameBytes)}";
        }).Order(StringComparer.Ordinal).ToList();
        var kernel = Encoding.UTF8.GetString(Gunzip("mixed-5505-after-writes.kernel-view.txt.gz"))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal).ToList();

        Assert.Equal(kernel.Count, offline.Count);
        Assert.Equal(kernel, offline);
        // What makes the image worth its bytes: names that are not UTF-8, overlay entries, a removed base file.
        Assert.True(view.Walk("/").Count(i => !Utf8.IsValid(i.FullNameBytes)) > 100);
        Assert.Contains(offline, l => l.EndsWith("|/v8new/f1-renamed.txt", StringComparison.Ordinal));
        Assert.True(OverlayState.Of(view).Tombstones > 0);
    }
}
