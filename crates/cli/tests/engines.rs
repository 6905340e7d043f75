//! `sprout causal`, `sprout forecast` and `sprout chronotype` as a user runs them: CSV
//! files in, one JSON object or a one-line error out.

use serde_json::Value;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const SPROUT: &str = env!("CARGO_BIN_EXE_sprout");

/// Runs `sprout` with the words of `template`, `{0}`, `{1}`, ... standing for `paths`
/// (so a path with a space stays one argument).
fn sprout(template: &str, paths: &[&Path]) -> Output {
    let args: Vec<String> = template
        .split_whitespace()
        .map(|word| {
            paths.iter().enumerate().fold(word.to_owned(), |w, (i, p)| {
                w.replace(&format!("{{{i}}}"), &p.to_string_lossy())
            })
        })
        .collect();
    Command::new(SPROUT).args(&args).output().expect("run sprout")
}

/// Runs a command that must succeed and print one JSON object.
fn json(template: &str, paths: &[&Path]) -> Value {
    let output = sprout(template, paths);
    assert!(
        output.status.success(),
        "{template} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("one JSON object on stdout")
}

/// Runs a command that must fail with one line on stderr; returns that line.
fn fails(template: &str, paths: &[&Path]) -> String {
    let output = sprout(template, paths);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(!output.status.success(), "{template} should fail");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{template}: one stderr line, got {stderr:?}");
    assert!(lines[0].starts_with("error"), "{template}: {stderr:?}");
    lines[0].to_owned()
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write fixture");
    path
}

/// A committed fixture, or another crate's test data.
fn committed(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

fn f(v: &Value) -> f64 {
    v.as_f64().expect("number")
}

/// A small seeded generator (SplitMix64) so fixtures are the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn uniform(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn normal(&mut self) -> f64 {
        let u = self.uniform().max(1e-12);
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * self.uniform()).cos()
    }
}

const TRUE_EFFECT: f64 = -0.15;

/// Confounded data: `x` raises both the chance of treatment and the outcome.
fn confounded_csv(n: usize, seed: u64) -> String {
    let mut rng = Rng(seed);
    let mut csv = String::from("x,t,y\n");
    for _ in 0..n {
        let x = rng.normal();
        let p = 1.0 / (1.0 + (-1.2 * x).exp());
        let t = u8::from(rng.uniform() < p);
        let y = 0.5 + 0.4 * x + TRUE_EFFECT * f64::from(t) + 0.2 * rng.normal();
        writeln!(csv, "{x:.5},{t},{y:.5}").expect("write");
    }
    csv
}

#[test]
fn every_engine_command_has_help() {
    for command in ["causal", "forecast", "chronotype"] {
        let output = sprout(&format!("{command} --help"), &[]);
        assert!(output.status.success(), "{command}");
        assert!(
            String::from_utf8_lossy(&output.stdout).contains("--data"),
            "{command}"
        );
    }
}

#[test]
fn causal_recovers_a_confounded_effect() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = write(dir.path(), "sim.csv", &confounded_csv(400, 7));
    // Without adjustment the confounder hides the effect.
    let naive = json(
        "causal --data {0} --treatment t --outcome y --method naive --json",
        &[&data],
    );
    assert!(f(&naive["estimate"]) > 0.0, "{naive}");
    for method in ["regression", "aipw"] {
        let out = json(
            &format!(
                "causal --data {{0}} --treatment t --outcome y --common-causes x --method {method} --json"
            ),
            &[&data],
        );
        assert_eq!(out["method"], method);
        assert_eq!(out["estimand"], "ate");
        assert_eq!(out["n"], 400);
        let (estimate, lo, hi) = (f(&out["estimate"]), f(&out["ci"][0]), f(&out["ci"][1]));
        assert!(lo <= TRUE_EFFECT && TRUE_EFFECT <= hi, "{method}: {out}");
        assert!(
            (estimate - TRUE_EFFECT).abs() <= (hi - lo) / 2.0,
            "{method}: {out}"
        );
        assert_eq!(out["refutations"], serde_json::json!([]));
    }
    // The other adjusting methods run and see a negative effect.
    for method in ["ipw", "ps_stratification", "ps_matching"] {
        let out = json(
            &format!(
                "causal --data {{0}} --treatment t --outcome y --common-causes x --method {method} --estimand att --json"
            ),
            &[&data],
        );
        assert_eq!(out["estimand"], "att");
        assert!(f(&out["estimate"]) < 0.0, "{method}: {out}");
    }
    // The default method is aipw, and the human summary names it.
    let output = sprout(
        "causal --data {0} --treatment t --outcome y --common-causes x",
        &[&data],
    );
    assert!(output.status.success());
    assert!(String::from_utf8_lossy(&output.stdout).starts_with("aipw ATE"));
}

