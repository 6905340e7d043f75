-- Consent per child and purpose: who decided, and when. A purpose with no row has its
-- default (see sprout_domain::ConsentPurpose::default_granted).
CREATE TABLE consents (
    child_id    BLOB NOT NULL REFERENCES children(id) ON DELETE CASCADE,
    purpose     TEXT NOT NULL,
    granted     INTEGER NOT NULL,
    by_user     BLOB NOT NULL,
    at          INTEGER NOT NULL,
    PRIMARY KEY (child_id, purpose)
);
