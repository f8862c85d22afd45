using DaxFs.Core.Format;

namespace DaxFs.Core.Branches;

/// <summary>The delta-region arithmetic every branch message shares (building an image and creating a branch say the same).</summary>
public static class BranchSpace
{
    /// <summary>Bytes of the delta region each branch (main included) takes for its log.</summary>
    public const long LogBytes = DaxFsConstants.BranchLogCapacity;

    /// <summary>What sets the delta region's size and how much a branch takes: the fix in every "no room" message.</summary>
    public const string Advice =
        "Every branch, main included, takes a 1 MiB delta log from the delta region, and the kernel never gives a log back " +
        "(not on commit, abort or unmount). The region's size is set when the image is built: " +
        "1 MiB for main plus 1 MiB for each branch ever created (2 MiB or more for one child).";

    /// <summary>New-DaxFsImage's warning for a delta region that cannot hold main and one child.</summary>
    public static string NoRoomAtBuild(long deltaSize) =>
        $"A delta region of {deltaSize} bytes leaves no room for a child branch: once main has its log, {Math.Max(0, deltaSize - LogBytes)} bytes are left, less than the 1 MiB a child needs. " + Advice;

    /// <summary>New-DaxFsBranch's error when the live image's delta region has less than 1 MiB left.</summary>
    public static string NoRoomLeft(long left, long regionSize, string where) =>
        $"The delta region of the image at {where} has {left} bytes left (of {regionSize}), less than the 1 MiB a new branch takes, so the kernel would refuse with ENOSPC. " +
        Advice;
}
