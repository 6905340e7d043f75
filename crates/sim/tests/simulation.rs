//! Properties of simulated data: determinism, validity, and that the truth is really in it.

use chrono::{DateTime, Duration, NaiveDate, Offset, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use sprout_domain::{InterventionKind, Sample, SampleBatch, SleepState};
use sprout_sim::{demo_family, simulate, simulate_child, SimChronotype, SimConfig, SimulatedChild};
use std::collections::BTreeMap;
use std::sync::OnceLock;

fn end() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-01T00:00:00Z")
        .map(|t| t.with_timezone(&Utc))
        .expect("fixed time")
}

fn small(seed: u64) -> SimConfig {
    SimConfig {
        seed,
        children: 3,
        days: 10,
        end: end(),
        step_minutes: 5,
        gap_rate: 0.02,
        ..SimConfig::default()
    }
}

/// Enough data for the statistical checks, cheap enough for a debug build.
fn cohort() -> &'static [SimulatedChild] {
    static COHORT: OnceLock<Vec<SimulatedChild>> = OnceLock::new();
    COHORT.get_or_init(|| {
        simulate(&SimConfig {
            seed: 7,
            children: 6,
            days: 90,
            end: end(),
            step_minutes: 5,
            gap_rate: 0.02,
            ..SimConfig::default()
        })
    })
}

fn tz(child: &SimulatedChild) -> Tz {
    child.profile.timezone.tz()
}

fn local(child: &SimulatedChild, t: DateTime<Utc>) -> (NaiveDate, f64) {
    let naive = t.with_timezone(&tz(child)).naive_local();
    (
        naive.date(),
        f64::from(naive.time().num_seconds_from_midnight()) / 3600.0,
    )
}

