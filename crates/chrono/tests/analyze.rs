//! End-to-end behaviour of `analyze`: minimum data, determinism, day labelling, DST,
//! travel offsets and the serialised contract.

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, TimeZone, Utc};
use chrono_tz::Europe::Berlin;
use chrono_tz::Tz;
use sprout_chrono::daytype::mark_range;
use sprout_chrono::msf::{nights, sleep_days};
use sprout_chrono::{analyze, ChildContext, Chronotype, Convention, Cutoffs, DayType, SleepEpisode, Status};

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
}

/// Instant of `hours` relative to local midnight of `wake_date` in `tz`.
fn local(tz: Tz, wake_date: NaiveDate, hours: f64) -> DateTime<Utc> {
    let naive = wake_date.and_hms_opt(0, 0, 0).expect("midnight")
        + Duration::seconds((hours * 3600.0).round() as i64);
    tz.from_local_datetime(&naive)
        .earliest()
        .expect("not in a DST gap")
        .with_timezone(&Utc)
}

/// Regular sleep for `n` nights ending on `first_wake` onwards: school nights
/// 20:30–06:45, free nights 21:30–08:30 (MSF 03:00, SDf 11 h).
fn regular_child(first_wake: NaiveDate, n: usize) -> Vec<SleepEpisode> {
    (0..n)
        .map(|i| {
            let wake = first_wake + Duration::days(i as i64);
            let free = sprout_chrono::day_type(wake, &Default::default()) == DayType::Free;
            let (on, off) = if free { (-2.5, 8.5) } else { (-3.5, 6.75) };
            SleepEpisode::new(local(Berlin, wake, on), local(Berlin, wake, off)).expect("episode")
        })
        .collect()
}

#[test]
fn ten_nights_are_insufficient() {
    let episodes = regular_child(date(2026, 5, 4), 10);
    let report = analyze(&episodes, &ChildContext::new(Berlin));
    assert_eq!(report.status, Status::InsufficientData);
    assert_eq!(report.chronotype, None);
    assert_eq!(report.fine_type, None);
    assert_eq!(report.msf_sc_hours, None);
    assert_eq!(report.best_windows, None);
    assert_eq!(report.confidence, 0.0);
    assert_eq!(report.nights_used, 10);
}

#[test]
fn too_few_free_nights_are_insufficient() {
    // 20 nights but the calendar makes every day a school day except two.
    let episodes = regular_child(date(2026, 5, 4), 20);
    let mut ctx = ChildContext::new(Berlin);
    mark_range(
        &mut ctx.calendar,
        date(2026, 5, 4),
        date(2026, 5, 23),
        DayType::School,
    );
    ctx.calendar.insert(date(2026, 5, 9), DayType::Free);
    ctx.calendar.insert(date(2026, 5, 10), DayType::Free);
    let report = analyze(&episodes, &ctx);
    assert_eq!(report.status, Status::InsufficientData);
    assert_eq!(report.free_nights, 2);
    assert_eq!(report.chronotype, None);
}

#[test]
fn regular_child_gives_expected_quantities() {
    // Four weeks, Monday 4 May 2026 onwards.
    let episodes = regular_child(date(2026, 5, 4), 28);
    let report = analyze(&episodes, &ChildContext::new(Berlin));
    assert_eq!(report.status, Status::Ok);
    assert_eq!(report.nights_used, 28);
    assert_eq!(report.free_nights, 8);
    let msf = report.msf_hours.expect("msf");
    let msw = report.msw_hours.expect("msw");
    assert!((msf - 3.0).abs() < 1e-9, "{msf}");
    assert!((msw - 1.625).abs() < 1e-9, "{msw}");
    let sdw = 10.25;
    let sdf = 11.0;
    let week = (5.0 * sdw + 2.0 * sdf) / 7.0;
    let expected_sc = 3.0 - (sdf - week) / 2.0;
    let msf_sc = report.msf_sc_hours.expect("msf_sc");
    assert!((msf_sc - expected_sc).abs() < 1e-9);
    assert!((report.social_jetlag_hours.expect("sjl") - 1.375).abs() < 1e-9);
    assert_eq!(report.chronotype, Some(Chronotype::EarlyBird));
    assert!(report.confidence > 0.5 && report.confidence <= 1.0);
    let windows = report.best_windows.expect("windows");
    assert_eq!(windows.basis, DayType::School);
    assert_eq!(windows.habitual_wake.to_string(), "06:45:00");
    assert_eq!(windows.focus.start.to_string(), "08:45:00");
    assert_eq!(windows.calm.end.to_string(), "20:30:00");
}

