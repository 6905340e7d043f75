//! What a recommendation may say: the decided action and the facts behind it, each
//! either known or absent. Writers get nothing else, and the guardrails check that a
//! text's numbers come from here.

use crate::slots::SlotKind;
use crate::Decision;
use chrono::{DateTime, Duration, Timelike, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use sprout_chrono::Chronotype;
use sprout_domain::{ClockFormat, InterventionKind, SchoolEvent};
use sprout_insights::effects::{EffectStatus, InterventionEffect};
use sprout_insights::forecast::StressForecast;

/// A forecast peak worth mentioning; below it the day ahead reads as calm.
const NOTABLE_PEAK: f64 = 0.6;
/// How far ahead a test is mentioned.
pub const TEST_HORIZON: Duration = Duration::hours(36);
/// A suggestion meant to help before a test starts at least this long before it: time
/// to do it, and to settle after.
pub const BEFORE_EVENT: Duration = Duration::hours(1);

/// The facts of one recommendation.
#[derive(Debug, Clone, Serialize)]
pub struct Facts {
    pub action: InterventionKind,
    pub slot: SlotKind,
    /// Local clock time of the slot, as written in the family's format ("7:30 PM",
    /// "19:30").
    pub slot_time: String,
    pub chronotype: Option<Chronotype>,
    pub age_years: Option<u32>,
    /// The action's measured effect, as a whole percentage of untreated stress, when the
    /// evidence shows a benefit.
    pub effect_percent: Option<u32>,
    /// The same effect as levels out of 100: the child's typical stress without it and
    /// with it (as the Insights view says it).
    pub effect_levels: Option<(u32, u32)>,
    pub effect_status: Option<EffectStatus>,
    /// The next assessment within a day and a half that the action comes before: its
    /// name and day ("tomorrow").
    pub next_test: Option<(String, String)>,
    /// Its local start time, as the chart shows it ("10 AM").
    pub next_test_time: Option<String>,
    /// The forecast's highest hour when notable: the level out of 100, clock time, day.
    pub forecast_peak: Option<(u32, String, String)>,
    /// Stress has been high for several days: suggest talking to someone who can help.
    pub sustained_high: bool,
    /// How much higher stress has been in the day before a test, in points out of 100,
    /// when the child's history shows it beyond chance.
    pub pre_test_rise: Option<u32>,
    /// Stress is high right now: the level and what has helped this child most.
    pub right_now: Option<RightNow>,
    /// For an earlier bedtime: the child's usual onset that night and how much earlier
    /// the suggestion is (see [`crate::bedtime`]).
    pub bedtime: Option<crate::bedtime::BedtimeStep>,
    /// The child's recent sleep when it is below what is recommended at their age.
    pub short_sleep: Option<ShortSleep>,
    /// What the family's own history says that bears on this action: parents' notes and
    /// earlier suggestions with their answers, retrieved by meaning (filled in by the
    /// caller; see the server's memory). The family's own words, so a writer may use them.
    pub history: Vec<String>,
}

/// Stress is high now, and the activity that has lowered this child's stress most.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RightNow {
    /// Mean of the last half hour's readings, as a level out of 100.
    pub level: u32,
    pub helped_most: InterventionKind,
    /// How much lower stress was after it, percent (as the Insights view says).
    pub percent: u32,
}

impl RightNow {
    /// Some when `stress_now` is high and some activity has a measured benefit: the one
    /// with the largest.
    pub fn of(stress_now: Option<f64>, effects: &[InterventionEffect]) -> Option<Self> {
        let level = stress_now.filter(|s| *s >= sprout_insights::days::HIGH_NOW_STRESS)?;
        let best = effects
            .iter()
            .filter(|e| e.status == EffectStatus::Beneficial)
            .filter_map(|e| Some((e.kind, e.relative_effect?)))
            .min_by(|a, b| a.1.total_cmp(&b.1))?;
        Some(Self {
            level: self::level(level),
            helped_most: best.0,
            percent: (best.1.abs() * 100.0).round() as u32,
        })
    }
}

/// Recent nights shorter than recommended at the child's age.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ShortSleep {
    /// Mean hours a night, to one decimal.
    pub hours: f64,
    /// The recommended range at their age, hours.
    pub recommended: (u32, u32),
    /// The mean is over school nights only (where the week's short nights are).
    pub school_nights: bool,
}

impl ShortSleep {
    /// Some when `mean_hours` falls short of the range recommended at `age`.
    pub fn of(age: Option<u32>, mean_hours: Option<f64>) -> Option<Self> {
        let recommended = sprout_insights::days::recommended_sleep_hours(age?)?;
        let hours = (mean_hours? * 10.0).round() / 10.0;
        (hours < f64::from(recommended.0)).then_some(Self {
            hours,
            recommended,
            school_nights: false,
        })
    }

