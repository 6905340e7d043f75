//! Decide, write, check: the policy's choices, the template's grounding, the guardrails.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use sprout_chrono::Chronotype;
use sprout_coach::facts::{gather, Facts};
use sprout_coach::guardrails::{check, Violation};
use sprout_coach::policy::{choose, PastAnswer, PolicyInput};
use sprout_coach::slots::{candidate_slots, SlotKind};
use sprout_coach::{template, Decision};
use sprout_domain::InterventionKind;

fn noon() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-03T11:00:00Z")
        .expect("time")
        .with_timezone(&Utc)
}

fn berlin() -> Tz {
    "Europe/Berlin".parse().expect("zone")
}

fn decide(chronotype: Option<Chronotype>, answers: &[PastAnswer], seed: u64) -> Decision {
    let slots = candidate_slots(noon(), berlin(), chronotype);
    choose(&PolicyInput {
        slots: &slots,
        effects: &[],
        chronotype,
        test_tomorrow: false,
        answers,
        approval_priors: &[],
        preferences: &sprout_domain::Preferences::default(),
        seed,
    })
    .expect("a decision")
}

fn facts_for(decision: &Decision, chronotype: Option<Chronotype>) -> Facts {
    gather(
        decision,
        &[],
        chronotype,
        Some(9),
        None,
        &[],
        false,
        None,
        noon(),
        berlin(),
        sprout_domain::ClockFormat::TwelveHour,
    )
}

#[test]
fn night_owls_get_evenings_and_early_birds_mornings() {
    for seed in 0..50 {
        assert!(decide(Some(Chronotype::NightOwl), &[], seed)
            .slot
            .kind
            .is_evening());
        assert_eq!(
            decide(Some(Chronotype::EarlyBird), &[], seed).slot.kind,
            SlotKind::TomorrowMorning
        );
    }
}

#[test]
fn template_text_is_grounded_in_every_phrasing() {
    for chronotype in [
        None,
        Some(Chronotype::NightOwl),
        Some(Chronotype::EarlyBird),
        Some(Chronotype::Intermediate),
    ] {
        for seed in 0..20 {
            let decision = decide(chronotype, &[], seed);
            let facts = facts_for(&decision, chronotype);
            for variant in 0..6 {
                let text = template::write(&facts, variant);
                assert_eq!(check(&text, &facts), Ok(()), "{text}");
                assert!(!text.contains('%'), "no evidence, no percentage: {text}");
                assert!(text.contains(&facts.slot_time), "{text}");
            }
        }
    }
}

#[test]
fn evidence_appears_only_as_measured() {
    let decision = decide(Some(Chronotype::NightOwl), &[], 1);
    let mut facts = facts_for(&decision, Some(Chronotype::NightOwl));
    facts.effect_percent = Some(15);
    facts.next_test = Some(("math test".into(), "tomorrow".into()));
    let text = template::write(&facts, 0);
    assert!(text.contains("about 15%"), "{text}");
    assert!(text.contains("tomorrow's math test"), "{text}");
    assert!(text.starts_with("Your child's stress"), "{text}");
    assert_eq!(check(&text, &facts), Ok(()));
    facts.pre_test_rise = Some(7);
    let text = template::write(&facts, 0);
    assert!(
        text.contains("about 7 points (of 100) higher than usual the day before tests"),
        "{text}"
    );
    assert_eq!(check(&text, &facts), Ok(()));
    facts.sustained_high = true;
    let text = template::write(&facts, 1);
    assert!(text.contains("school counsellor"), "{text}");
    assert_eq!(check(&text, &facts), Ok(()));
}

