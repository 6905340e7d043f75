//! The decision-point table causal estimates are built on: every moment at which a
//! family could have started an intervention is a row (target trial emulation; Hernán &
//! Robins 2016).
//!
//! Why moments and not days: parents start mindfulness *because* they see a spike, and a
//! spike fades by itself. Compared with "the same clock window on other days", the fading
//! spike reads as an effect (or the spike's remains as harm). Here every candidate moment
//! carries what the parent could see at that moment — the latest readings, the level and
//! slope over the hour before, the day so far — so the comparison is between moments that
//! looked alike when the family decided.
//!
//! Rows. Candidate moments every [`GRID_STEP`] through the hours in which this child's
//! family has ever started the kind (one hour either side), while the child is awake; plus
//! each start of the kind at its own time. A moment within [`OUTCOME_WINDOW`] after any
//! start is not a control: the earlier activity is still acting on it. Outcome: mean
//! **awake** stress over the [`OUTCOME_WINDOW`] after the moment. A start *later* inside
//! that window is recorded with the share of the window it covers, so its estimated
//! effect can be taken out of the outcome (see [`crate::effects`]).
//!
//! Covariates, all fixed before the moment: the latest readings (last
//! [`LATEST_WINDOW`]), the 30 minutes and the hour before (level and slope), the day's
//! awake stress so far, clock hour (a cubic, separately on school and free days), a test
//! today, tomorrow and how close the next one is, the previous night's sleep, any start
//! of any kind in the previous [`CARRY_WINDOW`] and each kind started the day before
//! (carry-over), and a slow trend over the weeks. The moment's local date is its day:
//! moments of one day share that day's mood, so the estimate compares within days and
//! clusters by day (the day-level covariates then serve a table read without that).
//!
//! Also built for the checks: the negative-control outcome (awake stress in the hour that
//! ends an hour before the moment: before anything the covariates see, so no start can
//! change it and, when the covariates explain why families act, no start is linked to it)
//! and the same row at any other instant ([`MomentBuilder::moment_at`]), for the
//! time-shift placebo.

use crate::calendar::{assessment_dates, free_days, is_school_day};
use crate::days::previous_night_sleep;
use crate::ChildData;
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use sprout_domain::{Intervention, InterventionKind};

/// How long after a start its effect on stress is measured: the length of a calm evening
/// activity and the time after it.
pub const OUTCOME_WINDOW: Duration = Duration::hours(2);
/// Spacing of candidate moments: finer than families decide, and as fine as helps:
/// neighbouring moments share most of their two-hour outcome windows, so a finer grid
/// adds rows (time) more than information.
pub const GRID_STEP: Duration = Duration::minutes(10);
/// "The reading just before": the mean of the readings in these last minutes (one
/// reading alone carries the sensor's noise).
pub const LATEST_WINDOW: Duration = Duration::minutes(10);
/// The level before the moment, in two halves of this hour: a 30-minute mean alone
/// misses the spike that prompted the parent; the two halves give its slope.
pub const LOOKBACK: Duration = Duration::hours(1);
/// Starts this recent still act on the moment (a covariate beyond the outcome window).
pub const CARRY_WINDOW: Duration = Duration::hours(3);
/// The negative-control window ends this long before the moment...
const NEGATIVE_CONTROL_GAP: Duration = Duration::hours(1);
/// ...and lasts this long.
const NEGATIVE_CONTROL_WINDOW: Duration = Duration::hours(1);
/// Candidate hours reach this far beyond the earliest and latest start of the kind.
const HOUR_MARGIN: f64 = 1.0;
/// Local hour from which the day's awake stress so far is measured.
pub(crate) const DAY_START_HOUR: u32 = 6;
/// Share of the readings a window should hold (at the data's cadence) to be used.
const MIN_COVERAGE: f64 = 0.5;
/// The trend covariate counts in months, so its coefficient reads as change a month.
pub(crate) const TREND_DAYS: f64 = 30.0;
/// Clock hours are centred here (evening), where most families act.
const HOUR_CENTRE: f64 = 18.0;
/// ...and scaled by this many hours, to keep the cubic well conditioned.
const HOUR_SCALE: f64 = 4.0;

/// What was known at one moment, and what followed.
#[derive(Debug, Clone, PartialEq)]
pub struct Moment {
    pub time: DateTime<Utc>,
    /// Days since the child's first reading (local dates): the cluster.
    pub day: u32,
    /// The kind started at this moment, if any.
    pub started: Option<InterventionKind>,
    /// Mean awake stress over the outcome window after the moment.
    pub stress_after: f64,
    /// Mean awake stress in the negative-control window before the moment, when measured.
    pub stress_long_before: Option<f64>,
    /// Starts after the moment inside its outcome window, each with the share of the
    /// window it covers: their effects are mixed into `stress_after`.
    pub later_starts: Vec<(InterventionKind, f64)>,
    pub covariates: Covariates,
}

