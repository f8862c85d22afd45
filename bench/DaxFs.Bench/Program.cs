// Benchmark harness for build.ps1 Bench: runs one engine operation in a fresh process and prints one JSON line
// (seconds, entries, bytes, peak resident memory). Timings and ratios are made by build/Bench.ps1, side by side.
// (DAXFS_BENCH_WORKERS=N sets the writer's data threads for A/B runs)
using System.Diagnostics;
using System.Numerics;
using System.Runtime.InteropServices;
using DaxFs.Core.Format;
using DaxFs.Core.Read;
using DaxFs.Core.Build;
using DaxFs.Core.Validate;
using DaxFs.Core.Overlay;
using DaxFs.Bench;

if (args.Length < 2 && !(args.Length == 1 && args[0] == "start"))
{
    Console.Error.WriteLine("usage: DaxFs.Bench build SRC DEST [static|branching|static8|split8 [POOL-BYTES BUCKETS]] | make-overlay IMAGE DEST ENTRIES SEED | enumerate-view IMAGE [rounds] | time-walk BASE OVERLAY [rounds] | build-archive SRC DEST Tar|OciLayout|DockerArchive [REF] | enumerate IMAGE [rounds] | read-image IMAGE | read-tree DIR | make-tree DIR ENTRIES BYTES SEED" +
        " | validate IMAGE | validate-profile IMAGE | start | make-flat-tree DIR ENTRIES PER-DIR");
    return 2;
}

