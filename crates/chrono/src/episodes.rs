//! Sleep episodes: what one is, and how episodes are built from epoch-by-epoch sleep states.
//!
//! A wearable typically reports one state per epoch (about one a minute). A run of
//! sleep states becomes a bout; bouts separated by a short awakening are merged into
//! one episode, and episodes too short to be a real sleep are dropped. Telling the main
//! sleep from naps needs the local clock and is done in [`crate::msf`].

use chrono::{DateTime, Duration, FixedOffset, Utc};
use serde::{Deserialize, Serialize};

use crate::error::ChronoError;

/// Awakenings shorter than this inside sleep are bridged: brief arousals of a few
/// minutes are part of normal sleep architecture and should not split the night.
/// Twenty minutes is the conventional boundary; the same order of magnitude is used by
/// the Webster rescoring rules of Cole et al. 1992 (wake bouts of 10–20 min).
pub const MERGE_AWAKENING_MINUTES: i64 = 20;

/// Episodes shorter than this after merging are dropped: a 15-minute doze in the car
/// carries no information about circadian phase and would only add noise.
pub const MIN_EPISODE_MINUTES: i64 = 30;

/// A gap between two samples longer than this is treated as missing data (device off
/// or not worn), not as continued sleep: a bout ends at the last sample seen.
pub const MAX_SAMPLE_GAP_MINUTES: i64 = 10;

/// Epoch length assumed for the last sample of a series (and when the cadence cannot be
/// inferred); one minute is the usual actigraphy and wearable epoch.
pub const DEFAULT_EPOCH_SECONDS: i64 = 60;

/// No single sleep is longer than this; longer spans are data errors (e.g. a device
/// left on a table reporting "asleep" for days).
pub const MAX_EPISODE_HOURS: f64 = 20.0;

/// Sleep state of one epoch as reported by a device or by actigraphy scoring.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SleepState {
    /// Awake.
    Awake,
    /// Light (N1/N2) sleep.
    Light,
    /// Deep (N3, slow-wave) sleep.
    Deep,
    /// REM sleep.
    Rem,
    /// Asleep without a stage (e.g. from actigraphy scoring).
    Asleep,
}

impl SleepState {
    /// True for every state except [`SleepState::Awake`].
    pub fn is_asleep(self) -> bool {
        !matches!(self, SleepState::Awake)
    }
}

/// The state of the epoch starting at `time`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateSample {
    /// Start of the epoch.
    pub time: DateTime<Utc>,
    /// State during the epoch.
    pub state: SleepState,
}

/// One continuous sleep episode.
///
/// `utc_offset` is the fixed offset of the clock the child lived by during this episode
/// (for instance while travelling); when absent, the child's own IANA zone applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SleepEpisode {
    /// Sleep onset.
    pub onset: DateTime<Utc>,
    /// Sleep offset (final awakening).
    pub offset: DateTime<Utc>,
    /// Fixed local clock of this episode, in seconds east of UTC when serialised.
    #[serde(default, with = "offset_seconds")]
    pub utc_offset: Option<FixedOffset>,
}

impl SleepEpisode {
    /// An episode read on the child's own zone.
    pub fn new(onset: DateTime<Utc>, offset: DateTime<Utc>) -> Result<Self, ChronoError> {
        let episode = SleepEpisode {
            onset,
            offset,
            utc_offset: None,
        };
        episode.validate()?;
        Ok(episode)
    }

    /// An episode posted with its own fixed UTC offset; its clock times are read on that
    /// offset (the onset's offset, should the two differ after a flight).
    pub fn with_fixed_offset(
        onset: DateTime<FixedOffset>,
        offset: DateTime<FixedOffset>,
    ) -> Result<Self, ChronoError> {
        let episode = SleepEpisode {
            onset: onset.with_timezone(&Utc),
            offset: offset.with_timezone(&Utc),
            utc_offset: Some(*onset.offset()),
        };
        episode.validate()?;
        Ok(episode)
    }