    /// From the child's habit: school nights when there are enough of them (the nights
    /// the forecast shows on school days), else all nights.
    pub fn from_habit(age: Option<u32>, habit: &sprout_insights::days::SleepHabit) -> Option<Self> {
        match habit.school_sleep_hours {
            Some(hours) => Self::of(age, Some(hours)).map(|s| Self {
                school_nights: true,
                ..s
            }),
            None => Self::of(age, habit.mean_sleep_hours),
        }
    }

    /// "a night" or "a night on school nights", as the sentence says it.
    pub fn which_nights(&self) -> &'static str {
        if self.school_nights {
            "on school nights"
        } else {
            "a night"
        }
    }
}

/// A stress level or difference (0–1) in points out of 100, as the card says it: one
/// meaning per number (percent is kept for relative changes).
pub fn level(value: f64) -> u32 {
    (value.abs() * 100.0).round() as u32
}

/// Parent-facing names of the kinds, as actions.
pub fn activity(kind: InterventionKind) -> &'static str {
    match kind {
        InterventionKind::Mindfulness => "a short mindfulness exercise",
        InterventionKind::OutdoorPlay => "some outdoor play",
        InterventionKind::Reading => "some quiet reading together",
        InterventionKind::EarlyBedtime => "an earlier bedtime",
        InterventionKind::ScreenLimit => "a screen-free hour",
        InterventionKind::Other => "a calming activity",
    }
}

/// Words that show a text names the action (for the guardrails).
pub fn action_words(kind: InterventionKind) -> &'static [&'static str] {
    match kind {
        InterventionKind::Mindfulness => &["mindful", "breathing", "meditat"],
        InterventionKind::OutdoorPlay => &["outdoor", "outside", "play"],
        InterventionKind::Reading => &["read"],
        InterventionKind::EarlyBedtime => &["bedtime", "bed"],
        InterventionKind::ScreenLimit => &["screen"],
        InterventionKind::Other => &["activity"],
    }
}

fn day_word(at: DateTime<Utc>, now: DateTime<Utc>, tz: Tz) -> String {
    let (day, today) = (
        at.with_timezone(&tz).date_naive(),
        now.with_timezone(&tz).date_naive(),
    );
    match (day - today).num_days() {
        0 => "today".into(),
        1 => "tomorrow".into(),
        _ => format!("on {}", at.with_timezone(&tz).format("%A")),
    }
}

/// The next assessment within [`TEST_HORIZON`] of `now`.
pub fn next_test(events: &[SchoolEvent], now: DateTime<Utc>) -> Option<&SchoolEvent> {
    upcoming_tests(events, now).into_iter().next()
}

/// The assessments within [`TEST_HORIZON`] of `now`, soonest first.
pub fn upcoming_tests(events: &[SchoolEvent], now: DateTime<Utc>) -> Vec<&SchoolEvent> {
    let mut tests: Vec<&SchoolEvent> = events
        .iter()
        .filter(|e| e.event_type.is_assessment() && e.start > now && e.start - now <= TEST_HORIZON)
        .collect();
    tests.sort_by_key(|e| e.start);
    tests
}

/// The first assessment ahead that an action starting at `start` comes before, with
/// [`BEFORE_EVENT`] to spare.
pub fn test_after(events: &[SchoolEvent], now: DateTime<Utc>, start: DateTime<Utc>) -> Option<&SchoolEvent> {
    upcoming_tests(events, now)
        .into_iter()
        .find(|e| start + BEFORE_EVENT <= e.start)
}

/// "an exam", "a math test".
pub fn with_article(noun: &str) -> String {
    let article = if noun.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {noun}")
}

/// Everything the decision and the analyses support saying.
#[allow(clippy::too_many_arguments)]
pub fn gather(
    decision: &Decision,
    effects: &[InterventionEffect],
    chronotype: Option<Chronotype>,
    age_years: Option<u32>,
    forecast: Option<&StressForecast>,
    events: &[SchoolEvent],
    sustained_high: bool,
    pattern: Option<&sprout_insights::patterns::PreTestPattern>,
    now: DateTime<Utc>,
    tz: Tz,
    clock: ClockFormat,
) -> Facts {
    let effect = effects.iter().find(|e| e.kind == decision.kind);
    let beneficial = effect.filter(|e| e.status == EffectStatus::Beneficial);
    let effect_percent = beneficial
        .and_then(|e| e.relative_effect)
        .map(|r| (r.abs() * 100.0).round() as u32)
        .filter(|p| *p > 0);
    let effect_levels = beneficial
        .and_then(InterventionEffect::effect_levels)
        .filter(|(from, to)| from > to);
    // A test is the occasion only for an action that comes before it: advice "for"
    // tomorrow's exam placed after the exam is no help (a later test may still be ahead).
    let test = test_after(events, now, decision.slot.start);
    let next_test = test.map(|e| {
        (
            e.event_type.as_str().replace('_', " "),
            day_word(e.start, now, tz),
        )
    });
    let next_test_time = test.map(|e| clock.time(e.start.with_timezone(&tz).time()));
    let forecast_peak = forecast.and_then(|f| {
        let (i, peak) = f.mean.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1))?;
        let at = *f.times.get(i)?;
        let local = at.with_timezone(&tz);
        (*peak >= NOTABLE_PEAK).then(|| {
            let hour = local.time().with_minute(0).unwrap_or(local.time());
            (level(*peak), clock.time(hour), day_word(at, now, tz))
        })
    });
    Facts {
        action: decision.kind,
        slot: decision.slot.kind,
        slot_time: clock.time(decision.slot.local_time),
        chronotype,
        age_years,
        effect_percent,
        effect_levels,
        effect_status: effect.map(|e| e.status),
        next_test,
        next_test_time,
        forecast_peak,
        sustained_high,
        pre_test_rise: pattern
            .filter(|p| p.significant && p.difference > 0.0)
            .map(|p| level(p.difference))
            .filter(|rise| *rise > 0),
        right_now: None,
        bedtime: None,
        short_sleep: None,
        history: Vec::new(),
    }
}