#[test]
fn causal_uses_an_instrument() {
    // `u` is hidden: it drives both treatment and outcome; `z` moves only the treatment.
    let dir = tempfile::tempdir().expect("tempdir");
    let mut rng = Rng(17);
    let mut csv = String::from("z,t,y\n");
    for _ in 0..2000 {
        let (z, u) = (u8::from(rng.uniform() < 0.5), rng.normal());
        let p = 0.15 + 0.5 * f64::from(z) + 0.3 * f64::from(u8::from(u > 0.0));
        let t = u8::from(rng.uniform() < p);
        let y = 0.3 * u + TRUE_EFFECT * f64::from(t) + 0.1 * rng.normal();
        writeln!(csv, "{z},{t},{y:.5}").expect("write");
    }
    let data = write(dir.path(), "iv.csv", &csv);
    let naive = json(
        "causal --data {0} --treatment t --outcome y --method naive --json",
        &[&data],
    );
    assert!(f(&naive["ci"][0]) > TRUE_EFFECT, "{naive}");
    let out = json(
        "causal --data {0} --treatment t --outcome y --method iv --instruments z --json",
        &[&data],
    );
    assert_eq!(out["method"], "iv");
    assert!(
        f(&out["ci"][0]) <= TRUE_EFFECT && TRUE_EFFECT <= f(&out["ci"][1]),
        "{out}"
    );
    assert!(f(&out["diagnostics"]["first_stage_f"]) > 10.0, "{out}");
}

#[test]
fn causal_refutations_have_names() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = write(dir.path(), "sim.csv", &confounded_csv(200, 11));
    let out = json(
        "causal --data {0} --treatment t --outcome y --common-causes x --method regression --refute --json",
        &[&data],
    );
    let refutations = out["refutations"].as_array().expect("refutations");
    assert!(refutations.len() >= 3, "{out}");
    let names: Vec<&str> = refutations
        .iter()
        .map(|r| r["name"].as_str().expect("name"))
        .collect();
    assert!(names.contains(&"placebo_treatment"), "{names:?}");
    for r in refutations {
        assert!(r["new_effect"].is_number() && r["passed"].is_boolean(), "{r}");
        assert!(r.get("p_value").is_some() && r["explanation"].is_string(), "{r}");
    }
}

#[test]
fn causal_accepts_text_treatment_levels() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut rng = Rng(3);
    let mut csv = String::from("day,activity,sleep_hours,stress\n");
    let mut kept = 0;
    for day in 0..300 {
        let sleep = 8.0 + 0.7 * rng.normal();
        let u = rng.uniform() + 0.15 * (sleep - 8.0);
        let activity = if u < 0.35 {
            "none"
        } else if u < 0.7 {
            "mindfulness"
        } else {
            "outdoor"
        };
        kept += u64::from(activity != "outdoor");
        let effect = match activity {
            "mindfulness" => TRUE_EFFECT,
            "outdoor" => -0.3,
            _ => 0.0,
        };
        let stress = 0.6 - 0.1 * (sleep - 8.0) + effect + 0.1 * rng.normal();
        writeln!(csv, "{day},{activity},{sleep:.3},{stress:.4}").expect("write");
    }
    let data = write(dir.path(), "activities.csv", &csv);
    let template = "causal --data {0} --treatment activity --outcome stress --common-causes sleep_hours \
                    --treated-value mindfulness --control-value none --method regression --json";
    let out = json(template, &[&data]);
    assert_eq!(out["n"].as_u64(), Some(kept), "{out}");
    let (lo, hi) = (f(&out["ci"][0]), f(&out["ci"][1]));
    assert!(lo <= TRUE_EFFECT && TRUE_EFFECT <= hi, "{out}");
    assert_eq!(out["treated_value"], "mindfulness");
    assert_eq!(
        out["diagnostics"]["rows_other_treatment"].as_u64(),
        Some(300 - kept)
    );
    // A bootstrap interval is reproducible and says so.
    let boot = json(&format!("{template} --bootstrap 50 --seed 9"), &[&data]);
    assert_eq!(
        boot,
        json(&format!("{template} --bootstrap 50 --seed 9"), &[&data])
    );
    assert!(boot["diagnostics"]["ci_method"]
        .as_str()
        .expect("ci_method")
        .contains("bootstrap"));
}

