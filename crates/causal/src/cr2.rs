//! Owns the cluster-robust standard error of one least-squares coefficient:
//! CR2 (Bell & McCaffrey 2002) with Bell–McCaffrey degrees of freedom.
//!
//! CR2 adjusts each cluster's residuals by `(I - H_gg)^-1/2`, which makes
//! the variance unbiased under independent homoskedastic errors; with few
//! clusters, or few that carry the coefficient, the normal interval of the
//! plain sandwich (CR0/CR1) covers far less than asked (Cameron & Miller
//! 2015; MacKinnon & Webb 2017), and the t with Bell–McCaffrey degrees of
//! freedom restores it (Pustejovsky & Tipton 2018).
//!
//! No `n x n` matrix is ever formed: with `X'X = L L'` and `Q = X L^-T`
//! the cluster block of the hat matrix is `Q_g Q_g'`, whose non-zero
//! eigenvalues are those of the small `M_g = Q_g' Q_g = L^-1 X_g'X_g L^-T`.
//! One pass over the rows gives every cluster's `X_g'X_g` (their sum is
//! `X'X`, so the fit needs no other); a cluster with at least as many rows
//! as kept columns then needs only that matrix, and a smaller one works on
//! its `len x len` block `H_gg`, from its own rows of `Q`.

// Index loops mirror the formulas.
#![allow(clippy::needless_range_loop)]

use crate::linalg::{dot, gram_of, symmetric_eigen, ColMajor, LastCoefficient, LEVERAGE_CLAMP};

/// The last coefficient of a least-squares fit with a cluster-robust
/// standard error.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClusteredCoefficient {
    pub beta: f64,
    /// CR2 standard error (Bell & McCaffrey 2002).
    pub se: f64,
    /// Bell–McCaffrey degrees of freedom for a t interval (Imbens & Kolesár
    /// 2016), at most `clusters - 1` in practice and far fewer when a few
    /// clusters carry the coefficient (few treated days).
    pub df: f64,
    pub clusters: usize,
}

/// Least squares `y ~ X` reduced to the last coefficient, with a CR2
/// standard error for rows correlated within clusters (`cluster[i]` names
/// row i's cluster) and Bell–McCaffrey degrees of freedom. `None` when the
/// last column is a combination of the others or there are fewer than two
/// clusters.
///
/// With `a_g` the cluster's part of the last row of `(X'X)^-1 X'` (the last
/// column of `Q_g` over `L_last,last`), the adjusted weights are
/// `w_g = (I - H_gg)^-1/2 a_g = a_g + Q_g f(M_g) Q_g' a_g` with
/// `f(λ) = ((1-λ)^-1/2 - 1)/λ`, and `Q_g' a_g` is the last column of `M_g`
/// over `L_last,last`. The variance is `Σ_g (w_g · e_g)²`. The degrees of
/// freedom are `(tr B)² / tr(B²)` for the `G x G` matrix
/// `B_gh = δ_gh |w_g|² - u_g·u_h` with `u_g = Q_g' w_g = Q_g' a_g + M_g f(M_g) Q_g' a_g`.
pub fn ols_last_cr2(x: &ColMajor, y: &[f64], cluster: &[u32]) -> Option<ClusteredCoefficient> {
    let n = x.rows();
    if cluster.len() != n || y.len() != n {
        return None;
    }
    let groups = ClusterRows::new(cluster);
    let grams = ClusterGrams::new(x, y, &groups);
    let (xx, xy) = grams.total();
    let fit = LastCoefficient::from_gram(x, y, &xx, &xy)?;
    let g = groups.len();
    if g < 2 {
        return None;
    }
    let kept = fit.kept_columns();
    let r = kept.len();
    let mut work = Work {
        l: fit.kept_factor(&kept),
        ..Work::default()
    };
    let l_last = work.l[r * r - 1];
    let mut u_all = Vec::with_capacity(g * r);
    let mut w_norms = Vec::with_capacity(g);
    let mut var = 0.0;
    for (k, rows) in groups.clusters().enumerate() {
        let contribution = if rows.len() < r {
            // Q_g, column-major `len x r`, from the cluster's rows of X.
            fit.orthonormal_rows(x, &kept, Some(rows), &mut work.q);
            work.adjust_in_rows(rows.len(), r, l_last);
            work.w
                .iter()
                .zip(rows)
                .map(|(w, &i)| w * fit.resid[i])
                .sum::<f64>()
        } else {
            grams.kept_block(k, &kept, &mut work.c);
            work.adjust_in_columns(r, l_last);
            // w_g = X_g d, so w_g · e_g = d · X_g' e_g.
            let resid = ClusterRows::stretch(rows, &fit.resid, &mut work.picked);
            let mut column = Vec::new();
            kept.iter()
                .zip(&work.d)
                .map(|(&j, d)| d * dot(ClusterRows::stretch(rows, x.col(j), &mut column), resid))
                .sum()
        };
        var += contribution * contribution;
        w_norms.push(work.w_norm);
        u_all.extend_from_slice(&work.u);
    }
    let (trace, trace_sq) = bell_mccaffrey_traces(&u_all, &w_norms);
    let df = if trace_sq > 0.0 {
        trace * trace / trace_sq
    } else {
        (g - 1) as f64
    };
    Some(ClusteredCoefficient {
        beta: fit.beta,
        se: var.sqrt(),
        df,
        clusters: g,
    })
}

