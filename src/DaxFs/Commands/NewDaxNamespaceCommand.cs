using DaxFs.Core.Errors;
using System.Management.Automation;
using DaxFs.Core.Linux;
using DaxFs.Internal;

namespace DaxFs.Commands;

/// <summary>
/// New-DaxNamespace: ndctl create-namespace. In a region with free space (-Region), or by turning an existing
/// namespace into another mode (-Reconfigure: how a label-less NVDIMM with its one raw namespace becomes devdax;
/// everything on that namespace is lost).
/// </summary>
[Cmdlet(VerbsCommon.New, "DaxNamespace", DefaultParameterSetName = RegionSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
[OutputType(typeof(DaxNamespace))]
public sealed class NewDaxNamespaceCommand : DaxLinuxCmdlet
{
    private const string RegionSet = "Region";
    private const string ReconfigureSet = "Reconfigure";

    /// <summary>The region to create the namespace in (region0).</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = RegionSet, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(DaxRegionNameCompleter))]
    public string Region { get; set; } = string.Empty;

    /// <summary>The namespace to turn into the new mode (namespace0.0); its data is lost.</summary>
    [Parameter(Mandatory = true, ParameterSetName = ReconfigureSet, ValueFromPipelineByPropertyName = true)]
    [Alias("Name")]
    [ArgumentCompleter(typeof(DaxNamespaceNameCompleter))]
    public string Reconfigure { get; set; } = string.Empty;

    /// <summary>devdax (a /dev/daxX.Y character device to place images in) or fsdax (a /dev/pmemN block device).</summary>
    [Parameter(Mandatory = true)]
    [ValidateSet("devdax", "fsdax")]
    public string Mode { get; set; } = "devdax";

    /// <summary>Bytes; the whole free space of the region when omitted. A multiple of the region's align.</summary>
    [Parameter]
    [ValidateRange(1, long.MaxValue)]
    public long Size { get; set; }

    /// <summary>Mapping alignment in bytes (4096, 2MB or 1GB); ndctl's default when omitted.</summary>
    [Parameter]
    [ValidateSet("4096", "2097152", "1073741824")]
    public long Align { get; set; }

    /// <summary>A name stored in the namespace label (ndctl --name).</summary>
    [Parameter]
    [ValidateLength(1, 63)]
    public string? Label { get; set; }

    /// <summary>With -Reconfigure: destroy the namespace even when the branching image on it has active branches (mounted
    /// by some kernel, on this host or another that shares the memory).</summary>
    [Parameter(ParameterSetName = ReconfigureSet)]
    public SwitchParameter Force { get; set; }

    protected override void ProcessRecord()
    {
        var tools = Context.Tools;
        // What ndctl would refuse at once is refused before ShouldProcess too, so -WhatIf does not promise it.
        if (!Try(() => RequireNdDevice(ParameterSetName == ReconfigureSet ? Reconfigure : Region), ParameterSetName == ReconfigureSet ? Reconfigure : Region)) return;
        ulong? size = MyInvocation.BoundParameters.ContainsKey(nameof(Size)) ? (ulong)Size : null;
        ulong? align = MyInvocation.BoundParameters.ContainsKey(nameof(Align)) ? (ulong)Align : null;
        var command = ParameterSetName == ReconfigureSet
            ? tools.ReconfigureNamespaceCommand(Reconfigure, Mode, size, align, Label)
            : tools.CreateNamespaceCommand(Region, Mode, size, align, Label);
        string target = command.Target ?? Region;
        string action = ParameterSetName == ReconfigureSet
            ? $"{command.CommandLine} (everything on {Reconfigure} is lost)"
            : command.CommandLine;
        WriteVerbose(command.CommandLine);
        // The memory itself says which kernels (here or on other hosts of a pool) have branches of its image mounted.
        // Read as root only: before ShouldProcess, so -WhatIf shows the refusal; without root the call stops below.
        if (ParameterSetName == ReconfigureSet && !Force && Context.IsRoot() && !Try(() => RefuseActiveBranches(tools), Reconfigure)) return;
        if (!ShouldProcess(target, action)) return;
        RequireRoot("New-DaxNamespace");
        NdctlNamespace created = null!;
        if (Try(() => created = tools.CreateNamespace(command, Cancellation.Token), target))
            WriteObject(DaxNamespace.From(created));
    }

    private void RefuseActiveBranches(DaxTools tools)
    {
        var ns = tools.ListNamespaces(idle: true, ct: Cancellation.Token).FirstOrDefault(n => n.Dev == Reconfigure);
        if (ns is not null) DaxFs.Core.Operations.DaxActiveBranches.RefuseNamespace(Context, ns, $"reconfiguring {Reconfigure}");
    }

    /// <summary>The region or namespace must be in /sys/bus/nd/devices (DaxRegionNotFound, DaxNamespaceNotFound).</summary>
    private void RequireNdDevice(string name)
    {
        const string devices = "/sys/bus/nd/devices";
        if (Context.Sysfs.Exists($"{devices}/{name}") && !name.Contains('/')) return;
        bool region = ParameterSetName == RegionSet;
        var known = Context.Sysfs.List(devices).Where(n => n.StartsWith(region ? "region" : "namespace", StringComparison.Ordinal)).ToList();
        string list = known.Count > 0 ? $" Here: {string.Join(", ", known)}." : $" There are none here ({devices} lists no {(region ? "region" : "namespace")}).";
        throw region
            ? new DaxLinuxException(DaxErrorKind.NotFound, ErrorIds.DaxRegionNotFound,
                $"There is no NVDIMM region '{name}'.{list} Get-DaxRegion lists the regions.", name, Errno.ENXIO)
            : new DaxLinuxException(DaxErrorKind.NotFound, ErrorIds.DaxNamespaceNotFound,
                $"There is no namespace '{name}'.{list} List them with Get-DaxNamespace -Idle.", name, Errno.ENXIO);
    }
}