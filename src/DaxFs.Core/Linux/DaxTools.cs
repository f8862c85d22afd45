using System.Globalization;
using DaxFs.Core.Errors;

namespace DaxFs.Core.Linux;

/// <summary>One ndctl/daxctl invocation: the program, its argv, what it acts on (a device, namespace or region: the
/// target of its errors) and how an operator would type it.</summary>
public sealed record ToolCommand(string Tool, string FileName, IReadOnlyList<string> Arguments, string? Target = null)
{
    /// <summary>"daxctl reconfigure-device --mode=system-ram dax0.0" (the tool's plain name, not its full path).</summary>
    public string CommandLine => ProcessCommandRunner.FormatCommandLine(Tool, Arguments);

    public override string ToString() => CommandLine;
}

/// <summary>
/// ndctl and daxctl as typed calls. Builds argv (never -u: sizes would turn into strings), runs it through
/// <see cref="ICommandRunner"/>, judges the exit code first (256 − errno on failure; stderr with exit 0 is only a
/// warning) and parses the JSON. Empty output is an empty list.
/// </summary>
public sealed class DaxTools
{
    private readonly ICommandRunner _runner;
    private readonly string _ndctl;
    private readonly string _daxctl;

    public DaxTools(ICommandRunner runner, string ndctlPath = "ndctl", string daxctlPath = "daxctl")
    {
        _runner = runner;
        _ndctl = ndctlPath;
        _daxctl = daxctlPath;
    }

    // ---- commands (built separately so cmdlets can show them under -WhatIf) ----

    public ToolCommand ListDaxDevicesCommand() => new("daxctl", _daxctl, new[] { "list", "--devices", "--mappings" });

    public ToolCommand ReconfigureDaxDeviceCommand(string device, string mode, bool noOnline = false, bool force = false)
    {
        var args = new List<string> { "reconfigure-device", "--mode=" + mode };
        if (noOnline && mode == DaxDeviceModes.SystemRam) args.Add("--no-online");
        if (force) args.Add("--force");
        args.Add(device);
        return new ToolCommand("daxctl", _daxctl, args, device);
    }

    public ToolCommand ListNamespacesCommand(string? region = null, bool idle = false)
    {
        var args = new List<string> { "list", "--namespaces" };
        if (idle) args.Add("--idle");
        if (region is not null) args.Add("--region=" + region);
        return new ToolCommand("ndctl", _ndctl, args, region);
    }

    /// <summary>ndctl list --regions (with --idle: disabled regions too).</summary>
    public ToolCommand ListRegionsCommand(bool idle = false)
    {
        var args = new List<string> { "list", "--regions" };
        if (idle) args.Add("--idle");
        return new ToolCommand("ndctl", _ndctl, args);
    }

    public ToolCommand CreateNamespaceCommand(string region, string mode, ulong? size, ulong? align, string? name)
    {
        var args = new List<string> { "create-namespace", "--region=" + region, "--mode=" + mode };
        AddSizeAlignName(args, size, align, name);
        return new ToolCommand("ndctl", _ndctl, args, region);
    }

    /// <summary>Turns an existing namespace into another mode in place (--reconfig --force): how a label-less NVDIMM
    /// (one raw namespace, no labels) becomes devdax or fsdax. Everything on it is lost.</summary>
    public ToolCommand ReconfigureNamespaceCommand(string @namespace, string mode, ulong? size, ulong? align, string? name)
    {
        var args = new List<string> { "create-namespace", "--reconfig=" + @namespace, "--mode=" + mode, "--force" };
        AddSizeAlignName(args, size, align, name);
        return new ToolCommand("ndctl", _ndctl, args, @namespace);
    }

    /// <summary>Disables and destroys a namespace (--force: even when enabled). Everything on it is lost.</summary>
    public ToolCommand DestroyNamespaceCommand(string @namespace) =>
        new("ndctl", _ndctl, new[] { "destroy-namespace", "--force", @namespace }, @namespace);

    private static void AddSizeAlignName(List<string> args, ulong? size, ulong? align, string? name)
    {
        if (size is { } s) args.Add("--size=" + s.ToString(CultureInfo.InvariantCulture));
        if (align is { } a) args.Add("--align=" + a.ToString(CultureInfo.InvariantCulture));
        if (name is not null) args.Add("--name=" + name);
    }

    // ---- typed calls ----

    public IReadOnlyList<DaxctlDevice> ListDaxDevices(CancellationToken ct = default) =>
        DaxToolJson.ParseDaxDevices(Run(ListDaxDevicesCommand(), ct).StandardOutput);

    public IReadOnlyList<NdctlNamespace> ListNamespaces(string? region = null, bool idle = false, CancellationToken ct = default) =>
        DaxToolJson.ParseNamespaces(Run(ListNamespacesCommand(region, idle), ct).StandardOutput);

    public IReadOnlyList<NdctlRegion> ListRegions(bool idle = false, CancellationToken ct = default) =>
        DaxToolJson.ParseRegions(Run(ListRegionsCommand(idle), ct).StandardOutput);

