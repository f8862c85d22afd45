using System.Management.Automation;
using DaxFs.Core.Linux;
using DaxFs.Internal;

namespace DaxFs.Commands;

/// <summary>Remove-DaxNamespace: ndctl destroy-namespace --force. Everything on the namespace is lost.</summary>
[Cmdlet(VerbsCommon.Remove, "DaxNamespace", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
public sealed class RemoveDaxNamespaceCommand : DaxLinuxCmdlet
{
    private IReadOnlyList<NdctlNamespace>? _known;

    /// <summary>Namespace names (namespace0.0), or namespaces from Get-DaxNamespace.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(DaxNamespaceNameCompleter))]
    public string[] Name { get; set; } = Array.Empty<string>();

    /// <summary>Destroy a namespace even when the branching image on it has active branches (mounted by some kernel, on this
    /// host or another that shares the memory).</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void ProcessRecord()
    {
        var tools = Context.Tools;
        if (_known is null && !TryOrStop(() => _known = tools.ListNamespaces(idle: true, ct: Cancellation.Token), "ndctl")) return;
        foreach (var name in Name)
        {
            var ns = _known!.FirstOrDefault(n => n.Dev == name);
            if (ns is null)
            {
                WriteError(LinuxErrors.From(GetDaxNamespaceCommand.NamespaceNotFound(name, _known!, idleListed: true)));
                continue;
            }
            var command = tools.DestroyNamespaceCommand(name);
            string what = Describe(ns);
            WriteVerbose(command.CommandLine);
            // Mounts of other kernels show only in the memory (the branch table); read as root, before ShouldProcess.
            if (!Force && Context.IsRoot() && !Try(() => DaxFs.Core.Operations.DaxActiveBranches.RefuseNamespace(Context, ns, $"destroying {name}"), name)) continue;
            if (!ShouldProcess(what, $"{command.CommandLine} (everything on it is lost)")) continue;
            RequireRoot("Remove-DaxNamespace");
            Try(() => tools.Run(command, Cancellation.Token), name);
        }
    }

    /// <summary>"namespace0.0 (devdax, 526385152 bytes, dax0.0)": what the confirmation names.</summary>
    private static string Describe(NdctlNamespace ns)
    {
        var parts = new List<string>();
        if (ns.Mode is not null) parts.Add(ns.Mode);
        if (ns.Size is { } size) parts.Add(size + " bytes");
        if ((ns.CharDev ?? ns.BlockDev) is { } dev) parts.Add(dev);
        return parts.Count == 0 ? ns.Dev : $"{ns.Dev} ({string.Join(", ", parts)})";
    }
}
