//! Owns turning a table and a specification into model-ready arrays: row
//! selection (treated vs control level, missing values), one-hot encoding of
//! categorical columns, standardisation, and dropping of constant or
//! collinear columns.

use crate::error::{CausalError, Result};
use crate::linalg::{dot, sum, ColMajor, SpdFactor};
use crate::propensity::WarmStart;
use crate::table::{Column, Table, Value};

/// Fewest rows per arm: with one row an arm has no variance and no
/// estimator here has a meaningful interval.
pub const MIN_ROWS_PER_ARM: usize = 2;

/// Model-ready data. `t` is 1.0 for treated and 0.0 for control rows;
/// covariate, modifier and instrument columns are standardised (mean 0,
/// standard deviation 1), which leaves every effect estimate unchanged but
/// keeps the normal equations well conditioned. They are stored column by
/// column, as they are made and as the fits read them (Gram matrices,
/// centring within groups).
#[derive(Debug, Clone)]
pub(crate) struct Data {
    pub y: Vec<f64>,
    pub t: Vec<f64>,
    pub x: ColMajor,
    pub m: ColMajor,
    pub z: ColMajor,
    /// Starting coefficients for the propensity model (set from the full
    /// sample before bootstrapping, so each draw converges in fewer steps).
    pub ps_start: Option<WarmStart>,
    /// Gram matrix of `[1, x]` (row-major), computed by [`prepare`] while
    /// looking for collinear columns and reused by the propensity fit. Code
    /// that changes `x` or picks rows must clear it ([`Data::select`] does).
    pub x_gram: Option<Vec<f64>>,
    /// Each row's cluster, when rows are clustered (dense ids from 0).
    pub clusters: Option<Vec<u32>>,
    /// Each row's fixed-effect group, when group levels are absorbed.
    pub groups: Option<Vec<u32>>,
}

/// What the preparation learnt besides the arrays.
#[derive(Debug, Clone, Default)]
pub(crate) struct Prepared {
    pub x_names: Vec<String>,
    pub z_names: Vec<String>,
    pub warnings: Vec<String>,
    pub rows_missing: usize,
    pub rows_other_treatment: usize,
}

impl Data {
    pub fn n(&self) -> usize {
        self.y.len()
    }

    pub fn n_treated(&self) -> usize {
        self.t.iter().filter(|&&t| t > 0.5).count()
    }

    /// Rows picked by index (a bootstrap draw or a subset).
    pub fn select(&self, idx: &[usize]) -> Data {
        Data {
            y: idx.iter().map(|&i| self.y[i]).collect(),
            t: idx.iter().map(|&i| self.t[i]).collect(),
            x: self.x.select_rows(idx),
            m: self.m.select_rows(idx),
            z: self.z.select_rows(idx),
            ps_start: self.ps_start.clone(),
            x_gram: None,
            clusters: self
                .clusters
                .as_ref()
                .map(|c| idx.iter().map(|&i| c[i]).collect()),
            groups: self.groups.as_ref().map(|g| idx.iter().map(|&i| g[i]).collect()),
        }
    }

    /// [`Data::x_gram`], when it still has the shape of `[1, x]`.
    pub fn x_gram(&self) -> Option<&[f64]> {
        let k = self.x.cols() + 1;
        self.x_gram.as_deref().filter(|g| g.len() == k * k)
    }

    /// Checks both arms have enough rows.
    pub fn check_arms(&self) -> Result<()> {
        let n1 = self.n_treated();
        let n0 = self.n() - n1;
        let small = n1.min(n0);
        if small < MIN_ROWS_PER_ARM {
            return Err(CausalError::TooFewRows {
                what: "each treatment arm".into(),
                needed: MIN_ROWS_PER_ARM,
                got: small,
            });
        }
        Ok(())
    }
}

/// Which columns play which part.
pub(crate) struct Roles<'a> {
    pub treatment: &'a str,
    pub outcome: &'a str,
    pub covariates: &'a [String],
    pub modifiers: &'a [String],
    pub instruments: &'a [String],
    pub treated: Option<&'a Value>,
    pub control: Option<&'a Value>,
    pub clusters: Option<&'a str>,
    pub fixed_effects: Option<&'a str>,
}

