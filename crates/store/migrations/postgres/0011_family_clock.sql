-- How the family reads clock times ('12h': "7:30 PM", '24h': "19:30"): one format for
-- the recommendation's text, the chart and every label.
ALTER TABLE families ADD COLUMN clock TEXT NOT NULL DEFAULT '12h';