/// Everything fixed before a moment that may explain both a start and the stress after it.
#[derive(Debug, Clone, PartialEq)]
pub struct Covariates {
    /// Mean of the readings in the last [`LATEST_WINDOW`].
    pub latest: f64,
    /// Mean over the 30 minutes before.
    pub last_half_hour: f64,
    /// Mean over the half hour before that.
    pub half_hour_before: f64,
    /// Mean awake stress from the morning until the moment.
    pub day_so_far: f64,
    /// Mean awake stress of the day before (moods carry over), or of today when unknown.
    pub yesterday: f64,
    /// Local clock hour (fractional).
    pub hour: f64,
    pub school_day: bool,
    pub test_today: bool,
    pub test_tomorrow: bool,
    /// How close the next assessment is: 1 at its start, falling to 0 a day before.
    pub test_ahead: f64,
    /// Hours slept the night before, when known.
    pub prev_sleep_hours: Option<f64>,
    /// Any kind was started in the previous [`CARRY_WINDOW`].
    pub started_recently: bool,
    /// Which kinds were started on the previous local date, in `InterventionKind::ALL` order.
    pub started_yesterday: [bool; 6],
    /// Months since the first reading.
    pub trend: f64,
}

/// Readings and calendar of one child, prepared once for any number of moments.
pub struct MomentBuilder<'a> {
    tz: Tz,
    /// Awake stress readings' times (Unix seconds: compared millions of times), sorted,
    /// with prefix sums of their values for window means.
    times: Vec<i64>,
    prefix: Vec<f64>,
    /// Typical spacing of readings, for how many a window should hold.
    cadence: Duration,
    first_date: NaiveDate,
    calendar: sprout_chrono::Calendar,
    test_dates: Vec<NaiveDate>,
    test_starts: Vec<DateTime<Utc>>,
    sleep_by_wake_date: Vec<(NaiveDate, f64)>,
    interventions: Vec<&'a Intervention>,
    now: DateTime<Utc>,
}

impl<'a> MomentBuilder<'a> {
    pub fn new(data: &ChildData<'a>) -> Self {
        let awake: Vec<(DateTime<Utc>, f64)> = data
            .samples
            .iter()
            .filter(|s| !s.sleep_state.is_some_and(|state| state.is_asleep()))
            .filter_map(|s| s.stress_level.map(|v| (s.time, v)))
            .collect();
        let mut prefix = Vec::with_capacity(awake.len() + 1);
        prefix.push(0.0);
        for (_, v) in &awake {
            prefix.push(prefix.last().copied().unwrap_or(0.0) + v);
        }
        let times: Vec<i64> = awake.iter().map(|(t, _)| t.timestamp()).collect();
        let cadence = typical_spacing(data);
        let first_date = data
            .samples
            .first()
            .map_or(data.now, |s| s.time)
            .with_timezone(&data.tz)
            .date_naive();
        let calendar = free_days(data.events, data.tz);
        let mut test_starts: Vec<DateTime<Utc>> = data
            .events
            .iter()
            .filter(|e| e.event_type.is_assessment())
            .map(|e| e.start)
            .collect();
        test_starts.sort_unstable();
        let mut interventions: Vec<&Intervention> = data.interventions.iter().collect();
        interventions.sort_by_key(|i| i.time);
        Self {
            tz: data.tz,
            times,
            prefix,
            cadence,
            first_date,
            sleep_by_wake_date: previous_night_sleep(data, &calendar),
            test_dates: assessment_dates(data.events, data.tz),
            test_starts,
            calendar,
            interventions,
            now: data.now,
        }
    }

    /// Mean awake stress in `[from, to)`, when the window holds enough readings.
    pub(crate) fn mean_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Option<f64> {
        let (from, to) = (from.timestamp(), to.timestamp());
        let start = self.times.partition_point(|t| *t < from);
        let end = start + self.times[start..].partition_point(|t| *t < to);
        let count = end.saturating_sub(start);
        let expected = (to - from) as f64 / self.cadence.num_seconds().max(1) as f64;
        (count > 0 && count as f64 >= MIN_COVERAGE * expected)
            .then(|| (self.prefix[end] - self.prefix[start]) / count as f64)
    }

