//! Owns the request and answer types of the public entry points: what to
//! estimate, how, with which options, and what comes back.

use crate::graph::Graph;
use crate::table::Value;
use serde::{Deserialize, Serialize};

/// Default number of propensity strata (the brief's choice; DoWhy's
/// stratification estimator also cuts on propensity quantiles).
pub const DEFAULT_STRATA: usize = 5;

/// Propensities are clipped to `[clip, 1 - clip]` before weighting, as
/// DoWhy's `min_ps_score = 0.01` does: it caps any weight at 100.
pub const DEFAULT_PS_CLIP: f64 = 0.01;

/// What effect to estimate.
#[derive(Debug, Clone, Default)]
pub struct EffectSpec {
    pub treatment: String,
    pub outcome: String,
    /// Variables that cause both treatment and outcome (DoWhy's shortcut).
    /// Ignored for adjustment when `graph` is given: the graph decides.
    pub common_causes: Vec<String>,
    /// Instruments for [`Method::Iv`]; when empty and a graph is given,
    /// instruments are looked for in the graph.
    pub instruments: Vec<String>,
    /// Variables that change the size of the effect; used as covariates and
    /// interactions by the regression and AIPW outcome models.
    pub effect_modifiers: Vec<String>,
    /// An explicit causal graph. Nodes without a column in the table are
    /// unobserved.
    pub graph: Option<Graph>,
    /// Treated level; defaults to 1 when the treatment is binary 0/1.
    pub treated_value: Option<Value>,
    /// Control level; defaults to 0 when the treatment is binary 0/1.
    pub control_value: Option<Value>,
    /// A numeric column naming each row's cluster: rows that share a value
    /// may be correlated (the moments of one day, the pupils of one
    /// school). Regression then reports a CR2 cluster-robust standard error
    /// with a Bell–McCaffrey t interval; other methods ignore it.
    pub clusters: Option<String>,
    /// A numeric column of groups whose own level is absorbed (fixed effects):
    /// regression then compares rows only within a group (Frisch–Waugh–Lovell:
    /// every column is centred within its group), so anything constant within
    /// a group — one day's mood — cannot confound. Nest groups within
    /// `clusters` for the CR2 standard error to stay valid (Pustejovsky &
    /// Tipton 2018). Other methods ignore it.
    pub fixed_effects: Option<String>,
}

/// Estimation method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    Naive,
    Regression,
    PsStratification,
    PsMatching,
    Ipw,
    Aipw,
    Iv,
}

impl Method {
    /// All methods, in a stable order.
    pub const ALL: [Method; 7] = [
        Method::Naive,
        Method::Regression,
        Method::PsStratification,
        Method::PsMatching,
        Method::Ipw,
        Method::Aipw,
        Method::Iv,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Method::Naive => "naive",
            Method::Regression => "regression",
            Method::PsStratification => "ps_stratification",
            Method::PsMatching => "ps_matching",
            Method::Ipw => "ipw",
            Method::Aipw => "aipw",
            Method::Iv => "iv",
        }
    }

    /// Parses the names returned by [`Method::as_str`].
    pub fn parse(name: &str) -> Option<Method> {
        Method::ALL.into_iter().find(|m| m.as_str() == name)
    }
}

/// Target population of the average effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Estimand {
    /// Average over everyone.
    #[default]
    Ate,
    /// Average over the treated.
    Att,
    /// Average over the controls.
    Atc,
}

impl Estimand {
    pub fn as_str(self) -> &'static str {
        match self {
            Estimand::Ate => "ate",
            Estimand::Att => "att",
            Estimand::Atc => "atc",
        }
    }
}

/// How [`Method::PsStratification`] cuts the propensity into strata.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StrataRule {
    /// `num_strata` equal-count strata of the ranked propensity (quintiles
    /// by default, the design Cochran 1968 and Rosenbaum & Rubin 1984 found
    /// to remove about 90% of the bias).
    #[default]
    Quantile,
    /// DoWhy's `PropensityScoreStratificationEstimator` rule: stratum
    /// `round(rank / n · num_strata)` (average ranks for ties, half to
    /// even), i.e. `num_strata + 1` strata with half-width end strata. With
    /// the same `strata_clipping` it reproduces DoWhy's estimate.
    DoWhy,
}

