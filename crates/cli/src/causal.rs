//! `sprout causal`: the effect of a treatment on an outcome from a CSV file, with an
//! interval and, on request, refutation checks.

use crate::csv_input::{clip, parse_number, CsvFile};
use anyhow::{bail, Context};
use clap::Args;
use serde::Serialize;
use sprout_causal::{Column, EffectSpec, Estimand, Estimate, Method, Options, Refutation, Table, Value};
use std::path::PathBuf;

#[derive(Args)]
pub struct CausalArgs {
    /// CSV file with a header row, one unit (e.g. one day) per row.
    #[arg(long)]
    pub data: PathBuf,
    /// Column holding the treatment (0/1, or any levels named by --treated-value and --control-value).
    #[arg(long)]
    pub treatment: String,
    /// Column holding the numeric outcome.
    #[arg(long)]
    pub outcome: String,
    /// Columns that cause both treatment and outcome (confounders), comma-separated.
    #[arg(long, value_delimiter = ',', value_name = "A,B,...")]
    pub common_causes: Vec<String>,
    /// Instrument columns for `--method iv`, comma-separated.
    #[arg(long, value_delimiter = ',', value_name = "Z,...")]
    pub instruments: Vec<String>,
    /// Columns that change the size of the effect (regression and aipw), comma-separated.
    #[arg(long, value_delimiter = ',', value_name = "M,...")]
    pub effect_modifiers: Vec<String>,
    /// naive, regression, ps_stratification, ps_matching, ipw, aipw or iv.
    #[arg(long, default_value = "aipw")]
    pub method: String,
    /// ate (everyone), att (the treated) or atc (the controls).
    #[arg(long, default_value = "ate")]
    pub estimand: String,
    /// Treatment level of the treated rows (default 1 for a 0/1 column); a number when it
    /// parses as one, else text.
    #[arg(long)]
    pub treated_value: Option<String>,
    /// Treatment level of the control rows (default 0 for a 0/1 column). Rows with any
    /// other level are left out.
    #[arg(long)]
    pub control_value: Option<String>,
    /// Column naming each row's cluster (e.g. the day of a decision-point table): rows
    /// sharing it may be correlated. Regression then gives a CR2 cluster-robust
    /// standard error and a Bell–McCaffrey t interval.
    #[arg(long, value_name = "COL")]
    pub clusters: Option<String>,
    /// Column of groups compared only within themselves (fixed effects absorbed by
    /// regression), e.g. the day, so nothing constant within a day can confound.
    #[arg(long, value_name = "COL")]
    pub fixed_effects: Option<String>,
    /// Bootstrap draws for a percentile interval instead of the analytic one.
    #[arg(long, value_name = "N")]
    pub bootstrap: Option<usize>,
    /// Confidence level of the interval.
    #[arg(long, default_value_t = 0.95)]
    pub level: f64,
    /// Seed of the bootstrap and the refuters, for reproducible answers.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Also run the refutation checks (placebo treatment, random common cause, data
    /// subsets, E-value).
    #[arg(long)]
    pub refute: bool,
    /// Print one JSON object instead of a summary.
    #[arg(long)]
    pub json: bool,
}

/// The estimate as printed: the engine's answer plus the refutations.
#[derive(Serialize)]
struct Report {
    #[serde(flatten)]
    estimate: Estimate,
    treatment: String,
    outcome: String,
    treated_value: Option<Value>,
    control_value: Option<Value>,
    refutations: Vec<Refutation>,
}