#[test]
fn guardrails_refuse_what_a_parent_should_not_read() {
    let decision = decide(Some(Chronotype::NightOwl), &[], 3);
    let facts = facts_for(&decision, Some(Chronotype::NightOwl));
    let good = template::write(&facts, 0);
    assert_eq!(check(&good, &facts), Ok(()));
    let action = sprout_coach::facts::activity(facts.action);
    let when = format!("{} {}", facts.slot_time, facts.slot.phrase());
    let cases = [
        (
            format!("Stress is high. Try {action} at {when}, it cuts stress by 40%."),
            "number",
        ),
        (
            format!("Stress may rise. Try {action} at {when} and 3 mg of melatonin."),
            "medication",
        ),
        (
            format!("This looks like an anxiety disorder. Try {action} at {when}."),
            "diagnosis",
        ),
        (format!("It is your fault. Try {action} at {when}."), "blame"),
        (format!("One. Two. Three. Try {action} at {when}."), "length"),
        (format!("Try {action} at {when}."), "length"),
        (
            "Stress may rise tomorrow. Have a nice evening together.".to_owned(),
            "action",
        ),
        (String::new(), "empty"),
    ];
    for (text, rule) in cases {
        let result = check(&text, &facts);
        let matched = matches!(
            (&result, rule),
            (Err(Violation::InventedNumber(_)), "number")
                | (Err(Violation::Medication(_)), "medication")
                | (Err(Violation::Diagnosis(_)), "diagnosis")
                | (Err(Violation::Blame(_)), "blame")
                | (Err(Violation::Length(_)), "length")
                | (Err(Violation::MissingAction), "action")
                | (Err(Violation::Empty), "empty")
        );
        assert!(matched, "{rule}: {text:?} gave {result:?}");
    }
}

/// Parents who like evening suggestions and dislike screen-time advice: the policy's 👍
/// rate climbs well above what choosing at random gets.
#[test]
fn the_policy_learns_what_a_family_likes() {
    let likes =
        |kind: InterventionKind, slot: SlotKind| slot.is_evening() && kind != InterventionKind::ScreenLimit;
    let slots = candidate_slots(noon(), berlin(), None);
    let arms: Vec<(InterventionKind, SlotKind)> = slots
        .iter()
        .flat_map(|s| {
            sprout_coach::policy::RECOMMENDABLE
                .into_iter()
                .filter(|k| sprout_coach::policy::fits(*k, s.kind))
                .map(|k| (k, s.kind))
                .collect::<Vec<_>>()
        })
        .collect();
    let random_rate = arms.iter().filter(|(k, s)| likes(*k, *s)).count() as f64 / arms.len() as f64;
    let mut answers = Vec::new();
    let mut late_likes = 0;
    for round in 0..80u64 {
        let decision = choose(&PolicyInput {
            slots: &slots,
            effects: &[],
            chronotype: None,
            test_tomorrow: false,
            answers: &answers,
            approval_priors: &[],
            preferences: &sprout_domain::Preferences::default(),
            seed: round,
        })
        .expect("decision");
        let helpful = likes(decision.kind, decision.slot.kind);
        if round >= 40 && helpful {
            late_likes += 1;
        }
        answers.push(PastAnswer {
            kind: decision.kind,
            slot: decision.slot.kind.as_str().into(),
            helpful,
        });
    }
    let late_rate = late_likes as f64 / 40.0;
    assert!(
        late_rate > random_rate + 0.25,
        "policy {late_rate:.2} vs random {random_rate:.2}"
    );
}

#[test]
fn a_new_child_starts_from_what_other_families_found_helpful() {
    let slots = candidate_slots(noon(), berlin(), None);
    // Other families: reading mostly helpful, everything else mostly not.
    let priors: Vec<sprout_coach::ApprovalPrior> = sprout_coach::policy::RECOMMENDABLE
        .into_iter()
        .map(|kind| {
            let (alpha, beta) = if kind == InterventionKind::Reading {
                (40.0, 4.0)
            } else {
                (4.0, 40.0)
            };
            sprout_coach::ApprovalPrior { kind, alpha, beta }
        })
        .collect();
    let picks = |priors: &[sprout_coach::ApprovalPrior]| {
        (0..200u64)
            .filter(|seed| {
                choose(&PolicyInput {
                    slots: &slots,
                    effects: &[],
                    chronotype: None,
                    test_tomorrow: false,
                    answers: &[],
                    approval_priors: priors,
                    preferences: &sprout_domain::Preferences::default(),
                    seed: *seed,
                })
                .expect("decision")
                .kind
                    == InterventionKind::Reading
            })
            .count()
    };
    let (with, without) = (picks(&priors), picks(&[]));
    assert!(
        with > 150 && with > 2 * without,
        "reading chosen {with}/200 with the prior, {without}/200 without"
    );
}

