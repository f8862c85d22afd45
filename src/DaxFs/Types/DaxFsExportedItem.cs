using DaxFs.Core.Export;

namespace DaxFs;

/// <summary>One thing Export-DaxFsItem -PassThru wrote under the destination.</summary>
public sealed class DaxFsExportedItem
{
    /// <summary>The entry's path inside the image.</summary>
    public string ImagePath { get; init; } = string.Empty;
    /// <summary>Where it was written.</summary>
    public string Destination { get; init; } = string.Empty;
    /// <summary>File, Directory or SymbolicLink (a name, so that ConvertTo-Json writes it readably).</summary>
    public string Type { get; init; } = string.Empty;
    public long Size { get; init; }
    /// <summary>True when the file was made as a hard link to a name written before (its data was not copied again).</summary>
    public bool HardLink { get; init; }

    public override string ToString() => Destination;

    internal static DaxFsExportedItem From(ExportedItem e) => new()
    {
        ImagePath = e.ImagePath, Destination = e.Destination, Type = e.Type.ToString(), Size = e.Size, HardLink = e.HardLink,
    };
}
