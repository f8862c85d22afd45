using System.Management.Automation;
using DaxFs.Core.Linux;
using DaxFs.Core.Operations;
using DaxFs.Internal;

namespace DaxFs.Commands;

/// <summary>Dismount-DaxFs: unmounts daxfs mounts (umount2), by path or from Get-DaxFsMount.</summary>
[Cmdlet(VerbsData.Dismount, "DaxFs", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
public sealed class DismountDaxFsCommand : DaxLinuxCmdlet
{
    /// <summary>Mount points, or mounts from Get-DaxFsMount.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Path")]
    [ArgumentCompleter(typeof(DaxFsMountPointCompleter))]
    public string[] MountPoint { get; set; } = Array.Empty<string>();

    /// <summary>Detach now, let go when the last user leaves (MNT_DETACH).</summary>
    [Parameter]
    public SwitchParameter Lazy { get; set; }

    /// <summary>MNT_FORCE: ask the file system to abort pending work. It does not skip the confirmation.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void ProcessRecord()
    {
        var mounter = new DaxFsMounter(Context);
        foreach (var p in MountPoint)
        {
            string full = MountInfo.NormalizePath(GetUnresolvedProviderPathFromPSPath(p));
            if (!Try(() => mounter.FindMount(full), full)) continue;
            var flags = new List<string> { "UMOUNT_NOFOLLOW" };
            if (Lazy) flags.Add("MNT_DETACH");
            if (Force) flags.Add("MNT_FORCE");
            if (!ShouldProcess(full, $"umount2('{full}', {string.Join('|', flags)})")) continue;
            RequireRoot("Dismount-DaxFs");
            Try(() => mounter.Unmount(full, Lazy, Force), full);
        }
    }
}
