-- Model versions that write recommendations, and the experiments that compare them.
CREATE TABLE models (
    version        TEXT PRIMARY KEY,
    base           TEXT NOT NULL,
    adapter_path   TEXT,
    data_snapshot  TEXT,
    metrics        TEXT NOT NULL DEFAULT '{}',
    status         TEXT NOT NULL CHECK (status IN ('candidate', 'active', 'retired')),
    created_at     TIMESTAMPTZ NOT NULL
);
-- The deterministic template writer is the first version, active from the start.
INSERT INTO models (version, base, status, created_at) VALUES ('template-1', 'template', 'active', now());

CREATE TABLE experiments (
    id                 UUID PRIMARY KEY,
    control_version    TEXT NOT NULL REFERENCES models(version),
    candidate_version  TEXT NOT NULL REFERENCES models(version),
    candidate_share    DOUBLE PRECISION NOT NULL,
    status             TEXT NOT NULL CHECK (status IN ('running', 'promoted', 'rolled_back')),
    started_at         TIMESTAMPTZ NOT NULL,
    ended_at           TIMESTAMPTZ
);

ALTER TABLE recommendations ADD COLUMN experiment_id UUID;
