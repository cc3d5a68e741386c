-- MeshOs event log: what the kernel publishes for supervisors (healing, cost, adaptive learning, KPIs).
--
-- position = (id of the writing transaction << 20) + the event's ordinal within it. Readers take only positions
-- below (oldest running transaction's id << 20): every transaction below that horizon has ended, so no event can
-- later appear below a position a reader has passed, although writers commit out of order.
-- payload: the event as JSON (schema in docs/events.md).

CREATE TABLE meshos_events
(
    position bigint      NOT NULL PRIMARY KEY,
    kind     smallint    NOT NULL,
    at       timestamptz NOT NULL,
    payload  jsonb       NOT NULL
);

CREATE INDEX meshos_events_at ON meshos_events (at);