    /// Checks that the episode is positive and not implausibly long.
    pub fn validate(&self) -> Result<(), ChronoError> {
        if self.offset <= self.onset {
            return Err(ChronoError::EpisodeNotPositive {
                onset: self.onset,
                offset: self.offset,
            });
        }
        let hours = self.duration_hours();
        if hours > MAX_EPISODE_HOURS {
            return Err(ChronoError::EpisodeTooLong {
                hours,
                max_hours: MAX_EPISODE_HOURS,
            });
        }
        Ok(())
    }

    /// Elapsed time asleep-to-awake in hours (physical time, so a DST night is an hour
    /// shorter or longer on the wall clock than in the body).
    pub fn duration_hours(&self) -> f64 {
        (self.offset - self.onset).num_seconds() as f64 / 3600.0
    }

    /// The instant halfway between onset and offset.
    pub fn mid_instant(&self) -> DateTime<Utc> {
        self.onset + (self.offset - self.onset) / 2
    }
}

/// Builds sleep episodes from epoch-by-epoch states.
///
/// Samples need not be sorted. Each sample covers the time up to the next sample, the
/// last one [`DEFAULT_EPOCH_SECONDS`]; gaps longer than [`MAX_SAMPLE_GAP_MINUTES`] are
/// missing data. Bouts separated by less than [`MERGE_AWAKENING_MINUTES`] of wake (or
/// missing data) are merged, then episodes shorter than [`MIN_EPISODE_MINUTES`] are
/// dropped. Returned episodes are sorted by onset and use the child's own zone.
pub fn episodes_from_states(samples: &[StateSample]) -> Vec<SleepEpisode> {
    let sorted_storage;
    let samples: &[StateSample] = if samples.windows(2).all(|w| w[0].time <= w[1].time) {
        samples
    } else {
        let mut copy = samples.to_vec();
        copy.sort_by_key(|s| s.time);
        sorted_storage = copy;
        &sorted_storage
    };

    let default_epoch = Duration::seconds(DEFAULT_EPOCH_SECONDS);
    let max_gap = Duration::minutes(MAX_SAMPLE_GAP_MINUTES);
    let merge_gap = Duration::minutes(MERGE_AWAKENING_MINUTES);
    let min_len = Duration::minutes(MIN_EPISODE_MINUTES);

    let mut bouts: Vec<(DateTime<Utc>, DateTime<Utc>)> = Vec::new();
    let mut current: Option<(DateTime<Utc>, DateTime<Utc>)> = None;
    for (i, sample) in samples.iter().enumerate() {
        // End of this epoch: the next sample, unless the gap means the device was off.
        let epoch_end = match samples.get(i + 1) {
            Some(next) if next.time - sample.time <= max_gap => next.time,
            _ => sample.time + default_epoch,
        };
        if sample.state.is_asleep() {
            current = match current {
                Some((start, end)) if sample.time <= end => Some((start, epoch_end)),
                Some(bout) => {
                    bouts.push(bout);
                    Some((sample.time, epoch_end))
                }
                None => Some((sample.time, epoch_end)),
            };
        } else if let Some(bout) = current.take() {
            bouts.push(bout);
        }
    }
    if let Some(bout) = current {
        bouts.push(bout);
    }

    let mut merged: Vec<(DateTime<Utc>, DateTime<Utc>)> = Vec::with_capacity(bouts.len());
    for (start, end) in bouts {
        match merged.last_mut() {
            Some(last) if start - last.1 < merge_gap => last.1 = last.1.max(end),
            _ => merged.push((start, end)),
        }
    }

    merged
        .into_iter()
        .filter(|(start, end)| *end - *start >= min_len)
        .filter_map(|(start, end)| SleepEpisode::new(start, end).ok())
        .collect()
}

/// Serialises an optional fixed offset as seconds east of UTC.
mod offset_seconds {
    use chrono::FixedOffset;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(value: &Option<FixedOffset>, serializer: S) -> Result<S::Ok, S::Error> {
        value.map(|o| o.local_minus_utc()).serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<FixedOffset>, D::Error> {
        match Option::<i32>::deserialize(deserializer)? {
            None => Ok(None),
            Some(secs) => FixedOffset::east_opt(secs)
                .map(Some)
                .ok_or_else(|| serde::de::Error::custom("UTC offset out of range")),
        }
    }
}
