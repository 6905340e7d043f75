//! An intervention body as `POST /children/{id}/interventions` decodes it:
//! `InterventionInput` from JSON, then `NewIntervention::parse`.

#![no_main]

use chrono::{DateTime, Duration, Utc};
use libfuzzer_sys::fuzz_target;
use sprout_domain::{InterventionInput, NewIntervention, EARLIEST_ACCEPTED};

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_795_000_000, 0).expect("fixed instant")
}

fuzz_target!(|data: &[u8]| {
    let Ok(input) = serde_json::from_slice::<InterventionInput>(data) else {
        return;
    };
    match NewIntervention::parse(&input, now()) {
        Ok(intervention) => {
            assert!(intervention.duration_min >= 1);
            assert!(intervention.time.timestamp() >= EARLIEST_ACCEPTED);
            assert!(intervention.time <= now() + Duration::hours(24));
            assert_eq!(intervention.kind.as_str(), input.kind);
        }
        Err(error) => {
            assert!(error.to_string().chars().count() <= 400, "{error}");
        }
    }
});
