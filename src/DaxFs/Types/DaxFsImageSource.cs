namespace DaxFs;

/// <summary>
/// What an image parameter accepts: a path (string; an image file, a device node such as /dev/dax0.0 or /dev/pmem0, or
/// a daxfs mount point), a FileInfo, a DaxFsImage, a DaxFsItem, a DaxFsMount (the memory of that mount) or a DmaBuf.
/// PowerShell converts each of them through the matching constructor; the cmdlet resolves the path the PowerShell way.
/// </summary>
public sealed class DaxFsImageSource
{
    public DaxFsImageSource(string path) { Path = path; }
    public DaxFsImageSource(FileInfo file) { Path = file.FullName; IsLiteral = true; }
    public DaxFsImageSource(DaxFsImage image) { Path = image.Path; BackingFile = image.BackingFile; IsLiteral = true; }
    public DaxFsImageSource(DaxFsItem item) { Path = item.ImagePath; IsLiteral = true; }
    public DaxFsImageSource(DaxFsMount mount) { Path = mount.MountPoint; IsLiteral = true; }
    public DaxFsImageSource(DmaBuf buffer) { Path = buffer.ToString(); DmaBuf = buffer; IsLiteral = true; }

    public string Path { get; }
    public string? BackingFile { get; }
    /// <summary>The dma-buf whose memory holds the image, when one was given.</summary>
    public DmaBuf? DmaBuf { get; }
    /// <summary>True when the path is already a provider path (no wildcard expansion).</summary>
    public bool IsLiteral { get; }

    public override string ToString() => Path;
}
