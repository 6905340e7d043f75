//! Known-future covariates: calendar events turned into indicator regressors,
//! and a ridge least-squares fit of their effect on a base model's residuals.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// How far ahead of an event its anticipation is modelled: a child's stress
/// about a test builds over the preceding day.
pub const PRE_EVENT_WINDOW_SECS: i64 = 24 * 3600;

/// The pre-event window is split into this many equal buckets (6 h each), so
/// a ramp towards the event is captured without assuming its shape.
pub const PRE_EVENT_BUCKETS: usize = 4;

/// Events carry a start time only; they are taken to last this long (a school
/// test plus its immediate aftermath).
pub const EVENT_DURATION_SECS: i64 = 2 * 3600;

/// Ridge penalty on each effect, in units of one indicator-hour: shrinks an
/// effect seen in only a handful of hours towards zero, negligible otherwise.
const RIDGE_PENALTY: f64 = 1.0;

/// More distinct event kinds than this are ignored (the rarest ones), keeping
/// the regression small and well determined.
pub const MAX_EVENT_KINDS: usize = 8;

const COLUMNS_PER_KIND: usize = PRE_EVENT_BUCKETS + 1;

/// A known (past or future) event, such as a scheduled test.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// When the event starts.
    pub at: DateTime<Utc>,
    /// Event type, e.g. `"math_test"`; events of one kind share one effect.
    pub kind: String,
}

/// Indicator regressors on the step grid for every event kind.
#[derive(Debug, Clone)]
pub(crate) struct Design {
    kinds: Vec<String>,
    /// Column-major: `COLUMNS_PER_KIND` columns per kind, each `rows` long.
    columns: Vec<Vec<f64>>,
}

impl Design {
    /// Builds regressors for `rows` steps of `step_secs` starting at `start_secs`.
    pub fn new(events: &[Event], start_secs: i64, step_secs: i64, rows: usize) -> Self {
        let mut kinds: Vec<(String, usize)> = Vec::new();
        for e in events {
            match kinds.iter_mut().find(|(k, _)| *k == e.kind) {
                Some((_, count)) => *count += 1,
                None => kinds.push((e.kind.clone(), 1)),
            }
        }
        // Most frequent kinds first; ties by name so the design is deterministic.
        kinds.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        kinds.truncate(MAX_EVENT_KINDS);
        let kinds: Vec<String> = kinds.into_iter().map(|(k, _)| k).collect();
        let mut columns = vec![vec![0.0; rows]; kinds.len() * COLUMNS_PER_KIND];
        let bucket_secs = PRE_EVENT_WINDOW_SECS / PRE_EVENT_BUCKETS as i64;
        for e in events {
            let Some(k) = kinds.iter().position(|k| *k == e.kind) else {
                continue;
            };
            let at = e.at.timestamp();
            let first = (at - PRE_EVENT_WINDOW_SECS - start_secs).div_euclid(step_secs);
            let last = (at + EVENT_DURATION_SECS - start_secs).div_euclid(step_secs);
            for t in first.max(0)..=last.min(rows as i64 - 1) {
                let row = t as usize;
                let begin = start_secs + t * step_secs;
                let end = begin + step_secs;
                let col = if begin < at + EVENT_DURATION_SECS && end > at {
                    PRE_EVENT_BUCKETS
                } else if begin < at && at - begin <= PRE_EVENT_WINDOW_SECS {
                    // Bucket 0 is the closest to the event.
                    (((at - begin - 1) / bucket_secs) as usize).min(PRE_EVENT_BUCKETS - 1)
                } else {
                    continue;
                };
                columns[k * COLUMNS_PER_KIND + col][row] = 1.0;
            }
        }
        Self { kinds, columns }
    }

    /// True when no event touches rows `from..to`.
    pub fn is_empty_in(&self, from: usize, to: usize) -> bool {
        self.columns
            .iter()
            .all(|c| c.get(from..to).is_none_or(|s| s.iter().all(|&v| v == 0.0)))
    }

