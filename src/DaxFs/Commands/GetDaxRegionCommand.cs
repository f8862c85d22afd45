using System.Management.Automation;
using DaxFs.Core.Errors;
using DaxFs.Core.Linux;
using DaxFs.Internal;

namespace DaxFs.Commands;

/// <summary>Get-DaxRegion: NVDIMM regions from ndctl list --regions (ndctl list -R).</summary>
[Cmdlet(VerbsCommon.Get, "DaxRegion")]
[OutputType(typeof(DaxRegion))]
public sealed class GetDaxRegionCommand : DaxLinuxCmdlet
{
    private IReadOnlyList<NdctlRegion>? _all;

    /// <summary>Region names (region0); wildcards allowed. All when omitted.</summary>
    [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Region")]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(DaxRegionNameCompleter))]
    public string[]? Name { get; set; }

    /// <summary>Include disabled regions (ndctl list --idle).</summary>
    [Parameter]
    public SwitchParameter Idle { get; set; }

    protected override void ProcessRecord()
    {
        if (_all is null)
        {
            IReadOnlyList<NdctlRegion> listed = Array.Empty<NdctlRegion>();
            if (!TryOrStop(() => listed = Context.Tools.ListRegions(Idle, Cancellation.Token), "ndctl")) return;
            _all = listed;
        }
        if (Name is null || Name.Length == 0)
        {
            foreach (var r in _all) WriteObject(DaxRegion.From(r));
            return;
        }
        foreach (var name in Name)
        {
            var pattern = new WildcardPattern(name, WildcardOptions.None);
            var hits = _all.Where(r => pattern.IsMatch(r.Dev)).ToList();
            foreach (var r in hits) WriteObject(DaxRegion.From(r));
            if (hits.Count == 0 && !WildcardPattern.ContainsWildcardCharacters(name))
                WriteError(LinuxErrors.From(RegionNotFound(name, _all, Idle)));
        }
    }

    /// <summary>DaxRegionNotFound, naming the regions that exist.</summary>
    internal static DaxLinuxException RegionNotFound(string name, IReadOnlyList<NdctlRegion> known, bool idleListed) =>
        new(DaxErrorKind.NotFound, ErrorIds.DaxRegionNotFound,
            $"There is no region '{name}'" + (idleListed ? "" : " among the enabled ones (add -Idle for disabled ones)") + ". " +
            (known.Count > 0 ? $"Regions here: {string.Join(", ", known.Select(r => r.Dev))} (Get-DaxRegion lists them)." : "ndctl lists no NVDIMM region on this host."),
            name, Errno.ENXIO);
}
