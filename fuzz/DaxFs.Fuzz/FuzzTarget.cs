using DaxFs.Core.Format;
using DaxFs.Core.Read;
using DaxFs.Core.Validate;

namespace DaxFs.Fuzz;

/// <summary>What one input did: opened and read completely, or refused by the reader with a format error.</summary>
public readonly record struct FuzzOutcome(bool Opened, bool ReadCompletely, string? RejectedRule, int Items, int Findings, bool ValidatorSafe)
{
    public override string ToString() =>
        (ReadCompletely ? $"read {Items} items" : Opened ? $"opened, then refused ({RejectedRule}) after {Items} items" : $"refused at open ({RejectedRule})")
        + $"; validator: {Findings} findings{(ValidatorSafe ? ", safe" : "")}";
}

/// <summary>
/// An input broke the engine's contract in a way that is not an exception of its own: the validator threw, or two
/// ways of reading the same thing disagreed. Always a crash.
/// </summary>
public sealed class FuzzContractException : Exception
{
    public FuzzContractException(string message, Exception? inner = null) : base(message, inner)
    {
    }
}

/// <summary>
/// The fuzz entry point: open → walk everything → read every file and symlink → validate, on the input bytes.
/// </summary>
/// <remarks>
/// <para>Allowed outcomes: the reader refuses the image with <see cref="DaxFsFormatException"/> (at open or at any
/// later step), and <see cref="FileNotFoundException"/> from a path lookup of a name that does not round-trip through
/// a path (names that are not UTF-8 or hold '\'). Everything else escapes <see cref="Run"/> and is a crash: any other
/// exception from the reader, any exception at all from the validator (it reports findings, it never throws; its
/// out-of-bounds safety net is turned into an exception here so a missing bounds check is found), and disagreements
/// between two views of the same bytes (a symlink target as walked and as read, a file as a span and as a stream).</para>
/// <para>When <paramref name="cancellationToken"/> is cancelled the walk and the validation stop with
/// <see cref="OperationCanceledException"/>; runners cancel after a generous time and report the input as a hang.</para>
/// </remarks>
public static class FuzzTarget
{
    /// <summary>Lookups by path are quadratic in a wide directory: only the first items are looked up again.</summary>
    public const int LookupLimit = 64;

    /// <summary>
    /// A backing file for split images (regular-file data read through <see cref="DaxFsImageReader.OpenContent"/>);
    /// null reads no split content. Set once by a runner before fuzzing.
    /// </summary>
    public static string? BackingFile { get; set; }

    public static FuzzOutcome Run(byte[] data, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(data);
        var read = ReadEverything(data, cancellationToken);
        var (findings, safe) = ValidateAll(data, cancellationToken);
        return read with { Findings = findings, ValidatorSafe = safe };
    }

    private static (int Count, bool Safe) ValidateAll(byte[] data, CancellationToken ct)
    {
        long? backingLength = BackingFile is null ? null : new FileInfo(BackingFile).Length;
        IReadOnlyList<ValidationFinding> findings;
        try
        {
            findings = ImageValidator.Validate(new ByteImageMemory(data, "(fuzz input)"), new ValidationOptions
            {
                CancellationToken = ct,
                BackingFileLength = backingLength,
                ThrowOnMissedBoundsCheck = true,
            });
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex)
        {
            throw new FuzzContractException($"The validator threw {ex.GetType().Name}: {ex.Message}", ex);
        }
        foreach (var f in findings)
        {
            if (string.IsNullOrEmpty(f.RuleId) || string.IsNullOrEmpty(f.Message))
                throw new FuzzContractException("The validator made a finding without a rule id or message.");
        }
        return (findings.Count, ImageValidator.IsSafe(findings));
    }

    private static FuzzOutcome ReadEverything(byte[] data, CancellationToken ct)
    {
        DaxFsImageReader reader;
        try
        {
            reader = DaxFsImageReader.Open(new ByteImageMemory(data, "(fuzz input)"), BackingFile);
        }
        catch (DaxFsFormatException ex)
        {
            return new FuzzOutcome(false, false, ex.RuleId, 0, 0, false);
        }

        int items = 0;
        using (reader)
        {
            try
            {
                Touch(reader);
                var root = reader.GetItem("/") ?? throw new FuzzContractException("GetItem(\"/\") returned null on an opened image.");
                if (root.Ino != reader.RootInode || root.Type != DaxFsItemType.Directory)
                    throw new FuzzContractException($"GetItem(\"/\") gave inode {root.Ino} ({root.Type}), not the root directory {reader.RootInode}.");

                // Paths met more than once (duplicate names, or names that decode alike): a lookup finds the first.
                var seen = new HashSet<string>(StringComparer.Ordinal);
                var ambiguous = new HashSet<string>(StringComparer.Ordinal);
                foreach (var item in reader.Walk("/", recurse: true, cancellationToken: ct))
                {
                    items++;
                    if (!seen.Add(item.FullName)) ambiguous.Add(item.FullName);
                    ReadItem(reader, item, items <= LookupLimit, Unambiguous(item.FullName, ambiguous), ct);
                }

                // Other shapes of walk over the same tree: children only, and a depth limit.
                int top = 0;
                foreach (var item in reader.Walk("/", recurse: false, cancellationToken: ct))
                {
                    if (item.Depth != 0) throw new FuzzContractException($"A non-recursive walk gave '{item.FullName}' at depth {item.Depth}.");
                    top++;
                }
                foreach (var item in reader.Walk("/", recurse: true, depth: 1, cancellationToken: ct))
                {
                    if (item.Depth > 1) throw new FuzzContractException($"A walk limited to depth 1 gave '{item.FullName}' at depth {item.Depth}.");
                }
                _ = top;
                return new FuzzOutcome(true, true, null, items, 0, false);
            }
            catch (DaxFsFormatException ex)
            {
                return new FuzzOutcome(true, false, ex.RuleId, items, 0, false);
            }
        }
    }