    /// Kinds with at least one active indicator in rows `from..to`.
    pub fn kinds_active_in(&self, from: usize, to: usize) -> Vec<&str> {
        self.kinds
            .iter()
            .enumerate()
            .filter(|(k, _)| {
                self.columns[k * COLUMNS_PER_KIND..(k + 1) * COLUMNS_PER_KIND]
                    .iter()
                    .any(|c| c.get(from..to).is_some_and(|s| s.iter().any(|&v| v != 0.0)))
            })
            .map(|(_, name)| name.as_str())
            .collect()
    }

    // Index loops read as the normal equations they implement.
    #[allow(clippy::needless_range_loop)]
    /// Ridge least squares of `target` (rows `0..target.len()`) on the regressors.
    pub fn fit(&self, target: &[f64]) -> Vec<f64> {
        let p = self.columns.len();
        let n = target.len();
        let mut xtx = vec![vec![0.0; p]; p];
        let mut xty = vec![0.0; p];
        for i in 0..p {
            let ci = &self.columns[i][..n.min(self.columns[i].len())];
            xty[i] = ci.iter().zip(target).map(|(a, b)| a * b).sum();
            for j in i..p {
                let cj = &self.columns[j];
                let v: f64 = ci.iter().zip(cj).map(|(a, b)| a * b).sum();
                xtx[i][j] = v;
                xtx[j][i] = v;
            }
            xtx[i][i] += RIDGE_PENALTY;
        }
        solve(xtx, xty)
    }

    /// Fitted effect at `row` for coefficients `beta`.
    pub fn effect(&self, beta: &[f64], row: usize) -> f64 {
        self.columns
            .iter()
            .zip(beta)
            .map(|(c, b)| c.get(row).copied().unwrap_or(0.0) * b)
            .sum()
    }
}

/// Solves the symmetric positive definite system by Gaussian elimination
/// with partial pivoting (the ridge term guarantees a unique solution).
#[allow(clippy::needless_range_loop)]
fn solve(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Vec<f64> {
    let n = b.len();
    for col in 0..n {
        let pivot = (col..n)
            .max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))
            .unwrap_or(col);
        a.swap(col, pivot);
        b.swap(col, pivot);
        let d = a[col][col];
        if d.abs() < f64::MIN_POSITIVE {
            continue;
        }
        for row in col + 1..n {
            let f = a[row][col] / d;
            if f == 0.0 {
                continue;
            }
            for k in col..n {
                a[row][k] -= f * a[col][k];
            }
            b[row] -= f * b[col];
        }
    }
    let mut x = vec![0.0; n];
    for i in (0..n).rev() {
        let s: f64 = (i + 1..n).map(|k| a[i][k] * x[k]).sum();
        x[i] = if a[i][i].abs() < f64::MIN_POSITIVE {
            0.0
        } else {
            (b[i] - s) / a[i][i]
        };
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn indicators_cover_window_and_event() {
        let at = Utc.with_ymd_and_hms(2026, 3, 10, 9, 0, 0).single().expect("time");
        let start = at.timestamp() - 30 * 3600;
        let d = Design::new(
            &[Event {
                at,
                kind: "math_test".into(),
            }],
            start,
            3600,
            48,
        );
        // 30 h before the event: nothing; 24 h before: farthest bucket; 1 h before: closest; at: during.
        assert_eq!(d.effect(&[1.0, 10.0, 100.0, 1000.0, 5.0], 0), 0.0);
        assert_eq!(d.effect(&[1.0, 10.0, 100.0, 1000.0, 5.0], 6), 1000.0);
        assert_eq!(d.effect(&[1.0, 10.0, 100.0, 1000.0, 5.0], 29), 1.0);
        assert_eq!(d.effect(&[1.0, 10.0, 100.0, 1000.0, 5.0], 30), 5.0);
        assert_eq!(d.effect(&[1.0, 10.0, 100.0, 1000.0, 5.0], 31), 5.0);
        assert_eq!(d.effect(&[1.0, 10.0, 100.0, 1000.0, 5.0], 32), 0.0);
    }
}