/// Each cluster's Gram matrix of `[X, y]` (lower triangle, row by row), so
/// that the whole `X'X` and `X'y` are their sums and a cluster's `X_g'X_g`
/// is at hand later without another pass over its rows.
struct ClusterGrams {
    /// Columns of `[X, y]`.
    k: usize,
    packed: Vec<f64>,
}

impl ClusterGrams {
    fn new(x: &ColMajor, y: &[f64], groups: &ClusterRows) -> ClusterGrams {
        let p = x.cols();
        let k = p + 1;
        let mut packed = Vec::with_capacity(groups.len() * k * (k + 1) / 2);
        let mut g = vec![0.0; k * k];
        let mut block = Vec::new();
        for rows in groups.clusters() {
            let len = rows.len();
            let cols: Vec<&[f64]> = if let Some(range) = ClusterRows::one_stretch(rows) {
                (0..p)
                    .map(|c| &x.col(c)[range.clone()])
                    .chain([&y[range.clone()]])
                    .collect()
            } else {
                block.clear();
                for c in 0..p {
                    let col = x.col(c);
                    block.extend(rows.iter().map(|&i| col[i]));
                }
                block.extend(rows.iter().map(|&i| y[i]));
                block.chunks_exact(len).collect()
            };
            gram_of(&cols, &mut g);
            for i in 0..k {
                packed.extend_from_slice(&g[i * k..i * k + i + 1]);
            }
        }
        ClusterGrams { k, packed }
    }

    fn triangle(&self) -> usize {
        self.k * (self.k + 1) / 2
    }

    /// `X'X` (row-major) and `X'y`, summed over the clusters.
    fn total(&self) -> (Vec<f64>, Vec<f64>) {
        let k = self.k;
        let mut sum = vec![0.0; self.triangle()];
        for block in self.packed.chunks_exact(self.triangle()) {
            for (s, v) in sum.iter_mut().zip(block) {
                *s += v;
            }
        }
        let p = k - 1;
        let mut xx = vec![0.0; p * p];
        let mut at = 0;
        for i in 0..p {
            for j in 0..=i {
                xx[i * p + j] = sum[at + j];
                xx[j * p + i] = sum[at + j];
            }
            at += i + 1;
        }
        // The last packed row is `y' [X, y]`.
        let xy = sum[at..at + p].to_vec();
        (xx, xy)
    }

