using System.Management.Automation;
using DaxFs.Core.Errors;
using DaxFs.Core.Format;

namespace DaxFs.Internal;

/// <summary>ErrorRecords with stable ids, real categories, the failing object as target and a next step.</summary>
internal static class Errors
{
    public static ErrorRecord Make(string id, ErrorCategory category, object? target, string message, Exception? inner = null)
    {
        var ex = inner is null ? new InvalidOperationException(message) : new InvalidOperationException(message, inner);
        return new ErrorRecord(ex, id, category, target);
    }

    public static ErrorRecord Make(Exception exception, string id, ErrorCategory category, object? target) =>
        new(exception, id, category, target);

    public static ErrorRecord InvalidImage(DaxFsFormatException ex, string imagePath) =>
        new(new InvalidDataException(
                $"'{imagePath}' is not a valid DAXFS image: {ex.Message} (rule {ex.RuleId}, offset 0x{Math.Max(ex.Offset, 0):x}). " +
                "Run Test-DaxFsImage -Detailed on it for every finding.", ex),
            "InvalidDaxFsImage." + ex.RuleId, ErrorCategory.InvalidData, imagePath);

    public static ErrorRecord ImageNotFound(string path, Exception? inner = null) =>
        new(new FileNotFoundException($"Cannot find the image '{path}'. Check the path, or build one with New-DaxFsImage.", path, inner),
            ErrorIds.ImageNotFound, ErrorCategory.ObjectNotFound, path);

    public static ErrorRecord ImageUnreadable(string path, Exception inner) =>
        new(new IOException($"Cannot open the image '{path}': {inner.Message}", inner),
            ErrorIds.ImageUnreadable, inner is UnauthorizedAccessException ? ErrorCategory.PermissionDenied : ErrorCategory.ReadError, path);

    /// <summary>A branch asked of a format-8 image, which has an overlay instead.</summary>
    public static ErrorRecord NoBranchesInFormat8(string imagePath) =>
        new(new InvalidOperationException(
                $"'{imagePath}' is a DAXFS format-8 image: format 8 has no branches (they were removed with the delta logs). " +
                "Its writes live in the shared overlay instead, which Get-DaxFsItem, Get-DaxFsContent and Export-DaxFsItem show merged " +
                "over the base as a mount shows them; Get-DaxFsOverlay lists the overlay and -Changes what it changed against the base."),
            ErrorIds.Format8HasNoBranches, ErrorCategory.InvalidOperation, imagePath);

    /// <summary>The path given as an image is a directory (ImageIsDirectory) or a FIFO, socket or character device (ImageNotAFile).</summary>
    public static ErrorRecord NotAnImageFile(Core.Read.ImageSourceException ex) =>
        ex.Kind == Core.Read.ImageSourceKind.Directory
            ? new(new Core.Read.ImageSourceException(ex.Path, ex.Kind, ex.Message.TrimEnd() + " " + NextSteps.Text(NextStep.BuildFromDirectory, ex.Path)),
                ErrorIds.ImageIsDirectory, ErrorCategory.InvalidArgument, ex.Path)
            : new(ex, ErrorIds.ImageNotAFile, ErrorCategory.InvalidArgument, ex.Path);

    /// <summary>A path that did not resolve (PathResolver): not there, a dangling link on the way, a link loop, a file used as a directory.</summary>
    public static ErrorRecord PathNotResolved(string imagePath, string itemPath, DaxFs.Core.Read.PathResolution r) => r.Error switch
    {
        DaxFs.Core.Read.PathResolutionError.DanglingLink => new(new ItemNotFoundException(
                $"'{itemPath}' in '{imagePath}': {r.Message} List the image with Get-DaxFsItem -Recurse."),
            ErrorIds.DanglingSymbolicLink, ErrorCategory.ObjectNotFound, itemPath),
        DaxFs.Core.Read.PathResolutionError.TooManyLinks => new(new InvalidOperationException($"'{itemPath}' in '{imagePath}': {r.Message}"),
            ErrorIds.TooManySymbolicLinks, ErrorCategory.InvalidData, itemPath),
        DaxFs.Core.Read.PathResolutionError.NotADirectory => new(new ItemNotFoundException($"'{itemPath}' in '{imagePath}': {r.Message}"),
            ErrorIds.NotADirectoryInImage, ErrorCategory.ObjectNotFound, itemPath),
        _ => ItemNotFound(imagePath, itemPath),
    };

    public static ErrorRecord ItemNotFound(string imagePath, string itemPath) =>
        new(new ItemNotFoundException($"'{itemPath}' does not exist in the image '{imagePath}'. List the image with Get-DaxFsItem -Recurse."),
            ErrorIds.ItemNotFoundInImage, ErrorCategory.ObjectNotFound, itemPath);
}
