-- MeshOs event log in daily partitions: retention drops whole days (DROP TABLE of a partition), never deletes rows.
--
-- Partitioned by range of `at` (UTC days). Daily, not monthly like the audit log: with a retention of 30 days a
-- monthly partition would keep events up to two months, and one day is a small enough unit to hold back when a
-- consumer lags. About 40 partitions (30 kept, a week made ahead, the default) stay cheap to plan and to read.
--
-- Positions are unchanged (sql/0005_events.sql): position = (writing transaction's id << 20) + the event's ordinal
-- in it, unique by construction. A partitioned table's primary key must hold the partition key, so the key is
-- (position, at): each partition has its own unique index led by position, and readers' `position > x AND position <
-- horizon ORDER BY position LIMIT n` is a merge of the partitions' index scans, in position order, stopping at n.
--
-- Partitions are made ahead of time by the maintenance pass (meshos_events_ensure_partition, by default today and
-- the next 7 days) by creating a table and ATTACHing it, which does not block writers or readers of the log. An event
-- stamped with a day that has no partition (a clock far off, a silo down longer than the days made ahead) lands in
-- meshos_events_default rather than failing its writer's group commit (which carries job writes too); the next
-- maintenance pass moves such events into their day's partition, made then.
--
-- A partition named meshos_events_yyyyMMdd holds events before the end of that day (UTC): the daily ones from its
-- start, the one this migration makes of the old table everything before (MINVALUE). Retention drops a partition
-- once that end is older than MeshOs:Events:Retention and no consumer's cursor is below its highest position.

ALTER TABLE meshos_events RENAME TO meshos_events_unpartitioned;
ALTER TABLE meshos_events_unpartitioned DROP CONSTRAINT meshos_events_pkey;
DROP INDEX meshos_events_at;

CREATE TABLE meshos_events
(
    position bigint      NOT NULL,
    kind     smallint    NOT NULL,
    at       timestamptz NOT NULL,
    payload  jsonb       NOT NULL,
    PRIMARY KEY (position, at)
) PARTITION BY RANGE (at);

CREATE TABLE meshos_events_default PARTITION OF meshos_events DEFAULT;

-- The partition of the UTC day `day`, with the events that landed in the default partition for want of it. Returns
-- whether it made one: false when the day's partition exists or another partition (the old table's) covers the day.
-- Safe to call concurrently and repeatedly (an advisory lock serialises callers).
CREATE FUNCTION meshos_events_ensure_partition(day date) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    name    text        := format('meshos_events_%s', to_char(day, 'YYYYMMDD'));
    from_at timestamptz := day::timestamp AT TIME ZONE 'UTC';
    to_at   timestamptz := (day + 1)::timestamp AT TIME ZONE 'UTC';
BEGIN
    PERFORM pg_advisory_xact_lock(5576990605247411280); -- "MeshEvtP"
    IF to_regclass(name) IS NOT NULL THEN
        RETURN false;
    END IF;
    BEGIN
        EXECUTE format('CREATE TABLE %I (LIKE meshos_events INCLUDING DEFAULTS)', name);
        -- A move, not retention: the rows keep their positions, and readers see them in one place or the other.
        EXECUTE format('WITH moved AS (DELETE FROM meshos_events_default WHERE at >= $1 AND at < $2 RETURNING position, kind, at, payload) '
                       'INSERT INTO %I (position, kind, at, payload) SELECT position, kind, at, payload FROM moved', name)
            USING from_at, to_at;
        EXECUTE format('ALTER TABLE meshos_events ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)', name, from_at, to_at);
    EXCEPTION WHEN invalid_object_definition THEN
        -- "would overlap partition": an older, wider partition already holds the day.
        RETURN false;
    END;
    RETURN true;
END;
$$;

-- Keep the old rows where they are: the old table becomes the partition of everything before the end of the day of
-- its newest event (no copy; attaching builds its (position, at) index and checks its rows once). An empty one goes.
DO $$
DECLARE
    newest   timestamptz;
    last_day date;
    name     text;
BEGIN
    SELECT max(at) INTO newest FROM meshos_events_unpartitioned;
    IF newest IS NULL THEN
        DROP TABLE meshos_events_unpartitioned;
    ELSE
        last_day := (newest AT TIME ZONE 'UTC')::date;
        name := format('meshos_events_%s', to_char(last_day, 'YYYYMMDD'));
        EXECUTE format('ALTER TABLE meshos_events_unpartitioned RENAME TO %I', name);
        EXECUTE format('ALTER TABLE meshos_events ATTACH PARTITION %I FOR VALUES FROM (MINVALUE) TO (%L)', name,
            (last_day + 1)::timestamp AT TIME ZONE 'UTC');
    END IF;
END;
$$;

-- Today and the next 7 days (UTC) by the database's clock; from then on the maintenance pass makes them ahead.
SELECT meshos_events_ensure_partition(((now() AT TIME ZONE 'UTC')::date + n))
FROM generate_series(0, 7) AS n;
