using System.Management.Automation;
using System.Text;
using DaxFs.Core.Errors;
using DaxFs.Core.Format;
using DaxFs.Core.Read;
using DaxFs.Internal;

namespace DaxFs.Commands;

/// <summary>Get-DaxFsContent: the content of files inside an image, as lines, one string, or bytes.</summary>
[Cmdlet(VerbsCommon.Get, "DaxFsContent", DefaultParameterSetName = PathSet)]
[OutputType(typeof(string), typeof(byte[]))]
public sealed class GetDaxFsContentCommand : DaxFsImageCmdlet
{
    private const string PathSet = "Path";
    private const string ItemSet = "Item";
    private const int MaxSymlinkHops = 40;

    [Parameter(Mandatory = true, Position = 0, ParameterSetName = PathSet)]
    [Alias("FullName", "ImagePath")]
    public DaxFsImageSource Image { get; set; } = null!;

    [Parameter(Mandatory = true, Position = 1, ParameterSetName = PathSet)]
    [ArgumentCompleter(typeof(ImageItemPathCompleter))]
    public string[] Path { get; set; } = Array.Empty<string>();

    /// <summary>Items from Get-DaxFsItem.</summary>
    [Parameter(Mandatory = true, ParameterSetName = ItemSet, ValueFromPipeline = true)]
    public DaxFsItem InputObject { get; set; } = null!;

    /// <summary>The whole content as one string (or one byte array with -AsByteStream).</summary>
    [Parameter]
    public SwitchParameter Raw { get; set; }

    /// <summary>The content as bytes: one byte[] per file.</summary>
    [Parameter]
    public SwitchParameter AsByteStream { get; set; }

    /// <summary>Only the first N lines (or bytes with -AsByteStream).</summary>
    [Parameter]
    [Alias("First", "Head")]
    [ValidateRange(0, long.MaxValue)]
    public long TotalCount { get; set; } = -1;

    [Parameter]
    public string? BackingFile { get; set; }

    /// <summary>Read the files as this branch shows them (its chain's logs replayed over the base image). Items from Get-DaxFsItem -Branch carry their branch.</summary>
    [Parameter]
    [ArgumentCompleter(typeof(BranchNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string? Branch { get; set; }

    protected override void ProcessRecord()
    {
        if (ParameterSetName == ItemSet)
        {
            var tree = OpenTree(InputObject.ImagePath, BackingFile is null ? null : ResolveFileSystemPath(BackingFile), Branch ?? InputObject.Branch);
            if (tree is not null) Emit(tree, InputObject.ImagePath, InputObject.FullName);
            return;
        }
        foreach (var imagePath in ResolveImagePaths(Image))
        {
            var tree = OpenTree(imagePath, BackingFile is null ? Image.BackingFile : ResolveFileSystemPath(BackingFile), Branch);
            if (tree is null) continue;
            foreach (var p in Path) Emit(tree, imagePath, DaxFsImageReader.NormalizePath(p));
        }
    }

    private void Emit(IImageTree tree, string imagePath, string path) => Guard(imagePath, () =>
    {
        var item = ResolveLinks(tree, path);
        if (item is null)
        {
            WriteError(Errors.ItemNotFound(imagePath, path));
            return;
        }
        ulong ino = item.Ino;
        var type = item.Type;
        if (type != DaxFsItemType.File)
        {
            WriteError(Errors.Make(ErrorIds.ItemNotAFile, ErrorCategory.InvalidArgument, path,
                $"'{path}' in '{imagePath}' is a {type}, not a file. List it with Get-DaxFsItem instead."));
            return;
        }
        Stream stream;
        try { stream = tree.OpenContent(ino); }
        catch (InvalidOperationException ex)
        {
            WriteError(Errors.Make(ErrorIds.BackingFileRequired, ErrorCategory.ResourceUnavailable, imagePath,
                $"{ex.Message} Pass it with -BackingFile.", ex));
            return;
        }
        using (stream)
        {
            if (AsByteStream) WriteBytes(stream);
            else WriteText(stream);
        }
    });

    private void WriteBytes(Stream stream)
    {
        long n = TotalCount >= 0 ? Math.Min(TotalCount, stream.Length) : stream.Length;
        if (n > Array.MaxLength)
            throw new PSInvalidOperationException("The file is too large for one byte array; use -TotalCount or Export-DaxFsItem.");
        var bytes = new byte[n];
        stream.ReadExactly(bytes);
        WriteObject(bytes, enumerateCollection: false);
    }

    private void WriteText(Stream stream)
    {
        using var text = new StreamReader(stream, new UTF8Encoding(false), detectEncodingFromByteOrderMarks: true);
        if (Raw)
        {
            WriteObject(text.ReadToEnd());
            return;
        }
        long count = 0;
        string? line;
        while ((TotalCount < 0 || count < TotalCount) && (line = text.ReadLine()) is not null)
        {
            Cancellation.Token.ThrowIfCancellationRequested();
            WriteObject(line);
            count++;
        }
    }

    /// <summary>Follows symlinks inside the image (relative to their directory; absolute from the image root).</summary>
    private static ImageItem? ResolveLinks(IImageTree tree, string path)
    {
        for (int hop = 0; hop <= MaxSymlinkHops; hop++)
        {
            var item = tree.GetItem(path);
            if (item is null) return null;
            if (item.Type != DaxFsItemType.SymbolicLink) return item;
            string target = Encoding.UTF8.GetString(item.TargetBytes ?? tree.ReadSymlinkTarget(item.Ino));
            string dir = path[..Math.Max(path.LastIndexOf('/'), 0)];
            path = DaxFsImageReader.NormalizePath(target.StartsWith('/') ? target : dir + "/" + target);
        }
        throw new PSInvalidOperationException($"Too many levels of symbolic links at '{path}' (more than {MaxSymlinkHops}).");
    }
}