/// Builds [`Data`] from the table.
pub(crate) fn prepare(table: &Table, roles: &Roles<'_>) -> Result<(Data, Prepared)> {
    if table.n_rows() == 0 {
        return Err(CausalError::EmptyTable);
    }
    let tcol = table.require(roles.treatment)?;
    let ycol = table.require(roles.outcome)?;
    let yv = ycol
        .as_numeric()
        .ok_or_else(|| CausalError::NonNumericColumn(roles.outcome.to_string()))?;
    let mut used: Vec<&Column> = vec![tcol, ycol];
    for name in roles
        .covariates
        .iter()
        .chain(roles.modifiers)
        .chain(roles.instruments)
    {
        if name == roles.treatment || name == roles.outcome {
            return Err(CausalError::InvalidSpec(format!(
                "`{name}` cannot be both a covariate and the treatment or outcome"
            )));
        }
        used.push(table.require(name)?);
    }
    let mut id_column = |name: Option<&str>| -> Result<Option<&[f64]>> {
        let Some(name) = name else { return Ok(None) };
        let col = table.require(name)?;
        let values = col
            .as_numeric()
            .ok_or_else(|| CausalError::NonNumericColumn(name.to_string()))?;
        // Clusters and groups are often the same column (the day).
        if !used.iter().any(|u| std::ptr::eq(*u, col)) {
            used.push(col);
        }
        Ok(Some(values))
    };
    let cluster_col = id_column(roles.clusters)?;
    let group_col = id_column(roles.fixed_effects)?;
    let (treated, control) = treatment_levels(tcol, roles)?;
    if treated == control {
        return Err(CausalError::SameTreatmentValues(treated.to_string()));
    }

    let mut prep = Prepared::default();
    let mut rows = Vec::with_capacity(table.n_rows());
    let mut t = Vec::with_capacity(table.n_rows());
    let (mut seen_treated, mut seen_control) = (false, false);
    // Column by column rather than cell by cell: one pass per used column.
    let mut missing = vec![false; table.n_rows()];
    for c in &used {
        c.mark_missing(&mut missing);
    }
    let treated_mask = tcol.level_mask(&treated);
    let control_mask = tcol.level_mask(&control);
    for i in 0..table.n_rows() {
        let is_t = treated_mask[i];
        let is_c = control_mask[i];
        seen_treated |= is_t;
        seen_control |= is_c;
        if missing[i] {
            prep.rows_missing += 1;
            continue;
        }
        if !is_t && !is_c {
            prep.rows_other_treatment += 1;
            continue;
        }
        rows.push(i);
        t.push(if is_t { 1.0 } else { 0.0 });
    }
    if !seen_treated && !seen_control {
        return Err(CausalError::TreatmentValueNotFound {
            column: roles.treatment.to_string(),
            value: format!("{treated} / {control}"),
        });
    }
    let n1 = t.iter().filter(|&&v| v > 0.5).count();
    if n1 == 0 || n1 == t.len() {
        let level = if n1 == 0 { &control } else { &treated };
        return Err(CausalError::OneTreatmentLevel {
            level: level.to_string(),
        });
    }
    if prep.rows_missing > 0 {
        prep.warnings.push(format!(
            "left out {} rows with a missing value in a used column",
            prep.rows_missing
        ));
    }
    if prep.rows_other_treatment > 0 {
        prep.warnings.push(format!(
            "left out {} rows whose treatment is neither {treated} nor {control}",
            prep.rows_other_treatment
        ));
    }
    let y: Vec<f64> = rows.iter().map(|&i| yv[i]).collect();
    let cluster_ids = cluster_col.map(|values| dense_ids(rows.iter().map(|&i| values[i])));

    let (x, x_names) = encode(table, roles.covariates, &rows, &mut prep.warnings)?;
    let (m, _) = encode(table, roles.modifiers, &rows, &mut prep.warnings)?;
    let (z, z_names) = encode(table, roles.instruments, &rows, &mut prep.warnings)?;

    // Covariates must be linearly independent of each other and of the
    // intercept; drop the later of any dependent pair. With absorbed fixed
    // effects only regression reads the covariates, and it drops what the
    // groups make dependent (day-level columns) itself, after centring: the
    // check here would cost a Gram matrix per estimate for nothing.
    let (x, x_names, x_gram) = if roles.fixed_effects.is_some() {
        (x, x_names, None)
    } else {
        let (keep, gram) = independent(&x, &[]);
        // The Gram matrix of the kept columns, with the intercept in front.
        let kept: Vec<usize> = std::iter::once(0)
            .chain((1..=keep.len()).filter(|&j| keep[j - 1]))
            .collect();
        let p_all = keep.len() + 1;
        let x_gram: Vec<f64> = kept
            .iter()
            .flat_map(|&r| kept.iter().map(move |&c| (r, c)))
            .map(|(r, c)| gram[r * p_all + c])
            .collect();
        let (x, x_names) = keep_columns(x, x_names, &keep, "covariate", &mut prep.warnings);
        (x, x_names, Some(x_gram))
    };
    // Instruments are checked with the covariates in front (when there are any).
    let (z, z_names) = if z.cols() == 0 {
        (z, z_names)
    } else {
        let (keep_z, _) = independent(&z, &[&x]);
        keep_columns(z, z_names, &keep_z, "instrument", &mut prep.warnings)
    };
    prep.x_names = x_names;
    prep.z_names = z_names;
    let data = Data {
        y,
        t,
        x,
        m,
        z,
        ps_start: None,
        x_gram,
        clusters: cluster_ids.clone(),
        groups: match (roles.fixed_effects, roles.clusters) {
            (Some(g), Some(c)) if g == c => cluster_ids,
            _ => group_col.map(|values| dense_ids(rows.iter().map(|&i| values[i]))),
        },
    };
    data.check_arms()?;
    Ok((data, prep))
}

