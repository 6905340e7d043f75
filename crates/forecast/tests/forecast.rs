//! Forecast accuracy, event handling and interval calibration against simulated truth.

mod common;

use chrono::Duration;
use common::{simulate, TEST_KIND};
use sprout_forecast::{backtest, forecast, Event, ModelChoice, Options, Protocol};

fn protocol(sim: &common::Sim, origins: usize, stride: usize) -> Protocol {
    Protocol {
        origins,
        stride,
        events: sim.events.clone(),
        bounds: Some((0.0, 1.0)),
        ..Protocol::hourly(origins)
    }
}

#[test]
fn automatic_choice_beats_seasonal_naive() {
    let sim = simulate(60, 7);
    let series = sim.series();
    let p = protocol(&sim, 12, 24);
    let auto = backtest(&series, ModelChoice::Auto, &p).expect("auto backtest");
    let naive = backtest(&series, ModelChoice::SeasonalNaive, &p).expect("naive backtest");
    let (a, n) = (
        auto.mase.expect("non-zero scale"),
        naive.mase.expect("non-zero scale"),
    );
    println!(
        "auto MASE {a:.3} (MAE {:.4}), naive MASE {n:.3} (MAE {:.4})",
        auto.mae, naive.mae
    );
    assert!(a < n, "auto {a} should beat seasonal naive {n}");
    assert!(a < 0.9 * n, "auto {a} should clearly beat seasonal naive {n}");
}

#[test]
fn test_spike_is_forecast_only_when_on_the_calendar() {
    let sim = simulate(60, 11);
    // Forecast from 12:00 the day before a test late in the series.
    let event = sim
        .events
        .iter()
        .rev()
        .find(|e| e.at < sim.times[sim.times.len() - 30])
        .expect("simulation has a late test")
        .clone();
    let origin = sim
        .times
        .iter()
        .position(|t| *t == event.at - Duration::hours(21))
        .expect("origin inside the series");
    let history = sim.prefix(origin);
    let past: Vec<Event> = sim.events.iter().filter(|e| e.at < event.at).cloned().collect();
    let mut with = Options::hourly();
    with.bounds = Some((0.0, 1.0));
    with.events = sim.events.clone();
    let mut without = with.clone();
    without.events = past;

    let fc_with = forecast(&history, &with).expect("forecast with event");
    let fc_without = forecast(&history, &without).expect("forecast without event");
    assert!(fc_with
        .events_used
        .iter()
        .any(|e| e.at == event.at && e.kind == TEST_KIND));
    assert!(fc_without.events_used.is_empty());

    // The 21 hours before the test.
    let before = 0..21;
    let avg = |v: &[f64]| v[before.clone()].iter().sum::<f64>() / 21.0;
    let (m_with, m_without) = (avg(&fc_with.mean), avg(&fc_without.mean));
    let truth = avg(&sim.truth[origin..origin + 24]);
    println!(
        "model {}: mean before test with event {m_with:.3}, without {m_without:.3}, truth {truth:.3}",
        fc_with.model
    );
    assert!(m_with > m_without + 0.05, "with {m_with} vs without {m_without}");
    assert!((m_with - truth).abs() < (m_without - truth).abs());
    // The last hour before the test carries the largest rise.
    assert!(fc_with.mean[20] - fc_without.mean[20] > 0.1);
}

#[test]
fn eighty_percent_intervals_cover_about_eighty_percent() {
    // Four simulated children, 40 origins each, 11 h apart so every hour of
    // the day is an origin at some point: 3840 scored outcomes.
    let mut pooled = Vec::new();
    for seed in [23, 29, 31, 37] {
        let sim = simulate(60, seed);
        let summary = backtest(&sim.series(), ModelChoice::Auto, &protocol(&sim, 40, 11)).expect("backtest");
        let coverage = summary.coverage.expect("scored outcomes");
        println!("seed {seed}: coverage {coverage:.3}, MAE {:.4}", summary.mae);
        assert!(
            (0.7..=0.9).contains(&coverage),
            "seed {seed}: coverage {coverage}"
        );
        pooled.push(coverage);
    }
    let coverage = pooled.iter().sum::<f64>() / pooled.len() as f64;
    println!("pooled coverage {coverage:.3}");
    assert!((0.75..=0.85).contains(&coverage), "pooled coverage {coverage}");
}

#[test]
fn intervals_are_clamped_to_bounds() {
    let sim = simulate(30, 3);
    let mut opts = Options::hourly();
    opts.bounds = Some((0.0, 1.0));
    let fc = forecast(&sim.series(), &opts).expect("forecast");
    for i in 0..fc.horizon {
        assert!(0.0 <= fc.lower[i] && fc.lower[i] <= fc.mean[i]);
        assert!(fc.mean[i] <= fc.upper[i] && fc.upper[i] <= 1.0);
    }
    assert_eq!(fc.times.len(), 24);
    assert_eq!(fc.times[0], sim.times[sim.times.len() - 1] + Duration::hours(1));
}

#[test]
fn unseen_event_kind_has_no_effect() {
    let sim = simulate(30, 13);
    let n = sim.times.len();
    let mut base = Options::hourly();
    base.bounds = Some((0.0, 1.0));
    base.events = sim
        .events
        .iter()
        .filter(|e| e.at < sim.times[n - 1])
        .cloned()
        .collect();
    let mut with_new = base.clone();
    with_new.events.push(Event {
        at: sim.times[n - 1] + Duration::hours(10),
        kind: "dentist".into(),
    });
    let a = forecast(&sim.series(), &base).expect("forecast");
    let b = forecast(&sim.series(), &with_new).expect("forecast");
    assert!(a.model.contains("+events"));
    assert!(b.events_used.is_empty(), "{:?}", b.events_used);
    for (x, y) in a.mean.iter().zip(&b.mean) {
        assert!((x - y).abs() < 1e-12);
    }
}