    /// Cluster `g`'s `X_g'X_g` on the `kept` columns, row-major, into `out`.
    fn kept_block(&self, g: usize, kept: &[usize], out: &mut Vec<f64>) {
        let block = &self.packed[g * self.triangle()..(g + 1) * self.triangle()];
        let r = kept.len();
        out.resize(r * r, 0.0);
        for (a, &i) in kept.iter().enumerate() {
            let row = &block[i * (i + 1) / 2..];
            for (b, &j) in kept[..=a].iter().enumerate() {
                out[a * r + b] = row[j];
                out[b * r + a] = row[j];
            }
        }
    }
}

/// Buffers reused from one cluster to the next.
#[derive(Default)]
struct Work {
    /// `L_k`, the Cholesky factor of the kept columns' `X'X`, row-major.
    l: Vec<f64>,
    /// `Q_g`, column-major `len x r` (small clusters).
    q: Vec<f64>,
    /// `X_g'X_g` on the kept columns, then `T = L_k^-1 X_g'X_g` (large clusters).
    c: Vec<f64>,
    /// `X_g'X_g` on the kept columns, kept.
    xx: Vec<f64>,
    /// `M_g` (large clusters) or `H_gg = Q_g Q_g'` (small ones).
    gram: Vec<f64>,
    v: Vec<f64>,
    coef: Vec<f64>,
    series: SeriesWork,
    /// The cluster's adjusted weights `w_g` (small clusters).
    w: Vec<f64>,
    /// `w_g = X_g d` (large clusters).
    d: Vec<f64>,
    /// A cluster's residuals, when its rows are not one stretch.
    picked: Vec<f64>,
    w_norm: f64,
    /// `u_g = Q_g' w_g`.
    u: Vec<f64>,
}

impl Work {
    /// `w_g`, `|w_g|²` and `u_g` for a cluster of fewer rows than kept
    /// columns, whose `Q_g` (`len x r`) is in `q`: the correction's matrix
    /// function is taken on the `len x len` matrix `H_gg = Q_g Q_g'` (it
    /// shares its non-zero eigenvalues with `M_g`), as
    /// `w = a + f(H) H a`.
    fn adjust_in_rows(&mut self, len: usize, r: usize, l_last: f64) {
        let Work {
            q,
            gram,
            v,
            coef,
            series,
            w,
            u,
            w_norm,
            ..
        } = self;
        let col = |a: usize| &q[a * len..(a + 1) * len];
        // a_g, the cluster's part of the last row of (X'X)^-1 X'.
        w.clear();
        w.extend(col(r - 1).iter().map(|x| x / l_last));
        gram.clear();
        gram.resize(len * len, 0.0);
        for a in 0..r {
            let qa = col(a);
            for (i, x) in qa.iter().enumerate() {
                for (h, y) in gram[i * len..(i + 1) * len].iter_mut().zip(qa) {
                    *h += x * y;
                }
            }
        }
        v.resize(len, 0.0);
        symmetric_mul(gram, len, w, v);
        coef.resize(len, 0.0);
        inverse_sqrt_correction(gram, len, v, coef, series);
        for (wi, c) in w.iter_mut().zip(coef.iter()) {
            *wi += c;
        }
        *w_norm = dot(w, w);
        u.clear();
        u.extend((0..r).map(|a| dot(col(a), w)));
    }

