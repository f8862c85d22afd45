using System.Management.Automation;

namespace DaxFs.Internal;

/// <summary>Lets a mount-point parameter take a DaxFsMount (from Get-DaxFsMount, Mount-DaxFs, New-DaxFsBranch) as well as a path.</summary>
public sealed class DaxFsMountTransformationAttribute : ArgumentTransformationAttribute
{
    public override object Transform(EngineIntrinsics engineIntrinsics, object inputData) => Convert(inputData);

    private static object Convert(object input) => (input is PSObject pso ? pso.BaseObject : input) switch
    {
        DaxFsMount m => m.MountPoint,
        object[] many => many.Select(Convert).ToArray(),
        var other => other,
    };
}
