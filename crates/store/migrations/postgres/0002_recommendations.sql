-- Recommendations written for a child, and parents' answers to them.
CREATE TABLE recommendations (
    id             UUID PRIMARY KEY,
    child_id       UUID NOT NULL REFERENCES children(id) ON DELETE CASCADE,
    created_at     TIMESTAMPTZ NOT NULL,
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
    recommendation_id  UUID NOT NULL REFERENCES recommendations(id) ON DELETE CASCADE,
    user_id            UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    child_id           UUID NOT NULL REFERENCES children(id) ON DELETE CASCADE,
    was_helpful        BOOLEAN NOT NULL,
    comment            TEXT,
    created_at         TIMESTAMPTZ NOT NULL,
    updated_at         TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (recommendation_id, user_id)
);
CREATE INDEX feedback_by_child ON recommendation_feedback (child_id, updated_at);
