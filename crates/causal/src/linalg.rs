//! Owns the small dense linear algebra: row-major matrices, a Cholesky
//! factorisation that drops dependent columns, and least squares with robust
//! (HC3 / HC1) covariances.
//!
//! Problems here are tiny (a handful of columns, tens to thousands of rows),
//! so normal equations on standardised columns are accurate enough and much
//! cheaper than a full QR; the factorisation skips pivots that fall below a
//! relative tolerance, which is how collinear and constant columns are found.

// Index loops mirror the textbook formulas and read better than iterator
// chains for triangular solves.
#![allow(clippy::needless_range_loop)]

/// A pivot smaller than this fraction of the column's own squared norm means
/// the column is (numerically) a combination of the earlier ones: on the
/// Gram matrix this corresponds to a relative residual of about 1e-5.
pub const PIVOT_REL_TOL: f64 = 1e-10;

/// Leverage values this close to one are clamped so HC3 never divides by zero.
const LEVERAGE_CLAMP: f64 = 1e-8;

/// Dense row-major matrix.
#[derive(Debug, Clone, PartialEq)]
pub struct Matrix {
    rows: usize,
    cols: usize,
    data: Vec<f64>,
}

impl Matrix {
    /// Wraps row-major data; `data.len()` must equal `rows * cols`.
    pub fn from_vec(rows: usize, cols: usize, data: Vec<f64>) -> Self {
        debug_assert_eq!(data.len(), rows * cols);
        Matrix { rows, cols, data }
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn cols(&self) -> usize {
        self.cols
    }

    pub fn get(&self, r: usize, c: usize) -> f64 {
        self.data[r * self.cols + c]
    }

    pub fn row(&self, r: usize) -> &[f64] {
        &self.data[r * self.cols..(r + 1) * self.cols]
    }

    /// Column `c` copied out.
    pub fn column(&self, c: usize) -> Vec<f64> {
        (0..self.rows).map(|r| self.get(r, c)).collect()
    }

    /// Rows picked by index (repeats allowed, as in a bootstrap draw).
    pub fn select_rows(&self, idx: &[usize]) -> Matrix {
        let mut data = Vec::with_capacity(idx.len() * self.cols);
        for &i in idx {
            data.extend_from_slice(self.row(i));
        }
        Matrix::from_vec(idx.len(), self.cols, data)
    }

    /// Columns picked by index.
    pub fn select_cols(&self, idx: &[usize]) -> Matrix {
        let mut data = Vec::with_capacity(self.rows * idx.len());
        for r in 0..self.rows {
            let row = self.row(r);
            data.extend(idx.iter().map(|&c| row[c]));
        }
        Matrix::from_vec(self.rows, idx.len(), data)
    }

    /// Appends one column.
    pub fn push_column(&self, col: &[f64]) -> Matrix {
        let cols = self.cols + 1;
        let mut data = Vec::with_capacity(self.rows * cols);
        for r in 0..self.rows {
            data.extend_from_slice(self.row(r));
            data.push(col[r]);
        }
        Matrix::from_vec(self.rows, cols, data)
    }

    /// `[1, extra..., self]`: an intercept, then the given leading columns,
    /// then the matrix itself.
    pub fn with_leading(&self, leading: &[&[f64]]) -> Matrix {
        let cols = 1 + leading.len() + self.cols;
        let mut data = Vec::with_capacity(self.rows * cols);
        for r in 0..self.rows {
            data.push(1.0);
            for l in leading {
                data.push(l[r]);
            }
            data.extend_from_slice(self.row(r));
        }
        Matrix::from_vec(self.rows, cols, data)
    }

    /// `X' diag(w) X` (symmetric, row-major `cols x cols`), computed on a
    /// column-major copy so each entry is one long, vectorisable dot
    /// product; this is the hot loop of every fit.
    pub fn gram(&self, w: Option<&[f64]>) -> Vec<f64> {
        let cm = ColMajor::new(self);
        match w {
            Some(w) => cm.gram_weighted(w),
            None => cm.gram(),
        }
    }

    /// `X' diag(w) v`.
    pub fn t_mul(&self, v: &[f64], w: Option<&[f64]>) -> Vec<f64> {
        let mut out = vec![0.0; self.cols];
        for r in 0..self.rows {
            let s = v[r] * w.map_or(1.0, |w| w[r]);
            if s == 0.0 {
                continue;
            }
            for (o, x) in out.iter_mut().zip(self.row(r)) {
                *o += s * x;
            }
        }
        out
    }

    /// `X b`.
    pub fn mul_vec(&self, b: &[f64]) -> Vec<f64> {
        (0..self.rows).map(|r| dot(self.row(r), b)).collect()
    }
}

/// A matrix stored column by column, for loops that run down columns
/// (weighted Gram matrices, `X b`, `X' v`) many times on the same data, as
/// the propensity model's Newton iterations do.
#[derive(Debug, Clone)]
pub struct ColMajor {
    rows: usize,
    cols: usize,
    data: Vec<f64>,
}

impl ColMajor {
    pub fn new(m: &Matrix) -> ColMajor {
        let (n, p) = (m.rows, m.cols);
        let mut data = vec![0.0; n * p];
        for (r, row) in m.data.chunks_exact(p.max(1)).enumerate().take(n) {
            for (c, v) in row.iter().enumerate() {
                data[c * n + r] = *v;
            }
        }
        ColMajor {
            rows: n,
            cols: p,
            data,
        }
    }

