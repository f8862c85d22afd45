using System.Management.Automation;
using DaxFs.Core.Errors;
using DaxFs.Core.Linux;
using DaxFs.Core.Operations;
using DaxFs.Internal;

namespace DaxFs.Commands;

/// <summary>Get-DaxFsMount: the daxfs mounts of this mount namespace, from /proc/self/mountinfo.</summary>
[Cmdlet(VerbsCommon.Get, "DaxFsMount")]
[OutputType(typeof(DaxFsMount))]
public sealed class GetDaxFsMountCommand : DaxLinuxCmdlet
{
    /// <summary>Mount points; wildcards allowed. All daxfs mounts when omitted.</summary>
    [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Path")]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(DaxFsMountPointCompleter))]
    public string[]? MountPoint { get; set; }

    protected override void ProcessRecord()
    {
        IReadOnlyList<MountInfoEntry> mounts = Array.Empty<MountInfoEntry>();
        if (!TryOrStop(() => mounts = new DaxFsMounter(Context).ListMounts(), Context.MountInfoPath)) return;
        // One module serves every daxfs mount of the host (it cannot be unloaded while one exists).
        var module = mounts.Count > 0 ? DaxFsKernelModule.Read(Context.Sysfs) : null;
        if (MountPoint is null || MountPoint.Length == 0)
        {
            foreach (var m in mounts) WriteObject(DaxFsMount.From(m, module));
            return;
        }
        foreach (var p in MountPoint)
        {
            bool wild = WildcardPattern.ContainsWildcardCharacters(p);
            string full = wild ? p : MountInfo.NormalizePath(GetUnresolvedProviderPathFromPSPath(p));
            var pattern = new WildcardPattern(full, WildcardOptions.None);
            var hits = mounts.Where(m => wild ? pattern.IsMatch(m.MountPoint) : m.MountPoint == full).ToList();
            foreach (var m in hits) WriteObject(DaxFsMount.From(m, module));
            if (hits.Count == 0 && !wild)
                WriteError(LinuxErrors.From(new DaxLinuxException(DaxErrorKind.NotMounted, ErrorIds.DaxFsMountNotFound,
                    $"No daxfs is mounted at '{full}'. Get-DaxFsMount without arguments lists every daxfs mount.", full, Errno.EINVAL)));
        }
    }
}