    /// Mean of the awake readings in the [`LATEST_WINDOW`] before `t`; `None` when there
    /// is none (the child asleep, or the watch off): no family decides on nothing.
    fn latest_mean(&self, t: DateTime<Utc>) -> Option<f64> {
        let from = (t - LATEST_WINDOW).timestamp();
        let start = self.times.partition_point(|x| *x < from);
        let end = start + self.times[start..].partition_point(|x| *x < t.timestamp());
        (end > start).then(|| (self.prefix[end] - self.prefix[start]) / (end - start) as f64)
    }

    pub(crate) fn starts_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> &[&'a Intervention] {
        let start = self.interventions.partition_point(|i| i.time < from);
        let end = self.interventions.partition_point(|i| i.time < to);
        &self.interventions[start..end.max(start)]
    }

    /// The row for an instant, or `None` when the child is not awake then, a window lacks
    /// readings, or its outcome window has not closed by `now`.
    pub fn moment_at(&self, time: DateTime<Utc>, started: Option<InterventionKind>) -> Option<Moment> {
        if time + OUTCOME_WINDOW > self.now {
            return None;
        }
        let local = time.with_timezone(&self.tz);
        let date = local.date_naive();
        let latest = self.latest_mean(time)?;
        let half = LOOKBACK / 2;
        let last_half_hour = self.mean_between(time - half, time)?;
        let half_hour_before = self.mean_between(time - LOOKBACK, time - half)?;
        let day_start = self
            .tz
            .from_local_datetime(&date.and_hms_opt(DAY_START_HOUR, 0, 0)?)
            .earliest()?
            .with_timezone(&Utc);
        let day_so_far = self
            .mean_between(day_start.min(time - LOOKBACK), time)
            .unwrap_or(last_half_hour);
        let yesterday_start = day_start - Duration::days(1);
        let yesterday_mean = self
            .mean_between(yesterday_start, yesterday_start + Duration::hours(16))
            .unwrap_or(day_so_far);
        let stress_after = self.mean_between(time, time + OUTCOME_WINDOW)?;
        let nc_end = time - NEGATIVE_CONTROL_GAP;
        let stress_long_before = self.mean_between(nc_end - NEGATIVE_CONTROL_WINDOW, nc_end);
        let next_day = date.succ_opt().unwrap_or(date);
        let test_ahead = self.test_ahead(time);
        let started_yesterday = self.kinds_started_on(date.pred_opt().unwrap_or(date))?;
        let day = self.day_index(date);
        let window_s = OUTCOME_WINDOW.num_seconds() as f64;
        let later_starts = self
            .starts_between(time + Duration::seconds(1), time + OUTCOME_WINDOW)
            .iter()
            .map(|i| {
                (
                    i.kind,
                    (time + OUTCOME_WINDOW - i.time).num_seconds() as f64 / window_s,
                )
            })
            .collect();
        Some(Moment {
            time,
            day,
            started,
            stress_after,
            stress_long_before,
            later_starts,
            covariates: Covariates {
                latest,
                last_half_hour,
                half_hour_before,
                day_so_far,
                yesterday: yesterday_mean,
                hour: f64::from(local.hour()) + f64::from(local.minute()) / 60.0,
                school_day: self.school_day(date),
                test_today: self.test_on(date),
                test_tomorrow: self.test_on(next_day),
                test_ahead,
                prev_sleep_hours: self.slept_before(date),
                started_recently: !self.starts_between(time - CARRY_WINDOW, time).is_empty(),
                started_yesterday,
                trend: f64::from(day) / TREND_DAYS,
            },
        })
    }

    /// The child's time zone.
    pub(crate) fn tz(&self) -> Tz {
        self.tz
    }