    /// `d` (with `w_g = X_g d`), `|w_g|²` and `u_g` for a cluster of at least
    /// as many rows as kept columns, from its `X_g'X_g` in `c`, without
    /// touching its rows: `M_g = L_k^-1 X_g'X_g L_k^-T`, and
    /// `w_g = a_g + Q_g f(M) Q_g' a_g = X_g L_k^-T (e_r / L_rr + f(M) v)`
    /// with `v = Q_g' a_g` the last column of `M_g` over `L_rr`.
    fn adjust_in_columns(&mut self, r: usize, l_last: f64) {
        let Work {
            l,
            c,
            xx,
            gram,
            v,
            coef,
            series,
            d,
            u,
            w_norm,
            ..
        } = self;
        // M = L^-1 C L^-T = L^-1 (L^-1 C)' for C = X_g'X_g (kept), C symmetric.
        xx.clear();
        xx.extend_from_slice(c);
        forward_substitute(l, r, c, false);
        gram.resize(r * r, 0.0);
        for i in 0..r {
            for j in i..r {
                gram[i * r + j] = c[j * r + i];
            }
        }
        forward_substitute(l, r, gram, true);
        for i in 0..r {
            for j in 0..i {
                gram[i * r + j] = gram[j * r + i];
            }
        }
        v.clear();
        v.extend((0..r).map(|a| gram[a * r + r - 1] / l_last));
        coef.resize(r, 0.0);
        inverse_sqrt_correction(gram, r, v, coef, series);
        // d = L^-T (e_r / L_rr + coef), by back substitution.
        d.clear();
        d.extend_from_slice(coef);
        d[r - 1] += 1.0 / l_last;
        for i in (0..r).rev() {
            let mut s = d[i];
            for k in i + 1..r {
                s -= l[k * r + i] * d[k];
            }
            d[i] = s / l[i * r + i];
        }
        // |w|² = d' X_g'X_g d.
        *w_norm = (0..r).map(|i| d[i] * dot(&xx[i * r..(i + 1) * r], d)).sum();
        // u = Q_g' w = v + M coef.
        u.resize(r, 0.0);
        symmetric_mul(gram, r, coef, u);
        for (ui, vi) in u.iter_mut().zip(v.iter()) {
            *ui += vi;
        }
    }
}

/// `B := L^-1 B` for a lower triangular row-major `r x r` `L` and a
/// row-major `r x r` `B`, row by row: each step subtracts whole earlier rows,
/// which vectorises, where solving one column at a time waits on every
/// previous entry. With `upper`, only entries on and above the diagonal are
/// made (each needs only those of earlier rows): enough when the result is
/// known to be symmetric.
fn forward_substitute(l: &[f64], r: usize, b: &mut [f64], upper: bool) {
    for i in 0..r {
        let from = if upper { i } else { 0 };
        let (done, rest) = b.split_at_mut(i * r);
        let bi = &mut rest[from..r];
        for (k, lik) in l[i * r..i * r + i].iter().enumerate() {
            for (x, xk) in bi.iter_mut().zip(&done[k * r + from..(k + 1) * r]) {
                *x -= lik * xk;
            }
        }
        let inv = 1.0 / l[i * r + i];
        for x in bi.iter_mut() {
            *x *= inv;
        }
    }
}

/// `out = S x` for a symmetric row-major `d x d` matrix `S`, as a sum of
/// its rows: contiguous passes that vectorise, with no sums across a row.
fn symmetric_mul(s: &[f64], d: usize, x: &[f64], out: &mut [f64]) {
    out.fill(0.0);
    for (row, xb) in s.chunks_exact(d).zip(x) {
        for (o, sb) in out.iter_mut().zip(row) {
            *o += xb * sb;
        }
    }
}

/// `(tr B, tr B²)` for the Bell–McCaffrey matrix `B_gh = δ_gh |w_g|² - u_g·u_h`
/// (`u` row-major, one `u_g` per row). The products `u_g·u_h` of one g with
/// every later h are built component by component on a transposed copy, so
/// the inner loop runs along contiguous memory.
fn bell_mccaffrey_traces(u: &[f64], w_norms: &[f64]) -> (f64, f64) {
    let g = w_norms.len();
    let r = u.len() / g.max(1);
    let mut by_component = vec![0.0; r * g];
    for (h, uh) in u.chunks_exact(r.max(1)).enumerate() {
        for (k, x) in uh.iter().enumerate() {
            by_component[k * g + h] = *x;
        }
    }
    let mut off = vec![0.0; g];
    let (mut trace, mut trace_sq) = (0.0, 0.0);
    for (a, ua) in u.chunks_exact(r.max(1)).enumerate() {
        let later = &mut off[a + 1..];
        later.fill(0.0);
        for k in 0..r {
            let x = by_component[k * g + a];
            for (o, y) in later.iter_mut().zip(&by_component[k * g + a + 1..(k + 1) * g]) {
                *o += x * y;
            }
        }
        let diag = w_norms[a] - dot(ua, ua);
        trace += diag;
        trace_sq += diag * diag + 2.0 * dot(later, later);
    }
    (trace, trace_sq)
}

