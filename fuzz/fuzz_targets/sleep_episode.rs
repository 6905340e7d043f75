//! A sleep episode body as `POST /children/{id}/sleep-episodes` decodes it: any of the
//! accepted shapes (Sprout's own, Open mHealth body, Open mHealth data point) through
//! `SleepEpisodeBody::parse_json`, then `NewSleepEpisode::parse`.

#![no_main]

use chrono::{DateTime, Duration, Utc};
use libfuzzer_sys::fuzz_target;
use sprout_domain::{NewSleepEpisode, SleepEpisodeBody, EARLIEST_ACCEPTED};

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_795_000_000, 0).expect("fixed instant")
}

fuzz_target!(|data: &[u8]| {
    let Ok(input) = SleepEpisodeBody::parse_json(data) else {
        return;
    };
    match NewSleepEpisode::parse(&input, now()) {
        Ok(episode) => {
            assert!(episode.onset.timestamp() >= EARLIEST_ACCEPTED);
            assert!(episode.offset <= now() + Duration::hours(24));
            let length = episode.offset - episode.onset;
            assert!(length >= Duration::minutes(5) && length <= Duration::hours(20));
            // A real UTC offset: strictly within a day.
            assert!(episode.utc_offset_min.abs() < 24 * 60);
        }
        Err(error) => {
            assert!(error.to_string().chars().count() <= 400, "{error}");
        }
    }
});
