using System.Formats.Tar;
using Microsoft.Win32.SafeHandles;

namespace DaxFs.Core.Build;

/// <summary>One member's header as the tree needs it (from <see cref="TarEntry"/>, or from <see cref="TarHeaderScanner"/>).</summary>
internal readonly record struct TarMember(string Name, TarEntryType EntryType, string LinkName, int Mode, int Uid, int Gid, long Length)
{
    public static TarMember Of(TarEntry e) => new(e.Name, e.EntryType, e.LinkName, (int)e.Mode, e.Uid, e.Gid, e.Length);
}

/// <summary>
/// Reads the member headers of an uncompressed tarball file in place, for the common case only: GNU and ustar headers
/// (with GNU long names and link names), names of printable ASCII, octal numbers, a right checksum, the end-of-archive
/// block. Anything else (PAX headers, a ustar name prefix, other bytes in a name, base-256 numbers, an unknown type, a
/// bad checksum, a member past the end of the file) makes it give up, and System.Formats.Tar reads the archive instead,
/// with its own errors: what this scanner accepts it reads as System.Formats.Tar does, and it never refuses anything.
/// It reads the headers alone (file data is skipped) through one buffer, with no object per member but its strings:
/// about ten times faster than the tar reader over a stream for a tarball of small files.
/// </summary>
internal static class TarHeaderScanner
{
    private const int Block = 512;
    private const int Window = 64 * 1024; // the headers between large members; a large member is skipped, not read
    /// <summary>The longest GNU long name or link name read here (longer ones are left to System.Formats.Tar).</summary>
    private const int MaxLongName = 16 * 1024;

    // The header's fields (POSIX ustar; GNU keeps atime and ctime where ustar has the name prefix): offset and length.
    private static readonly (int At, int Length) Name = (0, 100), Mode = (100, 8), Uid = (108, 8), Gid = (116, 8), Size = (124, 12),
        Mtime = (136, 12), Checksum = (148, 8), TypeFlag = (156, 1), LinkName = (157, 100), MagicAndVersion = (257, 8),
        DevMajor = (329, 8), DevMinor = (337, 8), Prefix = (345, 155), GnuAtime = (345, 12), GnuCtime = (357, 12);

    private static ReadOnlySpan<byte> Field(ReadOnlySpan<byte> header, (int At, int Length) field) => header.Slice(field.At, field.Length);

    /// <summary>The members, each with where its data starts in the file; null to leave the archive to System.Formats.Tar.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public static List<(TarMember Member, long DataStart)>? TryScan(SafeFileHandle file, long length, CancellationToken ct)
    {
        var buffer = new byte[Window];
        long windowStart = 0;
        int windowLength = 0;
        var members = new List<(TarMember, long)>();
        string? longName = null, longLink = null;
        long pos = 0;
        while (true)
        {
            if ((members.Count & 1023) == 0) ct.ThrowIfCancellationRequested();
            if (!Load(pos, Block)) return null; // the archive stops without its end block: the tar reader says how
            var h = buffer.AsSpan((int)(pos - windowStart), Block);
            if (h.IndexOfAnyExcept((byte)0) < 0) return longName is null && longLink is null ? members : null;
            if (!ChecksumIsRight(h)) return null;
            bool gnu;
            if (Field(h, MagicAndVersion).SequenceEqual("ustar  \0"u8)) gnu = true;
            else if (Field(h, MagicAndVersion).SequenceEqual("ustar\000"u8) && h[Prefix.At] == 0) gnu = false; // ustar without a name prefix
            else return null;
            if (!Octal(Field(h, Size), out long size) || !Octal(Field(h, Mode), out long mode) || !Octal(Field(h, Uid), out long uid)
                || !Octal(Field(h, Gid), out long gid) || !Octal(Field(h, Mtime), out _) || !Octal(Field(h, DevMajor), out _) || !Octal(Field(h, DevMinor), out _))
                return null;
            if (gnu && (!Octal(Field(h, GnuAtime), out _) || !Octal(Field(h, GnuCtime), out _))) return null;
            if (uid > int.MaxValue || gid > int.MaxValue || mode > int.MaxValue) return null;
            byte flag = h[TypeFlag.At];
            long dataStart = pos + Block;
            if (dataStart + size > length) return null;
            long next = dataStart + ((size + Block - 1) & ~(long)(Block - 1));
            if (flag is (byte)'L' or (byte)'K')
            {
                if (!gnu || size == 0 || size > MaxLongName || (flag == 'L' ? longName : longLink) is not null) return null;
                if (!Load(dataStart, (int)size)) return null;
                string? s = Text(buffer.AsSpan((int)(dataStart - windowStart), (int)size));
                if (s is null) return null;
                if (flag == 'L') longName = s; else longLink = s;
                pos = next;
                continue;
            }
            TarEntryType type;
            switch (flag)
            {
                case (byte)'0': type = TarEntryType.RegularFile; break;
                case 0: type = TarEntryType.V7RegularFile; break;
                case (byte)'1': type = TarEntryType.HardLink; break;
                case (byte)'2': type = TarEntryType.SymbolicLink; break;
                case (byte)'3': type = TarEntryType.CharacterDevice; break;
                case (byte)'4': type = TarEntryType.BlockDevice; break;
                case (byte)'5': type = TarEntryType.Directory; break;
                case (byte)'6': type = TarEntryType.Fifo; break;
                case (byte)'7': type = TarEntryType.ContiguousFile; break;
                default: return null;
            }
            if (size != 0 && type is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile)) return null; // the tar reader refuses data there
            string? name = longName ?? Text(Field(h, Name));
            string? link = longLink ?? Text(Field(h, LinkName));
            if (name is null || link is null || name.Length == 0) return null;
            members.Add((new TarMember(name, type, link, (int)mode, (int)uid, (int)gid, size), dataStart));
            longName = longLink = null;
            pos = next;
        }