/// Row indices grouped by cluster (clusters by id, rows in their original
/// order within one) and where each cluster's stretch ends.
struct ClusterRows {
    rows: Vec<usize>,
    ends: Vec<usize>,
}

impl ClusterRows {
    fn new(cluster: &[u32]) -> ClusterRows {
        let n = cluster.len();
        let ids = cluster.iter().map(|&c| c as usize).max().map_or(0, |m| m + 1);
        let mut rows = Vec::with_capacity(n);
        let mut ends = Vec::new();
        if ids <= n {
            // Dense ids (as data preparation makes them): a counting sort.
            let mut counts = vec![0usize; ids];
            for &c in cluster {
                counts[c as usize] += 1;
            }
            let mut next = Vec::with_capacity(ids);
            let mut at = 0;
            for &c in &counts {
                next.push(at);
                at += c;
                if c > 0 {
                    ends.push(at);
                }
            }
            rows.resize(n, 0);
            for (i, &c) in cluster.iter().enumerate() {
                rows[next[c as usize]] = i;
                next[c as usize] += 1;
            }
        } else {
            rows.extend(0..n);
            rows.sort_by_key(|&i| cluster[i]);
            for (k, pair) in rows.windows(2).enumerate() {
                if cluster[pair[0]] != cluster[pair[1]] {
                    ends.push(k + 1);
                }
            }
            if n > 0 {
                ends.push(n);
            }
        }
        ClusterRows { rows, ends }
    }

    fn len(&self) -> usize {
        self.ends.len()
    }

    /// `values` at one cluster's `rows`: a slice of `values` when the rows
    /// are one stretch (a day's rows usually follow each other), else
    /// gathered into `buffer`.
    fn stretch<'a>(rows: &[usize], values: &'a [f64], buffer: &'a mut Vec<f64>) -> &'a [f64] {
        if let Some(range) = ClusterRows::one_stretch(rows) {
            return &values[range];
        }
        buffer.clear();
        buffer.extend(rows.iter().map(|&i| values[i]));
        buffer
    }

    /// The rows as a range, when they follow each other.
    fn one_stretch(rows: &[usize]) -> Option<std::ops::Range<usize>> {
        let (first, last) = (*rows.first()?, *rows.last()?);
        (last - first + 1 == rows.len()).then_some(first..last + 1)
    }

    /// Each cluster's rows.
    fn clusters(&self) -> impl Iterator<Item = &[usize]> + '_ {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts.zip(&self.ends).map(|(s, &e)| &self.rows[s..e])
    }
}

/// Buffers of the power series, kept across clusters.
#[derive(Default)]
struct SeriesWork {
    power: Vec<f64>,
    next: Vec<f64>,
}

