//! Chronotype classes from MSFsc: cut-off conventions, the three-level and six-level
//! types, and the confidence of a classification.
//!
//! # Cut-offs are a convention
//! MSFsc is a continuous measure; there is no validated cut-off for children.
//! [`Convention::SchoolAgeChild`] calls a child an early bird below 03:00 local MSFsc and
//! a night owl from 04:30, intermediate in between. These values sit around the range of
//! mid-sleep on free days reported for school-age children with the Children's
//! ChronoType Questionnaire (Werner et al. 2009, ages 4–11) and are a product
//! convention, not a clinical threshold.
//!
//! [`Convention::AdolescentShift`], the default everywhere (the app, the recommendations
//! and `sprout chronotype --age`), uses those cut-offs up to age 12 and moves both later
//! with age from 12 to 20 years,
//! an approximation of the progressive delay of MSFsc through adolescence, peaking around
//! age 20, shown by Roenneberg et al. 2004 (Curr Biol 14:R1038). The slope
//! ([`ADOLESCENT_SHIFT_HOURS_PER_YEAR`]) is a rounded reading of that population trend,
//! not a fitted or validated value.

use serde::{Deserialize, Serialize};

use crate::error::ChronoError;

/// Default early-bird bound: MSFsc before 03:00 local (convention, see module docs).
pub const SCHOOL_AGE_EARLY_BELOW_HOURS: f64 = 3.0;

/// Default night-owl bound: MSFsc from 04:30 local (convention, see module docs).
pub const SCHOOL_AGE_NIGHT_OWL_FROM_HOURS: f64 = 4.5;

/// Age from which the adolescent delay starts to shift the cut-offs (onset of puberty
/// on average; Roenneberg et al. 2004 show the delay building through the teens).
pub const ADOLESCENT_SHIFT_FROM_AGE: f64 = 12.0;

/// Age at which the shift stops growing: average MSFsc peaks at about 20 years
/// (Roenneberg et al. 2004).
pub const ADOLESCENT_SHIFT_UNTIL_AGE: f64 = 20.0;

/// Approximate delay of average MSFsc per year of age between 12 and 20, roughly 1.6 h
/// over the teens (rounded reading of Roenneberg et al. 2004; an approximation).
pub const ADOLESCENT_SHIFT_HOURS_PER_YEAR: f64 = 0.2;

/// Nights at which the amount of data no longer limits confidence: four weeks cover
/// about eight free nights, twice the minimum.
pub const FULL_CONFIDENCE_NIGHTS: f64 = 28.0;

/// Ceiling on confidence: the cut-offs are a convention and wearable sleep timing has
/// device-specific bias, so the engine never claims certainty.
pub const MAX_CONFIDENCE: f64 = 0.99;

/// Three-level chronotype.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Chronotype {
    /// Early type (lark).
    EarlyBird,
    /// Neither early nor late.
    Intermediate,
    /// Late type (owl).
    NightOwl,
}

/// Six-level chronotype; each level nests inside one three-level class (two per class).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FineType {
    /// Early bird, more than half a class width before the early cut-off.
    EarlyMorning,
    /// Early bird, within half a class width of the early cut-off.
    ModerateMorning,
    /// Intermediate, earlier half.
    SlightMorning,
    /// Intermediate, later half.
    SlightEvening,
    /// Night owl, within half a class width of the owl cut-off.
    ModerateEvening,
    /// Night owl, more than half a class width after the owl cut-off.
    LateEvening,
}

impl FineType {
    /// The three-level class this fine type belongs to.
    pub fn coarse(self) -> Chronotype {
        match self {
            FineType::EarlyMorning | FineType::ModerateMorning => Chronotype::EarlyBird,
            FineType::SlightMorning | FineType::SlightEvening => Chronotype::Intermediate,
            FineType::ModerateEvening | FineType::LateEvening => Chronotype::NightOwl,
        }
    }
}

/// MSFsc cut-offs in hours after local midnight.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Cutoffs {
    /// MSFsc below this is an early bird.
    pub early_below: f64,
    /// MSFsc at or above this is a night owl.
    pub night_owl_from: f64,
}

