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

    /// <summary>Where the last <see cref="Gather"/> found its first session (-1: none).</summary>
    private int _gatheredFrom = -1;

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
        var candidates = new List<AgentSession>(1);
        if (Gather(1, accept, candidates) == 0)
        {
            return null;
        }

        Take(candidates[0]);
        return candidates[0];
    }

    /// <summary>
    /// Fills <paramref name="into"/> with up to <paramref name="window"/> sessions that may use a credit now and that
    /// <paramref name="accept"/> (if given) accepts, in rotation from where the last <see cref="Take"/> left off; drops
    /// sessions found closed or without credits. Returns how many it found.
    /// </summary>
    public int Gather(int window, Func<AgentSession, bool>? accept, List<AgentSession> into)
    {
        into.Clear();
        _gatheredFrom = -1;
        if (_next >= _order.Count)
        {
            _next = 0;
        }

        var at = _next;
        var examined = 0;
        while (examined < _order.Count && into.Count < window)
        {
            if (at >= _order.Count)
            {
                at = 0;
            }

            var session = _order[at];
            if (session.Closed || session.Credits <= 0)
            {
                RemoveAt(at); // the last session moved here: look at this place again
                continue;
            }

            examined++;
            if (session.Eligible && (accept is null || accept(session)) && !into.Contains(session))
            {
                if (_gatheredFrom < 0)
                {
                    _gatheredFrom = at;
                }

                into.Add(session);
            }

            at++;
        }

        return into.Count;
    }

    /// <summary>
    /// Takes a credit from <paramref name="session"/> (one <see cref="Gather"/> just returned); the rotation goes on
    /// after the first session gathered.
    /// </summary>
    public void Take(AgentSession session)
    {
        session.Credits--;
        session.Leasing++;
        var from = Math.Max(0, _gatheredFrom);
        if (session.Credits == 0 && _index.TryGetValue(session, out var at))
        {
            RemoveAt(at);
            _next = at == from ? from : from + 1; // the session moved into its place is next
        }
        else
        {
            _next = from + 1;
        }
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
