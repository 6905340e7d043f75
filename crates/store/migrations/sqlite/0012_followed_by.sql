-- The activity the family logged within a suggestion's window, of the kind it suggested:
-- whether the family did it (NULL: not logged).
ALTER TABLE recommendations ADD COLUMN followed_by BLOB REFERENCES interventions(id) ON DELETE SET NULL;
