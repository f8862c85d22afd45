using System.Management.Automation;
using DaxFs.Core.Operations;
using DaxFs.Internal;

namespace DaxFs.Commands;

/// <summary>
/// Undo-DaxFsBranch: aborts the branch mounted at a path (remount with "abort"): the whole chain back to main is
/// discarded, siblings are left alone, and the mount shows main afterwards.
/// </summary>
[Cmdlet(VerbsCommon.Undo, "DaxFsBranch", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
[OutputType(typeof(DaxFsMount))]
public sealed class UndoDaxFsBranchCommand : BranchEndCmdlet
{
    private protected override BranchEnd End => BranchEnd.Abort;
}