var sw = Stopwatch.StartNew();
long entries = 0, bytes = 0;
double planSeconds = 0;
ulong checksum = 0;
long peakAnon = -1;
double firstSeconds = 0, firstCpu = 0, warmCpu = 0, jitSeconds = 0;
// CPU time (user + sys) of the timed part, where a command measures it: under load it varies far less than wall time.
double cpuSeconds = -1;
TimeSpan cpuStart = default;
void StartCpu() => cpuStart = Process.GetCurrentProcess().TotalProcessorTime;
void StopCpu() => cpuSeconds = (Process.GetCurrentProcess().TotalProcessorTime - cpuStart).TotalSeconds;
long jitMethods = 0;
switch (args[0])
{
    case "validate":
    {
        // One validation of the image file as Test-DaxFsImage does it, in a fresh process and nothing else (the caller
        // times the whole process: .NET's start, the JIT and the validation, as an operator pays them in a new process).
        using var memory = MappedFileImageMemory.Open(args[1]);
        sw.Restart(); // seconds: the validation alone
        var findings = ImageValidator.Validate(memory);
        sw.Stop();
        if (!ImageValidator.IsSafe(findings)) { Console.Error.WriteLine($"validate: {args[1]} has errors"); return 1; }
        bytes = memory.Length;
        checksum = (ulong)findings.Count;
        break;
    }
    case "validate-profile":
    {
        // Where a validation's time goes (not timed by the caller): the first validation in this process (the validator's
        // code compiled as it runs, what the first Test-DaxFsImage of a session pays), the methods and time the JIT took
        // for it, then the same validation again (warm: every later Test-DaxFsImage and Mount-DaxFs gate); the
        // validator's CPU time of each; anonymous memory sampled while they run (the mapped image's pages count in RSS
        // but are the file).
        using var sampler = new AnonSampler();
        using var memory = MappedFileImageMemory.Open(args[1]);
        long jitBefore = System.Runtime.JitInfo.GetCompiledMethodCount();
        var jitTimeBefore = System.Runtime.JitInfo.GetCompilationTime();
        var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
        sw.Restart();
        var findings = ImageValidator.Validate(memory);
        firstSeconds = sw.Elapsed.TotalSeconds;
        var cpu1 = Process.GetCurrentProcess().TotalProcessorTime;
        jitMethods = System.Runtime.JitInfo.GetCompiledMethodCount() - jitBefore;
        jitSeconds = (System.Runtime.JitInfo.GetCompilationTime() - jitTimeBefore).TotalSeconds;
        firstCpu = (cpu1 - cpu0).TotalSeconds;
        sw.Restart();
        var again = ImageValidator.Validate(memory);
        sw.Stop();
        warmCpu = (Process.GetCurrentProcess().TotalProcessorTime - cpu1).TotalSeconds;
        if (!ImageValidator.IsSafe(findings) || again.Count != findings.Count) { Console.Error.WriteLine($"validate: {args[1]} has errors"); return 1; }
        using (var reader = DaxFsImageReader.Open(args[1])) entries = reader.InodeCount;
        bytes = memory.Length;
        checksum = (ulong)findings.Count;
        peakAnon = sampler.Stop();
        break;
    }
    case "start":
        // Nothing: the cost of starting .NET and this harness, for the validation benchmark's breakdown.
        break;
    case "make-flat-tree":
        (entries, bytes) = BenchTree.MakeFlat(args[1], int.Parse(args[2]), int.Parse(args[3]));
        break;
    case "build":
    {
        // static and branching: format 5; static8 and split8 (backing file DEST.data): format 8.
        string kind = args.Length > 3 ? args[3] : "static";
        var mode = kind switch { "branching" => DaxFsImageMode.Branching, "split8" => DaxFsImageMode.Split, _ => DaxFsImageMode.Static };
        var format = kind.EndsWith('8') ? DaxFsFormat.Format8 : DaxFsFormat.Format5;
        int? workers = Environment.GetEnvironmentVariable("DAXFS_BENCH_WORKERS") is { Length: > 0 } w ? int.Parse(w) : null;
        (entries, bytes) = PlanAndBuild(new ImageBuildOptions
        {
            SourcePath = args[1], Destination = args[2], Format = format, Mode = mode, Overwrite = true, Workers = workers,
            BackingFile = mode == DaxFsImageMode.Split ? args[2] + ".data" : null,
            OverlayPoolSize = args.Length > 4 ? long.Parse(args[4]) : null,
            OverlayBuckets = args.Length > 5 ? uint.Parse(args[5]) : null,
        });
        break;
    }
    case "build-archive":
    {
        // A tarball (Tar), OCI layout (OciLayout) or docker archive built as New-DaxFsImage builds it: args SRC DEST KIND [REFERENCE].
        var kind = Enum.Parse<ArchiveKind>(args[3]);
        (entries, bytes) = PlanAndBuild(new ImageBuildOptions
        {
            SourcePath = args[1], Destination = args[2], Overwrite = true,
            Archive = new ArchiveSource { Kind = kind, Path = args[1], Reference = args.Length > 4 ? args[4] : null },
        });
        break;
    }
    case "plan":
    {
        var plan = new ImageBuilder(new ImageBuildOptions { SourcePath = args[1], Destination = args[2], Overwrite = true }).Plan();
        entries = plan.InodeCount;
        bytes = plan.TotalSize;
        break;
    }
    case "enumerate":
    {
        int rounds = args.Length > 2 ? int.Parse(args[2]) : 5;
        using var reader = DaxFsImageReader.Open(args[1]);
        foreach (var _ in reader.Walk("/")) entries++; // warm
        entries = 0;
        StartCpu();
        sw.Restart();
        for (int i = 0; i < rounds; i++)
            foreach (var item in reader.Walk("/")) { entries++; checksum += item.Inode.Size; }
        sw.Stop();
        StopCpu();
        break;
    }
    case "enumerate-view":
    {
        // The tree a fresh mount shows (OverlayView over the base when the image has an overlay), listed as Get-DaxFsItem
        // -Recurse lists it; a split image's backing file is IMAGE.data when present.
        int rounds = args.Length > 2 ? int.Parse(args[2]) : 5;
        string backing = args[1] + ".data";
        using var reader = DaxFsImageReader.Open(args[1], File.Exists(backing) ? backing : null);
        var tree = OverlayView.MountedTree(reader);
        foreach (var _ in tree.Walk("/")) entries++; // warm (and the view's index built once, as a cmdlet builds it per image)
        entries = 0;
        StartCpu();
        sw.Restart();
        var open = new Stopwatch();
        for (int i = 0; i < rounds; i++)
        {
            open.Start();
            var view = OverlayView.MountedTree(reader); // the index is part of listing an image: built in every round
            open.Stop();
            foreach (var item in view.Walk("/")) { entries++; checksum += item.Inode.Size; }
        }
        planSeconds = open.Elapsed.TotalSeconds; // of which: opening the view (the overlay's hash table indexed)
        sw.Stop();
        StopCpu();
        break;
    }
    case "time-walk":
    {
        // BASE listed by the base reader and OVERLAY through the view a mount shows (opened anew each round, as
        // Get-DaxFsItem opens it), alternating in one process, each round timed on its own, warm (steady state: no JIT, no
        // first faults); and a floor: every listed directory's overlay list followed link by link (the dirent's DirNext
        // read, nothing else: no index, no item), the reads any listing in the kernel's readdir order makes, which depend
        // each on the one before. Prints the medians and the fastest of each, and their ratios, as one JSON line.
        int rounds = args.Length > 3 ? int.Parse(args[3]) : 21;
        using var baseReader = DaxFsImageReader.Open(args[1], File.Exists(args[1] + ".data") ? args[1] + ".data" : null);
        using var reader = DaxFsImageReader.Open(args[2], File.Exists(args[2] + ".data") ? args[2] + ".data" : null);
        var baseTimes = new List<double>();
        var openTimes = new List<double>();
        var viewTimes = new List<double>();
        var chainTimes = new List<double>();
        long baseItems = 0, viewItems = 0, links = 0;
        // The lists to follow (untimed): the first dirent of each listed directory's DIRLIST.
        var lists = new List<ulong>();
        if (OverlayView.MountedTree(reader) is OverlayView v0)
            foreach (var dir in v0.Walk("/").Where(i => i.Type == DaxFsItemType.Directory && !i.Unreachable).Select(i => i.Ino).Prepend(DaxFsConstants.RootInode))
                if (v0.TryFind(DaxFs.Core.Format.V8.OverlayKeys.DirList(dir), out ulong listOff))
                    lists.Add(Superblock.U64(v0.PoolBytes(listOff, DaxFs.Core.Format.V8.OverlayDirListEntry.RecordSize), DaxFs.Core.Format.V8.OverlayDirListEntry.Offsets.First));
        for (int i = 0; i <= rounds; i++)
        {
            var t = Stopwatch.StartNew();
            long n = 0;
            foreach (var item in baseReader.Walk("/")) { n++; checksum += item.Inode.Size; }
            double b = t.Elapsed.TotalSeconds;
            baseItems = n;
            t.Restart();
            var view = OverlayView.MountedTree(reader);
            double open = t.Elapsed.TotalSeconds;
            n = 0;
            foreach (var item in view.Walk("/")) { n++; checksum += item.Inode.Size; }
            double all = t.Elapsed.TotalSeconds;
            viewItems = n;
            t.Restart();
            long hops = 0;
            if (reader.HasOverlay)
            {
                var v = (OverlayView)view;
                foreach (ulong head in lists)
                    for (ulong cur = head; cur != DaxFs.Core.Format.V8.DaxFsV8Constants.None && hops <= 100_000_000; hops++)
                        cur = Superblock.U64(v.PoolBytes(cur, DaxFs.Core.Format.V8.OverlayDirentEntry.Offsets.DirNext + 8), DaxFs.Core.Format.V8.OverlayDirentEntry.Offsets.DirNext);
            }
            double chains = t.Elapsed.TotalSeconds;
            links = hops;
            if (i == 0) continue; // the first round compiles and faults pages in
            baseTimes.Add(b); openTimes.Add(open); viewTimes.Add(all); chainTimes.Add(chains);
        }
        static double Median(List<double> x) { x.Sort(); return x[x.Count / 2]; }
        double mb = Median(baseTimes), mo = Median(openTimes), mv = Median(viewTimes), mc = Median(chainTimes);
        var invariant = System.Globalization.CultureInfo.InvariantCulture;
        Console.WriteLine(string.Create(invariant,
            $"{{\"command\":\"time-walk\",\"rounds\":{rounds},\"baseItems\":{baseItems},\"viewItems\":{viewItems},\"baseMedian\":{mb:R},\"baseBest\":{baseTimes[0]:R}," +
            $"\"openMedian\":{mo:R},\"viewMedian\":{mv:R},\"viewBest\":{viewTimes[0]:R},\"ratioMedian\":{mv / mb:R},\"ratioBest\":{viewTimes[0] / baseTimes[0]:R}," +
            $"\"perItemRatio\":{mv / viewItems / (mb / baseItems):R},\"links\":{links},\"chainsMedian\":{mc:R},\"floorRatio\":{(mb + mc) / mb:R},\"checksum\":{checksum}}}"));
        return 0;
    }
    case "make-overlay":
    {
        // A copy of a split format-8 image (IMAGE, backing IMAGE.data) with ENTRIES overlay entries written the way the
        // kernel writes them through a mount (KernelOverlayWriter), mixed like a busy writer: new directories, new files
        // (half with a page of data), pages written into base files, base files removed and chmod-ed.
        var (n, used) = OverlayBench.Make(args[1], args[2], int.Parse(args[3]), int.Parse(args[4]));
        entries = n;
        bytes = (long)used;
        break;
    }
    case "read-image":
    {
        using var reader = DaxFsImageReader.Open(args[1]);
        var files = reader.Walk("/").Where(i => i.Type == DaxFsItemType.File).Select(i => i.Ino).Distinct().ToList();
        sw.Restart();
        foreach (uint ino in files)
        {
            var span = reader.GetContentSpan(ino);
            checksum += Sum(span);
            bytes += span.Length;
            entries++;
        }
        break;
    }
    case "read-tree":
    {
        var files = new List<string>();
        var seen = new HashSet<(long, long)>();
        foreach (var f in new DirectoryInfo(args[1]).EnumerateFiles("*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 }))
            if (f.LinkTarget is null) files.Add(f.FullName);
        var buffer = new byte[1 << 20];
        sw.Restart();
        foreach (var f in files)
        {
            using var h = File.OpenHandle(f);
            long off = 0;
            int n;
            while ((n = RandomAccess.Read(h, buffer, off)) > 0) { checksum += Sum(buffer.AsSpan(0, n)); off += n; }
            bytes += off;
            entries++;
        }
        break;
    }
    case "make-tree":
        (entries, bytes) = BenchTree.Make(args[1], int.Parse(args[2]), long.Parse(args[3]), int.Parse(args[4]));
        break;
    default:
        Console.Error.WriteLine("unknown command " + args[0]);
        return 2;
}
sw.Stop();
// One JSON line, written by hand (the command is one of the names the switch above accepts): System.Text.Json's
// reflection serializer costs tens of milliseconds of JIT in a fresh process, which build/Bench.ps1's wall-clock
// comparisons would count as the engine's time.
var inv = System.Globalization.CultureInfo.InvariantCulture;
Console.WriteLine(string.Create(inv,
    $"{{\"command\":\"{args[0]}\",\"seconds\":{sw.Elapsed.TotalSeconds:R},\"cpuSeconds\":{cpuSeconds:R},\"planSeconds\":{planSeconds:R}," +
    $"\"entries\":{entries},\"bytes\":{bytes},\"checksum\":{checksum},\"peakRssBytes\":{PeakRss()},\"peakAnonBytes\":{peakAnon}," +
    $"\"firstSeconds\":{firstSeconds:R},\"firstCpuSeconds\":{firstCpu:R},\"warmCpuSeconds\":{warmCpu:R},\"jitMethods\":{jitMethods},\"jitSeconds\":{jitSeconds:R}}}"));
return 0;

// Plans then builds, as New-DaxFsImage does; the plan's time is reported on its own.
(long Entries, long Bytes) PlanAndBuild(ImageBuildOptions options)
{
    var builder = new ImageBuilder(options);
    builder.Plan();
    planSeconds = sw.Elapsed.TotalSeconds;
    var r = builder.Build();
    return (r.Plan.InodeCount, r.Plan.TotalSize);
}

static ulong Sum(ReadOnlySpan<byte> data)
{
    var v = MemoryMarshal.Cast<byte, ulong>(data[..(data.Length & ~7)]);
    var acc = Vector<ulong>.Zero;
    int i = 0;
    for (; i + Vector<ulong>.Count <= v.Length; i += Vector<ulong>.Count) acc += new Vector<ulong>(v[i..]);
    ulong s = Vector.Sum(acc);
    for (; i < v.Length; i++) s += v[i];
    for (int j = data.Length & ~7; j < data.Length; j++) s += data[j];
    return s;
}

static long PeakRss()
{
    foreach (var line in File.ReadLines("/proc/self/status"))
        if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            return long.Parse(line[6..].Trim().Split(' ')[0]) * 1024;
    return -1;
}

/// <summary>Samples RssAnon of this process every few milliseconds; <see cref="Stop"/> returns the highest value seen.</summary>
sealed class AnonSampler : IDisposable
{
    private readonly Thread _thread;
    private volatile bool _stop;
    private long _peak;

    public AnonSampler()
    {
        _thread = new Thread(() =>
        {
            while (!_stop) { Sample(); Thread.Sleep(5); }
        }) { IsBackground = true };
        Sample();
        _thread.Start();
    }

    private void Sample()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith("RssAnon:", StringComparison.Ordinal))
            {
                long v = long.Parse(line[8..].Trim().Split(' ')[0]) * 1024;
                if (v > _peak) _peak = v;
                return;
            }
    }

    public long Stop()
    {
        _stop = true;
        _thread.Join();
        Sample();
        return _peak;
    }

    public void Dispose() => Stop();
}

