-- Orleans grain storage for Microsoft.Orleans.Persistence.AdoNet, Invariant "Npgsql".
--
-- Contract (Orleans 10.4.2, AdoNetGrainStorage):
-- * Parameters: GrainIdHash, GrainTypeHash (int), GrainIdN0, GrainIdN1 (bigint), GrainTypeString and
--   GrainIdExtensionString (text; the extension is NULL for integer/GUID keys without extension, and
--   holds the whole key for string keys), ServiceId (text), GrainStateVersion (int, NULL when the grain
--   has no etag yet), PayloadBinary (bytea).
-- * GrainTypeString is the STATE NAME of [PersistentState("name", ...)], not the grain type, and the key
--   parts carry no grain type either: by default two grain types with the same key and the same state
--   name map to the same row (dotnet/orleans #8746, #9737). The two hashes come from the configurable
--   AdoNetGrainStorageOptions.HashPicker, and both are part of the row identity here, so a hash picker
--   that mixes GrainId.Type into the hashes gives each grain type its own row. Without such a picker,
--   give every grain type its own state name.
-- * ReadFromStorageKey returns zero or one row: PayloadBinary (NULL after a clear: RecordExists=false)
--   and Version (becomes the etag).
-- * WriteToStorageKey returns the new version as NewGrainStateVersion. Zero rows or a NULL means a
--   version conflict, which the provider raises as InconsistentStateException: an insert (NULL etag)
--   finds a row already there, or an update finds no row with the expected version.
-- * ClearStorageKey (keep the row, drop the payload) and DeleteStorageKey (remove the row, used with
--   DeleteStateOnClear=true) return one row whose first column is a non-NULL value that differs from
--   the etag sent, or no row on a version conflict.
-- * Versions stay positive and change on every write: after 2^31-1 they wrap to 1.

CREATE TABLE orleans_storage
(
    grain_id_hash      integer     NOT NULL,
    grain_type_hash    integer     NOT NULL,
    service_id         text        NOT NULL,
    grain_type         text        NOT NULL,
    grain_id_n0        bigint      NOT NULL,
    grain_id_n1        bigint      NOT NULL,
    grain_id_extension text,
    -- Folds the two variable-length key parts into a fixed-size, unambiguous value for the primary key
    -- (long string keys would not fit a btree entry; NULL and '' extensions must stay distinct).
    grain_key_digest   text        NOT NULL GENERATED ALWAYS AS (
        md5(length(grain_type)::text || ':' || grain_type || coalesce('+' || grain_id_extension, '-'))) STORED,
    payload_binary     bytea,
    version            integer     NOT NULL,
    modified_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (grain_id_hash, grain_type_hash, service_id, grain_id_n0, grain_id_n1, grain_key_digest)
);

COMMENT ON COLUMN orleans_storage.grain_type IS
    'The state name given to [PersistentState], as the Orleans ADO.NET provider passes it (GrainTypeString).';

INSERT INTO orleansquery (querykey, querytext)
VALUES
('ReadFromStorageKey', $query$
SELECT payload_binary AS "PayloadBinary", version AS "Version"
FROM orleans_storage
WHERE grain_id_hash = @GrainIdHash
  AND grain_type_hash = @GrainTypeHash
  AND service_id = @ServiceId
  AND grain_id_n0 = @GrainIdN0
  AND grain_id_n1 = @GrainIdN1
  AND grain_type = @GrainTypeString
  AND grain_id_extension IS NOT DISTINCT FROM @GrainIdExtensionString
$query$),

('WriteToStorageKey', $query$
WITH updated AS (
    UPDATE orleans_storage
    SET payload_binary = @PayloadBinary,
        version = CASE WHEN version = 2147483647 THEN 1 ELSE version + 1 END,
        modified_at = now()
    WHERE @GrainStateVersion IS NOT NULL
      AND grain_id_hash = @GrainIdHash
      AND grain_type_hash = @GrainTypeHash
      AND service_id = @ServiceId
      AND grain_id_n0 = @GrainIdN0
      AND grain_id_n1 = @GrainIdN1
      AND grain_type = @GrainTypeString
      AND grain_id_extension IS NOT DISTINCT FROM @GrainIdExtensionString
      AND version = @GrainStateVersion
    RETURNING version
), inserted AS (
    INSERT INTO orleans_storage
        (grain_id_hash, grain_type_hash, service_id, grain_type, grain_id_n0, grain_id_n1,
         grain_id_extension, payload_binary, version)
    SELECT @GrainIdHash, @GrainTypeHash, @ServiceId, @GrainTypeString, @GrainIdN0, @GrainIdN1,
           @GrainIdExtensionString, @PayloadBinary, 1
    WHERE @GrainStateVersion IS NULL
    ON CONFLICT DO NOTHING
    RETURNING version
)
SELECT version AS "NewGrainStateVersion" FROM updated
UNION ALL
SELECT version FROM inserted
$query$),

('ClearStorageKey', $query$
UPDATE orleans_storage
SET payload_binary = NULL,
    version = CASE WHEN version = 2147483647 THEN 1 ELSE version + 1 END,
    modified_at = now()
WHERE grain_id_hash = @GrainIdHash
  AND grain_type_hash = @GrainTypeHash
  AND service_id = @ServiceId
  AND grain_id_n0 = @GrainIdN0
  AND grain_id_n1 = @GrainIdN1
  AND grain_type = @GrainTypeString
  AND grain_id_extension IS NOT DISTINCT FROM @GrainIdExtensionString
  AND version = @GrainStateVersion
RETURNING version AS "NewGrainStateVersion"
$query$),

-- The provider forgets the etag after a delete; it only checks that the value returned is not NULL
-- and not the etag it sent, so the deleted row's successor version is returned.
('DeleteStorageKey', $query$
DELETE FROM orleans_storage
WHERE grain_id_hash = @GrainIdHash
  AND grain_type_hash = @GrainTypeHash
  AND service_id = @ServiceId
  AND grain_id_n0 = @GrainIdN0
  AND grain_id_n1 = @GrainIdN1
  AND grain_type = @GrainTypeString
  AND grain_id_extension IS NOT DISTINCT FROM @GrainIdExtensionString
  AND version = @GrainStateVersion
RETURNING version::bigint + 1 AS "NewGrainStateVersion"
$query$)
ON CONFLICT (querykey) DO UPDATE SET querytext = excluded.querytext;