#[test]
fn causal_reproduces_the_lalonde_experiment() {
    let data = committed("../causal/tests/data/nsw_mixtape.csv");
    let out = json(
        "causal --data {0} --treatment treat --outcome re78 --method naive --json",
        &[&data],
    );
    assert!((f(&out["estimate"]) - 1794.34).abs() < 0.01, "{out}");
    assert_eq!(out["n_treated"], 185);
    assert_eq!(out["n_control"], 260);
    let out = json(
        "causal --data {0} --treatment treat --outcome re78 --method regression --json",
        &[&data],
    );
    assert!((f(&out["estimate"]) - 1794.34).abs() < 0.01, "{out}");
    // Adjusting for the pre-treatment covariates keeps the experimental answer inside the interval.
    let out = json(
        "causal --data {0} --treatment treat --outcome re78 \
         --common-causes age,educ,black,hisp,marr,nodegree,re74,re75 --json",
        &[&data],
    );
    assert!(f(&out["ci"][0]) < 1794.34 && 1794.34 < f(&out["ci"][1]), "{out}");
}

#[test]
fn causal_bad_input_is_one_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let good = write(dir.path(), "good.csv", &confounded_csv(60, 5));
    let text_outcome = write(
        dir.path(),
        "text.csv",
        "x,t,y\n0.1,1,0.5\n0.2,0,high\n0.3,1,0.4\n0.1,0,0.2\n",
    );
    let one_level = write(
        dir.path(),
        "one.csv",
        "x,t,y\n0.1,1,0.5\n0.2,1,0.6\n0.3,1,0.4\n0.1,1,0.2\n0.5,1,0.1\n",
    );
    let few = write(dir.path(), "few.csv", "x,t,y\n0.1,1,0.5\n0.2,0,0.6\n");
    let ragged = write(dir.path(), "ragged.csv", "x,t,y\n0.1,1,0.5\n0.2,0\n");
    let absent = dir.path().join("absent.csv");
    let base = "causal --data {0} --treatment t --outcome y --common-causes x --json";
    let line = fails(
        "causal --data {0} --treatment t --outcome stress --common-causes x --json",
        &[&good],
    );
    assert!(line.contains("stress"), "{line}");
    let line = fails(base, &[&text_outcome]);
    assert!(line.contains("line 3") && line.contains("high"), "{line}");
    let line = fails(base, &[&one_level]);
    assert!(line.contains("one treatment level"), "{line}");
    let line = fails(base, &[&few]);
    assert!(line.contains("too few rows"), "{line}");
    let line = fails(base, &[&ragged]);
    assert!(line.contains("line 3"), "{line}");
    let line = fails(&format!("{base} --method magic"), &[&good]);
    assert!(line.contains("magic"), "{line}");
    let line = fails(&format!("{base} --estimand everyone"), &[&good]);
    assert!(line.contains("everyone"), "{line}");
    fails(&format!("{base} --method iv"), &[&good]);
    fails(&format!("{base} --treated-value 2 --control-value 0"), &[&good]);
    fails(&format!("{base} --bootstrap 3"), &[&good]);
    fails(base, &[&absent]);
}

