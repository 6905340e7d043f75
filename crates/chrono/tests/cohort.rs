//! Synthetic cohort with known chronotypes: the engine must recover class and MSFsc.
//!
//! Each child has a true MSFsc θ drawn around a type mean (early 2.3 h, intermediate
//! 3.7 h, night owl 5.3 h). Unconstrained sleep would be centred on θ with the child's
//! sleep need. School mornings cap the wake time (sleep debt) and bedtime is pushed a
//! little earlier; free nights are longer (partial recovery) and shifted later by exactly
//! the amount the MCTQ correction assumes, so that the correct answer is θ. On top: nightly
//! jitter, naps, missing nights, a DST change (Europe/Berlin, end of March or end of
//! October), a holiday week in the calendar and a trip to another time zone whose
//! episodes carry their own fixed offset. A third of the children go through minute-level
//! state samples with brief awakenings.

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Europe::Berlin;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sprout_chrono::daytype::mark_range;
use sprout_chrono::{
    analyze, day_type, episodes_from_states, Calendar, ChildContext, Chronotype, Cutoffs, DayType,
    SleepEpisode, SleepState, StateSample, Status,
};

const CHILDREN_PER_TYPE: usize = 30;
const DAYS: i64 = 90;
const TYPE_MEANS: [(Chronotype, f64); 3] = [
    (Chronotype::EarlyBird, 2.3),
    (Chronotype::Intermediate, 3.7),
    (Chronotype::NightOwl, 5.3),
];