/// Dense cluster ids (0, 1, ...) in order of first appearance.
fn dense_ids(values: impl Iterator<Item = f64>) -> Vec<u32> {
    let mut seen: Vec<(u64, u32)> = Vec::new();
    // Rows of one cluster usually follow each other: the previous row's id
    // answers most look-ups.
    let mut last: Option<(u64, u32)> = None;
    values
        .map(|v| {
            let key = v.to_bits();
            if let Some((k, id)) = last {
                if k == key {
                    return id;
                }
            }
            let id = match seen.binary_search_by_key(&key, |(k, _)| *k) {
                Ok(at) => seen[at].1,
                Err(at) => {
                    let id = seen.len() as u32;
                    seen.insert(at, (key, id));
                    id
                }
            };
            last = Some((key, id));
            id
        })
        .collect()
}

/// Default levels: 1 vs 0 for a binary 0/1 treatment.
fn treatment_levels(tcol: &Column, roles: &Roles<'_>) -> Result<(Value, Value)> {
    match (roles.treated, roles.control) {
        (Some(a), Some(b)) => Ok((a.clone(), b.clone())),
        (None, None) => {
            let binary = match tcol.as_numeric() {
                // Non-finite numbers are missing.
                Some(v) => v.iter().all(|&x| x == 0.0 || x == 1.0 || !x.is_finite()),
                None => (0..tcol.len()).all(|i| {
                    tcol.is_missing(i)
                        || tcol.matches(i, &Value::Number(0.0))
                        || tcol.matches(i, &Value::Number(1.0))
                }),
            };
            if binary {
                Ok((Value::Number(1.0), Value::Number(0.0)))
            } else {
                Err(CausalError::MissingTreatmentValues(roles.treatment.to_string()))
            }
        }
        _ => Err(CausalError::MissingTreatmentValues(roles.treatment.to_string())),
    }
}

