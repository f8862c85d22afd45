using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using DaxFs.Core.Errors;

namespace DaxFs.Core.Linux;

/// <summary>fsconfig(2) commands.</summary>
public enum FsConfigCommand : uint
{
    SetFlag = 0,
    SetString = 1,
    SetBinary = 2,
    SetPath = 3,
    SetPathEmpty = 4,
    SetFd = 5,
    CreateSuperblock = 6,
    Reconfigure = 7,
}

/// <summary>One fsconfig(2) call: a flag, a string, an fd, or the create command.</summary>
public sealed record FsParameter(FsConfigCommand Command, string? Key, string? Value = null, SafeHandle? Fd = null)
{
    public static FsParameter Flag(string key) => new(FsConfigCommand.SetFlag, key);
    public static FsParameter String(string key, string value) => new(FsConfigCommand.SetString, key, value);
    public static FsParameter FileDescriptor(string key, SafeHandle fd) => new(FsConfigCommand.SetFd, key, null, fd);

    public override string ToString() => Command switch
    {
        FsConfigCommand.SetFlag => $"FSCONFIG_SET_FLAG \"{Key}\"",
        FsConfigCommand.SetString => $"FSCONFIG_SET_STRING \"{Key}\"=\"{Value}\"",
        FsConfigCommand.SetFd => $"FSCONFIG_SET_FD \"{Key}\"=fd {(Fd is null || Fd.IsInvalid ? "?" : Fd.DangerousGetHandle().ToString())}",
        _ => $"{Command} \"{Key}\"",
    };
}

/// <summary>
/// The mount system calls: mount(2), umount2(2) and the new mount API (fsopen, fsconfig, fsmount, move_mount). Each
/// method throws <see cref="SyscallException"/> with the errno on failure; nothing else.
/// </summary>
public interface IMountApi
{
    void Mount(string source, string target, string fileSystemType, ulong flags, string? data);
    void Unmount(string target, int flags);
    SafeFileHandle FsOpen(string fileSystemType);
    void FsConfig(SafeHandle fsContext, FsConfigCommand command, string? key, string? value, SafeHandle? fd);
    SafeFileHandle FsMount(SafeHandle fsContext, uint attributes);
    /// <summary>move_mount(mountFd, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH).</summary>
    void MoveMount(SafeHandle mountFd, string target);
    /// <summary>The messages the kernel queued on an fs context ("e daxfs: …", "w …", "i …"), oldest first; reading drains them.</summary>
    IReadOnlyList<string> ReadMessages(SafeHandle fsContext);
    /// <summary>The dma-buf behind a daxfs mount: ioctl(DAXFS_IOC_GET_DMABUF) on <paramref name="pathInMount"/> (any file or
    /// directory of the mount). The kernel answers ENOENT when the mount was not made from a dma-buf.</summary>
    SafeFileHandle GetDmaBuf(string pathInMount);
}

/// <summary>mount(2) flags and MOUNT_ATTR_* values this module uses.</summary>
public static class MountFlags
{
    public const ulong MS_RDONLY = 1, MS_REMOUNT = 32;
    public const uint MOUNT_ATTR_RDONLY = 1;
    public const uint MOVE_MOUNT_F_EMPTY_PATH = 4;
    public const int MNT_FORCE = 1, MNT_DETACH = 2, UMOUNT_NOFOLLOW = 8;
}

/// <summary>The real system calls.</summary>
public sealed unsafe class LinuxMountApi : IMountApi
{
    public static LinuxMountApi Instance { get; } = new();

    public void Mount(string source, string target, string fileSystemType, ulong flags, string? data)
    {
        if (Syscalls.mount(source, target, fileSystemType, flags, data) != 0)
            throw new SyscallException("mount", Syscalls.LastErrno, $"type {fileSystemType} on {target}");
    }

    public void Unmount(string target, int flags)
    {
        if (Syscalls.umount2(target, flags) != 0)
            throw new SyscallException("umount2", Syscalls.LastErrno, target);
    }

    public SafeFileHandle FsOpen(string fileSystemType)
    {
        int fd = Syscalls.FsOpen(fileSystemType, Syscalls.FSOPEN_CLOEXEC);
        if (fd < 0) throw new SyscallException($"fsopen(\"{fileSystemType}\")", Syscalls.LastErrno);
        return new SafeFileHandle((IntPtr)fd, ownsHandle: true);
    }

