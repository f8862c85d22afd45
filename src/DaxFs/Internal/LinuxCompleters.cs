using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using DaxFs.Core.Linux;
using DaxFs.Core.Operations;

namespace DaxFs.Internal;

/// <summary>
/// The shared part of the device, heap and mount completers: names from the host (DAXFS_* variables apply), cached for a
/// few seconds per source so that repeated Tab presses stay quick, never throwing.
/// </summary>
public abstract class CachedNameCompleter : IArgumentCompleter
{
    private static readonly TimeSpan s_lifetime = TimeSpan.FromSeconds(5);
    private static readonly Dictionary<string, (DateTime At, IReadOnlyList<string> Names)> s_cache = new(StringComparer.Ordinal);

    /// <summary>A key naming where the names come from (a folder, a file), so a changed environment is not served stale names.</summary>
    private protected abstract string SourceKey(LinuxContext context);

    private protected abstract IReadOnlyList<string> ReadNames(LinuxContext context);

    private protected virtual CompletionResultType ResultType => CompletionResultType.ParameterValue;

    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var results = new List<CompletionResult>();
        try
        {
            var ctx = LinuxContext.FromEnvironment();
            string key = GetType().Name + "|" + SourceKey(ctx);
            IReadOnlyList<string> names;
            lock (s_cache)
            {
                if (!s_cache.TryGetValue(key, out var hit) || DateTime.UtcNow - hit.At > s_lifetime)
                {
                    hit = (DateTime.UtcNow, ReadNames(ctx));
                    s_cache[key] = hit;
                }
                names = hit.Names;
            }
            string word = (wordToComplete ?? string.Empty).Trim('\'', '"');
            var pattern = new WildcardPattern(word + "*", WildcardOptions.IgnoreCase);
            foreach (var n in names)
            {
                if (!pattern.IsMatch(n)) continue;
                results.Add(new CompletionResult(ImageItemPathCompleter.Quote(n), n, ResultType, n));
            }
        }
        catch
        {
            // Completion must never throw: an unreadable host just gives no suggestions.
        }
        return results;
    }
}

/// <summary>Completes -Device/-Name with the dax devices in /sys/bus/dax/devices.</summary>
public sealed class DaxDeviceNameCompleter : CachedNameCompleter
{
    private protected override string SourceKey(LinuxContext context) => context.Sysfs.Root;
    private protected override IReadOnlyList<string> ReadNames(LinuxContext context) => new DaxDeviceCatalog(context).Names();
}

/// <summary>Completes -Heap with the heaps in /dev/dma_heap.</summary>
public sealed class DmaHeapNameCompleter : CachedNameCompleter
{
    private protected override string SourceKey(LinuxContext context) => context.DmaHeap.HeapPath("");
    private protected override IReadOnlyList<string> ReadNames(LinuxContext context) => context.DmaHeap.ListHeaps();
}

/// <summary>Completes -MountPoint of Dismount-DaxFs/Get-DaxFsMount with the daxfs mount points.</summary>
public sealed class DaxFsMountPointCompleter : CachedNameCompleter
{
    private protected override string SourceKey(LinuxContext context) => context.MountInfoPath;
    private protected override IReadOnlyList<string> ReadNames(LinuxContext context) =>
        new DaxFsMounter(context).ListMounts().Select(m => m.MountPoint).ToList();
    private protected override CompletionResultType ResultType => CompletionResultType.ProviderContainer;
}

/// <summary>Completes -Name of the namespace cmdlets with the namespaces in /sys/bus/nd/devices (no ndctl call).</summary>
public sealed class DaxNamespaceNameCompleter : CachedNameCompleter
{
    private protected override string SourceKey(LinuxContext context) => context.Sysfs.Root;
    private protected override IReadOnlyList<string> ReadNames(LinuxContext context) =>
        context.Sysfs.List("/sys/bus/nd/devices").Where(n => n.StartsWith("namespace", StringComparison.Ordinal)).ToList();
}

/// <summary>Completes -Region with the NVDIMM regions in /sys/bus/nd/devices.</summary>
public sealed class DaxRegionNameCompleter : CachedNameCompleter
{
    private protected override string SourceKey(LinuxContext context) => context.Sysfs.Root;
    private protected override IReadOnlyList<string> ReadNames(LinuxContext context) =>
        context.Sysfs.List("/sys/bus/nd/devices").Where(n => n.StartsWith("region", StringComparison.Ordinal)).ToList();
}
