//! The evening table an earlier bedtime is judged on: one row per evening, because a
//! bedtime acts on the night and the morning after it, not on the two hours after it
//! (the child spends most of those asleep, and stress while asleep says only that).
//!
//! Rows. Every evening whose night is known (a main sleep ending the next day) and whose
//! next morning has passed, treated when an early bedtime started that evening. The
//! decision is the bedtime's own start; on other evenings, the family's usual clock time
//! for one on evenings of the same kind (school or free day tomorrow), so the stress
//! "before the decision" is measured at comparable hours.
//!
//! Covariates, all fixed before the decision: stress in the hour before; how far the
//! day's awake readings so far, and yesterday's, stood from the child's usual level at
//! those hours (families choose early bedtimes on bad days, and a bad day's mood carries
//! into the next morning: raw day means mix that with the ordinary shape of a day and
//! left +0.010 of it in simulated estimates, the deviations about +0.005); whether
//! tomorrow is a school day and holds a test, and how far the day so far and the next
//! morning stand under a test ahead (a test's approach raises both without making it a
//! bad day); the night before's sleep; which kinds were started the day before (what
//! they carry into today would otherwise make a bad day look ordinary); another activity
//! that day; and the slow trend.
//!
//! Outcomes ([`NightOutcome`]): that night's sleep (hours), when it began (hours from
//! midnight), and the next morning's awake stress (the first [`MORNING_WINDOW`] after
//! waking). The negative control is the same morning stress of the morning *before* the
//! evening, which no bedtime that evening can change.
//!
//! Evenings of one week share routines, so the standard error clusters by week (CR2 with
//! Bell–McCaffrey degrees of freedom, as for the moments); a week's fixed effect is not
//! absorbed because one row a day leaves too few treated evenings within weeks.

use crate::moments::{MomentBuilder, DAY_START_HOUR, LOOKBACK, TREND_DAYS};
use crate::ChildData;
use chrono::{DateTime, Duration, NaiveDate, Timelike, Utc};
use sprout_causal::{estimate_effect, CausalError, Column, EffectSpec, Estimate, Method, Options, Table};
use sprout_domain::InterventionKind;

/// How much of the next morning counts as "the morning after": long enough to average
/// out a restless first reading, short enough to stay about the night.
pub const MORNING_WINDOW: Duration = Duration::hours(3);

/// Names of the model columns built from [`EveningCovariates`], in order.
pub const EVENING_ADJUSTMENT_SET: [&str; 15] = [
    "stress_hour_before",
    "day_stress_vs_usual",
    "yesterday_stress_vs_usual",
    "school_tomorrow",
    "test_tomorrow",
    "test_ahead_so_far",
    "test_ahead_next_morning",
    "sleep_hours_night_before",
    "mindfulness_yesterday",
    "outdoor_play_yesterday",
    "screen_limit_yesterday",
    "early_bedtime_yesterday",
    "reading_yesterday",
    "other_activity_today",
    "trend_months",
];

/// The kind this table is about.
const KIND: InterventionKind = InterventionKind::EarlyBedtime;
const TREATMENT: &str = "early_bedtime";
const OUTCOME: &str = "outcome";
const CLUSTER: &str = "week";
/// Days a cluster spans.
const WEEK_DAYS: u32 = 7;
/// Local hours of "yesterday" averaged for its stress.
const YESTERDAY_HOURS: i64 = 16;

/// What each row measures after (or, for the negative control, before) the evening.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NightOutcome {
    /// Mean awake stress over the first [`MORNING_WINDOW`] after waking next morning.
    NextMorning,
    /// Hours of sleep that night.
    SleepHours,
    /// Sleep onset, hours from the next day's midnight (negative = before midnight).
    Onset,
    /// The negative control: the morning's stress before the evening.
    ThisMorning,
}

/// One evening: what was known when the family decided, and the night that followed.
#[derive(Debug, Clone, PartialEq)]
pub struct Evening {
    /// Local date of the evening.
    pub date: NaiveDate,
    /// Days since the child's first reading.
    pub day: u32,
    /// An early bedtime started this evening.
    pub started: bool,
    /// When the family decided: the bedtime's start, or their usual time for one.
    pub decided_at: DateTime<Utc>,
    pub sleep_hours: f64,
    pub onset_hours: f64,
    pub next_morning: Option<f64>,
    pub this_morning: Option<f64>,
    pub covariates: EveningCovariates,
}