pub fn run(args: CausalArgs) -> anyhow::Result<()> {
    let method = Method::parse(args.method.trim()).with_context(|| {
        let names: Vec<&str> = Method::ALL.iter().map(|m| m.as_str()).collect();
        format!(
            "unknown method `{}` (one of {})",
            clip(&args.method),
            names.join(", ")
        )
    })?;
    let estimand = match args.estimand.trim().to_ascii_lowercase().as_str() {
        "ate" => Estimand::Ate,
        "att" => Estimand::Att,
        "atc" => Estimand::Atc,
        _ => bail!(
            "unknown estimand `{}` (one of ate, att, atc)",
            clip(&args.estimand)
        ),
    };
    let list = |names: &[String]| -> Vec<String> {
        names
            .iter()
            .map(|n| n.trim().to_owned())
            .filter(|n| !n.is_empty())
            .collect()
    };
    let spec = EffectSpec {
        treatment: args.treatment.trim().to_owned(),
        outcome: args.outcome.trim().to_owned(),
        common_causes: list(&args.common_causes),
        instruments: list(&args.instruments),
        effect_modifiers: list(&args.effect_modifiers),
        graph: None,
        treated_value: args.treated_value.as_deref().map(level_value),
        control_value: args.control_value.as_deref().map(level_value),
        clusters: args.clusters.as_deref().map(|c| c.trim().to_owned()),
        fixed_effects: args.fixed_effects.as_deref().map(|c| c.trim().to_owned()),
    };
    if method == Method::Iv && spec.instruments.is_empty() {
        bail!("--method iv needs --instruments");
    }
    let options = Options {
        estimand,
        bootstrap: args.bootstrap,
        seed: args.seed,
        level: args.level,
        ..Options::default()
    };

    let file = CsvFile::read(&args.data)?;
    let table = table(&file, &spec)?;
    let context = || {
        format!(
            "cannot estimate the effect of `{}` on `{}` from {}",
            spec.treatment,
            spec.outcome,
            args.data.display()
        )
    };
    let estimate = sprout_causal::estimate_effect(&table, &spec, method, &options).with_context(context)?;
    let refutations = if args.refute {
        sprout_causal::refute(&table, &spec, method, &options).with_context(context)?
    } else {
        Vec::new()
    };
    let report = Report {
        estimate,
        treatment: spec.treatment.clone(),
        outcome: spec.outcome.clone(),
        treated_value: spec.treated_value.clone(),
        control_value: spec.control_value.clone(),
        refutations,
    };
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print_summary(&report, options.level);
    }
    Ok(())
}

/// A treatment level from the command line: a number when it parses as one.
fn level_value(text: &str) -> Value {
    let text = text.trim();
    match text.parse::<f64>() {
        Ok(x) if x.is_finite() => Value::Number(x),
        _ => Value::Text(text.to_owned()),
    }
}

/// The columns the estimate uses, each read as numbers when every cell is one.
fn table(file: &CsvFile, spec: &EffectSpec) -> anyhow::Result<Table> {
    let mut names: Vec<&str> = vec![&spec.treatment, &spec.outcome];
    for name in spec
        .common_causes
        .iter()
        .chain(&spec.instruments)
        .chain(&spec.effect_modifiers)
        .chain(&spec.clusters)
        .chain(&spec.fixed_effects)
    {
        if !names.contains(&name.as_str()) {
            names.push(name);
        }
    }
    let mut columns = Vec::with_capacity(names.len());
    for name in names {
        let index = file.column(name)?;
        let column = Column::infer(name, file.cells(index));
        if name == spec.outcome && column.as_numeric().is_none() {
            // Name the first cell that is not a number, so the file can be fixed.
            for row in file.rows() {
                let cell = row.get(index);
                if !is_missing(cell) {
                    parse_number(cell)
                        .with_context(|| format!("{}: outcome `{name}` must be numeric", file.at(row)))?;
                }
            }
            bail!("outcome `{name}` in {} is not numeric", file.name());
        }
        columns.push(column);
    }
    if file.rows().is_empty() {
        bail!("{} has a header but no rows", file.name());
    }
    Ok(Table::new(columns)?)
}

/// Cells the engine reads as missing (their rows are left out).
fn is_missing(cell: &str) -> bool {
    matches!(
        cell.trim().to_ascii_lowercase().as_str(),
        "" | "na" | "nan" | "null"
    )
}

fn print_summary(report: &Report, level: f64) {
    let e = &report.estimate;
    let levels = match (&report.treated_value, &report.control_value) {
        (Some(t), Some(c)) => format!(" ({t} vs {c})"),
        _ => String::new(),
    };
    println!(
        "{} {} of `{}`{levels} on `{}`: {:.4} ({:.0}% CI {:.4} to {:.4})",
        e.method,
        e.estimand.as_str().to_uppercase(),
        report.treatment,
        report.outcome,
        e.estimate,
        level * 100.0,
        e.ci.0,
        e.ci.1
    );
    println!(
        "rows used: {} ({} treated, {} control); adjusted for: {}",
        e.n,
        e.n_treated,
        e.n_control,
        if e.diagnostics.adjustment_set.is_empty() {
            "nothing".to_owned()
        } else {
            e.diagnostics.adjustment_set.join(", ")
        }
    );
    if !e.diagnostics.instruments.is_empty() {
        println!("instruments: {}", e.diagnostics.instruments.join(", "));
    }
    for warning in &e.warnings {
        println!("warning: {warning}");
    }
    for r in &report.refutations {
        let verdict = if r.passed { "passed" } else { "failed" };
        println!("{} {verdict}: {}", r.name, r.explanation);
    }
}
