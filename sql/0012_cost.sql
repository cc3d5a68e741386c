-- MeshOs cost model (COST.md): hourly rollups of agent cost (allocated to tenants, idle) and usage, kept 13 months in
-- monthly partitions, and the cost shards' small state committed with them.
--
-- Rows are additive: a shard's commit adds its amounts to the row of (hour, pool, tenant, agent, capability) with
-- INSERT … ON CONFLICT DO UPDATE, in the same transaction that moves the shard's log position, so an event is counted
-- exactly once. Idle rows have tenant = '' and capability = ''. Amounts: numeric(24,6) in the mesh's one currency
-- (MeshOs:Cost:Currency); agent_ms: the agent time a row covers (busy time split among concurrent jobs; idle time).
-- A month's report is a sum over at most ~730 hours of one partition; there is no default partition: writers make a
-- month's partition (meshos_cost_ensure_partition) before writing to it, and retention drops whole months.

CREATE TABLE meshos_cost_hourly
(
    hour       timestamptz    NOT NULL,
    pool       text           NOT NULL,
    tenant     text           NOT NULL,
    agent      text           NOT NULL,
    capability text           NOT NULL,
    allocated  numeric(24, 6) NOT NULL DEFAULT 0,
    idle       numeric(24, 6) NOT NULL DEFAULT 0,
    usage      numeric(24, 6) NOT NULL DEFAULT 0,
    agent_ms   bigint         NOT NULL DEFAULT 0,
    PRIMARY KEY (hour, pool, tenant, agent, capability)
) PARTITION BY RANGE (hour);

-- A tenant's spend over a period (budgets read it) and a pool's utilization over a window (recommendations).
CREATE INDEX meshos_cost_hourly_tenant ON meshos_cost_hourly (tenant, hour);
CREATE INDEX meshos_cost_hourly_pool ON meshos_cost_hourly (pool, hour);

-- Each shard's position in the event log: everything at or below it is in the rollups.
CREATE TABLE meshos_cost_shards
(
    shard      text        NOT NULL PRIMARY KEY,
    position   bigint      NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Each shard's account of an agent (connected since, settled up to, job spans not yet settled): the grain's JSON.
CREATE TABLE meshos_cost_agents
(
    shard text  NOT NULL,
    agent text  NOT NULL,
    state jsonb NOT NULL,
    PRIMARY KEY (shard, agent)
);

-- The partition for the month starting at month_start (UTC). Safe to call concurrently and repeatedly.
CREATE FUNCTION meshos_cost_ensure_partition(month_start date) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    name text := format('meshos_cost_hourly_%s', to_char(month_start, 'YYYYMM'));
BEGIN
    PERFORM pg_advisory_xact_lock(4839210458);
    IF to_regclass(name) IS NULL THEN
        EXECUTE format('CREATE TABLE %I PARTITION OF meshos_cost_hourly FOR VALUES FROM (%L) TO (%L)', name,
            (month_start::timestamp AT TIME ZONE 'UTC'), ((month_start + interval '1 month')::timestamp AT TIME ZONE 'UTC'));
    END IF;
END;
$$;
