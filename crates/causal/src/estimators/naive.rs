//! Owns the naive estimator: the difference in mean outcome between arms,
//! with a Welch (unequal-variance) standard error.

use super::{arms, Fit};
use crate::design::Data;
use crate::error::Result;
use crate::spec::Options;
use crate::stats::{mean, variance};

pub(super) fn fit(data: &Data, _opts: &Options) -> Result<Fit> {
    let (tr, co) = arms(&data.t);
    let y1: Vec<f64> = tr.iter().map(|&i| data.y[i]).collect();
    let y0: Vec<f64> = co.iter().map(|&i| data.y[i]).collect();
    let se = (variance(&y1) / y1.len() as f64 + variance(&y0) / y0.len() as f64).sqrt();
    Ok(Fit {
        se: Some(se),
        se_kind: "Welch",
        ..Fit::point(mean(&y1) - mean(&y0))
    })
}