    /// Wraps column-major data; `data.len()` must equal `rows * cols`.
    pub fn from_column_data(rows: usize, cols: usize, data: Vec<f64>) -> ColMajor {
        debug_assert_eq!(data.len(), rows * cols);
        ColMajor { rows, cols, data }
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn cols(&self) -> usize {
        self.cols
    }

    fn col(&self, c: usize) -> &[f64] {
        &self.data[c * self.rows..(c + 1) * self.rows]
    }

    /// `X' diag(w) X`, row-major `cols x cols`.
    pub fn gram_weighted(&self, w: &[f64]) -> Vec<f64> {
        self.gram_impl(Some(w))
    }

    /// `X' X`, row-major `cols x cols`.
    pub fn gram(&self) -> Vec<f64> {
        self.gram_impl(None)
    }

    fn gram_impl(&self, w: Option<&[f64]>) -> Vec<f64> {
        let p = self.cols;
        let mut g = vec![0.0; p * p];
        let mut wc = vec![0.0; self.rows];
        for i in 0..p {
            let left: &[f64] = match w {
                Some(w) => {
                    for ((o, x), wr) in wc.iter_mut().zip(self.col(i)).zip(w) {
                        *o = x * wr;
                    }
                    &wc
                }
                None => self.col(i),
            };
            // Four columns per pass over `left`: each load of `left` then
            // feeds four multiply-adds instead of one, and loads, not
            // arithmetic, bound this loop.
            let mut j = 0;
            while j + 4 <= i + 1 {
                let v = dot4(
                    left,
                    [self.col(j), self.col(j + 1), self.col(j + 2), self.col(j + 3)],
                );
                for (d, vd) in v.into_iter().enumerate() {
                    g[i * p + j + d] = vd;
                    g[(j + d) * p + i] = vd;
                }
                j += 4;
            }
            for j in j..=i {
                let v = dot(left, self.col(j));
                g[i * p + j] = v;
                g[j * p + i] = v;
            }
        }
        g
    }

    /// `X b`.
    pub fn mul_vec(&self, b: &[f64]) -> Vec<f64> {
        let mut out = vec![0.0; self.rows];
        for (c, bc) in b.iter().enumerate().take(self.cols) {
            for (o, x) in out.iter_mut().zip(self.col(c)) {
                *o += bc * x;
            }
        }
        out
    }

    /// `X' v`.
    pub fn t_mul(&self, v: &[f64]) -> Vec<f64> {
        (0..self.cols).map(|c| dot(self.col(c), v)).collect()
    }
}

/// Dot product with eight running sums, so the compiler can keep several
/// vector multiply-adds in flight (a single sum forces strict order).
pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let ca = a.chunks_exact(8);
    let cb = b.chunks_exact(8);
    let (ra, rb) = (ca.remainder(), cb.remainder());
    let mut acc = [0.0; 8];
    for (x, y) in ca.zip(cb) {
        for l in 0..8 {
            acc[l] += x[l] * y[l];
        }
    }
    let mut s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
    for (x, y) in ra.iter().zip(rb) {
        s += x * y;
    }
    s
}

/// Four dot products `a · b[d]` in one pass over `a`, with two running
/// sums each (see [`dot`]); written as pairs so each pair is one vector
/// multiply-add.
fn dot4(a: &[f64], b: [&[f64]; 4]) -> [f64; 4] {
    let n = b.iter().fold(a.len(), |n, v| n.min(v.len()));
    let [b0, b1, b2, b3] = b.map(|v| &v[..n]);
    let a = &a[..n];
    let mut acc = [[0.0; 2]; 4];
    let pairs = a
        .chunks_exact(2)
        .zip(b0.chunks_exact(2))
        .zip(b1.chunks_exact(2))
        .zip(b2.chunks_exact(2))
        .zip(b3.chunks_exact(2));
    for ((((x, y0), y1), y2), y3) in pairs {
        for (acc, y) in acc.iter_mut().zip([y0, y1, y2, y3]) {
            acc[0] += x[0] * y[0];
            acc[1] += x[1] * y[1];
        }
    }
    let mut out = [0.0; 4];
    for (d, (o, acc)) in out.iter_mut().zip(acc).enumerate() {
        *o = acc[0] + acc[1];
        if n % 2 == 1 {
            *o += a[n - 1] * b.map(|v| v[n - 1])[d];
        }
    }
    out
}

/// Cholesky factor of a symmetric positive semi-definite matrix in which
/// columns that depend on earlier ones are skipped (their coefficients are
/// fixed at zero). Processing order is column order, so callers put the
/// columns they most want to keep (intercept, treatment) first.
#[derive(Debug, Clone)]
pub struct SpdFactor {
    p: usize,
    l: Vec<f64>,
    kept: Vec<bool>,
}

impl SpdFactor {
    /// Factorises `a` (row-major `p x p`).
    pub fn new(a: &[f64], p: usize) -> SpdFactor {
        let mut l = vec![0.0; p * p];
        let mut kept = vec![false; p];
        for j in 0..p {
            let ajj = a[j * p + j];
            let mut d = ajj;
            for k in 0..j {
                d -= l[j * p + k] * l[j * p + k];
            }
            if ajj.is_nan() || ajj <= 0.0 || d.is_nan() || d <= PIVOT_REL_TOL * ajj || !d.is_finite() {
                continue;
            }
            kept[j] = true;
            let djj = d.sqrt();
            l[j * p + j] = djj;
            for i in j + 1..p {
                let mut s = a[i * p + j];
                for k in 0..j {
                    s -= l[i * p + k] * l[j * p + k];
                }
                l[i * p + j] = s / djj;
            }
        }
        SpdFactor { p, l, kept }
    }

