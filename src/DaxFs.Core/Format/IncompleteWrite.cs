using System.Buffers.Binary;
using System.Text;

namespace DaxFs.Core.Format;

/// <summary>
/// DaxFs's own "write in progress" header (not a kernel structure): what Write-DaxFsImage puts in block 0 of the target
/// before it writes an image's body, in place of the superblock it replaces. The kernel refuses it (its magic is not the
/// superblock magic), and <see cref="RuleIds.IncompleteWrite"/> names it, so a target whose write was cut short (SIGKILL,
/// power loss, a host reset) is recognised as such and never mounts.
/// </summary>
/// <remarks>
/// Layout of block 0 while a write is in progress: bytes 0–7 are the ASCII text <c>DAXFSWIP</c>, written with one aligned
/// 8-byte store (power-fail atomic on x86-64 and arm64: either all eight bytes or none reach the memory); after it a
/// line of UTF-8 text (who wrote, when, how many bytes), NUL-padded to the end of the block. Only the first eight bytes
/// identify the header: the writer replaces the rest with the new superblock before it stores the superblock's first eight
/// bytes (magic and version) last.
/// </remarks>
public static class IncompleteWrite
{
    /// <summary>"DAXFSWIP" as a little-endian u64 (the bytes 44 41 58 46 53 57 49 50 in memory order).</summary>
    public const ulong Marker = 0x5049575346584144;

    /// <summary>Bytes of the identifying marker at offset 0.</summary>
    public const int MarkerLength = 8;

    /// <summary>Puts the marker's <see cref="MarkerLength"/> bytes (little-endian <see cref="Marker"/>) into <paramref name="destination"/>.</summary>
    public static void WriteMarker(Span<byte> destination) =>
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(destination, Marker);

    /// <summary>True when <paramref name="block"/> (the first bytes of a target) starts with the marker.</summary>
    public static bool IsMarked(ReadOnlySpan<byte> block) =>
        block.Length >= MarkerLength && BinaryPrimitives.ReadUInt64LittleEndian(block) == Marker;

    /// <summary>The text after the marker (printable ASCII up to the first NUL, at most 240 characters), or null when the
    /// block is not marked or the text is gone (the new superblock's fields are being written over it).</summary>
    public static string? Describe(ReadOnlySpan<byte> block)
    {
        if (!IsMarked(block)) return null;
        var rest = block[MarkerLength..];
        int end = rest.IndexOf((byte)0);
        if (end <= 0 || end > 240) return null;
        foreach (byte b in rest[..end])
            if (b < 0x20 || b > 0x7e) return null;
        return Encoding.ASCII.GetString(rest[..end]);
    }

    /// <summary>The bytes that follow the marker in block 0 (the text, then NULs), <paramref name="length"/> − 8 bytes.</summary>
    public static byte[] Body(int length, string writer, long imageBytes, DateTimeOffset started)
    {
        if (length < MarkerLength) return Array.Empty<byte>();
        var body = new byte[length - MarkerLength];
        string text = $" write in progress: {imageBytes} bytes by {Sanitize(writer)}, pid {Environment.ProcessId}, started {started.UtcDateTime:yyyy-MM-ddTHH:mm:ssZ}";
        int room = Math.Min(239, body.Length - 1); // a NUL stays after the text
        if (room > 0) Encoding.ASCII.GetBytes(text.Length > room ? text[..room] : text, body);
        return body;
    }

    private static string Sanitize(string s)
    {
        var sb = new StringBuilder(s.Length);
        foreach (char c in s) sb.Append(c is >= ' ' and <= '~' ? c : '?');
        return sb.ToString();
    }
}
