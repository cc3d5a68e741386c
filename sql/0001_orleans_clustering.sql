-- Orleans clustering (membership) for Microsoft.Orleans.Clustering.AdoNet, Invariant "Npgsql".
--
-- The provider reads every query text from orleansquery at start and binds parameters and result
-- columns by name. Unquoted identifiers fold to lower case in PostgreSQL, and Npgsql matches result
-- column names case-insensitively, so the provider's "SELECT QueryKey, QueryText FROM OrleansQuery"
-- reads this table. Result columns are aliased to the exact names the provider asks for.
--
-- Contract (Orleans 10.4.2):
-- * One version row per cluster (DeploymentId = ClusterOptions.ClusterId). Its version is the table
--   etag: every InsertMembershipKey/UpdateMembershipKey succeeds only when @Version equals the stored
--   version, and bumps it by one in the same statement. UpdateIAmAlivetimeKey does not touch it.
-- * MembershipReadRowKey/MembershipReadAllKey return at least one row (the version row, LEFT JOINed
--   to members); a row whose StartTime is NULL means "no member".
-- * Insert/update/version-insert return exactly one row with a single boolean column.
-- * Dates arrive as DbType.DateTime with Kind=Utc, which Npgsql sends as timestamptz.
-- * SiloName, HostName and ProxyPort are read without NULL checks, hence NOT NULL.
-- * Status values: 3 = Active, 6 = Dead.

CREATE TABLE orleansquery
(
    querykey  text NOT NULL PRIMARY KEY,
    querytext text NOT NULL
);

COMMENT ON TABLE orleansquery IS
    'Query texts of the Orleans ADO.NET providers (read as OrleansQuery(QueryKey, QueryText)). Written by migrations only.';

CREATE TABLE orleans_membership_version
(
    deployment_id text        NOT NULL PRIMARY KEY,
    version       integer     NOT NULL DEFAULT 0,
    updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE orleans_membership
(
    deployment_id   text        NOT NULL REFERENCES orleans_membership_version (deployment_id) ON DELETE CASCADE,
    address         text        NOT NULL,
    port            integer     NOT NULL,
    generation      integer     NOT NULL,
    silo_name       text        NOT NULL,
    host_name       text        NOT NULL,
    status          integer     NOT NULL,
    proxy_port      integer     NOT NULL,
    suspect_times   text,
    start_time      timestamptz NOT NULL,
    i_am_alive_time timestamptz NOT NULL,
    PRIMARY KEY (deployment_id, address, port, generation)
);

INSERT INTO orleansquery (querykey, querytext)
VALUES
('InsertMembershipVersionKey', $query$
WITH inserted AS (
    INSERT INTO orleans_membership_version (deployment_id)
    VALUES (@DeploymentId)
    ON CONFLICT (deployment_id) DO NOTHING
    RETURNING 1
)
SELECT count(*) = 1 AS "Inserted" FROM inserted
$query$),

('InsertMembershipKey', $query$
WITH bumped AS (
    UPDATE orleans_membership_version AS v
    SET version = v.version + 1, updated_at = now()
    WHERE v.deployment_id = @DeploymentId
      AND v.version = @Version
      AND NOT EXISTS (
          SELECT 1 FROM orleans_membership AS m
          WHERE m.deployment_id = @DeploymentId
            AND m.address = @Address AND m.port = @Port AND m.generation = @Generation)
    RETURNING v.deployment_id
), inserted AS (
    INSERT INTO orleans_membership
        (deployment_id, address, port, generation, silo_name, host_name, status, proxy_port,
         start_time, i_am_alive_time)
    SELECT deployment_id, @Address, @Port, @Generation, @SiloName, @HostName, @Status, @ProxyPort,
           @StartTime, @IAmAliveTime
    FROM bumped
    RETURNING 1
)
SELECT count(*) = 1 AS "Inserted" FROM inserted
$query$),

('UpdateMembershipKey', $query$
WITH bumped AS (
    UPDATE orleans_membership_version AS v
    SET version = v.version + 1, updated_at = now()
    WHERE v.deployment_id = @DeploymentId
      AND v.version = @Version
      AND EXISTS (
          SELECT 1 FROM orleans_membership AS m
          WHERE m.deployment_id = @DeploymentId
            AND m.address = @Address AND m.port = @Port AND m.generation = @Generation)
    RETURNING v.deployment_id
), updated AS (
    UPDATE orleans_membership AS m
    SET status = @Status, suspect_times = @SuspectTimes, i_am_alive_time = @IAmAliveTime
    FROM bumped
    WHERE m.deployment_id = bumped.deployment_id
      AND m.address = @Address AND m.port = @Port AND m.generation = @Generation
    RETURNING 1
)
SELECT count(*) = 1 AS "Updated" FROM updated
$query$),

('UpdateIAmAlivetimeKey', $query$
UPDATE orleans_membership
SET i_am_alive_time = @IAmAliveTime
WHERE deployment_id = @DeploymentId
  AND address = @Address AND port = @Port AND generation = @Generation
$query$),

('MembershipReadRowKey', $query$
SELECT v.version AS "Version",
       m.address AS "Address", m.port AS "Port", m.generation AS "Generation",
       m.silo_name AS "SiloName", m.host_name AS "HostName", m.status AS "Status",
       m.proxy_port AS "ProxyPort", m.suspect_times AS "SuspectTimes",
       m.start_time AS "StartTime", m.i_am_alive_time AS "IAmAliveTime"
FROM orleans_membership_version AS v
LEFT JOIN orleans_membership AS m
       ON m.deployment_id = v.deployment_id
      AND m.address = @Address AND m.port = @Port AND m.generation = @Generation
WHERE v.deployment_id = @DeploymentId
$query$),

('MembershipReadAllKey', $query$
SELECT v.version AS "Version",
       m.address AS "Address", m.port AS "Port", m.generation AS "Generation",
       m.silo_name AS "SiloName", m.host_name AS "HostName", m.status AS "Status",
       m.proxy_port AS "ProxyPort", m.suspect_times AS "SuspectTimes",
       m.start_time AS "StartTime", m.i_am_alive_time AS "IAmAliveTime"
FROM orleans_membership_version AS v
LEFT JOIN orleans_membership AS m ON m.deployment_id = v.deployment_id
WHERE v.deployment_id = @DeploymentId
$query$),

('DeleteMembershipTableEntriesKey', $query$
DELETE FROM orleans_membership_version WHERE deployment_id = @DeploymentId
$query$),

('GatewaysQueryKey', $query$
SELECT address AS "Address", proxy_port AS "ProxyPort", generation AS "Generation"
FROM orleans_membership
WHERE deployment_id = @DeploymentId AND status = @Status AND proxy_port > 0
$query$),

-- Only rows of dead silos are removed: a silo in any other state may still matter to the protocol.
('CleanupDefunctSiloEntriesKey', $query$
DELETE FROM orleans_membership
WHERE deployment_id = @DeploymentId
  AND i_am_alive_time < @IAmAliveTime
  AND status = 6
$query$)
ON CONFLICT (querykey) DO UPDATE SET querytext = excluded.querytext;
