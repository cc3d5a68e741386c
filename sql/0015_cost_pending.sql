-- MeshOs cost: job spans waiting to be settled, one row each (COST.md, "The supervisor").
--
-- A cost shard keeps, per agent, the spans of jobs that ended after its connected time was last settled; they wait
-- MeshOs:Cost:SettleDelay (10 min) so that concurrent jobs split the agent's time exactly. They were part of the
-- agent's account (JSON in meshos_cost_agents), rewritten whole with every commit: at thousands of jobs a second that
-- grew to megabytes per commit. Now a span is inserted once, with the commit that applies its event, and deleted with
-- the settle that allocates it (every span of the agent ending at or before the time settled), in the same atomic
-- commit as the rollups and the shard's position.

CREATE TABLE meshos_cost_pending
(
    shard      text        NOT NULL,
    agent      text        NOT NULL,
    job_id     uuid        NOT NULL,
    tenant     text        NOT NULL,
    capability text        NOT NULL,
    from_at    timestamptz NOT NULL,
    to_at      timestamptz NOT NULL
);

CREATE INDEX meshos_cost_pending_agent ON meshos_cost_pending (shard, agent, to_at);
