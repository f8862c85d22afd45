using DaxFs.Core.Errors;
using DaxFs.Core.Format;

namespace DaxFs.Core.Linux;

/// <summary>What went wrong in the Linux layer; the cmdlets turn each kind into an ErrorRecord category.</summary>
public enum DaxErrorKind
{
    /// <summary>The operation needs root (CAP_SYS_ADMIN) and the process is not root.</summary>
    NotRoot,
    /// <summary>ndctl or daxctl is not installed.</summary>
    ToolNotInstalled,
    /// <summary>ndctl or daxctl ran and failed (exit code 256 − errno).</summary>
    ToolFailed,
    /// <summary>A tool printed something that is not the JSON it documents.</summary>
    ToolOutputInvalid,
    /// <summary>The daxfs kernel module is not loaded (the kernel does not know the file system type).</summary>
    ModuleNotLoaded,
    /// <summary>No such dax device, namespace, region or heap.</summary>
    NotFound,
    /// <summary>The dax device is in system-ram mode: it is ordinary RAM now and has no /dev node to map.</summary>
    DeviceInSystemRam,
    /// <summary>A dax device made of several physical ranges: a phys= mount cannot describe it.</summary>
    DeviceMultiRange,
    /// <summary>The image does not fit in the target.</summary>
    ImageTooLarge,
    /// <summary>The target does not hold a DAXFS image (bad magic or version).</summary>
    NoImageAtTarget,
    /// <summary>The image breaks a validation rule that makes it unsafe or wrong to mount (the mount gate).</summary>
    ImageInvalid,
    /// <summary>The mount point does not exist or is not a directory.</summary>
    MountPointNotFound,
    /// <summary>The mount point is in use (already a mount point, or busy).</summary>
    MountPointBusy,
    /// <summary>The path is not a mount point, or not a daxfs mount.</summary>
    NotMounted,
    /// <summary>What was read back differs from what was written.</summary>
    VerifyFailed,
    /// <summary>A physical range cannot be reached from user space (/dev/mem refuses and no device holds it).</summary>
    PhysicalRangeUnreachable,
    /// <summary>The kernel refused for lack of permission (EPERM/EACCES) although the process may be root.</summary>
    PermissionDenied,
    /// <summary>A bad argument (size, alignment, option).</summary>
    InvalidArgument,
    /// <summary>The kernel refused a mount (EINVAL and friends); the reason is in its messages or dmesg.</summary>
    MountRefused,
    /// <summary>Any other failed system call.</summary>
    SystemCallFailed,
    /// <summary>A branch cannot be created, committed or aborted (name, parent, slots, delta space, state).</summary>
    BranchRefused,
    /// <summary>Another process holds the target's lock (it is writing to it, or reading it while this would write).</summary>
    TargetInUse,
}

/// <summary>
/// The one exception the Linux layer throws for conditions an operator can act on. <see cref="ErrorId"/> is stable
/// (tests assert it); the message says what to do next.
/// </summary>
public sealed class DaxLinuxException : Exception
{
    public DaxLinuxException(DaxErrorKind kind, string errorId, string message, string? target = null, int errno = 0, Exception? inner = null)
        : base(message, inner)
    {
        Kind = kind;
        ErrorId = errorId;
        Target = target;
        Errno = errno;
    }

    public DaxErrorKind Kind { get; }

    /// <summary>A stable id such as <c>DaxctlNotInstalled</c> or <c>DaxFsModuleNotLoaded</c>.</summary>
    public string ErrorId { get; }

    /// <summary>The device, path or range that failed (for the ErrorRecord's target).</summary>
    public string? Target { get; }

    /// <summary>The errno behind the failure, 0 when none.</summary>
    public int Errno { get; }

    /// <summary>The validator's findings behind an ImageFailsValidation refusal (errors and warnings), in the order made.</summary>
    public IReadOnlyList<ValidationFinding> Findings { get; init; } = Array.Empty<ValidationFinding>();

    /// <summary>Kernel messages that came with the failure (new mount API), one line each.</summary>
    public IReadOnlyList<string> KernelMessages { get; init; } = Array.Empty<string>();

    /// <summary>Stderr of a failed tool.</summary>
    public string? ToolStandardError { get; init; }

    /// <summary>Exit code of a failed tool.</summary>
    public int? ToolExitCode { get; init; }

    /// <summary>What to do next when it is a command of the module; the module words it (<see cref="WithNextStep"/>).</summary>
    public NextStep NextStep { get; init; }

    /// <summary>What the next step acts on when it is not <see cref="Target"/> (the process to wait for).</summary>
    public string? NextStepSubject { get; init; }

