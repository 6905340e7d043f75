-- Hourly aggregates of raw samples that the retention period has retired. Sums (not
-- means) are kept so a late sample retired later merges exactly into its hour.
-- hour_start is the start of the child's local hour as an instant.
CREATE TABLE sample_hours (
    child_id      UUID NOT NULL,
    hour_start    TIMESTAMPTZ NOT NULL,
    samples       BIGINT NOT NULL,
    stress_n      BIGINT NOT NULL,
    stress_sum    DOUBLE PRECISION NOT NULL,
    stress_min    DOUBLE PRECISION,
    stress_max    DOUBLE PRECISION,
    heart_n       BIGINT NOT NULL,
    heart_sum     DOUBLE PRECISION NOT NULL,
    heart_min     DOUBLE PRECISION,
    heart_max     DOUBLE PRECISION,
    hrv_n         BIGINT NOT NULL,
    hrv_sum       DOUBLE PRECISION NOT NULL,
    hrv_min       DOUBLE PRECISION,
    hrv_max       DOUBLE PRECISION,
    steps_n       BIGINT NOT NULL,
    steps_sum     DOUBLE PRECISION NOT NULL,
    steps_min     DOUBLE PRECISION,
    steps_max     DOUBLE PRECISION,
    asleep        BIGINT NOT NULL,
    PRIMARY KEY (child_id, hour_start)
);
