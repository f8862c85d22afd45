using System.Diagnostics;
using DaxFs.Core.Build;

namespace DaxFs.Core.Tests.Build;

/// <summary>
/// A build's temporary file names its process (pid and start time); the next build of the same destination removes those of
/// processes that no longer run, reports those it cannot prove stale, and never touches those of running builds.
/// </summary>
public sealed class StaleTemporaryFileTests : IDisposable
{
    private readonly string _work = Directory.CreateTempSubdirectory("daxfs-stale-").FullName;
    public void Dispose() => Directory.Delete(_work, recursive: true);

    private string Dest => Path.Combine(_work, "image.daxfs");

    private static int DeadPid()
    {
        using var p = Process.Start(new ProcessStartInfo("true"))!;
        p.WaitForExit();
        return p.Id; // reaped: nothing runs under this pid now (unless reused at once, which the start time catches)
    }

    private string Touch(string name, int bytes = 10)
    {
        string p = Path.Combine(_work, name);
        File.WriteAllBytes(p, new byte[bytes]);
        return p;
    }

    [Fact]
    public void The_name_carries_this_process_and_its_start_time()
    {
        string name = Path.GetFileName(StaleTemporaryFiles.NewName(Dest));
        Assert.Matches($@"^\.image\.daxfs\.{Environment.ProcessId}-{StaleTemporaryFiles.StartTime(Environment.ProcessId)}\.[0-9a-f]{{12}}\.tmp$", name);
        Assert.NotEqual(name, Path.GetFileName(StaleTemporaryFiles.NewName(Dest)));
    }

    [Fact]
    public void Removes_files_of_dead_or_reused_pids_reports_old_names_and_leaves_running_builds_and_other_files()
    {
        int dead = DeadPid();
        ulong self = StaleTemporaryFiles.StartTime(Environment.ProcessId)!.Value;
        string ofDead = Touch($".image.daxfs.{dead}-12345.0123456789ab.tmp", 4096);
        string ofReused = Touch($".image.daxfs.{Environment.ProcessId}-{self + 1}.0123456789ab.tmp"); // this pid, another start: a reused pid
        string running = Touch($".image.daxfs.{Environment.ProcessId}-{self}.0123456789ab.tmp");
        string legacy = Touch(".image.daxfs.abcdefabcdef.tmp");
        string otherImage = Touch($".other.daxfs.{dead}-12345.0123456789ab.tmp");
        string notOurs = Touch($".image.daxfs.{dead}-12345.tmp");

        var found = StaleTemporaryFiles.Clean(Dest).OrderBy(f => f.Path, StringComparer.Ordinal).ToList();

        Assert.Equal(3, found.Count);
        Assert.Contains(found, f => f.Path == ofDead && f.Removed && f.ProcessId == dead && f.Length == 4096);
        Assert.Contains(found, f => f.Path == ofReused && f.Removed && f.ProcessId == Environment.ProcessId);
        Assert.Contains(found, f => f.Path == legacy && !f.Removed && f.ProcessId is null);
        Assert.False(File.Exists(ofDead));
        Assert.False(File.Exists(ofReused));
        Assert.True(File.Exists(running));
        Assert.True(File.Exists(legacy));
        Assert.True(File.Exists(otherImage));
        Assert.True(File.Exists(notOurs));
    }

    [Fact]
    public void A_build_removes_what_a_killed_build_of_its_destination_left_and_says_so()
    {
        string src = Directory.CreateDirectory(Path.Combine(_work, "src")).FullName;
        File.WriteAllText(Path.Combine(src, "a"), "hello");
        string left = Touch($".image.daxfs.{DeadPid()}-1.0123456789ab.tmp", 1 << 20);
        var result = new ImageBuilder(new ImageBuildOptions { SourcePath = src, Destination = Dest }).Build();
        var s = Assert.Single(result.StaleTemporaryFiles);
        Assert.Equal(left, s.Path);
        Assert.True(s.Removed);
        Assert.False(File.Exists(left));
        Assert.Equal(new[] { "image.daxfs", "src" }, Directory.GetFileSystemEntries(_work).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Start_time_is_null_for_a_process_that_does_not_run()
    {
        Assert.Null(StaleTemporaryFiles.StartTime(DeadPid()));
        Assert.NotNull(StaleTemporaryFiles.StartTime(Environment.ProcessId));
    }
}
