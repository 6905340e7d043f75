-- Sprout's foundation schema for PostgreSQL.
CREATE TABLE families (
    id          UUID PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE users (
    id             UUID PRIMARY KEY,
    family_id      UUID NOT NULL REFERENCES families(id) ON DELETE CASCADE,
    email          TEXT NOT NULL UNIQUE,
    password_hash  TEXT NOT NULL,
    role           TEXT NOT NULL DEFAULT 'parent',
    created_at     TIMESTAMPTZ NOT NULL
);

CREATE TABLE children (
    id                       UUID PRIMARY KEY,
    family_id                UUID NOT NULL REFERENCES families(id) ON DELETE CASCADE,
    display_name             TEXT NOT NULL,
    birth_date               DATE NOT NULL,
    timezone                 TEXT NOT NULL,
    chronotype               TEXT,
    preferred_interventions  TEXT NOT NULL DEFAULT '[]',
    created_at               TIMESTAMPTZ NOT NULL
);
CREATE INDEX children_by_family ON children (family_id, created_at);

CREATE TABLE devices (
    id          UUID PRIMARY KEY,
    child_id    UUID NOT NULL REFERENCES children(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    revoked_at  TIMESTAMPTZ
);

-- Bearer tokens are stored as SHA-256 digests: a leaked table grants nothing.
CREATE TABLE tokens (
    token_hash  BYTEA PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('parent', 'device')),
    user_id     UUID REFERENCES users(id) ON DELETE CASCADE,
    device_id   UUID REFERENCES devices(id) ON DELETE CASCADE,
    created_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ,
    revoked_at  TIMESTAMPTZ
);

-- One row per child and instant: re-sending a batch is harmless. No foreign key:
-- TimescaleDB hypertables do not take one, and deleting a child deletes its rows.
CREATE TABLE wellness_metrics (
    child_id      UUID NOT NULL,
    time          TIMESTAMPTZ NOT NULL,
    stress_level  DOUBLE PRECISION,
    heart_rate    DOUBLE PRECISION,
    hrv_ms        DOUBLE PRECISION,
    sleep_state   TEXT,
    steps         BIGINT,
    PRIMARY KEY (child_id, time)
);

CREATE TABLE school_events (
    id          UUID PRIMARY KEY,
    child_id    UUID NOT NULL REFERENCES children(id) ON DELETE CASCADE,
    event_type  TEXT NOT NULL,
    start_time  TIMESTAMPTZ NOT NULL,
    end_time    TIMESTAMPTZ,
    created_at  TIMESTAMPTZ NOT NULL,
    UNIQUE (child_id, start_time, event_type)
);

CREATE TABLE interventions (
    id            UUID PRIMARY KEY,
    child_id      UUID NOT NULL REFERENCES children(id) ON DELETE CASCADE,
    kind          TEXT NOT NULL,
    time          TIMESTAMPTZ NOT NULL,
    duration_min  BIGINT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    UNIQUE (child_id, time, kind)
);

CREATE TABLE sleep_episodes (
    id              UUID PRIMARY KEY,
    child_id        UUID NOT NULL REFERENCES children(id) ON DELETE CASCADE,
    onset           TIMESTAMPTZ NOT NULL,
    offset_time     TIMESTAMPTZ NOT NULL,
    utc_offset_min  INTEGER NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    UNIQUE (child_id, onset)
);

CREATE TABLE audit_log (
    id         BIGSERIAL PRIMARY KEY,
    at         TIMESTAMPTZ NOT NULL,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    child_id   UUID,
    detail     TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_by_child ON audit_log (child_id, at);
