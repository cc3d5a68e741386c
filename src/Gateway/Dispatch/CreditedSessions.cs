namespace MeshOs.Gateway.Dispatch;

/// <summary>
/// The sessions of one queue that have credits, for the queue's poller: demand is summed and credits are reserved
/// (round-robin) over these only. An agent that asks for no work (a fleet of thousands that only heartbeats) is never
/// looked at by a sweep, and adding or dropping a session costs the same at any fleet size. (The poller used to keep
/// every session in one list: each registration scanned it twice, once to avoid a duplicate and once to sum the
/// demand, so registering N agents cost O(N²) under the hub's lock.) Not thread-safe: the hub's lock guards it.
/// </summary>
internal sealed class CreditedSessions
{
    private readonly List<AgentSession> _order = [];
    private readonly Dictionary<AgentSession, int> _index = new(ReferenceEqualityComparer.Instance);
    private int _next;

    /// <summary>Sessions held (some may have spent their last credit through another queue since).</summary>
    public int Count => _order.Count;

    public bool Contains(AgentSession session) => _index.ContainsKey(session);

    /// <summary>Holds the session while it is open and has credits; drops it otherwise. Call after every change of either.</summary>
    public void Update(AgentSession session)
    {
        if (!session.Closed && session.Credits > 0)
        {
            if (_index.TryAdd(session, _order.Count))
            {
                _order.Add(session);
            }
        }
        else if (_index.TryGetValue(session, out var at))
        {
            RemoveAt(at);
        }
    }

    /// <summary>Usable credits of the sessions held, up to <paramref name="max"/>; drops sessions left without credits.</summary>
    public int Demand(int max)
    {
        var demand = 0;
        for (var i = _order.Count - 1; i >= 0 && demand < max; i--)
        {
            var session = _order[i];
            if (session.Closed || session.Credits <= 0)
            {
                RemoveAt(i); // spent through another queue of the same agent; it comes back with its next credit
                continue;
            }

            demand += session.UsableCredits;
        }

        return Math.Min(demand, max);
    }

    /// <summary>
    /// Takes a credit from the next session that may use one now (round-robin) and that <paramref name="accept"/> (if
    /// given) accepts, or returns null.
    /// </summary>
    public AgentSession? Reserve(Func<AgentSession, bool>? accept = null)
    {
        var tried = 0;
        while (tried < _order.Count)
        {
            if (_next >= _order.Count)
            {
                _next = 0;
            }

            var session = _order[_next];
            if (session.Closed || session.Credits <= 0)
            {
                RemoveAt(_next);
                continue;
            }

            if (session.Eligible && (accept is null || accept(session)))
            {
                session.Credits--;
                session.Leasing++;
                if (session.Credits == 0)
                {
                    RemoveAt(_next);
                }
                else
                {
                    _next++;
                }

                return session;
            }

            _next++;
            tried++;
        }

        return null;
    }

    /// <summary>Removes in O(1): the last session takes the removed one's place.</summary>
    private void RemoveAt(int at)
    {
        var removed = _order[at];
        var last = _order[^1];
        _order[at] = last;
        _index[last] = at;
        _order.RemoveAt(_order.Count - 1);
        _index.Remove(removed);
    }
}
