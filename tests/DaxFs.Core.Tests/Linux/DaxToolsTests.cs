using DaxFs.Core.Errors;
using DaxFs.Core.Linux;
using static DaxFs.Core.Tests.Linux.DaxToolJsonTests;

namespace DaxFs.Core.Tests.Linux;

public class DaxToolsTests
{
    [Fact]
    public void Lists_never_pass_human_flag_and_ask_one_kind()
    {
        var runner = FakeRunner.Returning(Fixture("daxctl-list-devices-mappings.devdax.json"));
        var tools = new DaxTools(runner, "/opt/ndctl", "/opt/daxctl");
        Assert.Single(tools.ListDaxDevices());
        runner = FakeRunner.Returning(Fixture("ndctl-list-N.devdax.json"));
        tools = new DaxTools(runner, "/opt/ndctl", "/opt/daxctl");
        Assert.Single(tools.ListNamespaces("region0"));
        var (file, args) = Assert.Single(runner.Calls);
        Assert.Equal("/opt/ndctl", file);
        Assert.Equal(new[] { "list", "--namespaces", "--region=region0" }, args);
        Assert.DoesNotContain("-u", args);
        Assert.DoesNotContain("--human", args);
    }

    [Fact]
    public void Empty_output_with_exit_zero_is_zero_results_even_with_a_warning()
    {
        var tools = new DaxTools(FakeRunner.Returning("", 0, "  Warning: no namespaces found\n"));
        Assert.Empty(tools.ListNamespaces());
    }

    [Theory]
    [InlineData("daxctl-reconfigure.enxio-250.stderr", 250, Errno.ENXIO)]
    [InlineData("daxctl-reconfigure-system-ram.autoonline-240.stderr", 240, Errno.EBUSY)]
    [InlineData("daxctl-reconfigure-system-ram.nokmem-254.stderr", 254, Errno.ENOENT)]
    public void Daxctl_failures_carry_exit_code_errno_and_summary(string stderrFixture, int exit, int errno)
    {
        string stderr = Fixture(stderrFixture);
        var tools = new DaxTools(FakeRunner.Returning("", exit, stderr));
        var cmd = tools.ReconfigureDaxDeviceCommand("dax0.0", DaxDeviceModes.SystemRam);
        var ex = Assert.Throws<DaxLinuxException>(() => tools.Run(cmd));
        Assert.Equal("DaxctlFailed", ex.ErrorId);
        Assert.Equal(DaxErrorKind.ToolFailed, ex.Kind);
        Assert.Equal(errno, ex.Errno);
        Assert.Equal(exit, ex.ToolExitCode);
        Assert.Equal("dax0.0", ex.Target);
        Assert.Contains("daxctl reconfigure-device --mode=system-ram dax0.0", ex.Message);
        Assert.Contains($"exit code {exit}", ex.Message);
        Assert.Contains(stderr.Trim().Split('\n')[^1].Trim(), ex.Message);
    }

    [Fact]
    public void Auto_online_refusal_suggests_force()
    {
        var tools = new DaxTools(FakeRunner.Returning("", 240, Fixture("daxctl-reconfigure-system-ram.autoonline-240.stderr")));
        var ex = Assert.Throws<DaxLinuxException>(() => tools.Run(tools.ReconfigureDaxDeviceCommand("dax0.0", "system-ram")));
        Assert.Equal(NextStep.ForceConversion, ex.NextStep);
    }

    [Fact]
    public void Create_namespace_errno_comes_from_the_text_not_the_exit_code()
    {
        // ndctl create-namespace exits 237 (256 − ENODEV) although it says "Invalid argument".
        var tools = new DaxTools(FakeRunner.Returning("", 237, Fixture("ndctl-create-namespace.labelless-237.stderr")));
        var ex = Assert.Throws<DaxLinuxException>(() => tools.Run(tools.CreateNamespaceCommand("region0", "devdax", 64UL << 20, null, null)));
        Assert.Equal("NdctlFailed", ex.ErrorId);
        Assert.Equal(Errno.EINVAL, ex.Errno);
        Assert.Contains("label-less", ex.Message);
        Assert.Equal(NextStep.ReconfigureNamespace, ex.NextStep);
    }

