using System.Management.Automation;
using DaxFs.Core.Errors;
using DaxFs.Core.Linux;
using DaxFs.Core.Operations;
using DaxFs.Internal;

namespace DaxFs.Commands;

/// <summary>Get-DaxDevice: dax devices from daxctl list, joined with sysfs (physical start, driver).</summary>
[Cmdlet(VerbsCommon.Get, "DaxDevice", DefaultParameterSetName = NameSet)]
[OutputType(typeof(DaxDevice))]
public sealed class GetDaxDeviceCommand : DaxLinuxCmdlet
{
    private const string NameSet = "Name";
    private const string NamespaceSet = "Namespace";

    private IReadOnlyList<DaxDeviceInfo>? _devices;

    /// <summary>Device names (dax0.0); wildcards allowed. All devices when omitted.</summary>
    [Parameter(Position = 0, ParameterSetName = NameSet, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Device")]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(DaxDeviceNameCompleter))]
    public string[]? Name { get; set; }

    /// <summary>Namespaces from Get-DaxNamespace: the dax device of each devdax one.</summary>
    [Parameter(Mandatory = true, ParameterSetName = NamespaceSet, ValueFromPipeline = true)]
    public DaxNamespace Namespace { get; set; } = null!;

    protected override void ProcessRecord()
    {
        if (ParameterSetName == NamespaceSet)
        {
            if (Namespace.Device is null)
            {
                WriteError(Errors.Make(ErrorIds.NamespaceHasNoDaxDevice, ErrorCategory.InvalidArgument, Namespace,
                    $"{Namespace.Name} is in {Namespace.Mode ?? "an unknown"} mode and has no dax device. " +
                    $"Only devdax namespaces do: New-DaxNamespace -Reconfigure {Namespace.Name} -Mode devdax (destroys its data)."));
                return;
            }
            Emit(new[] { Namespace.Device });
            return;
        }
        Emit(Name);
    }

    private void Emit(string[]? names)
    {
        var devices = Devices();
        if (devices is null) return;
        if (names is null || names.Length == 0)
        {
            foreach (var d in devices) WriteObject(DaxDevice.From(d));
            return;
        }
        foreach (var name in names)
        {
            var pattern = new WildcardPattern(name, WildcardOptions.None);
            bool found = false;
            foreach (var d in devices.Where(d => pattern.IsMatch(d.Name)))
            {
                found = true;
                WriteObject(DaxDevice.From(d));
            }
            if (!found && !WildcardPattern.ContainsWildcardCharacters(name))
                WriteError(LinuxErrors.From(new DaxLinuxException(DaxErrorKind.NotFound, ErrorIds.DaxDeviceNotFound,
                    $"There is no dax device '{name}'. " + (devices.Count > 0
                        ? $"Devices here: {string.Join(", ", devices.Select(d => d.Name))}."
                        : "This machine has none: a devdax namespace makes one (New-DaxNamespace -Mode devdax)."), name, Errno.ENODEV)));
        }
    }

    /// <summary>The devices, listed once per command. Without daxctl: what sysfs knows, with a warning.</summary>
    private IReadOnlyList<DaxDeviceInfo>? Devices()
    {
        if (_devices is not null) return _devices;
        var catalog = new DaxDeviceCatalog(Context);
        try
        {
            _devices = catalog.List(Cancellation.Token);
        }
        catch (DaxLinuxException ex) when (ex.Kind == DaxErrorKind.ToolNotInstalled)
        {
            WriteWarning(ex.Message + " Showing what sysfs knows (no memory block counts, no movable flag).");
            _devices = catalog.Names().Select(catalog.Get).ToList();
        }
        catch (DaxLinuxException ex)
        {
            ThrowTerminatingError(LinuxErrors.From(ex));
        }
        catch (OperationCanceledException) when (Cancellation.IsCancellationRequested) { }
        return _devices;
    }
}
