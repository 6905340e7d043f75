-- Consent per child and purpose: who decided, and when. A purpose with no row has its
-- default (see sprout_domain::ConsentPurpose::default_granted).
CREATE TABLE consents (
    child_id    UUID NOT NULL REFERENCES children(id) ON DELETE CASCADE,
    purpose     TEXT NOT NULL,
    granted     BOOLEAN NOT NULL,
    by_user     UUID NOT NULL,
    at          TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (child_id, purpose)
);
