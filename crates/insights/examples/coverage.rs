//! Interval coverage, false claims and bias of the per-child effects in every simulated
//! scenario, against the simulator's truth: the table in bench/RESULTS.md.
//! `cargo run --release -p sprout-insights --example coverage [children] [step_minutes] [scenario]`

#[path = "../tests/support/truth.rs"]
mod truth;

fn main() {
    let mut args = std::env::args().skip(1);
    let children: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(60);
    let step: u32 = args.next().and_then(|a| a.parse().ok()).unwrap_or(5);
    let only = args.next();
    println!("| scenario | children | (child, kind) pairs | 95% interval coverage | no-effect kinds called an effect | bias by kind (mean, % of truth) | real effects found |");
    println!("|---|---|---|---|---|---|---|");
    for (name, scenario) in sprout_sim::Scenario::named() {
        if only.as_deref().is_some_and(|o| o != name) {
            continue;
        }
        let s = truth::run(scenario, 11, children, step);
        let (claimed, null) = s.false_claims();
        let bias: Vec<String> = s
            .relative_bias()
            .iter()
            .map(|(k, (b, n))| format!("{} {:+.0}% (n={n})", k.as_str(), b * 100.0))
            .collect();
        let (z_sd, df) = s.z_spread();
        eprintln!(
            "{name}: mean estimate of no-effect kinds {:+.4}; sd of z {z_sd:.2}; median df {df:.1}",
            s.null_mean()
        );
        let bedtimes: Vec<&truth::Pair> = s
            .pairs
            .iter()
            .filter(|p| p.kind == sprout_domain::InterventionKind::EarlyBedtime)
            .collect();
        let n = bedtimes.len().max(1) as f64;
        eprintln!(
            "{name}: early bedtime's effect on the next morning: {} children, mean estimate {:+.4} vs truth {:+.4}",
            bedtimes.len(),
            bedtimes.iter().map(|p| p.estimate).sum::<f64>() / n,
            bedtimes.iter().map(|p| p.truth).sum::<f64>() / n,
        );
        let nights = truth::Summary {
            pairs: s.nights.clone(),
            ..truth::Summary::default()
        };
        eprintln!(
            "{name}: early bedtime's effect on that night's sleep: {} children, coverage {:.1}%, mean estimate {:+.3} h vs truth {:+.3} h",
            nights.pairs.len(),
            nights.coverage() * 100.0,
            nights.pairs.iter().map(|p| p.estimate).sum::<f64>() / nights.pairs.len().max(1) as f64,
            nights.pairs.iter().map(|p| p.truth).sum::<f64>() / nights.pairs.len().max(1) as f64,
        );
        println!(
            "| {name} | {} | {} | {:.1}% | {claimed}/{null} | {} | {:.0}% |",
            s.children,
            s.pairs.len(),
            s.coverage() * 100.0,
            bias.join(", "),
            s.found() * 100.0
        );
    }
}
