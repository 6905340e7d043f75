//! Chronotype engine: from sleep data to a child's chronotype, social jet lag and likely
//! best windows of the day. Pure computation: data in, report out.
//!
//! # Method
//! The chronotype is the **mid-sleep on free days corrected for sleep debt (MSFsc)** of
//! the Munich ChronoType Questionnaire, computed from measured sleep rather than from
//! answers:
//!
//! 1. Sleep episodes come from posted onset/offset pairs ([`SleepEpisode`]), from
//!    epoch-by-epoch sleep states ([`episodes_from_states`]), or from activity counts
//!    scored with Roenneberg's consolidated rest detection (the default), Cole–Kripke
//!    or Sadeh ([`score_activity`]) and then turned into episodes.
//! 2. Per sleep day (local noon to noon) the main sleep is the longest episode starting
//!    between 18:00 and 06:00 local; the rest are naps and do not enter mid-sleep
//!    ([`msf::sleep_days`]).
//! 3. A night is a school night or a free night according to the day that follows it:
//!    Saturday and Sunday are free unless the calendar says otherwise ([`daytype`]).
//! 4. MSW, MSF, SDw, SDf, SDweek = (5·SDw + 2·SDf)/7, MSFsc = MSF − (SDf − SDweek)/2
//!    when SDf > SDw (else MSF), and social jet lag = |MSF − MSW| ([`msf`]).
//! 5. MSFsc is classified with a selectable cut-off convention, by default early bird
//!    below 03:00 and night owl from 04:30 local ([`classify`]); a six-level type and a
//!    confidence come with it.
//! 6. Focus and calm windows are derived heuristically from habitual timing
//!    ([`windows`]).
//!
//! # Clock times
//! All clock values are hours relative to local midnight of the morning that ends the
//! night: `3.5` is 03:30, `-1.0` is 23:00 the evening before. Local means the child's
//! IANA zone (DST-aware through the tz database), or an episode's own fixed UTC offset
//! when one was given (travel).
//!
//! # Minimum data
//! A chronotype is reported only with at least [`MIN_NIGHTS`] usable nights of which at
//! least [`MIN_FREE_NIGHTS`] are free nights: MSFsc rests on free nights, and two weeks
//! give four weekend nights in an ordinary school term. Below that the status is
//! `insufficient_data` and no type is given.
//!
//! # Limitations
//! * No non-wear detection: a watch lying still on a table scores as sleep when activity
//!   counts are used; supply states or episodes from a source that knows about wear.
//! * Activity counts with the default Roenneberg detection need at least 12 hours of
//!   data (the 24-hour trend is undefined otherwise), and a rest that lasts until less
//!   than about half an hour before the counts end is not yet a bout.
//! * Rest bouts from counts less than 20 minutes apart are merged like any other sleep
//!   bouts ([`episodes::MERGE_AWAKENING_MINUTES`]).
//! * A night broken by an awakening of 20 minutes or more becomes two episodes and the
//!   longer one is taken as the main sleep.
//! * SDweek assumes five school days and two free days a week, as in the MCTQ.
//! * The analysis covers whatever nights it is given; the caller chooses the period
//!   (chronotype drifts with season and age).
//!
//! # Example
//! ```
//! use chrono::{Duration, TimeZone, Utc};
//! use sprout_chrono::{analyze, ChildContext, Chronotype, SleepEpisode, Status};
//!
//! // Four weeks asleep 21:00–07:00 Berlin summer time (19:00–05:00 UTC).
//! let first = Utc.with_ymd_and_hms(2026, 5, 3, 19, 0, 0).single().expect("valid");
//! let episodes: Vec<SleepEpisode> = (0..28)
//!     .map(|d| {
//!         let onset = first + Duration::days(d);
//!         SleepEpisode::new(onset, onset + Duration::hours(10)).expect("positive")
//!     })
//!     .collect();
//! let report = analyze(&episodes, &ChildContext::new(chrono_tz::Europe::Berlin));
//! assert_eq!(report.status, Status::Ok);
//! assert_eq!(report.msf_sc_hours, Some(2.0)); // 02:00 local
//! assert_eq!(report.chronotype, Some(Chronotype::EarlyBird));
//! ```
//!
//! # Sources
//! * Roenneberg T, Wirz-Justice A, Merrow M (2003). Life between clocks: daily temporal
//!   patterns of human chronotypes. J Biol Rhythms 18(1):80–90. (MCTQ, MSF.)
//! * Roenneberg T, Kuehnle T, Pramstaller PP, et al. (2004). A marker for the end of
//!   adolescence. Curr Biol 14(24):R1038–R1039. (MSFsc correction; MSFsc delays through
//!   adolescence and peaks at about age 20.)
//! * Werner H, LeBourgeois MK, Geiger A, Jenni OG (2009). Assessment of chronotype in
//!   four- to eleven-year-old children: reliability and validity of the Children's
//!   ChronoType Questionnaire (CCTQ). Chronobiol Int 26(5):992–1014.
//! * Wittmann M, Dinich J, Merrow M, Roenneberg T (2006). Social jetlag: misalignment of
//!   biological and social time. Chronobiol Int 23(1–2):497–509.
//! * Cole RJ, Kripke DF, Gruen W, Mullaney DJ, Gillin JC (1992). Automatic sleep/wake
//!   identification from wrist activity. Sleep 15(5):461–469.
//! * Sadeh A, Sharkey KM, Carskadon MA (1994). Activity-based sleep-wake identification:
//!   an empirical test of methodological issues. Sleep 17(3):201–207.
//! * Roenneberg T, Keller LK, Fischer D, Matera JL, Vetter C, Winnebeck EC (2015).
//!   Human activity and rest in situ. Methods Enzymol 552:257–283. (Consolidated rest
//!   detection from activity counts; implemented as in pyActigraphy 1.2.2.)
//! * Loock A, Khan Sullivan A, Reis C, et al. (2021). Validation of the Munich
//!   Actimetry Sleep Detection Algorithm for estimating sleep–wake patterns from
//!   activity recordings. J Sleep Res 30:e13371.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod classify;
pub mod daytype;
pub mod episodes;
pub mod error;
pub mod msf;
pub mod roenneberg;
pub mod scoring;
pub mod windows;