    [Fact]
    public void Exit_code_gives_errno_when_the_text_does_not()
    {
        Assert.Equal(Errno.EBUSY, Errno.FromToolExitCode(240));
        Assert.Equal(Errno.ENXIO, Errno.FromToolExitCode(250));
        Assert.Equal(Errno.EPERM, Errno.FromToolExitCode(255));
        Assert.Equal(0, Errno.FromToolExitCode(1));
        var tools = new DaxTools(FakeRunner.Returning("", 240, "something went wrong\n"));
        var ex = Assert.Throws<DaxLinuxException>(() => tools.Run(tools.DestroyNamespaceCommand("namespace0.0")));
        Assert.Equal(Errno.EBUSY, ex.Errno);
        Assert.Contains("in use", ex.Message);
    }

    [Fact]
    public void Stderr_with_exit_zero_is_not_an_error()
    {
        var tools = new DaxTools(FakeRunner.Returning(Fixture("daxctl-reconfigure-devdax.json"), 0, Fixture("daxctl-reconfigure-devdax.stderr")));
        var result = tools.Run(tools.ReconfigureDaxDeviceCommand("dax0.0", "devdax"));
        Assert.Single(DaxToolJson.ParseDaxDevices(result.StandardOutput));
    }

    [Theory]
    [InlineData("ndctl")]
    [InlineData("daxctl")]
    public void Missing_tool_names_the_debian_package(string tool)
    {
        var tools = new DaxTools(new MissingToolRunner());
        var ex = Assert.Throws<DaxLinuxException>(() => tool == "ndctl" ? tools.ListNamespaces() : (object)tools.ListDaxDevices());
        Assert.Equal(tool == "ndctl" ? "NdctlNotInstalled" : "DaxctlNotInstalled", ex.ErrorId);
        Assert.Equal(DaxErrorKind.ToolNotInstalled, ex.Kind);
        Assert.Contains($"apt-get install {tool}", ex.Message);
    }

    [Fact]
    public void Command_lines_are_exact()
    {
        var tools = new DaxTools(new MissingToolRunner());
        Assert.Equal("ndctl create-namespace --region=region0 --mode=devdax --size=1073741824 --align=2097152",
            tools.CreateNamespaceCommand("region0", "devdax", 1UL << 30, 2UL << 20, null).CommandLine);
        Assert.Equal("ndctl create-namespace --reconfig=namespace0.0 --mode=fsdax --force",
            tools.ReconfigureNamespaceCommand("namespace0.0", "fsdax", null, null, null).CommandLine);
        Assert.Equal("ndctl destroy-namespace --force namespace0.1", tools.DestroyNamespaceCommand("namespace0.1").CommandLine);
        Assert.Equal("daxctl reconfigure-device --mode=system-ram --no-online --force dax0.0",
            tools.ReconfigureDaxDeviceCommand("dax0.0", "system-ram", noOnline: true, force: true).CommandLine);
        Assert.Equal("ndctl create-namespace --region=region0 --mode=devdax --name='my pool'",
            tools.CreateNamespaceCommand("region0", "devdax", null, null, "my pool").CommandLine);
    }

    [Fact]
    public void Real_runner_reads_both_streams_and_the_exit_code()
    {
        if (!OperatingSystem.IsLinux() || !File.Exists("/bin/sh")) return;
        var r = ProcessCommandRunner.Instance.Run("/bin/sh", new[] { "-c", "printf '[1]'; printf 'warn\\n' >&2; exit 3" });
        Assert.Equal(3, r.ExitCode);
        Assert.Equal("[1]", r.StandardOutput);
        Assert.Equal("warn\n", r.StandardError);
    }

    [Fact]
    public void Real_runner_reports_a_missing_program_as_not_found()
    {
        Assert.Throws<FileNotFoundException>(() => ProcessCommandRunner.Instance.Run("/nonexistent/ndctl", Array.Empty<string>()));
    }

    [Fact]
    public void Real_runner_survives_large_output_on_both_streams()
    {
        if (!OperatingSystem.IsLinux() || !File.Exists("/bin/sh")) return;
        // 1 MiB on each stream: a runner that reads them one after the other deadlocks here.
        var r = ProcessCommandRunner.Instance.Run("/bin/sh", new[] { "-c", "head -c 1048576 /dev/zero | tr '\\0' e >&2; head -c 1048576 /dev/zero | tr '\\0' o" });
        Assert.Equal(0, r.ExitCode);
        Assert.Equal(1048576, r.StandardOutput.Length);
        Assert.Equal(1048576, r.StandardError.Length);
    }
}
