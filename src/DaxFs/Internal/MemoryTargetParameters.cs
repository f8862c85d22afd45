using System.Management.Automation;
using DaxFs.Core.Linux;
using DaxFs.Core.Operations;

namespace DaxFs.Internal;

/// <summary>
/// The base of the cmdlets about an image in memory (Mount-DaxFs, Save-DaxFsImage, Write-DaxFsImage): the memory-target
/// parameter sets declared once, so the three cannot drift. A dax device (-Device), a physical range (-PhysicalAddress
/// and -Size) or a dma-buf (-DmaBuf); each set's parameters bind from the pipeline the same way in all three (a device or
/// a range by property name, as Get-DaxFsMount and Write-DaxFsImage -PassThru give them; a DmaBuf by value, as New-DmaBuf
/// gives it). The set names, the target each set makes and the name an error shows for it live here too.
/// </summary>
public abstract class DaxMemoryTargetCmdlet : DaxFsImageCmdlet
{
    internal const string DeviceSet = "Device";
    internal const string PhysicalSet = "PhysicalAddress";
    internal const string DmaBufSet = "DmaBuf";

    /// <summary>A dax device in devdax mode (dax0.0).</summary>
    [Parameter(Mandatory = true, ParameterSetName = DeviceSet, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(DaxDeviceNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string Device { get; set; } = string.Empty;

    /// <summary>The physical start of the memory (through /dev/mem, or the dax device or raw pmem namespace holding it).</summary>
    [Parameter(Mandatory = true, ParameterSetName = PhysicalSet, ValueFromPipelineByPropertyName = true)]
    public ulong PhysicalAddress { get; set; }

    /// <summary>Bytes of memory at -PhysicalAddress.</summary>
    [Parameter(Mandatory = true, ParameterSetName = PhysicalSet, ValueFromPipelineByPropertyName = true)]
    [ValidateRange(1, ulong.MaxValue)]
    public ulong Size { get; set; }

    /// <summary>A dma-buf from New-DmaBuf.</summary>
    [Parameter(Mandatory = true, ParameterSetName = DmaBufSet, ValueFromPipeline = true)]
    public DmaBuf DmaBuf { get; set; } = null!;

    /// <summary>True when the bound parameter set is one of the memory-target sets (a cmdlet may have others).</summary>
    private protected bool NamesMemoryTarget => ParameterSetName is DeviceSet or PhysicalSet or DmaBufSet;

    /// <summary>The memory the bound parameter set names.</summary>
    private protected DaxMemoryTarget ResolveTarget() =>
        ParameterSetName switch
        {
            DeviceSet => DaxMemoryTargets.ForDevice(Context, Device),
            DmaBufSet => DmaBuf.ToTarget(),
            PhysicalSet => DaxMemoryTargets.ForPhysicalRange(Context, PhysicalAddress, Size),
            _ => throw new InvalidOperationException($"'{ParameterSetName}' is not a memory-target parameter set."),
        };

    /// <summary>What an error names as its target: the device name, the DmaBuf, or the physical address in hex.</summary>
    private protected object TargetName => ParameterSetName switch
    {
        DeviceSet => Device,
        DmaBufSet => DmaBuf,
        _ => $"0x{PhysicalAddress:x}",
    };
}
