using System.Runtime.InteropServices;
using DaxFs.Core.Linux;
using Microsoft.Win32.SafeHandles;

namespace DaxFs.Core.Tests.Linux;

/// <summary>A temp folder removed at dispose.</summary>
public sealed class TempDir : IDisposable
{
    public TempDir()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "daxfs-test-" + Guid.NewGuid().ToString("n")[..12]);
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string relative, string? text = null)
    {
        string p = System.IO.Path.Combine(Path, relative);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(p)!);
        if (text is not null) System.IO.File.WriteAllText(p, text);
        return p;
    }

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

/// <summary>A runner that answers from a script of responses and records every call.</summary>
public sealed class FakeRunner : ICommandRunner
{
    private readonly Func<string, IReadOnlyList<string>, CommandResult> _respond;

    public FakeRunner(Func<string, IReadOnlyList<string>, CommandResult> respond) { _respond = respond; }

    public static FakeRunner Returning(string stdout, int exitCode = 0, string stderr = "") =>
        new((f, a) => new CommandResult(exitCode, stdout, stderr, ProcessCommandRunner.FormatCommandLine(f, a)));

    public List<(string File, IReadOnlyList<string> Args)> Calls { get; } = new();

    public CommandResult Run(string fileName, IReadOnlyList<string> arguments, CancellationToken cancellationToken = default)
    {
        Calls.Add((fileName, arguments.ToArray()));
        return _respond(fileName, arguments);
    }
}

/// <summary>A runner for a tool that is not installed.</summary>
public sealed class MissingToolRunner : ICommandRunner
{
    public CommandResult Run(string fileName, IReadOnlyList<string> arguments, CancellationToken cancellationToken = default) =>
        throw new FileNotFoundException($"Cannot start '{fileName}'.", fileName);
}

/// <summary>A sysfs that refuses to read some files (root-only attributes seen by a non-root user).</summary>
public sealed class DenyingSysfs : ISysfs
{
    private readonly SysfsTree _inner;
    private readonly Func<string, bool> _deny;

    public DenyingSysfs(string root, Func<string, bool> deny) { _inner = new SysfsTree(root); _deny = deny; }

    public string Root => _inner.Root;
    public bool Exists(string path) => _inner.Exists(path);
    public string? ReadText(string path) => _deny(path) ? throw new UnauthorizedAccessException("Permission denied: " + path) : _inner.ReadText(path);
    public IReadOnlyList<string> List(string directory) => _inner.List(directory);
    public string? LinkTargetName(string path) => _inner.LinkTargetName(path);
}

/// <summary>Records mount calls; fails the calls listed in <see cref="Fail"/> with the given errno.</summary>
public sealed class FakeMountApi : IMountApi
{
    public List<string> Calls { get; } = new();
    public Dictionary<string, int> Fail { get; } = new();
    public List<string> Messages { get; } = new();

    private void Maybe(string call)
    {
        if (Fail.TryGetValue(call, out int errno)) throw new SyscallException(call, errno);
    }

    public void Mount(string source, string target, string fileSystemType, ulong flags, string? data)
    {
        Calls.Add($"mount({source}, {target}, {fileSystemType}, {flags}, {data})");
        Maybe("mount");
    }

    public void Unmount(string target, int flags)
    {
        Calls.Add($"umount2({target}, {flags})");
        Maybe("umount2");
    }

    public SafeFileHandle FsOpen(string fileSystemType)
    {
        Calls.Add($"fsopen({fileSystemType})");
        if (Fail.TryGetValue("fsopen", out int e)) throw new SyscallException($"fsopen(\"{fileSystemType}\")", e);
        return new SafeFileHandle(new IntPtr(-1), ownsHandle: false);
    }

    public void FsConfig(SafeHandle fsContext, FsConfigCommand command, string? key, string? value, SafeHandle? fd)
    {
        Calls.Add($"fsconfig({command}, {key}, {value}{(fd is null ? "" : ", fd")})");
        if (command == FsConfigCommand.CreateSuperblock) Maybe("create");
        else Maybe("fsconfig");
    }

    public SafeFileHandle FsMount(SafeHandle fsContext, uint attributes)
    {
        Calls.Add($"fsmount({attributes})");
        Maybe("fsmount");
        return new SafeFileHandle(new IntPtr(-1), ownsHandle: false);
    }

