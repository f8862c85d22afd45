namespace DaxFs;

/// <summary>
/// What an image parameter accepts: a path (string; an image file, a device node such as /dev/dax0.0 or /dev/pmem0, or
/// a daxfs mount point), a FileInfo, a DaxFsImage, a DaxFsItem, a DaxFsMount (the memory of that mount) or a DmaBuf.
/// PowerShell converts each of them through the matching constructor; the cmdlet resolves the path the PowerShell way.
/// </summary>
[System.ComponentModel.TypeConverter(typeof(DeserializedImageSourceConverter))]
public sealed class DaxFsImageSource
{
    public DaxFsImageSource(string path) { Path = path; }
    public DaxFsImageSource(FileInfo file) { Path = file.FullName; IsLiteral = true; }
    public DaxFsImageSource(DaxFsImage image) { Path = image.Path; BackingFile = image.BackingFile; IsLiteral = true; }
    public DaxFsImageSource(DaxFsItem item) { Path = item.ImagePath; IsLiteral = true; }
    public DaxFsImageSource(DaxFsMount mount) { Path = mount.MountPoint; IsLiteral = true; }
    public DaxFsImageSource(DmaBuf buffer) { Path = buffer.ToString(); DmaBuf = buffer; IsLiteral = true; }
    /// <summary>A path taken from a deserialized object (<see cref="DeserializedImageSourceConverter"/>): literal.</summary>
    internal DaxFsImageSource(string path, string? backingFile) { Path = path; BackingFile = backingFile; IsLiteral = true; }

    public string Path { get; }
    public string? BackingFile { get; }
    /// <summary>The dma-buf whose memory holds the image, when one was given.</summary>
    public DmaBuf? DmaBuf { get; }
    /// <summary>True when the path is already a provider path (no wildcard expansion).</summary>
    public bool IsLiteral { get; }

    public override string ToString() => Path;
}

/// <summary>
/// Converts the module's objects that came back over PowerShell remoting (Invoke-Command, PSSessions: property bags
/// with type names Deserialized.DaxFs.*) into an image source, as the live objects convert through the constructors:
/// a DaxFsImage by its Path (and BackingFile), a DaxFsItem, DaxFsBranch or DaxFsBranchChange by its ImagePath, a
/// DaxFsMount by its MountPoint. A deserialized DmaBuf has no descriptor left and is not converted.
/// </summary>
public sealed class DeserializedImageSourceConverter : System.Management.Automation.PSTypeConverter
{
    private static readonly (string Type, string Property)[] Known =
    {
        ("Deserialized.DaxFs.DaxFsImage", "Path"), ("Deserialized.DaxFs.DaxFsItem", "ImagePath"), ("Deserialized.DaxFs.DaxFsBranch", "ImagePath"),
        ("Deserialized.DaxFs.DaxFsBranchChange", "ImagePath"), ("Deserialized.DaxFs.DaxFsMount", "MountPoint"),
    };

    private static string? PathOf(System.Management.Automation.PSObject? value)
    {
        if (value is null) return null;
        foreach (var (type, property) in Known)
            if (value.TypeNames.Contains(type) && value.Properties[property]?.Value is string p && p.Length > 0) return p;
        return null;
    }

    public override bool CanConvertFrom(System.Management.Automation.PSObject sourceValue, Type destinationType) =>
        destinationType == typeof(DaxFsImageSource) && PathOf(sourceValue) is not null;

    public override object ConvertFrom(System.Management.Automation.PSObject sourceValue, Type destinationType, IFormatProvider formatProvider, bool ignoreCase)
    {
        string path = PathOf(sourceValue) ?? throw new InvalidCastException("Not a deserialized DaxFs object with a path.");
        return new DaxFsImageSource(path, sourceValue.Properties["BackingFile"]?.Value as string);
    }

    public override bool CanConvertFrom(object sourceValue, Type destinationType) =>
        CanConvertFrom(sourceValue as System.Management.Automation.PSObject ?? new System.Management.Automation.PSObject(sourceValue), destinationType);

    public override object ConvertFrom(object sourceValue, Type destinationType, IFormatProvider formatProvider, bool ignoreCase) =>
        ConvertFrom(sourceValue as System.Management.Automation.PSObject ?? new System.Management.Automation.PSObject(sourceValue), destinationType, formatProvider, ignoreCase);

    public override bool CanConvertTo(object sourceValue, Type destinationType) => false;

    public override object ConvertTo(object sourceValue, Type destinationType, IFormatProvider formatProvider, bool ignoreCase) =>
        throw new InvalidCastException();
}
