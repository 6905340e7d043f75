//! Forecast, chronotype and intervention effects through the API, on simulated data.

use crate::helpers::{expect_error, samples_json, spawn_app, spawn_on, TestApp};
use crate::on_both_backends;
use chrono::Utc;
use reqwest::StatusCode;
use serde_json::{json, Value};
use sprout_domain::{ChildId, SampleBatch, MAX_BATCH_SAMPLES};
use sprout_insights::pooling::{pool, Estimate};
use sprout_sim::{SimConfig, SimulatedChild};
use sprout_store::Backend;

on_both_backends!(
    a_family_acting_at_spikes_gets_the_right_verdicts,
    the_forecast_stays_cached_while_only_this_hours_samples_arrive,
    insights_answer_from_the_childs_data,
    insights_are_honest_without_data,
    effects_are_pooled_across_children,
    every_node_and_a_restarted_one_pool_the_same_children
);

/// Stores a simulated night owl's 60 days (five-minute samples) for the family's child.
pub async fn seed(app: &TestApp, child_id: &str) -> SimulatedChild {
    seed_with(app, child_id, 11, 60).await
}

/// As [`seed`], with the simulation's own seed.
pub async fn seed_with(app: &TestApp, child_id: &str, sim_seed: u64, days: u32) -> SimulatedChild {
    let config = SimConfig {
        seed: sim_seed,
        children: 3,
        days,
        end: Utc::now(),
        step_minutes: 5,
        ..SimConfig::default()
    };
    let sim = sprout_sim::simulate_child(&config, 2);
    let id: ChildId = child_id.parse().expect("id");
    let store = &app.db.store;
    for chunk in sim.samples.chunks(MAX_BATCH_SAMPLES) {
        store
            .insert_samples(id, &SampleBatch::from_trusted(chunk.to_vec()).expect("batch"))
            .await
            .expect("samples");
    }
    for event in &sim.events {
        store.insert_event(id, event).await.expect("event");
    }
    for intervention in &sim.interventions {
        store
            .insert_intervention(id, intervention)
            .await
            .expect("intervention");
    }
    for episode in sim.sleep_episodes.iter().filter(|e| e.offset <= Utc::now()) {
        store.insert_sleep_episode(id, episode).await.expect("episode");
    }
    sim
}

async fn get_json(app: &TestApp, path: &str, token: &str) -> Value {
    let response = app.get(path, Some(token)).await;
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    response.json().await.expect("json")
}

