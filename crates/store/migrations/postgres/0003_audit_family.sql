-- Audit entries name the family they belong to, so a family can read its own trail
-- (token creation and revocation, exports, deletions) even after a child is erased.
ALTER TABLE audit_log ADD COLUMN family_id UUID;
CREATE INDEX audit_log_by_family ON audit_log (family_id, at);