use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

pub use classify::{Chronotype, Convention, Cutoffs, FineType};
pub use daytype::{day_type, Calendar, DayType};
pub use episodes::{episodes_from_states, SleepEpisode, SleepState, StateSample};
pub use error::ChronoError;
pub use scoring::{score_activity, ActivityCount, Algorithm};
pub use windows::{BestWindows, ClockWindow};

/// Fewest usable nights for a chronotype: two weeks.
pub const MIN_NIGHTS: usize = 14;

/// Fewest free nights for a chronotype: MSFsc is measured on free nights, and four is
/// what two ordinary school weeks provide (two weekends).
pub const MIN_FREE_NIGHTS: usize = 4;

/// What the engine needs to know about the child.
#[derive(Debug, Clone, PartialEq)]
pub struct ChildContext {
    /// The child's home time zone.
    pub tz: Tz,
    /// Age in years, used only by age-referenced conventions.
    pub age_years: Option<f64>,
    /// Overrides of the weekend default per local date.
    pub calendar: Calendar,
    /// Cut-off convention.
    pub convention: Convention,
}

impl ChildContext {
    /// A child in `tz` with no calendar overrides and the default convention.
    pub fn new(tz: Tz) -> Self {
        ChildContext {
            tz,
            age_years: None,
            calendar: Calendar::new(),
            convention: Convention::default(),
        }
    }
}

/// Whether a chronotype could be determined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Enough nights: the chronotype is reported.
    Ok,
    /// Too few nights or free nights: no chronotype.
    InsufficientData,
}