fn normal(rng: &mut ChaCha8Rng, mean: f64, sd: f64) -> f64 {
    // Box–Muller; 1 − u keeps the logarithm finite.
    let u1: f64 = 1.0 - rng.random::<f64>();
    let u2: f64 = rng.random::<f64>();
    mean + sd * (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
}

/// Where the child is on a given wake date.
#[derive(Clone, Copy)]
enum Place {
    Home,
    Abroad(FixedOffset),
}

fn naive_at(wake: NaiveDate, hours: f64) -> NaiveDateTime {
    wake.and_hms_opt(0, 0, 0).expect("midnight") + Duration::seconds((hours * 3600.0) as i64)
}

fn instant(place: Place, wake: NaiveDate, hours: f64) -> DateTime<Utc> {
    let naive = naive_at(wake, hours);
    match place {
        Place::Abroad(fixed) => fixed
            .from_local_datetime(&naive)
            .single()
            .expect("fixed offsets are unambiguous")
            .with_timezone(&Utc),
        // Inside a spring-forward gap the clock jumps; take the time an hour later.
        Place::Home => Berlin
            .from_local_datetime(&naive)
            .earliest()
            .or_else(|| {
                Berlin
                    .from_local_datetime(&(naive + Duration::hours(1)))
                    .earliest()
            })
            .expect("valid local time")
            .with_timezone(&Utc),
    }
}

struct Child {
    theta: f64,
    truth: Chronotype,
    episodes: Vec<SleepEpisode>,
    calendar: Calendar,
}

fn make_child(rng: &mut ChaCha8Rng, index: usize) -> Child {
    let (_, type_mean) = TYPE_MEANS[index % 3];
    let theta = normal(rng, type_mean, 0.2);
    let truth = Cutoffs::SCHOOL_AGE.classify(theta);
    let need = normal(rng, 9.8, 0.4);
    let school_wake = normal(rng, 6.75, 0.2);
    let push = rng.random_range(0.0..0.6);
    let spring = index.is_multiple_of(2);

    // Mondays before the DST changes of 2026 (29 March, 25 October).
    let start = if spring {
        date(2026, 3, 2)
    } else {
        date(2026, 9, 28)
    };
    let mut calendar = Calendar::new();
    let (holiday_from, trip_offset) = if spring {
        // Easter week; trip to New York (EDT, UTC−4).
        (date(2026, 4, 6), FixedOffset::west_opt(4 * 3600))
    } else {
        // Autumn break; trip to Tokyo (UTC+9).
        (date(2026, 10, 26), FixedOffset::east_opt(9 * 3600))
    };
    let trip_offset = trip_offset.expect("valid offset");
    mark_range(
        &mut calendar,
        holiday_from,
        holiday_from + Duration::days(6),
        DayType::Free,
    );
    let trip_from = holiday_from + Duration::days(1);
    let trip_to = holiday_from + Duration::days(5);

    // Mean timing implied by the model (hours relative to the wake date's midnight).
    let onset_w = theta - need / 2.0 - push;
    let wake_w = (theta + need / 2.0).min(school_wake);
    let sd_w = wake_w - onset_w;
    let sd_f = need + 0.4 * (need - sd_w).max(0.0);
    let sd_week = (5.0 * sd_w + 2.0 * sd_f) / 7.0;
    let msf = if sd_f > sd_w {
        theta + (sd_f - sd_week) / 2.0
    } else {
        theta
    };

    let via_states = index % 3 == 1 || index.is_multiple_of(9);
    let mut episodes = Vec::new();
    let mut samples: Vec<StateSample> = Vec::new();
    for day in 1..=DAYS {
        let wake = start + Duration::days(day);
        let place = if wake >= trip_from && wake <= trip_to {
            Place::Abroad(trip_offset)
        } else {
            Place::Home
        };
        // Missing nights: device not worn.
        if rng.random_bool(0.1) {
            continue;
        }
        let (onset, offset) = match day_type(wake, &calendar) {
            DayType::School => (
                normal(rng, onset_w, 0.4),
                normal(rng, wake_w, 0.15).min(school_wake + 0.25),
            ),
            DayType::Free => {
                let mid = normal(rng, msf, 0.5);
                let dur = normal(rng, sd_f, 0.4);
                (mid - dur / 2.0, mid + dur / 2.0)
            }
        };
        let night = (instant(place, wake, onset), instant(place, wake, offset));
        // Afternoon nap on some days.
        let nap = if rng.random_bool(0.15) {
            let start = normal(rng, 14.0, 0.5);
            let len = rng.random_range(0.6..1.5);
            Some((instant(place, wake, start), instant(place, wake, start + len)))
        } else {
            None
        };
        match place {
            Place::Abroad(fixed) => {
                for (a, b) in std::iter::once(night).chain(nap) {
                    let a = a.with_timezone(&fixed);
                    let b = b.with_timezone(&fixed);
                    episodes.push(SleepEpisode::with_fixed_offset(a, b).expect("episode"));
                }
            }
            Place::Home if via_states => {
                for (a, b) in std::iter::once(night).chain(nap) {
                    render_states(rng, a, b, &mut samples);
                }
            }
            Place::Home => {
                for (a, b) in std::iter::once(night).chain(nap) {
                    episodes.push(SleepEpisode::new(a, b).expect("episode"));
                }
            }
        }
    }
    episodes.extend(episodes_from_states(&samples));
    Child {
        theta,
        truth,
        episodes,
        calendar,
    }
}

/// Minute samples for one sleep with up to three brief awakenings, padded with 30 min of
/// wake either side.
fn render_states(
    rng: &mut ChaCha8Rng,
    onset: DateTime<Utc>,
    offset: DateTime<Utc>,
    out: &mut Vec<StateSample>,
) {
    let total = (offset - onset).num_minutes();
    let mut awakenings: Vec<(i64, i64)> = Vec::new();
    for _ in 0..rng.random_range(0..=3) {
        if total > 120 {
            let at = rng.random_range(45..total - 45);
            awakenings.push((at, at + rng.random_range(2..12)));
        }
    }
    let stages = [SleepState::Light, SleepState::Deep, SleepState::Rem];
    let mut t = onset - Duration::minutes(30);
    let end = offset + Duration::minutes(30);
    while t < end {
        let m = (t - onset).num_minutes();
        let asleep = t >= onset && t < offset && !awakenings.iter().any(|&(a, b)| m >= a && m < b);
        let state = if asleep {
            stages[((m / 30) % 3) as usize]
        } else {
            SleepState::Awake
        };
        out.push(StateSample { time: t, state });
        t += Duration::minutes(1);
    }
}

#[test]
fn synthetic_cohort_recovers_types_and_msf_sc() {
    let mut rng = ChaCha8Rng::seed_from_u64(20_260_326);
    let n = CHILDREN_PER_TYPE * 3;
    let mut correct = 0;
    let mut errors_min: Vec<f64> = Vec::with_capacity(n);
    let (mut naps, mut excluded, mut used) = (0, 0, 0);
    for index in 0..n {
        let child = make_child(&mut rng, index);
        let mut ctx = ChildContext::new(Berlin);
        ctx.calendar = child.calendar.clone();
        let report = analyze(&child.episodes, &ctx);
        assert_eq!(report.status, Status::Ok, "child {index}: {report:?}");
        naps += report.naps;
        excluded += report.nights_excluded;
        used += report.nights_used;
        let msf_sc = report.msf_sc_hours.expect("msf_sc when ok");
        errors_min.push((msf_sc - child.theta).abs() * 60.0);
        if report.chronotype == Some(child.truth) {
            correct += 1;
        } else {
            eprintln!(
                "child {index}: truth {:?} θ={:.2}, got {:?} msf_sc={msf_sc:.2}",
                child.truth, child.theta, report.chronotype
            );
        }
        assert!((0.0..=1.0).contains(&report.confidence));
    }
    errors_min.sort_by(f64::total_cmp);
    let median = errors_min[n / 2];
    let p90 = errors_min[n * 9 / 10];
    let accuracy = correct as f64 / n as f64;
    eprintln!("cohort: accuracy {accuracy:.3}, median |ΔMSFsc| {median:.1} min, p90 {p90:.1} min");
    // Naps were generated and recognised as naps; travel and DST nights were read on
    // the right clock, so almost no night falls out as an outlier.
    assert!(naps > 0);
    let excluded_share = excluded as f64 / (excluded + used) as f64;
    eprintln!("cohort: {used} nights used, {excluded} excluded, {naps} naps");
    assert!(excluded_share < 0.02, "excluded share {excluded_share}");
    assert!(accuracy >= 0.95, "accuracy {accuracy}");
    assert!(median <= 20.0, "median error {median} min");
}

#[test]
fn cohort_is_deterministic() {
    let make = || {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let child = make_child(&mut rng, 4);
        let mut ctx = ChildContext::new(Berlin);
        ctx.calendar = child.calendar.clone();
        analyze(&child.episodes, &ctx)
    };
    assert_eq!(make(), make());
}
