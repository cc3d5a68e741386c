namespace MeshOs.Cli;

/// <summary>
/// What meshctl's exit code says, documented in the README ("meshctl", exit codes). Scripts branch on these, so a
/// value never changes meaning.
/// </summary>
public static class ExitCodes
{
    /// <summary>The command did what was asked.</summary>
    public const int Ok = 0;

    /// <summary>Bad arguments, options or configuration, or a request the server refused as invalid (400, 413, 415).</summary>
    public const int Usage = 1;

    /// <summary>The object does not exist, or belongs to another tenant (404).</summary>
    public const int NotFound = 2;

    /// <summary>No key, a refused key (401), or a key not allowed to do this (403).</summary>
    public const int Forbidden = 3;

    /// <summary>Refused in the object's state or by a limit: 402 (budget), 409, 422, 429.</summary>
    public const int Refused = 4;

    /// <summary>The server failed (5xx, health not ready), could not be reached, timed out, or a pg_dump/pg_restore/psql run failed.</summary>
    public const int Unavailable = 5;

    /// <summary>The call worked but what it checked is bad: the audit chain is broken, a watched job ended without succeeding.</summary>
    public const int CheckFailed = 6;

    /// <summary>The exit code for an HTTP error status.</summary>
    public static int ForStatus(int status) => status switch
    {
        400 or 413 or 415 => Usage,
        404 => NotFound,
        401 or 403 => Forbidden,
        402 or 409 or 422 or 429 => Refused,
        _ => Unavailable,
    };
}
