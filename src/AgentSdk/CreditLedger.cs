namespace MeshOs.AgentSdk;

/// <summary>
/// The agent's picture of the lease credits the mesh still holds for one stream, and when to reset them.
/// </summary>
/// <remarks>
/// A <c>LeaseRequest</c> sets the credits; each assignment spends one and each result or release of this stream's
/// assignments gives one back on arrival. Counting both here gives an upper bound of what the mesh holds
/// (assignments in transit and reports not yet read only lower it). Raising the value while it is above zero could
/// double-count assignments already on the wire, so capacity freed outside that bookkeeping (a job from an earlier
/// stream finishing, a revoked job) is granted only once the bound reaches zero, when nothing can be in transit and
/// the new value is exact. Lowering is always safe.
/// </remarks>
internal sealed class CreditLedger
{
    private int _granted;
    private int _assigned;
    private int _returned;
    private bool _initialized;

    /// <summary>The most credits the mesh can still hold for this stream.</summary>
    public int Outstanding => _granted - _assigned + _returned;

    public void OnAssignment() => _assigned++;

    public void OnReturn() => _returned++;

    /// <summary>
    /// The slots to send in a <c>LeaseRequest</c> so that the mesh holds <paramref name="desired"/> credits, or null when
    /// no request should be sent now. The first decision on a stream, or a <paramref name="force"/>d one, always sends.
    /// </summary>
    public int? Decide(int desired, bool force = false)
    {
        desired = Math.Max(0, desired);
        var outstanding = Outstanding;
        if (force || !_initialized || outstanding > desired || (outstanding <= 0 && desired > outstanding))
        {
            _initialized = true;
            _granted = desired;
            _assigned = 0;
            _returned = 0;
            return desired;
        }

        return null;
    }
}