/// `days` of hourly values with a daily cycle, from 2026-03-02 00:00 UTC, and bumps
/// before the 09:00 tests listed in the returned events CSV.
fn hourly_csv(days: usize, seed: u64) -> (String, String) {
    let mut rng = Rng(seed);
    let mut csv = String::from("time,stress\n");
    let mut events = String::from("start,event_type\n");
    for day in 0..days {
        let test_day = day % 4 == 2;
        if test_day {
            writeln!(events, "2026-03-{:02}T09:00:00Z,math_test", 2 + day).expect("write");
        }
        for hour in 0..24 {
            let cycle = (hour as f64 / 24.0 * std::f64::consts::TAU).sin();
            let bump = if test_day && (3..9).contains(&hour) {
                0.15
            } else {
                0.0
            };
            let value = 0.4 + 0.2 * cycle + bump + 0.03 * rng.normal();
            writeln!(csv, "2026-03-{:02}T{hour:02}:00:00Z,{value:.4}", 2 + day).expect("write");
        }
    }
    (csv, events)
}

#[test]
fn forecast_gives_a_day_ahead_with_intervals() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (csv, _) = hourly_csv(20, 1);
    let data = write(dir.path(), "stress.csv", &csv);
    let out = json(
        "forecast --data {0} --time time --value stress --horizon 24 --json",
        &[&data],
    );
    assert_eq!(out["horizon"], 24);
    assert!((f(&out["level"]) - 0.8).abs() < 1e-12);
    assert!(out["model"].is_string());
    let times: Vec<chrono::DateTime<chrono::Utc>> = out["times"]
        .as_array()
        .expect("times")
        .iter()
        .map(|t| t.as_str().expect("time").parse().expect("RFC 3339"))
        .collect();
    assert_eq!(times.len(), 24);
    // The input ends 2026-03-21 23:00; the forecast starts the hour after.
    assert_eq!(times[0].to_rfc3339(), "2026-03-22T00:00:00+00:00");
    assert!(times.windows(2).all(|w| (w[1] - w[0]).num_minutes() == 60));
    for key in ["mean", "lower", "upper"] {
        assert_eq!(out[key].as_array().expect(key).len(), 24, "{key}");
    }
    for i in 0..24 {
        let (lo, mean, hi) = (f(&out["lower"][i]), f(&out["mean"][i]), f(&out["upper"][i]));
        assert!(lo <= mean && mean <= hi, "step {i}: {lo} {mean} {hi}");
    }
    // The daily cycle carries over: 06:00 (peak of the sine) above 18:00 (trough).
    assert!(f(&out["mean"][6]) > f(&out["mean"][18]) + 0.2, "{out}");
    // The human summary prints one line per step after its heading.
    let output = sprout("forecast --data {0} --value stress --horizon 6", &[&data]);
    assert_eq!(String::from_utf8_lossy(&output.stdout).lines().count(), 7);
}

#[test]
fn forecast_uses_known_future_events_and_skips_gaps() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut csv, mut events) = hourly_csv(20, 2);
    // An empty value is a gap, not an error.
    csv.push_str("2026-03-21T23:30:00Z,\n");
    // A test the morning after the history ends, given as a naive time.
    events.push_str("2026-03-22 09:00:00,math_test\n");
    let data = write(dir.path(), "stress.csv", &csv);
    let events = write(dir.path(), "events.csv", &events);
    let out = json(
        "forecast --data {0} --value stress --horizon 24 --events {1} --level 0.9 --bounds 0,1 --json",
        &[&data, &events],
    );
    let used = out["events_used"].as_array().expect("events_used");
    assert_eq!(used.len(), 1, "{out}");
    assert_eq!(used[0]["kind"], "math_test");
    assert_eq!(used[0]["at"], "2026-03-22T09:00:00Z");
    assert!((f(&out["level"]) - 0.9).abs() < 1e-12);
    for i in 0..24 {
        assert!((0.0..=1.0).contains(&f(&out["lower"][i])) && f(&out["upper"][i]) <= 1.0);
    }
    // Thirty-minute steps: the last observation (23:00) fills the step up to 23:30.
    let out = json(
        "forecast --data {0} --value stress --horizon 48 --step-minutes 30 --json",
        &[&data],
    );
    assert_eq!(out["times"][0], "2026-03-21T23:30:00Z", "{out}");
    assert_eq!(out["times"][1], "2026-03-22T00:00:00Z", "{out}");
}