/// <summary>Makes an image with a large kernel-style overlay over a split image's base.</summary>
static class OverlayBench
{
    public static (long Entries, ulong PoolUsed) Make(string source, string dest, int entries, int seed)
    {
        string backing = source + ".data";
        byte[] image = File.ReadAllBytes(source);
        var dirs = new List<ulong>();
        var files = new List<(ulong Parent, byte[] Name, ulong Ino, ulong Size)>();
        using var reader = DaxFsImageReader.Open(source, backing);
        var dirIno = new Dictionary<string, ulong> { ["/"] = 1 };
        dirs.Add(1);
        foreach (var item in reader.Walk("/"))
        {
            if (item.Type == DaxFsItemType.Directory) { dirIno[item.FullName] = item.Ino; dirs.Add(item.Ino); }
            else if (item.Type == DaxFsItemType.File) files.Add((dirIno[item.ParentPath], item.NameBytes, item.Ino, item.Inode.Size));
        }
        using var backingFile = File.OpenHandle(backing);
        byte[]? BasePage(ulong ino, ulong page)
        {
            if (!reader.IsBaseInode(ino)) return null;
            var b = reader.GetInode((uint)ino);
            if (ModeBits.TypeOf(b.Mode) != DaxFsItemType.File || page * 4096 >= b.Size) return null;
            var buf = new byte[(int)Math.Min(4096, b.Size - page * 4096)];
            RandomAccess.Read(backingFile, buf, (long)(b.DataOffset + page * 4096));
            return buf;
        }
        var w = new KernelOverlayWriter(image, i => reader.IsBaseInode(i) ? reader.GetInode((uint)i) : null, BasePage);
        var rng = new Random(seed);
        var page = new byte[4096];
        rng.NextBytes(page);
        long made = 0;
        var removed = new HashSet<ulong>();
        var written = new HashSet<(ulong, ulong)>();
        var chmodded = new HashSet<ulong>();
        int k = 0;
        while (made < entries)
        {
            long left = entries - made;
            double r = rng.NextDouble();
            string name = $"ovl-{k++:x6}";
            if (left >= 3 && r < 0.08)
            {
                ulong parent = dirs[rng.Next(dirs.Count)];
                bool firstInDir = !HasList(w, parent);
                ulong d = w.Mkdir(parent, System.Text.Encoding.UTF8.GetBytes(name));
                dirs.Add(d);
                made += firstInDir ? 3 : 2;
            }
            else if (left >= 4 && r < 0.55)
            {
                ulong parent = dirs[rng.Next(dirs.Count)];
                bool firstInDir = !HasList(w, parent);
                ulong f = w.Create(parent, System.Text.Encoding.UTF8.GetBytes(name));
                made += firstInDir ? 3 : 2;
                if (rng.Next(2) == 0) { w.Write(f, 0, page.AsSpan(0, rng.Next(1, 4097))); made++; }
            }
            else if (r < 0.75 || left < 2)
            {
                var f = files[rng.Next(files.Count)];
                ulong pages = Math.Max(1, (f.Size + 4095) / 4096);
                ulong p = (ulong)rng.NextInt64((long)pages);
                if (f.Size == 0 || removed.Contains(f.Ino) || !written.Add((f.Ino, p))) continue;
                w.Write(f.Ino, p * 4096, page.AsSpan(0, (int)Math.Min(64, f.Size - p * 4096)));
                made++;
            }
            else if (r < 0.88)
            {
                int i = rng.Next(files.Count);
                var f = files[i];
                if (!removed.Add(f.Ino)) continue;
                bool firstInDir = !HasList(w, f.Parent);
                w.Remove(f.Parent, f.Name);
                made += firstInDir ? 2 : 1;
            }
            else
            {
                var f = files[rng.Next(files.Count)];
                if (removed.Contains(f.Ino) || !chmodded.Add(f.Ino) || w.OverlayMode(f.Ino) is not null) continue;
                w.SetAttr(f.Ino, perm: 0x180);
                made++;
            }
        }
        if (w.KeyCount != made) throw new InvalidOperationException($"{made} entries counted, {w.KeyCount} keys written.");
        File.WriteAllBytes(dest, image);
        File.Copy(backing, dest + ".data", true);
        return (made, w.Header.PoolAlloc);
    }

