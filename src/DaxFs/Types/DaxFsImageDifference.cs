using DaxFs.Core.Compare;
using DaxFs.Core.Format;
using DaxFs.Core.Read;

namespace DaxFs;

/// <summary>One entry that differs between two images, or an image and a directory (output of Compare-DaxFsImage).</summary>
public sealed class DaxFsImageDifference
{
    /// <summary>The path inside both trees (/etc/hostname; / for the root).</summary>
    public string Path { get; init; } = string.Empty;
    // Kinds are names (strings) in the public properties, so that ConvertTo-Json writes them readably (see about_DaxFs).
    private readonly TreeChange _change;

    /// <summary>Added (only in the difference), Removed (only in the reference) or Modified.</summary>
    public string Change { get; private init; } = string.Empty;
    /// <summary>What differs for a Modified entry, as <see cref="TreeProperties"/> names: "Size, Content"; "None" otherwise.</summary>
    public string Properties { get; init; } = string.Empty;
    /// <summary>As Compare-Object shows it: &lt;= only in the reference, =&gt; only in the difference, &lt;&gt; in both, different.</summary>
    public string SideIndicator => _change switch { TreeChange.Removed => "<=", TreeChange.Added => "=>", _ => "<>" };
    /// <summary>The type of the entry: the difference's, or the reference's for a removed one.</summary>
    public string Type => DifferenceType ?? ReferenceType ?? nameof(DaxFsItemType.Unknown);
    public string? ReferenceType { get; init; }
    public string? DifferenceType { get; init; }

    private DaxFsImageDifference(TreeChange change) { _change = change; Change = change.ToString(); }
    /// <summary>Modes as ls -l shows them.</summary>
    public string? ReferenceMode { get; init; }
    public string? DifferenceMode { get; init; }
    public uint? ReferenceUid { get; init; }
    public uint? DifferenceUid { get; init; }
    public uint? ReferenceGid { get; init; }
    public uint? DifferenceGid { get; init; }
    public long? ReferenceSize { get; init; }
    public long? DifferenceSize { get; init; }
    public string? ReferenceTarget { get; init; }
    public string? DifferenceTarget { get; init; }
    /// <summary>SHA-256 of the content, when both files had the same size and were hashed.</summary>
    public string? ReferenceSha256 { get; init; }
    public string? DifferenceSha256 { get; init; }
    /// <summary>The reference image (or directory).</summary>
    public string ReferencePath { get; init; } = string.Empty;
    /// <summary>The difference image (or directory).</summary>
    public string DifferencePath { get; init; } = string.Empty;

    public override string ToString() => $"{SideIndicator} {Path}";

    internal static DaxFsImageDifference From(TreeDifference d, string referencePath, string differencePath)
    {
        var a = d.Reference;
        var b = d.Difference;
        return new DaxFsImageDifference(d.Change)
        {
            Path = d.Path,
            Properties = d.Properties.ToString(),
            ReferenceType = a?.Type.ToString(),
            DifferenceType = b?.Type.ToString(),
            ReferenceMode = a is null ? null : Mode(a),
            DifferenceMode = b is null ? null : Mode(b),
            ReferenceUid = a?.Uid,
            DifferenceUid = b?.Uid,
            ReferenceGid = a?.Gid,
            DifferenceGid = b?.Gid,
            ReferenceSize = a?.Type == DaxFsItemType.File ? a.Size : null,
            DifferenceSize = b?.Type == DaxFsItemType.File ? b.Size : null,
            ReferenceTarget = a?.Target is { } ta ? System.Text.Encoding.UTF8.GetString(ta) : null,
            DifferenceTarget = b?.Target is { } tb ? System.Text.Encoding.UTF8.GetString(tb) : null,
            ReferenceSha256 = d.ReferenceSha256,
            DifferenceSha256 = d.DifferenceSha256,
            ReferencePath = referencePath,
            DifferencePath = differencePath,
        };
    }

    private static string Mode(TreeEntry e)
    {
        uint type = e.Type switch
        {
            DaxFsItemType.Directory => DaxFsConstants.S_IFDIR,
            DaxFsItemType.SymbolicLink => DaxFsConstants.S_IFLNK,
            _ => DaxFsConstants.S_IFREG,
        };
        return ModeBits.ToModeString(type | e.Mode);
    }
}
