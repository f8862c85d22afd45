using System.Buffers.Binary;
using System.Text;
using DaxFs.Core.Format;

namespace DaxFs.Core.Tests.Branches;

/// <summary>Builds delta-log entries by hand: 24-byte header, the kind's fixed part (padded to 8 bytes), variable part — as FORMAT.md lays them out.</summary>
internal sealed class LogWriter
{
    private readonly List<byte> _b = new();
    public byte[] Bytes => _b.ToArray();
    public int Count { get; private set; }

    private void Entry(uint type, ulong ino, byte[] fixedPart, params byte[][] tail)
    {
        int total = 24 + fixedPart.Length + tail.Sum(t => t.Length);
        var h = new byte[24];
        BinaryPrimitives.WriteUInt32LittleEndian(h, type);
        BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(4), (uint)total);
        BinaryPrimitives.WriteUInt64LittleEndian(h.AsSpan(8), ino);
        BinaryPrimitives.WriteUInt64LittleEndian(h.AsSpan(16), 1_700_000_000_000_000_000UL + (ulong)_b.Count);
        _b.AddRange(h); _b.AddRange(fixedPart); foreach (var t in tail) _b.AddRange(t);
        Count++;
    }

    private static byte[] F(int size, Action<Span<byte>> fill) { var b = new byte[size]; fill(b); return b; }

    public void Write(ulong ino, ulong off, byte[] data) => Entry(1, ino, F(16, s => { BinaryPrimitives.WriteUInt64LittleEndian(s, off); BinaryPrimitives.WriteUInt32LittleEndian(s[8..], (uint)data.Length); }), data);
    public void Write(ulong ino, ulong off, string data) => Write(ino, off, Encoding.UTF8.GetBytes(data));

    public void Create(uint type, ulong parent, ulong ino, uint mode, string name, uint uid = 1000, uint gid = 100) => Entry(type, ino, F(32, s =>
    {
        BinaryPrimitives.WriteUInt64LittleEndian(s, parent); BinaryPrimitives.WriteUInt64LittleEndian(s[8..], ino);
        BinaryPrimitives.WriteUInt32LittleEndian(s[16..], mode); BinaryPrimitives.WriteUInt32LittleEndian(s[20..], uid); BinaryPrimitives.WriteUInt32LittleEndian(s[24..], gid);
        BinaryPrimitives.WriteUInt16LittleEndian(s[28..], (ushort)Encoding.UTF8.GetByteCount(name));
    }), Encoding.UTF8.GetBytes(name));

    public void File(ulong parent, ulong ino, string name, uint perm = 0x1A4) => Create(2, parent, ino, DaxFsConstants.S_IFREG | perm, name);
    public void Mkdir(ulong parent, ulong ino, string name, uint perm = 0x1ED) => Create(5, parent, ino, DaxFsConstants.S_IFDIR | perm, name);

    public void Delete(ulong parent, ulong ino, string name) => Entry(3, ino, F(16, s => { BinaryPrimitives.WriteUInt64LittleEndian(s, parent); BinaryPrimitives.WriteUInt16LittleEndian(s[8..], (ushort)Encoding.UTF8.GetByteCount(name)); }), Encoding.UTF8.GetBytes(name));
    public void Truncate(ulong ino, ulong size) => Entry(4, ino, F(8, s => BinaryPrimitives.WriteUInt64LittleEndian(s, size)));

    public void Rename(ulong oldParent, ulong newParent, ulong ino, string from, string to) => Entry(6, ino, F(32, s =>
    {
        BinaryPrimitives.WriteUInt64LittleEndian(s, oldParent); BinaryPrimitives.WriteUInt64LittleEndian(s[8..], newParent); BinaryPrimitives.WriteUInt64LittleEndian(s[16..], ino);
        BinaryPrimitives.WriteUInt16LittleEndian(s[24..], (ushort)Encoding.UTF8.GetByteCount(from)); BinaryPrimitives.WriteUInt16LittleEndian(s[26..], (ushort)Encoding.UTF8.GetByteCount(to));
    }), Encoding.UTF8.GetBytes(from), Encoding.UTF8.GetBytes(to));

    public void SetAttr(ulong ino, uint mode, uint valid, uint uid = 0, uint gid = 0, ulong size = 0) => Entry(7, ino, F(24, s =>
    {
        BinaryPrimitives.WriteUInt32LittleEndian(s, mode); BinaryPrimitives.WriteUInt32LittleEndian(s[4..], uid); BinaryPrimitives.WriteUInt32LittleEndian(s[8..], gid);
        BinaryPrimitives.WriteUInt32LittleEndian(s[12..], valid); BinaryPrimitives.WriteUInt64LittleEndian(s[16..], size);
    }));

    public void Symlink(ulong parent, ulong ino, string name, string target) => Entry(8, ino, F(32, s =>
    {
        BinaryPrimitives.WriteUInt64LittleEndian(s, parent); BinaryPrimitives.WriteUInt64LittleEndian(s[8..], ino);
        BinaryPrimitives.WriteUInt32LittleEndian(s[16..], 1000); BinaryPrimitives.WriteUInt32LittleEndian(s[20..], 100);
        BinaryPrimitives.WriteUInt16LittleEndian(s[24..], (ushort)Encoding.UTF8.GetByteCount(name)); BinaryPrimitives.WriteUInt16LittleEndian(s[26..], (ushort)Encoding.UTF8.GetByteCount(target)); // without the NUL that follows
    }), Encoding.UTF8.GetBytes(name), Encoding.UTF8.GetBytes(target + "\0"));

    /// <summary>Writes a branch record (slot <paramref name="index"/>) and its log at <paramref name="logOff"/>.</summary>
    public static void PutBranch(byte[] image, int index, ulong id, ulong parent, string name, BranchState state, ulong logOff, byte[] log)
    {
        var nameField = new byte[32];
        Encoding.UTF8.GetBytes(name).CopyTo(nameField, 0);
        new BranchRecord
        {
            BranchId = id, ParentId = parent, DeltaLogOffset = logOff, DeltaLogSize = (ulong)log.Length, DeltaLogCapacity = 1 << 20,
            State = (uint)state, RefCount = 1, NextLocalIno = 100, NameField = nameField, Generation = 3,
        }.Write(image.AsSpan(4096 + index * 128, 128));
        log.CopyTo(image, (int)logOff);
    }
}