/// What was known at the evening's decision.
#[derive(Debug, Clone, PartialEq)]
pub struct EveningCovariates {
    /// Mean awake stress in the hour before the decision (the day so far when the child
    /// was already asleep or the watch off).
    pub hour_before: f64,
    /// The day's awake readings so far against the child's usual level at those hours
    /// (school or free day): how bad a day it is, without the ordinary shape of a day,
    /// which differs with the hour the family decides.
    pub day_vs_usual: f64,
    /// The same for the day before (bad days come in runs).
    pub yesterday_vs_usual: f64,
    pub school_tomorrow: bool,
    pub test_tomorrow: bool,
    /// How far the day's readings so far stood under a test ahead (mean of
    /// `test_ahead` over them): a test's approach raises them without making it a bad day.
    pub test_ahead_so_far: f64,
    /// The same over the next morning's window, from the calendar (known in advance).
    pub test_ahead_next_morning: f64,
    pub sleep_night_before: Option<f64>,
    /// Which kinds started the day before (in [`InterventionKind::ALL`] order): what an
    /// activity carries into the next day lowers today's readings, so without these a bad
    /// day after an activity would pass for an ordinary one.
    pub started_yesterday: [bool; 6],
    /// Another kind was started that day. Later than the decision on some evenings, but
    /// a co-activity, not a result of the bedtime: left out, whatever it does to the next
    /// day (carry-over) would be read as the bedtime's doing.
    pub other_today: bool,
    /// Months since the first reading.
    pub trend: f64,
}

impl Evening {
    /// The row's value of `outcome`, when measured.
    pub fn outcome(&self, outcome: NightOutcome) -> Option<f64> {
        match outcome {
            NightOutcome::NextMorning => self.next_morning,
            NightOutcome::SleepHours => Some(self.sleep_hours),
            NightOutcome::Onset => Some(self.onset_hours),
            NightOutcome::ThisMorning => self.this_morning,
        }
    }
}

impl EveningCovariates {
    /// The model columns, in [`EVENING_ADJUSTMENT_SET`] order; an unknown night before
    /// takes `mean_sleep`.
    fn columns(&self, mean_sleep: f64) -> [f64; EVENING_ADJUSTMENT_SET.len()] {
        let flag = |b: bool| if b { 1.0 } else { 0.0 };
        [
            self.hour_before,
            self.day_vs_usual,
            self.yesterday_vs_usual,
            flag(self.school_tomorrow),
            flag(self.test_tomorrow),
            self.test_ahead_so_far,
            self.test_ahead_next_morning,
            self.sleep_night_before.unwrap_or(mean_sleep),
            flag(self.started_yesterday[0]),
            flag(self.started_yesterday[1]),
            flag(self.started_yesterday[2]),
            flag(self.started_yesterday[3]),
            flag(self.started_yesterday[4]),
            flag(self.other_today),
            self.trend,
        ]
    }
}

