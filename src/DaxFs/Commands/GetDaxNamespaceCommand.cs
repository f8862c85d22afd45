using System.Management.Automation;
using DaxFs.Core.Errors;
using DaxFs.Core.Linux;
using DaxFs.Internal;

namespace DaxFs.Commands;

/// <summary>Get-DaxNamespace: NVDIMM namespaces from ndctl list.</summary>
[Cmdlet(VerbsCommon.Get, "DaxNamespace")]
[OutputType(typeof(DaxNamespace))]
public sealed class GetDaxNamespaceCommand : DaxLinuxCmdlet
{
    private readonly Dictionary<string, IReadOnlyList<NdctlNamespace>> _lists = new(StringComparer.Ordinal);
    private readonly HashSet<string> _checkedRegions = new(StringComparer.Ordinal);

    /// <summary>Namespace names (namespace0.0); wildcards allowed. All when omitted.</summary>
    [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(DaxNamespaceNameCompleter))]
    public string[]? Name { get; set; }

    /// <summary>Only namespaces of this region (region0).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(DaxRegionNameCompleter))]
    public string? Region { get; set; }

    /// <summary>Only namespaces in this mode.</summary>
    [Parameter]
    [ValidateSet("devdax", "fsdax", "sector", "raw")]
    public string? Mode { get; set; }

    /// <summary>Include disabled namespaces (ndctl list --idle).</summary>
    [Parameter]
    public SwitchParameter Idle { get; set; }

    protected override void ProcessRecord()
    {
        IReadOnlyList<NdctlNamespace> all = Array.Empty<NdctlNamespace>();
        string key = Region ?? string.Empty;
        if (!_lists.TryGetValue(key, out var cached))
        {
            if (!TryOrStop(() => all = Context.Tools.ListNamespaces(Region, Idle, Cancellation.Token), Region ?? "ndctl")) return;
            _lists[key] = all;
        }
        else all = cached;

        // ndctl prints nothing for a region that does not exist, as for one without namespaces: tell them apart.
        if (all.Count == 0 && Region is not null && !_checkedRegions.Contains(Region))
        {
            _checkedRegions.Add(Region);
            IReadOnlyList<NdctlRegion> regions = Array.Empty<NdctlRegion>();
            if (Try(() => regions = Context.Tools.ListRegions(idle: true, Cancellation.Token), Region) &&
                !regions.Any(r => string.Equals(r.Dev, Region, StringComparison.Ordinal)))
            {
                WriteError(LinuxErrors.From(GetDaxRegionCommand.RegionNotFound(Region, regions, idleListed: true)));
                return;
            }
        }

        var selected = all.Where(n => Mode is null || n.Mode == Mode).ToList();
        if (Name is null || Name.Length == 0)
        {
            foreach (var n in selected) WriteObject(DaxNamespace.From(n));
            return;
        }
        foreach (var name in Name)
        {
            var pattern = new WildcardPattern(name, WildcardOptions.None);
            var hits = selected.Where(n => pattern.IsMatch(n.Dev)).ToList();
            foreach (var n in hits) WriteObject(DaxNamespace.From(n));
            if (hits.Count == 0 && !WildcardPattern.ContainsWildcardCharacters(name))
                WriteError(LinuxErrors.From(NamespaceNotFound(name, all, Idle)));
        }
    }

    internal static DaxLinuxException NamespaceNotFound(string name, IReadOnlyList<NdctlNamespace> known, bool idleListed) =>
        new(DaxErrorKind.NotFound, ErrorIds.DaxNamespaceNotFound,
            $"There is no namespace '{name}'" + (idleListed ? "" : " among the enabled ones (add -Idle for disabled ones)") + ". " +
            (known.Count > 0 ? $"Namespaces here: {string.Join(", ", known.Select(n => n.Dev))}." : "Regions without namespaces get one with New-DaxNamespace -Region."),
            name, Errno.ENXIO);
}