/// `out = f(M) v` with `f(λ) = ((1-λ)^-1/2 - 1)/λ`, for the symmetric
/// positive semi-definite `M = Q_g' Q_g` (row-major `r x r`, eigenvalues in
/// [0, 1)): what turns `Q_g' a` into the CR2 correction. When the largest
/// eigenvalue is safely below one (bounded by the Frobenius norm), the
/// power series `Σ b_j M^j v` with `b_0 = 1/2, b_j = b_{j-1} (2j+1)/(2j+2)`
/// converges fast — a cluster of a day among many carries little leverage —
/// and costs a few matrix–vector products; otherwise an eigendecomposition
/// does it exactly.
fn inverse_sqrt_correction(m: &[f64], r: usize, v: &[f64], out: &mut [f64], work: &mut SeriesWork) {
    /// Series beyond this bound would need more than about 130 terms, and
    /// the eigendecomposition is cheaper.
    const SERIES_LIMIT: f64 = 0.8;
    /// Terms are added until they fall below this share of the first.
    const SERIES_TOL: f64 = 1e-13;
    let bound = dot(m, m).sqrt();
    if bound <= SERIES_LIMIT {
        for (o, x) in out.iter_mut().zip(v) {
            *o = 0.5 * x;
        }
        let SeriesWork { power, next } = work;
        power.clear();
        power.extend_from_slice(v);
        next.resize(r, 0.0);
        let mut b = 0.5;
        let mut scale = 1.0;
        let mut j = 1.0;
        while b * scale > SERIES_TOL && j < 500.0 {
            symmetric_mul(m, r, power, next);
            std::mem::swap(power, next);
            b *= (2.0 * j + 1.0) / (2.0 * j + 2.0);
            scale *= bound;
            for (o, p) in out.iter_mut().zip(power.iter()) {
                *o += b * p;
            }
            j += 1.0;
        }
        return;
    }
    let (lambda, vecs) = symmetric_eigen(m, r);
    out.fill(0.0);
    for (k, lam) in lambda.iter().enumerate() {
        let proj: f64 = (0..r).map(|a| vecs[a * r + k] * v[a]).sum();
        let lam = lam.clamp(0.0, 1.0 - LEVERAGE_CLAMP);
        let scale = if lam < 1e-12 {
            0.5
        } else {
            ((1.0 - lam).powf(-0.5) - 1.0) / lam
        };
        for a in 0..r {
            out[a] += vecs[a * r + k] * scale * proj;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linalg::{sandwich, Matrix, Ols};

    /// `x' A x` for symmetric `A`.
    fn quad_form(a: &[f64], x: &[f64], p: usize) -> f64 {
        (0..p).map(|i| x[i] * dot(&a[i * p..(i + 1) * p], x)).sum()
    }

    /// A design with an intercept, two covariates and a treatment last.
    fn clustered_example(n: usize) -> (Matrix, Vec<f64>) {
        let mut data = Vec::new();
        let mut y = Vec::new();
        for i in 0..n {
            let f = i as f64;
            let (x1, x2) = ((f * 0.37).sin(), (f * 0.11).cos());
            let t = if (f * 0.7).sin() > 0.3 { 1.0 } else { 0.0 };
            data.extend_from_slice(&[1.0, x1, x2, t]);
            y.push(0.5 * x1 - x2 + 0.3 * t + 0.2 * (f * 1.3).sin() * (1.0 + t));
        }
        (Matrix::from_vec(n, 4, data), y)
    }

    #[test]
    fn the_cr2_series_matches_the_eigendecomposition() {
        // M = B'B / 4 for a fixed 3 x 3 B: symmetric, positive semi-definite, norm < 0.8.
        let b = [0.5, 0.1, -0.2, 0.3, 0.6, 0.1, -0.1, 0.2, 0.4];
        let mut m = vec![0.0; 9];
        for i in 0..3 {
            for j in 0..3 {
                m[i * 3 + j] = (0..3).map(|k| b[k * 3 + i] * b[k * 3 + j]).sum::<f64>() / 4.0;
            }
        }
        let v = [0.3, -1.0, 0.7];
        let mut series = [0.0; 3];
        inverse_sqrt_correction(&m, 3, &v, &mut series, &mut SeriesWork::default());
        let (lambda, vecs) = symmetric_eigen(&m, 3);
        for i in 0..3 {
            let exact: f64 = (0..3)
                .map(|k| {
                    let proj: f64 = (0..3).map(|a| vecs[a * 3 + k] * v[a]).sum();
                    vecs[i * 3 + k] * ((1.0 - lambda[k]).powf(-0.5) - 1.0) / lambda[k] * proj
                })
                .sum();
            assert!((series[i] - exact).abs() < 1e-12, "{i}: {} vs {exact}", series[i]);
        }
    }

    #[test]
    fn cr2_with_one_row_per_cluster_is_hc2() {
        let (x, y) = clustered_example(30);
        let ids: Vec<u32> = (0..30).collect();
        let fit = ols_last_cr2(&ColMajor::new(&x), &y, &ids).expect("fit");
        let ols = Ols::fit(&x, &y);
        let p = 4;
        let w: Vec<f64> = (0..30)
            .map(|r| {
                let h = quad_form(&ols.xtx_inv, x.row(r), p);
                ols.resid[r] * ols.resid[r] / (1.0 - h)
            })
            .collect();
        let hc2 = sandwich(&ols.xtx_inv, &x.gram(Some(&w)), p);
        assert!((fit.beta - ols.beta[3]).abs() < 1e-12);
        assert!(
            (fit.se - hc2[15].sqrt()).abs() < 1e-10,
            "{} vs {}",
            fit.se,
            hc2[15].sqrt()
        );
        assert_eq!(fit.clusters, 30);
        assert!(fit.df > 1.0 && fit.df < 29.0, "{}", fit.df);
    }

    #[test]
    fn cr2_reference_on_paired_clusters() {
        // Clusters of two rows: the adjusted residuals are (I - H_gg)^-1/2 e_g,
        // computed here with a 2 x 2 eigendecomposition by hand.
        let (x, y) = clustered_example(24);
        let ids: Vec<u32> = (0..24).map(|i| i / 2).collect();
        let fit = ols_last_cr2(&ColMajor::new(&x), &y, &ids).expect("fit");
        let ols = Ols::fit(&x, &y);
        let p = 4;
        let mut var = 0.0;
        for g in 0..12 {
            let (a, b) = (2 * g, 2 * g + 1);
            let h = |i: usize, j: usize| {
                (0..p)
                    .map(|r| x.row(i)[r] * dot(&ols.xtx_inv[r * p..(r + 1) * p], x.row(j)))
                    .sum::<f64>()
            };
            // M = I - H_gg, symmetric 2 x 2.
            let (m11, m12, m22) = (1.0 - h(a, a), -h(a, b), 1.0 - h(b, b));
            let (vals, vecs) = symmetric_eigen(&[m11, m12, m12, m22], 2);
            let mut inv_sqrt = [0.0; 4];
            for k in 0..2 {
                for i in 0..2 {
                    for j in 0..2 {
                        inv_sqrt[i * 2 + j] += vecs[i * 2 + k] * vecs[j * 2 + k] / vals[k].sqrt();
                    }
                }
            }
            let e = [ols.resid[a], ols.resid[b]];
            let adj = [
                inv_sqrt[0] * e[0] + inv_sqrt[1] * e[1],
                inv_sqrt[2] * e[0] + inv_sqrt[3] * e[1],
            ];
            // Row of (X'X)^-1 X' for the last coefficient.
            let c = |i: usize| dot(&ols.xtx_inv[3 * p..4 * p], x.row(i));
            let s = c(a) * adj[0] + c(b) * adj[1];
            var += s * s;
        }
        assert!(
            (fit.se - var.sqrt()).abs() < 1e-10,
            "{} vs {}",
            fit.se,
            var.sqrt()
        );
        assert_eq!(fit.clusters, 12);
    }

    #[test]
    fn cluster_ids_need_not_be_dense_or_sorted() {
        let (x, y) = clustered_example(40);
        let dense: Vec<u32> = (0..40).map(|i| (i * 7 % 40) / 4).collect();
        let sparse: Vec<u32> = dense.iter().map(|&c| 1_000_000 - 9_999 * c).collect();
        let cm = ColMajor::new(&x);
        let a = ols_last_cr2(&cm, &y, &dense).expect("dense");
        let b = ols_last_cr2(&cm, &y, &sparse).expect("sparse");
        assert_eq!(a.clusters, 10);
        assert_eq!(b.clusters, 10);
        assert!((a.se - b.se).abs() < 1e-14 * a.se, "{} vs {}", a.se, b.se);
        assert!((a.df - b.df).abs() < 1e-12 * a.df, "{} vs {}", a.df, b.df);
        // One cluster has no spread to estimate from.
        assert!(ols_last_cr2(&cm, &y, &[3; 40]).is_none());
    }
}
