using System.Management.Automation;
using DaxFs.Core.Linux;
using DaxFs.Core.Operations;
using DaxFs.Internal;

namespace DaxFs.Commands;

/// <summary>
/// Set-DaxDevice: daxctl reconfigure-device --mode. devdax gives a /dev/daxX.Y node to place images in; system-ram hands
/// the memory to the kernel as ordinary RAM (what was in it is lost). A change that fails half-way is undone.
/// </summary>
[Cmdlet(VerbsCommon.Set, "DaxDevice", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
[OutputType(typeof(DaxDevice))]
public sealed class SetDaxDeviceCommand : DaxLinuxCmdlet
{
    /// <summary>Device names (dax0.0), or devices from Get-DaxDevice.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Device")]
    [ArgumentCompleter(typeof(DaxDeviceNameCompleter))]
    public string[] Name { get; set; } = Array.Empty<string>();

    [Parameter(Mandatory = true)]
    [ValidateSet(DaxDeviceModes.DevDax, DaxDeviceModes.SystemRam)]
    public string Mode { get; set; } = DaxDeviceModes.DevDax;

    /// <summary>system-ram: leave the new memory offline (daxctl --no-online).</summary>
    [Parameter]
    public SwitchParameter NoOnline { get; set; }

    /// <summary>daxctl --force: convert even when the kernel policy onlines hot-added memory by itself, or when the
    /// device is busy. It does not skip the confirmation (use -Confirm:$false for that).</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>Return the device after the change.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        var catalog = new DaxDeviceCatalog(Context);
        foreach (var name in Name)
        {
            // The same check the real run starts with, so that -WhatIf does not promise a change to a device that is not there.
            if (!Try(() => catalog.Get(name), name)) continue;
            var command = Context.Tools.ReconfigureDaxDeviceCommand(name, Mode, NoOnline, Force);
            WriteVerbose(command.CommandLine);
            string consequence = Mode == DaxDeviceModes.SystemRam ? " (its content is lost; the memory becomes ordinary RAM)" : " (its memory leaves the kernel's RAM)";
            if (!ShouldProcess(name, command.CommandLine + consequence)) continue;
            RequireRoot("Set-DaxDevice");
            DaxDeviceInfo after = null!;
            if (Try(() => after = catalog.SetMode(name, Mode, NoOnline, Force, Cancellation.Token), name) && PassThru)
                WriteObject(DaxDevice.From(after));
        }
    }
}
