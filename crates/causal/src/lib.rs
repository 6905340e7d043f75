//! # sprout-causal
//!
//! Causal-effect estimation for Sprout: data in, result out. No I/O.
//!
//! ## Flow
//!
//! 1. **Identification.** The causal graph comes either from explicit edges
//!    ([`Graph::from_edges`]) or from DoWhy's shortcut (treatment, outcome,
//!    common causes, instruments, effect modifiers). A back-door adjustment
//!    set is searched for among the observed nodes (those with a column in
//!    the [`Table`]) using d-separation; when none exists the call fails
//!    with [`CausalError::NotIdentifiable`]. With [`Method::Iv`] the
//!    instruments are checked graphically instead.
//! 2. **Preparation.** Rows with the treated or control level are kept
//!    (others and rows with missing values are left out, with a warning);
//!    categorical covariates are one-hot encoded with the first level
//!    dropped; constant and collinear columns are dropped with a warning.
//! 3. **Estimation** ([`Method`]):
//!    - `naive`: difference in means (Welch standard error);
//!    - `regression`: OLS adjustment with an **HC3** standard error — HC3
//!      inflates each squared residual by its leverage and holds coverage in
//!      samples of tens of rows, where HC0/HC1 are too narrow (Long & Ervin
//!      2000);
//!    - `ps_stratification`: equal-count strata of a logistic propensity
//!      score (default 5, quintiles; equal propensities share a stratum),
//!      stratum differences weighted to the estimand, as DoWhy's
//!      `PropensityScoreStratificationEstimator`; [`StrataRule::DoWhy`] and
//!      `Options::strata_clipping` reproduce DoWhy's own bins
//!      (`round(rank / n · k)`) and minimum count exactly;
//!    - `ps_matching`: one nearest neighbour on the propensity, with
//!      replacement, as DoWhy's `PropensityScoreMatchingEstimator`, with the
//!      **Abadie–Imbens (2006)** standard error (conditional variances from
//!      matching within each arm), which treats the propensity as known:
//!      conservative for the ATE (Abadie & Imbens 2016);
//!    - `ipw`: inverse-probability weighting with **Hajek** (normalised)
//!      weights, which stay bounded averages when some propensities are
//!      extreme, and propensities clipped to [0.01, 0.99] (DoWhy's
//!      `min_ps_score`/`max_ps_score`); the sandwich standard error stacks
//!      the logistic score so the propensity's own uncertainty counts;
//!    - `aipw`: doubly robust augmented IPW with arm-wise linear outcome
//!      models and an influence-function standard error;
//!    - `iv`: two-stage least squares (equal to the Wald ratio for one binary
//!      instrument) with an HC1 standard error and the first-stage F.
//!
//!    The propensity model is a logistic regression fitted by IRLS; when the
//!    covariates perfectly separate the arms it is refitted with a ridge
//!    penalty and a warning. Estimands are ATE, ATT and ATC.
//! 4. **Uncertainty.** Analytic normal intervals by default (regression HC3,
//!    AIPW influence function, IPW sandwich, matching Abadie–Imbens, 2SLS
//!    HC1, stratified and Welch variances); when asked (`Options::bootstrap`),
//!    percentile bootstrap intervals, optionally a moving-block bootstrap (Künsch 1989)
//!    for time-ordered rows, seeded (ChaCha8) so results are reproducible.
//!    Bootstrap refits of the propensity model take two Newton steps from
//!    the full-sample fit (the k-step bootstrap of Andrews 2002), which keeps
//!    a 500-draw AIPW interval on a child's ~90 rows in single-digit
//!    milliseconds.
//! 5. **Refutation** ([`refute`]): placebo treatment (30 permutations, with
//!    the share of placebo effects as large as the real one as p-value),
//!    random common cause (an added N(0,1) column) and 80% data subsets, as
//!    in DoWhy's refuters, plus an E-value (VanderWeele & Ding 2017) for
//!    unobserved confounding, with the outcome standardised and mapped to a
//!    risk ratio by exp(0.91 d). Each gives one plain sentence.
//!
//! No answer ever holds NaN: non-finite results become
//! [`CausalError::NumericalFailure`].
//!
//! ```
//! use sprout_causal::{estimate_effect, Column, EffectSpec, Method, Options, Table};
//!
//! let x = vec![0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.5, 0.2];
//! let t = vec![0.0, 1.0, 0.0, 1.0, 1.0, 1.0, 0.0, 0.0, 1.0, 0.0];
//! let y: Vec<f64> = x.iter().zip(&t).map(|(x, t)| 2.0 * x + 0.5 * t).collect();
//! let table = Table::new(vec![
//!     Column::numeric("x", x),
//!     Column::numeric("t", t),
//!     Column::numeric("y", y),
//! ])?;
//! let spec = EffectSpec {
//!     treatment: "t".into(),
//!     outcome: "y".into(),
//!     common_causes: vec!["x".into()],
//!     ..EffectSpec::default()
//! };
//! let est = estimate_effect(&table, &spec, Method::Regression, &Options::default())?;
//! assert!((est.estimate - 0.5).abs() < 1e-9);
//! # Ok::<(), sprout_causal::CausalError>(())
//! ```

#![forbid(unsafe_code)]

mod bootstrap;
mod cr2;
mod design;
mod effect;
mod error;
mod estimators;
mod graph;
mod identify;
mod linalg;
mod propensity;
mod refute;
mod spec;
mod stats;
mod table;

pub use effect::{estimate_effect, point_estimate, FALLBACK_BOOTSTRAP};
pub use error::{CausalError, Result};
pub use graph::Graph;
pub use identify::{check_instrument, find_instruments, identify_backdoor, is_backdoor_set, BackdoorSet};
pub use refute::{e_value, interval_e_value, refute, MODERATE_CONFOUNDER_RR};
pub use spec::{
    Diagnostics, EffectSpec, Estimand, Estimate, Method, Options, Overlap, Refutation, StrataRule, Stratum,
    DEFAULT_PS_CLIP, DEFAULT_STRATA,
};
pub use stats::{t_quantile, t_two_sided_p};
pub use table::{Column, Table, Value};