async fn insights_answer_from_the_childs_data(backend: Backend) {
    let app = spawn_app(backend).await;
    let family = app.family("insights@example.org").await;
    let other = app.family("other-insights@example.org").await;
    let sim = seed(&app, &family.child_id).await;
    let child = &family.child_id;

    // Forecast: 24 hourly points with ordered intervals inside [0, 1], and the calendar.
    let forecast = get_json(
        &app,
        &format!("/api/v1/children/{child}/forecast?hours=24"),
        &family.token,
    )
    .await;
    let stress = &forecast["stress"];
    let mean = stress["mean"].as_array().expect("mean");
    assert_eq!(mean.len(), 24);
    for i in 0..24 {
        let (lo, m, hi) = (
            stress["lower"][i].as_f64().expect("lower"),
            mean[i].as_f64().expect("mean"),
            stress["upper"][i].as_f64().expect("upper"),
        );
        assert!(0.0 <= lo && lo <= m && m <= hi && hi <= 1.0, "{lo} {m} {hi}");
    }
    assert!(stress["model"].as_str().is_some_and(|m| !m.is_empty()));
    assert_eq!(forecast["sleep"]["nights"].as_array().map(Vec::len), Some(3));
    // Cached until the data changes.
    let again = get_json(
        &app,
        &format!("/api/v1/children/{child}/forecast?hours=24"),
        &family.token,
    )
    .await;
    assert_eq!(again["generated_at"], forecast["generated_at"]);
    // A sample of a complete hour (the forecast's input; see the test below for this
    // hour's samples).
    let late = samples_json(&(Utc::now() - chrono::Duration::minutes(90)).to_rfc3339(), 1);
    app.post(
        &format!("/api/v1/children/{child}/metrics"),
        Some(&family.device_token),
        &late,
    )
    .await;
    let fresh = get_json(
        &app,
        &format!("/api/v1/children/{child}/forecast?hours=24"),
        &family.token,
    )
    .await;
    assert_ne!(
        fresh["generated_at"], forecast["generated_at"],
        "new samples of complete hours make a new forecast"
    );

    // Chronotype: the simulated night owl, and recomputing records it on the child.
    let report = get_json(
        &app,
        &format!("/api/v1/children/{child}/chronotype"),
        &family.token,
    )
    .await;
    assert_eq!(report["chronotype"], sim.truth.chronotype.as_str(), "{report}");
    assert!((report["msf_sc_hours"].as_f64().expect("msf_sc") - sim.truth.msf_sc_hours).abs() < 0.5);
    assert!(report["confidence"].as_f64().expect("confidence") > 0.5);
    let original = get_json(&app, &format!("/api/update_chronotype/{child}"), &family.token).await;
    assert_eq!(original["chronotype"], "night_owl");
    let listed: Value = get_json(&app, "/api/v1/children", &family.token).await;
    assert_eq!(listed[0]["chronotype"], "night_owl");

    // Effects: one entry per kind, each with an honest status and a sentence.
    let causal = get_json(
        &app,
        &format!("/api/v1/children/{child}/insights/causal"),
        &family.token,
    )
    .await;
    let effects = causal["effects"].as_array().expect("effects");
    assert_eq!(effects.len(), 6);
    for effect in effects {
        let status = effect["status"].as_str().expect("status");
        assert!(["insufficient_data", "inconclusive", "beneficial", "harmful"].contains(&status));
        assert!(effect["interpretation"]
            .as_str()
            .is_some_and(|s| s.ends_with('.')));
        if status == "insufficient_data" {
            assert!(
                effect["effect"].is_null() && effect["ci"].is_null(),
                "no invented numbers: {effect}"
            );
        } else {
            let ci = effect["ci"].as_array().expect("ci");
            assert!(
                ci[0].as_f64() <= effect["effect"].as_f64() && effect["effect"].as_f64() <= ci[1].as_f64()
            );
            assert!(!effect["refutations"].as_array().expect("refutations").is_empty());
        }
    }
    let original = get_json(&app, &format!("/api/causal_insights/{child}"), &family.token).await;
    assert_eq!(original["child_id"], json!(child));
    assert!(original["interpretation"].is_string());
    assert!(original["causal_effect"].is_number() || original["causal_effect"].is_null());
    assert_eq!(original["effects"].as_array().map(Vec::len), Some(6));

    // Someone else's child stays invisible on every insight route.
    for path in [
        format!("/api/v1/children/{child}/forecast"),
        format!("/api/v1/children/{child}/chronotype"),
        format!("/api/v1/children/{child}/insights/causal"),
        format!("/api/causal_insights/{child}"),
        format!("/api/update_chronotype/{child}"),
    ] {
        expect_error(
            app.get(&path, Some(&other.token)).await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
        expect_error(
            app.get(&path, None).await,
            StatusCode::UNAUTHORIZED,
            "unauthorized",
        )
        .await;
    }
    let bad = app
        .get(
            &format!("/api/v1/children/{child}/forecast?hours=0"),
            Some(&family.token),
        )
        .await;
    expect_error(bad, StatusCode::BAD_REQUEST, "bad_request").await;
}

/// A family that starts an activity when the app shows a stress spike, posted as the
/// watch and the parents would (metrics, interventions, events, sleep): the Insights view
/// finds what works and what does nothing despite the fading spikes, and the
/// recommendation says the same words about its activity.
async fn a_family_acting_at_spikes_gets_the_right_verdicts(backend: Backend) {
    let app = crate::helpers::spawn_app_with(backend, |c| c.rate_limit_per_minute = None).await;
    let family = app.family("spikes@example.org").await;
    // The same data on every run: a fixed simulated period, moved by whole weeks into
    // the last 90 days (what analyses read), for a child whose clock is UTC, so the move
    // changes no local hour and no weekday.
    let end = chrono::DateTime::parse_from_rfc3339("2026-03-01T00:00:00Z")
        .expect("end")
        .with_timezone(&Utc);
    let shift = chrono::Duration::weeks((Utc::now() - end).num_weeks());
    let config = SimConfig {
        seed: 7,
        children: 6,
        days: 80,
        end,
        step_minutes: 5,
        scenario: sprout_sim::Scenario::at_spikes(),
        ..SimConfig::default()
    };
    let sim = sprout_sim::simulate_child(&config, 3);
    let response = app
        .post(
            "/api/v1/children",
            Some(&family.token),
            &json!({"display_name": "Noah", "birth_date": sim.profile.birth_date, "timezone": "UTC"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let created: Value = response.json().await.expect("json");
    let child = &created["id"].as_str().expect("id").to_owned();
    let device_token = app.create_device(&family.token, child).await;
    let device = Some(device_token.as_str());
    for chunk in sim.samples.chunks(5_000) {
        let samples: Vec<Value> = chunk
            .iter()
            .map(|s| {
                json!({
                    "time": (s.time + shift).to_rfc3339(),
                    "stress_level": s.stress_level,
                    "heart_rate": s.heart_rate,
                    "hrv_ms": s.hrv_ms,
                    "sleep_state": s.sleep_state.map(|state| state.as_str()),
                    "steps": s.steps,
                })
            })
            .collect();
        let response = app
            .post(
                &format!("/api/v1/children/{child}/metrics"),
                device,
                &json!({ "samples": samples }),
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK);
    }
    for i in &sim.interventions {
        let body = json!({"kind": i.kind.as_str(), "time": (i.time + shift).to_rfc3339(), "duration_min": i.duration_min});
        let response = app
            .post(&format!("/api/v1/children/{child}/interventions"), device, &body)
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
    }
    for e in &sim.events {
        let body = json!({
            "event_type": e.event_type.as_str(),
            "start": (e.start + shift).to_rfc3339(),
            "end": e.end.map(|end| (end + shift).to_rfc3339()),
        });
        let response = app
            .post(
                &format!("/api/v1/children/{child}/events"),
                Some(&family.token),
                &body,
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED, "{body}");
    }
    for episode in &sim.sleep_episodes {
        let body = json!({"onset": (episode.onset + shift).to_rfc3339(), "offset": (episode.offset + shift).to_rfc3339()});
        let response = app
            .post(&format!("/api/v1/children/{child}/sleep-episodes"), device, &body)
            .await;
        assert!(response.status().is_success(), "{body}");
    }

    let causal = get_json(
        &app,
        &format!("/api/v1/children/{child}/insights/causal"),
        &family.token,
    )
    .await;
    let effects = causal["effects"].as_array().expect("effects");
    let by_kind = |kind: &str| {
        effects
            .iter()
            .find(|e| e["kind"] == kind)
            .unwrap_or_else(|| panic!("{kind} in {causal}"))
    };
    for effect in effects {
        let kind: sprout_domain::InterventionKind =
            serde_json::from_value(effect["kind"].clone()).expect("kind");
        let truth = sim.truth.awake_stress_effect(kind);
        let status = effect["status"].as_str().expect("status");
        let sentence = effect["interpretation"].as_str().expect("sentence");
        if truth == 0.0 {
            assert!(
                status == "inconclusive" || status == "insufficient_data",
                "an activity that does nothing: {effect}"
            );
        }
        if let Some(ci) = effect["ci"].as_array() {
            let (lo, hi) = (ci[0].as_f64().expect("lo"), ci[1].as_f64().expect("hi"));
            assert!(
                lo <= truth && truth <= hi,
                "the interval covers the truth {truth}: {effect}"
            );
            let design = &effect["design"];
            assert!(
                design["decision_points"].as_u64().is_some_and(|n| n > 1_000),
                "{design}"
            );
            assert_eq!(design["outcome_window_minutes"], 120);
            assert!(design["adjustment_set"]
                .as_array()
                .is_some_and(|set| set.iter().any(|c| c == "latest_stress")));
            assert_eq!(
                effect["refutations"].as_array().map(Vec::len),
                Some(3),
                "{effect}"
            );
        }
        assert_eq!(
            sentence.contains("strong evidence"),
            effect["evidence"] == "strong",
            "{effect}"
        );
        if effect["evidence"] == "strong" {
            assert!(effect["refutations"]
                .as_array()
                .expect("checks")
                .iter()
                .all(|r| r["passed"] == true));
        }
    }
    // Naively, the fading spike makes everything look harmful; here what works is found.
    assert_eq!(by_kind("mindfulness")["status"], "beneficial", "{causal}");
    assert_eq!(by_kind("outdoor_play")["status"], "beneficial", "{causal}");
    assert_eq!(by_kind("screen_limit")["status"], "inconclusive", "{causal}");

    let recommendation = get_json(
        &app,
        &format!("/api/v1/children/{child}/recommendation"),
        &family.token,
    )
    .await;
    let kind = recommendation["action"]["kind"].as_str().expect("kind");
    let insight = recommendation["causal_insight"].as_str().expect("insight");
    assert_eq!(
        insight,
        by_kind(kind)["interpretation"].as_str().expect("sentence"),
        "the card and the Insights view say the same about {kind}"
    );
    // A cited effect reads as levels, the same figures on the card as in Insights.
    if let Some([from, to]) = recommendation["facts"]["effect_levels"]
        .as_array()
        .map(|l| [l[0].as_u64().expect("from"), l[1].as_u64().expect("to")])
    {
        let figures = format!("from about {from} to {to} of 100");
        assert!(
            recommendation["recommendation"]
                .as_str()
                .expect("text")
                .contains(&figures),
            "{recommendation}"
        );
        assert!(insight.contains(&figures), "{insight} vs {figures}");
    }
    for effect in effects.iter().filter(|e| e["status"] == "beneficial") {
        let sentence = effect["interpretation"].as_str().expect("sentence");
        assert!(
            sentence.contains("stress typically went from about"),
            "{sentence}"
        );
        assert!(
            !sentence.contains("Beneficial"),
            "no status enums for parents: {sentence}"
        );
    }
    if sim
        .truth
        .awake_stress_effect(serde_json::from_value(json!(kind)).expect("kind"))
        == 0.0
    {
        assert!(
            recommendation["facts"]["effect_percent"].is_null(),
            "no effect is cited for an activity that does nothing: {recommendation}"
        );
    }

    // Stress high for the last 40 minutes: the card answers the moment with what has
    // lowered this child's stress most, as Insights measured it.
    let now = Utc::now();
    let high: Vec<Value> = (0..8)
        .map(|k| json!({"time": (now - chrono::Duration::minutes(40 - 5 * k)).to_rfc3339(), "stress_level": 0.92}))
        .collect();
    let response = app
        .post(
            &format!("/api/v1/children/{child}/metrics"),
            device,
            &json!({ "samples": high }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let best = effects
        .iter()
        .filter(|e| e["status"] == "beneficial")
        .min_by(|a, b| {
            let r = |e: &Value| e["relative_effect"].as_f64().unwrap_or(0.0);
            r(a).total_cmp(&r(b))
        })
        .expect("an activity that helps");
    // The alert renews the advice; reading it again may race the renewal, so wait for it.
    let mut answered = Value::Null;
    for _ in 0..50 {
        answered = get_json(
            &app,
            &format!("/api/v1/children/{child}/recommendation"),
            &family.token,
        )
        .await;
        if !answered["facts"]["right_now"].is_null() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let right_now = &answered["facts"]["right_now"];
    assert!(right_now["level"].as_u64().expect("level") >= 80, "{answered}");
    assert_eq!(right_now["helped_most"], best["kind"], "{answered}");
    let text = answered["recommendation"].as_str().expect("text");
    assert!(text.starts_with("Stress is high right now ("), "{text}");
}

async fn insights_are_honest_without_data(backend: Backend) {
    let app = spawn_app(backend).await;
    let family = app.family("empty@example.org").await;
    let child = &family.child_id;
    let forecast = get_json(&app, &format!("/api/v1/children/{child}/forecast"), &family.token).await;
    assert_eq!(forecast["stress"]["status"], "insufficient_data");
    assert_eq!(forecast["sleep"]["status"], "insufficient_data");
    let report = get_json(
        &app,
        &format!("/api/v1/children/{child}/chronotype"),
        &family.token,
    )
    .await;
    assert_eq!(report["status"], "insufficient_data");
    assert!(report["chronotype"].is_null());
    let original = get_json(&app, &format!("/api/causal_insights/{child}"), &family.token).await;
    assert!(original["causal_effect"].is_null());
    let causal = get_json(
        &app,
        &format!("/api/v1/children/{child}/insights/causal"),
        &family.token,
    )
    .await;
    assert!(causal["effects"]
        .as_array()
        .expect("effects")
        .iter()
        .all(|e| e["status"] == "insufficient_data"));
}

async fn effects_are_pooled_across_children(backend: Backend) {
    let app = spawn_app(backend).await;
    let family = app.family("pool@example.org").await;
    let siblings = [
        family.child_id.clone(),
        app.create_child(&family.token, "Leo").await,
        app.create_child(&family.token, "Ida").await,
    ];
    for (i, child) in siblings.iter().enumerate() {
        seed_with(&app, child, 100 + i as u64, 90).await;
    }
    let mut last = Value::Null;
    for child in &siblings {
        last = get_json(
            &app,
            &format!("/api/v1/children/{child}/insights/causal"),
            &family.token,
        )
        .await;
    }
    // The last child's estimates are shrunk toward what the other two children show.
    let pooled: Vec<&Value> = last["effects"]
        .as_array()
        .expect("effects")
        .iter()
        .filter(|e| !e["pooled"].is_null())
        .collect();
    assert!(!pooled.is_empty(), "some kind is pooled: {last}");
    for effect in pooled {
        let p = &effect["pooled"];
        let (lo, hi) = (p["ci"][0].as_f64().expect("lo"), p["ci"][1].as_f64().expect("hi"));
        assert!(lo <= p["effect"].as_f64().expect("effect") && p["effect"].as_f64().expect("effect") <= hi);
        assert_eq!(p["children"], 2, "pooled with the two other children, not itself");
        // Partial pooling lands between the child's own estimate and the population's.
        let Some(own) = effect["effect"].as_f64() else {
            continue;
        };
        let population = p["population_effect"].as_f64().expect("population");
        let shrunk = p["effect"].as_f64().expect("shrunk");
        assert!(
            shrunk >= own.min(population) - 1e-9 && shrunk <= own.max(population) + 1e-9,
            "{effect}"
        );
    }
}

/// Each measured kind's estimates (effect, standard error) in an effects answer, by kind.
fn estimates_by_kind(effects: &Value) -> Vec<(String, Estimate)> {
    effects["effects"]
        .as_array()
        .expect("effects")
        .iter()
        .filter(|e| e["status"] != "insufficient_data")
        .filter_map(|e| {
            Some((
                e["kind"].as_str()?.to_owned(),
                Estimate {
                    effect: e["effect"].as_f64()?,
                    std_error: e["std_error"].as_f64()?,
                },
            ))
        })
        .collect()
}

/// Asserts that a child with no data of its own shows, for every kind, exactly the
/// population pooled from `measured` (other children's estimates): pooled where two or
/// more children have an estimate, absent otherwise. Returns how many kinds are pooled.
fn assert_population_of(effects: &Value, measured: &[(String, Estimate)]) -> usize {
    let mut pooled_kinds = 0;
    for entry in effects["effects"].as_array().expect("effects") {
        let kind = entry["kind"].as_str().expect("kind");
        let of_kind: Vec<Estimate> = measured
            .iter()
            .filter(|(k, _)| k == kind)
            .map(|(_, e)| *e)
            .collect();
        match pool(&of_kind) {
            Some(population) => {
                let p = &entry["pooled"];
                assert_eq!(
                    p["children"],
                    of_kind.len(),
                    "{kind}: pooled over the measured children: {entry}"
                );
                let effect = p["population_effect"].as_f64().expect("population effect");
                assert!((effect - population.mean.effect).abs() < 1e-9, "{kind}: {entry}");
                pooled_kinds += 1;
            }
            None => assert!(entry["pooled"].is_null(), "{kind}: nothing to pool: {entry}"),
        }
    }
    pooled_kinds
}

/// The population lives in the store, not in a node: the children whose effects one
/// node computed are pooled by another node on the same database, and by a node
/// started after both stopped; an erased child leaves it.
async fn every_node_and_a_restarted_one_pool_the_same_children(backend: Backend) {
    let mut a = spawn_app(backend).await;
    let family = a.family("nodes-pool@example.org").await;
    let causal = |child: &str| format!("/api/v1/children/{child}/insights/causal");
    let measured = [
        family.child_id.clone(),
        a.create_child(&family.token, "Leo").await,
    ];
    let mut per_child = Vec::new();
    for (i, child) in measured.iter().enumerate() {
        seed_with(&a, child, 100 + i as u64, 90).await;
        per_child.push(estimates_by_kind(
            &get_json(&a, &causal(child), &family.token).await,
        ));
    }
    let estimates = per_child.concat();
    // Children with no data of their own: all they show comes from the population.
    let newcomers = [
        a.create_child(&family.token, "Ida").await,
        a.create_child(&family.token, "Noa").await,
    ];

    let mut b = a.another_node(|_| {}).await;
    let on_b = get_json(&b, &causal(&newcomers[0]), &family.token).await;
    assert!(
        assert_population_of(&on_b, &estimates) > 0,
        "the other node pools the children node A measured: {on_b}"
    );

    a.stop().await;
    b.stop().await;
    let restarted = spawn_on(a.db.clone(), |_| {}).await;
    let after_restart = get_json(&restarted, &causal(&newcomers[0]), &family.token).await;
    assert!(
        assert_population_of(&after_restart, &estimates) > 0,
        "a restarted node pools them too: {after_restart}"
    );

    let erased = restarted.erase_child(&family.token, &measured[0]).await;
    assert!(
        erased["erased"]["effect_estimates"]
            .as_u64()
            .is_some_and(|n| n > 0),
        "{erased}"
    );
    let without = get_json(&restarted, &causal(&newcomers[1]), &family.token).await;
    assert_eq!(
        assert_population_of(&without, &per_child[1]),
        0,
        "one measured child left pools nothing: {without}"
    );
}

/// The forecast reads complete hours: samples of the current hour leave the cached one
/// current (a streaming device does not force a recomputation on every read), a late
/// sample of an earlier hour retires it. With Redis (the shared cache) too.
async fn the_forecast_stays_cached_while_only_this_hours_samples_arrive(backend: Backend) {
    for redis in [false, true] {
        let app = crate::helpers::spawn_app_with(backend, |c| {
            if redis {
                c.redis = Some(sprout_server::Secret::new("redis://127.0.0.1:6379"));
            }
        })
        .await;
        let family = app.family(&format!("hourly-{redis}@example.org")).await;
        seed_with(&app, &family.child_id, 5, 8).await;
        let forecast = format!("/api/v1/children/{}/forecast", family.child_id);
        let metrics = format!("/api/v1/children/{}/metrics", family.child_id);
        let generated = || {
            let (app, path, token) = (&app, forecast.clone(), family.token.clone());
            async move {
                let body: Value = app.get(&path, Some(&token)).await.json().await.expect("json");
                assert!(body["stress"]["mean"].is_array(), "{body}");
                body["generated_at"].as_str().expect("generated_at").to_owned()
            }
        };
        let sample = |at: chrono::DateTime<Utc>| json!({ "samples": [{ "time": at.to_rfc3339(), "stress_level": 0.9, "heart_rate": 90.0 }] });
        let hour = || Utc::now().timestamp().div_euclid(3_600);
        // Near the end of an hour the next read may fall in the next one: try again there.
        for _attempt in 0..3 {
            let started = hour();
            let first = generated().await;
            let now = app
                .post(&metrics, Some(&family.device_token), &sample(Utc::now()))
                .await;
            assert_eq!(now.status(), StatusCode::OK);
            let again = generated().await;
            if hour() != started {
                continue;
            }
            assert_eq!(
                first, again,
                "a sample of this hour retired the forecast (redis: {redis})"
            );
            let late = Utc::now() - chrono::Duration::hours(2);
            let response = app
                .post(&metrics, Some(&family.device_token), &sample(late))
                .await;
            assert_eq!(response.status(), StatusCode::OK);
            let after = generated().await;
            assert_ne!(
                first, after,
                "a late sample of an earlier hour must retire it (redis: {redis})"
            );
            break;
        }
    }
}
