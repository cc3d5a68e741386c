using MeshOs.AgentSdk;

namespace MeshOs.Tests.AgentSdk;

public sealed class CreditLedgerTests
{
    [Fact]
    public void The_first_decision_always_sends_even_zero()
    {
        Assert.Equal(0, new CreditLedger().Decide(0));
        Assert.Equal(4, new CreditLedger().Decide(4));
    }

    [Fact]
    public void Assignments_and_returns_balance_without_new_requests()
    {
        var ledger = new CreditLedger();
        ledger.Decide(2);
        ledger.OnAssignment();
        ledger.OnAssignment();
        Assert.Null(ledger.Decide(0));
        ledger.OnReturn();
        Assert.Null(ledger.Decide(1));
        Assert.Equal(1, ledger.Outstanding);
    }

    [Fact]
    public void Freed_capacity_outside_the_ledger_is_granted_only_once_nothing_can_be_in_transit()
    {
        var ledger = new CreditLedger();
        ledger.Decide(1);

        // A job of an earlier stream finished: two slots free, but one credit may be on the wire as an assignment.
        Assert.Null(ledger.Decide(2));
        ledger.OnAssignment();
        Assert.Equal(1, ledger.Decide(1));
    }

    [Fact]
    public void Lowering_is_immediate_and_forcing_always_sends()
    {
        var ledger = new CreditLedger();
        ledger.Decide(3);
        Assert.Equal(0, ledger.Decide(0));
        Assert.Null(ledger.Decide(0));
        Assert.Equal(0, ledger.Decide(0, force: true));
        ledger.OnReturn();
        Assert.Equal(0, ledger.Decide(0));
    }
}