#[test]
fn forecast_bad_input_is_one_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = write(
        dir.path(),
        "text.csv",
        "time,value\n2026-03-02T00:00:00Z,0.1\n2026-03-02T01:00:00Z,high\n",
    );
    let nan = write(
        dir.path(),
        "nan.csv",
        "time,value\n2026-03-02T00:00:00Z,0.1\n2026-03-02T01:00:00Z,NaN\n",
    );
    let few = write(
        dir.path(),
        "few.csv",
        "time,value\n2026-03-02T00:00:00Z,0.1\n2026-03-02T01:00:00Z,0.2\n",
    );
    let bad_time = write(dir.path(), "time.csv", "time,value\nsoon,0.1\n");
    let (csv, _) = hourly_csv(5, 4);
    let good = write(dir.path(), "good.csv", &csv);
    let bad_events = write(
        dir.path(),
        "events.csv",
        "start,event_type\n2026-03-02,math_test\nlater,party\n",
    );
    let line = fails("forecast --data {0} --json", &[&text]);
    assert!(line.contains("line 3") && line.contains("high"), "{line}");
    assert!(fails("forecast --data {0} --json", &[&nan]).contains("line 3"));
    assert!(fails("forecast --data {0} --json", &[&few]).contains("at least"));
    assert!(fails("forecast --data {0} --json", &[&bad_time]).contains("line 2"));
    let line = fails("forecast --data {0} --value stress_level --json", &[&good]);
    assert!(line.contains("stress_level"), "{line}");
    let line = fails(
        "forecast --data {0} --value stress --events {1}",
        &[&good, &bad_events],
    );
    assert!(line.contains("line 3"), "{line}");
    fails("forecast --data {0} --value stress --horizon 0", &[&good]);
    fails("forecast --data {0} --value stress --level 1.5", &[&good]);
    fails("forecast --data {0} --value stress --model prophet", &[&good]);
    fails("forecast --data {0} --value stress --bounds 1,0", &[&good]);
}

/// Nights from Sunday 2026-03-01 on: school nights (before Monday to Friday) from
/// `school` to `school_wake`, free nights (before Saturday and Sunday) from `free` to
/// `free_wake`, in hours after midnight of the evening's date (`25.0` is 01:00).
struct Sleeper {
    school: f64,
    school_wake: f64,
    free: f64,
    free_wake: f64,
}

/// Mid-sleep 02:45 on school nights and 05:30 on free nights.
const NIGHT_OWL: Sleeper = Sleeper {
    school: 22.5,
    school_wake: 31.0,
    free: 25.0,
    free_wake: 34.0,
};

/// Mid-sleep 01:15 on school nights and 01:30 on free nights.
const EARLY_BIRD: Sleeper = Sleeper {
    school: 20.0,
    school_wake: 30.5,
    free: 20.0,
    free_wake: 31.0,
};

fn at(date: chrono::NaiveDate, hours: f64) -> chrono::NaiveDateTime {
    date.and_time(chrono::NaiveTime::MIN) + chrono::Duration::minutes((hours * 60.0).round() as i64)
}

/// The nights as (onset, offset) local clock times.
fn nights(sleeper: &Sleeper, count: u64) -> Vec<(chrono::NaiveDateTime, chrono::NaiveDateTime)> {
    use chrono::Datelike;
    let first = chrono::NaiveDate::from_ymd_opt(2026, 3, 1).expect("date");
    (0..count)
        .map(|d| {
            let evening = first + chrono::Days::new(d);
            let morning = evening.succ_opt().expect("date");
            let free = matches!(morning.weekday(), chrono::Weekday::Sat | chrono::Weekday::Sun);
            let (onset, wake) = if free {
                (sleeper.free, sleeper.free_wake)
            } else {
                (sleeper.school, sleeper.school_wake)
            };
            (at(evening, onset), at(evening, wake))
        })
        .collect()
}

/// An episodes CSV; `suffix` is appended to every time (e.g. `+01:00`).
fn episodes_csv(sleeper: &Sleeper, count: u64, separator: char, suffix: &str) -> String {
    let format = format!("%Y-%m-%d{separator}%H:%M:%S");
    let mut csv = String::from("onset,offset\n");
    for (onset, offset) in nights(sleeper, count) {
        writeln!(
            csv,
            "{}{suffix},{}{suffix}",
            onset.format(&format),
            offset.format(&format)
        )
        .expect("write");
    }
    csv
}

