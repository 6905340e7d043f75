//! Model candidates, their rolling-origin calibration on the series' own
//! history, automatic choice, and assembly of the final forecast.
//!
//! The history is split once: parameters (and event effects) are estimated on
//! the training part; then, with parameters fixed, each model's state is run
//! forward through the calibration part, forecasting `horizon` steps from many
//! origins. Those errors choose the model (lowest MAE) and calibrate its
//! intervals (split conformal). The final forecast runs the same fitted model
//! through the whole history, so the intervals describe the procedure that
//! produced the forecast; only MSTL, whose decomposition would otherwise end
//! with the training part, is fitted again on the whole history first.

use chrono::{DateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use crate::conformal;
use crate::error::ForecastError;
use crate::models::ets::{EtsFit, EtsSpec, Trend};
use crate::models::mstl::{self, MstlFit};
use crate::models::naive;
use crate::models::regression::{Design, Event};
use crate::models::Run;
use crate::{BacktestSummary, Forecast, Options};

/// Below three days of history a backtest has too few origins to rank models
/// or calibrate intervals; a simple model with widened intervals answers instead.
pub const MIN_HISTORY_DAYS: usize = 3;

/// History beyond ten weeks is dropped: four weekly cycles remain for
/// training after calibration, and cost stays that of a 70-day series.
pub const MAX_HISTORY_DAYS: usize = 70;

/// Step count standing in for a day when the step does not tile a day.
const FALLBACK_STEPS_PER_DAY: usize = 24;

/// Fewest observations for any answer: with fewer, even a spread is unknowable.
pub const MIN_OBSERVATIONS: usize = 3;

/// Short-history intervals are inflated by this factor: their residuals come
/// from a day or two and from one-step errors, which understate multi-step error.
pub const SHORT_HISTORY_WIDEN: f64 = 1.5;

/// Share of the history held out for calibration origins when history is short.
const CALIBRATION_FRACTION: f64 = 0.3;

/// Calibration never spans more than two weeks (plus one horizon): enough
/// origins for stable quantiles, and the training part keeps most of the data.
const MAX_CALIBRATION_DAYS: usize = 14;

/// Origins are thinned to at most this many: forecasts from neighbouring
/// hours are nearly identical, so more add cost but little information.
const MAX_ORIGINS: usize = 96;

/// The automatic choice also considers the average of this many best
/// candidates: combining forecasts is a reliable way to cut error when no
/// single model dominates, as is common on short, noisy personal data.
const COMBINATION_SIZE: usize = 3;

/// Passes alternating a base-model fit and a regression of its residuals on
/// the event indicators; the second pass fits the base model to the
/// event-adjusted series, so it no longer chases the event-driven rises.
const EVENT_FIT_PASSES: usize = 2;

/// Which model to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum ModelChoice {
    /// Choose by rolling-origin backtest among all candidates.
    #[default]
    Auto,
    /// Repeat the last day.
    SeasonalNaive,
    /// ETS with additive daily seasonality and the given trend.
    Ets(Trend),
    /// MSTL (daily and weekly seasonality) with ARMA(1,1) on the adjusted series.
    Mstl,
    /// Historical mean.
    Mean,
}

#[derive(Debug, Clone, PartialEq)]
enum Candidate {
    SeasonalNaive(usize),
    Ets(EtsSpec),
    /// MSTL with these periods.
    Mstl(Vec<usize>),
}

enum Fitted {
    SeasonalNaive(usize),
    Ets(EtsFit),
    Mstl(MstlFit),
}

impl Fitted {
    fn name(&self) -> String {
        match self {
            Fitted::SeasonalNaive(p) => format!("seasonal_naive({p})"),
            Fitted::Ets(f) => f.name(),
            Fitted::Mstl(f) => f.name(),
        }
    }

