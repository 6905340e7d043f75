//! Awkward inputs: gaps, constant and tiny series, non-finite values, short
//! history, bad options. Each gives a typed error or a sensible forecast.

mod common;

use chrono::{Duration, TimeZone, Utc};
use common::simulate;
use sprout_forecast::{forecast, ForecastError, Options, Series};

fn hourly(values: &[f64]) -> Series {
    let t0 = common::start();
    let times = (0..values.len())
        .map(|i| t0 + Duration::hours(i as i64))
        .collect();
    Series::new(times, values.to_vec()).expect("finite input")
}

fn assert_sane(fc: &sprout_forecast::Forecast) {
    assert_eq!(fc.mean.len(), fc.horizon);
    for i in 0..fc.horizon {
        assert!(fc.mean[i].is_finite() && fc.lower[i].is_finite() && fc.upper[i].is_finite());
        assert!(fc.lower[i] <= fc.mean[i] && fc.mean[i] <= fc.upper[i]);
    }
}

#[test]
fn gaps_and_irregular_samples_are_resampled() {
    let sim = simulate(30, 5);
    // Drop every seventh sample and a ten-hour block, and add jittered extra samples.
    let mut pairs: Vec<_> = sim
        .times
        .iter()
        .zip(&sim.values)
        .enumerate()
        .filter(|(i, _)| i % 7 != 3 && !(400..410).contains(i))
        .map(|(_, (t, v))| (*t, *v))
        .collect();
    pairs.push((sim.times[100] + Duration::minutes(20), sim.values[100]));
    let series = Series::from_pairs(pairs).expect("finite");
    let mut opts = Options::hourly();
    opts.bounds = Some((0.0, 1.0));
    let fc = forecast(&series, &opts).expect("forecast despite gaps");
    assert_sane(&fc);
    assert!(fc.backtest.is_some());
    assert_eq!(fc.times[0], sim.times[sim.times.len() - 1] + Duration::hours(1));
}

#[test]
fn constant_series_forecasts_the_constant() {
    let fc = forecast(&hourly(&[0.4; 24 * 10]), &Options::hourly()).expect("constant");
    assert_sane(&fc);
    for (m, (l, u)) in fc.mean.iter().zip(fc.lower.iter().zip(&fc.upper)) {
        assert!((m - 0.4).abs() < 1e-9, "{m}");
        assert!(u - l < 1e-6, "no spread in a constant series");
    }
    let summary = fc.backtest.expect("long enough to backtest");
    assert_eq!(summary.mase, None, "zero naive error: MASE undefined");
}

#[test]
fn five_points_give_the_mean_with_an_interval() {
    let fc = forecast(&hourly(&[0.2, 0.3, 0.25, 0.35, 0.3]), &Options::hourly()).expect("tiny");
    assert_sane(&fc);
    assert_eq!(fc.model, "mean");
    assert!((fc.mean[0] - 0.28).abs() < 1e-9);
    assert!(fc.upper[0] - fc.lower[0] > 0.1);
    assert!(fc.backtest.is_none());
}

#[test]
fn too_few_points_is_a_typed_error() {
    let err = forecast(&hourly(&[0.2, 0.3]), &Options::hourly()).expect_err("two points");
    assert!(matches!(err, ForecastError::TooShort { needed: 3, got: 2 }));
}

#[test]
fn non_finite_values_are_rejected() {
    let t0 = common::start();
    let times = vec![t0, t0 + Duration::hours(1), t0 + Duration::hours(2)];
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let err = Series::new(times.clone(), vec![0.1, bad, 0.2]).expect_err("non-finite");
        assert!(matches!(err, ForecastError::NonFinite { index: 1, .. }), "{err}");
    }
    assert_eq!(Series::new(Vec::new(), Vec::new()), Err(ForecastError::Empty));
    assert!(matches!(
        Series::new(times, vec![1.0]),
        Err(ForecastError::LengthMismatch { times: 3, values: 1 })
    ));
}

#[test]
fn invalid_options_are_rejected() {
    let series = hourly(&[0.1; 100]);
    let cases: [fn(&mut Options); 5] = [
        |o| o.level = 1.0,
        |o| o.level = f64::NAN,
        |o| o.horizon = 0,
        |o| o.step_secs = 0,
        |o| o.bounds = Some((1.0, 0.0)),
    ];
    for change in cases {
        let mut opts = Options::hourly();
        change(&mut opts);
        assert!(matches!(
            forecast(&series, &opts),
            Err(ForecastError::InvalidOption { .. })
        ));
    }
}