    public void MoveMount(SafeHandle mountFd, string target)
    {
        Calls.Add($"move_mount({target})");
        Maybe("move_mount");
    }

    /// <summary>The file GetDmaBuf opens as "the mount's dma-buf" (an image file plays the buffer); null: ENOENT.</summary>
    public string? DmaBufFile { get; set; }

    public SafeFileHandle GetDmaBuf(string pathInMount)
    {
        Calls.Add($"ioctl(DAXFS_IOC_GET_DMABUF, {pathInMount})");
        Maybe("ioctl");
        if (DmaBufFile is null) throw new SyscallException("ioctl(DAXFS_IOC_GET_DMABUF)", Errno.ENOENT);
        return File.OpenHandle(DmaBufFile, FileMode.Open, FileAccess.Read);
    }

    public IReadOnlyList<string> ReadMessages(SafeHandle fsContext)
    {
        var m = Messages.ToList();
        Messages.Clear();
        return m;
    }
}

/// <summary>A kernel log whose lines appear when a mount call fails (what daxfs does with pr_err).</summary>
public sealed class FakeKernelLog : IKernelLog
{
    /// <summary>Lines already in the log before any watch starts: a watch must not report them.</summary>
    public List<string> Before { get; } = new();
    /// <summary>Lines logged during the watched call.</summary>
    public List<string> During { get; } = new();
    public int Watches { get; private set; }

    public IKernelLogWatch Watch()
    {
        Watches++;
        return new W(this);
    }

    private sealed class W : IKernelLogWatch
    {
        private readonly FakeKernelLog _log;
        private bool _read;
        public W(FakeKernelLog log) { _log = log; }
        public IReadOnlyList<string> ReadNew()
        {
            if (_read) return Array.Empty<string>();
            _read = true;
            return _log.During.ToList();
        }
        public void Dispose() { }
    }
}

/// <summary>Builds a fake sysfs/dev tree for dax devices.</summary>
public static class FakeHost
{
    public const ulong MiB = 1024 * 1024;

    /// <summary>Adds sys/bus/dax/devices/NAME with its attributes and (optionally) a /dev node that is a plain file.</summary>
    public static void AddDaxDevice(TempDir root, string name, ulong size, ulong? resource, ulong align = 2 * MiB,
        string driver = "device_dax", bool devNode = true, int targetNode = 0, (ulong Start, ulong End)[]? mappings = null)
    {
        string dir = $"sys/bus/dax/devices/{name}";
        root.File($"{dir}/size", size + "\n");
        root.File($"{dir}/align", align + "\n");
        root.File($"{dir}/target_node", targetNode + "\n");
        root.File($"{dir}/numa_node", targetNode + "\n");
        if (resource is { } r) root.File($"{dir}/resource", $"0x{r:x}\n");
        int i = 0;
        foreach (var (start, end) in mappings ?? Array.Empty<(ulong, ulong)>())
        {
            root.File($"{dir}/mapping{i}/start", $"0x{start:x}\n");
            root.File($"{dir}/mapping{i}/end", $"0x{end:x}\n");
            root.File($"{dir}/mapping{i}/page_offset", "0x0\n");
            i++;
        }
        if (driver.Length > 0)
        {
            string drv = System.IO.Path.Combine(root.Path, "sys/bus/dax/drivers", driver);
            Directory.CreateDirectory(drv);
            File.CreateSymbolicLink(System.IO.Path.Combine(root.Path, dir, "driver"), drv);
        }
        if (devNode)
        {
            string node = root.File($"dev/{name}");
            using var f = new FileStream(node, FileMode.Create);
            f.SetLength((long)size);
        }
    }

    public static LinuxContext Context(TempDir root, ICommandRunner? runner = null, IMountApi? mountApi = null, bool isRoot = true,
        string? mountInfo = null, IKernelLog? kernelLog = null) => new()
    {
        Sysfs = new SysfsTree(root.Path),
        DevRoot = System.IO.Path.Combine(root.Path, "dev"),
        Runner = runner ?? new MissingToolRunner(),
        MountApi = mountApi ?? new FakeMountApi(),
        MountInfoPath = mountInfo ?? root.File("mountinfo", ""),
        IsRoot = () => isRoot,
        DmaHeap = new MemfdDmaHeap(),
        KernelLog = kernelLog ?? new FakeKernelLog(),
    };
}
