using DaxFs.Core.Format;
using DaxFs.Core.Validate;

namespace DaxFs;

/// <summary>One problem found by Test-DaxFsImage -Detailed.</summary>
public sealed class DaxFsValidationFinding
{
    public string ImagePath { get; init; } = string.Empty;
    public string RuleId { get; init; } = string.Empty;
    /// <summary>Error or Warning (a <see cref="FindingSeverity"/> name, so that ConvertTo-Json writes it readably).</summary>
    public string Severity { get; init; } = string.Empty;
    /// <summary>How the kernel treats the problem: always rejected, rejected by the validate mount option, or not checked.</summary>
    /// <remarks>A <see cref="KernelVerdict"/> name.</remarks>
    public string Kernel { get; init; } = string.Empty;
    /// <summary>True when the kernel refuses to mount the image because of this (always, or with validate).</summary>
    public bool KernelRejects => Kernel != nameof(KernelVerdict.NotChecked);
    public long Offset { get; init; }
    public uint? Inode { get; init; }
    public string Message { get; init; } = string.Empty;
    /// <summary>How many occurrences the finding stands for (a bookkeeping summary: its inodes; FINDINGS-TRUNCATED: the findings not listed).</summary>
    public long Count { get; init; } = 1;
    /// <summary>True for a summary of the bookkeeping only the kernel's validate option refuses, for every image (link counts, empty slots).</summary>
    public bool Bookkeeping { get; init; }

    public override string ToString() => $"{RuleId}: {Message}";

    internal static DaxFsValidationFinding From(ValidationFinding f, string imagePath) => new()
    {
        ImagePath = imagePath,
        RuleId = f.RuleId,
        Severity = f.Severity.ToString(),
        Kernel = f.Kernel.ToString(),
        Offset = f.Offset,
        Inode = f.Inode,
        Message = f.Message,
        Count = f.Count,
        Bookkeeping = f.Bookkeeping,
    };
}