    private static bool HasList(KernelOverlayWriter w, ulong dir) => w.HasDirList(dir);
}

/// <summary>A deterministic tree: directories, files of mixed sizes, symlinks and hard links.</summary>
static class BenchTree
{
    /// <summary>A flat tree of <paramref name="entries"/> entries: directories of <paramref name="perDir"/> empty files each.</summary>
    public static (long Entries, long Bytes) MakeFlat(string root, int entries, int perDir)
    {
        Directory.CreateDirectory(root);
        long made = 0;
        for (int d = 0; made < entries; d++)
        {
            string dir = Path.Combine(root, $"d{d:x5}");
            Directory.CreateDirectory(dir);
            made++;
            for (int f = 0; f < perDir && made < entries; f++, made++)
                File.Create(Path.Combine(dir, $"file-{f:x4}")).Dispose();
        }
        return (made, 0);
    }

    public static (long Entries, long Bytes) Make(string root, int entries, long targetBytes, int seed)
    {
        var rng = new Random(seed);
        Directory.CreateDirectory(root);
        var dirs = new List<string> { root };
        var files = new List<string>();
        long made = 0, bytes = 0;
        // Sizes: mostly small, some medium, a few large; scaled so the total lands near targetBytes.
        int fileCount = (int)(entries * 0.88);
        var sizes = new long[fileCount];
        double total = 0;
        for (int i = 0; i < fileCount; i++)
        {
            double r = rng.NextDouble();
            sizes[i] = r < 0.90 ? rng.Next(0, 8192) : r < 0.99 ? rng.Next(8192, 65536) : rng.Next(1 << 20, 8 << 20);
            total += sizes[i];
        }
        double scale = targetBytes / total;
        var buffer = new byte[8 << 20];
        rng.NextBytes(buffer);
        int fileIndex = 0;
        while (made < entries)
        {
            double k = rng.NextDouble();
            string parent = dirs[rng.Next(dirs.Count)];
            string name = $"e{made:x5}-{rng.Next():x}";
            string path = Path.Combine(parent, name);
            if (k < 0.06 || fileIndex >= fileCount)
            {
                Directory.CreateDirectory(path);
                dirs.Add(path);
            }
            else if (k < 0.09 && files.Count > 0)
            {
                File.CreateSymbolicLink(path, Path.GetRelativePath(parent, files[rng.Next(files.Count)]));
            }
            else if (k < 0.12 && files.Count > 0)
            {
                HardLink(files[rng.Next(files.Count)], path);
            }
            else
            {
                long size = Math.Min((long)(sizes[fileIndex++] * scale), buffer.Length * 64L);
                using (var fs = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1))
                {
                    long left = size;
                    int off = rng.Next(0, 4096);
                    while (left > 0)
                    {
                        int n = (int)Math.Min(left, buffer.Length - off);
                        fs.Write(buffer, off, n);
                        left -= n;
                        off = 0;
                    }
                }
                bytes += size;
                files.Add(path);
            }
            made++;
        }
        return (made, bytes);
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int link(string from, string to);

    private static void HardLink(string from, string to)
    {
        if (link(from, to) != 0) throw new IOException($"link {to}: errno {Marshal.GetLastPInvokeError()}");
    }
}
