//! Sprout's domain types, parsed and validated once at the edge.
//!
//! Handlers, the store and the engines only ever hold values that passed these
//! parsers: a [`StressLevel`] is in `[0, 1]`, a [`Timezone`] is a real IANA zone, a
//! [`SampleBatch`] is bounded in size and every row in it is valid. Parsers take the
//! current time as an argument where they need it, so they stay pure and testable.

mod child;
mod consent;
mod error;
mod event;
mod ids;
mod intervention;
mod sample;
mod sensitive;
mod sleep;
mod time;

pub use child::{Child, DisplayName, Email, NewChild, Password, Preferences, Timezone};
pub use consent::ConsentPurpose;
pub use error::{RowError, ValidationError};
pub use event::{EventType, NewSchoolEvent, SchoolEvent, SchoolEventInput};
pub use ids::{ChildId, DeviceId, FamilyId, RecordId, UserId};
pub use intervention::{Intervention, InterventionInput, InterventionKind, NewIntervention};
pub use sample::{
    BatchRejection, Sample, SampleBatch, SampleInput, SleepState, StressLevel, MAX_BATCH_SAMPLES,
};
pub use sensitive::Sensitive;
pub use sleep::{NewSleepEpisode, SleepEpisode, SleepEpisodeBody, SleepEpisodeInput};
pub use time::{parse_instant, ClockFormat, EARLIEST_ACCEPTED, MAX_FUTURE_SKEW};
