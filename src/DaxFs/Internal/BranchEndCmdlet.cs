using System.Management.Automation;
using DaxFs.Core.Linux;
using DaxFs.Core.Operations;

namespace DaxFs.Internal;

/// <summary>The shared body of Complete-DaxFsBranch (commit) and Undo-DaxFsBranch (abort).</summary>
public abstract class BranchEndCmdlet : DaxLinuxCmdlet
{
    /// <summary>Mount points of branches, or DaxFsMount objects.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Path")]
    [DaxFsMountTransformation]
    [ArgumentCompleter(typeof(DaxFsMountPointCompleter))]
    public string[] MountPoint { get; set; } = Array.Empty<string>();

    /// <summary>Output the mount afterwards (it shows main).</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    private protected abstract BranchEnd End { get; }

    private bool Commit => End == BranchEnd.Commit;

    protected override void ProcessRecord()
    {
        var manager = new DaxFsBranchManager(Context);
        string name = Commit ? "Complete-DaxFsBranch" : "Undo-DaxFsBranch";
        foreach (var p in MountPoint)
        {
            string full = MountInfo.NormalizePath(GetUnresolvedProviderPathFromPSPath(p));
            BranchEndPlan plan = null!;
            if (!Try(() => plan = manager.PlanEnd(full, End), full)) continue;
            if (plan.State.TableUnreadable is { } why) WriteVerbose($"The branch table behind '{full}' could not be read: {why}");
            string caption = Commit ? "Commit branch" : "Abort branch";
            if (!ShouldProcess(plan.Description, $"{plan.Description}\nContinue?", caption)) continue;
            RequireRoot(name);
            if (!Try(() => manager.End(plan), full)) continue;
            if (PassThru)
            {
                var after = new DaxFsMounter(Context).ListMounts().LastOrDefault(m => m.MountPoint == full);
                if (after is not null) WriteObject(DaxFsMount.From(after, DaxFsKernelModule.Read(Context.Sysfs)));
            }
        }
    }
}
