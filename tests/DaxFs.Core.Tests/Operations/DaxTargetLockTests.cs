using DaxFs.Core.Errors;
using System.Diagnostics;
using DaxFs.Core.Linux;
using DaxFs.Core.Operations;
using DaxFs.Core.Tests.Linux;
using static DaxFs.Core.Tests.Linux.FakeHost;

namespace DaxFs.Core.Tests.Operations;

/// <summary>The advisory lock on a target's node: writers exclusive, readers shared, refusals name the holder.</summary>
public class DaxTargetLockTests
{
    private static DaxMemoryTarget FileTarget(TempDir dir)
    {
        string path = dir.File("node.bin");
        File.WriteAllBytes(path, new byte[8192]);
        return DaxMemoryTargets.ForFile(path);
    }

    [Fact]
    public void A_second_writer_is_refused_naming_the_holder_and_may_go_once_it_is_released()
    {
        using var dir = new TempDir();
        var target = FileTarget(dir);
        using (var first = DaxTargetLock.Acquire(target, exclusive: true, "write an image to it"))
        {
            Assert.True(first.IsHeld);
            var ex = Assert.Throws<DaxLinuxException>(() => DaxTargetLock.Acquire(target, exclusive: true, "write an image to it"));
            Assert.Equal("TargetInUse", ex.ErrorId);
            Assert.Equal(DaxErrorKind.TargetInUse, ex.Kind);
            Assert.Equal(Errno.EBUSY, ex.Errno);
            Assert.Equal(target.Description, ex.Target);
            Assert.Contains($"Process {Environment.ProcessId} (", ex.Message);
            Assert.Contains("is writing to it", ex.Message);
            Assert.Contains("will not write an image to it now", ex.Message);
            Assert.Contains($"Wait for process {Environment.ProcessId} to finish", ex.Message);
            Assert.Equal(NextStep.WaitForProcess, ex.NextStep);
            Assert.Equal(Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture), ex.NextStepSubject);
            // A reader is refused too while a writer holds it.
            Assert.Equal("TargetInUse", Assert.Throws<DaxLinuxException>(() => DaxTargetLock.Acquire(target, exclusive: false, "mount it")).ErrorId);
        }
        using var again = DaxTargetLock.Acquire(target, exclusive: true, "write an image to it");
        Assert.True(again.IsHeld);
    }

    [Fact]
    public void Readers_share_and_keep_a_writer_out()
    {
        using var dir = new TempDir();
        var target = FileTarget(dir);
        using var a = DaxTargetLock.Acquire(target, exclusive: false, "mount it");
        using var b = DaxTargetLock.Acquire(target, exclusive: false, "copy the image from it");
        var ex = Assert.Throws<DaxLinuxException>(() => DaxTargetLock.Acquire(target, exclusive: true, "write an image to it"));
        Assert.Contains("is reading it", ex.Message);
    }

    [Fact]
    public void A_dma_buf_is_not_locked()
    {
        using var fd = new Microsoft.Win32.SafeHandles.SafeFileHandle((IntPtr)(-1), ownsHandle: false);
        using var l = DaxTargetLock.Acquire(DaxMemoryTargets.ForDmaBuf(fd, 4096, "dma-buf"), exclusive: true, "write an image to it");
        Assert.False(l.IsHeld);
    }

    [Fact]
    public void The_holder_in_another_process_is_named_with_its_pid_and_command_line()
    {
        using var dir = new TempDir();
        var target = FileTarget(dir);
        // util-linux flock(1) takes the same kind of lock DaxFs takes and holds it while its command runs.
        var psi = new ProcessStartInfo("flock") { RedirectStandardOutput = true };
        foreach (var a in new[] { "--exclusive", "--no-fork", target.NodePath, "sh", "-c", "echo locked; exec sleep 60" }) psi.ArgumentList.Add(a);
        using var holder = Process.Start(psi)!;
        try
        {
            Assert.Equal("locked", holder.StandardOutput.ReadLine());
            // flock(1) took the lock, then (--no-fork) exec'd sh, which execs sleep: one pid throughout. While sh execs
            // sleep, /proc/PID/cmdline is briefly empty (the message then says "(no command line)", seen once in CI), so
            // wait for sleep before asking.
            var waited = Stopwatch.StartNew();
            while (DaxTargetLock.CommandLine(holder.Id) != "sleep 60" && waited.Elapsed < TimeSpan.FromSeconds(30)) Thread.Sleep(10);
            var ex = Assert.Throws<DaxLinuxException>(() => DaxMemoryWriter.Write(new MemoryStream(new byte[4096]), 4096, target));
            Assert.Equal("TargetInUse", ex.ErrorId);
            Assert.Contains($"Process {holder.Id} (sleep 60) is writing to it", ex.Message);
            Assert.StartsWith($"{target.Description} is in use by another process, so DaxFs will not write an image to it now", ex.Message);
        }
        finally { holder.Kill(entireProcessTree: true); holder.WaitForExit(); }
        Assert.All(File.ReadAllBytes(target.NodePath), b => Assert.Equal(0, b)); // nothing was written (.NET's own opens flock too)
        // The lock went with the killed process.
        Assert.True(DaxMemoryWriter.Write(new MemoryStream(new byte[4096]), 4096, target).Verified);
    }
}
