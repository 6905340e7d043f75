//! Owns the input data: a table of named numeric or categorical columns, and
//! the `Value` used to name treatment levels.

use crate::error::{CausalError, Result};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Text cells read as missing by [`Column::infer`].
const MISSING_TOKENS: [&str; 4] = ["", "na", "nan", "null"];

/// One column of data.
#[derive(Debug, Clone, PartialEq)]
pub enum Column {
    /// Numbers; non-finite values mean "missing" and their rows are left out
    /// of any estimate that uses the column.
    Numeric { name: String, values: Vec<f64> },
    /// Labels; estimators one-hot encode them (first level, in sorted order,
    /// is the reference and gets no column).
    Categorical { name: String, values: Vec<String> },
}

impl Column {
    pub fn numeric(name: impl Into<String>, values: Vec<f64>) -> Column {
        Column::Numeric {
            name: name.into(),
            values,
        }
    }

    pub fn categorical(name: impl Into<String>, values: Vec<String>) -> Column {
        Column::Categorical {
            name: name.into(),
            values,
        }
    }

    /// Numeric when every non-missing cell parses as a finite `f64` (missing
    /// cells — empty, `NA`, `NaN`, `null` — become NaN), otherwise
    /// categorical with the cells kept verbatim.
    pub fn infer(name: impl Into<String>, values: Vec<String>) -> Column {
        let mut nums = Vec::with_capacity(values.len());
        let mut any_number = false;
        for v in &values {
            let t = v.trim();
            if MISSING_TOKENS.contains(&t.to_ascii_lowercase().as_str()) {
                nums.push(f64::NAN);
                continue;
            }
            match t.parse::<f64>() {
                Ok(x) if x.is_finite() => {
                    any_number = true;
                    nums.push(x);
                }
                _ => return Column::categorical(name, values),
            }
        }
        if any_number || values.is_empty() {
            Column::numeric(name, nums)
        } else {
            Column::categorical(name, values)
        }
    }

    pub fn name(&self) -> &str {
        match self {
            Column::Numeric { name, .. } | Column::Categorical { name, .. } => name,
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Column::Numeric { values, .. } => values.len(),
            Column::Categorical { values, .. } => values.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Numbers, if the column is numeric.
    pub fn as_numeric(&self) -> Option<&[f64]> {
        match self {
            Column::Numeric { values, .. } => Some(values),
            Column::Categorical { .. } => None,
        }
    }

    /// Whether row `i` is missing.
    pub(crate) fn is_missing(&self, i: usize) -> bool {
        match self {
            Column::Numeric { values, .. } => !values[i].is_finite(),
            Column::Categorical { values, .. } => {
                MISSING_TOKENS.contains(&values[i].trim().to_ascii_lowercase().as_str())
            }
        }
    }

    /// Marks the missing rows of this column in `out` (leaves others as
    /// they are), one pass over the column.
    pub(crate) fn mark_missing(&self, out: &mut [bool]) {
        match self {
            Column::Numeric { values, .. } => {
                // `v * 0` is zero for every finite number and NaN otherwise, so
                // one vectorised sum says whether there is anything to mark.
                if crate::linalg::sum_of_zeros(values) == 0.0 {
                    return;
                }
                for (o, v) in out.iter_mut().zip(values) {
                    *o |= !v.is_finite();
                }
            }
            Column::Categorical { .. } => {
                for (i, o) in out.iter_mut().enumerate() {
                    *o |= self.is_missing(i);
                }
            }
        }
    }

    /// [`Column::matches`] for every row at once; the value is parsed once,
    /// not per row.
    pub(crate) fn level_mask(&self, value: &Value) -> Vec<bool> {
        match (self, value) {
            (Column::Numeric { values, .. }, Value::Number(x)) => values.iter().map(|v| v == x).collect(),
            (Column::Numeric { values, .. }, Value::Text(s)) => match s.trim().parse::<f64>() {
                Ok(x) => values.iter().map(|v| *v == x).collect(),
                Err(_) => vec![false; values.len()],
            },
            _ => (0..self.len()).map(|i| self.matches(i, value)).collect(),
        }
    }

    /// Whether row `i` holds `value` (numbers compare exactly; a text value
    /// matches a numeric cell when it parses to the same number).
    pub(crate) fn matches(&self, i: usize, value: &Value) -> bool {
        match (self, value) {
            (Column::Numeric { values, .. }, Value::Number(x)) => values[i] == *x,
            (Column::Numeric { values, .. }, Value::Text(s)) => {
                s.trim().parse::<f64>().is_ok_and(|x| values[i] == x)
            }
            (Column::Categorical { values, .. }, Value::Text(s)) => values[i] == *s,
            (Column::Categorical { values, .. }, Value::Number(x)) => {
                values[i].trim().parse::<f64>().is_ok_and(|v| v == *x)
            }
        }
    }
}

/// Columns of equal length with unique names.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    columns: Vec<Column>,
    n_rows: usize,
}

impl Table {
    /// Checks lengths and names.
    pub fn new(columns: Vec<Column>) -> Result<Table> {
        let n_rows = columns.first().map_or(0, Column::len);
        for (i, c) in columns.iter().enumerate() {
            if c.len() != n_rows {
                return Err(CausalError::ColumnLengthMismatch {
                    column: c.name().to_string(),
                    expected: n_rows,
                    got: c.len(),
                });
            }
            if columns[..i].iter().any(|o| o.name() == c.name()) {
                return Err(CausalError::DuplicateColumn(c.name().to_string()));
            }
        }
        Ok(Table { columns, n_rows })
    }

    pub fn n_rows(&self) -> usize {
        self.n_rows
    }

    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name() == name)
    }

    pub(crate) fn require(&self, name: &str) -> Result<&Column> {
        self.column(name)
            .ok_or_else(|| CausalError::UnknownColumn(name.to_string()))
    }

    pub fn has_column(&self, name: &str) -> bool {
        self.column(name).is_some()
    }
}

/// A treatment level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    Number(f64),
    Text(String),
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Number(x) => write!(f, "{x}"),
            Value::Text(s) => write!(f, "{s}"),
        }
    }
}

impl From<f64> for Value {
    fn from(x: f64) -> Self {
        Value::Number(x)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Text(s.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn infer_picks_numeric_or_categorical() {
        assert!(matches!(
            Column::infer("a", s(&["1", "2.5", ""])),
            Column::Numeric { .. }
        ));
        assert!(matches!(
            Column::infer("b", s(&["1", "x"])),
            Column::Categorical { .. }
        ));
    }

    #[test]
    fn rejects_ragged_columns() {
        let t = Table::new(vec![
            Column::numeric("a", vec![1.0, 2.0]),
            Column::numeric("b", vec![1.0]),
        ]);
        assert!(matches!(t, Err(CausalError::ColumnLengthMismatch { .. })));
    }
}
