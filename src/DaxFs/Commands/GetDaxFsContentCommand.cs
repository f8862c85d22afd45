using System.Management.Automation;
using System.Text;
using DaxFs.Core.Errors;
using DaxFs.Core.Format;
using DaxFs.Core.Read;
using DaxFs.Internal;

namespace DaxFs.Commands;

/// <summary>Get-DaxFsContent: the content of files inside an image, as lines, one string, or bytes.</summary>
[Cmdlet(VerbsCommon.Get, "DaxFsContent", DefaultParameterSetName = ItemSet)]
[OutputType(typeof(string), typeof(byte[]))]
public sealed class GetDaxFsContentCommand : DaxFsImageCmdlet
{
    private const string PathSet = "Path";
    private const string ItemSet = "Item";

    /// <summary>The image. From the pipeline: a path, a FileInfo or DaxFsImage, or an item that came back over remoting
    /// (Deserialized.DaxFs.DaxFsItem: its ImagePath, converted by value).</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = PathSet, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("ImagePath")]
    [SupportsWildcards]
    public DaxFsImageSource[] Image { get; set; } = Array.Empty<DaxFsImageSource>();

    /// <summary>Paths inside the image. From the pipeline by property name: an item's FullName (a deserialized DaxFsItem).</summary>
    [Parameter(Mandatory = true, Position = 1, ParameterSetName = PathSet, ValueFromPipelineByPropertyName = true)]
    [Alias("FullName")]
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

    /// <summary>Read the files as this branch shows them (its chain's logs replayed over the base image). Items from Get-DaxFsItem
    /// -Branch carry their branch: it binds by property name (live or deserialized items); an item of the base image has none
    /// (null or empty), which reads the base image as an omitted -Branch does.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(BranchNameCompleter))]
    [AllowNull]
    [AllowEmptyString]
    public string? Branch { get; set; }

    protected override void ProcessRecord()
    {
        string? branch = string.IsNullOrEmpty(Branch) ? null : Branch;
        if (ParameterSetName == ItemSet)
        {
            var tree = OpenTree(InputObject.ImagePath, BackingFile is null ? null : ResolveFileSystemPath(BackingFile), branch ?? InputObject.Branch);
            if (tree is not null) Emit(tree, InputObject.ImagePath, InputObject.FullName, InputObject.FullNameBytes);
            return;
        }
        foreach (var source in Image)
        foreach (var imagePath in ResolveImagePaths(source))
        {
            var tree = OpenTree(imagePath, BackingFile is null ? source.BackingFile : ResolveFileSystemPath(BackingFile), branch);
            if (tree is null) continue;
            foreach (var p in Path) Emit(tree, imagePath, p, System.Text.Encoding.UTF8.GetBytes(p.Replace('\\', '/')));
        }
    }

    private void Emit(IImageTree tree, string imagePath, string path, byte[] rawPath) => Guard(imagePath, () =>
    {
        var resolved = PathResolver.Resolve(tree, rawPath, followLast: true);
        var item = resolved.Item;
        if (item is null)
        {
            WriteError(Errors.PathNotResolved(imagePath, path, resolved));
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
}
