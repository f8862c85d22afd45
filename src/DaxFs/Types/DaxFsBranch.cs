using DaxFs.Core.Branches;
using DaxFs.Core.Format;

namespace DaxFs;

/// <summary>One used record of an image's branch table (Get-DaxFsBranch).</summary>
public sealed class DaxFsBranch
{
    public string Name { get; init; } = string.Empty;
    public ulong Id { get; init; }
    /// <summary>The parent's name; null for main.</summary>
    public string? Parent { get; init; }
    public ulong ParentId { get; init; }
    /// <summary>Active, Committed or Aborted (a <see cref="BranchState"/> name, so that ConvertTo-Json writes it readably).</summary>
    public string State { get; init; } = string.Empty;
    public uint Generation { get; init; }
    public uint RefCount { get; init; }
    public long LogUsed { get; init; }
    public long LogCapacity { get; init; }
    public long LogOffset { get; init; }
    /// <summary>Entries in the delta log (null when the log could not be read).</summary>
    public int? EntryCount { get; init; }
    public long NextLocalIno { get; init; }
    /// <summary>Index in the branch table (0–255).</summary>
    public int Slot { get; init; }
    public string ImagePath { get; init; } = string.Empty;

    public override string ToString() => Name;

    internal static DaxFsBranch From(BranchInfo b, int? entries, string imagePath) => new()
    {
        Name = b.Name, Id = b.Id, Parent = b.ParentName, ParentId = b.ParentId, State = b.State.ToString(), Generation = b.Generation,
        RefCount = b.RefCount, LogUsed = (long)Math.Min(b.LogUsed, long.MaxValue), LogCapacity = (long)Math.Min(b.LogCapacity, long.MaxValue),
        LogOffset = (long)Math.Min(b.LogOffset, long.MaxValue), EntryCount = entries, NextLocalIno = (long)Math.Min(b.NextLocalIno, long.MaxValue),
        Slot = b.Index, ImagePath = imagePath,
    };
}

/// <summary>One delta-log entry of a branch (Get-DaxFsBranch -Log).</summary>
public sealed class DaxFsDeltaLogEntry
{
    public string Branch { get; init; } = string.Empty;
    /// <summary>Write, Create, Delete, ... (a <see cref="DeltaKind"/> name, so that ConvertTo-Json writes it readably).</summary>
    public string Kind { get; init; } = string.Empty;
    public ulong Inode { get; init; }
    /// <summary>The path of the inode where known (base image or created earlier in the branch's chain).</summary>
    public string? Path { get; init; }
    public DateTimeOffset Time { get; init; }
    public ulong? ParentInode { get; init; }
    public ulong? NewInode { get; init; }
    public string? Name { get; init; }
    public string? NewName { get; init; }
    public ulong? NewParentInode { get; init; }
    public string? Target { get; init; }
    public ulong? FileOffset { get; init; }
    public uint? Length { get; init; }
    public ulong? NewSize { get; init; }
    public uint? Mode { get; init; }
    public uint? Uid { get; init; }
    public uint? Gid { get; init; }
    /// <summary>SetAttr: the attributes set, e.g. "Mode, Uid" (<see cref="DeltaAttributes"/> names).</summary>
    public string? Changed { get; init; }
    /// <summary>Where the entry sits in the image.</summary>
    public long Offset { get; init; }
    public uint EntrySize { get; init; }
    public string ImagePath { get; init; } = string.Empty;
}