        // Makes [at, at + count) part of the window; false when the file ends first.
        bool Load(long at, int count)
        {
            if (at + count > length) return false;
            if (at >= windowStart && at + count <= windowStart + windowLength) return true;
            windowStart = at;
            windowLength = (int)Math.Min(Window, length - at);
            int got = 0;
            while (got < windowLength)
            {
                int n = RandomAccess.Read(file, buffer.AsSpan(got, windowLength - got), at + got);
                if (n == 0) { windowLength = got; break; }
                got += n;
            }
            return count <= windowLength;
        }
    }

    /// <summary>The header's checksum field (octal) against the sum of its bytes, the field counted as spaces.</summary>
    private static bool ChecksumIsRight(ReadOnlySpan<byte> h)
    {
        if (!Octal(Field(h, Checksum), out long recorded)) return false;
        long sum = Checksum.Length * ' ';
        for (int i = 0; i < Checksum.At; i++) sum += h[i];
        for (int i = Checksum.At + Checksum.Length; i < Block; i++) sum += h[i];
        return sum == recorded;
    }

    /// <summary>An octal field: digits, then only NULs and spaces (an empty field is 0). Anything else (leading spaces,
    /// base-256, other characters) is false.</summary>
    private static bool Octal(ReadOnlySpan<byte> field, out long value)
    {
        value = 0;
        int i = 0;
        for (; i < field.Length && field[i] is >= (byte)'0' and <= (byte)'7'; i++)
        {
            if (value > (long.MaxValue >> 3)) return false;
            value = value * 8 + (field[i] - '0');
        }
        for (; i < field.Length; i++)
            if (field[i] is not (0 or (byte)' ')) return false;
        return true;
    }

    /// <summary>A name field: printable ASCII up to the first NUL (or the field's end), NULs after it; else null. A name that
    /// ends in a space is left to the tar reader too.</summary>
    private static string? Text(ReadOnlySpan<byte> field)
    {
        int end = field.IndexOf((byte)0);
        if (end < 0) end = field.Length;
        else if (field[end..].IndexOfAnyExcept((byte)0) >= 0) return null;
        var text = field[..end];
        if (text.IndexOfAnyExceptInRange((byte)0x20, (byte)0x7E) >= 0 || (!text.IsEmpty && text[^1] == ' ')) return null;
        return System.Text.Encoding.ASCII.GetString(text);
    }
}