    private static void Touch(DaxFsImageReader reader)
    {
        _ = reader.Superblock;
        _ = reader.Base;
        _ = reader.Mode;
        _ = reader.HasExternalData;
        _ = reader.InodeCount;
        _ = reader.GetInode(reader.RootInode);
    }

    /// <summary>True when neither the path nor any of its ancestors was walked twice (all siblings come before any descendant).</summary>
    private static bool Unambiguous(string path, HashSet<string> ambiguous)
    {
        if (ambiguous.Count == 0) return true;
        for (int i = path.Length; i > 0; i = path.LastIndexOf('/', i - 1))
        {
            if (ambiguous.Contains(path[..i])) return false;
            if (i == 0) break;
        }
        return true;
    }

    private static void ReadItem(DaxFsImageReader reader, ImageItem item, bool lookUp, bool unique, CancellationToken ct)
    {
        _ = item.Name;
        _ = item.ParentPath;
        _ = item.Target;
        var inode = reader.GetInode((uint)item.Ino); // base-image items: inode numbers are u32
        if (inode != item.Inode)
            throw new FuzzContractException($"'{item.FullName}': the walk's inode record differs from GetInode({item.Ino}).");

        switch (item.Type)
        {
            case DaxFsItemType.File:
                ReadFile(reader, item);
                break;
            case DaxFsItemType.SymbolicLink:
                var target = reader.ReadSymlinkTarget(item.Ino);
                if (item.TargetBytes is null || !target.AsSpan().SequenceEqual(item.TargetBytes))
                    throw new FuzzContractException($"'{item.FullName}': the symlink target read twice differs.");
                break;
            case DaxFsItemType.Directory:
                long entries = 0;
                foreach (var e in reader.ReadDirectory(item.Ino))
                {
                    if ((++entries & 0xFF) == 0) ct.ThrowIfCancellationRequested();
                    _ = e.Name;
                }
                break;
        }

        if (!lookUp) return;
        // Names that are not UTF-8, or hold '\', do not round-trip through a path: a miss is allowed, a wrong hit is
        // not, unless the path was walked twice (then a lookup finds the first).
        bool exact = unique && RoundTrips(item);
        bool found = reader.TryLookup(item.FullName, out uint ino);
        if (exact && !found)
            throw new FuzzContractException($"'{item.FullName}' was walked as inode {item.Ino} but does not look up.");
        if (exact && ino != item.Ino)
            throw new FuzzContractException($"'{item.FullName}' was walked as inode {item.Ino} but looks up as inode {ino}.");
        var again = reader.GetItem(item.FullName);
        if (exact && (again is null || again.Ino != item.Ino))
            throw new FuzzContractException($"GetItem('{item.FullName}') gave inode {again?.Ino.ToString() ?? "nothing"}, the walk {item.Ino}.");
        if (item.Type == DaxFsItemType.Directory)
        {
            try
            {
                foreach (var child in reader.Walk(item.FullName, recurse: false, cancellationToken: ct))
                    _ = child.Name;
            }
            catch (FileNotFoundException) when (!exact)
            {
            }
        }
    }

    /// <summary>True when every name on the item's path survives UTF-8 decoding and path splitting unchanged.</summary>
    private static bool RoundTrips(ImageItem item) =>
        !item.FullName.Contains('\uFFFD') && !item.FullName.Contains('\\');

    private static void ReadFile(DaxFsImageReader reader, ImageItem item)
    {
        ulong size = item.Inode.Size;
        byte[]? viaSpan = null;
        if (!reader.HasExternalData && size <= int.MaxValue)
            viaSpan = reader.GetContentSpan(item.Ino).ToArray();
        if (reader.HasExternalData && reader.BackingFile is null) return;

        using var stream = reader.OpenContent(item.Ino);
        if ((ulong)stream.Length != size)
            throw new FuzzContractException($"'{item.FullName}': the content stream is {stream.Length} bytes, the inode says {size}.");
        var buffer = new byte[Math.Min(64 * 1024, Math.Max(1, (long)Math.Min(size, int.MaxValue)))];
        long total = 0;
        int n;
        while ((n = stream.Read(buffer, 0, buffer.Length)) > 0)
        {
            if ((ulong)(total + n) > size)
                throw new FuzzContractException($"'{item.FullName}': the content stream gives more than the file's {size} bytes.");
            if (viaSpan is not null && !buffer.AsSpan(0, n).SequenceEqual(viaSpan.AsSpan((int)total, n)))
                throw new FuzzContractException($"'{item.FullName}': the content stream and the content span differ at byte {total}.");
            total += n;
        }
        if ((ulong)total != size)
            throw new FuzzContractException($"'{item.FullName}': read {total} bytes of a {size}-byte file.");
    }
}
