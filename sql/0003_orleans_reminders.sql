-- Orleans reminders for Microsoft.Orleans.Reminders.AdoNet, Invariant "Npgsql".
--
-- Contract (Orleans 10.4.2, AdoNetReminderTable):
-- * Parameters: ServiceId, GrainId (GrainId.ToString(), e.g. "agent/42"), ReminderName (text),
--   GrainHash, BeginHash, EndHash (the uint ring hashes cast to int, so they may be negative),
--   StartTime (timestamptz, UTC), Period (milliseconds; int, or bigint beyond int range), Version (int).
-- * Rows are read by name: GrainId, ReminderName, StartTime, Period, Version (the etag).
-- * UpsertReminderRowKey returns the new Version; DeleteReminderRowKey deletes only at the expected
--   version and returns one row with a single boolean column.
-- * Ring ranges are (BeginHash, EndHash]: ReadRangeRows1Key serves ranges that do not wrap in signed
--   order (BeginHash < EndHash), ReadRangeRows2Key the ones that wrap (and BeginHash = EndHash, the
--   whole ring).

CREATE TABLE orleans_reminders
(
    service_id    text        NOT NULL,
    grain_id      text        NOT NULL,
    reminder_name text        NOT NULL,
    start_time    timestamptz NOT NULL,
    period        bigint      NOT NULL,
    grain_hash    integer     NOT NULL,
    version       integer     NOT NULL,
    PRIMARY KEY (service_id, grain_id, reminder_name)
);

CREATE INDEX orleans_reminders_ring ON orleans_reminders (service_id, grain_hash);

INSERT INTO orleansquery (querykey, querytext)
VALUES
('UpsertReminderRowKey', $query$
INSERT INTO orleans_reminders (service_id, grain_id, reminder_name, start_time, period, grain_hash, version)
VALUES (@ServiceId, @GrainId, @ReminderName, @StartTime, @Period, @GrainHash, 1)
ON CONFLICT (service_id, grain_id, reminder_name) DO UPDATE
SET start_time = excluded.start_time,
    period = excluded.period,
    grain_hash = excluded.grain_hash,
    version = CASE WHEN orleans_reminders.version = 2147483647 THEN 1 ELSE orleans_reminders.version + 1 END
RETURNING version AS "Version"
$query$),

('ReadReminderRowsKey', $query$
SELECT grain_id AS "GrainId", reminder_name AS "ReminderName", start_time AS "StartTime",
       period AS "Period", version AS "Version"
FROM orleans_reminders
WHERE service_id = @ServiceId AND grain_id = @GrainId
$query$),

('ReadReminderRowKey', $query$
SELECT grain_id AS "GrainId", reminder_name AS "ReminderName", start_time AS "StartTime",
       period AS "Period", version AS "Version"
FROM orleans_reminders
WHERE service_id = @ServiceId AND grain_id = @GrainId AND reminder_name = @ReminderName
$query$),

('ReadRangeRows1Key', $query$
SELECT grain_id AS "GrainId", reminder_name AS "ReminderName", start_time AS "StartTime",
       period AS "Period", version AS "Version"
FROM orleans_reminders
WHERE service_id = @ServiceId AND grain_hash > @BeginHash AND grain_hash <= @EndHash
$query$),

('ReadRangeRows2Key', $query$
SELECT grain_id AS "GrainId", reminder_name AS "ReminderName", start_time AS "StartTime",
       period AS "Period", version AS "Version"
FROM orleans_reminders
WHERE service_id = @ServiceId AND (grain_hash > @BeginHash OR grain_hash <= @EndHash)
$query$),

('DeleteReminderRowKey', $query$
WITH deleted AS (
    DELETE FROM orleans_reminders
    WHERE service_id = @ServiceId AND grain_id = @GrainId AND reminder_name = @ReminderName
      AND version = @Version
    RETURNING 1
)
SELECT count(*) = 1 AS "Deleted" FROM deleted
$query$),

('DeleteReminderRowsKey', $query$
DELETE FROM orleans_reminders WHERE service_id = @ServiceId
$query$)
ON CONFLICT (querykey) DO UPDATE SET querytext = excluded.querytext;