    /// Forecasts from each origin, `h` per origin in one vector, and the
    /// one-step residuals over `y` when `residuals` asks for them.
    fn run(&self, y: &[f64], origins: &[usize], h: usize, residuals: bool) -> Run {
        match self {
            Fitted::SeasonalNaive(p) => Run {
                forecasts: naive::seasonal_naive(y, *p, origins, h),
                residuals: if residuals {
                    naive::seasonal_naive_residuals(y, *p)
                } else {
                    Vec::new()
                },
            },
            Fitted::Ets(f) => f.run(y, origins, h, residuals),
            Fitted::Mstl(f) => f.run(y, origins, h, residuals),
        }
    }
}

impl Candidate {
    fn min_train(&self) -> usize {
        match self {
            Candidate::SeasonalNaive(p) => *p,
            Candidate::Ets(spec) => spec.min_len(),
            Candidate::Mstl(periods) => 2 * periods.iter().copied().max().unwrap_or(1),
        }
    }

    /// Fits the candidate on `y`; `None` when `y` is too short or the fit fails.
    fn fit(&self, y: &[f64]) -> Option<Fitted> {
        if y.len() < self.min_train() {
            return None;
        }
        match self {
            Candidate::SeasonalNaive(p) => Some(Fitted::SeasonalNaive(*p)),
            Candidate::Ets(spec) => spec.fit(y).map(Fitted::Ets),
            Candidate::Mstl(periods) => mstl::fit(y, periods).map(Fitted::Mstl),
        }
    }

    /// Whether fitting on the whole history, rather than only the training
    /// part, can change the forecast (see [`refit_forecast`]).
    fn gains_from_refit(&self) -> bool {
        matches!(self, Candidate::Mstl(_))
    }
}

impl Fitted {
    /// Refits to a modified training series, reusing what does not need redoing.
    fn refit(&self, y: &[f64]) -> Option<Fitted> {
        Some(match self {
            Fitted::SeasonalNaive(p) => Fitted::SeasonalNaive(*p),
            Fitted::Ets(f) => Fitted::Ets(f.refit(y)?),
            Fitted::Mstl(f) => Fitted::Mstl(f.refit(y)?),
        })
    }
}

/// A regular series handed to the engine: values with fill flags, from `start_secs`.
pub(crate) struct Grid<'a> {
    pub values: &'a [f64],
    pub filled: &'a [bool],
    pub start_secs: i64,
    pub step_secs: i64,
}

struct Evaluated {
    name: String,
    /// Calibration errors, `h` per origin one after another (NaN where unscored).
    errors: Vec<f64>,
    forecast: Vec<f64>,
    mae: f64,
    /// Candidate index of each member: one for a single model.
    members: Vec<usize>,
    /// Each member's forecast from the end of the history.
    member_forecasts: Vec<Vec<f64>>,
}

/// Candidates for `choice`; MSTL drops the weekly period when the training
/// part holds fewer than two weeks (then it is STL with the daily period).
fn candidates(choice: ModelChoice, day: Option<usize>, train_len: usize) -> Vec<Candidate> {
    let ets = |trend| Candidate::Ets(EtsSpec { trend, period: day });
    let naive = Candidate::SeasonalNaive(day.unwrap_or(1));
    let mstl: Vec<Candidate> = day
        .map(|d| {
            let periods = if train_len >= 2 * 7 * d {
                vec![d, 7 * d]
            } else {
                vec![d]
            };
            Candidate::Mstl(periods)
        })
        .into_iter()
        .collect();
    match choice {
        ModelChoice::Auto => {
            let mut c = vec![naive, ets(Trend::None)];
            if let Some(d) = day {
                c.push(Candidate::SeasonalNaive(7 * d));
            }
            c.extend(mstl);
            c
        }
        ModelChoice::SeasonalNaive => vec![naive],
        ModelChoice::Ets(trend) => vec![ets(trend)],
        ModelChoice::Mstl => mstl,
        ModelChoice::Mean => Vec::new(),
    }
}

