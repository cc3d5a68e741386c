using Orleans.Runtime;

namespace MeshOs.Tests.Postgres.Silo;

/// <summary>A grain with ADO.NET-persisted state and a reminder: enough to exercise the three providers.</summary>
[Alias("MeshOs.Tests.Postgres.Silo.ICounterGrain")]
public interface ICounterGrain : IGrainWithStringKey
{
    /// <summary>Adds one to the persisted counter, writes it and returns the new value.</summary>
    Task<int> IncrementAsync();

    /// <summary>Returns the counter as loaded or last written.</summary>
    Task<int> GetAsync();

    /// <summary>Returns the storage etag of the state.</summary>
    Task<string?> GetETagAsync();

    /// <summary>Clears the persisted state.</summary>
    Task ClearAsync();

    /// <summary>Registers (or updates) a reminder with a long period.</summary>
    Task RegisterReminderAsync(string name);

    /// <summary>Returns true when the reminder exists.</summary>
    Task<bool> HasReminderAsync(string name);

    /// <summary>Removes the reminder when it exists.</summary>
    Task UnregisterReminderAsync(string name);
}

[GenerateSerializer]
public sealed class CounterState
{
    [Id(0)]
    public int Value { get; set; }
}

public sealed class CounterGrain([PersistentState("counter", TestSilo.StorageName)] IPersistentState<CounterState> state)
    : Grain, ICounterGrain, IRemindable
{
    public async Task<int> IncrementAsync()
    {
        state.State.Value++;
        await state.WriteStateAsync();
        return state.State.Value;
    }

    public Task<int> GetAsync() => Task.FromResult(state.State.Value);

    public Task<string?> GetETagAsync() => Task.FromResult<string?>(state.Etag);

    public Task ClearAsync() => state.ClearStateAsync();

    public Task RegisterReminderAsync(string name) =>
        this.RegisterOrUpdateReminder(name, TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(10));

    public async Task<bool> HasReminderAsync(string name) => await this.GetReminder(name) is not null;

    public async Task UnregisterReminderAsync(string name)
    {
        if (await this.GetReminder(name) is { } reminder)
        {
            await this.UnregisterReminder(reminder);
        }
    }

    public Task ReceiveReminder(string reminderName, TickStatus status) => Task.CompletedTask;
}
