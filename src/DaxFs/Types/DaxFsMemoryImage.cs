namespace DaxFs;

/// <summary>What Write-DaxFsImage -PassThru returns: an image placed in memory, ready to pipe to Mount-DaxFs.</summary>
public sealed class DaxFsMemoryImage
{
    /// <summary>DaxDevice, PhysicalRange or DmaBuf.</summary>
    public string TargetKind { get; init; } = string.Empty;
    /// <summary>dax0.0, "physical range 0x…+0x…", or the dma-buf.</summary>
    public string Target { get; init; } = string.Empty;
    /// <summary>The dax device the image is in (also for a physical range reached through one).</summary>
    public string? Device { get; init; }
    /// <summary>The physical start, when known.</summary>
    public long? PhysicalAddress { get; init; }
    /// <summary>Bytes of the memory region (what a mount of it gets as size).</summary>
    public long Size { get; init; }
    public DmaBuf? DmaBuf { get; init; }
    /// <summary>The image file that was written.</summary>
    public string ImagePath { get; init; } = string.Empty;
    public long BytesWritten { get; init; }
    /// <summary>SHA-256 of the bytes read back from memory.</summary>
    public string Sha256 { get; init; } = string.Empty;
    /// <summary>Every byte read back equals the image.</summary>
    public bool Verified { get; init; }
    public TimeSpan Elapsed { get; init; }

    public override string ToString() => Target;
}
