-- MeshOs KPIs: SLI rollups per scope (the mesh, each tenant) at four resolutions (KPIS.md, "Storage and retention").
--
-- A scope's SLI collector closes each minute once settled and adds the minute's row and its share of the 5-minute,
-- hour and day rows in one batch. Adds are commutative (counts sum, latency sketches sum bucket by bucket), so a retry
-- never loses a count. Minute rows are pruned after MeshOs:Kpi:MinuteRetention (35 days), the others after
-- MeshOs:Kpi:RollupRetention (13 months). Reports read at most hour rows over 13 months per scope.

CREATE TABLE meshos_sli
(
    scope               text        NOT NULL,
    resolution          integer     NOT NULL, -- minutes: 1, 5, 60, 1440
    at                  timestamptz NOT NULL,
    requests            bigint      NOT NULL DEFAULT 0,
    errors              bigint      NOT NULL DEFAULT 0,
    observed_minutes    bigint      NOT NULL DEFAULT 0,
    bad_minutes         bigint      NOT NULL DEFAULT 0,
    unobserved_minutes  bigint      NOT NULL DEFAULT 0,
    excluded_minutes    bigint      NOT NULL DEFAULT 0,
    probe_failed_minutes bigint     NOT NULL DEFAULT 0,
    windows             bigint      NOT NULL DEFAULT 0,
    windows_met         bigint      NOT NULL DEFAULT 0,
    submit              bigint[]    NOT NULL DEFAULT '{}', -- latency sketch (82 buckets) or empty
    end_to_end          bigint[]    NOT NULL DEFAULT '{}',
    PRIMARY KEY (scope, resolution, at)
);

CREATE INDEX meshos_sli_prune ON meshos_sli (resolution, at);

-- Bucket-by-bucket sum of two sketches (the shorter padded with zeros; empty adds nothing).
CREATE FUNCTION meshos_sketch_add(a bigint[], b bigint[]) RETURNS bigint[]
    LANGUAGE sql IMMUTABLE AS
$$
SELECT CASE
           WHEN cardinality(b) = 0 THEN a
           WHEN cardinality(a) = 0 THEN b
           ELSE ARRAY(SELECT coalesce(x, 0) + coalesce(y, 0) FROM unnest(a, b) WITH ORDINALITY AS u(x, y, i) ORDER BY i)
       END
$$;
