-- MeshOs job table in daily partitions: retention of finished jobs drops whole days (DROP TABLE of a partition), never
-- deletes rows (issue 13: "job/event telemetry is kept 30 days by dropping partitions, not row deletes").
--
-- Partitioned by range of created_at (UTC days), the one time of a job that never changes: a row never moves between
-- partitions (an UPDATE that did would be a delete and an insert). Daily like the event log (sql/0009): with a
-- retention of 30 days about 40 partitions (kept, made ahead, the default) stay cheap to plan and to probe.
--
-- Identity and idempotency. A partitioned table's unique indexes must hold the partition key, so neither "one row per
-- id" nor "one job per tenant and idempotency key" can be a global constraint any more. Each partition has its own
-- unique indexes on (id) and on (tenant_id, idempotency_key), and the writer inserts a job only when no partition
-- already holds its id or its tenant's key (NOT EXISTS over every partition's unique index, then ON CONFLICT DO NOTHING
-- for a concurrent insert into the same day). An idempotent job's id is derived from (tenant, key)
-- (JobSubmitter.IdempotentJobId), and a grain re-submits with its own clock's time, so the same key submitted on two
-- days finds the first day's job. What is left unguarded is two inserts of one id or key, committed concurrently, on
-- either side of midnight (UTC): only two activations of one job grain at once (a silo failover) could do that, in the
-- milliseconds of one group commit. The parent has no primary key: (id, created_at) would add a second index to every
-- insert and guard nothing the per-day unique index on id does not.
--
-- Cost. A statement that does not bound created_at plans and probes every partition (measured with 42 partitions and
-- 300,000 jobs: a lookup by id 3.7 ms, most of it planning, against 0.5 ms when pruned to a few days). So the writer's
-- statements carry the days they touch as constants the planner prunes with: its versioned updates the batch's
-- creation times (500 updates: 20 ms against 400 ms unpruned), the existence check of a version-7 id (Guid.CreateVersion7
-- at submit) the days around the id's time (one day either side: a row of that id elsewhere would need clocks a day
-- apart); a lookup by such an id tries those days first, then all. An idempotent job's id and
-- key are checked against every day, about 0.25 ms more per such submit.
--
-- Counts per status (meshos_job_counts, /status) are now kept per created day as well: the statement triggers add to
-- (day, status, slot). Dropping a partition bypasses DELETE triggers, so retention deletes the dropped day's counter
-- rows in the same transaction as the DROP: the totals stay exact without counting the partition's rows under a lock.
--
-- Partitions are made ahead by the maintenance pass (meshos_jobs_ensure_partition, today and the next
-- MeshOs:Jobs:DaysAhead days). A job created on a day without a partition (a clock far off, maintenance stopped longer
-- than the days made ahead) lands in meshos_jobs_default rather than failing its writer's group commit; the next pass
-- moves it into its day's partition, made then. The move is a delete and an insert: an update of that job committing
-- in the same moment finds no row and is answered "not applied", which its grain treats as any concurrent change (it
-- re-reads the job; the caller retries).
--
-- A partition named meshos_jobs_yyyyMMdd holds jobs created before the end of that day (UTC): the daily ones from its
-- start, the one this migration makes of the old table everything before (MINVALUE). Retention drops a partition once
-- that end is at least MeshOs:Jobs:Retention old, none of its jobs is unfinished (status < 3) and its latest completion
-- is older than the retention. A day holding an unfinished job is held back whole (never a row moved or deleted) and
-- reported; its finished jobs wait with it. Moving such jobs out instead was rejected: a live job's row would change
-- partition under its grain's writes, and its counts would leave with the day they are kept under. For the old
-- table's partition this means all of it stays until every job in it has finished (a job pending for weeks shows as a
-- held day; once it is cancelled or done, the old table goes whole a retention later).

