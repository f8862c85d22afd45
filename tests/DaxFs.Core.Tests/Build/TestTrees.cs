using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;

namespace DaxFs.Core.Tests.Build;

/// <summary>
/// Recreates the source trees of tests/vectors (what make-trees.sh does) and generated trees, in a
/// temporary folder that is removed on dispose.
/// </summary>
public sealed partial class TestTrees : IDisposable
{
    public string Root { get; } = Directory.CreateTempSubdirectory("daxfs-trees-").FullName;

    public static readonly string[] VectorTrees = { "basic", "wide", "deep", "empty", "big", "stride" };

    public static bool IsRoot => geteuid() == 0;

    [LibraryImport("libc")] private static partial uint geteuid();
    [LibraryImport("libc", SetLastError = true)] private static partial int lchown(byte[] path, uint uid, uint gid);
    [LibraryImport("libc", SetLastError = true)] private static partial int mkfifo(byte[] path, uint mode);
    [LibraryImport("libc", SetLastError = true)] private static partial int link(byte[] from, byte[] to);
    [LibraryImport("libc", SetLastError = true)] private static partial int symlink(byte[] target, byte[] path);
    [LibraryImport("libc", SetLastError = true)] private static partial int mkdir(byte[] path, uint mode);
    [LibraryImport("libc", SetLastError = true)] private static partial int open(byte[] path, int flags, uint mode);
    [LibraryImport("libc", SetLastError = true)] private static partial nint write(int fd, byte[] buf, nint n);
    [LibraryImport("libc", SetLastError = true)] private static partial int close(int fd);
    [LibraryImport("libc", SetLastError = true)] private static partial int chmod(byte[] path, uint mode);

    private static byte[] Z(string path) => Z(Encoding.UTF8.GetBytes(path));
    private static byte[] Z(byte[] path) { var b = new byte[path.Length + 1]; path.CopyTo(b, 0); return b; }
    private static void Check(int rc, string what) { if (rc != 0) throw new IOException($"{what}: {Marshal.GetLastPInvokeError()}"); }

    /// <summary>make-trees.sh's bytes(): SHA-256(seed ‖ counter as u64 LE) blocks, cut to n.</summary>
    public static byte[] Bytes(int n, string seed)
    {
        var s = Encoding.ASCII.GetBytes(seed);
        var out_ = new byte[n];
        var input = new byte[s.Length + 8];
        s.CopyTo(input, 0);
        for (long i = 0, o = 0; o < n; i++)
        {
            BitConverter.TryWriteBytes(input.AsSpan(s.Length), i);
            var d = SHA256.HashData(input);
            int c = (int)Math.Min(32, n - o);
            d.AsSpan(0, c).CopyTo(out_.AsSpan((int)o));
            o += c;
        }
        return out_;
    }

    public static void Chown(string path, uint uid, uint gid) => Check(lchown(Z(path), uid, gid), "lchown " + path);
    public static void MkFifo(string path) => Check(mkfifo(Z(path), 0x1A4), "mkfifo " + path);
    public static void HardLink(string from, string to) => Check(link(Z(from), Z(to)), "link " + to);
    public static void Chmod(string path, uint mode) => Check(chmod(Z(path), mode), "chmod " + path);

    /// <summary>Path operations on raw byte names (names that are not UTF-8).</summary>
    public static void MkdirBytes(byte[] path, uint mode = 0x1ED) => Check(mkdir(Z(path), mode), "mkdir");
    public static void SymlinkBytes(byte[] target, byte[] path) => Check(symlink(Z(target), Z(path)), "symlink");
    public static void HardLinkBytes(byte[] from, byte[] to) => Check(link(Z(from), Z(to)), "link");
    public static void ChmodBytes(byte[] path, uint mode) => Check(chmod(Z(path), mode), "chmod");
    public static void WriteFileBytes(byte[] path, byte[] content, uint mode = 0x1A4)
    {
        int fd = open(Z(path), 0x41 | 0x200 /* O_WRONLY|O_CREAT|O_TRUNC */, mode);
        if (fd < 0) throw new IOException("open: " + Marshal.GetLastPInvokeError());
        try
        {
            int done = 0;
            while (done < content.Length)
            {
                nint n = write(fd, content[done..], content.Length - done);
                if (n <= 0) throw new IOException("write: " + Marshal.GetLastPInvokeError());
                done += (int)n;
            }
        }
        finally { close(fd); }
    }

    private static void Write(string path, string text) => File.WriteAllText(path, text);
    private static void Write(string path, byte[] data) => File.WriteAllBytes(path, data);