#[test]
fn chronotype_tells_owls_from_larks() {
    let dir = tempfile::tempdir().expect("tempdir");
    let owl = write(dir.path(), "owl.csv", &episodes_csv(&NIGHT_OWL, 28, 'T', "Z"));
    let out = json("chronotype --data {0} --json", &[&owl]);
    assert_eq!(out["status"], "ok", "{out}");
    assert_eq!(out["chronotype"], "night_owl", "{out}");
    assert!((f(&out["msf_hours"]) - 5.5).abs() < 1e-6, "{out}");
    assert!(f(&out["msf_sc_hours"]) >= 4.5, "{out}");
    assert!(f(&out["social_jetlag_hours"]) > 2.0, "{out}");
    assert_eq!(out["nights_used"], 28);
    assert!(f(&out["confidence"]) > 0.5, "{out}");

    let lark = write(
        dir.path(),
        "lark.csv",
        &episodes_csv(&EARLY_BIRD, 28, 'T', "+00:00"),
    );
    let out = json("chronotype --data {0} --age 8 --json", &[&lark]);
    assert_eq!(out["chronotype"], "early_bird", "{out}");
    assert!(f(&out["msf_sc_hours"]) < 3.0, "{out}");

    // Times with an offset are read on that offset's clock, whatever --tz says.
    let travel = write(
        dir.path(),
        "travel.csv",
        &episodes_csv(&NIGHT_OWL, 28, 'T', "+05:00"),
    );
    let out = json("chronotype --data {0} --tz America/New_York --json", &[&travel]);
    assert!((f(&out["msf_hours"]) - 5.5).abs() < 1e-6, "{out}");

    // The human summary names the type.
    let output = sprout("chronotype --data {0}", &[&owl]);
    assert!(String::from_utf8_lossy(&output.stdout).starts_with("night owl"));
}

#[test]
fn chronotype_reads_naive_times_in_the_given_zone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let owl = write(dir.path(), "owl.csv", &episodes_csv(&NIGHT_OWL, 28, ' ', ""));
    let utc = json("chronotype --data {0} --json", &[&owl]);
    assert!((f(&utc["msf_hours"]) - 5.5).abs() < 1e-6, "{utc}");
    let berlin = json("chronotype --data {0} --tz Europe/Berlin --json", &[&owl]);
    assert_eq!(berlin["chronotype"], "night_owl", "{berlin}");
    // Clocks go forward in Berlin during the last free night (01:00 to 10:00 local is
    // eight hours), which moves its mid-sleep to 06:00: one of eight free nights an hour later.
    assert_eq!(berlin["free_nights"], 8);
    assert!(
        (f(&berlin["msf_hours"]) - (5.5 + 1.0 / 8.0 * 0.5)).abs() < 1e-6,
        "{berlin}"
    );
    fails("chronotype --data {0} --tz Europe/Atlantis", &[&owl]);
}

#[test]
fn chronotype_with_too_few_nights_is_an_honest_answer() {
    let dir = tempfile::tempdir().expect("tempdir");
    let short = write(dir.path(), "short.csv", &episodes_csv(&NIGHT_OWL, 5, 'T', "Z"));
    let out = json("chronotype --data {0} --json", &[&short]);
    assert_eq!(out["status"], "insufficient_data");
    assert_eq!(out["chronotype"], Value::Null);
    assert_eq!(out["nights_used"], 5);
    let output = sprout("chronotype --data {0}", &[&short]);
    assert!(output.status.success());
    assert!(String::from_utf8_lossy(&output.stdout).starts_with("insufficient data"));
}

#[test]
fn chronotype_from_sleep_states() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut csv = String::from("time,heart_rate,sleep_state\n");
    for (onset, offset) in nights(&NIGHT_OWL, 21) {
        // Ten-minute epochs from an hour before sleep to an hour after waking.
        let mut t = onset - chrono::Duration::hours(1);
        while t < offset + chrono::Duration::hours(1) {
            let state = if t < onset || t >= offset {
                "awake"
            } else {
                "light"
            };
            let time = t.format("%Y-%m-%dT%H:%M:%S+01:00");
            writeln!(csv, "{time},,{state}").expect("write");
            // A heart-rate row without a sleep state is skipped.
            writeln!(csv, "{time},70,").expect("write");
            t += chrono::Duration::minutes(10);
        }
    }
    let data = write(dir.path(), "states.csv", &csv);
    let out = json("chronotype --data {0} --json", &[&data]);
    assert_eq!(out["chronotype"], "night_owl", "{out}");
    assert_eq!(out["nights_used"], 21);
    // Read on the samples' own +01:00 clock, not on UTC.
    assert!((f(&out["msf_hours"]) - 5.5).abs() < 0.1, "{out}");
}