/// The evening table of one child; empty when the family never started an early bedtime.
pub fn evenings(builder: &MomentBuilder<'_>, data: &ChildData<'_>) -> Vec<Evening> {
    let tz = builder.tz();
    let local = |t: DateTime<Utc>| t.with_timezone(&tz);
    let clock = |t: DateTime<Utc>| {
        let l = local(t);
        f64::from(l.hour()) + f64::from(l.minute()) / 60.0
    };
    let starts: Vec<DateTime<Utc>> = builder.starts_of(KIND).collect();
    if starts.is_empty() {
        return Vec::new();
    }
    let start_on = |date: NaiveDate| starts.iter().copied().find(|t| local(*t).date_naive() == date);
    // The family's usual clock time for a bedtime, by whether school follows.
    let usual = |school_tomorrow: bool| {
        let mut hours: Vec<f64> = starts
            .iter()
            .filter(|t| builder.school_day(local(**t).date_naive() + Duration::days(1)) == school_tomorrow)
            .map(|t| clock(*t))
            .collect();
        if hours.is_empty() {
            hours = starts.iter().map(|t| clock(*t)).collect();
        }
        hours.sort_by(f64::total_cmp);
        hours[hours.len() / 2]
    };
    let usual_hours = [usual(false), usual(true)];
    let at = |date: NaiveDate, hour: f64| crate::days::local_instant(tz, date, (hour * 60.0).round() as u32);
    let nights = crate::days::main_nights(data, builder.calendar());
    let usual_level = UsualLevel::of(data, builder);
    let morning = |wake: DateTime<Utc>| builder.mean_between(wake, wake + MORNING_WINDOW);
    nights
        .iter()
        .filter(|night| night.episode.offset + MORNING_WINDOW <= builder.now())
        .filter_map(|night| {
            let date = night.wake_date.pred_opt()?;
            let school_tomorrow = builder.school_day(night.wake_date);
            let started = start_on(date);
            let decided_at = match started {
                Some(t) => t,
                None => at(date, usual_hours[usize::from(school_tomorrow)])?,
            };
            let day_start = at(date, f64::from(DAY_START_HOUR))?;
            let day_so_far = builder.mean_between(day_start, decided_at)?;
            let yesterday_start = day_start - Duration::days(1);
            let this_morning = nights
                .iter()
                .find(|n| n.wake_date == date)
                .and_then(|n| morning(n.episode.offset));
            let day_starts = builder.starts_between(at(date, 0.0)?, at(night.wake_date, 0.0)?);
            let day = builder.day_index(date);
            Some(Evening {
                date,
                day,
                started: started.is_some(),
                decided_at,
                sleep_hours: night.duration_hours,
                onset_hours: night.onset_hours,
                next_morning: morning(night.episode.offset),
                this_morning,
                covariates: EveningCovariates {
                    hour_before: builder
                        .mean_between(decided_at - LOOKBACK, decided_at)
                        .unwrap_or(day_so_far),
                    day_vs_usual: usual_level.deviation(day_start, decided_at)?,
                    yesterday_vs_usual: usual_level
                        .deviation(
                            yesterday_start,
                            yesterday_start + Duration::hours(YESTERDAY_HOURS),
                        )
                        .unwrap_or(0.0),
                    school_tomorrow,
                    test_tomorrow: builder.test_on(night.wake_date),
                    test_ahead_so_far: mean_test_ahead(builder, day_start, decided_at),
                    test_ahead_next_morning: mean_test_ahead(
                        builder,
                        night.episode.offset,
                        night.episode.offset + MORNING_WINDOW,
                    ),
                    sleep_night_before: builder.slept_before(date),
                    started_yesterday: builder.kinds_started_on(date.pred_opt()?)?,
                    other_today: day_starts.iter().any(|i| i.kind != KIND),
                    trend: f64::from(day) / TREND_DAYS,
                },
            })
        })
        .collect()
}

/// Mean of [`MomentBuilder::test_ahead`] over `[from, to)`, every quarter hour.
fn mean_test_ahead(builder: &MomentBuilder<'_>, from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    let step = Duration::minutes(15);
    let (mut sum, mut n) = (0.0, 0u32);
    let mut t = from;
    while t < to {
        sum += builder.test_ahead(t);
        n += 1;
        t += step;
    }
    sum / f64::from(n.max(1))
}

/// Evenings with an early bedtime, and evenings without one.
pub fn evening_counts(rows: &[Evening]) -> (usize, usize) {
    let treated = rows.iter().filter(|e| e.started).count();
    (treated, rows.len() - treated)
}

/// The regression of `outcome` on an early bedtime (as `treated` marks the rows) and the
/// covariates, clustered by week, on the rows where the outcome is known.
pub fn estimate_night(
    rows: &[Evening],
    outcome: NightOutcome,
    treated: &dyn Fn(&Evening) -> bool,
    adjusted: bool,
    options: &Options,
) -> Result<Estimate, CausalError> {
    let (table, spec) = evening_table(rows, outcome, treated, adjusted)?;
    estimate_effect(&table, &spec, Method::Regression, options)
}