impl Cutoffs {
    /// Validated cut-offs: finite, `early_below < night_owl_from`.
    pub fn new(early_below: f64, night_owl_from: f64) -> Result<Self, ChronoError> {
        if !(early_below.is_finite() && night_owl_from.is_finite()) || early_below >= night_owl_from {
            return Err(ChronoError::InvalidCutoffs {
                early_below,
                night_owl_from,
            });
        }
        Ok(Cutoffs {
            early_below,
            night_owl_from,
        })
    }

    /// The school-age default (03:00 / 04:30).
    pub const SCHOOL_AGE: Cutoffs = Cutoffs {
        early_below: SCHOOL_AGE_EARLY_BELOW_HOURS,
        night_owl_from: SCHOOL_AGE_NIGHT_OWL_FROM_HOURS,
    };

    /// Both cut-offs moved by `hours`.
    pub fn shifted(self, hours: f64) -> Cutoffs {
        Cutoffs {
            early_below: self.early_below + hours,
            night_owl_from: self.night_owl_from + hours,
        }
    }

    /// Width of the intermediate band.
    fn width(&self) -> f64 {
        self.night_owl_from - self.early_below
    }

    /// Three-level class of an MSFsc.
    pub fn classify(&self, msf_sc: f64) -> Chronotype {
        if msf_sc < self.early_below {
            Chronotype::EarlyBird
        } else if msf_sc < self.night_owl_from {
            Chronotype::Intermediate
        } else {
            Chronotype::NightOwl
        }
    }

    /// Six-level type: each class split in two, the outer classes at half the
    /// intermediate width beyond their cut-off, the intermediate class at its middle.
    pub fn fine_type(&self, msf_sc: f64) -> FineType {
        let half = self.width() / 2.0;
        if msf_sc < self.early_below - half {
            FineType::EarlyMorning
        } else if msf_sc < self.early_below {
            FineType::ModerateMorning
        } else if msf_sc < self.early_below + half {
            FineType::SlightMorning
        } else if msf_sc < self.night_owl_from {
            FineType::SlightEvening
        } else if msf_sc < self.night_owl_from + half {
            FineType::ModerateEvening
        } else {
            FineType::LateEvening
        }
    }

    /// Probability that the true MSFsc lies in the same class as the estimate, taking
    /// the estimation error as normal with standard deviation `standard_error`.
    pub fn class_probability(&self, msf_sc: f64, standard_error: f64) -> f64 {
        let se = standard_error.max(f64::EPSILON);
        let cdf = |bound: f64| normal_cdf((bound - msf_sc) / se);
        match self.classify(msf_sc) {
            Chronotype::EarlyBird => cdf(self.early_below),
            Chronotype::Intermediate => cdf(self.night_owl_from) - cdf(self.early_below),
            Chronotype::NightOwl => 1.0 - cdf(self.night_owl_from),
        }
    }
}

/// Which cut-offs to classify with.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Convention {
    /// 03:00 / 04:30 whatever the age (convention, see module docs).
    SchoolAgeChild,
    /// School-age cut-offs moved later for adolescents by
    /// [`ADOLESCENT_SHIFT_HOURS_PER_YEAR`] per year from 12 to 20 (approximation after
    /// Roenneberg et al. 2004); up to 12, or without an age, it equals `SchoolAgeChild`.
    /// The default: a 16-year-old is judged against 16-year-olds wherever Sprout
    /// classifies, not against school-age children.
    #[default]
    AdolescentShift,
    /// Caller-chosen cut-offs.
    Custom(Cutoffs),
}

impl Convention {
    /// Cut-offs for a child of the given age.
    pub fn cutoffs(&self, age_years: Option<f64>) -> Cutoffs {
        match self {
            Convention::SchoolAgeChild => Cutoffs::SCHOOL_AGE,
            Convention::AdolescentShift => {
                let years = age_years
                    .filter(|a| a.is_finite())
                    .map(|a| {
                        a.clamp(ADOLESCENT_SHIFT_FROM_AGE, ADOLESCENT_SHIFT_UNTIL_AGE)
                            - ADOLESCENT_SHIFT_FROM_AGE
                    })
                    .unwrap_or(0.0);
                Cutoffs::SCHOOL_AGE.shifted(years * ADOLESCENT_SHIFT_HOURS_PER_YEAR)
            }
            Convention::Custom(cutoffs) => *cutoffs,
        }
    }
}

