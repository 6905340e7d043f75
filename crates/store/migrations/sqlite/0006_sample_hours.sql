-- Hourly aggregates of raw samples that the retention period has retired. Sums (not
-- means) are kept so a late sample retired later merges exactly into its hour.
-- hour_start is the start of the child's local hour as an instant.
CREATE TABLE sample_hours (
    child_id      BLOB NOT NULL,
    hour_start    INTEGER NOT NULL,
    samples       INTEGER NOT NULL,
    stress_n      INTEGER NOT NULL,
    stress_sum    REAL NOT NULL,
    stress_min    REAL,
    stress_max    REAL,
    heart_n       INTEGER NOT NULL,
    heart_sum     REAL NOT NULL,
    heart_min     REAL,
    heart_max     REAL,
    hrv_n         INTEGER NOT NULL,
    hrv_sum       REAL NOT NULL,
    hrv_min       REAL,
    hrv_max       REAL,
    steps_n       INTEGER NOT NULL,
    steps_sum     REAL NOT NULL,
    steps_min     REAL,
    steps_max     REAL,
    asleep        INTEGER NOT NULL,
    PRIMARY KEY (child_id, hour_start)
);
