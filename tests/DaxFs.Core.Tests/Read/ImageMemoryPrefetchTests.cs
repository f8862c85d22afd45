using DaxFs.Core.Read;

namespace DaxFs.Core.Tests.Read;

/// <summary>
/// <see cref="ImageMemory.Prefetch"/> is a hint only: any offset, inside the window or not (the overlay view passes offsets
/// read from a possibly hostile pool), is accepted without an error and without changing what the window reads.
/// </summary>
public class ImageMemoryPrefetchTests
{
    [Fact]
    public void A_prefetch_at_any_offset_reads_and_changes_nothing()
    {
        byte[] bytes = Enumerable.Range(0, 4096).Select(i => (byte)i).ToArray();
        foreach (ImageMemory memory in new ImageMemory[] { new ByteImageMemory((byte[])bytes.Clone()), new ByteImageMemory([]) })
        {
            using (memory)
            {
                foreach (ulong offset in new ulong[] { 0, 1, 4095, 4096, 4097, long.MaxValue, ulong.MaxValue - 64, ulong.MaxValue })
                    memory.Prefetch(offset);
                if (memory.Length > 0) Assert.Equal(bytes, memory.Span(0, bytes.Length).ToArray());
            }
        }
    }

    [Fact]
    public void A_prefetch_of_a_mapped_file_past_its_end_does_not_fault()
    {
        string path = Path.GetTempFileName();
        try
        {
            File.WriteAllBytes(path, new byte[100]);
            using var memory = MappedFileImageMemory.Open(path);
            for (ulong offset = 0; offset < 3 * 4096; offset += 50) memory.Prefetch(offset);
            Assert.Equal(100, memory.Length);
        }
        finally { File.Delete(path); }
    }
}
