using DaxFs.Core.Branches;
using DaxFs.Core.Format;

namespace DaxFs;

/// <summary>One path a branch changed against its parent (Compare-DaxFsBranch).</summary>
public sealed class DaxFsBranchChange
{
    public string Path { get; init; } = string.Empty;
    /// <summary>Added, Removed, Modified (type, size, content or symlink target) or Attributes (mode or owner only).</summary>
    /// <remarks>Names (of <see cref="BranchChangeKind"/> and <see cref="DaxFsItemType"/>), so that ConvertTo-Json writes them readably.</remarks>
    public string Change { get; init; } = string.Empty;
    public string Type { get; init; } = string.Empty;
    /// <summary>What changed, e.g. "size 5 → 1; content differs" or "mode -rw-r--r-- → -rw-------".</summary>
    public string Details { get; init; } = string.Empty;
    public string Branch { get; init; } = string.Empty;
    /// <summary>The parent branch compared against, or null when the branch is main (compared against the base image).</summary>
    public string? Parent { get; init; }
    /// <summary>The item in the parent's view (null when Added).</summary>
    public DaxFsItem? Before { get; init; }
    /// <summary>The item in the branch's view (null when Removed).</summary>
    public DaxFsItem? After { get; init; }
    public string ImagePath { get; init; } = string.Empty;

    public override string ToString() => $"{Change} {Path}";
}
