-- Parents' notes about a child ("sleeps better after reading"), remembered and
-- retrieved by meaning when a recommendation is written.
CREATE TABLE notes (
    id          UUID PRIMARY KEY,
    child_id    UUID NOT NULL REFERENCES children(id) ON DELETE CASCADE,
    author      UUID NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    text        TEXT NOT NULL
);
CREATE INDEX notes_by_child ON notes (child_id, created_at);
