namespace DaxFs.Core.Tests;

/// <summary>Locates the repository and the shared test vectors (../shared beside the clone).</summary>
public static class TestPaths
{
    private static readonly Lazy<string> s_repoRoot = new(() =>
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "DaxFs.slnx"))) return dir.FullName;
        }
        throw new DirectoryNotFoundException("Cannot find the repository root (DaxFs.slnx) above " + AppContext.BaseDirectory);
    });

    private static readonly Lazy<string> s_shared = new(() =>
    {
        string? env = Environment.GetEnvironmentVariable("DAXFS_SHARED");
        if (!string.IsNullOrEmpty(env) && Directory.Exists(Path.Combine(env, "vectors"))) return env;
        for (var dir = new DirectoryInfo(s_repoRoot.Value); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "shared");
            if (Directory.Exists(Path.Combine(candidate, "vectors"))) return candidate;
        }
        throw new DirectoryNotFoundException("Cannot find shared/vectors beside the repository (set DAXFS_SHARED).");
    });

    public static string RepoRoot => s_repoRoot.Value;
    public static string Shared => s_shared.Value;
    public static string Vectors => Path.Combine(s_shared.Value, "vectors");
    public static string Vector(string name) => Path.Combine(Vectors, name);
}
