-- MeshOs audit inbox: audit entries written in the same transaction as the job change they record.
--
-- A gateway hands a job mutation's audit entry (a submit, an agent's start, complete or fail) to the job grain, and the
-- job store's group commit writes it here with the change, only when the change is written (one commit per mutation
-- instead of two). The audit writer then seals the inbox onto the chain: in one transaction it locks the chain's head,
-- takes the oldest rows (FOR UPDATE SKIP LOCKED), inserts them as chained entries in meshos_audit, moves the head and
-- deletes them here. It does so at once after each job-store commit that wrote entries, every
-- MeshOs:Audit:InboxPollInterval for rows another silo left, and before any query or verification of the log
-- (a query sees every acknowledged entry). Rows wait here for milliseconds: they are not yet chained, so the tamper
-- evidence of an entry starts when it is sealed (COMPLIANCE.md). Rows are only inserted and deleted (UPDATE refused).

CREATE TABLE meshos_audit_inbox
(
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_id         uuid        NOT NULL,
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
    written_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TRIGGER meshos_audit_inbox_no_update BEFORE UPDATE ON meshos_audit_inbox
    FOR EACH ROW EXECUTE FUNCTION meshos_audit_refuse();
