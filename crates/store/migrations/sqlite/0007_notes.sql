-- Parents' notes about a child ("sleeps better after reading"), remembered and
-- retrieved by meaning when a recommendation is written.
CREATE TABLE notes (
    id          BLOB PRIMARY KEY,
    child_id    BLOB NOT NULL REFERENCES children(id) ON DELETE CASCADE,
    author      BLOB NOT NULL,
    created_at  INTEGER NOT NULL,
    text        TEXT NOT NULL
);
CREATE INDEX notes_by_child ON notes (child_id, created_at);
