//! Properties of sample ingestion on both backends, for arbitrary batches: rows on a
//! minute grid with repeated instants (also written with different UTC offsets), values
//! at, inside and outside their bounds, valid and invalid rows mixed.
//!
//! Each batch is parsed exactly as the API parses it (`SampleBatch::parse_raw` over the
//! rows' JSON text) and, when valid, inserted. The properties:
//! - a batch with any bad row is refused whole and nothing of it is stored;
//! - a valid batch stores exactly its distinct instants that were not stored before, and
//!   `accepted + duplicates` is its length;
//! - a stored instant keeps its first value: a later batch never overwrites it;
//! - re-sending a batch accepts 0 and leaves the stored rows as they were.

use chrono::{DateTime, Duration, FixedOffset, Utc};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{json, Map, Value};
use sprout_domain::{ChildId, Email, NewChild, Sample, SampleBatch, SleepState};
use sprout_store::testing::TestDb;
use sprout_store::{Backend, Store, TimeRange};
use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};

/// Cases per backend: enough to mix every fault with duplicates, quick in a debug build.
const CASES: u32 = 32;

/// What is wrong with a row, if anything.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Fault {
    None,
    StressAboveOne,
    StressNegative,
    HeartRateTooLow,
    HeartRateTooHigh,
    StepsNegative,
    HrvTooHigh,
    NaiveTime,
    Before2000,
    DaysAhead,
    NoValue,
    UnknownSleepState,
    WrongType,
    UnknownField,
}

const FAULTS: [Fault; 13] = [
    Fault::StressAboveOne,
    Fault::StressNegative,
    Fault::HeartRateTooLow,
    Fault::HeartRateTooHigh,
    Fault::StepsNegative,
    Fault::HrvTooHigh,
    Fault::NaiveTime,
    Fault::Before2000,
    Fault::DaysAhead,
    Fault::NoValue,
    Fault::UnknownSleepState,
    Fault::WrongType,
    Fault::UnknownField,
];

/// One row as a device would send it.
#[derive(Debug, Clone)]
struct Row {
    /// Minutes after the grid's start; a small range, so instants repeat.
    minute: i64,
    /// The UTC offset the time is written with, in hours: the instant is the same.
    offset_h: i32,
    /// Hundredths: 0 and 100 are the bounds themselves.
    stress: u8,
    heart_rate: Option<u16>,
    hrv_ms: Option<u16>,
    steps: Option<u32>,
    sleep_state: Option<usize>,
    fault: Fault,
}

fn grid_start() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2025-06-01T00:00:00Z")
        .expect("grid start")
        .with_timezone(&Utc)
}

impl Row {
    fn instant(&self) -> DateTime<Utc> {
        grid_start() + Duration::minutes(self.minute)
    }