#[test]
fn same_input_same_answer_in_any_order() {
    let episodes = regular_child(date(2026, 5, 4), 35);
    let ctx = ChildContext::new(Berlin);
    let first = analyze(&episodes, &ctx);
    let mut reversed = episodes.clone();
    reversed.reverse();
    let mut rotated = episodes.clone();
    rotated.rotate_left(13);
    for _ in 0..3 {
        assert_eq!(analyze(&episodes, &ctx), first);
        assert_eq!(analyze(&reversed, &ctx), first);
        assert_eq!(analyze(&rotated, &ctx), first);
    }
    let a = serde_json::to_string(&first).expect("json");
    let b = serde_json::to_string(&analyze(&rotated, &ctx)).expect("json");
    assert_eq!(a, b);
}

#[test]
fn night_is_labelled_by_the_following_day() {
    // Mon 4 May 2026. Friday night (wake Sat 9) is free, Sunday night (wake Mon 11) school.
    let episodes = regular_child(date(2026, 5, 8), 4);
    let mut calendar = sprout_chrono::Calendar::new();
    // Wednesday holiday: the night before it is free, and a school Saturday.
    calendar.insert(date(2026, 5, 6), DayType::Free);
    calendar.insert(date(2026, 5, 9), DayType::School);
    let days = sleep_days(&episodes, Berlin);
    let labelled = nights(&days, Berlin, &calendar);
    let kinds: Vec<(NaiveDate, DayType)> = labelled.iter().map(|n| (n.wake_date, n.day_type)).collect();
    assert_eq!(
        kinds,
        vec![
            (date(2026, 5, 8), DayType::School),
            (date(2026, 5, 9), DayType::School),
            (date(2026, 5, 10), DayType::Free),
            (date(2026, 5, 11), DayType::School),
        ]
    );
    assert_eq!(
        sprout_chrono::day_type(date(2026, 5, 6), &calendar),
        DayType::Free
    );
}

#[test]
fn dst_nights_read_on_the_local_clock() {
    // Spring forward in Berlin: Sunday 29 March 2026, 02:00 CET → 03:00 CEST.
    let onset = local(Berlin, date(2026, 3, 29), -3.0); // 21:00 CET
    let offset = local(Berlin, date(2026, 3, 29), 7.0); // 07:00 CEST
    let spring = SleepEpisode::new(onset, offset).expect("episode");
    let night = nights(&sleep_days(&[spring], Berlin), Berlin, &Default::default())[0];
    assert_eq!(night.wake_date, date(2026, 3, 29));
    assert!((night.duration_hours - 9.0).abs() < 1e-9);
    assert!((night.onset_hours + 3.0).abs() < 1e-9);
    assert!((night.offset_hours - 7.0).abs() < 1e-9);
    // Halfway is 00:30 UTC = 01:30 CET.
    assert!((night.mid_hours - 1.5).abs() < 1e-9, "{}", night.mid_hours);

    // Fall back: Sunday 25 October 2026, 03:00 CEST → 02:00 CET.
    let onset = local(Berlin, date(2026, 10, 25), -3.0); // 21:00 CEST = 19:00 UTC
    let offset = local(Berlin, date(2026, 10, 25), 7.0); // 07:00 CET = 06:00 UTC
    let autumn = SleepEpisode::new(onset, offset).expect("episode");
    let night = nights(&sleep_days(&[autumn], Berlin), Berlin, &Default::default())[0];
    assert!((night.duration_hours - 11.0).abs() < 1e-9);
    // Halfway is 00:30 UTC = 02:30 CEST (before the change at 01:00 UTC).
    assert!((night.mid_hours - 2.5).abs() < 1e-9, "{}", night.mid_hours);
}

#[test]
fn travel_episode_uses_its_own_offset() {
    let tokyo = FixedOffset::east_opt(9 * 3600).expect("offset");
    let onset = tokyo
        .with_ymd_and_hms(2026, 10, 28, 21, 0, 0)
        .single()
        .expect("valid");
    let offset = tokyo
        .with_ymd_and_hms(2026, 10, 29, 7, 0, 0)
        .single()
        .expect("valid");
    let episode = SleepEpisode::with_fixed_offset(onset, offset).expect("episode");
    let night = nights(&sleep_days(&[episode], Berlin), Berlin, &Default::default())[0];
    assert_eq!(night.wake_date, date(2026, 10, 29));
    assert!((night.mid_hours - 2.0).abs() < 1e-9);
    // The same instants read in Berlin would give a mid-sleep in the previous afternoon.
    let home = SleepEpisode::new(episode.onset, episode.offset).expect("episode");
    let read_home = nights(&sleep_days(&[home], Berlin), Berlin, &Default::default());
    assert!(read_home.is_empty() || (read_home[0].mid_hours - 2.0).abs() > 5.0);
}