/// The engine's table and spec for one outcome (also what an export writes); without
/// `adjusted`, evenings with a bedtime are compared with all others as they are.
pub fn evening_table(
    rows: &[Evening],
    outcome: NightOutcome,
    treated: &dyn Fn(&Evening) -> bool,
    adjusted: bool,
) -> Result<(Table, EffectSpec), CausalError> {
    let rows: Vec<(&Evening, f64)> = rows
        .iter()
        .filter_map(|e| e.outcome(outcome).map(|y| (e, y)))
        .collect();
    let known: Vec<f64> = rows
        .iter()
        .filter_map(|(e, _)| e.covariates.sleep_night_before)
        .collect();
    let mean_sleep = known.iter().sum::<f64>() / known.len().max(1) as f64;
    let covariates: Vec<[f64; EVENING_ADJUSTMENT_SET.len()]> = rows
        .iter()
        .map(|(e, _)| e.covariates.columns(mean_sleep))
        .collect();
    let mut columns = vec![
        Column::numeric(
            TREATMENT,
            rows.iter()
                .map(|(e, _)| if treated(e) { 1.0 } else { 0.0 })
                .collect(),
        ),
        Column::numeric(OUTCOME, rows.iter().map(|(_, y)| *y).collect()),
        Column::numeric(
            CLUSTER,
            rows.iter().map(|(e, _)| f64::from(e.day / WEEK_DAYS)).collect(),
        ),
    ];
    for (j, name) in EVENING_ADJUSTMENT_SET.iter().enumerate() {
        columns.push(Column::numeric(*name, covariates.iter().map(|c| c[j]).collect()));
    }
    let spec = EffectSpec {
        treatment: TREATMENT.into(),
        outcome: OUTCOME.into(),
        common_causes: if adjusted {
            EVENING_ADJUSTMENT_SET.iter().map(|c| (*c).to_owned()).collect()
        } else {
            Vec::new()
        },
        clusters: Some(CLUSTER.into()),
        ..EffectSpec::default()
    };
    Ok((Table::new(columns)?, spec))
}

/// Whether `kind` is judged on evenings rather than moments.
pub fn judged_by_night(kind: InterventionKind) -> bool {
    kind == KIND
}

/// Each awake reading against the child's usual awake stress at that clock hour on that
/// kind of day (school or free): what tells a bad day from the ordinary shape of a day.
struct UsualLevel {
    /// Reading times (Unix seconds), sorted...
    times: Vec<i64>,
    /// ...and prefix sums of their deviations from the usual level.
    prefix: Vec<f64>,
}

impl UsualLevel {
    fn of(data: &ChildData<'_>, builder: &MomentBuilder<'_>) -> Self {
        let tz = builder.tz();
        let awake: Vec<(i64, f64, usize, usize)> = data
            .samples
            .iter()
            .filter(|s| !s.sleep_state.is_some_and(|state| state.is_asleep()))
            .filter_map(|s| {
                let local = s.time.with_timezone(&tz);
                let school = usize::from(builder.school_day(local.date_naive()));
                Some((s.time.timestamp(), s.stress_level?, school, local.hour() as usize))
            })
            .collect();
        let mut sums = [[(0.0, 0usize); 24]; 2];
        for (_, v, school, hour) in &awake {
            sums[*school][*hour].0 += v;
            sums[*school][*hour].1 += 1;
        }
        let usual = |school: usize, hour: usize| {
            let (sum, n) = sums[school][hour];
            sum / n.max(1) as f64
        };
        let mut prefix = Vec::with_capacity(awake.len() + 1);
        prefix.push(0.0);
        for (_, v, school, hour) in &awake {
            prefix.push(prefix.last().copied().unwrap_or(0.0) + v - usual(*school, *hour));
        }
        Self {
            times: awake.iter().map(|r| r.0).collect(),
            prefix,
        }
    }

    /// Mean deviation from the usual level of the readings in `[from, to)`.
    fn deviation(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Option<f64> {
        let start = self.times.partition_point(|t| *t < from.timestamp());
        let end = self.times.partition_point(|t| *t < to.timestamp()).max(start);
        (end > start).then(|| (self.prefix[end] - self.prefix[start]) / (end - start) as f64)
    }
}
