-- Recommendations written for a child, and parents' answers to them.
CREATE TABLE recommendations (
    id             BLOB PRIMARY KEY,
    child_id       BLOB NOT NULL REFERENCES children(id) ON DELETE CASCADE,
    created_at     INTEGER NOT NULL,
    text           TEXT NOT NULL,
    action_kind    TEXT NOT NULL,
    action_slot    TEXT NOT NULL,
    model_version  TEXT NOT NULL,
    arm            TEXT NOT NULL,
    details        TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX recommendations_by_child ON recommendations (child_id, created_at);

-- One answer per parent and recommendation; a changed mind updates it.
CREATE TABLE recommendation_feedback (
    recommendation_id  BLOB NOT NULL REFERENCES recommendations(id) ON DELETE CASCADE,
    user_id            BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    child_id           BLOB NOT NULL REFERENCES children(id) ON DELETE CASCADE,
    was_helpful        INTEGER NOT NULL,
    comment            TEXT,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    PRIMARY KEY (recommendation_id, user_id)
);
CREATE INDEX feedback_by_child ON recommendation_feedback (child_id, updated_at);