/// An earlier bedtime is written as a step from the child's own bedtime, with their
/// short nights against the age norm, and every writer's check accepts it.
#[test]
fn an_earlier_bedtime_is_a_step_from_the_childs_own() {
    use sprout_coach::bedtime::BedtimeStep;
    use sprout_coach::facts::ShortSleep;
    let decision = Decision {
        kind: InterventionKind::EarlyBedtime,
        slot: sprout_coach::Slot {
            kind: SlotKind::ThisEvening,
            start: noon() + chrono::Duration::hours(10),
            local_time: chrono::NaiveTime::from_hms_opt(22, 0, 0).expect("time"),
        },
        reasons: Vec::new(),
        draws: Vec::new(),
    };
    let mut facts = facts_for(&decision, Some(Chronotype::NightOwl));
    facts.bedtime = Some(BedtimeStep {
        usual: "10:20 PM".into(),
        minutes_earlier: 20,
    });
    facts.short_sleep = ShortSleep::of(Some(12), Some(6.53));
    assert_eq!(
        facts.short_sleep.map(|s| (s.hours, s.recommended)),
        Some((6.5, (9, 12)))
    );
    assert!(
        ShortSleep::of(Some(12), Some(9.4)).is_none(),
        "enough sleep is not flagged"
    );
    // Long weekend lie-ins do not hide short school nights.
    let habit = sprout_insights::days::SleepHabit {
        school_onset: Some(-1.5),
        free_onset: Some(0.5),
        mean_sleep_hours: Some(9.1),
        school_sleep_hours: Some(6.62),
    };
    let school = ShortSleep::from_habit(Some(12), &habit).expect("short on school nights");
    assert_eq!((school.hours, school.school_nights), (6.6, true));
    let mut on_school_nights = facts.clone();
    on_school_nights.short_sleep = Some(school);
    let text = sprout_coach::template::write(&on_school_nights, 0);
    assert!(text.contains("about 6.6 hours on school nights lately"), "{text}");
    sprout_coach::guardrails::check(&text, &on_school_nights).unwrap_or_else(|e| panic!("{e}: {text}"));
    for variant in 0..6 {
        let text = sprout_coach::template::write(&facts, variant);
        assert!(
            text.contains("10 PM tonight, 20 minutes before their usual 10:20 PM"),
            "{text}"
        );
        assert!(
            text.contains("about 6.5 hours a night lately, and 9–12 hours is recommended"),
            "{text}"
        );
        sprout_coach::guardrails::check(&text, &facts).unwrap_or_else(|e| panic!("{e}: {text}"));
    }
}

/// The policy's input with nothing known but the slots.
fn plain_input<'a>(slots: &'a [sprout_coach::Slot], seed: u64) -> PolicyInput<'a> {
    PolicyInput {
        slots,
        effects: &[],
        chronotype: None,
        test_tomorrow: false,
        answers: &[],
        approval_priors: &[],
        preferences: &NO_PREFERENCES,
        seed,
    }
}

static NO_PREFERENCES: sprout_domain::Preferences = sprout_domain::Preferences {
    liked: Vec::new(),
    avoided: Vec::new(),
};

/// A kind the family asked to avoid is never chosen; a liked one is chosen more often
/// than when nothing is said (all kinds equally unknown here).
#[test]
fn avoided_kinds_are_never_chosen_and_liked_ones_more_often() {
    let slots = candidate_slots(noon(), berlin(), None);
    let choose_with = |preferences: &sprout_domain::Preferences, seed| {
        let mut input = plain_input(&slots, seed);
        input.preferences = preferences;
        choose(&input).expect("a decision").kind
    };
    let avoid = sprout_domain::Preferences {
        liked: Vec::new(),
        avoided: vec![InterventionKind::Mindfulness, InterventionKind::ScreenLimit],
    };
    let like = sprout_domain::Preferences {
        liked: vec![InterventionKind::Reading],
        avoided: Vec::new(),
    };
    let none = sprout_domain::Preferences::default();
    let count =
        |p: &sprout_domain::Preferences, kind| (0..400).filter(|s| choose_with(p, *s) == kind).count();
    for seed in 0..400 {
        assert!(!avoid.avoided.contains(&choose_with(&avoid, seed)));
    }
    let (liked, neutral) = (
        count(&like, InterventionKind::Reading),
        count(&none, InterventionKind::Reading),
    );
    assert!(
        liked > neutral + 20,
        "liked reading chosen {liked} times of 400, else {neutral}"
    );
}