    /// The row's JSON text, as it arrives in a request body.
    fn json(&self) -> String {
        let offset = FixedOffset::east_opt(self.offset_h * 3600).expect("offset");
        let mut time = self.instant().with_timezone(&offset).to_rfc3339();
        let mut row = Map::new();
        row.insert("stress_level".into(), json!(f64::from(self.stress) / 100.0));
        if let Some(hr) = self.heart_rate {
            row.insert("heart_rate".into(), json!(f64::from(hr)));
        }
        if let Some(hrv) = self.hrv_ms {
            row.insert("hrv_ms".into(), json!(f64::from(hrv)));
        }
        if let Some(steps) = self.steps {
            row.insert("steps".into(), json!(steps));
        }
        if let Some(state) = self.sleep_state {
            row.insert("sleep_state".into(), json!(SleepState::ALL[state].as_str()));
        }
        match self.fault {
            Fault::None => {}
            Fault::StressAboveOne => {
                row.insert(
                    "stress_level".into(),
                    json!(1.0 + f64::from(self.stress + 1) / 100.0),
                );
            }
            Fault::StressNegative => {
                row.insert("stress_level".into(), json!(-f64::from(self.stress + 1) / 100.0));
            }
            Fault::HeartRateTooLow => {
                row.insert("heart_rate".into(), json!(19.5));
            }
            Fault::HeartRateTooHigh => {
                row.insert("heart_rate".into(), json!(260.5));
            }
            Fault::StepsNegative => {
                row.insert("steps".into(), json!(-1));
            }
            Fault::HrvTooHigh => {
                row.insert("hrv_ms".into(), json!(1_000.5));
            }
            Fault::NaiveTime => time = self.instant().naive_utc().format("%Y-%m-%d %H:%M:%S").to_string(),
            Fault::Before2000 => time = "1999-12-31T23:59:00Z".to_owned(),
            Fault::DaysAhead => time = (Utc::now() + Duration::days(3)).to_rfc3339(),
            Fault::NoValue => row.clear(),
            Fault::UnknownSleepState => {
                row.insert("sleep_state".into(), json!("dozing"));
            }
            Fault::WrongType => {
                row.insert("stress_level".into(), json!("high"));
            }
            Fault::UnknownField => {
                row.insert("mood".into(), json!("fine"));
            }
        }
        row.insert("time".into(), Value::String(time));
        Value::Object(row).to_string()
    }

    /// The sample this row should become when it is valid.
    fn expected(&self) -> Sample {
        Sample {
            time: self.instant(),
            stress_level: Some(f64::from(self.stress) / 100.0),
            heart_rate: self.heart_rate.map(f64::from),
            hrv_ms: self.hrv_ms.map(f64::from),
            sleep_state: self.sleep_state.map(|s| SleepState::ALL[s]),
            steps: self.steps.map(i64::from),
        }
    }
}

fn fault() -> impl Strategy<Value = Fault> {
    prop_oneof![
        6 => Just(Fault::None),
        1 => proptest::sample::select(FAULTS.to_vec()),
    ]
}

fn row() -> impl Strategy<Value = Row> {
    (
        (0i64..40, -5i32..=5, 0u8..=100),
        (
            proptest::option::of(20u16..=260),
            proptest::option::of(0u16..=1_000),
            proptest::option::of(0u32..=100_000),
            proptest::option::of(0usize..SleepState::ALL.len()),
        ),
        fault(),
    )
        .prop_map(
            |((minute, offset_h, stress), (heart_rate, hrv_ms, steps, sleep_state), fault)| Row {
                minute,
                offset_h,
                stress,
                heart_rate,
                hrv_ms,
                steps,
                sleep_state,
                fault,
            },
        )
}

/// A batch of 1 to 60 rows; half the batches are forced valid so both outcomes are common.
fn batch() -> impl Strategy<Value = Vec<Row>> {
    (any::<bool>(), proptest::collection::vec(row(), 1..=60)).prop_map(|(all_valid, mut rows)| {
        if all_valid {
            for row in &mut rows {
                row.fault = Fault::None;
            }
        }
        rows
    })
}

async fn fresh_child(store: &dyn Store) -> ChildId {
    let mail = format!("p-{}@example.org", uuid::Uuid::new_v4().simple());
    let (family, _) = store
        .create_family("Property family", &Email::parse(&mail).expect("email"), "hash")
        .await
        .expect("family");
    let child = NewChild::parse("Mia", "2016-04-01", "Europe/Berlin", Utc::now()).expect("child");
    store.create_child(family, &child).await.expect("child").id
}

async fn stored(store: &dyn Store, child: ChildId) -> Vec<Sample> {
    let all = TimeRange { from: None, to: None };
    store
        .samples(child, all, None, 100_000)
        .await
        .expect("read samples")
}

