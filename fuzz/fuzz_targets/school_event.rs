//! A school event body as `POST /children/{id}/events` decodes it: `SchoolEventInput`
//! from JSON, then `NewSchoolEvent::parse`.

#![no_main]

use chrono::{DateTime, Duration, Utc};
use libfuzzer_sys::fuzz_target;
use sprout_domain::{NewSchoolEvent, SchoolEventInput, EARLIEST_ACCEPTED};

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_795_000_000, 0).expect("fixed instant")
}

fuzz_target!(|data: &[u8]| {
    let Ok(input) = serde_json::from_slice::<SchoolEventInput>(data) else {
        return;
    };
    match NewSchoolEvent::parse(&input, now()) {
        Ok(event) => {
            let slug = event.event_type.as_str();
            assert!(!slug.is_empty() && slug.len() <= 40);
            assert!(slug
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'));
            assert!(event.start.timestamp() >= EARLIEST_ACCEPTED);
            assert!(event.start <= now() + Duration::days(400));
            if let Some(end) = event.end {
                assert!(end > event.start);
                assert!(end - event.start <= Duration::days(120));
            }
        }
        Err(error) => {
            // Echoed input is clipped: an error never carries the whole payload.
            assert!(error.to_string().chars().count() <= 400, "{error}");
        }
    }
});
