-- Each child's latest intervention effect estimates (only those resting on enough data),
-- pooled across children into the population a child with few days is shrunk toward.
-- Stored, not kept per process, so every node and a restarted one pool the same
-- children. A child's rows are replaced as one set whenever its effects are computed.
CREATE TABLE effect_estimates (
    child_id     BLOB NOT NULL REFERENCES children(id) ON DELETE CASCADE,
    kind         TEXT NOT NULL,
    effect       REAL NOT NULL,
    std_error    REAL NOT NULL,
    computed_at  INTEGER NOT NULL,
    PRIMARY KEY (child_id, kind)
);
CREATE INDEX effect_estimates_by_kind ON effect_estimates (kind);
