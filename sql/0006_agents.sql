-- MeshOs agent store: one row per agent, written by the agent's grain through the group-commit writer
-- (src/Persistence/Agents/PostgresAgentStore.cs) on registration and state changes, never on heartbeats. The grain is
-- the single writer of its row; every write carries a version that only grows, and a write is applied only when it is
-- newer than the stored row. The agent directory's shards load their listing from here when they activate.
-- (Agents used to be Orleans grain state, and each directory shard stored all its agents as one blob every second.)
--
-- state: 0 Registering, 1 Healthy, 2 Degraded, 3 Unresponsive, 4 Quarantined, 5 Draining, 6 Offline.
-- directory_shard: AgentPolicy.DirectoryShard(agent_id, MeshOs:Agents:DirectoryShards), fixed for a cluster's life.

CREATE TABLE meshos_agents
(
    agent_id         text        COLLATE "C" NOT NULL PRIMARY KEY, -- byte order: the order of string.CompareOrdinal
    directory_shard  integer     NOT NULL,
    owner            text        NOT NULL,
    pool             text        NOT NULL,
    capabilities     text[]      NOT NULL,
    max_concurrency  integer     NOT NULL,
    agent_version    text        NOT NULL,
    region           text        NOT NULL,
    cost_per_hour    numeric     NOT NULL,
    runtime          text,
    state            smallint    NOT NULL CHECK (state BETWEEN 0 AND 6),
    state_reason     text        NOT NULL,
    registered_at    timestamptz NOT NULL,
    state_changed_at timestamptz NOT NULL,
    quarantine_hold  boolean     NOT NULL,
    drain_hold       boolean     NOT NULL,
    probation_until  timestamptz,
    version          bigint      NOT NULL
);

-- A directory shard loads its agents in id order.
CREATE INDEX meshos_agents_shard ON meshos_agents (directory_shard, agent_id);