ALTER TABLE meshos_jobs RENAME TO meshos_jobs_unpartitioned;
DROP TRIGGER meshos_jobs_count_insert ON meshos_jobs_unpartitioned;
DROP TRIGGER meshos_jobs_count_update ON meshos_jobs_unpartitioned;
DROP TRIGGER meshos_jobs_count_delete ON meshos_jobs_unpartitioned;
-- Free the index names for the partitioned table's; attaching the old table adopts these (no rebuild) as its own.
ALTER TABLE meshos_jobs_unpartitioned RENAME CONSTRAINT meshos_jobs_pkey TO meshos_jobs_unpartitioned_id;
ALTER INDEX meshos_jobs_idempotency RENAME TO meshos_jobs_unpartitioned_idempotency;
ALTER INDEX meshos_jobs_tenant_created RENAME TO meshos_jobs_unpartitioned_tenant_created;
ALTER INDEX meshos_jobs_tenant_status_created RENAME TO meshos_jobs_unpartitioned_tenant_status_created;
ALTER INDEX meshos_jobs_queue_pending RENAME TO meshos_jobs_unpartitioned_queue_pending;
ALTER INDEX meshos_jobs_queue_leased RENAME TO meshos_jobs_unpartitioned_queue_leased;
ALTER INDEX meshos_jobs_agent_leased RENAME TO meshos_jobs_unpartitioned_agent_leased;
ALTER INDEX meshos_jobs_completed RENAME TO meshos_jobs_unpartitioned_completed;

-- The same columns in the same order (0004, 0008, 0010), defaults and checks.
CREATE TABLE meshos_jobs (LIKE meshos_jobs_unpartitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS) PARTITION BY RANGE (created_at);

-- The indexes of sql/0004_jobs.sql, now per partition. Retention also reads the last two: whether a day still holds an
-- unfinished job (the queue indexes) and its latest completion (meshos_jobs_completed).
CREATE INDEX meshos_jobs_tenant_created ON meshos_jobs (tenant_id, created_at DESC, id DESC);
CREATE INDEX meshos_jobs_tenant_status_created ON meshos_jobs (tenant_id, status, created_at DESC, id DESC);
CREATE INDEX meshos_jobs_queue_pending ON meshos_jobs (pool, capability, shard, id) WHERE status = 0;
CREATE INDEX meshos_jobs_queue_leased ON meshos_jobs (pool, capability, shard, id) WHERE status IN (1, 2);
CREATE INDEX meshos_jobs_agent_leased ON meshos_jobs (agent_id) WHERE status IN (1, 2);
CREATE INDEX meshos_jobs_completed ON meshos_jobs (completed_at) WHERE status >= 3;

CREATE TABLE meshos_jobs_default PARTITION OF meshos_jobs DEFAULT;
CREATE UNIQUE INDEX meshos_jobs_default_id ON meshos_jobs_default (id);
CREATE UNIQUE INDEX meshos_jobs_default_idempotency ON meshos_jobs_default (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL;

-- The partition of the UTC day `day`, with the jobs that landed in the default partition for want of it. Returns
-- whether it made one: false when the day's partition exists or another partition (the old table's) covers the day.
-- Safe to call concurrently and repeatedly (an advisory lock serialises callers and retention).
CREATE FUNCTION meshos_jobs_ensure_partition(day date) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    name    text        := format('meshos_jobs_%s', to_char(day, 'YYYYMMDD'));
    from_at timestamptz := day::timestamp AT TIME ZONE 'UTC';
    to_at   timestamptz := (day + 1)::timestamp AT TIME ZONE 'UTC';
BEGIN
    PERFORM pg_advisory_xact_lock(5576990605330834000); -- "MeshJobP"
    IF to_regclass(name) IS NOT NULL THEN
        RETURN false;
    END IF;
    BEGIN
        EXECUTE format('CREATE TABLE %I (LIKE meshos_jobs INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', name);
        EXECUTE format('CREATE UNIQUE INDEX %I ON %I (id)', name || '_id', name);
        EXECUTE format('CREATE UNIQUE INDEX %I ON %I (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL',
            name || '_idempotency', name);
        -- A move, not retention: the rows stay in meshos_jobs (no statement on it runs, so the counts are untouched:
        -- they are kept by created day, which does not change).
        EXECUTE format('WITH moved AS (DELETE FROM meshos_jobs_default WHERE created_at >= $1 AND created_at < $2 RETURNING *) '
                       'INSERT INTO %I SELECT * FROM moved', name)
            USING from_at, to_at;
        EXECUTE format('ALTER TABLE meshos_jobs ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)', name, from_at, to_at);
    EXCEPTION WHEN invalid_object_definition THEN
        -- "would overlap partition": an older, wider partition already holds the day.
        RETURN false;
    END;
    RETURN true;
END;
$$;

