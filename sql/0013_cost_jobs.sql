-- MeshOs cost per job (COST.md, "Per job"): each job's allocated share of agent time and its usage, a row per job and
-- month it ran in, added to in the same commit as the hourly rollups (sql/0012_cost.sql) and kept as long, in monthly
-- partitions made together with the rollups' (meshos_cost_ensure_partition now makes both) and dropped whole.

CREATE TABLE meshos_cost_jobs
(
    month      date           NOT NULL,
    job_id     uuid           NOT NULL,
    tenant     text           NOT NULL,
    pool       text           NOT NULL,
    capability text           NOT NULL,
    allocated  numeric(24, 6) NOT NULL DEFAULT 0,
    usage      numeric(24, 6) NOT NULL DEFAULT 0,
    agent_ms   bigint         NOT NULL DEFAULT 0,
    PRIMARY KEY (month, job_id)
) PARTITION BY RANGE (month);

CREATE INDEX meshos_cost_jobs_job ON meshos_cost_jobs (job_id);

-- The partitions (hourly rollups and job costs) for the month starting at month_start (UTC). Safe to call concurrently
-- and repeatedly.
CREATE OR REPLACE FUNCTION meshos_cost_ensure_partition(month_start date) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    name text := format('meshos_cost_hourly_%s', to_char(month_start, 'YYYYMM'));
    jobs text := format('meshos_cost_jobs_%s', to_char(month_start, 'YYYYMM'));
BEGIN
    PERFORM pg_advisory_xact_lock(4839210458);
    IF to_regclass(name) IS NULL THEN
        EXECUTE format('CREATE TABLE %I PARTITION OF meshos_cost_hourly FOR VALUES FROM (%L) TO (%L)', name,
            (month_start::timestamp AT TIME ZONE 'UTC'), ((month_start + interval '1 month')::timestamp AT TIME ZONE 'UTC'));
    END IF;
    IF to_regclass(jobs) IS NULL THEN
        EXECUTE format('CREATE TABLE %I PARTITION OF meshos_cost_jobs FOR VALUES FROM (%L) TO (%L)', jobs,
            month_start, (month_start + interval '1 month')::date);
    END IF;
END;
$$;

-- The months that already have rollups get their job partition now.
DO $$
DECLARE
    part record;
BEGIN
    FOR part IN SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                WHERE i.inhparent = 'meshos_cost_hourly'::regclass AND c.relname ~ '^meshos_cost_hourly_[0-9]{6}$'
    LOOP
        PERFORM meshos_cost_ensure_partition(to_date(right(part.relname, 6), 'YYYYMM'));
    END LOOP;
END;
$$;