/// Fits event effects (when `design` is given) on top of a model fitted on
/// `train`, refitting the model to the event-adjusted series in between.
fn fit_events(
    mut fitted: Fitted,
    train: &[f64],
    h: usize,
    design: Option<&Design>,
) -> Option<(Fitted, Option<Vec<f64>>)> {
    let Some(design) = design else {
        return Some((fitted, None));
    };
    let mut b: Vec<f64> = Vec::new();
    for pass in 0..EVENT_FIT_PASSES {
        let adjusted: Vec<f64> = if pass == 0 {
            train.to_vec()
        } else {
            let a = adjusted_values(train, design, &b);
            fitted = fitted.refit(&a)?;
            a
        };
        let residuals = fitted.run(&adjusted, &[], h, true).residuals;
        let delta = design.fit(&residuals);
        if b.is_empty() {
            b = delta;
        } else {
            b.iter_mut().zip(&delta).for_each(|(x, d)| *x += d);
        }
    }
    Some((fitted, Some(b)))
}

/// Forecasts from each of `origins` (ascending, at most `y.len()`) with
/// the model and event effects held fixed, `h` per origin one after another.
fn run_with_events(
    fitted: &Fitted,
    y: &[f64],
    origins: &[usize],
    h: usize,
    events: Option<(&Design, &[f64])>,
) -> Vec<f64> {
    let Some((d, b)) = events else {
        return fitted.run(y, origins, h, false).forecasts;
    };
    let adjusted = adjusted_values(y, d, b);
    let mut forecasts = fitted.run(&adjusted, origins, h, false).forecasts;
    for (fc, &o) in forecasts.chunks_exact_mut(h).zip(origins) {
        for (j, v) in fc.iter_mut().enumerate() {
            *v += d.effect(b, o + j);
        }
    }
    forecasts
}

/// Runs a model fitted on `y[..train_end]` (refitted with event effects when
/// `design` is given) through `y`, collecting errors at each calibration
/// origin plus the forecast from the end of `y`.
fn evaluate(
    fitted: Fitted,
    grid: &Grid<'_>,
    train_end: usize,
    origins: &[usize],
    h: usize,
    design: Option<&Design>,
) -> Option<Evaluated> {
    let y = grid.values;
    let (fitted, beta) = fit_events(fitted, &y[..train_end], h, design)?;
    let mut all_origins = origins.to_vec();
    all_origins.push(y.len());
    let events = design.zip(beta.as_deref());
    let mut forecasts = run_with_events(&fitted, y, &all_origins, h, events);
    let forecast = forecasts.split_off(forecasts.len().checked_sub(h)?);
    let mut errors = forecasts;
    for (fc, &o) in errors.chunks_exact_mut(h).zip(origins) {
        for (j, f) in fc.iter_mut().enumerate() {
            *f = match (y.get(o + j), grid.filled.get(o + j)) {
                // Filled steps are not real outcomes; they neither rank nor calibrate.
                (Some(actual), Some(false)) => actual - *f,
                _ => f64::NAN,
            };
        }
    }
    let (sum, count) = abs_sum_finite(&errors);
    if count == 0 || forecast.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let mut name = fitted.name();
    if design.is_some() {
        name.push_str("+events");
    }
    Some(Evaluated {
        name,
        errors,
        mae: sum / count as f64,
        members: Vec::new(),
        member_forecasts: vec![forecast.clone()],
        forecast,
    })
}

