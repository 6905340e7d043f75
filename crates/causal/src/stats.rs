//! Owns the small statistical helpers: normal and Student t quantiles and
//! tail probabilities, moments, percentiles, and normal draws.

use rand::Rng;

/// Standard normal quantile (Acklam's rational approximation, refined with
/// one Halley step; absolute error well below 1e-12 on (0, 1)).
pub fn normal_quantile(p: f64) -> f64 {
    if p <= 0.0 {
        return f64::NEG_INFINITY;
    }
    if p >= 1.0 {
        return f64::INFINITY;
    }
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    const P_LOW: f64 = 0.02425;
    let x = if p < P_LOW {
        let q = (-2.0 * p.ln()).sqrt();
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    } else if p <= 1.0 - P_LOW {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    } else {
        let q = (-2.0 * (1.0 - p).ln()).sqrt();
        -(((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    // One Halley refinement step.
    let e = normal_cdf(x) - p;
    let u = e * (2.0 * std::f64::consts::PI).sqrt() * (x * x / 2.0).exp();
    x - u / (1.0 + x * u / 2.0)
}

/// Standard normal CDF (Hart's 1968 double-precision algorithm 5666 as
/// given by West 2005; absolute error around 1e-14).
pub fn normal_cdf(x: f64) -> f64 {
    let ax = x.abs();
    let tail = if ax > 37.0 {
        0.0
    } else {
        let e = (-ax * ax / 2.0).exp();
        if ax < 7.071_067_811_865_47 {
            let mut num = 3.526_249_659_989_11e-2 * ax + 0.700_383_064_443_688;
            num = num * ax + 6.373_962_203_531_65;
            num = num * ax + 33.912_866_078_383;
            num = num * ax + 112.079_291_497_871;
            num = num * ax + 221.213_596_169_931;
            num = num * ax + 220.206_867_912_376;
            let mut den = 8.838_834_764_831_84e-2 * ax + 1.755_667_163_182_64;
            den = den * ax + 16.064_177_579_207;
            den = den * ax + 86.780_732_202_946_1;
            den = den * ax + 296.564_248_779_674;
            den = den * ax + 637.333_633_378_831;
            den = den * ax + 793.826_512_519_948;
            den = den * ax + 440.413_735_824_752;
            e * num / den
        } else {
            let mut b = ax + 0.65;
            b = ax + 4.0 / b;
            b = ax + 3.0 / b;
            b = ax + 2.0 / b;
            b = ax + 1.0 / b;
            e / b / 2.506_628_274_631
        }
    };
    if x > 0.0 {
        1.0 - tail
    } else {
        tail
    }
}

/// ln Γ(x) for x > 0 (Lanczos, g = 7, nine terms; relative error ~1e-15).
fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection keeps the series in its accurate range.
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let t = x + G + 0.5;
    let series = C[1..]
        .iter()
        .enumerate()
        .fold(C[0], |acc, (i, c)| acc + c / (x + i as f64 + 1.0));
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + series.ln()
}

/// Regularised incomplete beta I_x(a, b), by the continued fraction of
/// Numerical Recipes (§6.4, modified Lentz), on the side where it converges.
fn incomplete_beta(x: f64, a: f64, b: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let front = (ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln()).exp();
    if x < (a + 1.0) / (a + b + 2.0) {
        front * beta_fraction(x, a, b) / a
    } else {
        1.0 - front * beta_fraction(1.0 - x, b, a) / b
    }
}

fn beta_fraction(x: f64, a: f64, b: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 - qab * x / qap;
    if d.abs() < TINY {
        d = TINY;
    }
    d = 1.0 / d;
    let mut h = d;
    for m in 1..300 {
        let m = f64::from(m);
        let m2 = 2.0 * m;
        let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 + aa * d;
        d = if d.abs() < TINY { TINY } else { d };
        c = 1.0 + aa / c;
        c = if c.abs() < TINY { TINY } else { c };
        d = 1.0 / d;
        h *= d * c;
        let aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 + aa * d;
        d = if d.abs() < TINY { TINY } else { d };
        c = 1.0 + aa / c;
        c = if c.abs() < TINY { TINY } else { c };
        d = 1.0 / d;
        let delta = d * c;
        h *= delta;
        if (delta - 1.0).abs() < 1e-15 {
            break;
        }
    }
    h
}

/// Two-sided tail probability P(|T| ≥ |t|) of Student's t with `df`
/// (possibly fractional) degrees of freedom.
pub fn t_two_sided_p(t: f64, df: f64) -> f64 {
    if !t.is_finite() {
        return 0.0;
    }
    if df.is_nan() || df <= 0.0 {
        return f64::NAN;
    }
    incomplete_beta(df / (df + t * t), df / 2.0, 0.5)
}

/// Student t quantile for probability `p` and `df` (possibly fractional)
/// degrees of freedom: Newton's method on [`t_two_sided_p`] from the normal
/// quantile, inside a bracket that bisection takes over whenever a step
/// would leave it. Each evaluation is a continued fraction, and Newton needs
/// five or so where bisection to the same accuracy needed sixty.
pub fn t_quantile(p: f64, df: f64) -> f64 {
    if p <= 0.0 {
        return f64::NEG_INFINITY;
    }
    if p >= 1.0 {
        return f64::INFINITY;
    }
    if p < 0.5 {
        return -t_quantile(1.0 - p, df);
    }
    let tail = 2.0 * (1.0 - p);
    let (mut lo, mut hi) = (0.0_f64, 1.0_f64);
    while t_two_sided_p(hi, df) > tail && hi < 1e12 {
        hi *= 2.0;
    }
    // d/dt P(|T| >= t) = -2 f(t), with f the t density.
    let log_density_scale =
        ln_gamma((df + 1.0) / 2.0) - ln_gamma(df / 2.0) - 0.5 * (df * std::f64::consts::PI).ln();
    let density = |t: f64| (log_density_scale - (df + 1.0) / 2.0 * (t * t / df).ln_1p()).exp();
    let mut t = normal_quantile(p).clamp(lo, hi);
    for _ in 0..100 {
        let excess = t_two_sided_p(t, df) - tail;
        if excess > 0.0 {
            lo = t;
        } else {
            hi = t;
        }
        let newton = t + excess / (2.0 * density(t));
        let next = if newton > lo && newton < hi {
            newton
        } else {
            0.5 * (lo + hi)
        };
        if (next - t).abs() <= 4.0 * f64::EPSILON * next.abs() || hi - lo <= 4.0 * f64::EPSILON * hi {
            return next;
        }
        t = next;
    }
    t
}

pub fn mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.iter().sum::<f64>() / v.len() as f64
}

/// Sample variance (n - 1 denominator); zero for fewer than two values.
pub fn variance(v: &[f64]) -> f64 {
    if v.len() < 2 {
        return 0.0;
    }
    let m = mean(v);
    v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (v.len() - 1) as f64
}

/// Percentile with linear interpolation between order statistics (the
/// default of NumPy's `percentile`); `sorted` must be ascending.
pub fn percentile_sorted(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let pos = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    let frac = pos - lo as f64;
    sorted[lo] + (sorted[hi] - sorted[lo]) * frac
}

/// One standard normal draw (Box–Muller; the crate avoids `rand_distr`).
pub fn normal_draw<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    let u1: f64 = rng.random::<f64>().max(f64::MIN_POSITIVE);
    let u2: f64 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_match_tables() {
        assert!((normal_quantile(0.975) - 1.959_963_984_540_054).abs() < 1e-9);
        assert!((normal_quantile(0.5)).abs() < 1e-12);
        assert!((normal_quantile(0.001) + 3.090_232_306_167_813_5).abs() < 1e-9);
        assert!((normal_cdf(1.0) - 0.841_344_746_068_542_9).abs() < 1e-12);
        assert!((normal_cdf(-3.0) - 0.001_349_898_031_630_094_6).abs() < 1e-13);
    }

    #[test]
    fn student_t_matches_tables() {
        // Tables, and numerical integration of the density for df = 12.5 and p(2, 7).
        assert!((t_quantile(0.975, 1.0) - 12.706_204_736_174_7).abs() < 1e-6);
        assert!((t_quantile(0.975, 4.0) - 2.776_445_105_197_8).abs() < 1e-9);
        assert!((t_quantile(0.975, 12.5) - 2.169_185_94).abs() < 1e-6);
        assert!((t_quantile(0.975, 30.0) - 2.042_272_456_301_2).abs() < 1e-9);
        assert!((t_quantile(0.025, 30.0) + 2.042_272_456_301_2).abs() < 1e-9);
        assert!((t_two_sided_p(2.0, 7.0) - 0.085_619_328_6).abs() < 1e-8);
        // Many degrees of freedom: the normal.
        assert!((t_quantile(0.975, 1e7) - 1.959_963_984_540_054).abs() < 1e-5);
    }

    #[test]
    fn t_quantile_is_the_root_bisection_finds() {
        // The definition, solved the slow way: sixty halvings of a bracket.
        let bisection = |p: f64, df: f64| {
            let tail = 2.0 * (1.0 - p);
            let (mut lo, mut hi) = (0.0_f64, 1.0_f64);
            while t_two_sided_p(hi, df) > tail && hi < 1e12 {
                hi *= 2.0;
            }
            for _ in 0..60 {
                let mid = 0.5 * (lo + hi);
                if t_two_sided_p(mid, df) > tail {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            0.5 * (lo + hi)
        };
        for df in [0.5, 1.0, 1.007, 2.23, 5.09, 8.13, 30.0, 1e3, 1e7] {
            for p in [0.5, 0.6, 0.9, 0.95, 0.975, 0.995, 0.9995] {
                let (fast, slow) = (t_quantile(p, df), bisection(p, df));
                assert!(
                    (fast - slow).abs() <= 1e-12 * slow.max(1.0),
                    "p {p}, df {df}: {fast} vs {slow}"
                );
            }
        }
    }

    #[test]
    fn percentile_interpolates() {
        let v = [1.0, 2.0, 3.0, 4.0];
        assert!((percentile_sorted(&v, 0.5) - 2.5).abs() < 1e-12);
    }
}
