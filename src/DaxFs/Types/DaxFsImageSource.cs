namespace DaxFs;

/// <summary>
/// What an image parameter accepts: a path (string), a FileInfo, or a DaxFsImage. PowerShell converts each of
/// them through the matching constructor; the cmdlet resolves the path the PowerShell way.
/// </summary>
public sealed class DaxFsImageSource
{
    public DaxFsImageSource(string path) { Path = path; }
    public DaxFsImageSource(FileInfo file) { Path = file.FullName; IsLiteral = true; }
    public DaxFsImageSource(DaxFsImage image) { Path = image.Path; BackingFile = image.BackingFile; IsLiteral = true; }
    public DaxFsImageSource(DaxFsItem item) { Path = item.ImagePath; IsLiteral = true; }

    public string Path { get; }
    public string? BackingFile { get; }
    /// <summary>True when the path is already a provider path (no wildcard expansion).</summary>
    public bool IsLiteral { get; }

    public override string ToString() => Path;
}