    /// <summary>Runs create-namespace (a new one, or --reconfig) and returns the namespace it printed.</summary>
    public NdctlNamespace CreateNamespace(ToolCommand command, CancellationToken ct = default)
    {
        var result = Run(command, ct);
        var created = DaxToolJson.ParseNamespaces(result.StandardOutput);
        if (created.Count == 0)
            throw new DaxLinuxException(DaxErrorKind.ToolOutputInvalid, ErrorIds.NdctlOutputInvalid,
                $"'{command.CommandLine}' succeeded but printed no namespace.",
                command.Target ?? command.Tool) { NextStep = NextStep.ListNamespaces };
        return created[0];
    }

    /// <summary>Runs a command; the parsed JSON it printed (the created namespace, the reconfigured devices) is up to the caller.</summary>
    public CommandResult Run(ToolCommand command, CancellationToken ct = default)
    {
        CommandResult result;
        try
        {
            result = _runner.Run(command.FileName, command.Arguments, ct);
        }
        catch (FileNotFoundException ex)
        {
            throw NotInstalled(command.Tool, command.FileName, ex);
        }
        if (result.ExitCode != 0) throw Failed(command, result);
        return result;
    }

    /// <summary>The error for a missing tool, naming the Debian package.</summary>
    public static DaxLinuxException NotInstalled(string tool, string fileName, Exception? inner = null) =>
        new(DaxErrorKind.ToolNotInstalled, tool == "ndctl" ? ErrorIds.NdctlNotInstalled : ErrorIds.DaxctlNotInstalled,
            $"{tool} is not installed{(fileName != tool ? $" (looked for '{fileName}')" : "")}. Install the Debian package: " +
            $"apt-get install {tool}" + (tool == "ndctl" ? " (and daxctl for dax devices)." : "."), tool, Errno.ENOENT, inner);

    /// <summary>The error for a tool that exited non-zero: its exit code, the errno behind it and its summary lines.</summary>
    public static DaxLinuxException Failed(ToolCommand command, CommandResult result)
    {
        // The tools' own last line ("failed to create namespace: Invalid argument") names the errno more reliably
        // than the exit code, which some subcommands compute from other values (create-namespace).
        int errno = Errno.FromToolMessage(result.StandardError) is int fromText and > 0 ? fromText : Errno.FromToolExitCode(result.ExitCode);
        string summary = Summary(result.StandardError);
        string why = $"exit code {result.ExitCode}" + (errno != 0 ? $", {Errno.Name(errno)}" : "");
        bool namesRegion = command.Arguments.Any(a => a.StartsWith("--region=", StringComparison.Ordinal));
        (string next, NextStep step) = errno switch
        {
            _ when result.StandardError.Contains("will auto-online memory", StringComparison.Ordinal) =>
                (" The kernel onlines hot-added memory by itself (memhp_default_state).", NextStep.ForceConversion),
            _ when result.StandardError.Contains("label-less namespaces do not support", StringComparison.Ordinal) =>
                (" This NVDIMM has no labels: reconfigure its one namespace instead.", NextStep.ReconfigureNamespace),
            Errno.EBUSY => (" The device or namespace is in use: unmount file systems on it, stop users of its memory, then retry.", NextStep.None),
            Errno.EPERM or Errno.EACCES => (" Run as root.", NextStep.None),
            Errno.ENOSPC => (" The region has no room for that size.", NextStep.ShowRegionSpace),
            Errno.ENXIO or Errno.ENODEV or Errno.ENOENT when namesRegion => (" Check the region's name.", NextStep.ListRegions),
            Errno.ENXIO or Errno.ENODEV or Errno.ENOENT => (" Check the name.", NextStep.ListDevicesAndNamespaces),
            Errno.EINVAL => (" An argument was refused: check the size and alignment (multiples of the region's align).", NextStep.ShowRegionAlignment),
            _ => ("", NextStep.None),
        };
        return new DaxLinuxException(DaxErrorKind.ToolFailed, command.Tool == "ndctl" ? ErrorIds.NdctlFailed : ErrorIds.DaxctlFailed,
            $"'{command.CommandLine}' failed ({why}){(summary.Length > 0 ? ": " + summary : ".")}{next}",
            command.Target ?? command.Tool, errno)
        {
            ToolExitCode = result.ExitCode,
            ToolStandardError = result.StandardError,
            NextStep = step,
        };
    }

    /// <summary>The tool's own summary: the last few non-empty stderr lines, joined.</summary>
    public static string Summary(string stderr)
    {
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return string.Join(" ", lines.Skip(Math.Max(0, lines.Length - 3)).Select(l => l.EndsWith('.') ? l : l + "."));
    }
}

/// <summary>The two modes of a dax device, spelled as daxctl spells them.</summary>
public static class DaxDeviceModes
{
    public const string DevDax = "devdax";
    public const string SystemRam = "system-ram";
}