    public void FsConfig(SafeHandle fsContext, FsConfigCommand command, string? key, string? value, SafeHandle? fd)
    {
        int aux = 0;
        bool added = false;
        try
        {
            if (fd is not null)
            {
                fd.DangerousAddRef(ref added);
                aux = (int)fd.DangerousGetHandle();
            }
            if (Syscalls.FsConfig(fsContext, (uint)command, key, value, aux) != 0)
                throw new SyscallException("fsconfig", Syscalls.LastErrno, key is null ? command.ToString() : $"{command} {key}");
        }
        finally { if (added) fd!.DangerousRelease(); }
    }

    public SafeFileHandle FsMount(SafeHandle fsContext, uint attributes)
    {
        int fd = Syscalls.FsMount(fsContext, Syscalls.FSMOUNT_CLOEXEC, attributes);
        if (fd < 0) throw new SyscallException("fsmount", Syscalls.LastErrno);
        return new SafeFileHandle((IntPtr)fd, ownsHandle: true);
    }

    public void MoveMount(SafeHandle mountFd, string target)
    {
        if (Syscalls.MoveMount(mountFd, "", Syscalls.AT_FDCWD, target, MountFlags.MOVE_MOUNT_F_EMPTY_PATH) != 0)
            throw new SyscallException("move_mount", Syscalls.LastErrno, target);
    }

    public SafeFileHandle GetDmaBuf(string pathInMount)
    {
        using var fd = Syscalls.Open(pathInMount, Syscalls.O_RDONLY);
        int buf = Syscalls.ioctl(fd, Syscalls.DAXFS_IOC_GET_DMABUF, null);
        if (buf < 0) throw new SyscallException("ioctl(DAXFS_IOC_GET_DMABUF)", Syscalls.LastErrno, pathInMount);
        return new SafeFileHandle((IntPtr)buf, ownsHandle: true);
    }

    public IReadOnlyList<string> ReadMessages(SafeHandle fsContext)
    {
        var messages = new List<string>();
        var buffer = new byte[4096];
        for (int i = 0; i < 64; i++) // the kernel keeps at most 8; never loop forever
        {
            nint n;
            fixed (byte* p = buffer) n = Syscalls.read(fsContext, p, buffer.Length);
            if (n <= 0) break; // ENODATA: no more messages
            messages.Add(System.Text.Encoding.UTF8.GetString(buffer, 0, (int)n).TrimEnd('\n', '\0'));
        }
        return messages;
    }
}

/// <summary>
/// The new mount API as one sequence: fsopen → fsconfig per parameter → FSCONFIG_CMD_CREATE → fsmount → move_mount.
/// On failure the kernel's messages are read from the context and travel in the exception, so the operator sees the
/// file system's own reason.
/// </summary>
public static class NewMountApi
{
    /// <summary>The calls as an operator would read them (for -WhatIf and -Verbose).</summary>
    public static string Describe(string fileSystemType, IEnumerable<FsParameter> parameters, uint attributes, string target)
    {
        var parts = new List<string> { $"fsopen(\"{fileSystemType}\")" };
        parts.AddRange(parameters.Select(p => $"fsconfig({p})"));
        parts.Add("fsconfig(FSCONFIG_CMD_CREATE)");
        parts.Add((attributes & MountFlags.MOUNT_ATTR_RDONLY) != 0 ? "fsmount(MOUNT_ATTR_RDONLY)" : "fsmount(0)");
        parts.Add($"move_mount(→ {target}, MOVE_MOUNT_F_EMPTY_PATH)");
        return string.Join(", ", parts);
    }

    /// <summary>
    /// Mounts <paramref name="fileSystemType"/> at <paramref name="target"/>. Throws <see cref="DaxLinuxException"/>:
    /// ModuleNotLoaded when fsopen answers ENODEV, MountPointNotFound/MountPointBusy for the target, MountRefused for the
    /// rest, each carrying the kernel's messages: the fs context's, else the file system's lines in
    /// <paramref name="kernelLog"/> (a watch started before the call).
    /// </summary>
    public static void Mount(IMountApi api, string fileSystemType, IReadOnlyList<FsParameter> parameters, uint attributes, string target,
        IKernelLogWatch? kernelLog = null)
    {
        SafeFileHandle fsfd;
        try { fsfd = api.FsOpen(fileSystemType); }
        catch (SyscallException ex) { throw MountErrors.FromSyscall(ex, fileSystemType, target, Array.Empty<string>()); }

        using (fsfd)
        {
            string step = "fsopen";
            try
            {
                foreach (var p in parameters)
                {
                    step = $"fsconfig({p})";
                    api.FsConfig(fsfd, p.Command, p.Key, p.Value, p.Fd);
                }
                step = "fsconfig(FSCONFIG_CMD_CREATE)";
                api.FsConfig(fsfd, FsConfigCommand.CreateSuperblock, null, null, null);
                step = "fsmount";
                using var mfd = api.FsMount(fsfd, attributes);
                step = "move_mount";
                api.MoveMount(mfd, target);
            }
            catch (SyscallException ex)
            {
                IReadOnlyList<string> messages;
                try { messages = api.ReadMessages(fsfd); }
                catch (SyscallException) { messages = Array.Empty<string>(); }
                var logged = kernelLog is null ? Array.Empty<string>() : KernelLogRecord.Of(kernelLog.ReadNew(), fileSystemType);
                throw MountErrors.FromSyscall(ex, fileSystemType, target, messages, step, logged);
            }
        }
    }
}

