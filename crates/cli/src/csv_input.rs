//! CSV files given on the command line: a header row, cells addressed by column name,
//! every error naming the file and line, and the time formats the commands accept.

use anyhow::{anyhow, bail, Context};
use chrono::{DateTime, FixedOffset, LocalResult, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// A CSV file read whole: header names and the rows under them, each with the line it
/// starts on (the header is line 1).
pub struct CsvFile {
    path: PathBuf,
    headers: Vec<String>,
    rows: Vec<Row>,
}

/// One data row.
pub struct Row {
    /// Line in the file where the row starts, for error messages.
    pub line: u64,
    cells: Vec<String>,
}

impl Row {
    /// The cell in column `index` (from [`CsvFile::column`]), trimmed.
    pub fn get(&self, index: usize) -> &str {
        self.cells.get(index).map_or("", |cell| cell.as_str())
    }
}

impl CsvFile {
    /// Reads `path`; the first row must name the columns, uniquely.
    pub fn read(path: &Path) -> anyhow::Result<Self> {
        let file = std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .trim(csv::Trim::All)
            .from_reader(file);
        let headers: Vec<String> = reader
            .headers()
            .with_context(|| format!("{}: cannot read the header row", path.display()))?
            .iter()
            .map(str::to_owned)
            .collect();
        if headers.iter().all(String::is_empty) {
            bail!("{}: the file is empty or has no header row", path.display());
        }
        for (i, name) in headers.iter().enumerate() {
            if headers[..i].contains(name) {
                bail!("{}: column `{name}` appears twice in the header", path.display());
            }
        }
        let mut rows = Vec::new();
        for record in reader.records() {
            let record = record.map_err(|e| csv_error(path, &e))?;
            let line = record.position().map_or(0, csv::Position::line);
            rows.push(Row {
                line,
                cells: record.iter().map(str::to_owned).collect(),
            });
        }
        Ok(Self {
            path: path.to_owned(),
            headers,
            rows,
        })
    }

    /// The file's path, for messages.
    pub fn name(&self) -> String {
        self.path.display().to_string()
    }

    pub fn headers(&self) -> &[String] {
        &self.headers
    }

    pub fn rows(&self) -> &[Row] {
        &self.rows
    }

    /// Index of column `name`, or an error listing the columns the file has.
    pub fn column(&self, name: &str) -> anyhow::Result<usize> {
        self.find(name).ok_or_else(|| {
            anyhow!(
                "{} has no column `{name}` (its columns: {})",
                self.path.display(),
                self.headers.join(", ")
            )
        })
    }

    /// Index of column `name`, if present.
    pub fn find(&self, name: &str) -> Option<usize> {
        self.headers.iter().position(|h| h == name)
    }

    /// Every cell of column `index`, top to bottom.
    pub fn cells(&self, index: usize) -> Vec<String> {
        self.rows.iter().map(|row| row.get(index).to_owned()).collect()
    }

    /// Prefix for an error about `row`: the file and its line.
    pub fn at(&self, row: &Row) -> String {
        format!("{} line {}", self.path.display(), row.line)
    }
}

/// A malformed row as one line naming the file and line.
fn csv_error(path: &Path, error: &csv::Error) -> anyhow::Error {
    let at = match error.position() {
        Some(position) => format!("{} line {}", path.display(), position.line()),
        None => path.display().to_string(),
    };
    match error.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => {
            anyhow!("{at}: the row has {len} fields but the header has {expected_len}")
        }
        csv::ErrorKind::Utf8 { .. } => anyhow!("{at}: the row is not valid UTF-8"),
        _ => anyhow!("{at}: {error}"),
    }
}

/// A time as written in a file: with its UTC offset, or a naive local clock time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockTime {
    /// RFC 3339 with `Z` or `±HH:MM`.
    Fixed(DateTime<FixedOffset>),
    /// No offset: a clock time in whatever zone applies.
    Naive(NaiveDateTime),
}

/// Naive formats accepted, most common first.
const NAIVE_FORMATS: [&str; 4] = [
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M",
];