    /// Which columns survived.
    pub fn kept(&self) -> &[bool] {
        &self.kept
    }

    /// Solves `A x = b` on the kept columns; dropped entries are zero.
    pub fn solve(&self, b: &[f64]) -> Vec<f64> {
        let p = self.p;
        let mut y = vec![0.0; p];
        for i in 0..p {
            if !self.kept[i] {
                continue;
            }
            let mut s = b[i];
            for k in 0..i {
                if self.kept[k] {
                    s -= self.l[i * p + k] * y[k];
                }
            }
            y[i] = s / self.l[i * p + i];
        }
        let mut x = vec![0.0; p];
        for i in (0..p).rev() {
            if !self.kept[i] {
                continue;
            }
            let mut s = y[i];
            for k in i + 1..p {
                if self.kept[k] {
                    s -= self.l[k * p + i] * x[k];
                }
            }
            x[i] = s / self.l[i * p + i];
        }
        x
    }

    /// Inverse on the kept block (zeros elsewhere), row-major `p x p`.
    pub fn inverse(&self) -> Vec<f64> {
        let p = self.p;
        let mut inv = vec![0.0; p * p];
        let mut e = vec![0.0; p];
        for j in 0..p {
            if !self.kept[j] {
                continue;
            }
            e.iter_mut().for_each(|v| *v = 0.0);
            e[j] = 1.0;
            let col = self.solve(&e);
            for i in 0..p {
                inv[i * p + j] = col[i];
            }
        }
        inv
    }
}

/// Ordinary least squares fit.
#[derive(Debug, Clone)]
pub struct Ols {
    pub beta: Vec<f64>,
    pub resid: Vec<f64>,
    /// `(X'X)^-1` on the kept columns.
    pub xtx_inv: Vec<f64>,
    pub kept: Vec<bool>,
}

/// Least-squares coefficients only (no covariance), for the hot paths.
pub fn ols_coef(x: &Matrix, y: &[f64]) -> Vec<f64> {
    SpdFactor::new(&x.gram(None), x.cols()).solve(&x.t_mul(y, None))
}

impl Ols {
    pub fn fit(x: &Matrix, y: &[f64]) -> Ols {
        let p = x.cols();
        let f = SpdFactor::new(&x.gram(None), p);
        let beta = f.solve(&x.t_mul(y, None));
        let fitted = x.mul_vec(&beta);
        let resid = y.iter().zip(&fitted).map(|(a, b)| a - b).collect();
        Ols {
            beta,
            resid,
            xtx_inv: f.inverse(),
            kept: f.kept().to_vec(),
        }
    }

