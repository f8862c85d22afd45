using System.ComponentModel;
using System.Diagnostics;
using System.Text;

namespace DaxFs.Core.Linux;

/// <summary>What a finished native command left behind. The exit code comes first: stderr alone never means failure.</summary>
public sealed record CommandResult(int ExitCode, string StandardOutput, string StandardError, string CommandLine)
{
    public bool Succeeded => ExitCode == 0;
}

/// <summary>Runs native tools (ndctl, daxctl). Implementations never go through a shell.</summary>
public interface ICommandRunner
{
    /// <summary>
    /// Runs <paramref name="fileName"/> with <paramref name="arguments"/> (each one argv element) and waits for it.
    /// Throws <see cref="FileNotFoundException"/> when the program cannot be found or started.
    /// </summary>
    CommandResult Run(string fileName, IReadOnlyList<string> arguments, CancellationToken cancellationToken = default);
}

/// <summary>The real runner: <see cref="ProcessStartInfo.ArgumentList"/>, stdout and stderr read concurrently.</summary>
public sealed class ProcessCommandRunner : ICommandRunner
{
    public static ProcessCommandRunner Instance { get; } = new();

    public CommandResult Run(string fileName, IReadOnlyList<string> arguments, CancellationToken cancellationToken = default)
    {
        var psi = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            CreateNoWindow = true,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (var a in arguments) psi.ArgumentList.Add(a);
        // Tools print numbers and messages in the C locale; never a translated or grouped form.
        psi.Environment["LC_ALL"] = "C";
        string commandLine = FormatCommandLine(fileName, arguments);

        Process process;
        try
        {
            process = Process.Start(psi) ?? throw new FileNotFoundException($"Cannot start '{fileName}'.", fileName);
        }
        catch (Win32Exception ex)
        {
            throw new FileNotFoundException($"Cannot start '{fileName}': {ex.Message}", fileName, ex);
        }

        using (process)
        {
            process.StandardInput.Close();
            var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
            var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
            try
            {
                process.WaitForExitAsync(cancellationToken).GetAwaiter().GetResult();
                return new CommandResult(process.ExitCode, stdout.GetAwaiter().GetResult(), stderr.GetAwaiter().GetResult(), commandLine);
            }
            catch (OperationCanceledException)
            {
                try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
                throw;
            }
        }
    }

    /// <summary>
    /// The command line as an operator would type it in a POSIX shell: arguments with spaces or quotes are
    /// single-quoted; for "--option=value" only the value is ("--name='my pool'").
    /// </summary>
    public static string FormatCommandLine(string fileName, IEnumerable<string> arguments)
    {
        var sb = new StringBuilder(Quote(fileName));
        foreach (var a in arguments)
        {
            sb.Append(' ');
            int eq = a.IndexOf('=');
            if (a.StartsWith("--", StringComparison.Ordinal) && eq > 2 && IsPlain(a.AsSpan(0, eq)))
                sb.Append(a, 0, eq + 1).Append(Quote(a[(eq + 1)..]));
            else
                sb.Append(Quote(a));
        }
        return sb.ToString();

        static bool IsPlain(ReadOnlySpan<char> s)
        {
            foreach (char c in s)
                if (!(char.IsAsciiLetterOrDigit(c) || "-_=./,:+@%".Contains(c))) return false;
            return s.Length > 0;
        }

        static string Quote(string s) => IsPlain(s) ? s : "'" + s.Replace("'", "'\\''") + "'";
    }
}