/// Parses RFC 3339 (`2026-03-01T07:30:00+01:00`, `...Z`), a naive
/// `YYYY-MM-DD HH:MM:SS` / `YYYY-MM-DDTHH:MM:SS`, or a date (its midnight).
pub fn parse_time(text: &str) -> anyhow::Result<ClockTime> {
    let text = text.trim();
    if text.is_empty() {
        bail!("the time is empty");
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(ClockTime::Fixed(t));
    }
    for format in NAIVE_FORMATS {
        if let Ok(t) = NaiveDateTime::parse_from_str(text, format) {
            return Ok(ClockTime::Naive(t));
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(ClockTime::Naive(d.and_time(chrono::NaiveTime::MIN)));
    }
    bail!(
        "`{}` is not a time (RFC 3339, YYYY-MM-DD HH:MM:SS or YYYY-MM-DD)",
        clip(text)
    )
}

impl ClockTime {
    /// The instant: a fixed time as given, a naive one read on `tz`'s clock.
    pub fn to_utc(self, tz: Tz) -> anyhow::Result<DateTime<Utc>> {
        match self {
            ClockTime::Fixed(t) => Ok(t.with_timezone(&Utc)),
            ClockTime::Naive(t) => local_to_utc(t, tz),
        }
    }

    /// The time with an explicit offset: a naive one gets `tz`'s offset at that moment.
    pub fn to_fixed(self, tz: Tz) -> anyhow::Result<DateTime<FixedOffset>> {
        match self {
            ClockTime::Fixed(t) => Ok(t),
            ClockTime::Naive(t) => Ok(local_to_utc(t, tz)?.with_timezone(&tz).fixed_offset()),
        }
    }
}

/// A local clock time in `tz` as an instant. In the hour repeated when clocks go back the
/// earlier instant is taken (a file without offsets cannot tell them apart); a time in
/// the hour skipped when clocks go forward never happened and is refused.
fn local_to_utc(t: NaiveDateTime, tz: Tz) -> anyhow::Result<DateTime<Utc>> {
    match tz.from_local_datetime(&t) {
        LocalResult::Single(local) | LocalResult::Ambiguous(local, _) => Ok(local.with_timezone(&Utc)),
        LocalResult::None => bail!("{t} does not exist in {tz} (the clocks skip it)"),
    }
}

/// An IANA zone name such as `Europe/Berlin`, or `UTC`.
pub fn parse_tz(name: &str) -> anyhow::Result<Tz> {
    Tz::from_str(name.trim())
        .map_err(|_| anyhow!("`{}` is not an IANA time zone (e.g. Europe/Berlin)", clip(name)))
}

/// A finite number from a cell.
pub fn parse_number(text: &str) -> anyhow::Result<f64> {
    match text.trim().parse::<f64>() {
        Ok(x) if x.is_finite() => Ok(x),
        Ok(_) => bail!("`{}` is not a finite number", clip(text)),
        Err(_) => bail!("`{}` is not a number", clip(text)),
    }
}

/// Keeps echoed cells short, so an error stays one readable line.
pub fn clip(text: &str) -> String {
    const MAX_ECHO: usize = 40;
    let one_line = text.replace(['\n', '\r'], " ");
    if one_line.chars().count() <= MAX_ECHO {
        one_line
    } else {
        let head: String = one_line.chars().take(MAX_ECHO).collect();
        format!("{head}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_with_and_without_offsets() {
        let berlin = parse_tz("Europe/Berlin").unwrap();
        let fixed = parse_time("2026-03-01T07:30:00+01:00").unwrap();
        assert_eq!(
            fixed.to_utc(berlin).unwrap().to_rfc3339(),
            "2026-03-01T06:30:00+00:00"
        );
        let spaced = parse_time("2026-03-01 07:30:00.5+01:00").unwrap();
        assert_eq!(
            spaced.to_utc(Tz::UTC).unwrap().to_rfc3339(),
            "2026-03-01T06:30:00.500+00:00"
        );
        let naive = parse_time("2026-07-01 07:30:00").unwrap();
        assert_eq!(
            naive.to_utc(berlin).unwrap().to_rfc3339(),
            "2026-07-01T05:30:00+00:00"
        );
        assert_eq!(naive.to_fixed(berlin).unwrap().offset().local_minus_utc(), 7200);
        let t = parse_time("2026-07-01T07:30:00").unwrap();
        assert_eq!(
            t.to_utc(Tz::UTC).unwrap().to_rfc3339(),
            "2026-07-01T07:30:00+00:00"
        );
        let day = parse_time("2026-07-01").unwrap();
        assert_eq!(
            day.to_utc(Tz::UTC).unwrap().to_rfc3339(),
            "2026-07-01T00:00:00+00:00"
        );
        assert!(parse_time("yesterday").is_err());
        // 02:30 on the spring-forward night never happened in Berlin.
        assert!(parse_time("2026-03-29 02:30:00").unwrap().to_utc(berlin).is_err());
        assert!(parse_tz("Mars/Olympus").is_err());
    }

    #[test]
    fn numbers_must_be_finite() {
        assert_eq!(parse_number(" 1.5 ").unwrap(), 1.5);
        assert!(parse_number("NaN").is_err());
        assert!(parse_number("inf").is_err());
        assert!(parse_number("high").is_err());
    }
}