/// Confidence in [0, [`MAX_CONFIDENCE`]] of a classification: the probability that the true MSFsc is in
/// the reported class (from its standard error and the distance to the nearest
/// cut-off), scaled down while there are fewer than [`FULL_CONFIDENCE_NIGHTS`] nights
/// because the spread itself is poorly known from few nights. A heuristic.
pub fn confidence(cutoffs: &Cutoffs, msf_sc: f64, standard_error: f64, nights: usize) -> f64 {
    let data_factor = (nights as f64 / FULL_CONFIDENCE_NIGHTS).min(1.0).sqrt();
    let value = cutoffs.class_probability(msf_sc, standard_error) * data_factor;
    value.clamp(0.0, MAX_CONFIDENCE)
}

/// Standard normal CDF via the error function.
fn normal_cdf(z: f64) -> f64 {
    0.5 * (1.0 + erf(z / std::f64::consts::SQRT_2))
}

/// Error function, Abramowitz & Stegun 7.1.26 (absolute error below 1.5e-7), ample for
/// a confidence score.
fn erf(x: f64) -> f64 {
    const P: f64 = 0.327_591_1;
    const A: [f64; 5] = [
        0.254_829_592,
        -0.284_496_736,
        1.421_413_741,
        -1.453_152_027,
        1.061_405_429,
    ];
    let sign = if x < 0.0 { -1.0 } else { 1.0 };
    let x = x.abs();
    let t = 1.0 / (1.0 + P * x);
    let poly = t * (A[0] + t * (A[1] + t * (A[2] + t * (A[3] + t * A[4]))));
    sign * (1.0 - poly * (-x * x).exp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erf_matches_known_values() {
        assert!((erf(0.0)).abs() < 1e-6);
        assert!((erf(1.0) - 0.842_700_79).abs() < 1e-6);
        assert!((erf(-2.0) + 0.995_322_27).abs() < 1e-6);
    }

    #[test]
    fn default_cutoffs_classify() {
        let c = Cutoffs::SCHOOL_AGE;
        assert_eq!(c.classify(2.99), Chronotype::EarlyBird);
        assert_eq!(c.classify(3.0), Chronotype::Intermediate);
        assert_eq!(c.classify(4.49), Chronotype::Intermediate);
        assert_eq!(c.classify(4.5), Chronotype::NightOwl);
    }

    #[test]
    fn fine_types_nest_in_classes() {
        let c = Cutoffs::SCHOOL_AGE;
        let mut x = -2.0;
        while x < 9.0 {
            assert_eq!(c.fine_type(x).coarse(), c.classify(x), "at {x}");
            x += 0.05;
        }
        assert_eq!(c.fine_type(2.0), FineType::EarlyMorning);
        assert_eq!(c.fine_type(2.5), FineType::ModerateMorning);
        assert_eq!(c.fine_type(3.5), FineType::SlightMorning);
        assert_eq!(c.fine_type(4.0), FineType::SlightEvening);
        assert_eq!(c.fine_type(4.8), FineType::ModerateEvening);
        assert_eq!(c.fine_type(5.5), FineType::LateEvening);
    }

    #[test]
    fn adolescent_shift_is_bounded() {
        let conv = Convention::AdolescentShift;
        assert_eq!(conv.cutoffs(None), Cutoffs::SCHOOL_AGE);
        assert_eq!(conv.cutoffs(Some(9.0)), Cutoffs::SCHOOL_AGE);
        let at16 = conv.cutoffs(Some(16.0));
        assert!((at16.early_below - 3.8).abs() < 1e-9);
        let at30 = conv.cutoffs(Some(30.0));
        assert!((at30.night_owl_from - 6.1).abs() < 1e-9);
    }

    #[test]
    fn invalid_cutoffs_are_refused() {
        assert!(Cutoffs::new(4.5, 3.0).is_err());
        assert!(Cutoffs::new(f64::NAN, 3.0).is_err());
        assert!(Cutoffs::new(2.5, 5.0).is_ok());
    }

    #[test]
    fn confidence_grows_with_distance_and_nights() {
        let c = Cutoffs::SCHOOL_AGE;
        let near = confidence(&c, 3.05, 0.15, 40);
        let far = confidence(&c, 3.75, 0.15, 40);
        assert!(far > near);
        let few = confidence(&c, 3.75, 0.15, 14);
        assert!(few < far);
        assert!((0.0..=1.0).contains(&near) && (0.0..=1.0).contains(&far));
    }
}
