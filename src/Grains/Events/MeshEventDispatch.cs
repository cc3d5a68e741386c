using System.Collections.Concurrent;
using System.Reflection;
using MeshOs.Abstractions.Events;

namespace MeshOs.Grains.Events;

/// <summary>
/// Hands an event to a consumer by its payload type: a consumer implements <see cref="IMeshEventHandler{TPayload}"/>
/// for each kind it handles, and events of other kinds (including kinds added after it was written) pass it by.
/// </summary>
public static class MeshEventDispatch
{
    private static readonly ConcurrentDictionary<Type, Func<object, MeshEvent, bool>> Dispatchers = new();

    private static readonly MethodInfo ForMethod =
        typeof(MeshEventDispatch).GetMethod(nameof(For), BindingFlags.NonPublic | BindingFlags.Static)!;

    /// <summary>Calls <paramref name="consumer"/>'s handler for the event's payload type; false when it has none.</summary>
    public static bool Dispatch(object consumer, MeshEvent e) =>
        Dispatchers.GetOrAdd(e.Payload.GetType(), static type => (Func<object, MeshEvent, bool>)ForMethod.MakeGenericMethod(type).Invoke(null, null)!)(consumer, e);

    private static Func<object, MeshEvent, bool> For<TPayload>() where TPayload : class, IMeshEventPayload =>
        static (consumer, e) =>
        {
            if (consumer is not IMeshEventHandler<TPayload> handler)
            {
                return false;
            }

            handler.Handle(e, (TPayload)e.Payload);
            return true;
        };
}