    /// <summary>This error with <paramref name="text"/> (the worded <see cref="NextStep"/>) after its message: the same id, kind,
    /// target, errno, inner exception and facts, its next step done.</summary>
    public DaxLinuxException WithNextStep(string text)
    {
        var copy = new DaxLinuxException(Kind, ErrorId, Message.TrimEnd() + " " + text.Trim(), Target, Errno, InnerException)
        {
            Findings = Findings, KernelMessages = KernelMessages, ToolStandardError = ToolStandardError, ToolExitCode = ToolExitCode,
            NextStep = NextStep.None, NextStepSubject = NextStepSubject,
        };
        foreach (System.Collections.DictionaryEntry e in Data) copy.Data[e.Key] = e.Value;
        return copy;
    }
}

/// <summary>A failed system call: its name, errno and the kernel's text for the errno.</summary>
public sealed class SyscallException : Exception
{
    public SyscallException(string call, int errno, string? detail = null)
        : base($"{call} failed: {Errno.Describe(errno)}{(detail is null ? "" : " (" + detail + ")")}")
    {
        Call = call;
        ErrorNumber = errno;
    }

    public string Call { get; }
    public int ErrorNumber { get; }
}

/// <summary>errno values (the same on every Linux architecture .NET runs on) and their names.</summary>
public static class Errno
{
    public const int EPERM = 1, ENOENT = 2, EINTR = 4, EIO = 5, ENXIO = 6, EBADF = 9, EAGAIN = 11, ENOMEM = 12, EACCES = 13,
        EFAULT = 14, EBUSY = 16, EEXIST = 17, ENODEV = 19, ENOTDIR = 20, EISDIR = 21, EINVAL = 22, ENOTTY = 25, ENOSPC = 28,
        EROFS = 30, EPIPE = 32, ERANGE = 34, ENAMETOOLONG = 36, ENOSYS = 38, ENODATA = 61, EOPNOTSUPP = 95, ESTALE = 116,
        EXDEV = 18, EMFILE = 24, EDQUOT = 122;

    private static readonly Dictionary<int, string> s_names = new()
    {
        [EPERM] = "EPERM", [ENOENT] = "ENOENT", [EINTR] = "EINTR", [EIO] = "EIO", [ENXIO] = "ENXIO", [EBADF] = "EBADF",
        [EAGAIN] = "EAGAIN", [ENOMEM] = "ENOMEM", [EACCES] = "EACCES", [EFAULT] = "EFAULT", [EBUSY] = "EBUSY",
        [EEXIST] = "EEXIST", [ENODEV] = "ENODEV", [ENOTDIR] = "ENOTDIR", [EISDIR] = "EISDIR", [EINVAL] = "EINVAL",
        [ENOTTY] = "ENOTTY", [ENOSPC] = "ENOSPC", [EROFS] = "EROFS", [EPIPE] = "EPIPE", [ERANGE] = "ERANGE", [ENOSYS] = "ENOSYS",
        [ENODATA] = "ENODATA", [EOPNOTSUPP] = "EOPNOTSUPP", [ENAMETOOLONG] = "ENAMETOOLONG", [ESTALE] = "ESTALE",
        [EXDEV] = "EXDEV", [EMFILE] = "EMFILE", [EDQUOT] = "EDQUOT",
    };

    /// <summary>The symbolic name (ENODEV) or "errno N".</summary>
    public static string Name(int errno) => s_names.TryGetValue(errno, out var n) ? n : "errno " + errno;

    /// <summary>"ENODEV, No such device".</summary>
    public static string Describe(int errno)
    {
        string text;
        try { text = System.Runtime.InteropServices.Marshal.GetPInvokeErrorMessage(errno); }
        catch { text = string.Empty; }
        return string.IsNullOrEmpty(text) ? Name(errno) : $"{Name(errno)}, {text}";
    }

    /// <summary>The errno whose strerror text ends one of the tool's stderr lines ("…: Device or resource busy"), or 0.</summary>
    public static int FromToolMessage(string stderr)
    {
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        for (int i = lines.Length - 1; i >= 0; i--)
            foreach (var errno in s_names.Keys)
            {
                string text = Text(errno);
                if (text.Length > 0 && lines[i].EndsWith(": " + text, StringComparison.Ordinal)) return errno;
            }
        return 0;
    }

    private static string Text(int errno)
    {
        try { return System.Runtime.InteropServices.Marshal.GetPInvokeErrorMessage(errno); }
        catch { return string.Empty; }
    }

    /// <summary>ndctl and daxctl exit with (256 − errno) &amp; 0xff; this recovers errno (0 when the code is not of that form).</summary>
    public static int FromToolExitCode(int exitCode) => exitCode is >= 123 and <= 255 ? 256 - exitCode : 0;
}