/// Result of [`analyze`]. Clock values are hours relative to local midnight (see crate
/// docs); durations are hours.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChronotypeReport {
    /// `ok` or `insufficient_data`.
    pub status: Status,
    /// Three-level chronotype; `None` unless `status` is `ok`.
    pub chronotype: Option<Chronotype>,
    /// Six-level chronotype; `None` unless `status` is `ok`.
    pub fine_type: Option<FineType>,
    /// MSFsc; `None` unless `status` is `ok`.
    pub msf_sc_hours: Option<f64>,
    /// Mean mid-sleep on free nights (descriptive, given whenever there are free nights).
    pub msf_hours: Option<f64>,
    /// Mean mid-sleep on school nights.
    pub msw_hours: Option<f64>,
    /// Mean sleep duration on school nights.
    pub sd_work_hours: Option<f64>,
    /// Mean sleep duration on free nights.
    pub sd_free_hours: Option<f64>,
    /// (5·SDw + 2·SDf)/7.
    pub sd_week_hours: Option<f64>,
    /// |MSF − MSW|.
    pub social_jetlag_hours: Option<f64>,
    /// Nights that entered the statistics.
    pub nights_used: usize,
    /// Free nights among them.
    pub free_nights: usize,
    /// School nights among them.
    pub school_nights: usize,
    /// Nights left out as outliers (see [`msf::OUTLIER_HOURS`]).
    pub nights_excluded: usize,
    /// Sleep episodes that were naps (not main sleep).
    pub naps: usize,
    /// Confidence in the chronotype, 0 when there is none.
    pub confidence: f64,
    /// The cut-offs applied.
    pub cutoffs: Cutoffs,
    /// Focus and calm windows; `None` unless `status` is `ok`.
    pub best_windows: Option<BestWindows>,
}

/// Chronotype of one child from sleep episodes. Deterministic: the same episodes (in any
/// order) and context give the same report.
pub fn analyze(episodes: &[SleepEpisode], ctx: &ChildContext) -> ChronotypeReport {
    let days = msf::sleep_days(episodes, ctx.tz);
    let naps = days.iter().map(|d| d.naps.len()).sum();
    let nights = msf::nights(&days, ctx.tz, &ctx.calendar);
    let summary = msf::summarize(&nights);
    let cutoffs = ctx.convention.cutoffs(ctx.age_years);

    let nights_used = summary.nights_used();
    let free_nights = summary.free_nights();
    let enough = nights_used >= MIN_NIGHTS && free_nights >= MIN_FREE_NIGHTS;

    let classified = match (enough, summary.msf_sc, summary.msf_sc_standard_error) {
        (true, Some(msf_sc), Some(se)) => Some((msf_sc, se)),
        _ => None,
    };

    let mut report = ChronotypeReport {
        status: Status::InsufficientData,
        chronotype: None,
        fine_type: None,
        msf_sc_hours: None,
        msf_hours: summary.free.map(|f| f.mid.mean),
        msw_hours: summary.school.map(|s| s.mid.mean),
        sd_work_hours: summary.school.map(|s| s.duration.mean),
        sd_free_hours: summary.free.map(|f| f.duration.mean),
        sd_week_hours: summary.sd_week,
        social_jetlag_hours: summary.social_jetlag,
        nights_used,
        free_nights,
        school_nights: summary.school_nights(),
        nights_excluded: summary.excluded,
        naps,
        confidence: 0.0,
        cutoffs,
        best_windows: None,
    };

    if let Some((msf_sc, se)) = classified {
        let chronotype = cutoffs.classify(msf_sc);
        report.status = Status::Ok;
        report.chronotype = Some(chronotype);
        report.fine_type = Some(cutoffs.fine_type(msf_sc));
        report.msf_sc_hours = Some(msf_sc);
        report.confidence = classify::confidence(&cutoffs, msf_sc, se, nights_used);
        report.best_windows =
            windows::best_windows(chronotype, summary.school.as_ref(), summary.free.as_ref());
    }
    report
}

/// [`analyze`] on epoch-by-epoch sleep states (episode extraction included).
pub fn analyze_states(samples: &[StateSample], ctx: &ChildContext) -> ChronotypeReport {
    analyze(&episodes_from_states(samples), ctx)
}

/// [`analyze`] on 1-minute activity counts, scored first with `algorithm`
/// ([`Algorithm::default`] is Roenneberg).
pub fn analyze_activity(
    counts: &[ActivityCount],
    algorithm: Algorithm,
    ctx: &ChildContext,
) -> ChronotypeReport {
    analyze_states(&score_activity(counts, algorithm), ctx)
}
