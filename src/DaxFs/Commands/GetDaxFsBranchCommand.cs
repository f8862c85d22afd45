using System.Management.Automation;
using DaxFs.Core.Branches;
using DaxFs.Core.Errors;
using DaxFs.Core.Format;
using DaxFs.Core.Read;
using DaxFs.Internal;

namespace DaxFs.Commands;

/// <summary>Get-DaxFsBranch: the branch records of a branching image, offline, and with -Log their delta-log entries.</summary>
[Cmdlet(VerbsCommon.Get, "DaxFsBranch")]
[OutputType(typeof(DaxFsBranch), typeof(DaxFsDeltaLogEntry))]
public sealed class GetDaxFsBranchCommand : DaxFsImageCmdlet
{
    /// <summary>Image files (or memory dumps) to read; from the pipeline as paths, FileInfo or DaxFsImage objects.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Path", "FullName", "ImagePath", "LiteralPath")]
    [SupportsWildcards]
    public DaxFsImageSource[] Image { get; set; } = Array.Empty<DaxFsImageSource>();

    /// <summary>Only branches whose name matches (wildcards).</summary>
    [Parameter(Position = 1)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(BranchNameCompleter))]
    public string[]? Name { get; set; }

    /// <summary>The delta-log entries of each branch instead of the branch records.</summary>
    [Parameter]
    public SwitchParameter Log { get; set; }

    protected override void ProcessRecord()
    {
        var patterns = Name?.Select(n => new WildcardPattern(n, WildcardOptions.CultureInvariant)).ToArray();
        foreach (var source in Image)
        {
            foreach (var path in ResolveImagePaths(source))
            {
                var reader = OpenImage(path);
                if (reader is null) continue;
                if (reader.Generation != DaxFsFormat.Format5)
                {
                    WriteError(Errors.NoBranchesInFormat8(path));
                    continue;
                }
                Guard(path, () => Emit(reader, path, patterns));
            }
        }
    }

    private void Emit(DaxFsImageReader reader, string path, WildcardPattern[]? patterns)
    {
        var branches = BranchTable.Read(reader);
        if (reader.Mode == DaxFsImageMode.Static)
        {
            WriteVerbose($"'{path}' is a static image: it has no branch table (build one with New-DaxFsImage -Branching).");
            return;
        }
        var selected = branches.Where(b => patterns is null || patterns.Any(p => p.IsMatch(b.Name))).ToList();
        if (patterns is not null && selected.Count == 0)
        {
            WriteError(Errors.Make(ErrorIds.BranchNotFound, ErrorCategory.ObjectNotFound, string.Join(",", Name!),
                $"No branch of '{path}' matches '{string.Join("', '", Name!)}'. Branches: {(branches.Count == 0 ? "none yet (the kernel creates main at the first mount)" : string.Join(", ", branches.Select(b => b.Name)))}."));
            return;
        }
        if (!Log)
        {
            foreach (var b in selected)
            {
                int? count = null;
                try { count = BranchTable.ReadLog(reader, b).Count; }
                catch (DaxFsFormatException ex) { WriteWarning($"Branch '{b.Name}' of '{path}': its delta log is damaged ({ex.Message}, rule {ex.RuleId}); run Test-DaxFsImage -Detailed."); }
                WriteObject(DaxFsBranch.From(b, count, path));
            }
            return;
        }

        // Paths: every base inode's first name, then names created along each branch's chain (parents first).
        var basePaths = new Dictionary<ulong, string> { [DaxFsConstants.RootInode] = "/" };
        foreach (var item in reader.Walk("/", recurse: true, cancellationToken: Cancellation.Token))
            basePaths.TryAdd(item.Ino, item.FullName);
        var byId = branches.Where(b => b.Id != 0).GroupBy(b => b.Id).ToDictionary(g => g.Key, g => g.First());
        foreach (var b in selected)
        {
            var paths = new Dictionary<ulong, string>(basePaths);
            var chain = new List<BranchInfo>();
            for (var c = b; c is not null && chain.Count < 256; c = c.ParentId != 0 && byId.TryGetValue(c.ParentId, out var p) ? p : null) chain.Insert(0, c);
            foreach (var c in chain)
            {
                foreach (var e in BranchTable.ReadLog(reader, c))
                {
                    if (e.NewIno is ulong ino && e.Name is string n && e.ParentIno is ulong parent && e.Kind is DeltaKind.Create or DeltaKind.Mkdir or DeltaKind.Symlink)
                        paths[ino] = (paths.TryGetValue(parent, out var pp) ? pp.TrimEnd('/') : $"<inode {parent}>") + "/" + n;
                    if (e.Kind == DeltaKind.Rename && e.NewName is string nn && e.NewParentIno is ulong np && e.NewIno is ulong rino)
                        paths[rino] = (paths.TryGetValue(np, out var pp) ? pp.TrimEnd('/') : $"<inode {np}>") + "/" + nn;
                    if (c != b) continue;
                    WriteObject(new DaxFsDeltaLogEntry
                    {
                        Branch = b.Name, Kind = e.Kind.ToString(), Inode = e.Ino, Path = paths.TryGetValue(e.NewIno ?? e.Ino, out var ip) ? ip : null,
                        Time = e.Time, ParentInode = e.ParentIno, NewInode = e.NewIno, Name = e.Name, NewName = e.NewName, NewParentInode = e.NewParentIno,
                        Target = e.Target, FileOffset = e.FileOffset, Length = e.Length, NewSize = e.NewSize, Mode = e.Mode, Uid = e.Uid, Gid = e.Gid,
                        Changed = e.Valid?.ToString(), Offset = e.Offset, EntrySize = e.TotalSize, ImagePath = path,
                    });
                }
            }
        }
    }
}
