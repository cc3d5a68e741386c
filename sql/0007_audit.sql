-- MeshOs audit log: every mutation and security decision, hash-chained, append-only, kept in monthly partitions.
--
-- hash = SHA-256(prev_hash || canonical entry bytes) (encoding: COMPLIANCE.md). Writers lock the one head row
-- (meshos_audit_head) FOR UPDATE in each batch transaction, so all silos extend ONE chain; seq has no gaps.
-- Entry times never go backwards along seq, so each monthly partition holds a contiguous run of seqs and retention
-- drops whole months (after a boundary checkpoint) without holes. UPDATE, DELETE and TRUNCATE are refused by
-- triggers (and the privileges are revoked where the owner allows): only dropping a whole past-retention partition
-- removes entries.

CREATE TABLE meshos_audit
(
    seq            bigint      NOT NULL,
    at             timestamptz NOT NULL,
    actor_kind     text        NOT NULL,
    actor_key      text        NOT NULL,
    actor_tenant   text,
    actor_address  text,
    action         text        NOT NULL,
    target         text        NOT NULL,
    tenant         text,
    outcome        text        NOT NULL,
    error_code     text,
    request_id     text,
    correlation_id text,
    transport      text,
    change_digest  text,
    prev_hash      bytea       NOT NULL,
    hash           bytea       NOT NULL,
    PRIMARY KEY (seq, at)
) PARTITION BY RANGE (at);

CREATE INDEX meshos_audit_tenant ON meshos_audit (tenant, seq);
CREATE INDEX meshos_audit_target ON meshos_audit (target, seq);
CREATE INDEX meshos_audit_actor ON meshos_audit (actor_key, seq);

CREATE TABLE meshos_audit_head
(
    id   smallint    NOT NULL PRIMARY KEY CHECK (id = 1),
    seq  bigint      NOT NULL,
    hash bytea       NOT NULL,
    at   timestamptz NOT NULL
);

INSERT INTO meshos_audit_head (id, seq, hash, at) VALUES (1, 0, '\x0000000000000000000000000000000000000000000000000000000000000000', 'epoch');

-- Signed statements of the head (HMAC-SHA256 with a key kept outside the database); kind: periodic, shutdown, boundary.
CREATE TABLE meshos_audit_checkpoints
(
    id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    seq  bigint      NOT NULL,
    hash bytea       NOT NULL,
    at   timestamptz NOT NULL,
    kind text        NOT NULL,
    mac  bytea       NOT NULL
);

CREATE INDEX meshos_audit_checkpoints_seq ON meshos_audit_checkpoints (seq);

CREATE FUNCTION meshos_audit_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the MeshOs audit log is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER meshos_audit_append_only BEFORE UPDATE OR DELETE ON meshos_audit
    FOR EACH ROW EXECUTE FUNCTION meshos_audit_refuse();
CREATE TRIGGER meshos_audit_no_truncate BEFORE TRUNCATE ON meshos_audit
    FOR EACH STATEMENT EXECUTE FUNCTION meshos_audit_refuse();
CREATE TRIGGER meshos_audit_checkpoints_append_only BEFORE UPDATE OR DELETE ON meshos_audit_checkpoints
    FOR EACH ROW EXECUTE FUNCTION meshos_audit_refuse();
CREATE TRIGGER meshos_audit_checkpoints_no_truncate BEFORE TRUNCATE ON meshos_audit_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION meshos_audit_refuse();

REVOKE UPDATE, DELETE, TRUNCATE ON meshos_audit, meshos_audit_checkpoints FROM PUBLIC;
REVOKE UPDATE, DELETE, TRUNCATE ON meshos_audit, meshos_audit_checkpoints FROM CURRENT_USER;

-- The partition for the month starting at month_start (UTC), with its own TRUNCATE guard and revoked privileges
-- (statement triggers and privileges are not inherited). Safe to call concurrently and repeatedly.
CREATE FUNCTION meshos_audit_ensure_partition(month_start date) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    name text := format('meshos_audit_%s', to_char(month_start, 'YYYYMM'));
BEGIN
    PERFORM pg_advisory_xact_lock(4839210457);
    IF to_regclass(name) IS NULL THEN
        EXECUTE format('CREATE TABLE %I PARTITION OF meshos_audit FOR VALUES FROM (%L) TO (%L)', name,
            (month_start::timestamp AT TIME ZONE 'UTC'), ((month_start + interval '1 month')::timestamp AT TIME ZONE 'UTC'));
        EXECUTE format('CREATE TRIGGER meshos_audit_no_truncate BEFORE TRUNCATE ON %I FOR EACH STATEMENT EXECUTE FUNCTION meshos_audit_refuse()', name);
        EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE ON %I FROM PUBLIC', name);
        EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE ON %I FROM CURRENT_USER', name);
    END IF;
END;
$$;