/// Encodes the named columns over `rows`: numeric columns as they are,
/// categorical ones as 0/1 indicators for every level but the first
/// (sorted) one. Constant columns are dropped with a warning; the rest are
/// standardised.
fn encode(
    table: &Table,
    names: &[String],
    rows: &[usize],
    warnings: &mut Vec<String>,
) -> Result<(ColMajor, Vec<String>)> {
    let n = rows.len();
    // `rows` are increasing, so as many as the table has are all of them.
    let all_rows = n == table.n_rows();
    let mut out = Encoded {
        data: Vec::with_capacity(n * names.len()),
        names: Vec::new(),
    };
    let mut picked = Vec::new();
    for name in names {
        match table.require(name)? {
            Column::Numeric { values, .. } if all_rows => out.push(values, name.clone(), warnings),
            Column::Numeric { values, .. } => {
                picked.clear();
                picked.extend(rows.iter().map(|&i| values[i]));
                out.push(&picked, name.clone(), warnings);
            }
            Column::Categorical { values, .. } => {
                let mut levels: Vec<&str> = rows.iter().map(|&i| values[i].as_str()).collect();
                levels.sort_unstable();
                levels.dedup();
                if levels.len() < 2 {
                    warnings.push(format!("dropped `{name}`: it has a single level"));
                    continue;
                }
                for level in &levels[1..] {
                    picked.clear();
                    picked.extend(rows.iter().map(|&i| f64::from(u8::from(values[i] == *level))));
                    out.push(&picked, format!("{name}={level}"), warnings);
                }
            }
        }
    }
    Ok((
        ColMajor::from_column_data(n, out.names.len(), out.data),
        out.names,
    ))
}

/// Encoded columns, column-major, and their names.
struct Encoded {
    data: Vec<f64>,
    names: Vec<String>,
}

impl Encoded {
    /// Appends `values` standardised, or warns that they are constant.
    fn push(&mut self, values: &[f64], name: String, warnings: &mut Vec<String>) {
        if push_standardised(&mut self.data, values) {
            self.names.push(name);
        } else {
            warnings.push(format!("dropped `{name}`: it is constant"));
        }
    }
}

/// Appends `values` standardised to `data`; false, with nothing appended,
/// when they are constant. Each column is written once, already centred.
fn push_standardised(data: &mut Vec<f64>, values: &[f64]) -> bool {
    let n = values.len() as f64;
    let mean = sum(values) / n;
    let start = data.len();
    data.extend(values.iter().map(|v| v - mean));
    let c = &mut data[start..];
    let sd = (dot(c, c) / n).sqrt();
    if sd.is_nan() || sd <= CONSTANT_TOL * (1.0 + mean.abs()) {
        data.truncate(start);
        return false;
    }
    // One division, then multiplications: dividing every cell is the
    // slowest step of the whole preparation.
    let inv_sd = 1.0 / sd;
    for v in c.iter_mut() {
        *v *= inv_sd;
    }
    true
}

/// A column whose spread is below this fraction of its scale is constant.
const CONSTANT_TOL: f64 = 1e-12;

/// Which columns of `m` are independent of the intercept, of the `front`
/// matrices and of earlier columns of `m`, and the Gram matrix of
/// `[1, front.., m]` that decided it.
fn independent(m: &ColMajor, front: &[&ColMajor]) -> (Vec<bool>, Vec<f64>) {
    let n = m.rows();
    // `[1, front.., m]` laid out column by column straight away: the Gram
    // matrix is all that is needed, and it is a dot product per pair of
    // columns.
    let lead = 1 + front.iter().map(|f| f.cols()).sum::<usize>();
    let p = lead + m.cols();
    let mut data = Vec::with_capacity(n * p);
    data.resize(n, 1.0);
    for f in front.iter().copied().chain([m]) {
        for c in 0..f.cols() {
            data.extend_from_slice(f.col(c));
        }
    }
    let full = ColMajor::from_column_data(n, p, data);
    let gram = full.gram();
    let fac = SpdFactor::new(&gram, p);
    (fac.kept()[lead..].to_vec(), gram)
}

fn keep_columns(
    m: ColMajor,
    names: Vec<String>,
    keep: &[bool],
    what: &str,
    warnings: &mut Vec<String>,
) -> (ColMajor, Vec<String>) {
    if keep.iter().all(|k| *k) {
        return (m, names);
    }
    let mut idx = Vec::new();
    let mut kept_names = Vec::new();
    for (i, name) in names.into_iter().enumerate() {
        if keep[i] {
            idx.push(i);
            kept_names.push(name);
        } else {
            warnings.push(format!(
                "dropped {what} `{name}`: it is a linear combination of the other columns"
            ));
        }
    }
    (m.select_cols(&idx), kept_names)
}
