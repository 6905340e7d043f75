-- Sprout's foundation schema for SQLite. Instants are INTEGER microseconds since the
-- Unix epoch (UTC), so ordering and range scans are plain integer comparisons.
CREATE TABLE families (
    id          BLOB PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE users (
    id             BLOB PRIMARY KEY,
    family_id      BLOB NOT NULL REFERENCES families(id) ON DELETE CASCADE,
    email          TEXT NOT NULL UNIQUE,
    password_hash  TEXT NOT NULL,
    role           TEXT NOT NULL DEFAULT 'parent',
    created_at     INTEGER NOT NULL
);

CREATE TABLE children (
    id                       BLOB PRIMARY KEY,
    family_id                BLOB NOT NULL REFERENCES families(id) ON DELETE CASCADE,
    display_name             TEXT NOT NULL,
    birth_date               TEXT NOT NULL,
    timezone                 TEXT NOT NULL,
    chronotype               TEXT,
    preferred_interventions  TEXT NOT NULL DEFAULT '[]',
    created_at               INTEGER NOT NULL
);
CREATE INDEX children_by_family ON children (family_id, created_at);

CREATE TABLE devices (
    id          BLOB PRIMARY KEY,
    child_id    BLOB NOT NULL REFERENCES children(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER
);

-- Bearer tokens are stored as SHA-256 digests: a leaked table grants nothing.
CREATE TABLE tokens (
    token_hash  BLOB PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('parent', 'device')),
    user_id     BLOB REFERENCES users(id) ON DELETE CASCADE,
    device_id   BLOB REFERENCES devices(id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER,
    revoked_at  INTEGER
);

-- One row per child and instant: re-sending a batch is harmless.
CREATE TABLE wellness_metrics (
    child_id      BLOB NOT NULL,
    time          INTEGER NOT NULL,
    stress_level  REAL,
    heart_rate    REAL,
    hrv_ms        REAL,
    sleep_state   TEXT,
    steps         INTEGER,
    PRIMARY KEY (child_id, time)
) WITHOUT ROWID;

CREATE TABLE school_events (
    id          BLOB PRIMARY KEY,
    child_id    BLOB NOT NULL REFERENCES children(id) ON DELETE CASCADE,
    event_type  TEXT NOT NULL,
    start_time  INTEGER NOT NULL,
    end_time    INTEGER,
    created_at  INTEGER NOT NULL,
    UNIQUE (child_id, start_time, event_type)
);

CREATE TABLE interventions (
    id            BLOB PRIMARY KEY,
    child_id      BLOB NOT NULL REFERENCES children(id) ON DELETE CASCADE,
    kind          TEXT NOT NULL,
    time          INTEGER NOT NULL,
    duration_min  INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    UNIQUE (child_id, time, kind)
);

CREATE TABLE sleep_episodes (
    id              BLOB PRIMARY KEY,
    child_id        BLOB NOT NULL REFERENCES children(id) ON DELETE CASCADE,
    onset           INTEGER NOT NULL,
    offset_time     INTEGER NOT NULL,
    utc_offset_min  INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    UNIQUE (child_id, onset)
);

CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    at         INTEGER NOT NULL,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    child_id   BLOB,
    detail     TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_by_child ON audit_log (child_id, at);