    /// The instant the analysis is for: no window may close after it.
    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.now
    }

    /// A local date's place since the child's first reading (the cluster index).
    pub(crate) fn day_index(&self, date: NaiveDate) -> u32 {
        u32::try_from((date - self.first_date).num_days().max(0)).unwrap_or(u32::MAX)
    }

    /// Whether `date` is a school day.
    pub(crate) fn school_day(&self, date: NaiveDate) -> bool {
        is_school_day(date, &self.calendar)
    }

    /// Whether a test falls on `date`.
    /// Which kinds (in [`InterventionKind::ALL`] order) started on local `date`.
    pub(crate) fn kinds_started_on(&self, date: NaiveDate) -> Option<[bool; 6]> {
        let midnight = |d: NaiveDate| {
            self.tz
                .from_local_datetime(&d.and_hms_opt(0, 0, 0)?)
                .earliest()
                .map(|t| t.with_timezone(&Utc))
        };
        let mut started = [false; 6];
        for i in self.starts_between(midnight(date)?, midnight(date.succ_opt()?)?) {
            if let Some(k) = kind_index(i.kind) {
                started[k] = true;
            }
        }
        Some(started)
    }

    pub(crate) fn test_on(&self, date: NaiveDate) -> bool {
        self.test_dates.binary_search(&date).is_ok()
    }

    /// How close the next assessment is at `time`: 1 at its start, falling to 0 a day
    /// before (the shape of the rise in stress before a test).
    pub(crate) fn test_ahead(&self, time: DateTime<Utc>) -> f64 {
        self.test_starts[self.test_starts.partition_point(|t| *t <= time)..]
            .first()
            .map_or(0.0, |t| {
                (1.0 - (*t - time).num_seconds() as f64 / 86_400.0).max(0.0)
            })
    }

    /// Hours slept in the night that ended on `date`, when known.
    pub(crate) fn slept_before(&self, date: NaiveDate) -> Option<f64> {
        self.sleep_by_wake_date
            .iter()
            .find(|(d, _)| *d == date)
            .map(|(_, h)| *h)
    }

    /// The school calendar, as the sleep engine reads it.
    pub(crate) fn calendar(&self) -> &sprout_chrono::Calendar {
        &self.calendar
    }

    /// The local hours within which this family has started `kind`, widened by an hour
    /// either side; `None` when it never has.
    pub fn hours_of(&self, kind: InterventionKind) -> Option<(f64, f64)> {
        let hours: Vec<f64> = self
            .interventions
            .iter()
            .filter(|i| i.kind == kind)
            .map(|i| {
                let local = i.time.with_timezone(&self.tz);
                f64::from(local.hour()) + f64::from(local.minute()) / 60.0
            })
            .collect();
        let lo = hours.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = hours.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        (lo <= hi).then(|| ((lo - HOUR_MARGIN).max(0.0), (hi + HOUR_MARGIN).min(24.0)))
    }

    /// Whether a moment can stand for "nothing started": no start (of any kind) in the
    /// outcome window before it, which would still be acting on it. (Starts *after* it,
    /// inside its outcome window, are recorded in [`Moment::later_starts`] instead:
    /// leaving such moments out would choose controls by their future.)
    pub fn clean_control(&self, time: DateTime<Utc>) -> bool {
        self.starts_between(time - OUTCOME_WINDOW, time + Duration::seconds(1))
            .is_empty()
    }

    /// The starts of `kind`, in time order.
    pub fn starts_of(&self, kind: InterventionKind) -> impl Iterator<Item = DateTime<Utc>> + '_ {
        self.interventions
            .iter()
            .filter(move |i| i.kind == kind)
            .map(|i| i.time)
    }

    /// The grid of candidate instants, from the first reading's day to `now`, every
    /// [`GRID_STEP`] on the local clock, within `hours` (local).
    fn grid(&self, hours: (f64, f64)) -> Vec<DateTime<Utc>> {
        let instant = |s: i64| DateTime::<Utc>::from_timestamp(s, 0);
        let (Some(first), Some(last)) = (
            self.times.first().and_then(|s| instant(*s)),
            self.times.last().and_then(|s| instant(*s)),
        ) else {
            return Vec::new();
        };
        let step = GRID_STEP.num_minutes().max(1) as u32;
        let first_minute = (hours.0 * 60.0).ceil() as u32;
        let last_minute = ((hours.1 * 60.0).floor() as u32).min(24 * 60 - 1);
        let mut out = Vec::new();
        let mut date = first.with_timezone(&self.tz).date_naive();
        let last_date = last.with_timezone(&self.tz).date_naive();
        while date <= last_date {
            let mut minute = first_minute.div_ceil(step) * step;
            while minute <= last_minute {
                let instant = date
                    .and_hms_opt(minute / 60, minute % 60, 0)
                    .and_then(|t| self.tz.from_local_datetime(&t).earliest());
                if let Some(instant) = instant {
                    out.push(instant.with_timezone(&Utc));
                }
                minute += step;
            }
            match date.succ_opt() {
                Some(next) => date = next,
                None => break,
            }
        }
        out
    }

    /// The decision-point table for one kind: each start of it, and every clean candidate
    /// moment in its hours with nothing started. Empty when the kind was never started.
    pub fn table(&self, kind: InterventionKind) -> Vec<Moment> {
        self.tables([kind]).pop().unwrap_or_default()
    }

    /// [`MomentBuilder::table`] for several kinds at once: the candidate moments of their
    /// hours are built once and shared.
    pub fn tables<const N: usize>(&self, kinds: [InterventionKind; N]) -> Vec<Vec<Moment>> {
        let ranges: Vec<Option<(f64, f64)>> = kinds.iter().map(|k| self.hours_of(*k)).collect();
        let union = ranges.iter().flatten().fold(None, |acc: Option<(f64, f64)>, r| {
            Some(acc.map_or(*r, |(lo, hi)| (lo.min(r.0), hi.max(r.1))))
        });
        let candidates: Vec<Moment> = union.map_or_else(Vec::new, |hours| {
            self.grid(hours)
                .into_iter()
                .filter(|t| self.clean_control(*t))
                .filter_map(|t| self.moment_at(t, None))
                .collect()
        });
        kinds
            .iter()
            .zip(&ranges)
            .map(|(kind, range)| {
                let Some((lo, hi)) = *range else {
                    return Vec::new();
                };
                let mut rows: Vec<Moment> = self
                    .starts_of(*kind)
                    .filter(|t| !self.after_earlier_start(*t))
                    .filter_map(|t| self.moment_at(t, Some(*kind)))
                    .collect();
                rows.extend(
                    candidates
                        .iter()
                        .filter(|m| (lo..=hi).contains(&m.covariates.hour))
                        .cloned(),
                );
                rows.sort_by_key(|m| m.time);
                rows
            })
            .collect()
    }

    /// A start that falls in the outcome window of an earlier one measures both.
    fn after_earlier_start(&self, time: DateTime<Utc>) -> bool {
        !self.starts_between(time - OUTCOME_WINDOW, time).is_empty()
    }
}

