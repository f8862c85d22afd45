namespace DaxFs.Core.Format;

/// <summary>
/// The layout of one delta log entry: a 24-byte header, then a fixed part whose size depends on the type, then the
/// variable bytes (written data, names, a symlink target and its NUL). The reader of branches and the validator both
/// take every offset and size from here.
/// </summary>
public static class DeltaEntry
{
    public const int HeaderSize = 24;

    public const uint TypeWrite = 1, TypeCreate = 2, TypeDelete = 3, TypeTruncate = 4, TypeMkdir = 5, TypeRename = 6, TypeSetAttr = 7,
        TypeSymlink = 8;

    /// <summary>The header: type u32, total_size u32 (header included; 0 ends the log), ino u64, timestamp u64 (ns).</summary>
    public static class Header
    {
        public const int Type = 0, TotalSize = 4, Ino = 8, Timestamp = 16;
        private const uint FieldsFit = HeaderSize - (Timestamp + 8);
    }

    /// <summary>WRITE: offset u64, len u32, flags u32; then len bytes of data.</summary>
    public static class Write
    {
        public const int FileOffset = 0, Length = 8, Flags = 12, FixedSize = 16;
        private const uint FieldsFit = FixedSize - (Flags + 4);
    }

    /// <summary>CREATE and MKDIR: parent u64, new_ino u64, mode, uid, gid u32, name_len u16, flags u16; then the name.</summary>
    public static class Create
    {
        public const int ParentIno = 0, NewIno = 8, Mode = 16, Uid = 20, Gid = 24, NameLength = 28, Flags = 30, FixedSize = 32;
        private const uint FieldsFit = FixedSize - (Flags + 2);
    }

    /// <summary>DELETE: parent u64, name_len u16, flags u16, reserved u32; then the name.</summary>
    public static class Delete
    {
        public const int ParentIno = 0, NameLength = 8, Flags = 10, FixedSize = 16;
        private const uint FieldsFit = FixedSize - (Flags + 2 + 4);
    }

    /// <summary>TRUNCATE: new_size u64.</summary>
    public static class Truncate
    {
        public const int NewSize = 0, FixedSize = 8;
        private const uint FieldsFit = FixedSize - (NewSize + 8);
    }

    /// <summary>RENAME: old_parent, new_parent, ino u64, old_len u16, new_len u16, reserved u32; then both names.</summary>
    public static class Rename
    {
        public const int OldParentIno = 0, NewParentIno = 8, Ino = 16, OldNameLength = 24, NewNameLength = 26, FixedSize = 32;
        private const uint FieldsFit = FixedSize - (NewNameLength + 2 + 4);
    }

    /// <summary>SETATTR: mode, uid, gid, valid u32, size u64.</summary>
    public static class SetAttr
    {
        public const int Mode = 0, Uid = 4, Gid = 8, Valid = 12, Size = 16, FixedSize = 24;
        private const uint FieldsFit = FixedSize - (Size + 8);
    }

    /// <summary>SYMLINK: parent u64, new_ino u64, uid, gid u32, name_len u16, target_len u16 (28 bytes padded to 32); then
    /// the name, the target and a NUL (target_len excludes it).</summary>
    public static class Symlink
    {
        public const int ParentIno = 0, NewIno = 8, Uid = 16, Gid = 20, NameLength = 24, TargetLength = 26, FixedSize = 32;
        private const uint FieldsFit = FixedSize - (TargetLength + 2);
    }

    /// <summary>The size of a type's fixed part, or -1 for a type the kernel does not know.</summary>
    public static int FixedSize(uint type) => type switch
    {
        TypeWrite => Write.FixedSize,
        TypeCreate or TypeMkdir => Create.FixedSize,
        TypeDelete => Delete.FixedSize,
        TypeTruncate => Truncate.FixedSize,
        TypeRename => Rename.FixedSize,
        TypeSetAttr => SetAttr.FixedSize,
        TypeSymlink => Symlink.FixedSize,
        _ => -1,
    };

    /// <summary>The bytes after the fixed part that its lengths announce (a symlink's NUL included).</summary>
    public static ulong VariableSize(uint type, ReadOnlySpan<byte> fixedPart) => type switch
    {
        TypeWrite => Superblock.U32(fixedPart, Write.Length),
        TypeCreate or TypeMkdir => Superblock.U16(fixedPart, Create.NameLength),
        TypeDelete => Superblock.U16(fixedPart, Delete.NameLength),
        TypeRename => (ulong)Superblock.U16(fixedPart, Rename.OldNameLength) + Superblock.U16(fixedPart, Rename.NewNameLength),
        TypeSymlink => (ulong)Superblock.U16(fixedPart, Symlink.NameLength) + Superblock.U16(fixedPart, Symlink.TargetLength) + 1,
        _ => 0,
    };

    public static uint ReadType(ReadOnlySpan<byte> header) => Superblock.U32(header, Header.Type);
    public static uint ReadTotalSize(ReadOnlySpan<byte> header) => Superblock.U32(header, Header.TotalSize);
    public static ulong ReadIno(ReadOnlySpan<byte> header) => Superblock.U64(header, Header.Ino);
    public static ulong ReadTimestamp(ReadOnlySpan<byte> header) => Superblock.U64(header, Header.Timestamp);

    // Field readers for the fixed parts, so that callers never slice by number.
    public static uint U32(ReadOnlySpan<byte> part, int field) => Superblock.U32(part, field);
    public static ulong U64(ReadOnlySpan<byte> part, int field) => Superblock.U64(part, field);
    public static ushort U16(ReadOnlySpan<byte> part, int field) => Superblock.U16(part, field);
}