/// The chosen model's forecast with each member that [gains from a
/// refit](Candidate::gains_from_refit) fitted again on the whole history.
///
/// Choice and calibration need models fitted on the training part only, but
/// for MSTL that leaves the decomposition up to two weeks (the calibration
/// part) behind the forecast origin: the seasonal cycles it repeats are that
/// old, and the remainder model never saw the latest weeks. Refitting it on
/// all the history is what any forecaster would do once the model is chosen.
/// The calibration errors still describe the procedure closely (the same
/// model on a longer history) and, if anything, overstate its error, so the
/// intervals stay honest. ETS carries its state through the whole history
/// already, and seasonal naive has nothing to fit, so neither is refitted.
/// Returns `None` when a refit fails; the caller keeps the forecast of the
/// models fitted on the training part.
fn refit_forecast(
    cands: &[Candidate],
    best: &Evaluated,
    y: &[f64],
    h: usize,
    design: Option<&Design>,
) -> Option<Vec<f64>> {
    let mut sum = vec![0.0; h];
    for (&c, own) in best.members.iter().zip(&best.member_forecasts) {
        let cand = cands.get(c)?;
        let refitted;
        let fc = if cand.gains_from_refit() {
            let (model, beta) = fit_events(cand.fit(y)?, y, h, design)?;
            refitted = run_with_events(&model, y, &[y.len()], h, design.zip(beta.as_deref()));
            &refitted
        } else {
            own
        };
        sum.iter_mut().zip(fc).for_each(|(s, f)| *s += f);
    }
    let k = best.members.len() as f64;
    let mean: Vec<f64> = sum.into_iter().map(|s| s / k).collect();
    mean.iter().all(|v| v.is_finite()).then_some(mean)
}

/// Equal-weight average of the given models' forecasts. Its calibration
/// errors are the average of theirs, since all share the same actuals.
fn combine(members: &[Evaluated]) -> Option<Evaluated> {
    if members.len() < 2 {
        return None;
    }
    let k = members.len() as f64;
    let first = members.first()?;
    let forecast: Vec<f64> = (0..first.forecast.len())
        .map(|j| members.iter().map(|m| m.forecast[j]).sum::<f64>() / k)
        .collect();
    let errors: Vec<f64> = (0..first.errors.len())
        .map(|i| members.iter().map(|m| m.errors[i]).sum::<f64>() / k)
        .collect();
    let (sum, count) = abs_sum_finite(&errors);
    let names: Vec<&str> = members.iter().map(|m| m.name.as_str()).collect();
    Some(Evaluated {
        name: format!("mean[{}]", names.join(" | ")),
        errors,
        forecast,
        mae: sum / count.max(1) as f64,
        members: members.iter().flat_map(|m| m.members.iter().copied()).collect(),
        member_forecasts: members
            .iter()
            .flat_map(|m| m.member_forecasts.iter().cloned())
            .collect(),
    })
}

/// Sum of the absolute finite errors (in order) and their count.
// Kept out of line: inlined into the large caller, the running sum was
// spilled to memory at every step.
#[inline(never)]
fn abs_sum_finite(errors: &[f64]) -> (f64, usize) {
    let (mut sum, mut count) = (0.0, 0usize);
    for e in errors {
        if e.is_finite() {
            sum += e.abs();
            count += 1;
        }
    }
    (sum, count)
}

fn adjusted_values(y: &[f64], design: &Design, beta: &[f64]) -> Vec<f64> {
    y.iter()
        .enumerate()
        .map(|(t, v)| v - design.effect(beta, t))
        .collect()
}

/// Checks options that do not depend on the data.
pub(crate) fn validate(opts: &Options) -> Result<(), ForecastError> {
    let bad = |name, reason: String| Err(ForecastError::InvalidOption { name, reason });
    if opts.step_secs <= 0 {
        return bad("step_secs", format!("must be positive, got {}", opts.step_secs));
    }
    if opts.horizon == 0 || opts.horizon > crate::MAX_HORIZON {
        return bad(
            "horizon",
            format!("must be in 1..={}, got {}", crate::MAX_HORIZON, opts.horizon),
        );
    }
    if !(opts.level > 0.0 && opts.level < 1.0) {
        return bad("level", format!("must be in (0, 1), got {}", opts.level));
    }
    if let Some((lo, hi)) = opts.bounds {
        if !(lo.is_finite() && hi.is_finite() && lo < hi) {
            return bad("bounds", format!("need finite lo < hi, got ({lo}, {hi})"));
        }
    }
    Ok(())
}