-- Counts per created day (UTC) as well as status and slot. The existing counts all belong to the old table's rows:
-- they are given the day the old table's partition is named by (below), which retention clears with it.
ALTER TABLE meshos_job_counts ADD COLUMN day date;
ALTER TABLE meshos_job_counts DROP CONSTRAINT meshos_job_counts_pkey;

-- Keep the old rows where they are: the old table becomes the partition of every job created before the end of the
-- day of its newest job (no copy; attaching adopts its indexes and checks its rows once). An empty one goes.
DO $$
DECLARE
    newest   timestamptz;
    last_day date;
    name     text;
BEGIN
    SELECT max(created_at) INTO newest FROM meshos_jobs_unpartitioned;
    IF newest IS NULL THEN
        DROP TABLE meshos_jobs_unpartitioned;
        DELETE FROM meshos_job_counts;
    ELSE
        last_day := (newest AT TIME ZONE 'UTC')::date;
        name := format('meshos_jobs_%s', to_char(last_day, 'YYYYMMDD'));
        EXECUTE format('ALTER TABLE meshos_jobs_unpartitioned RENAME TO %I', name);
        EXECUTE format('ALTER TABLE meshos_jobs ATTACH PARTITION %I FOR VALUES FROM (MINVALUE) TO (%L)', name,
            (last_day + 1)::timestamp AT TIME ZONE 'UTC');
        UPDATE meshos_job_counts SET day = last_day;
    END IF;
END;
$$;

ALTER TABLE meshos_job_counts ALTER COLUMN day SET NOT NULL;
ALTER TABLE meshos_job_counts ADD PRIMARY KEY (day, status, slot);

-- Each backend adds to its own slot (pid mod 16) so concurrent writers do not queue on one counter row; rows are
-- touched in (day, status) order so two backends sharing a slot cannot deadlock.
DROP FUNCTION meshos_job_counts_apply(jsonb);

CREATE OR REPLACE FUNCTION meshos_jobs_counted_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO meshos_job_counts (day, status, slot, count)
    SELECT (created_at AT TIME ZONE 'UTC')::date, status, (pg_backend_pid() % 16)::smallint, count(*)
    FROM inserted GROUP BY 1, 2 ORDER BY 1, 2
    ON CONFLICT (day, status, slot) DO UPDATE SET count = meshos_job_counts.count + EXCLUDED.count;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION meshos_jobs_counted_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO meshos_job_counts (day, status, slot, count)
    SELECT day, status, (pg_backend_pid() % 16)::smallint, sum(delta) FROM (
        SELECT (o.created_at AT TIME ZONE 'UTC')::date AS day, o.status, -1 AS delta
        FROM old_rows o JOIN new_rows n ON n.id = o.id AND n.created_at = o.created_at WHERE o.status <> n.status
        UNION ALL
        SELECT (n.created_at AT TIME ZONE 'UTC')::date, n.status, 1
        FROM old_rows o JOIN new_rows n ON n.id = o.id AND n.created_at = o.created_at WHERE o.status <> n.status) changes
    GROUP BY day, status HAVING sum(delta) <> 0 ORDER BY day, status
    ON CONFLICT (day, status, slot) DO UPDATE SET count = meshos_job_counts.count + EXCLUDED.count;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION meshos_jobs_counted_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO meshos_job_counts (day, status, slot, count)
    SELECT (created_at AT TIME ZONE 'UTC')::date, status, (pg_backend_pid() % 16)::smallint, -count(*)
    FROM deleted GROUP BY 1, 2 ORDER BY 1, 2
    ON CONFLICT (day, status, slot) DO UPDATE SET count = meshos_job_counts.count + EXCLUDED.count;
    RETURN NULL;
END $$;

CREATE TRIGGER meshos_jobs_count_insert AFTER INSERT ON meshos_jobs
    REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION meshos_jobs_counted_insert();
CREATE TRIGGER meshos_jobs_count_update AFTER UPDATE ON meshos_jobs
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION meshos_jobs_counted_update();
CREATE TRIGGER meshos_jobs_count_delete AFTER DELETE ON meshos_jobs
    REFERENCING OLD TABLE AS deleted FOR EACH STATEMENT EXECUTE FUNCTION meshos_jobs_counted_delete();

-- Today and the next 7 days (UTC) by the database's clock; from then on the maintenance pass makes them ahead.
SELECT meshos_jobs_ensure_partition(((now() AT TIME ZONE 'UTC')::date + n))
FROM generate_series(0, 7) AS n;