/// <summary>errno of mount calls → the errors an operator meets, with what to do.</summary>
public static class MountErrors
{
    /// <param name="kernelLog">The file system's lines in the kernel log during the call: the reason when the fs
    /// context holds none (daxfs logs with pr_err only).</param>
    public static DaxLinuxException FromSyscall(SyscallException ex, string fileSystemType, string target, IReadOnlyList<string> messages, string? step = null,
        IReadOnlyList<string>? kernelLog = null)
    {
        int e = ex.ErrorNumber;
        if (messages.Count == 0 && kernelLog is { Count: > 0 }) messages = kernelLog;
        string said = messages.Count > 0 ? " The kernel said: " + string.Join(" | ", messages.Select(StripPrefix)) + "." : "";
        string call = step ?? ex.Call;
        bool atFsOpen = ex.Call.StartsWith("fsopen", StringComparison.Ordinal);
        bool moving = call == "move_mount" || ex.Call == "mount";

        if ((atFsOpen && e == Errno.ENODEV) || (ex.Call == "mount" && e == Errno.ENODEV && messages.Count == 0 && fileSystemType == "daxfs"))
            return new DaxLinuxException(DaxErrorKind.ModuleNotLoaded, fileSystemType == "daxfs" ? ErrorIds.DaxFsModuleNotLoaded : ErrorIds.FileSystemNotSupported,
                fileSystemType == "daxfs"
                    ? $"The daxfs kernel module is not loaded (the kernel does not know the file system type 'daxfs': {Errno.Describe(e)}). Load it with 'modprobe daxfs' (or 'insmod daxfs.ko'), then retry."
                    : $"The kernel does not know the file system type '{fileSystemType}' ({Errno.Describe(e)}). Load its module with 'modprobe {fileSystemType}'.",
                fileSystemType, e, ex) { KernelMessages = messages };
        if (e is Errno.EPERM or Errno.EACCES && (atFsOpen || ex.Call == "mount"))
            return new DaxLinuxException(DaxErrorKind.NotRoot, ErrorIds.NotRoot,
                $"{call} was refused ({Errno.Describe(e)}): mounting needs root (CAP_SYS_ADMIN). Run PowerShell as root.{said}", target, e, ex) { KernelMessages = messages };
        if (moving && e is Errno.ENOENT or Errno.ENOTDIR)
            return new DaxLinuxException(DaxErrorKind.MountPointNotFound, ErrorIds.MountPointNotFound,
                $"The mount point '{target}' does not exist or is not a directory ({Errno.Describe(e)}).{said}",
                target, e, ex) { KernelMessages = messages, NextStep = NextStep.CreateMountPoint };
        if (e == Errno.EBUSY)
            return new DaxLinuxException(DaxErrorKind.MountPointBusy, ErrorIds.MountPointBusy,
                $"{call} answered {Errno.Describe(e)}: the mount point '{target}' or the memory is in use (already mounted?).{said}",
                target, e, ex) { KernelMessages = messages, NextStep = NextStep.CheckMounts };
        return new DaxLinuxException(DaxErrorKind.MountRefused, ErrorIds.MountFailed,
            $"The kernel refused to mount {fileSystemType} at '{target}': {call} failed with {Errno.Describe(e)}.{(said.Length > 0 ? said : " It gave no reason here; the kernel log has it: dmesg | tail.")}",
            target, e, ex) { KernelMessages = messages };
    }

    /// <summary>"e daxfs: bad value" → "daxfs: bad value" (keeps warnings marked).</summary>
    public static string StripPrefix(string message) =>
        message.Length > 2 && message[1] == ' ' && message[0] is 'e' or 'i' ? message[2..] :
        message.Length > 2 && message[1] == ' ' && message[0] == 'w' ? "warning: " + message[2..] : message;
}
