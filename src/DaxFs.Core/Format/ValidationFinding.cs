namespace DaxFs.Core.Format;

/// <summary>
/// One problem the validator found. <see cref="Severity"/> and <see cref="Kernel"/> come from the rule
/// catalogue (<see cref="RuleIds.Get"/>); <see cref="Offset"/> is the absolute offset in the image of the
/// offending field or record; <see cref="Inode"/> is set when the finding is about one inode.
/// </summary>
public sealed record ValidationFinding(string RuleId, FindingSeverity Severity, KernelVerdict Kernel, long Offset, uint? Inode, string Message);
