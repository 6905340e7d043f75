-- Each child's latest intervention effect estimates (only those resting on enough data),
-- pooled across children into the population a child with few days is shrunk toward.
-- Stored, not kept per process, so every node and a restarted one pool the same
-- children. A child's rows are replaced as one set whenever its effects are computed.
CREATE TABLE effect_estimates (
    child_id     UUID NOT NULL REFERENCES children(id) ON DELETE CASCADE,
    kind         TEXT NOT NULL,
    effect       DOUBLE PRECISION NOT NULL,
    std_error    DOUBLE PRECISION NOT NULL,
    computed_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (child_id, kind)
);
CREATE INDEX effect_estimates_by_kind ON effect_estimates (kind);
