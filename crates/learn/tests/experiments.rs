//! Simulated experiments checked after every answer: power, rollback and false-promotion rates.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sprout_learn::{decide, ArmStats, Decision, Policy};

/// Two-sided 5% critical value of the fixed-sample z-test.
const Z_CRITICAL: f64 = 1.959_963_985;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Verdict {
    Promoted,
    RolledBack,
    Undecided,
}

#[derive(Debug, Clone, Copy)]
struct RunOutcome {
    sequential: Verdict,
    /// Whether the naive rule (pooled z-test at every look) would have promoted at some look.
    naive_promoted: bool,
    /// Answers per arm (smaller arm) when the sequential rule decided.
    decided_at: u64,
}

/// Pooled two-proportion z statistic, candidate minus control.
fn naive_z(control: &ArmStats, candidate: &ArmStats) -> f64 {
    let (nc, nt) = (control.answered as f64, candidate.answered as f64);
    let pooled = (control.helpful + candidate.helpful) as f64 / (nc + nt);
    let se = (pooled * (1.0 - pooled) * (1.0 / nc + 1.0 / nt)).sqrt();
    if se > 0.0 {
        (candidate.helpful as f64 / nt - control.helpful as f64 / nc) / se
    } else {
        0.0
    }
}

/// One experiment: answers arrive one at a time in a random arm (`candidate_share`), and both rules are
/// checked after every answer until the smaller arm has `max_per_arm` answers.
fn simulate(
    seed: u64,
    p_control: f64,
    p_candidate: f64,
    candidate_share: f64,
    max_per_arm: u64,
    policy: &Policy,
) -> RunOutcome {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (mut control, mut candidate) = (ArmStats::default(), ArmStats::default());
    let mut sequential = Verdict::Undecided;
    let mut decided_at = 0;
    let mut naive_promoted = false;
    while control.answered.min(candidate.answered) < max_per_arm {
        let (arm, p) = if rng.random_bool(candidate_share) {
            (&mut candidate, p_candidate)
        } else {
            (&mut control, p_control)
        };
        let helpful = rng.random_bool(p);
        arm.record_recommendation();
        arm.record_feedback(Some(helpful), Some(if helpful { 1.0 } else { 0.0 }));

        if sequential == Verdict::Undecided {
            match decide(&control, &candidate, policy).expect("simulated counters are consistent") {
                Decision::Promote { .. } => sequential = Verdict::Promoted,
                Decision::RollBack { .. } => sequential = Verdict::RolledBack,
                Decision::Continue { .. } => {}
            }
            if sequential != Verdict::Undecided {
                decided_at = control.answered.min(candidate.answered);
            }
        }
        if !naive_promoted
            && control.answered.min(candidate.answered) >= policy.min_answers_per_arm
            && naive_z(&control, &candidate) > Z_CRITICAL
        {
            naive_promoted = true;
        }
        if sequential != Verdict::Undecided && naive_promoted {
            break;
        }
    }
    RunOutcome {
        sequential,
        naive_promoted,
        decided_at,
    }
}

fn rate(outcomes: &[RunOutcome], pred: impl Fn(&RunOutcome) -> bool) -> f64 {
    outcomes.iter().filter(|o| pred(o)).count() as f64 / outcomes.len() as f64
}

fn median_decided_at(outcomes: &[RunOutcome]) -> u64 {
    let mut at: Vec<u64> = outcomes
        .iter()
        .filter(|o| o.sequential != Verdict::Undecided)
        .map(|o| o.decided_at)
        .collect();
    at.sort_unstable();
    at.get(at.len() / 2).copied().unwrap_or(0)
}

#[test]
fn better_candidate_is_promoted() {
    let policy = Policy::default();
    let runs: Vec<RunOutcome> = (0..200)
        .map(|s| simulate(1_000 + s, 0.45, 0.65, 0.5, 600, &policy))
        .collect();
    let promoted = rate(&runs, |o| o.sequential == Verdict::Promoted);
    let rolled = rate(&runs, |o| o.sequential == Verdict::RolledBack);
    println!(
        "better candidate (0.65 vs 0.45, ≤600/arm, 200 runs): promoted {:.1}%, rolled back {:.1}%, median answers/arm at decision {}",
        100.0 * promoted,
        100.0 * rolled,
        median_decided_at(&runs)
    );
    assert!(promoted >= 0.90, "promoted only {promoted}");
    assert_eq!(rolled, 0.0);
}

#[test]
fn worse_candidate_is_rolled_back() {
    let policy = Policy::default();
    let runs: Vec<RunOutcome> = (0..200)
        .map(|s| simulate(2_000 + s, 0.65, 0.45, 0.5, 600, &policy))
        .collect();
    let rolled = rate(&runs, |o| o.sequential == Verdict::RolledBack);
    let promoted = rate(&runs, |o| o.sequential == Verdict::Promoted);
    println!(
        "worse candidate (0.45 vs 0.65, ≤600/arm, 200 runs): rolled back {:.1}%, promoted {:.1}%, median answers/arm at decision {}",
        100.0 * rolled,
        100.0 * promoted,
        median_decided_at(&runs)
    );
    assert!(rolled >= 0.90, "rolled back only {rolled}");
    assert_eq!(promoted, 0.0);
}

#[test]
fn equal_arms_are_rarely_promoted_despite_peeking() {
    let policy = Policy::default();
    let runs: Vec<RunOutcome> = (0..400)
        .map(|s| simulate(3_000 + s, 0.5, 0.5, 0.5, 1_000, &policy))
        .collect();
    let false_promotion = rate(&runs, |o| o.sequential == Verdict::Promoted);
    let false_rollback = rate(&runs, |o| o.sequential == Verdict::RolledBack);
    let naive = rate(&runs, |o| o.naive_promoted);
    println!(
        "equal arms (0.5 vs 0.5, checked after every answer up to 1000/arm, 400 runs): \
         false promotion sequential {:.2}% vs naive z-test {:.2}%; sequential false rollback {:.2}%",
        100.0 * false_promotion,
        100.0 * naive,
        100.0 * false_rollback
    );
    assert!(
        false_promotion < 0.05,
        "sequential false promotion {false_promotion}"
    );
    assert!(
        false_promotion + false_rollback < 0.08,
        "sequential two-sided error too high"
    );
    assert!(
        naive > 0.05,
        "naive peeking should inflate false positives, got {naive}"
    );
}

#[test]
fn unbalanced_split_keeps_error_control() {
    // 20% of children get the candidate; the test must not rely on equal arm sizes.
    let policy = Policy::default();
    let runs: Vec<RunOutcome> = (0..200)
        .map(|s| simulate(4_000 + s, 0.6, 0.6, 0.2, 250, &policy))
        .collect();
    let false_promotion = rate(&runs, |o| o.sequential == Verdict::Promoted);
    let false_rollback = rate(&runs, |o| o.sequential == Verdict::RolledBack);
    println!(
        "equal arms, 20% split (0.6 vs 0.6, up to 250 candidate answers, 200 runs): false promotion {:.2}%, false rollback {:.2}%",
        100.0 * false_promotion,
        100.0 * false_rollback
    );
    assert!(false_promotion < 0.05);
    assert!(false_rollback < 0.08);
}
