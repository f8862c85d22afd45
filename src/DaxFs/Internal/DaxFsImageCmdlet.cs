using System.Management.Automation;
using DaxFs.Core.Format;
using DaxFs.Core.Read;

namespace DaxFs.Internal;

/// <summary>
/// Shared image resolution for cmdlets that read images: path (relative, ~, PSDrive, wildcards), FileInfo or
/// DaxFsImage → open readers (cached per path for the cmdlet's lifetime), and their errors.
/// </summary>
public abstract class DaxFsImageCmdlet : PSCmdlet, IDisposable
{
    private readonly Dictionary<string, DaxFsImageReader> _readers = new(StringComparer.Ordinal);
    private protected readonly CancellationTokenSource Cancellation = new();

    /// <summary>Resolves an image parameter value to provider paths (wildcards expand unless literal).</summary>
    private protected IReadOnlyList<string> ResolveImagePaths(DaxFsImageSource source)
    {
        if (source.IsLiteral) return new[] { source.Path };
        try
        {
            var resolved = GetResolvedProviderPathFromPSPath(source.Path, out var provider);
            if (provider.Name != "FileSystem")
                ThrowTerminatingError(Errors.Make("ImageNotOnFileSystem", ErrorCategory.InvalidArgument, source.Path,
                    $"'{source.Path}' is on the {provider.Name} provider; an image must be a file."));
            return resolved;
        }
        catch (ItemNotFoundException ex)
        {
            ThrowTerminatingError(Errors.ImageNotFound(source.Path, ex));
            throw; // unreachable
        }
    }

    /// <summary>Opens (or reuses) the reader for an image path; terminating errors for missing or malformed images.</summary>
    private protected DaxFsImageReader OpenImage(string path, string? backingFile = null)
    {
        if (_readers.TryGetValue(path, out var cached)) return cached;
        try
        {
            if (Directory.Exists(path))
                ThrowTerminatingError(Errors.Make("ImageIsDirectory", ErrorCategory.InvalidArgument, path,
                    $"'{path}' is a directory, not an image. To build an image from it, run New-DaxFsImage -Path '{path}'."));
            var reader = DaxFsImageReader.Open(path, backingFile);
            _readers[path] = reader;
            return reader;
        }
        catch (DaxFsFormatException ex) { ThrowTerminatingError(Errors.InvalidImage(ex, path)); throw; }
        catch (FileNotFoundException ex) { ThrowTerminatingError(Errors.ImageNotFound(path, ex)); throw; }
        catch (DirectoryNotFoundException ex) { ThrowTerminatingError(Errors.ImageNotFound(path, ex)); throw; }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { ThrowTerminatingError(Errors.ImageUnreadable(path, ex)); throw; }
    }

    /// <summary>Runs an enumeration of the engine, turning format errors into terminating InvalidData errors.</summary>
    private protected void Guard(string imagePath, Action action)
    {
        try { action(); }
        catch (DaxFsFormatException ex) { ThrowTerminatingError(Errors.InvalidImage(ex, imagePath)); }
        catch (OperationCanceledException) when (Cancellation.IsCancellationRequested) { }
    }

    private protected string ResolveFileSystemPath(string path) => GetUnresolvedProviderPathFromPSPath(path);

    protected override void StopProcessing() => Cancellation.Cancel();

    protected override void EndProcessing() => CloseReaders();

    private void CloseReaders()
    {
        foreach (var r in _readers.Values) r.Dispose();
        _readers.Clear();
    }

    public void Dispose()
    {
        CloseReaders();
        Cancellation.Dispose();
        GC.SuppressFinalize(this);
    }
}
