using System.Management.Automation;
using DaxFs.Core.Errors;
using DaxFs.Core.Format;
using DaxFs.Core.Overlay;
using DaxFs.Core.Read;
using DaxFs.Internal;

namespace DaxFs.Commands;

/// <summary>Get-DaxFsOverlay: the state of a format-8 image's shared overlay, offline.</summary>
[Cmdlet(VerbsCommon.Get, "DaxFsOverlay")]
[OutputType(typeof(DaxFsOverlay))]
public sealed class GetDaxFsOverlayCommand : DaxFsImageCmdlet
{
    /// <summary>Images (files, device nodes, daxfs mount points, dma-bufs); from the pipeline as paths, FileInfo or DaxFsImage objects.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Path", "FullName", "ImagePath", "LiteralPath")]
    [SupportsWildcards]
    public DaxFsImageSource[] Image { get; set; } = Array.Empty<DaxFsImageSource>();

    protected override void ProcessRecord()
    {
        foreach (var source in Image)
        {
            foreach (var path in ResolveImagePaths(source))
            {
                var reader = OpenImage(path, source.BackingFile);
                if (reader is null || !HasOverlay(this, reader, path)) continue;
                if (OpenMountedTree(path, reader) is not OverlayView view) continue;
                Guard(path, () => WriteObject(From(view, path)));
            }
        }
    }

    /// <summary>Writes a non-terminating error and returns false when the image has no overlay to show.</summary>
    internal static bool HasOverlay(PSCmdlet cmdlet, DaxFsImageReader reader, string path)
    {
        if (reader.Generation != DaxFsFormat.Format8)
        {
            cmdlet.WriteError(Errors.Make(ErrorIds.NoOverlayInFormat5, ErrorCategory.InvalidOperation, path,
                $"'{path}' is a DAXFS format-5 image: format 5 has no overlay; its writes live in branches. List them with Get-DaxFsBranch and their changes with Compare-DaxFsBranch."));
            return false;
        }
        if (!reader.HasOverlay)
        {
            cmdlet.WriteError(Errors.Make(ErrorIds.ImageHasNoOverlay, ErrorCategory.InvalidOperation, path,
                $"'{path}' is a static format-8 image: it has no overlay region, so a mount of it is read-only. Build one with an overlay (mkdaxfs -D/-H with -O, or --empty) to take writes."));
            return false;
        }
        return true;
    }

    private DaxFsOverlay From(OverlayView view, string path)
    {
        var s = OverlayState.Of(view);
        var lost = view.FindLostAppends().ToList();
        var lostText = new List<string>();
        if (lost.Count > 0)
        {
            var paths = new Dictionary<ulong, string>();
            foreach (var item in view.Walk("/", cancellationToken: Cancellation.Token))
                if (!item.Unreachable) paths.TryAdd(item.Ino, item.FullName);
            foreach (var l in lost.OrderBy(l => l.Ino).ThenBy(l => l.Page))
                lostText.Add($"{(paths.TryGetValue(l.Ino, out var p) ? p : $"inode {l.Ino}")}: {l.BytesPastSize} bytes past its size {l.Size} in page {l.Page}");
            WriteWarning($"'{path}': {lost.Count} base file(s) hold appended bytes a mount does not show (the kernel stored no new size; see LostAppends and about_DaxFs).");
        }
        return new DaxFsOverlay
        {
            ImagePath = path, Mode = view.Reader.Mode,
            PoolSize = Clamp(s.PoolSize), PoolUsed = Clamp(s.PoolUsed), PoolFree = Clamp(s.PoolFree),
            Buckets = s.BucketCount, BucketsUsed = s.BucketsUsed,
            InodeEntries = s.InodeEntries, DataPages = s.DataPages, Dirents = s.Dirents, Tombstones = s.Tombstones, DirectoryLists = s.DirLists,
            NextInode = Clamp(s.NextIno),
            FreeInodes = s.FreeInode.Length, FreeDataPages = s.FreeData.Length, FreeDirents = s.FreeDirent.Length,
            LostAppends = lostText.ToArray(),
        };
    }

    private static long Clamp(ulong v) => v > long.MaxValue ? long.MaxValue : (long)v;
}