    pub fn rank(&self) -> usize {
        self.kept.iter().filter(|k| **k).count()
    }
}

/// Least squares `y ~ X` reduced to what regression adjustment reports: the
/// last coefficient and its HC3 standard error (MacKinnon & White 1985),
/// which inflates each squared residual by `1/(1-h_i)^2` and keeps coverage
/// close to nominal in the small samples this crate is built for. `None`
/// when the last column is a combination of the others.
///
/// With `X'X = L L'` and `Q = X L^-T` (built column by column, skipping
/// dropped columns), the leverage is `h_i = |q_i|²` and the last row of
/// `(X'X)^-1 X'` is `q_{i,last} / L_last,last`, so the HC3 variance of the
/// last coefficient is `Σ_i e_i² / (1-h_i)² · q_{i,last}² / L_last,last²`:
/// no inverse and no weighted Gram matrix, only what one coefficient needs.
pub fn ols_last_hc3(x: &Matrix, y: &[f64]) -> Option<(f64, f64)> {
    let cm = ColMajor::new(x);
    let (n, p) = (cm.rows, cm.cols);
    let last = p.checked_sub(1)?;
    let f = SpdFactor::new(&cm.gram(), p);
    if !f.kept[last] {
        return None;
    }
    let beta = f.solve(&cm.t_mul(y));
    let fitted = cm.mul_vec(&beta);
    let (q, lev) = orthonormal_columns(&cm, &f);
    let q_last = &q[last * n..];
    let mut var = 0.0;
    for i in 0..n {
        let e = y[i] - fitted[i];
        let denom = (1.0 - lev[i]).max(LEVERAGE_CLAMP);
        let a = q_last[i] / denom;
        var += e * e * a * a;
    }
    let l_last = f.l[last * p + last];
    Some((beta[last], var.sqrt() / l_last))
}

/// `Q = X L^-T` column by column (column-major `n x p`, zero for dropped
/// columns) and the leverages `h_i = |q_i|²`: Q's kept columns are
/// orthonormal and span X, so the hat matrix is `Q Q'`.
fn orthonormal_columns(cm: &ColMajor, f: &SpdFactor) -> (Vec<f64>, Vec<f64>) {
    let (n, p) = (cm.rows, cm.cols);
    let mut q = vec![0.0; n * p];
    let mut lev = vec![0.0; n];
    for j in 0..p {
        if !f.kept[j] {
            continue;
        }
        let (done, rest) = q.split_at_mut(j * n);
        let qj = &mut rest[..n];
        qj.copy_from_slice(cm.col(j));
        for k in 0..j {
            let ljk = f.l[j * p + k];
            if f.kept[k] && ljk != 0.0 {
                for (a, b) in qj.iter_mut().zip(&done[k * n..(k + 1) * n]) {
                    *a -= ljk * b;
                }
            }
        }
        let inv = 1.0 / f.l[j * p + j];
        for (a, h) in qj.iter_mut().zip(lev.iter_mut()) {
            *a *= inv;
            *h += *a * *a;
        }
    }
    (q, lev)
}

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
/// CR2 adjusts each cluster's residuals by `(I - H_gg)^-1/2`, which makes
/// the variance unbiased under independent homoskedastic errors; with few
/// clusters, or few that carry the coefficient, the normal interval of the
/// plain sandwich (CR0/CR1) covers far less than asked (Cameron & Miller
/// 2015; MacKinnon & Webb 2017), and the t with Bell–McCaffrey degrees of
/// freedom restores it (Pustejovsky & Tipton 2018).
///
/// Computed without any `n x n` matrix: with `Q = X L^-T` (see
/// [`ols_last_hc3`]) the cluster block of the hat matrix is `Q_g Q_g'`,
/// whose non-zero eigenvalues are those of the small `Q_g' Q_g = V Λ V'`,
/// so `(I - H_gg)^-1/2 a = a + Q_g V diag(((1-λ)^-1/2 - 1)/λ) V' Q_g' a`.
/// The degrees of freedom are `(tr B)² / tr(B²)` for the `G x G` matrix
/// `B_gh = δ_gh |w_g|² - u_g·u_h`, with `w_g` the adjusted weights of
/// cluster g and `u_g = Q_g' w_g`.
pub fn ols_last_cr2(x: &Matrix, y: &[f64], cluster: &[u32]) -> Option<ClusteredCoefficient> {
    let cm = ColMajor::new(x);
    let (n, p) = (cm.rows, cm.cols);
    let last = p.checked_sub(1)?;
    if cluster.len() != n {
        return None;
    }
    let f = SpdFactor::new(&cm.gram(), p);
    if !f.kept[last] {
        return None;
    }
    let beta = f.solve(&cm.t_mul(y));
    let fitted = cm.mul_vec(&beta);
    let (q, _) = orthonormal_columns(&cm, &f);
    let kept: Vec<usize> = (0..p).filter(|&j| f.kept[j]).collect();
    let r = kept.len();
    let l_last = f.l[last * p + last];
    let q_all = &q;
    let q_last = &q[last * n..(last + 1) * n];

    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&i| cluster[i]);
    let mut var = 0.0;
    let mut u_all: Vec<Vec<f64>> = Vec::new();
    let mut w_norms = Vec::new();
    let mut start = 0;
    while start < n {
        let id = cluster[order[start]];
        let end = start + order[start..].partition_point(|&i| cluster[i] == id);
        let rows = &order[start..end];
        start = end;
        // Q_g (rows x r), row-major.
        let qg: Vec<f64> = rows
            .iter()
            .flat_map(|&i| kept.iter().map(move |&j| q_all[j * n + i]))
            .collect();
        let mut m = vec![0.0; r * r];
        for row in qg.chunks_exact(r) {
            for a in 0..r {
                for b in a..r {
                    m[a * r + b] += row[a] * row[b];
                }
            }
        }
        for a in 0..r {
            for b in 0..a {
                m[a * r + b] = m[b * r + a];
            }
        }
        let a_g: Vec<f64> = rows.iter().map(|&i| q_last[i] / l_last).collect();
        let qa = t_mul_rows(&qg, &a_g, r);
        let coef = inverse_sqrt_correction(m, r, &qa);
        let w_g: Vec<f64> = qg
            .chunks_exact(r)
            .zip(&a_g)
            .map(|(row, a)| a + dot(row, &coef))
            .collect();
        let contribution: f64 = rows.iter().zip(&w_g).map(|(&i, w)| w * (y[i] - fitted[i])).sum();
        var += contribution * contribution;
        w_norms.push(w_g.iter().map(|w| w * w).sum::<f64>());
        u_all.push(t_mul_rows(&qg, &w_g, r));
    }
    let g = u_all.len();
    if g < 2 {
        return None;
    }
    let mut trace = 0.0;
    let mut trace_sq = 0.0;
    for a in 0..g {
        let diag = w_norms[a] - dot(&u_all[a], &u_all[a]);
        trace += diag;
        trace_sq += diag * diag;
        for b in a + 1..g {
            let off = dot(&u_all[a], &u_all[b]);
            trace_sq += 2.0 * off * off;
        }
    }
    let df = if trace_sq > 0.0 {
        trace * trace / trace_sq
    } else {
        (g - 1) as f64
    };
    Some(ClusteredCoefficient {
        beta: beta[last],
        se: var.sqrt(),
        df,
        clusters: g,
    })
}