/// Sends `rows` as the API would and checks the outcome against `model` (the instants
/// stored so far with their values), which it then updates.
async fn send(store: &dyn Store, child: ChildId, rows: &[Row], model: &mut BTreeMap<DateTime<Utc>, Sample>) {
    let texts: Vec<String> = rows.iter().map(Row::json).collect();
    let parsed = SampleBatch::parse_raw(texts.iter().map(String::as_str), Utc::now());
    let valid = rows.iter().all(|r| r.fault == Fault::None);
    let before = stored(store, child).await;
    let Ok(batch) = parsed else {
        assert!(!valid, "a valid batch was refused: {parsed:?}\n{texts:#?}");
        // Refused at the edge: nothing reaches the store, nothing changes.
        assert_eq!(stored(store, child).await, before);
        return;
    };
    assert!(valid, "a batch with a bad row was accepted:\n{texts:#?}");
    assert_eq!(batch.len(), rows.len());
    let new_instants: BTreeSet<DateTime<Utc>> = rows
        .iter()
        .map(Row::instant)
        .filter(|t| !model.contains_key(t))
        .collect();

    let outcome = store.insert_samples(child, &batch).await.expect("insert");
    assert_eq!(
        outcome.accepted,
        new_instants.len() as u64,
        "accepted: distinct new instants"
    );
    assert_eq!(outcome.accepted + outcome.duplicates, rows.len() as u64);

    let after = stored(store, child).await;
    let after_map: BTreeMap<DateTime<Utc>, Sample> = after.iter().map(|s| (s.time, s.clone())).collect();
    assert_eq!(after_map.len(), after.len(), "one row per instant");
    for (time, old) in model.iter() {
        assert_eq!(
            after_map.get(time),
            Some(old),
            "a stored instant is never overwritten"
        );
    }
    for time in &new_instants {
        let candidates: Vec<Sample> = rows
            .iter()
            .filter(|r| r.instant() == *time)
            .map(Row::expected)
            .collect();
        let kept = after_map.get(time).expect("a new instant is stored");
        assert!(candidates.contains(kept), "{kept:?} is none of {candidates:?}");
        model.insert(*time, kept.clone());
    }
    assert_eq!(
        after_map.len(),
        model.len(),
        "nothing but the batch's instants is stored"
    );

    // The same batch again: nothing new, nothing changed.
    let again = store.insert_samples(child, &batch).await.expect("re-send");
    assert_eq!(again.accepted, 0, "a re-sent batch accepts nothing");
    assert_eq!(again.duplicates, rows.len() as u64);
    assert_eq!(
        stored(store, child).await,
        after,
        "a re-sent batch changes nothing"
    );
}

fn check(backend: Backend) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let db = runtime.block_on(TestDb::new(backend));
    let mut runner = TestRunner::new(Config {
        cases: CASES,
        source_file: Some(file!()),
        ..Config::default()
    });
    let valid_batches = Cell::new(0u32);
    let refused_batches = Cell::new(0u32);
    let result = runner.run(&(batch(), batch()), |(first, second)| {
        for rows in [&first, &second] {
            if rows.iter().all(|r| r.fault == Fault::None) {
                valid_batches.set(valid_batches.get() + 1);
            } else {
                refused_batches.set(refused_batches.get() + 1);
            }
        }
        runtime.block_on(async {
            let store = db.store.as_ref();
            let child = fresh_child(store).await;
            let mut model = BTreeMap::new();
            // Two batches to one child: the second overlaps the first on the grid.
            send(store, child, &first, &mut model).await;
            send(store, child, &second, &mut model).await;
        });
        Ok(())
    });
    println!(
        "{backend:?}: {CASES} cases, {} valid and {} refused batches (shrinking included)",
        valid_batches.get(),
        refused_batches.get()
    );
    drop(db);
    if let Err(failure) = result {
        panic!("{backend:?}: {failure}");
    }
}

#[test]
fn batches_are_all_or_nothing_and_idempotent_on_sqlite() {
    check(Backend::Sqlite);
}

#[test]
fn batches_are_all_or_nothing_and_idempotent_on_postgres() {
    check(Backend::Postgres);
}