/// How to estimate and how to report uncertainty.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Options {
    pub estimand: Estimand,
    /// Bootstrap draws for a percentile interval; `None` uses the analytic
    /// interval where the method has one.
    pub bootstrap: Option<usize>,
    /// Resample blocks of this many consecutive rows (for time-ordered rows)
    /// instead of single rows.
    pub block_len: Option<usize>,
    pub seed: u64,
    /// Confidence level, in (0, 1).
    pub level: f64,
    /// Number of propensity strata for [`Method::PsStratification`].
    pub num_strata: usize,
    /// How the strata are cut.
    pub strata_rule: StrataRule,
    /// Strata with this many or fewer treated or control units are left
    /// out (DoWhy's `clipping_threshold`, whose default is 10); 0 drops only
    /// strata that miss an arm.
    pub strata_clipping: usize,
    /// Propensity clipping bound for weighting methods.
    pub ps_clip: f64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            estimand: Estimand::Ate,
            bootstrap: None,
            block_len: None,
            seed: 0,
            level: 0.95,
            num_strata: DEFAULT_STRATA,
            strata_rule: StrataRule::Quantile,
            strata_clipping: 0,
            ps_clip: DEFAULT_PS_CLIP,
        }
    }
}

/// Overlap of the propensity score between arms.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Overlap {
    pub min_treated: f64,
    pub max_treated: f64,
    pub min_control: f64,
    pub max_control: f64,
    /// Share of units with a propensity outside [0.05, 0.95].
    pub share_outside: f64,
    /// Whether the propensity model showed (quasi-)perfect separation and
    /// was refitted with a ridge penalty.
    pub separation: bool,
}

/// One propensity stratum.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stratum {
    pub ps_low: f64,
    pub ps_high: f64,
    pub n_treated: usize,
    pub n_control: usize,
    /// Difference in means inside the stratum, when both arms are present.
    pub effect: Option<f64>,
}

/// Everything that helps judge an estimate.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Diagnostics {
    /// The variables adjusted for (from the graph or the shortcut).
    pub adjustment_set: Vec<String>,
    /// A minimal valid adjustment set, when a graph was searched.
    pub minimal_adjustment_set: Vec<String>,
    pub instruments: Vec<String>,
    /// Model columns after encoding and dropping (e.g. `region=north`).
    pub covariates: Vec<String>,
    /// How the interval was obtained.
    pub ci_method: String,
    /// Successful bootstrap draws (zero when none were run).
    pub bootstrap_draws: usize,
    /// Bootstrap draws that could not be estimated (e.g. one arm missing).
    pub bootstrap_failures: usize,
    pub propensity: Option<Overlap>,
    pub strata: Vec<Stratum>,
    /// First-stage F statistic of the instruments.
    pub first_stage_f: Option<f64>,
    /// Rows left out because a used column was missing.
    pub rows_missing: usize,
    /// Rows left out because their treatment was neither level.
    pub rows_other_treatment: usize,
    /// Clusters the standard error allowed for, when rows were clustered.
    pub clusters: Option<usize>,
    /// Degrees of freedom of a t interval (cluster-robust regression);
    /// `None` for a normal interval.
    pub degrees_of_freedom: Option<f64>,
}

/// The answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Estimate {
    /// One of `naive`, `regression`, `ps_stratification`, `ps_matching`,
    /// `ipw`, `aipw`, `iv`.
    pub method: String,
    pub estimand: Estimand,
    pub estimate: f64,
    /// Interval at `Options::level`: analytic when the method has one and
    /// no bootstrap was asked for, otherwise bootstrap percentile.
    pub ci: (f64, f64),
    /// Analytic standard error when the method has one, otherwise the
    /// standard deviation of the bootstrap draws.
    pub std_error: Option<f64>,
    pub n: usize,
    pub n_treated: usize,
    pub n_control: usize,
    pub warnings: Vec<String>,
    pub diagnostics: Diagnostics,
}

impl Estimate {
    /// Two-sided p-value of "no effect" from the standard error: Student t
    /// with [`Diagnostics::degrees_of_freedom`] where set, else normal.
    /// `None` without a positive standard error.
    pub fn p_value(&self) -> Option<f64> {
        let se = self.std_error.filter(|s| *s > 0.0)?;
        let z = self.estimate / se;
        Some(match self.diagnostics.degrees_of_freedom {
            Some(df) => crate::stats::t_two_sided_p(z, df),
            None => 2.0 * (1.0 - crate::stats::normal_cdf(z.abs())),
        })
    }
}

/// Outcome of one refutation test.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Refutation {
    /// `placebo_treatment`, `random_common_cause`, `data_subset` or
    /// `unobserved_confounder_e_value`.
    pub name: String,
    /// Mean effect over the simulations (for the E-value check: the effect
    /// left after removing a moderate hidden confounder).
    pub new_effect: f64,
    /// Placebo only: share of placebo effects at least as large as the real
    /// one (small means the real effect stands out).
    pub p_value: Option<f64>,
    pub passed: bool,
    /// One plain sentence.
    pub explanation: String,
}
