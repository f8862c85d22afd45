using System.Management.Automation;
using DaxFs.Core.Operations;
using DaxFs.Internal;

namespace DaxFs.Commands;

/// <summary>
/// Complete-DaxFsBranch: commits the branch mounted at a path (remount with "commit"): its chain is merged into main,
/// every sibling at every level of the chain is invalidated (ESTALE), and the mount shows main afterwards.
/// </summary>
[Cmdlet(VerbsLifecycle.Complete, "DaxFsBranch", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
[OutputType(typeof(DaxFsMount))]
public sealed class CompleteDaxFsBranchCommand : BranchEndCmdlet
{
    private protected override BranchEnd End => BranchEnd.Commit;
}
