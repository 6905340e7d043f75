-- What the family says its child should not be offered (preferred_interventions holds
-- what it likes): the policy never suggests these.
ALTER TABLE children ADD COLUMN avoided_interventions TEXT NOT NULL DEFAULT '[]';