/// The decision-point table of one kind for one child (see [`MomentBuilder::table`]).
pub fn moment_table(data: &ChildData<'_>, kind: InterventionKind) -> Vec<Moment> {
    MomentBuilder::new(data).table(kind)
}

/// A kind's place in `InterventionKind::ALL` (the order of per-kind arrays).
pub(crate) fn kind_index(kind: InterventionKind) -> Option<usize> {
    InterventionKind::ALL.iter().position(|k| *k == kind)
}

/// The median spacing of a child's readings (one minute when too few to tell).
fn typical_spacing(data: &ChildData<'_>) -> Duration {
    let mut gaps: Vec<i64> = data
        .samples
        .windows(2)
        .map(|w| (w[1].time - w[0].time).num_seconds())
        .filter(|s| *s > 0)
        .take(10_000)
        .collect();
    if gaps.is_empty() {
        return Duration::minutes(1);
    }
    let mid = gaps.len() / 2;
    let (_, median, _) = gaps.select_nth_unstable(mid);
    Duration::seconds(*median)
}

/// Names of the model columns built from [`Covariates`], in order: what the estimate
/// adjusts for, as the API reports it.
pub const ADJUSTMENT_SET: [&str; 23] = [
    "latest_stress",
    "stress_last_half_hour",
    "stress_half_hour_before",
    "day_stress_so_far",
    "stress_yesterday",
    "hour",
    "hour_squared",
    "hour_cubed",
    "school_day",
    "school_day_x_hour",
    "school_day_x_hour_squared",
    "school_day_x_hour_cubed",
    "test_today",
    "test_tomorrow",
    "test_ahead",
    "sleep_hours",
    "started_in_last_3h",
    "mindfulness_yesterday",
    "outdoor_play_yesterday",
    "screen_limit_yesterday",
    "early_bedtime_yesterday",
    "reading_yesterday",
    "trend_months",
];

impl Covariates {
    /// The model columns, in [`ADJUSTMENT_SET`] order; a missing night of sleep takes
    /// `mean_sleep`.
    pub fn columns(&self, mean_sleep: f64) -> [f64; ADJUSTMENT_SET.len()] {
        let flag = |b: bool| if b { 1.0 } else { 0.0 };
        let h = (self.hour - HOUR_CENTRE) / HOUR_SCALE;
        let school = flag(self.school_day);
        let y = &self.started_yesterday;
        [
            self.latest,
            self.last_half_hour,
            self.half_hour_before,
            self.day_so_far,
            self.yesterday,
            h,
            h * h,
            h * h * h,
            school,
            school * h,
            school * h * h,
            school * h * h * h,
            flag(self.test_today),
            flag(self.test_tomorrow),
            self.test_ahead,
            self.prev_sleep_hours.unwrap_or(mean_sleep),
            flag(self.started_recently),
            flag(y[0]),
            flag(y[1]),
            flag(y[2]),
            flag(y[3]),
            flag(y[4]),
            self.trend,
        ]
    }
}