    /// <summary>Makes tree <paramref name="name"/> of make-trees.sh under <see cref="Root"/>; returns its path.</summary>
    public string Make(string name)
    {
        string t = Path.Combine(Root, name);
        if (Directory.Exists(t)) return t;
        switch (name)
        {
            case "basic":
                Directory.CreateDirectory(Path.Combine(t, "a/b/c"));
                Directory.CreateDirectory(Path.Combine(t, "emptydir"));
                Write(Path.Combine(t, "empty"), "");
                Write(Path.Combine(t, "one"), "x");
                Write(Path.Combine(t, "exact4096"), Bytes(4096, "four"));
                Write(Path.Combine(t, "a/five000"), Bytes(5000, "five"));
                Write(Path.Combine(t, "a/b/c/hello.txt"), "hello, daxfs\n");
                File.CreateSymbolicLink(Path.Combine(t, "rel-link"), "a/b/c/hello.txt");
                File.CreateSymbolicLink(Path.Combine(t, "abs-link"), "/etc/hostname");
                Write(Path.Combine(t, "hard1"), "shared\n");
                HardLink(Path.Combine(t, "hard1"), Path.Combine(t, "a/hard2"));
                Write(Path.Combine(t, new string('L', 255)), "long\n");
                Write(Path.Combine(t, "päivää-日本"), "utf8\n");
                Write(Path.Combine(t, "private"), "secret\n"); Chmod(Path.Combine(t, "private"), 0x180);
                Write(Path.Combine(t, "suid"), "#!/bin/sh\n"); Chmod(Path.Combine(t, "suid"), 0x9ED);
                Write(Path.Combine(t, "owned"), "owned\n");
                if (IsRoot) Chown(Path.Combine(t, "owned"), 1234, 5678);
                foreach (var d in new[] { "", "a", "a/b", "a/b/c", "emptydir" }) Chmod(Path.Combine(t, d), 0x1ED);
                break;
            case "wide":
                Directory.CreateDirectory(Path.Combine(t, "d"));
                for (int i = 1; i <= 300; i++) Write(Path.Combine(t, "d", $"f{i:000}"), $"{i:000}\n");
                break;
            case "deep":
                var p = t;
                for (int i = 1; i <= 40; i++) p = Path.Combine(p, "d" + i);
                Directory.CreateDirectory(p);
                Write(Path.Combine(p, "leaf"), "bottom\n");
                break;
            case "empty":
                Directory.CreateDirectory(t);
                break;
            case "big":
                Directory.CreateDirectory(t);
                Write(Path.Combine(t, "three-mib.bin"), Bytes(3145728, "big"));
                Write(Path.Combine(t, "one-mib-plus-one.bin"), Bytes(1048577, "odd"));
                break;
            case "stride":
                Directory.CreateDirectory(Path.Combine(t, "d"));
                for (int i = 1; i <= 136; i++)
                    Write(Path.Combine(t, "d", $"n{i:000}-" + new string('0', 196)), $"entry {i:000}\n");
                break;
            default: throw new ArgumentException("No such vector tree: " + name);
        }
        // mkdir honours the umask; the listings expect 0755 directories and 0644 files as make-trees.sh leaves them under umask 022.
        foreach (var d in Directory.EnumerateDirectories(t, "*", SearchOption.AllDirectories).Append(t))
            if (name != "basic" || !d.EndsWith("emptydir")) Chmod(d, 0x1ED);
        foreach (var f in Directory.EnumerateFiles(t, "*", SearchOption.AllDirectories))
        {
            var fi = new FileInfo(f);
            if (fi.LinkTarget is null && name != "basic") Chmod(f, 0x1A4);
        }
        if (name == "basic")
            foreach (var f in new[] { "empty", "one", "exact4096", "a/five000", "a/b/c/hello.txt", "hard1", new string('L', 255), "päivää-日本", "owned" })
                Chmod(Path.Combine(t, f), 0x1A4);
        return t;
    }

    /// <summary>A fresh empty folder under <see cref="Root"/>.</summary>
    public string NewFolder(string name)
    {
        string p = Path.Combine(Root, name);
        Directory.CreateDirectory(p);
        return p;
    }

    public void Dispose()
    {
        // Names need not be UTF-8 and directories may be closed: leave it to chmod and rm, which take raw bytes.
        foreach (var args in new[] { new[] { "-R", "u+rwx", Root }, new[] { "-rf", Root } })
        {
            using var p = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo(args.Length == 3 && args[0] == "-R" ? "chmod" : "rm", args)
            { RedirectStandardError = true, UseShellExecute = false });
            p?.WaitForExit();
        }
    }
}
