namespace DaxFs.Core.Format;

/// <summary>
/// The one exception the engine throws for malformed image bytes: it names the validation rule that the
/// bytes break and the absolute offset in the image where the problem sits.
/// </summary>
public sealed class DaxFsFormatException : Exception
{
    public DaxFsFormatException(string ruleId, long offset, string message, Exception? inner = null)
        : base(message, inner)
    {
        RuleId = ruleId;
        Offset = offset;
    }

    /// <summary>Stable rule id, e.g. <c>DAXFS-SB-001</c>; the same ids as Test-DaxFsImage findings.</summary>
    public string RuleId { get; }

    /// <summary>Absolute byte offset in the image (−1 when not tied to one place).</summary>
    public long Offset { get; }
}