/// Forecasts from a regular grid. Options must already be validated.
pub(crate) fn forecast_grid(full: &Grid<'_>, opts: &Options) -> Result<Forecast, ForecastError> {
    if full.values.len() < MIN_OBSERVATIONS {
        return Err(ForecastError::TooShort {
            needed: MIN_OBSERVATIONS,
            got: full.values.len(),
        });
    }
    let day = crate::series::steps_per_day(full.step_secs);
    let steps_per_day = day.unwrap_or(FALLBACK_STEPS_PER_DAY);
    // Only the most recent history is used: it keeps cost bounded however
    // long the record, and a routine from months ago says little about tomorrow.
    let skip = full.values.len().saturating_sub(MAX_HISTORY_DAYS * steps_per_day);
    let grid = &Grid {
        values: &full.values[skip..],
        filled: &full.filled[skip..],
        start_secs: i64::try_from(skip)
            .ok()
            .and_then(|k| k.checked_mul(full.step_secs))
            .and_then(|off| full.start_secs.checked_add(off))
            .unwrap_or(full.start_secs),
        step_secs: full.step_secs,
    };
    let n = grid.values.len();
    let h = opts.horizon;
    let times = (1..=h)
        .map(|k| time_at(grid, n - 1 + k))
        .collect::<Result<Vec<_>, _>>()?;

    let short = n < MIN_HISTORY_DAYS * steps_per_day || opts.model == ModelChoice::Mean;
    let (model, mean, widths, backtest, events_used) = if short {
        let (model, mean, widths) = simple(grid.values, day, h, opts.level, opts.model);
        (model, mean, widths, None, Vec::new())
    } else {
        let cal_span = ((n as f64 * CALIBRATION_FRACTION) as usize)
            .clamp(h + 1, MAX_CALIBRATION_DAYS * steps_per_day + h);
        let train_end = n - cal_span.min(n - 1);
        let last_origin = n.saturating_sub(h).max(train_end);
        let stride = (last_origin - train_end) / MAX_ORIGINS + 1;
        let origins: Vec<usize> = (train_end..=last_origin).step_by(stride).collect();
        let cands = candidates(opts.model, day, train_end);
        let design = Design::new(&opts.events, grid.start_secs, grid.step_secs, n + h);
        // Event effects are estimated only when the training part has seen an event.
        let design_ref = (!design.is_empty_in(0, train_end)).then_some(&design);
        let train = &grid.values[..train_end];
        let mut evaluated: Vec<Evaluated> = Vec::new();
        for (i, c) in cands.iter().enumerate() {
            if let Some(mut e) = c
                .fit(train)
                .and_then(|f| evaluate(f, grid, train_end, &origins, h, design_ref))
            {
                e.members = vec![i];
                evaluated.push(e);
            }
        }
        evaluated.sort_by(|a, b| a.mae.total_cmp(&b.mae));
        if opts.model == ModelChoice::Auto {
            if let Some(combo) = combine(&evaluated[..evaluated.len().min(COMBINATION_SIZE)]) {
                evaluated.push(combo);
            }
        }
        let best = evaluated.into_iter().min_by(|a, b| a.mae.total_cmp(&b.mae));
        match best {
            Some(mut best) => {
                let refit = best
                    .members
                    .iter()
                    .any(|&c| cands.get(c).is_some_and(Candidate::gains_from_refit));
                if refit {
                    // Only kinds seen in the training part get an effect, as in
                    // the calibrated models: a kind whose first event lies just
                    // ahead would otherwise be fitted to the last hours' residuals.
                    let learned_design = design_ref.map(|d| {
                        let learned = d.kinds_active_in(0, train_end);
                        let events: Vec<Event> = opts
                            .events
                            .iter()
                            .filter(|e| learned.contains(&e.kind.as_str()))
                            .cloned()
                            .collect();
                        Design::new(&events, grid.start_secs, grid.step_secs, n + h)
                    });
                    if let Some(fc) = refit_forecast(&cands, &best, grid.values, h, learned_design.as_ref()) {
                        best.forecast = fc;
                    }
                }
                let widths = conformal::half_widths_flat(&best.errors, h, opts.level);
                let scale = naive::seasonal_naive_mae(&grid.values[..train_end], day.unwrap_or(1));
                let summary = BacktestSummary {
                    origins: origins.len(),
                    horizon: h,
                    mae: best.mae,
                    mase: scale.map(|s| best.mae / s),
                    coverage: conformal::cross_coverage_flat(&best.errors, h, opts.level),
                };
                let used: Vec<Event> = match design_ref {
                    Some(d) => {
                        // A kind counts only if training saw it (else its effect is zero)
                        // and it reaches into the horizon.
                        let learned = d.kinds_active_in(0, train_end);
                        let ahead = d.kinds_active_in(n, n + h);
                        events_touching(&opts.events, grid, n, h)
                            .into_iter()
                            .filter(|e| {
                                let k = e.kind.as_str();
                                learned.contains(&k) && ahead.contains(&k)
                            })
                            .collect()
                    }
                    None => Vec::new(),
                };
                (best.name, best.forecast, widths, Some(summary), used)
            }
            None => {
                let (model, mean, widths) = simple(grid.values, day, h, opts.level, opts.model);
                (model, mean, widths, None, Vec::new())
            }
        }
    };

    let clamp = |v: f64| match opts.bounds {
        Some((lo, hi)) => v.clamp(lo, hi),
        None => v,
    };
    let lower = mean.iter().zip(&widths).map(|(m, w)| clamp(m - w)).collect();
    let upper = mean.iter().zip(&widths).map(|(m, w)| clamp(m + w)).collect();
    Ok(Forecast {
        model,
        horizon: h,
        times,
        mean: mean.into_iter().map(clamp).collect(),
        lower,
        upper,
        level: opts.level,
        events_used,
        backtest,
    })
}