#[test]
fn episode_round_trips_through_json_with_offset() {
    let tokyo = FixedOffset::east_opt(9 * 3600).expect("offset");
    let onset = tokyo
        .with_ymd_and_hms(2026, 10, 28, 21, 0, 0)
        .single()
        .expect("valid");
    let episode = SleepEpisode::with_fixed_offset(onset, onset + Duration::hours(10)).expect("episode");
    let json = serde_json::to_string(&episode).expect("json");
    assert!(json.contains("\"utc_offset\":32400"), "{json}");
    let back: SleepEpisode = serde_json::from_str(&json).expect("parse");
    assert_eq!(back, episode);
    let plain: SleepEpisode =
        serde_json::from_str(r#"{"onset":"2026-05-04T19:00:00Z","offset":"2026-05-05T05:00:00Z"}"#)
            .expect("parse without offset");
    assert_eq!(plain.utc_offset, None);
}

#[test]
fn report_serialises_with_contract_field_names() {
    let episodes = regular_child(date(2026, 5, 4), 28);
    let report = analyze(&episodes, &ChildContext::new(Berlin));
    let value = serde_json::to_value(&report).expect("json");
    assert_eq!(value["status"], "ok");
    assert_eq!(value["chronotype"], "early_bird");
    for key in [
        "msf_sc_hours",
        "msf_hours",
        "social_jetlag_hours",
        "nights_used",
        "confidence",
        "fine_type",
        "msw_hours",
        "sd_work_hours",
        "sd_free_hours",
        "free_nights",
        "best_windows",
    ] {
        assert!(value.get(key).is_some(), "missing {key}");
    }
    let insufficient = analyze(&episodes[..10], &ChildContext::new(Berlin));
    let value = serde_json::to_value(&insufficient).expect("json");
    assert_eq!(value["status"], "insufficient_data");
    assert!(value["chronotype"].is_null());
}

#[test]
fn conventions_change_only_the_cut_offs() {
    let episodes = regular_child(date(2026, 5, 4), 28);
    let mut ctx = ChildContext::new(Berlin);
    ctx.convention = Convention::Custom(Cutoffs::new(2.0, 2.5).expect("cut-offs"));
    let custom = analyze(&episodes, &ctx);
    assert_eq!(custom.chronotype, Some(Chronotype::NightOwl));
    ctx.convention = Convention::AdolescentShift;
    ctx.age_years = Some(17.0);
    let teen = analyze(&episodes, &ctx);
    assert_eq!(teen.chronotype, Some(Chronotype::EarlyBird));
    assert!((teen.cutoffs.early_below - 4.0).abs() < 1e-9);
    assert_eq!(teen.msf_sc_hours, custom.msf_sc_hours);
}

#[test]
fn an_outlier_night_is_left_out() {
    let mut episodes = regular_child(date(2026, 5, 4), 28);
    // A sleepover on Saturday 16 May: asleep 03:00–11:00 instead of 21:30–08:30.
    let wake = date(2026, 5, 16);
    let index = episodes
        .iter()
        .position(|e| e.offset == local(Berlin, wake, 8.5))
        .expect("that night");
    episodes[index] =
        SleepEpisode::new(local(Berlin, wake, 3.0), local(Berlin, wake, 11.0)).expect("episode");
    let report = analyze(&episodes, &ChildContext::new(Berlin));
    assert_eq!(report.nights_excluded, 1);
    assert_eq!(report.nights_used, 27);
    assert!((report.msf_hours.expect("msf") - 3.0).abs() < 1e-9);
}

#[test]
fn holiday_only_period_uses_msf_without_correction() {
    // Summer holiday: every day free for three weeks.
    let episodes = regular_child(date(2026, 7, 20), 21);
    let mut ctx = ChildContext::new(Berlin);
    mark_range(
        &mut ctx.calendar,
        date(2026, 7, 1),
        date(2026, 8, 31),
        DayType::Free,
    );
    let report = analyze(&episodes, &ctx);
    assert_eq!(report.status, Status::Ok);
    assert_eq!(report.school_nights, 0);
    assert_eq!(report.msf_sc_hours, report.msf_hours);
    assert_eq!(report.social_jetlag_hours, None);
    assert!(report.best_windows.is_some());
}
