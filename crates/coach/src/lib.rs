//! Sprout's recommendations: decide first, then write, then check.
//!
//! 1. [`policy`] chooses the action — an intervention kind and a time slot tonight or
//!    tomorrow — by Thompson sampling: each (kind, slot) draws a plausible effect from the
//!    child's causal estimate (wide where evidence is thin, so the policy explores a
//!    little there), a plausible approval rate from the family's 👍/👎 on that kind and
//!    slot, and a fit with the child's chronotype, forecast peak and calendar; the best
//!    draw wins, and its reasons are kept.
//! 2. [`facts`] gathers what the text may say: the action and its clock time in the
//!    child's zone, the forecast, the next test, the measured effect of the action — only
//!    what is known; what is not known stays out, it is never invented.
//! 3. A [`writer::Writer`] turns the facts into two or three sentences: the deterministic
//!    [`template`] writer, or a language model given the [`prompt`]. The local model
//!    (`--writer gguf:PATH`) can only decode the facts' numbers, and its prompt shows
//!    worked examples that fit the facts; so its own texts pass the guardrails without a
//!    fine-tuned adapter (199 of 200 simulated children in
//!    `crates/writers/benches/writer_pass_rate.rs`; see [`examples`] for why no adapter
//!    is applied by default). The model-backed writers are in `sprout-writers`.
//! 4. [`guardrails`] check every writer's text: only numbers from the facts, each as
//!    what it is there (a rise in points, a time of day), no diagnosis, no medication, no
//!    blame, two or three sentences, the chosen action named. A text that fails is
//!    replaced by the template's, and the reason is kept.

pub mod address;
pub mod bedtime;
pub mod examples;
pub mod facts;
pub mod guardrails;
pub mod policy;
pub mod prompt;
pub mod slots;
pub mod template;
pub mod writer;

pub use facts::Facts;
pub use policy::{ApprovalPrior, Decision, PolicyInput};
pub use slots::{Slot, SlotKind};

pub use plan::{plan, Plan, StressInput};

mod plan {
    //! One child's recommendation plan, from their data to the facts a writer gets: the
    //! analyses (effects, chronotype, forecast, sleep), the policy's decision, the facts.

    use crate::facts::{gather, Facts};
    use crate::policy::{choose, seed, PastAnswer, PolicyInput};
    use crate::slots::candidate_slots;
    use crate::Decision;
    use sprout_chrono::{Chronotype, Status};
    use sprout_domain::InterventionKind;
    use sprout_insights::days::sustained_high_stress;
    use sprout_insights::effects::{intervention_effects, EffectOptions, InterventionEffect};
    use sprout_insights::forecast::{sleep_outlook, stress_forecast, NightOutlook, StressForecast};
    use sprout_insights::pooling::Population;
    use sprout_insights::{chronotype, ChildData};

    /// Where the plan's stress forecast comes from: computed here, or already known
    /// (the server's cached forecast, warmed by its background refresh); `Known(None)`
    /// means the forecast is known to be unavailable.
    pub enum StressInput {
        Compute,
        Known(Option<StressForecast>),
    }

    /// Everything decided before any text is written.
    pub struct Plan {
        pub decision: Decision,
        pub facts: Facts,
        pub effects: Vec<InterventionEffect>,
        pub chronotype: Option<Chronotype>,
        pub stress: Option<StressForecast>,
        pub sleep: Option<Vec<NightOutlook>>,
    }

    /// Plans a recommendation for the child `child_key` (its id, for the policy's seed);
    /// `None` when no time slot is left to plan for. `populations` gives what other
    /// children show for a kind (the policy leans on it where this child has little data).
    #[allow(clippy::too_many_arguments)]
    pub fn plan(
        data: &ChildData<'_>,
        child_key: &str,
        age_years: Option<u32>,
        answers: &[PastAnswer],
        approval_priors: &[crate::ApprovalPrior],
        populations: &dyn Fn(InterventionKind) -> Option<Population>,
        stress: StressInput,
        preferences: &sprout_domain::Preferences,
        clock: sprout_domain::ClockFormat,
    ) -> Option<Plan> {
        // With the checks, so the card says what the Insights view says about the same
        // activity ("strong evidence" only where they ran and passed).
        let effects = intervention_effects(data, EffectOptions::default(), populations);
        let report = chronotype::chronotype(data);
        let chronotype = (report.status == Status::Ok)
            .then_some(report.chronotype)
            .flatten();
        let stress = match stress {
            StressInput::Compute => stress_forecast(data, 24).ok(),
            StressInput::Known(known) => known,
        };
        let sleep = sleep_outlook(data, 3).ok().map(|(nights, _)| nights);
        let tz = data.tz;
        let tomorrow = data.now.with_timezone(&tz).date_naive() + chrono::Duration::days(1);
        let test_tomorrow = data
            .events
            .iter()
            .any(|e| e.event_type.is_assessment() && e.start.with_timezone(&tz).date_naive() == tomorrow);
        // With a test ahead, advice comes before it: slots after its start (less the
        // time to do something and settle) are left out while any earlier one is left.
        // When no slot is left before the first test (one early tomorrow), the next test
        // is the occasion.
        let all_slots = candidate_slots(data.now, tz, chronotype);
        let before = crate::facts::upcoming_tests(data.events, data.now)
            .into_iter()
            .map(|test| -> Vec<_> {
                all_slots
                    .iter()
                    .filter(|s| s.start + crate::facts::BEFORE_EVENT <= test.start)
                    .copied()
                    .collect()
            })
            .find(|slots| !slots.is_empty());
        let slots = before.unwrap_or(all_slots);
        let habit = sprout_insights::days::sleep_habit(data);
        let calendar = sprout_insights::calendar::free_days(data.events, tz);
        let decision = choose(&PolicyInput {
            slots: &slots,
            effects: &effects,
            chronotype,
            test_tomorrow,
            answers,
            approval_priors,
            preferences,
            seed: seed(child_key, data.now, answers.len()),
        })?;
        let (decision, bedtime) = crate::bedtime::place(
            decision,
            &habit,
            &|date| sprout_insights::calendar::is_school_day(date, &calendar),
            data.now,
            tz,
            clock,
        );
        let mut facts = gather(
            &decision,
            &effects,
            chronotype,
            age_years,
            stress.as_ref(),
            data.events,
            sustained_high_stress(data),
            sprout_insights::patterns::pre_test_pattern(data).as_ref(),
            data.now,
            tz,
            clock,
        );
        facts.bedtime = bedtime;
        facts.right_now = crate::facts::RightNow::of(
            sprout_insights::days::stress_now(data.samples, data.now),
            &effects,
        );
        facts.short_sleep = crate::facts::ShortSleep::from_habit(age_years, &habit);
        Some(Plan {
            decision,
            facts,
            effects,
            chronotype,
            stress,
            sleep,
        })
    }
}