/// `f(M) v` with `f(λ) = ((1-λ)^-1/2 - 1)/λ`, for the symmetric positive
/// semi-definite `M = Q_g' Q_g` (eigenvalues in [0, 1)): what turns `Q_g' a`
/// into the CR2 correction. When the largest eigenvalue is safely below one
/// (bounded by the Frobenius norm), the power series `Σ b_j M^j v` with
/// `b_0 = 1/2, b_j = b_{j-1} (2j+1)/(2j+2)` converges fast — a cluster of a
/// day among many carries little leverage — and costs a few matrix–vector
/// products; otherwise an eigendecomposition does it exactly.
fn inverse_sqrt_correction(m: Vec<f64>, r: usize, v: &[f64]) -> Vec<f64> {
    /// Series beyond this bound would need hundreds of terms.
    const SERIES_LIMIT: f64 = 0.8;
    /// Terms are added until they fall below this share of the first.
    const SERIES_TOL: f64 = 1e-13;
    let bound = m.iter().map(|x| x * x).sum::<f64>().sqrt();
    if bound <= SERIES_LIMIT {
        let mut out: Vec<f64> = v.iter().map(|x| 0.5 * x).collect();
        let mut power = v.to_vec();
        let mut next = vec![0.0; r];
        let mut b = 0.5;
        let mut scale = 1.0;
        let mut j = 1.0;
        while b * scale > SERIES_TOL && j < 500.0 {
            for (row, n) in m.chunks_exact(r).zip(next.iter_mut()) {
                *n = dot(row, &power);
            }
            std::mem::swap(&mut power, &mut next);
            b *= (2.0 * j + 1.0) / (2.0 * j + 2.0);
            scale *= bound;
            for (o, p) in out.iter_mut().zip(&power) {
                *o += b * p;
            }
            j += 1.0;
        }
        return out;
    }
    let (lambda, vecs) = symmetric_eigen(m, r);
    let mut coef = vec![0.0; r];
    for (k, lam) in lambda.iter().enumerate() {
        let proj: f64 = (0..r).map(|a| vecs[a * r + k] * v[a]).sum();
        let lam = lam.clamp(0.0, 1.0 - LEVERAGE_CLAMP);
        let scale = if lam < 1e-12 {
            0.5
        } else {
            ((1.0 - lam).powf(-0.5) - 1.0) / lam
        };
        for a in 0..r {
            coef[a] += vecs[a * r + k] * scale * proj;
        }
    }
    coef
}

