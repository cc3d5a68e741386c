using System.Security.Cryptography;
using System.Text;
using MeshOs.Grains.Audit;
using MeshOs.Grains.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MeshOs.Grains.Hosting;

/// <summary>Adds the audit log to a silo: the log over the mode's <see cref="IAuditStore"/>, its grain, checkpoints and retention.</summary>
public static partial class AuditHostingExtensions
{
    public static ISiloBuilder AddMeshAudit(this ISiloBuilder silo, IConfiguration configuration)
    {
        var services = silo.Services;
        services.AddOptions<AuditOptions>().Bind(configuration.GetSection(AuditOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.TryAddSingleton<IAuditStore, InMemoryAuditStore>();
        services.AddSingleton<IAuditLog>(sp =>
        {
            var options = sp.GetRequiredService<IOptions<AuditOptions>>().Value;
            var embedded = sp.GetRequiredService<IStorageProbe>().Mode == new InMemoryStorageProbe().Mode;
            var logger = sp.GetRequiredService<ILoggerFactory>().CreateLogger<AuditLog>();
            var key = CheckpointKey(options, embedded, logger);
            return new AuditLog(sp.GetRequiredService<IAuditStore>(), key is null ? null : new AuditCheckpointSigner(key), options.Enabled,
                options.Retention, sp.GetRequiredKeyedService<TimeProvider>(TimeProviderNames.Grains));
        });
        services.AddHostedService<AuditMaintenanceService>();
        silo.AddIncomingGrainCallFilter<AuditCarryFilter>();
        return silo;
    }

    /// <summary>The key from <c>CheckpointKey</c> or <c>CheckpointKeyFile</c>; otherwise ephemeral (embedded) or none (PostgreSQL), loudly.</summary>
    public static byte[]? CheckpointKey(AuditOptions options, bool embedded, ILogger logger)
    {
        if (!string.IsNullOrEmpty(options.CheckpointKey))
        {
            return Checked(Encoding.UTF8.GetBytes(options.CheckpointKey), $"{AuditOptions.Section}:CheckpointKey");
        }

        if (!string.IsNullOrEmpty(options.CheckpointKeyFile))
        {
            return Checked(File.ReadAllBytes(options.CheckpointKeyFile), $"{AuditOptions.Section}:CheckpointKeyFile ({options.CheckpointKeyFile})");
        }

        if (embedded)
        {
            LogEphemeralKey(logger);
            return RandomNumberGenerator.GetBytes(AuditCheckpointSigner.MinKeyBytes);
        }

        LogNoKey(logger);
        return null;
    }

    private static byte[] Checked(byte[] key, string source) => key.Length >= AuditCheckpointSigner.MinKeyBytes
        ? key
        : throw new OptionsValidationException(AuditOptions.Section, typeof(AuditOptions),
            [$"The audit checkpoint key from {source} has {key.Length} bytes; it needs at least {AuditCheckpointSigner.MinKeyBytes}."]);

    [LoggerMessage(Level = LogLevel.Warning, Message = "AUDIT: no checkpoint key configured (MeshOs:Audit:CheckpointKey or CheckpointKeyFile): using an EPHEMERAL key for this embedded process; checkpoints cannot be verified by any other process")]
    private static partial void LogEphemeralKey(ILogger logger);

    [LoggerMessage(Level = LogLevel.Error, Message = "AUDIT: no checkpoint key configured (MeshOs:Audit:CheckpointKey or CheckpointKeyFile): NO CHECKPOINTS will be signed, so a truncated audit tail cannot be detected. Configure a key of at least 32 bytes kept outside the database")]
    private static partial void LogNoKey(ILogger logger);
}
