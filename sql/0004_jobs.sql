-- MeshOs job store: one row per job, written by the job's grain through the group-commit writer
-- (src/Persistence/Jobs/PostgresJobStore.cs). The grain is the single writer of its row; every write carries a
-- version that only grows, and a write is applied only when it is newer than the stored row.
--
-- status: 0 Pending, 1 Leased, 2 Running, 3 Succeeded, 4 Failed, 5 Cancelled, 6 TimedOut, 7 DeadLettered.
-- Durations are milliseconds. Times are timestamptz (UTC).

CREATE TABLE meshos_jobs
(
    id                 uuid             NOT NULL PRIMARY KEY,
    tenant_id          text             NOT NULL,
    type               text             NOT NULL,
    capability         text             NOT NULL,
    pool               text             NOT NULL,
    shard              integer          NOT NULL,
    priority           smallint         NOT NULL CHECK (priority BETWEEN 0 AND 9),
    status             smallint         NOT NULL CHECK (status BETWEEN 0 AND 7),
    attempts           integer          NOT NULL,
    max_attempts       integer          NOT NULL,
    initial_backoff_ms bigint           NOT NULL,
    max_backoff_ms     bigint           NOT NULL,
    backoff_multiplier double precision NOT NULL,
    timeout_ms         bigint           NOT NULL,
    idempotency_key    text,
    payload            text             NOT NULL,
    result             text,
    error              text,
    agent_id           text,
    epoch              bigint           NOT NULL,
    lease_expires_at   timestamptz,
    leased_at          timestamptz,
    started_at         timestamptz,
    completed_at       timestamptz,
    created_at         timestamptz      NOT NULL,
    updated_at         timestamptz      NOT NULL,
    available_at       timestamptz      NOT NULL,
    version            bigint           NOT NULL,
    tokens_in          bigint           NOT NULL DEFAULT 0,
    tokens_out         bigint           NOT NULL DEFAULT 0,
    cost               numeric(20, 6)   NOT NULL DEFAULT 0
);

-- A tenant's idempotency key names one job.
CREATE UNIQUE INDEX meshos_jobs_idempotency ON meshos_jobs (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
-- Tenant listings, newest first, optionally by status.
CREATE INDEX meshos_jobs_tenant_created ON meshos_jobs (tenant_id, created_at DESC, id DESC);
CREATE INDEX meshos_jobs_tenant_status_created ON meshos_jobs (tenant_id, status, created_at DESC, id DESC);
-- Queue shards rebuild and reconcile from their pending jobs, and account for and sweep their leased ones.
CREATE INDEX meshos_jobs_queue_pending ON meshos_jobs (pool, capability, shard, id) WHERE status = 0;
CREATE INDEX meshos_jobs_queue_leased ON meshos_jobs (pool, capability, shard, id) WHERE status IN (1, 2);
-- An agent's leases, for healing when it dies.
CREATE INDEX meshos_jobs_agent_leased ON meshos_jobs (agent_id) WHERE status IN (1, 2);
-- Retention deletes finished jobs by age.
CREATE INDEX meshos_jobs_completed ON meshos_jobs (completed_at) WHERE status >= 3;

-- Jobs per status, maintained by statement-level triggers so /status never counts rows. Each backend adds to its
-- own slot (pid mod 16) so that concurrent writers do not queue on one counter row; readers sum the slots.
CREATE TABLE meshos_job_counts
(
    status smallint NOT NULL,
    slot   smallint NOT NULL,
    count  bigint   NOT NULL,
    PRIMARY KEY (status, slot)
);

CREATE FUNCTION meshos_job_counts_apply(deltas jsonb) RETURNS void LANGUAGE sql AS $$
    INSERT INTO meshos_job_counts (status, slot, count)
    SELECT (d.key)::smallint, (pg_backend_pid() % 16)::smallint, (d.value)::bigint
    FROM jsonb_each_text(deltas) AS d
    WHERE (d.value)::bigint <> 0
    ON CONFLICT (status, slot) DO UPDATE SET count = meshos_job_counts.count + EXCLUDED.count;
$$;

CREATE FUNCTION meshos_jobs_counted_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM meshos_job_counts_apply(coalesce((SELECT jsonb_object_agg(status, n) FROM (
        SELECT status, count(*) AS n FROM inserted GROUP BY status) s), '{}'::jsonb));
    RETURN NULL;
END $$;

CREATE FUNCTION meshos_jobs_counted_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM meshos_job_counts_apply(coalesce((SELECT jsonb_object_agg(status, n) FROM (
        SELECT status, sum(delta) AS n FROM (
            SELECT o.status, -1 AS delta FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE o.status <> n.status
            UNION ALL
            SELECT n.status, 1 AS delta FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE o.status <> n.status) changes
        GROUP BY status) s), '{}'::jsonb));
    RETURN NULL;
END $$;

CREATE FUNCTION meshos_jobs_counted_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM meshos_job_counts_apply(coalesce((SELECT jsonb_object_agg(status, -n) FROM (
        SELECT status, count(*) AS n FROM deleted GROUP BY status) s), '{}'::jsonb));
    RETURN NULL;
END $$;

CREATE TRIGGER meshos_jobs_count_insert AFTER INSERT ON meshos_jobs
    REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION meshos_jobs_counted_insert();
CREATE TRIGGER meshos_jobs_count_update AFTER UPDATE ON meshos_jobs
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION meshos_jobs_counted_update();
CREATE TRIGGER meshos_jobs_count_delete AFTER DELETE ON meshos_jobs
    REFERENCING OLD TABLE AS deleted FOR EACH STATEMENT EXECUTE FUNCTION meshos_jobs_counted_delete();
