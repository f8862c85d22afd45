using DaxFs.Core.Errors;

namespace DaxFs.Core.Linux;

/// <summary>
/// Everything the memory, device and mount layer touches on the host, in one object: sysfs, /dev, mountinfo, the
/// native tools, the mount syscalls, dma-heaps and the "am I root" question. The real host is the default; tests
/// replace any part. <see cref="FromEnvironment"/> builds one from DAXFS_* variables so that a test process can point
/// the module at fakes without code (see <see cref="LinuxEnvironmentVariables"/>).
/// </summary>
public sealed class LinuxContext
{
    public ISysfs Sysfs { get; init; } = new SysfsTree("/");
    public ICommandRunner Runner { get; init; } = ProcessCommandRunner.Instance;
    public IMountApi MountApi { get; init; } = LinuxMountApi.Instance;
    public IDmaHeap DmaHeap { get; init; } = new LinuxDmaHeap();
    /// <summary>Where a refused mount's reason is read from (the kernel log).</summary>
    public IKernelLog KernelLog { get; init; } = LinuxKernelLog.Instance;
    /// <summary>Where device nodes live (dax0.0, mem).</summary>
    public string DevRoot { get; init; } = "/dev";
    public string MountInfoPath { get; init; } = "/proc/self/mountinfo";
    public string NdctlPath { get; init; } = "ndctl";
    public string DaxctlPath { get; init; } = "daxctl";
    public Func<bool> IsRoot { get; init; } = () => OperatingSystem.IsLinux() && Syscalls.geteuid() == 0;

    public DaxTools Tools => new(Runner, NdctlPath, DaxctlPath);

    /// <summary>The node of a device: /dev/dax0.0.</summary>
    public string DevicePath(string name) => Path.Combine(DevRoot, name);

    /// <summary>/dev/mem.</summary>
    public string PhysicalMemoryPath => Path.Combine(DevRoot, "mem");

    /// <summary>Throws the NotRoot error naming <paramref name="what"/> unless the process is root.</summary>
    public void RequireRoot(string what)
    {
        if (!IsRoot())
            throw new DaxLinuxException(DaxErrorKind.NotRoot, ErrorIds.NotRoot,
                $"{what} needs root.", what, Errno.EPERM) { NextStep = NextStep.RunAsRootOrPreview };
    }

    /// <summary>The host, with any DAXFS_* overrides found in the environment.</summary>
    public static LinuxContext FromEnvironment(Func<string, string?>? getVariable = null)
    {
        getVariable ??= Environment.GetEnvironmentVariable;
        string? Get(string name) => getVariable(name) is { Length: > 0 } v ? v : null;

        var ctx = new LinuxContext();
        string? sysRoot = Get(LinuxEnvironmentVariables.SysfsRoot);
        string? devRoot = Get(LinuxEnvironmentVariables.DevRoot);
        string? assumeRoot = Get(LinuxEnvironmentVariables.AssumeRoot);
        string? heap = Get(LinuxEnvironmentVariables.DmaHeap);
        bool? root = assumeRoot switch { "1" or "true" or "yes" => true, "0" or "false" or "no" => false, _ => null };
        return new LinuxContext
        {
            Sysfs = sysRoot is null ? ctx.Sysfs : new SysfsTree(sysRoot),
            DevRoot = devRoot ?? ctx.DevRoot,
            MountInfoPath = Get(LinuxEnvironmentVariables.MountInfo) ?? ctx.MountInfoPath,
            NdctlPath = Get(LinuxEnvironmentVariables.Ndctl) ?? ctx.NdctlPath,
            DaxctlPath = Get(LinuxEnvironmentVariables.Daxctl) ?? ctx.DaxctlPath,
            IsRoot = root is { } r ? () => r : ctx.IsRoot,
            DmaHeap = heap switch
            {
                null => new LinuxDmaHeap(Path.Combine(devRoot ?? "/dev", "dma_heap")),
                "memfd" => new MemfdDmaHeap(),
                _ => new LinuxDmaHeap(heap),
            },
        };
    }
}

/// <summary>
/// Environment variables that point the module at a fake host (for tests). Unset means the real thing.
/// </summary>
public static class LinuxEnvironmentVariables
{
    /// <summary>A folder that plays "/" for sysfs reads: it holds sys/bus/dax/devices/…, sys/bus/nd/devices/….</summary>
    public const string SysfsRoot = "DAXFS_SYSFS_ROOT";
    /// <summary>A folder that plays /dev (dax0.0 may be a plain file there; dma_heap/ too).</summary>
    public const string DevRoot = "DAXFS_DEV_ROOT";
    /// <summary>A file read instead of /proc/self/mountinfo.</summary>
    public const string MountInfo = "DAXFS_MOUNTINFO";
    /// <summary>The ndctl program to run (a fake script printing recorded JSON).</summary>
    public const string Ndctl = "DAXFS_NDCTL";
    /// <summary>The daxctl program to run.</summary>
    public const string Daxctl = "DAXFS_DAXCTL";
    /// <summary>1: behave as root; 0: behave as an unprivileged user (tests the NotRoot errors).</summary>
    public const string AssumeRoot = "DAXFS_ASSUME_ROOT";
    /// <summary>"memfd": allocate "dma-bufs" as memfds (any heap name); a folder: use it instead of /dev/dma_heap.</summary>
    public const string DmaHeap = "DAXFS_DMA_HEAP";
}
