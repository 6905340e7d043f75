//! A child's export as a zip of CSV files, for spreadsheets and other tools.
//!
//! The archive is rendered from the same JSON document as the JSON export, so the two
//! never disagree: each list of records becomes one CSV (one row per record, nested
//! fields flattened to dotted column names, lists kept as JSON text in their cell), and
//! what is not tabular (the child, Open mHealth and FHIR sleep records, the insights)
//! stays JSON beside them.

use serde_json::{Map, Value};
use std::io::Write;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

/// Lists of records written as CSV, by their key in the export document.
const TABLES: [&str; 8] = [
    "samples",
    "hourly_aggregates",
    "events",
    "interventions",
    "sleep_episodes",
    "recommendations",
    "feedback",
    "notes",
];
/// Parts kept as JSON files.
const DOCUMENTS: [&str; 4] = [
    "child",
    "sleep_open_mhealth",
    "sleep_fhir_observations",
    "insights",
];

const README: &str = "Sprout export of one child's data.\n\n\
Each .csv file holds one kind of record, one row per record, times in UTC (RFC 3339).\n\
Nested fields have dotted column names; lists are JSON text in their cell.\n\
manifest.json says when the export was made and how many records each file holds.\n\
sleep_open_mhealth.json: sleep as Open mHealth sleep-episode 1.1 data points.\n\
sleep_fhir_observations.json: sleep duration as FHIR R4 Observations (LOINC 93832-4).\n\
insights.json / causal_effects.csv: Sprout's analyses at the time of the export.\n";

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("zip: {0}")]
    Zip(#[from] zip::result::ZipError),
    #[error("csv: {0}")]
    Csv(#[from] csv::Error),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
}

/// The zip archive of an export document (see `routes::privacy::export_child`).
pub fn zip_export(document: &Value) -> Result<Vec<u8>, ArchiveError> {
    let mut zip = ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .unix_permissions(0o600);
    let file = |zip: &mut ZipWriter<_>, name: &str, bytes: &[u8]| -> Result<(), ArchiveError> {
        zip.start_file(name, options)?;
        zip.write_all(bytes)?;
        Ok(())
    };
    file(&mut zip, "README.txt", README.as_bytes())?;
    let manifest: Map<String, Value> = ["format", "exported_at", "counts"]
        .iter()
        .filter_map(|key| Some(((*key).to_owned(), document.get(key)?.clone())))
        .collect();
    file(&mut zip, "manifest.json", &serde_json::to_vec_pretty(&manifest)?)?;
    for key in TABLES {
        let rows = document
            .get(key)
            .and_then(Value::as_array)
            .map_or(&[][..], Vec::as_slice);
        file(&mut zip, &format!("{key}.csv"), &csv_table(rows)?)?;
    }
    for key in DOCUMENTS {
        let part = document.get(key).unwrap_or(&Value::Null);
        file(
            &mut zip,
            &format!("{key}.json"),
            &serde_json::to_vec_pretty(part)?,
        )?;
    }
    let effects = document
        .pointer("/insights/causal")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    file(&mut zip, "causal_effects.csv", &csv_table(effects)?)?;
    Ok(zip.finish()?.into_inner())
}

/// Columns that say which record a row is, put first where a table has them.
const LEADING: [&str; 8] = [
    "id",
    "time",
    "start",
    "onset",
    "offset",
    "end",
    "created_at",
    "at",
];

/// One CSV from records: columns are the union of the flattened fields (identifying
/// ones first, then in order of first appearance); a field a record lacks is an empty
/// cell. No records: an empty file.
pub fn csv_table(records: &[Value]) -> Result<Vec<u8>, ArchiveError> {
    if records.is_empty() {
        return Ok(Vec::new());
    }
    let flat: Vec<Vec<(String, String)>> = records.iter().map(flatten).collect();
    let mut columns: Vec<String> = Vec::new();
    for record in &flat {
        for (name, _) in record {
            if !columns.contains(name) {
                columns.push(name.clone());
            }
        }
    }
    // A stable sort keeps the others in their order.
    columns.sort_by_key(|c| LEADING.iter().position(|l| l == c).unwrap_or(LEADING.len()));
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(&columns)?;
    for record in &flat {
        out.write_record(columns.iter().map(|column| {
            record
                .iter()
                .find(|(name, _)| name == column)
                .map_or("", |(_, cell)| cell.as_str())
        }))?;
    }
    out.into_inner().map_err(|e| ArchiveError::Io(e.into_error()))
}

/// A record's fields as (dotted name, cell text); a scalar record is one `value` column.
fn flatten(record: &Value) -> Vec<(String, String)> {
    let mut cells = Vec::new();
    match record {
        Value::Object(fields) => flatten_into(&mut cells, "", fields),
        other => cells.push(("value".to_owned(), cell(other))),
    }
    cells
}

fn flatten_into(cells: &mut Vec<(String, String)>, prefix: &str, fields: &Map<String, Value>) {
    for (name, value) in fields {
        let name = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}.{name}")
        };
        match value {
            Value::Object(inner) => flatten_into(cells, &name, inner),
            other => cells.push((name, cell(other))),
        }
    }
}

fn cell(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(text) => text.clone(),
        Value::Bool(_) | Value::Number(_) => value.to_string(),
        Value::Array(_) | Value::Object(_) => value.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn records_become_rows_with_the_union_of_their_fields() {
        let rows = [
            json!({"time": "2026-03-01T10:00:00Z", "stress_level": 0.4, "ci": {"low": 0.1, "high": 0.7}}),
            json!({"time": "2026-03-01T10:01:00Z", "steps": 12, "tags": ["a", "b"], "note": "x, \"y\""}),
        ];
        let text = String::from_utf8(csv_table(&rows).expect("csv")).expect("utf-8");
        let mut lines = text.lines();
        assert_eq!(
            lines.next(),
            Some("time,ci.high,ci.low,stress_level,note,steps,tags")
        );
        assert_eq!(lines.next(), Some("2026-03-01T10:00:00Z,0.7,0.1,0.4,,,"));
        assert_eq!(
            lines.next(),
            Some(r#"2026-03-01T10:01:00Z,,,,"x, ""y""",12,"[""a"",""b""]""#)
        );
        assert_eq!(lines.next(), None);
    }

    #[test]
    fn an_empty_list_is_an_empty_file() {
        assert!(csv_table(&[]).expect("csv").is_empty());
    }
}
