//! Where one child's analyses spend their time (60 days of minute data), in release:
//! `cargo run --release -p sprout-insights --example profile`.

use chrono::Utc;
use sprout_domain::ChildId;
use sprout_insights::effects::{intervention_effects, EffectOptions};
use sprout_insights::ChildData;
use std::time::Instant;

fn time(name: &str, f: &dyn Fn()) {
    const RUNS: u32 = 20;
    let start = Instant::now();
    for _ in 0..RUNS {
        f();
    }
    println!(
        "{name}: {:.2} ms",
        start.elapsed().as_secs_f64() * 1000.0 / f64::from(RUNS)
    );
}

fn main() {
    let config = sprout_sim::SimConfig {
        seed: 3,
        children: 3,
        days: 60,
        end: Utc::now(),
        ..Default::default()
    };
    let sim = sprout_sim::simulate_child(&config, 2);
    let records = sim.stored_records(ChildId::new());
    let data = ChildData {
        tz: sim.profile.timezone.tz(),
        birth_date: sim.profile.birth_date,
        samples: &sim.samples,
        events: &records.events,
        interventions: &records.interventions,
        sleep_episodes: &records.sleep_episodes,
        now: Utc::now(),
    };
    let options = EffectOptions {
        bootstrap: None,
        refute: false,
        ..EffectOptions::default()
    };
    time("effects (6 kinds)", &|| {
        let _ = std::hint::black_box(intervention_effects(&data, options, &|_| None));
    });
    time("one decision-point table", &|| {
        drop(sprout_insights::moments::moment_table(
            &data,
            sprout_domain::InterventionKind::Reading,
        ))
    });
    time("chronotype", &|| {
        let _ = std::hint::black_box(sprout_insights::chronotype::chronotype(&data));
    });
    time("stress forecast", &|| {
        let _ = std::hint::black_box(sprout_insights::forecast::stress_forecast(&data, 24));
    });
    time("sleep outlook", &|| {
        let _ = std::hint::black_box(sprout_insights::forecast::sleep_outlook(&data, 3));
    });
    time("pre-test pattern", &|| {
        let _ = std::hint::black_box(sprout_insights::patterns::pre_test_pattern(&data));
    });
    time("sustained stress", &|| {
        let _ = std::hint::black_box(sprout_insights::days::sustained_high_stress(&data));
    });
}
