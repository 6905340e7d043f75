//! The CLI's CSV reader and time/number/zone parsers (`sprout causal`, `forecast`,
//! `chronotype` read their files through them). The module is private to the binary, so
//! its source file is compiled in here as it is.

#![no_main]

#[allow(dead_code)]
#[path = "../../crates/cli/src/csv_input.rs"]
mod csv_input;

use csv_input::{clip, parse_number, parse_time, parse_tz, CsvFile};
use libfuzzer_sys::fuzz_target;
use std::io::Write;
use std::path::PathBuf;
use std::sync::OnceLock;

/// One scratch file per fuzzing process: `CsvFile::read` reads a path.
fn scratch() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let shm = std::path::Path::new("/dev/shm");
        let dir = if shm.is_dir() {
            shm.to_path_buf()
        } else {
            std::env::temp_dir()
        };
        dir.join(format!("sprout-fuzz-csv-{}.csv", std::process::id()))
    })
}

const ZONES: [&str; 4] = ["UTC", "Europe/Berlin", "America/Sao_Paulo", "Australia/Lord_Howe"];

fuzz_target!(|data: &[u8]| {
    let path = scratch();
    {
        let mut file = std::fs::File::create(path).expect("scratch file");
        file.write_all(data).expect("write scratch file");
    }
    let Ok(csv) = CsvFile::read(path) else {
        return;
    };
    let width = csv.headers().len();
    for (i, name) in csv.headers().iter().enumerate() {
        assert_eq!(csv.column(name).expect("a header is a column"), i);
        let _ = parse_tz(name);
        assert!(clip(name).chars().count() <= 41);
    }
    for row in csv.rows() {
        let _ = csv.at(row);
        for index in 0..width {
            let cell = row.get(index);
            let _ = parse_number(cell);
            if let Ok(time) = parse_time(cell) {
                for zone in ZONES {
                    let tz = parse_tz(zone).expect("known zone");
                    let utc = time.to_utc(tz);
                    let fixed = time.to_fixed(tz);
                    assert_eq!(utc.is_ok(), fixed.is_ok());
                    if let (Ok(utc), Ok(fixed)) = (utc, fixed) {
                        assert_eq!(utc, fixed.with_timezone(&chrono::Utc));
                    }
                }
            }
        }
    }
    for index in 0..width {
        assert_eq!(csv.cells(index).len(), csv.rows().len());
    }
});
