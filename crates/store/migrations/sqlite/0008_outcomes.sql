-- What happened after a recommendation: the child's measured stress in the window after
-- the recommended time against the forecast for that window (JSON), and the reward that
-- blends it with the parents' answer (sprout-learn's formula), for the experiments.
ALTER TABLE recommendations ADD COLUMN outcome TEXT;
ALTER TABLE recommendations ADD COLUMN reward REAL;