/// `M' v` for a row-major `rows x r` matrix `M`.
fn t_mul_rows(m: &[f64], v: &[f64], r: usize) -> Vec<f64> {
    let mut out = vec![0.0; r];
    for (row, x) in m.chunks_exact(r).zip(v) {
        for (o, a) in out.iter_mut().zip(row) {
            *o += a * x;
        }
    }
    out
}

/// Eigenvalues and eigenvectors (columns of the row-major result) of a
/// small symmetric matrix, by cyclic Jacobi rotations: simple and accurate
/// to rounding for the ~20 x 20 blocks it is used on.
pub fn symmetric_eigen(mut a: Vec<f64>, r: usize) -> (Vec<f64>, Vec<f64>) {
    let mut v = vec![0.0; r * r];
    for i in 0..r {
        v[i * r + i] = 1.0;
    }
    for _sweep in 0..60 {
        let off: f64 = (0..r)
            .flat_map(|i| (i + 1..r).map(move |j| (i, j)))
            .map(|(i, j)| a[i * r + j] * a[i * r + j])
            .sum();
        let scale: f64 = (0..r).map(|i| a[i * r + i] * a[i * r + i]).sum::<f64>();
        if off <= 1e-30 * scale.max(1e-300) {
            break;
        }
        for pi in 0..r {
            for qi in pi + 1..r {
                let apq = a[pi * r + qi];
                if apq.abs() < 1e-300 {
                    continue;
                }
                let theta = (a[qi * r + qi] - a[pi * r + pi]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..r {
                    let akp = a[k * r + pi];
                    let akq = a[k * r + qi];
                    a[k * r + pi] = c * akp - s * akq;
                    a[k * r + qi] = s * akp + c * akq;
                }
                for k in 0..r {
                    let apk = a[pi * r + k];
                    let aqk = a[qi * r + k];
                    a[pi * r + k] = c * apk - s * aqk;
                    a[qi * r + k] = s * apk + c * aqk;
                }
                for k in 0..r {
                    let vkp = v[k * r + pi];
                    let vkq = v[k * r + qi];
                    v[k * r + pi] = c * vkp - s * vkq;
                    v[k * r + qi] = s * vkp + c * vkq;
                }
            }
        }
    }
    ((0..r).map(|i| a[i * r + i]).collect(), v)
}

/// `B M B` for symmetric `B` and `M`.
pub fn sandwich(b: &[f64], m: &[f64], p: usize) -> Vec<f64> {
    let mut bm = vec![0.0; p * p];
    for i in 0..p {
        for k in 0..p {
            let bik = b[i * p + k];
            if bik == 0.0 {
                continue;
            }
            for j in 0..p {
                bm[i * p + j] += bik * m[k * p + j];
            }
        }
    }
    let mut out = vec![0.0; p * p];
    for i in 0..p {
        for k in 0..p {
            let v = bm[i * p + k];
            if v == 0.0 {
                continue;
            }
            for j in 0..p {
                out[i * p + j] += v * b[k * p + j];
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solves_a_small_system() {
        let x = Matrix::from_vec(4, 2, vec![1.0, 0.0, 1.0, 1.0, 1.0, 2.0, 1.0, 3.0]);
        let y = [1.0, 3.0, 5.0, 7.0];
        let f = Ols::fit(&x, &y);
        assert!((f.beta[0] - 1.0).abs() < 1e-12);
        assert!((f.beta[1] - 2.0).abs() < 1e-12);
    }

    /// `x' A x` for symmetric `A`.
    fn quad_form(a: &[f64], x: &[f64], p: usize) -> f64 {
        (0..p).map(|i| x[i] * dot(&a[i * p..(i + 1) * p], x)).sum()
    }

    /// The full HC3 covariance, computed the textbook way.
    fn hc3_reference(x: &Matrix, y: &[f64]) -> Vec<f64> {
        let ols = Ols::fit(x, y);
        let p = x.cols();
        let w: Vec<f64> = (0..x.rows())
            .map(|r| {
                let h = quad_form(&ols.xtx_inv, x.row(r), p);
                let denom = (1.0 - h).max(LEVERAGE_CLAMP);
                ols.resid[r] * ols.resid[r] / (denom * denom)
            })
            .collect();
        sandwich(&ols.xtx_inv, &x.gram(Some(&w)), p)
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
        let series = inverse_sqrt_correction(m.clone(), 3, &v);
        let (lambda, vecs) = symmetric_eigen(m, 3);
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
        let fit = ols_last_cr2(&x, &y, &ids).expect("fit");
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
        let fit = ols_last_cr2(&x, &y, &ids).expect("fit");
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
            let (vals, vecs) = symmetric_eigen(vec![m11, m12, m12, m22], 2);
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
    fn last_coefficient_hc3_matches_the_full_sandwich() {
        // Columns: intercept, x1, a copy of x1 (dropped), x2, treatment.
        let n = 40;
        let mut data = Vec::new();
        let mut y = Vec::new();
        for i in 0..n {
            let f = i as f64;
            let x1 = (f * 0.37).sin();
            let x2 = (f * 1.3).cos() + 0.1 * f;
            let t = f64::from(u8::from((f * 0.71).sin() + 0.3 * x1 > 0.0));
            data.extend([1.0, x1, 2.0 * x1, x2, t]);
            y.push(1.0 + 0.5 * x1 - x2 + 0.8 * t + 0.3 * (f * 2.9).sin() * (1.0 + t));
        }
        let x = Matrix::from_vec(n, 5, data);
        let full = hc3_reference(&x, &y);
        let beta = Ols::fit(&x, &y).beta[4];
        let (b, se) = ols_last_hc3(&x, &y).unwrap();
        assert!((b - beta).abs() < 1e-10, "{b} vs {beta}");
        assert!(
            (se - full[4 * 5 + 4].sqrt()).abs() < 1e-10,
            "{se} vs {}",
            full[24].sqrt()
        );
        // A treatment equal to another column is reported, not fitted.
        let dup = Matrix::from_vec(
            4,
            3,
            vec![1.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 1.0],
        );
        assert!(ols_last_hc3(&dup, &[1.0, 2.0, 3.0, 4.0]).is_none());
    }

    #[test]
    fn drops_a_duplicate_column() {
        let x = Matrix::from_vec(
            4,
            3,
            vec![1.0, 0.0, 0.0, 1.0, 1.0, 2.0, 1.0, 2.0, 4.0, 1.0, 3.0, 6.0],
        );
        let f = SpdFactor::new(&x.gram(None), 3);
        assert_eq!(f.kept(), &[true, true, false]);
    }
}
