namespace MeshOs.Testing;

/// <summary>Where the PostgreSQL server programs <c>initdb</c> and <c>pg_ctl</c> live on this machine.</summary>
public sealed record PostgresBinaries(string InitDb, string PgCtl)
{
    /// <summary>The Debian layout: one folder per major version, not on PATH by default.</summary>
    public const string DebianRoot = "/usr/lib/postgresql";

    /// <summary>
    /// Looks on PATH first, then in <c>/usr/lib/postgresql/*/bin</c> (highest major version first).
    /// Returns null when neither place has both programs.
    /// </summary>
    public static PostgresBinaries? Find()
    {
        var initDb = FindOnPath("initdb");
        var pgCtl = FindOnPath("pg_ctl");
        if (initDb is not null && pgCtl is not null)
        {
            return new PostgresBinaries(initDb, pgCtl);
        }

        if (!Directory.Exists(DebianRoot))
        {
            return null;
        }

        var versionDirectories = Directory.GetDirectories(DebianRoot)
            .Select(path => (Path: path, Version: ParseVersion(Path.GetFileName(path))))
            .Where(candidate => candidate.Version is not null)
            .OrderByDescending(candidate => candidate.Version);
        foreach (var (path, _) in versionDirectories)
        {
            var bin = Path.Combine(path, "bin");
            var candidateInitDb = Path.Combine(bin, "initdb");
            var candidatePgCtl = Path.Combine(bin, "pg_ctl");
            if (File.Exists(candidateInitDb) && File.Exists(candidatePgCtl))
            {
                return new PostgresBinaries(candidateInitDb, candidatePgCtl);
            }
        }

        return null;
    }

    private static string? FindOnPath(string program)
    {
        var path = Environment.GetEnvironmentVariable("PATH");
        if (string.IsNullOrEmpty(path))
        {
            return null;
        }

        return path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(directory => Path.Combine(directory, program))
            .FirstOrDefault(File.Exists);
    }

    private static Version? ParseVersion(string name) =>
        int.TryParse(name, out var major) ? new Version(major, 0)
        : Version.TryParse(name, out var version) ? version
        : null;
}
