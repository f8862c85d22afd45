namespace DaxFs.Core.Tests;

/// <summary>Locates the repository and its test vectors (tests/vectors, copied from the shared kit; see its README).</summary>
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

    private static readonly Lazy<string> s_vectors = new(() =>
    {
        string path = Path.Combine(s_repoRoot.Value, "tests", "vectors");
        if (!File.Exists(Path.Combine(path, "basic.static.daxfs")))
            throw new DirectoryNotFoundException($"The test vectors are missing from {path} (they are part of the repository: restore them with git checkout -- tests/vectors).");
        return path;
    });

    public static string RepoRoot => s_repoRoot.Value;
    /// <summary>tests/vectors: the reference tool's format-5 images, their expected listings and make-trees.sh.</summary>
    public static string Vectors => s_vectors.Value;
    public static string Vector(string name) => Path.Combine(Vectors, name);
}