impl Facts {
    /// The facts as short lines, for a language model's prompt.
    pub fn lines(&self) -> Vec<String> {
        let mut lines = Vec::new();
        if let Some(age) = self.age_years {
            lines.push(format!("Age: {age}"));
        }
        lines.push(format!(
            "Chronotype: {}",
            match self.chronotype {
                Some(Chronotype::EarlyBird) => "early bird",
                Some(Chronotype::NightOwl) => "night owl",
                Some(Chronotype::Intermediate) => "intermediate",
                None => "not known yet",
            }
        ));
        match &self.forecast_peak {
            Some((value, time, day)) => {
                lines.push(format!("Stress forecast: peak {value} of 100 at {time} {day}"))
            }
            None => lines.push("Stress forecast: calm".into()),
        }
        if let Some((test, day)) = &self.next_test {
            match &self.next_test_time {
                Some(time) => lines.push(format!("Upcoming: {test} {day} at {time}")),
                None => lines.push(format!("Upcoming: {test} {day}")),
            }
        }
        if let Some(rise) = self.pre_test_rise {
            lines.push(format!(
                "Pattern: stress is {rise} points (of 100) higher than usual the day before a test"
            ));
        }
        lines.push(format!(
            "Action: {} at {} {}",
            activity(self.action),
            self.slot_time,
            self.slot.phrase()
        ));
        if let Some(now) = &self.right_now {
            lines.push(format!(
                "Right now: stress is high, {} of 100; {} has helped most (stress about {}% lower{})",
                now.level,
                activity(now.helped_most),
                now.percent,
                effect_when(now.helped_most)
            ));
        }
        if let Some(step) = &self.bedtime {
            lines.push(format!(
                "Usual time asleep that night: {}; the suggested bedtime is {} minutes earlier",
                step.usual, step.minutes_earlier
            ));
        }
        if let Some(short) = &self.short_sleep {
            lines.push(format!(
                "Sleep lately: about {} hours {}; {}-{} hours is recommended at this age",
                short.hours,
                short.which_nights(),
                short.recommended.0,
                short.recommended.1
            ));
        }
        match (self.effect_levels, self.effect_percent) {
            (Some((from, to)), _) => lines.push(format!(
                "Measured effect: stress typically from about {from} to {to} of 100{}",
                effect_span(self.action)
            )),
            (None, Some(p)) => lines.push(format!(
                "Measured effect: lowers their stress{} by about {p}%",
                effect_when(self.action)
            )),
            (None, None) => lines.push("Measured effect: not known yet".into()),
        }
        lines.extend(self.history.iter().map(|h| format!("From the family: {h}")));
        lines
    }

    /// Every number a text may contain, as written in the facts.
    pub fn numbers(&self) -> Vec<String> {
        let mut text = self.lines().join(" ");
        text.push_str(&self.slot_time);
        numbers_in(&text)
    }
}

/// Where a kind's measured effect shows: an earlier bedtime is judged on the next
/// morning, every other activity on the hours after it.
pub fn effect_when(kind: InterventionKind) -> &'static str {
    if kind == InterventionKind::EarlyBedtime {
        " the next morning"
    } else {
        ""
    }
}

/// The span a measured change in levels covers: the two hours after an activity, the
/// next morning after an earlier bedtime.
pub fn effect_span(kind: InterventionKind) -> &'static str {
    if kind == InterventionKind::EarlyBedtime {
        " the next morning"
    } else {
        " in the two hours after"
    }
}

/// The numbers written in a text ("7:30 PM" gives 7 and 30; "0.85" stays whole).
pub fn numbers_in(text: &str) -> Vec<String> {
    let mut numbers = Vec::new();
    let mut current = String::new();
    let chars: Vec<char> = text.chars().collect();
    for (i, c) in chars.iter().enumerate() {
        let decimal_point =
            *c == '.' && !current.is_empty() && chars.get(i + 1).is_some_and(|n| n.is_ascii_digit());
        if c.is_ascii_digit() || decimal_point {
            current.push(*c);
        } else if !current.is_empty() {
            numbers.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        numbers.push(current);
    }
    numbers
}
