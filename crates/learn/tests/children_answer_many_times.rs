//! Experiments where children, not answers, are randomised: each child answers many times and its
//! answers are alike (within-child correlation 0.2), and the decision is checked after every answer.
//! Counting every answer as independent promotes or rolls back equal arms far more often than the
//! test's level; counting by child keeps the error rate, and a truly better version still wins.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Beta, Distribution};
use sprout_learn::{decide, ArmStats, Decision, Policy};

const CHILDREN: usize = 40;
const ANSWERS_PER_CHILD: u64 = 40;
const RUNS: u64 = 400;
/// Within-child correlation of answers (intra-class correlation of the child's 👍 propensity).
const ICC: f64 = 0.2;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Verdict {
    Promoted,
    RolledBack,
    Undecided,
}

/// One experiment: children alternate between the arms; each has its own 👍 propensity drawn
/// around its arm's mean (Beta with the given ICC); answers arrive one at a time from a random
/// child with answers left; the decision is checked after each. `by_child` gives the decision the
/// per-child sums.
fn run(seed: u64, control_mean: f64, candidate_mean: f64, by_child: bool) -> Verdict {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let strength = 1.0 / ICC - 1.0;
    let propensity = |mean: f64, rng: &mut ChaCha8Rng| {
        Beta::new(mean * strength, (1.0 - mean) * strength)
            .expect("beta")
            .sample(rng)
    };
    let children: Vec<(bool, f64)> = (0..CHILDREN)
        .map(|i| {
            let candidate = i % 2 == 1;
            let mean = if candidate { candidate_mean } else { control_mean };
            (candidate, propensity(mean, &mut rng))
        })
        .collect();
    let mut counts = vec![(0u64, 0u64); CHILDREN];
    let mut left: Vec<usize> = (0..CHILDREN).collect();
    let policy = Policy::default();
    while !left.is_empty() {
        let pick = rng.random_range(0..left.len());
        let child = left[pick];
        let helpful = rng.random_bool(children[child].1);
        counts[child].0 += 1;
        counts[child].1 += u64::from(helpful);
        if counts[child].0 == ANSWERS_PER_CHILD {
            left.swap_remove(pick);
        }
        let arm = |candidate: bool| {
            let mine = counts
                .iter()
                .zip(&children)
                .filter(|(_, (c, _))| *c == candidate)
                .map(|((n, h), _)| (*n, *n, *h));
            let mut stats = ArmStats::from_children(mine);
            if !by_child {
                stats.by_child = Default::default();
            }
            stats
        };
        match decide(&arm(false), &arm(true), &policy).expect("valid counts") {
            Decision::Promote { .. } => return Verdict::Promoted,
            Decision::RollBack { .. } => return Verdict::RolledBack,
            Decision::Continue { .. } => {}
        }
    }
    Verdict::Undecided
}

fn rates(control: f64, candidate: f64, by_child: bool) -> (f64, f64) {
    let verdicts: Vec<Verdict> = (0..RUNS)
        .map(|seed| run(seed, control, candidate, by_child))
        .collect();
    let share = |v: Verdict| verdicts.iter().filter(|x| **x == v).count() as f64 / RUNS as f64;
    (share(Verdict::Promoted), share(Verdict::RolledBack))
}

#[test]
fn equal_arms_are_rarely_decided_when_answers_are_counted_by_child() {
    let (promoted, rolled_back) = rates(0.6, 0.6, true);
    let (naive_promoted, naive_rolled_back) = rates(0.6, 0.6, false);
    println!(
        "equal arms, {RUNS} runs: by child {:.1}% promoted + {:.1}% rolled back; \
         answers as independent {:.1}% + {:.1}%",
        promoted * 100.0,
        rolled_back * 100.0,
        naive_promoted * 100.0,
        naive_rolled_back * 100.0
    );
    assert!(
        naive_promoted + naive_rolled_back > 0.10,
        "answers taken as independent should err often here: {:.3}",
        naive_promoted + naive_rolled_back
    );
    assert!(
        promoted + rolled_back <= 0.05,
        "false promotions plus rollbacks: {:.3}",
        promoted + rolled_back
    );
}

#[test]
fn a_better_version_still_wins_when_answers_are_counted_by_child() {
    let (promoted, rolled_back) = rates(0.55, 0.8, true);
    println!(
        "candidate 25 points better, {RUNS} runs: power {:.1}%, rolled back {:.1}%",
        promoted * 100.0,
        rolled_back * 100.0
    );
    assert!(promoted > 0.5, "power: {promoted:.3}");
    assert!(rolled_back < 0.01, "{rolled_back:.3}");
}