fn at_local(child: &SimulatedChild, date: NaiveDate, hours: f64) -> Option<DateTime<Utc>> {
    let naive = date.and_hms_opt(0, 0, 0)? + Duration::minutes((hours * 60.0).round() as i64);
    tz(child)
        .from_local_datetime(&naive)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

/// Mean stress of the samples in `[from, to)`, if at least half the expected samples exist.
fn mean_stress(samples: &[Sample], from: DateTime<Utc>, to: DateTime<Utc>, step_min: i64) -> Option<f64> {
    let lo = samples.partition_point(|s| s.time < from);
    let hi = samples.partition_point(|s| s.time < to);
    let values: Vec<f64> = samples[lo..hi].iter().filter_map(|s| s.stress_level).collect();
    let expected = (to - from).num_minutes() / step_min;
    (values.len() as i64 * 2 >= expected && !values.is_empty()).then(|| mean(&values))
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

#[test]
fn same_seed_same_data_and_children_are_independent() {
    let a = simulate(&small(1));
    assert_eq!(a, simulate(&small(1)));
    let b = simulate(&small(2));
    assert_ne!(a[0].samples, b[0].samples);
    assert_eq!(simulate_child(&small(1), 2), a[2]);
    let fewer = simulate(&SimConfig {
        children: 2,
        ..small(1)
    });
    assert_eq!(fewer[1], a[1]);
}

#[test]
fn samples_are_sorted_unique_valid_and_inside_the_period() {
    for child in simulate(&small(3)) {
        let start = end() - Duration::days(10);
        assert!(child.samples.windows(2).all(|w| w[0].time < w[1].time));
        assert!(child.samples.iter().all(|s| s.time >= start && s.time < end()));
        for s in &child.samples {
            let stress = s.stress_level.expect("stress every sample");
            assert!((0.0..=1.0).contains(&stress), "{stress}");
            assert!((40.0..=210.0).contains(&s.heart_rate.expect("heart rate every sample")));
            assert!(s.hrv_ms.is_none_or(|h| (5.0..=250.0).contains(&h)));
            assert!(s.steps.is_some_and(|n| n >= 0));
        }
        for chunk in child.samples.chunks(sprout_domain::MAX_BATCH_SAMPLES) {
            assert!(SampleBatch::from_trusted(chunk.to_vec()).is_ok());
        }
        assert!(child.events.windows(2).all(|w| w[0].start <= w[1].start));
        assert!(child.interventions.windows(2).all(|w| w[0].time < w[1].time));
        assert!(child
            .interventions
            .iter()
            .all(|i| (10..=60).contains(&i.duration_min)));
        assert!(child.sleep_episodes.windows(2).all(|w| w[0].offset < w[1].onset));
    }
}

#[test]
fn stress_follows_the_day_and_the_body_follows_stress() {
    let child = &cohort()[1];
    let by = |pred: &dyn Fn(&Sample) -> bool, field: &dyn Fn(&Sample) -> Option<f64>| {
        mean(
            &child
                .samples
                .iter()
                .filter(|s| pred(s))
                .filter_map(field)
                .collect::<Vec<_>>(),
        )
    };
    let asleep = |s: &Sample| s.sleep_state.is_some_and(SleepState::is_asleep);
    let awake = |s: &Sample| s.sleep_state == Some(SleepState::Awake);
    assert!(by(&asleep, &|s| s.stress_level) + 0.15 < by(&awake, &|s| s.stress_level));
    assert!(by(&asleep, &|s| s.heart_rate) + 10.0 < by(&awake, &|s| s.heart_rate));
    assert!(by(&asleep, &|s| s.hrv_ms) > by(&awake, &|s| s.hrv_ms) + 15.0);
    assert!(child
        .samples
        .iter()
        .filter(|s| asleep(s))
        .all(|s| s.steps == Some(0)));
    let school: BTreeMap<NaiveDate, bool> = child.truth.days.iter().map(|d| (d.date, d.school_day)).collect();
    let midday_on = |s: &Sample, school_day: bool| {
        let (date, hour) = local(child, s.time);
        awake(s) && (10.0..16.0).contains(&hour) && school.get(&date) == Some(&school_day)
    };
    let school_day = |s: &Sample| midday_on(s, true);
    let free_day = |s: &Sample| midday_on(s, false);
    assert!(by(&school_day, &|s| s.stress_level) > by(&free_day, &|s| s.stress_level) + 0.08);
}

#[test]
fn sleep_episodes_match_the_sleep_states() {
    for child in cohort() {
        let episodes = &child.sleep_episodes;
        for e in episodes {
            let length = e.offset - e.onset;
            assert!(length >= Duration::minutes(5) && length <= Duration::hours(20));
            let offset = tz(child)
                .offset_from_utc_datetime(&e.onset.naive_utc())
                .fix()
                .local_minus_utc()
                / 60;
            assert_eq!(e.utc_offset_min, offset);
            let from = child.samples.partition_point(|s| s.time < e.onset);
            let inside = &child.samples[from..child.samples.partition_point(|s| s.time < e.offset)];
            let asleep = inside
                .iter()
                .filter(|s| s.sleep_state.is_some_and(SleepState::is_asleep))
                .count();
            assert!(
                asleep * 10 >= inside.len() * 9,
                "{asleep} of {} asleep",
                inside.len()
            );
        }
        let mut next = 0;
        for s in &child.samples {
            while episodes.get(next).is_some_and(|e| e.offset <= s.time) {
                next += 1;
            }
            if episodes.get(next).is_none_or(|e| e.onset > s.time) {
                assert_eq!(
                    s.sleep_state,
                    Some(SleepState::Awake),
                    "{} is outside every episode",
                    s.time
                );
            }
        }
        let stages: Vec<SleepState> = child.samples.iter().filter_map(|s| s.sleep_state).collect();
        for stage in [SleepState::Light, SleepState::Deep, SleepState::Rem] {
            assert!(stages.contains(&stage));
        }
    }
}

/// Mean local mid-sleep on free mornings and the MSFsc estimate from the episodes.
fn chronotype_estimate(child: &SimulatedChild) -> (f64, f64) {
    let free: BTreeMap<NaiveDate, bool> = child.truth.days.iter().map(|d| (d.date, !d.school_day)).collect();
    let (mut mid_free, mut sd_free, mut sd_school) = (Vec::new(), Vec::new(), Vec::new());
    for e in child
        .sleep_episodes
        .iter()
        .filter(|e| e.offset - e.onset > Duration::hours(4))
    {
        let (wake_date, _) = local(child, e.offset);
        let (_, onset_h) = local(child, e.onset);
        let onset_h = if onset_h > 12.0 { onset_h - 24.0 } else { onset_h };
        let length = (e.offset - e.onset).num_minutes() as f64 / 60.0;
        match free.get(&wake_date) {
            Some(true) => {
                mid_free.push(onset_h + length / 2.0);
                sd_free.push(length);
            }
            Some(false) => sd_school.push(length),
            None => {}
        }
    }
    let (msf, sd_f, sd_w) = (mean(&mid_free), mean(&sd_free), mean(&sd_school));
    let sd_week = (5.0 * sd_w + 2.0 * sd_f) / 7.0;
    (
        msf,
        if sd_f > sd_w {
            msf - (sd_f - sd_week) / 2.0
        } else {
            msf
        },
    )
}

#[test]
fn night_owls_sleep_later_on_free_days_and_msf_sc_is_recoverable() {
    let children = cohort();
    for child in children {
        let (_, msf_sc) = chronotype_estimate(child);
        let truth = child.truth.msf_sc_hours;
        assert!(
            (msf_sc - truth).abs() < 0.3,
            "{}: estimate {msf_sc:.2}, truth {truth:.2}",
            child.truth.chronotype
        );
    }
    let owl = children
        .iter()
        .find(|c| c.truth.chronotype == SimChronotype::NightOwl)
        .expect("an owl");
    let lark = children
        .iter()
        .find(|c| c.truth.chronotype == SimChronotype::EarlyBird)
        .expect("a lark");
    let (owl_msf, _) = chronotype_estimate(owl);
    let (lark_msf, _) = chronotype_estimate(lark);
    assert!(owl_msf > lark_msf + 1.5, "owl {owl_msf:.2}, lark {lark_msf:.2}");
    assert!(owl.truth.msf_sc_hours > lark.truth.msf_sc_hours + 1.0);
}

#[test]
fn evenings_before_a_test_are_more_stressed() {
    let (mut before, mut other) = (Vec::new(), Vec::new());
    for child in cohort() {
        for day in child.truth.days.iter().filter(|d| d.school_day) {
            let (Some(from), Some(to)) = (at_local(child, day.date, 18.0), at_local(child, day.date, 21.0))
            else {
                continue;
            };
            if let Some(m) = mean_stress(&child.samples, from, to, 5) {
                if day.test_next_day {
                    before.push(m)
                } else {
                    other.push(m)
                }
            }
        }
    }
    let (before, other) = (mean(&before), mean(&other));
    assert!(
        before > other + 0.03,
        "before a test {before:.3}, other evenings {other:.3}"
    );
}

/// Each intervention's window stress, its true effect, and its day's bad-day factor.
struct Window {
    stress: f64,
    effect: f64,
    bad_day: f64,
    controls: Vec<(f64, f64)>,
}

/// For every intervention: its window's mean stress and the same clock window on untreated
/// days of the same kind (school or free) that are not the eve of a test.
fn windows(children: &[SimulatedChild]) -> Vec<Window> {
    let mut out = Vec::new();
    for child in children {
        let treated: BTreeMap<NaiveDate, InterventionKind> = child
            .interventions
            .iter()
            .map(|i| (local(child, i.time).0, i.kind))
            .collect();
        let hours = Duration::minutes((child.truth.effect_window_hours * 60.0) as i64);
        for i in &child.interventions {
            let (date, clock) = local(child, i.time);
            let Some(day) = child.truth.days.iter().find(|d| d.date == date) else {
                continue;
            };
            if day.test_next_day {
                continue;
            }
            let Some(stress) = mean_stress(&child.samples, i.time, i.time + hours, 5) else {
                continue;
            };
            let controls = child
                .truth
                .days
                .iter()
                .filter(|d| {
                    d.school_day == day.school_day && !d.test_next_day && !treated.contains_key(&d.date)
                })
                .filter_map(|d| {
                    let from = at_local(child, d.date, clock)?;
                    mean_stress(&child.samples, from, from + hours, 5).map(|m| (m, d.bad_day))
                })
                .collect();
            out.push(Window {
                stress,
                effect: child.truth.effects[&i.kind],
                bad_day: day.bad_day,
                controls,
            });
        }
    }
    out
}

#[test]
fn parents_act_more_on_bad_days_so_the_naive_comparison_is_biased() {
    let children = cohort();
    let (mut bad, mut good) = ((0, 0), (0, 0));
    for child in children {
        let treated: Vec<NaiveDate> = child
            .interventions
            .iter()
            .map(|i| local(child, i.time).0)
            .collect();
        for day in &child.truth.days {
            let slot = if day.bad_day > 0.0 { &mut bad } else { &mut good };
            slot.0 += usize::from(treated.contains(&day.date));
            slot.1 += 1;
        }
        let mut dates = treated.clone();
        dates.dedup();
        assert_eq!(dates.len(), treated.len(), "at most one intervention a day");
    }
    let (bad_rate, good_rate) = (bad.0 as f64 / bad.1 as f64, good.0 as f64 / good.1 as f64);
    assert!(
        bad_rate > 1.5 * good_rate,
        "bad days {bad_rate:.2}, good days {good_rate:.2}"
    );

    let windows = windows(children);
    let true_mean = mean(&windows.iter().map(|w| w.effect).collect::<Vec<_>>());
    let naive = mean(
        &windows
            .iter()
            .filter(|w| !w.controls.is_empty())
            .map(|w| w.stress - mean(&w.controls.iter().map(|c| c.0).collect::<Vec<_>>()))
            .collect::<Vec<_>>(),
    );
    assert!(
        naive > true_mean + 0.04,
        "naive {naive:.3} should look far better than nothing: truth {true_mean:.3}"
    );
}

#[test]
fn the_true_effect_is_recoverable_within_bad_day_strata() {
    let width = 0.03;
    let stratum = |b: f64| (b / width).floor() as i64;
    let windows = windows(cohort());
    let (mut estimates, mut truths) = (Vec::new(), Vec::new());
    for w in &windows {
        let matched: Vec<f64> = w
            .controls
            .iter()
            .filter(|c| stratum(c.1) == stratum(w.bad_day))
            .map(|c| c.0)
            .collect();
        if !matched.is_empty() {
            estimates.push(w.stress - mean(&matched));
            truths.push(w.effect);
        }
    }
    assert!(
        estimates.len() >= 40,
        "only {} matched interventions",
        estimates.len()
    );
    let (estimate, truth) = (mean(&estimates), mean(&truths));
    assert!(
        (estimate - truth).abs() < 0.02,
        "stratified estimate {estimate:.3}, truth {truth:.3}"
    );
}

#[test]
fn degenerate_configs_do_not_panic() {
    assert!(simulate_child(&SimConfig { days: 0, ..small(5) }, 0)
        .samples
        .is_empty());
    let hourly = simulate_child(
        &SimConfig {
            step_minutes: 60,
            gap_rate: 0.0,
            ..small(5)
        },
        4,
    );
    assert_eq!(hourly.samples.len(), 10 * 24);
    let odd_end = SimConfig {
        end: end() + Duration::seconds(17),
        step_minutes: 0,
        ..small(5)
    };
    assert!(simulate_child(&odd_end, 0)
        .samples
        .iter()
        .all(|s| s.time.timestamp() % 60 == 0));
}

#[test]
fn gaps_remove_about_the_configured_share() {
    let full = simulate_child(
        &SimConfig {
            gap_rate: 0.0,
            ..small(4)
        },
        0,
    );
    assert_eq!(full.samples.len(), 10 * 24 * 12);
    let gappy = simulate_child(
        &SimConfig {
            gap_rate: 0.1,
            ..small(4)
        },
        0,
    );
    let missing = 1.0 - gappy.samples.len() as f64 / full.samples.len() as f64;
    assert!((0.04..0.16).contains(&missing), "{missing}");
    // Gaps only remove samples; the rest are unchanged.
    assert!(gappy.samples.iter().all(|s| full.samples.contains(s)));
}

#[test]
fn the_demo_family_has_one_child_of_each_chronotype_and_a_school_calendar() {
    let family = demo_family(end());
    let types: Vec<&str> = family.iter().map(|c| c.truth.chronotype.as_str()).collect();
    assert_eq!(types, ["early_bird", "intermediate", "night_owl"]);
    for child in &family {
        assert_eq!(child.profile.timezone.name(), "Europe/Berlin");
        assert!(child.samples.len() > 60 * 1440 * 9 / 10);
        assert!(child
            .events
            .iter()
            .any(|e| e.event_type.as_str() == "holiday" && e.end.is_some()));
        assert!(
            child
                .events
                .iter()
                .filter(|e| e.event_type.is_assessment())
                .count()
                >= 4
        );
        assert!(!child.interventions.is_empty());
        let age = end()
            .date_naive()
            .years_since(child.profile.birth_date)
            .expect("born before the end");
        assert!((6..=14).contains(&age), "{age}");
    }
    let names: Vec<&str> = family.iter().map(|c| c.profile.display_name.as_str()).collect();
    assert_eq!(names, ["Mia", "Leon", "Emma"]);
}
