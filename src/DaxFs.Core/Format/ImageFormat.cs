using DaxFs.Core.Format.V8;
namespace DaxFs.Core.Format;

/// <summary>The on-disk generations DaxFs reads. Both share the superblock magic; the version field at offset 4 tells them apart.</summary>
public enum DaxFsFormat
{
    /// <summary>Not a DAXFS image, or a version DaxFs does not know.</summary>
    Unknown = 0,
    /// <summary>Format 5: base image with its own header, branches with delta logs, page cache v1.</summary>
    Format5 = 5,
    /// <summary>Format 8: base without header, the shared hash overlay, page cache v2.</summary>
    Format8 = 8,
}

/// <summary>Which generation an image is, from its first 8 bytes.</summary>
public static class ImageFormat
{
    /// <summary>The generation of the image whose first bytes are <paramref name="head"/> (at least 8 bytes, else Unknown).</summary>
    public static DaxFsFormat Detect(ReadOnlySpan<byte> head)
    {
        if (head.Length < 8 || Superblock.U32(head, Superblock.Offsets.Magic) != DaxFsConstants.SuperMagic) return DaxFsFormat.Unknown;
        return Superblock.U32(head, Superblock.Offsets.Version) switch
        {
            DaxFsConstants.Version => DaxFsFormat.Format5,
            DaxFsV8Constants.Version => DaxFsFormat.Format8,
            _ => DaxFsFormat.Unknown,
        };
    }
}
