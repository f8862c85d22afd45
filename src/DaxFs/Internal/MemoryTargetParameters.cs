using DaxFs.Core.Linux;
using DaxFs.Core.Operations;

namespace DaxFs.Internal;

/// <summary>
/// The memory-target parameter sets that Mount-DaxFs, Save-DaxFsImage and Write-DaxFsImage share: a dax device
/// (-Device), a physical range (-PhysicalAddress and -Size) or a dma-buf (-DmaBuf). The set names, the target each set
/// makes and the name an error shows for it live here once; each cmdlet declares the parameters themselves (their
/// pipeline binding differs: Mount-DaxFs takes a dma-buf from the pipeline, Write-DaxFsImage an image).
/// </summary>
internal static class MemoryTargetParameters
{
    public const string DeviceSet = "Device";
    public const string PhysicalSet = "PhysicalAddress";
    public const string DmaBufSet = "DmaBuf";

    /// <summary>The memory the bound parameter set names.</summary>
    public static DaxMemoryTarget Resolve(string parameterSet, LinuxContext context, string device, ulong physicalAddress, ulong size, DmaBuf? dmaBuf) =>
        parameterSet switch
        {
            DeviceSet => DaxMemoryTargets.ForDevice(context, device),
            DmaBufSet => dmaBuf!.ToTarget(),
            PhysicalSet => DaxMemoryTargets.ForPhysicalRange(context, physicalAddress, size),
            _ => throw new ArgumentOutOfRangeException(nameof(parameterSet), parameterSet, "Not a memory-target parameter set."),
        };

    /// <summary>What an error names as its target: the device name, the DmaBuf, or the physical address in hex.</summary>
    public static object TargetName(string parameterSet, string device, ulong physicalAddress, DmaBuf? dmaBuf) => parameterSet switch
    {
        DeviceSet => device,
        DmaBufSet => dmaBuf!,
        _ => $"0x{physicalAddress:x}",
    };
}
