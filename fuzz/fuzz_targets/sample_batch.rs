//! A sample batch body decoded exactly as `POST /children/{id}/metrics` does it: the
//! document into raw JSON rows, then every row through `SampleBatch::parse_raw`.

#![no_main]

use chrono::{DateTime, Duration, Utc};
use libfuzzer_sys::fuzz_target;
use serde::Deserialize;
use serde_json::value::RawValue;
use sprout_domain::{BatchRejection, SampleBatch, SleepState, EARLIEST_ACCEPTED, MAX_BATCH_SAMPLES};

/// The server's own body shape (crates/server/src/routes/measurements.rs).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBatch<'a> {
    #[serde(borrow)]
    samples: Vec<&'a RawValue>,
}

/// A fixed clock, so a crash replays the same way on any day.
fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_795_000_000, 0).expect("fixed instant")
}

fuzz_target!(|data: &[u8]| {
    // A body that is not this shape is a 400 before any row is looked at.
    let Ok(raw) = serde_json::from_slice::<RawBatch<'_>>(data) else {
        return;
    };
    let count = raw.samples.len();
    match SampleBatch::parse_raw(raw.samples.iter().map(|r| r.get()), now()) {
        Ok(batch) => {
            assert!(count > 0 && count <= MAX_BATCH_SAMPLES);
            assert_eq!(batch.len(), count, "a valid batch keeps every row");
            for sample in batch.samples() {
                assert!(sample.time.timestamp() >= EARLIEST_ACCEPTED);
                assert!(sample.time <= now() + Duration::hours(24));
                if let Some(s) = sample.stress_level {
                    assert!((0.0..=1.0).contains(&s));
                }
                if let Some(hr) = sample.heart_rate {
                    assert!((20.0..=260.0).contains(&hr));
                }
                if let Some(hrv) = sample.hrv_ms {
                    assert!((0.0..=1_000.0).contains(&hrv));
                }
                if let Some(steps) = sample.steps {
                    assert!((0..=100_000).contains(&steps));
                }
                if let Some(state) = sample.sleep_state {
                    assert!(SleepState::ALL.contains(&state));
                }
                // A stored sample serialises back to JSON (the export and the API reads).
                serde_json::to_string(sample).expect("a valid sample serialises");
            }
        }
        Err(BatchRejection::Empty) => assert_eq!(count, 0),
        Err(BatchRejection::TooLarge { count: said }) => {
            assert_eq!(said, count);
            assert!(count > MAX_BATCH_SAMPLES);
        }
        Err(BatchRejection::InvalidRows { rows, bad_count }) => {
            assert!(!rows.is_empty() && rows.len() <= 10 && rows.len() <= bad_count);
            assert!(bad_count <= count);
            assert!(rows.windows(2).all(|w| w[0].index < w[1].index));
            assert!(rows.iter().all(|r| r.index < count));
            // The 422 body is JSON; building it must not fail.
            serde_json::to_string(&rows).expect("row errors serialise");
        }
    }
});