fn time_at(grid: &Grid<'_>, index: usize) -> Result<DateTime<Utc>, ForecastError> {
    i64::try_from(index)
        .ok()
        .and_then(|i| i.checked_mul(grid.step_secs))
        .and_then(|off| grid.start_secs.checked_add(off))
        .and_then(|secs| Utc.timestamp_opt(secs, 0).single())
        .ok_or_else(|| ForecastError::InvalidOption {
            name: "horizon",
            reason: "forecast times fall outside the representable range".into(),
        })
}

/// Events whose anticipation window or duration overlaps the forecast steps.
fn events_touching(events: &[Event], grid: &Grid<'_>, n: usize, h: usize) -> Vec<Event> {
    let from = grid.start_secs + n as i64 * grid.step_secs;
    let to = from + h as i64 * grid.step_secs;
    events
        .iter()
        .filter(|e| {
            let at = e.at.timestamp();
            at - crate::models::regression::PRE_EVENT_WINDOW_SECS < to
                && at + crate::models::regression::EVENT_DURATION_SECS > from
        })
        .cloned()
        .collect()
}

/// Simple model for short histories (or when asked for the mean): seasonal
/// naive once a day plus half a day of lagged residuals exist, otherwise the mean; intervals from in-sample
/// residual quantiles, widened by [`SHORT_HISTORY_WIDEN`].
fn simple(
    y: &[f64],
    day: Option<usize>,
    h: usize,
    level: f64,
    choice: ModelChoice,
) -> (String, Vec<f64>, Vec<f64>) {
    let n = y.len();
    match day {
        Some(d) if n >= d + d / 2 && choice != ModelChoice::Mean => {
            let mean = naive::seasonal_naive(y, d, &[n], h);
            let residuals = naive::seasonal_naive_residuals(y, d);
            let w =
                conformal::conformal_quantile(residuals[d..].iter().copied(), level) * SHORT_HISTORY_WIDEN;
            (format!("seasonal_naive({d})"), mean, vec![w; h])
        }
        _ => {
            let m = naive::mean(y);
            let w = conformal::conformal_quantile(y.iter().map(|v| v - m), level) * SHORT_HISTORY_WIDEN;
            ("mean".to_string(), vec![m; h], vec![w; h])
        }
    }
}