#[test]
fn short_history_uses_a_simple_model_with_wider_intervals() {
    let sim = simulate(40, 9);
    let mut opts = Options::hourly();
    opts.bounds = Some((0.0, 1.0));
    let width = |fc: &sprout_forecast::Forecast| {
        fc.upper.iter().zip(&fc.lower).map(|(u, l)| u - l).sum::<f64>() / fc.horizon as f64
    };
    let long = forecast(&sim.series(), &opts).expect("long");
    // Two days ending at the same hour of the day as the long series.
    let n = sim.times.len();
    let short_series =
        Series::new(sim.times[n - 48..].to_vec(), sim.values[n - 48..].to_vec()).expect("finite");
    let short = forecast(&short_series, &opts).expect("short");
    assert_sane(&short);
    assert_eq!(short.model, "seasonal_naive(24)");
    assert!(short.backtest.is_none());
    println!(
        "width long {:.3} ({}), short {:.3}",
        width(&long),
        long.model,
        width(&short)
    );
    assert!(width(&short) > width(&long));
}

#[test]
fn far_apart_samples_are_too_sparse() {
    let t0 = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).single().expect("date");
    let series = Series::new(
        vec![t0, t0 + Duration::hours(1), t0 + Duration::days(30)],
        vec![0.1, 0.2, 0.3],
    )
    .expect("finite");
    assert!(matches!(
        forecast(&series, &Options::hourly()),
        Err(ForecastError::TooSparse { .. })
    ));
}

#[test]
fn backtest_on_too_short_a_series_is_a_typed_error() {
    let series = hourly(&[0.3; 30]);
    let err = sprout_forecast::backtest(
        &series,
        sprout_forecast::ModelChoice::Auto,
        &sprout_forecast::Protocol::hourly(5),
    )
    .expect_err("30 points cannot hold 5 daily origins");
    assert!(matches!(err, ForecastError::TooShort { .. }));
}

#[test]
fn random_awkward_inputs_never_panic() {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(99);
    let t0 = common::start();
    let (mut answered, mut backtested) = (0, 0);
    for case in 0..150 {
        let n = rng.random_range(1..600usize);
        let scale = [1e-6, 1.0, 1e6][case % 3];
        let step_secs = [3600i64, 900, 25_200][rng.random_range(0..3)];
        let mut times = Vec::new();
        let mut values = Vec::new();
        let mut t = t0;
        for _ in 0..n {
            // Mostly regular samples, with jitter, repeats and occasional long jumps.
            let jump = match rng.random_range(0..20) {
                0 => 0,
                1 => 3600 * rng.random_range(2..30),
                _ => 3600 + rng.random_range(-600..600),
            };
            t += Duration::seconds(jump);
            times.push(t);
            let constant = case % 7 == 0;
            values.push(if constant {
                0.5
            } else {
                rng.random::<f64>() * scale
            });
        }
        let Ok(series) = Series::new(times, values) else {
            continue;
        };
        let mut opts = Options::hourly();
        opts.step_secs = step_secs;
        opts.horizon = rng.random_range(1..60);
        opts.level = rng.random_range(0.05..0.99);
        if case % 2 == 0 {
            opts.bounds = Some((0.0, scale));
        }
        if case % 3 == 0 {
            opts.events = (0..3)
                .map(|k| sprout_forecast::Event {
                    at: t0 + Duration::hours(rng.random_range(-50..(n as i64 + 80))) + Duration::minutes(k),
                    kind: format!("kind{}", k % 2),
                })
                .collect();
        }
        match forecast(&series, &opts) {
            Ok(fc) => {
                answered += 1;
                backtested += usize::from(fc.backtest.is_some());
                assert_eq!(fc.mean.len(), opts.horizon, "case {case}");
                assert!(
                    fc.mean
                        .iter()
                        .chain(&fc.lower)
                        .chain(&fc.upper)
                        .all(|v| v.is_finite()),
                    "case {case}: non-finite output from {}",
                    fc.model
                );
            }
            Err(e) => assert!(
                matches!(
                    e,
                    ForecastError::TooShort { .. } | ForecastError::TooSparse { .. }
                ),
                "case {case}: unexpected {e}"
            ),
        }
    }
    println!("{answered} answered, {backtested} with a backtest");
    assert!(answered > 75 && backtested > 25, "{answered} / {backtested}");
}

#[test]
fn long_history_is_trimmed_but_times_stay_right() {
    let sim = simulate(120, 4);
    let mut opts = Options::hourly();
    opts.events = sim.events.clone();
    let fc = forecast(&sim.series(), &opts).expect("forecast");
    assert_sane(&fc);
    let last = sim.times[sim.times.len() - 1];
    assert_eq!(fc.times[0], last + Duration::hours(1));
    assert_eq!(fc.times[23], last + Duration::hours(24));
}