#[test]
fn chronotype_calendar_overrides_free_nights() {
    let dir = tempfile::tempdir().expect("tempdir");
    let owl = write(dir.path(), "owl.csv", &episodes_csv(&NIGHT_OWL, 28, 'T', "Z"));
    let plain = json("chronotype --data {0} --json", &[&owl]);
    // A holiday Wednesday makes Tuesday night free (slept like a school night); a
    // Saturday school event makes Friday night a school night.
    let swap = write(
        dir.path(),
        "swap.csv",
        "date,day_type\n2026-03-11,free\n2026-03-14,School\n",
    );
    let out = json("chronotype --data {0} --calendar {1} --json", &[&owl, &swap]);
    assert_eq!(out["free_nights"], plain["free_nights"]);
    assert!(f(&out["msf_hours"]) < f(&plain["msf_hours"]), "{out}");
    let holiday = write(
        dir.path(),
        "holiday.csv",
        "date,day_type\n2026-03-16,free\n2026-03-17,free\n2026-03-18,free\n",
    );
    let out = json("chronotype --data {0} --calendar {1} --json", &[&owl, &holiday]);
    assert_eq!(f(&out["free_nights"]), f(&plain["free_nights"]) + 3.0, "{out}");
    assert_eq!(
        f(&out["school_nights"]),
        f(&plain["school_nights"]) - 3.0,
        "{out}"
    );
}

#[test]
fn chronotype_bad_rows_name_their_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut csv = episodes_csv(&NIGHT_OWL, 3, 'T', "Z");
    csv.push_str("2026-03-05T22:00:00Z,whenever\n");
    let bad_time = write(dir.path(), "bad.csv", &csv);
    let line = fails("chronotype --data {0} --json", &[&bad_time]);
    assert!(line.contains("line 5") && line.contains("whenever"), "{line}");
    let backwards = write(
        dir.path(),
        "backwards.csv",
        "onset,offset\n2026-03-01T22:00:00Z,2026-03-02T07:00:00Z\n2026-03-02T22:00:00Z,2026-03-02T07:00:00Z\n",
    );
    assert!(fails("chronotype --data {0}", &[&backwards]).contains("line 3"));
    let state = write(
        dir.path(),
        "state.csv",
        "time,sleep_state\n2026-03-01T22:00:00Z,dreaming\n",
    );
    assert!(fails("chronotype --data {0}", &[&state]).contains("line 2"));
    let calendar = write(dir.path(), "calendar.csv", "date,day_type\n2026-03-11,holiday\n");
    let owl = write(dir.path(), "owl.csv", &episodes_csv(&NIGHT_OWL, 3, 'T', "Z"));
    assert!(fails("chronotype --data {0} --calendar {1}", &[&owl, &calendar]).contains("line 2"));
    let other = write(dir.path(), "other.csv", "start,end\n1,2\n");
    assert!(fails("chronotype --data {0}", &[&other]).contains("onset,offset"));
    fails("chronotype --data {0} --age=-3", &[&owl]);
}

#[test]
fn committed_fixtures_run() {
    let interventions = committed("tests/data/interventions.csv");
    let out = json(
        "causal --data {0} --treatment intervention --outcome evening_stress \
         --common-causes school_day,sleep_hours --treated-value mindfulness --control-value none \
         --method regression --refute --json",
        &[&interventions],
    );
    assert!(f(&out["estimate"]) < 0.0, "{out}");
    assert_eq!(out["refutations"].as_array().map(Vec::len), Some(4), "{out}");
    let sleep = committed("tests/data/sleep_episodes.csv");
    let out = json("chronotype --data {0} --tz Europe/Berlin --json", &[&sleep]);
    assert_eq!(out["status"], "ok", "{out}");
    assert_eq!(out["nights_used"], 21, "{out}");
}
