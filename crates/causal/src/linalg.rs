//! Owns the small dense linear algebra: row- and column-major matrices and
//! their Gram matrices, a Cholesky factorisation that drops dependent
//! columns, least squares with robust (HC3 / HC1) covariances, and the
//! eigendecomposition of small symmetric matrices.
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
pub(crate) const LEVERAGE_CLAMP: f64 = 1e-8;

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

    pub fn cols(&self) -> usize {
        self.cols
    }

    pub fn row(&self, r: usize) -> &[f64] {
        &self.data[r * self.cols..(r + 1) * self.cols]
    }

    /// Rows picked by index (repeats allowed, as in a bootstrap draw).
    pub fn select_rows(&self, idx: &[usize]) -> Matrix {
        let mut data = Vec::with_capacity(idx.len() * self.cols);
        for &i in idx {
            data.extend_from_slice(self.row(i));
        }
        Matrix::from_vec(idx.len(), self.cols, data)
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

    pub fn col(&self, c: usize) -> &[f64] {
        &self.data[c * self.rows..(c + 1) * self.rows]
    }

    /// Rows picked by index (repeats allowed, as in a bootstrap draw).
    pub fn select_rows(&self, idx: &[usize]) -> ColMajor {
        let mut data = Vec::with_capacity(idx.len() * self.cols);
        for c in 0..self.cols {
            let col = self.col(c);
            data.extend(idx.iter().map(|&i| col[i]));
        }
        ColMajor::from_column_data(idx.len(), self.cols, data)
    }

    /// Columns picked by index.
    pub fn select_cols(&self, idx: &[usize]) -> ColMajor {
        let mut data = Vec::with_capacity(self.rows * idx.len());
        for &c in idx {
            data.extend_from_slice(self.col(c));
        }
        ColMajor::from_column_data(self.rows, idx.len(), data)
    }

    /// Appends one column.
    pub fn push_column(&self, col: &[f64]) -> ColMajor {
        let mut data = Vec::with_capacity(self.data.len() + self.rows);
        data.extend_from_slice(&self.data);
        data.extend_from_slice(&col[..self.rows]);
        ColMajor::from_column_data(self.rows, self.cols + 1, data)
    }

    /// `[1, leading..., self]` column by column: an intercept, then the
    /// given leading columns, then the matrix itself.
    pub fn with_leading(&self, leading: &[&[f64]]) -> ColMajor {
        let n = self.rows;
        let mut data = Vec::with_capacity(n * (1 + leading.len() + self.cols));
        data.resize(n, 1.0);
        for l in leading {
            data.extend_from_slice(&l[..n]);
        }
        data.extend_from_slice(&self.data);
        ColMajor::from_column_data(n, 1 + leading.len() + self.cols, data)
    }

    /// The same matrix stored row by row.
    pub fn to_rows(&self) -> Matrix {
        let (n, p) = (self.rows, self.cols);
        let mut data = vec![0.0; n * p];
        for c in 0..p {
            for (r, v) in self.col(c).iter().enumerate() {
                data[r * p + c] = *v;
            }
        }
        Matrix::from_vec(n, p, data)
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
        let cols = self.columns();
        let mut g = vec![0.0; p * p];
        let Some(w) = w else {
            gram_of(&cols, &mut g);
            return g;
        };
        let mut weighted = Vec::with_capacity(self.data.len());
        for c in &cols {
            weighted.extend(c.iter().zip(w).map(|(x, wr)| x * wr));
        }
        let left: Vec<&[f64]> = weighted.chunks_exact(self.rows.max(1)).collect();
        symmetric_product(&left, &cols, &mut g);
        g
    }

    /// Each column as a slice.
    pub fn columns(&self) -> Vec<&[f64]> {
        (0..self.cols).map(|c| self.col(c)).collect()
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

/// `Σ v·0`: zero when every value is finite, NaN otherwise.
pub fn sum_of_zeros(a: &[f64]) -> f64 {
    sum_of(a, |x| x * 0.0)
}

/// Sum with eight running sums, for the same reason as [`dot`].
#[inline]
pub fn sum(a: &[f64]) -> f64 {
    sum_of(a, |x| x)
}

/// `Σ f(a_i)` with eight running sums.
#[inline]
fn sum_of(a: &[f64], f: impl Fn(f64) -> f64) -> f64 {
    let chunks = a.chunks_exact(8);
    let rest = chunks.remainder();
    let mut acc = [0.0; 8];
    for x in chunks {
        for l in 0..8 {
            acc[l] += f(x[l]);
        }
    }
    let mut s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
    for x in rest {
        s += f(*x);
    }
    s
}

/// `(Σ a, Σ a²)` in one pass, four running sums each (see [`dot`]).
#[inline]
pub fn sum_and_squares(a: &[f64]) -> (f64, f64) {
    let chunks = a.chunks_exact(4);
    let rest = chunks.remainder();
    let (mut s, mut q) = ([0.0; 4], [0.0; 4]);
    for x in chunks {
        for l in 0..4 {
            s[l] += x[l];
            q[l] += x[l] * x[l];
        }
    }
    let (mut total, mut squares) = ((s[0] + s[1]) + (s[2] + s[3]), (q[0] + q[1]) + (q[2] + q[3]));
    for x in rest {
        total += x;
        squares += x * x;
    }
    (total, squares)
}

/// Dot product with eight running sums, so the compiler can keep several
/// vector multiply-adds in flight (a single sum forces strict order).
#[inline]
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

/// `A' A` (row-major `k x k`) of the `k` columns of `A` (of equal length).
pub(crate) fn gram_of(cols: &[&[f64]], g: &mut [f64]) {
    symmetric_product(cols, cols, g);
}

/// `L' R` (row-major `k x k`) for columns `left` and `right` whose product is
/// known to be symmetric (`L = R`, or `L = diag(w) R`): only the lower
/// triangle is computed, and mirrored. Rows two at a time, four columns per
/// step: each load then feeds two or four multiply-adds, and eight running
/// sums keep the adder busy.
fn symmetric_product(left: &[&[f64]], right: &[&[f64]], g: &mut [f64]) {
    let k = right.len();
    let mut i = 0;
    while i < k {
        // The last row alone, when k is odd, rides along twice.
        let rows = if i + 1 < k { 2 } else { 1 };
        let pair = [left[i], left[i + rows - 1]];
        let mut j = 0;
        while j + 4 <= i + rows {
            let block = dot2x4(pair, [right[j], right[j + 1], right[j + 2], right[j + 3]]);
            for (r, row) in block.iter().enumerate().take(rows) {
                for (d, v) in row.iter().enumerate() {
                    g[(i + r) * k + j + d] = *v;
                    g[(j + d) * k + i + r] = *v;
                }
            }
            j += 4;
        }
        for j in j..i + rows {
            for r in 0..rows {
                let v = dot(left[i + r], right[j]);
                g[(i + r) * k + j] = v;
                g[j * k + i + r] = v;
            }
        }
        i += rows;
    }
}

/// The `2 x 4` block `a[r] · b[d]` of a Gram matrix in one pass, two
/// running sums per entry (see [`dot`]).
fn dot2x4(a: [&[f64]; 2], b: [&[f64]; 4]) -> [[f64; 4]; 2] {
    let n = b.iter().chain(&a).fold(usize::MAX, |n, v| n.min(v.len()));
    let [a0, a1] = a.map(|v| &v[..n]);
    let [b0, b1, b2, b3] = b.map(|v| &v[..n]);
    // Entry (r, d) sums in `acc[r * 4 + d]`, two lanes.
    let mut acc = [[0.0; 2]; 8];
    let pairs = a0
        .chunks_exact(2)
        .zip(a1.chunks_exact(2))
        .zip(b0.chunks_exact(2))
        .zip(b1.chunks_exact(2))
        .zip(b2.chunks_exact(2))
        .zip(b3.chunks_exact(2));
    for (((((x0, x1), y0), y1), y2), y3) in pairs {
        let (x0, x1) = ([x0[0], x0[1]], [x1[0], x1[1]]);
        let ys = [[y0[0], y0[1]], [y1[0], y1[1]], [y2[0], y2[1]], [y3[0], y3[1]]];
        for (d, y) in ys.iter().enumerate() {
            pair_mul_add(&mut acc[d], x0, *y);
            pair_mul_add(&mut acc[4 + d], x1, *y);
        }
    }
    let mut out = [[0.0; 4]; 2];
    for r in 0..2 {
        for d in 0..4 {
            out[r][d] = acc[r * 4 + d][0] + acc[r * 4 + d][1];
            if n % 2 == 1 {
                out[r][d] += a[r][n - 1] * b[d][n - 1];
            }
        }
    }
    out
}

/// `acc += x * y`, lane by lane: one vector multiply and one add.
#[inline(always)]
fn pair_mul_add(acc: &mut [f64; 2], x: [f64; 2], y: [f64; 2]) {
    acc[0] += x[0] * y[0];
    acc[1] += x[1] * y[1];
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
pub fn ols_last_hc3(x: &ColMajor, y: &[f64]) -> Option<(f64, f64)> {
    let fit = LastCoefficient::fit(x, y)?;
    let n = x.rows;
    let mut q = Vec::new();
    fit.orthonormal_rows(x, &fit.kept_columns(), None, &mut q);
    let mut lev = vec![0.0; n];
    for qj in q.chunks_exact(n.max(1)) {
        for (h, a) in lev.iter_mut().zip(qj) {
            *h += a * a;
        }
    }
    let q_last = &q[q.len() - n..];
    let mut var = 0.0;
    for i in 0..n {
        let e = fit.resid[i];
        let denom = (1.0 - lev[i]).max(LEVERAGE_CLAMP);
        let a = q_last[i] / denom;
        var += e * e * a * a;
    }
    Some((fit.beta, var.sqrt() / fit.l_last()))
}

/// A least-squares fit reduced to what the robust standard errors of its
/// last coefficient need: the factor of `X'X`, the coefficient and the
/// residuals.
pub(crate) struct LastCoefficient {
    factor: SpdFactor,
    pub beta: f64,
    pub resid: Vec<f64>,
}

impl LastCoefficient {
    /// `None` when the last column is a combination of the others.
    pub fn fit(x: &ColMajor, y: &[f64]) -> Option<LastCoefficient> {
        if y.len() != x.rows {
            return None;
        }
        LastCoefficient::from_gram(x, y, &x.gram(), &x.t_mul(y))
    }

    /// As [`LastCoefficient::fit`], given `X'X` and `X'y`.
    pub fn from_gram(x: &ColMajor, y: &[f64], gram: &[f64], xty: &[f64]) -> Option<LastCoefficient> {
        let p = x.cols;
        let last = p.checked_sub(1)?;
        let factor = SpdFactor::new(gram, p);
        if !factor.kept[last] {
            return None;
        }
        let beta = factor.solve(xty);
        let mut resid = y.to_vec();
        for (c, b) in beta.iter().enumerate() {
            if *b != 0.0 {
                for (e, v) in resid.iter_mut().zip(x.col(c)) {
                    *e -= b * v;
                }
            }
        }
        Some(LastCoefficient {
            beta: beta[last],
            resid,
            factor,
        })
    }

    /// The last diagonal entry of the Cholesky factor: the last row of
    /// `(X'X)^-1 X'` is the last column of `Q` divided by it.
    pub fn l_last(&self) -> f64 {
        let p = self.factor.p;
        self.factor.l[p * p - 1]
    }

    /// The Cholesky factor restricted to the kept columns (`kept`, from
    /// [`LastCoefficient::kept_columns`]): lower triangular, row-major
    /// `r x r`, with `X_k'X_k = L_k L_k'` for the kept columns `X_k`.
    pub fn kept_factor(&self, kept: &[usize]) -> Vec<f64> {
        let p = self.factor.p;
        kept.iter()
            .flat_map(|&i| kept.iter().map(move |&j| self.factor.l[i * p + j]))
            .collect()
    }

    /// Columns of the factor that were kept, in order (the last is last).
    pub fn kept_columns(&self) -> Vec<usize> {
        (0..self.factor.p).filter(|&j| self.factor.kept[j]).collect()
    }

    /// Rows of `Q = X L^-T` on the kept columns (`kept`, from
    /// [`LastCoefficient::kept_columns`]) into `q`, column-major
    /// `rows x kept.len()`: Q's columns are orthonormal and span X, so the
    /// hat matrix is `Q Q'`. `rows` are indices into X, or all rows in
    /// order when `None`.
    pub fn orthonormal_rows(&self, x: &ColMajor, kept: &[usize], rows: Option<&[usize]>, q: &mut Vec<f64>) {
        let f = &self.factor;
        let p = x.cols;
        let len = rows.map_or(x.rows, <[usize]>::len);
        q.clear();
        q.resize(len * kept.len(), 0.0);
        for (jj, &j) in kept.iter().enumerate() {
            let (done, rest) = q.split_at_mut(jj * len);
            let qj = &mut rest[..len];
            let xj = x.col(j);
            match rows {
                Some(rows) => {
                    for (a, &i) in qj.iter_mut().zip(rows) {
                        *a = xj[i];
                    }
                }
                None => qj.copy_from_slice(xj),
            }
            // Four earlier columns per pass over q_j, which then is loaded
            // and stored once for four multiply-adds.
            let earlier = |kk: usize| &done[kk * len..(kk + 1) * len];
            let mut kk = 0;
            while kk + 4 <= jj {
                let l4 = [0, 1, 2, 3].map(|d| f.l[j * p + kept[kk + d]]);
                let (q0, q1, q2, q3) = (earlier(kk), earlier(kk + 1), earlier(kk + 2), earlier(kk + 3));
                for i in 0..len {
                    qj[i] -= (l4[0] * q0[i] + l4[1] * q1[i]) + (l4[2] * q2[i] + l4[3] * q3[i]);
                }
                kk += 4;
            }
            for kk in kk..jj {
                let ljk = f.l[j * p + kept[kk]];
                for (a, b) in qj.iter_mut().zip(earlier(kk)) {
                    *a -= ljk * b;
                }
            }
            let inv = 1.0 / f.l[j * p + j];
            for a in qj.iter_mut() {
                *a *= inv;
            }
        }
    }
}

/// Eigenvalues and eigenvectors (columns of the row-major result) of a
/// small symmetric matrix: Householder reduction to tridiagonal form, then
/// the implicit QL algorithm (`tred2` and `tql2` of EISPACK, as in JAMA).
/// About `10 r³` operations, several times fewer than cyclic Jacobi sweeps,
/// and accurate to rounding. Non-finite input gives non-finite output.
pub fn symmetric_eigen(a: &[f64], r: usize) -> (Vec<f64>, Vec<f64>) {
    let mut v = a.to_vec();
    let mut d = vec![0.0; r];
    let mut e = vec![0.0; r];
    if r == 0 {
        return (d, v);
    }
    tridiagonalise(&mut v, &mut d, &mut e, r);
    tridiagonal_ql(&mut v, &mut d, &mut e, r);
    (d, v)
}

/// Householder reduction of the symmetric `v` to tridiagonal form (diagonal
/// `d`, sub-diagonal `e[1..]`), leaving the accumulated transformation in `v`.
fn tridiagonalise(v: &mut [f64], d: &mut [f64], e: &mut [f64], n: usize) {
    for j in 0..n {
        d[j] = v[(n - 1) * n + j];
    }
    for i in (1..n).rev() {
        let scale: f64 = d[..i].iter().map(|x| x.abs()).sum();
        let mut h = 0.0;
        if scale == 0.0 {
            e[i] = d[i - 1];
            for j in 0..i {
                d[j] = v[(i - 1) * n + j];
                v[i * n + j] = 0.0;
                v[j * n + i] = 0.0;
            }
        } else {
            for k in 0..i {
                d[k] /= scale;
                h += d[k] * d[k];
            }
            let f = d[i - 1];
            let g = if f > 0.0 { -h.sqrt() } else { h.sqrt() };
            e[i] = scale * g;
            h -= f * g;
            d[i - 1] = f - g;
            e[..i].fill(0.0);
            for j in 0..i {
                let f = d[j];
                v[j * n + i] = f;
                let mut g = e[j] + v[j * n + j] * f;
                for k in j + 1..i {
                    g += v[k * n + j] * d[k];
                    e[k] += v[k * n + j] * f;
                }
                e[j] = g;
            }
            let mut f = 0.0;
            for j in 0..i {
                e[j] /= h;
                f += e[j] * d[j];
            }
            let hh = f / (h + h);
            for j in 0..i {
                e[j] -= hh * d[j];
            }
            for j in 0..i {
                let (f, g) = (d[j], e[j]);
                for k in j..i {
                    v[k * n + j] -= f * e[k] + g * d[k];
                }
                d[j] = v[(i - 1) * n + j];
                v[i * n + j] = 0.0;
            }
        }
        d[i] = h;
    }
    for i in 0..n - 1 {
        v[(n - 1) * n + i] = v[i * n + i];
        v[i * n + i] = 1.0;
        let h = d[i + 1];
        if h != 0.0 {
            for k in 0..=i {
                d[k] = v[k * n + i + 1] / h;
            }
            for j in 0..=i {
                let g: f64 = (0..=i).map(|k| v[k * n + i + 1] * v[k * n + j]).sum();
                for k in 0..=i {
                    v[k * n + j] -= g * d[k];
                }
            }
        }
        for k in 0..=i {
            v[k * n + i + 1] = 0.0;
        }
    }
    for j in 0..n {
        d[j] = v[(n - 1) * n + j];
        v[(n - 1) * n + j] = 0.0;
    }
    v[n * n - 1] = 1.0;
    e[0] = 0.0;
}

/// Eigenvalues (into `d`) and eigenvectors (rotating `v`) of the symmetric
/// tridiagonal matrix from [`tridiagonalise`], by implicit QL with shifts.
fn tridiagonal_ql(v: &mut [f64], d: &mut [f64], e: &mut [f64], n: usize) {
    /// QL needs one or two iterations per eigenvalue; more than this only
    /// happens on non-finite input, which must not loop forever.
    const MAX_ITER: usize = 60;
    for i in 1..n {
        e[i - 1] = e[i];
    }
    e[n - 1] = 0.0;
    let mut f = 0.0;
    let mut tst1: f64 = 0.0;
    for l in 0..n {
        tst1 = tst1.max(d[l].abs() + e[l].abs());
        let mut m = l;
        while m < n - 1 && e[m].abs() > f64::EPSILON * tst1 {
            m += 1;
        }
        if m > l {
            for _ in 0..MAX_ITER {
                let g = d[l];
                let mut p = (d[l + 1] - g) / (2.0 * e[l]);
                let mut r = p.hypot(1.0);
                if p < 0.0 {
                    r = -r;
                }
                d[l] = e[l] / (p + r);
                d[l + 1] = e[l] * (p + r);
                let dl1 = d[l + 1];
                let h = g - d[l];
                for di in &mut d[l + 2..n] {
                    *di -= h;
                }
                f += h;
                p = d[m];
                let (mut c, mut c2, mut c3) = (1.0, 1.0, 1.0);
                let el1 = e[l + 1];
                let (mut s, mut s2) = (0.0, 0.0);
                for i in (l..m).rev() {
                    c3 = c2;
                    c2 = c;
                    s2 = s;
                    let g = c * e[i];
                    let h = c * p;
                    r = p.hypot(e[i]);
                    e[i + 1] = s * r;
                    s = e[i] / r;
                    c = p / r;
                    p = c * d[i] - s * g;
                    d[i + 1] = h + s * (c * g + s * d[i]);
                    for k in 0..n {
                        let h = v[k * n + i + 1];
                        v[k * n + i + 1] = s * v[k * n + i] + c * h;
                        v[k * n + i] = c * v[k * n + i] - s * h;
                    }
                }
                p = -s * s2 * c3 * el1 * e[l] / dl1;
                e[l] = s * p;
                d[l] = c * p;
                if e[l].abs() <= f64::EPSILON * tst1 || !e[l].is_finite() {
                    break;
                }
            }
        }
        d[l] += f;
        e[l] = 0.0;
    }
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
        let w: Vec<f64> = (0..y.len())
            .map(|r| {
                let h = quad_form(&ols.xtx_inv, x.row(r), p);
                let denom = (1.0 - h).max(LEVERAGE_CLAMP);
                ols.resid[r] * ols.resid[r] / (denom * denom)
            })
            .collect();
        sandwich(&ols.xtx_inv, &x.gram(Some(&w)), p)
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
        let (b, se) = ols_last_hc3(&ColMajor::new(&x), &y).unwrap();
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
        assert!(ols_last_hc3(&ColMajor::new(&dup), &[1.0, 2.0, 3.0, 4.0]).is_none());
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

    #[test]
    fn symmetric_eigen_diagonalises() {
        // A fixed symmetric 5 x 5 matrix with a repeated eigenvalue (two equal rows of B).
        let b = [
            0.5, 0.1, -0.2, 0.3, 0.0, 0.3, 0.6, 0.1, -0.1, 0.2, 0.3, 0.6, 0.1, -0.1, 0.2, -0.1, 0.2, 0.4,
            0.9, -0.5, 1.0, 0.0, 0.0, 0.0, 2.0,
        ];
        let r = 5;
        let mut a = vec![0.0; r * r];
        for i in 0..r {
            for j in 0..r {
                a[i * r + j] = (0..r).map(|k| b[k * r + i] * b[k * r + j]).sum();
            }
        }
        let (lambda, v) = symmetric_eigen(&a, r);
        for k in 0..r {
            for i in 0..r {
                let av: f64 = (0..r).map(|j| a[i * r + j] * v[j * r + k]).sum();
                assert!(
                    (av - lambda[k] * v[i * r + k]).abs() < 1e-13,
                    "A v = λ v, pair {k}"
                );
            }
            for l in 0..r {
                let vv: f64 = (0..r).map(|i| v[i * r + k] * v[i * r + l]).sum();
                let want = if k == l { 1.0 } else { 0.0 };
                assert!((vv - want).abs() < 1e-13, "orthonormal {k} {l}");
            }
        }
        assert!(
            lambda.iter().any(|l| l.abs() < 1e-13),
            "B is singular: {lambda:?}"
        );
        let (nan, _) = symmetric_eigen(&[f64::NAN, 1.0, 1.0, 0.0], 2);
        assert!(nan.iter().any(|l| !l.is_finite()));
    }
}
