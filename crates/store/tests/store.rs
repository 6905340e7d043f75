//! One suite, both backends: every test runs on SQLite and on PostgreSQL.

use chrono::{DateTime, Duration, Utc};
use sprout_domain::{
    ChildId, Email, FamilyId, InterventionKind, NewChild, NewIntervention, NewSchoolEvent, NewSleepEpisode,
    Sample, SampleBatch, SleepState,
};
use sprout_store::testing::TestDb;
use sprout_store::{
    Backend, EffectEstimate, NewRecommendation, NewToken, RecordCursor, Store, StoreError, TimeRange,
    TokenOwner,
};

macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test]
                async fn sqlite() {
                    super::$name(&sprout_store::testing::TestDb::new(sprout_store::Backend::Sqlite).await).await;
                }
                #[tokio::test]
                async fn postgres() {
                    super::$name(&sprout_store::testing::TestDb::new(sprout_store::Backend::Postgres).await).await;
                }
            }
        )*
    };
}

on_both_backends!(
    families_and_logins,
    children_belong_to_their_family,
    tokens_know_their_owner,
    sample_batches_are_idempotent,
    samples_page_in_time_order,
    events_interventions_and_sleep_are_idempotent_and_paged,
    records_at_one_instant_page_by_id_within_their_range,
    migrating_twice_changes_nothing,
    recommendations_and_feedback,
    tokens_and_devices_can_be_revoked,
    erasing_a_child_leaves_nothing_behind,
    retired_samples_become_exact_hourly_aggregates,
    retired_hours_follow_the_childs_offset,
    notes_and_remembered_recommendations,
    effect_estimates_are_replaced_as_one_set,
    experiments_count_each_answer_once_and_by_child,
);

fn t(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .expect("test time")
        .with_timezone(&Utc)
}

fn email(text: &str) -> Email {
    Email::parse(text).expect("test email")
}

async fn family_with_child(store: &dyn Store, mail: &str) -> (FamilyId, ChildId) {
    let (family, _) = store
        .create_family("Test family", &email(mail), "hash")
        .await
        .expect("family");
    let child = NewChild::parse("Mia", "2016-04-01", "Europe/Berlin", Utc::now()).expect("child");
    let child = store.create_child(family, &child).await.expect("create child");
    (family, child.id)
}

fn minute_samples(start: DateTime<Utc>, count: i64) -> Vec<Sample> {
    (0..count)
        .map(|i| Sample {
            time: start + Duration::minutes(i),
            stress_level: Some((i % 10) as f64 / 10.0),
            heart_rate: Some(80.0),
            hrv_ms: None,
            sleep_state: Some(SleepState::Awake),
            steps: Some(i),
        })
        .collect()
}

async fn families_and_logins(db: &TestDb) {
    let store = db.store.as_ref();
    let (family, user) = store
        .create_family("Berg", &email("anna@example.org"), "argon2-hash")
        .await
        .expect("family");
    let found = store
        .find_user_by_email(&email("ANNA@example.org"))
        .await
        .expect("query")
        .expect("found");
    assert_eq!((found.id, found.family_id), (user, family));
    assert_eq!(found.password_hash, "argon2-hash");
    let again = store
        .create_family("Other", &email("anna@example.org"), "x")
        .await;
    assert!(
        matches!(again, Err(StoreError::Conflict { what: "email" })),
        "{again:?}"
    );
    assert!(store
        .find_user_by_email(&email("nobody@example.org"))
        .await
        .expect("query")
        .is_none());
    // A family reads 12-hour times until it chooses otherwise.
    use sprout_domain::ClockFormat;
    assert_eq!(
        store.family_clock(family).await.expect("clock"),
        ClockFormat::TwelveHour
    );
    store
        .set_family_clock(family, ClockFormat::TwentyFourHour)
        .await
        .expect("set");
    assert_eq!(
        store.family_clock(family).await.expect("clock"),
        ClockFormat::TwentyFourHour
    );
    let nobody = sprout_domain::FamilyId::new();
    assert!(matches!(
        store.set_family_clock(nobody, ClockFormat::TwelveHour).await,
        Err(StoreError::NotFound { what: "family" })
    ));
}

async fn children_belong_to_their_family(db: &TestDb) {
    let store = db.store.as_ref();
    let (family_a, child_a) = family_with_child(store, "a@example.org").await;
    let (family_b, _) = family_with_child(store, "b@example.org").await;
    let listed = store.list_children(family_a).await.expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, child_a);
    assert_eq!(listed[0].display_name.as_str(), "Mia");
    assert_eq!(listed[0].timezone.name(), "Europe/Berlin");
    assert_eq!(listed[0].birth_date.to_string(), "2016-04-01");
    let fetched = store.get_child(child_a).await.expect("get").expect("exists");
    assert_eq!(fetched, listed[0]);
    assert!(store
        .list_children(family_b)
        .await
        .expect("list")
        .iter()
        .all(|c| c.id != child_a));
    assert!(store.get_child(ChildId::new()).await.expect("get").is_none());
    store
        .set_chronotype(child_a, Some("night_owl"))
        .await
        .expect("set chronotype");
    let fetched = store.get_child(child_a).await.expect("get").expect("exists");
    assert_eq!(fetched.chronotype.as_deref(), Some("night_owl"));
    let missing = store.set_chronotype(ChildId::new(), Some("early_bird")).await;
    assert!(matches!(missing, Err(StoreError::NotFound { .. })), "{missing:?}");
}

async fn tokens_know_their_owner(db: &TestDb) {
    let store = db.store.as_ref();
    let (family, user) = store
        .create_family("Berg", &email("t@example.org"), "h")
        .await
        .expect("family");
    let expires = t("2030-01-01T00:00:00Z");
    let parent_hash = [7u8; 32];
    store
        .insert_token(&NewToken {
            hash: parent_hash,
            owner: TokenOwner::Parent {
                user_id: user,
                family_id: family,
            },
            expires_at: Some(expires),
        })
        .await
        .expect("insert token");
    let record = store
        .find_token(&parent_hash)
        .await
        .expect("query")
        .expect("found");
    assert_eq!(
        record.owner,
        TokenOwner::Parent {
            user_id: user,
            family_id: family
        }
    );
    assert_eq!(record.expires_at, Some(expires));
    assert!(!record.revoked);

    let child = NewChild::parse("Leo", "2015-01-01", "UTC", Utc::now()).expect("child");
    let child = store.create_child(family, &child).await.expect("child");
    let device_hash = [9u8; 32];
    let device = store
        .create_device(child.id, "watch", &device_hash)
        .await
        .expect("device");
    let record = store
        .find_token(&device_hash)
        .await
        .expect("query")
        .expect("found");
    assert_eq!(
        record.owner,
        TokenOwner::Device {
            device_id: device,
            child_id: child.id
        }
    );
    assert_eq!(record.expires_at, None);
    assert!(store.find_token(&[0u8; 32]).await.expect("query").is_none());
}

async fn sample_batches_are_idempotent(db: &TestDb) {
    let store = db.store.as_ref();
    let (_, child) = family_with_child(store, "s@example.org").await;
    let samples = minute_samples(t("2026-03-01T00:00:00Z"), 1_200);
    let batch = SampleBatch::from_trusted(samples.clone()).expect("batch");
    let first = store.insert_samples(child, &batch).await.expect("insert");
    assert_eq!((first.accepted, first.duplicates), (1_200, 0));
    let second = store.insert_samples(child, &batch).await.expect("insert again");
    assert_eq!((second.accepted, second.duplicates), (0, 1_200));
    let stored = store
        .samples(child, TimeRange::default(), None, 10_000)
        .await
        .expect("read");
    assert_eq!(stored, samples, "one copy of each sample, values intact");

    // Repeats inside one batch count as duplicates too; the first copy wins.
    let mut repeated = minute_samples(t("2026-03-02T00:00:00Z"), 3);
    let mut copy = repeated[1].clone();
    copy.stress_level = Some(0.99);
    repeated.push(copy);
    let outcome = store
        .insert_samples(child, &SampleBatch::from_trusted(repeated).expect("batch"))
        .await
        .expect("insert");
    assert_eq!((outcome.accepted, outcome.duplicates), (3, 1));
    let row_by_row = db
        .insert_samples_row_by_row(child, &minute_samples(t("2026-03-03T00:00:00Z"), 10))
        .await;
    assert_eq!(row_by_row.expect("row by row"), 10);
}

async fn samples_page_in_time_order(db: &TestDb) {
    let store = db.store.as_ref();
    let (_, child) = family_with_child(store, "p@example.org").await;
    let (_, other) = family_with_child(store, "q@example.org").await;
    let start = t("2026-03-01T00:00:00Z");
    let batch = SampleBatch::from_trusted(minute_samples(start, 100)).expect("batch");
    store.insert_samples(child, &batch).await.expect("insert");
    store.insert_samples(other, &batch).await.expect("insert other");
    let range = TimeRange {
        from: Some(start + Duration::minutes(10)),
        to: Some(start + Duration::minutes(50)),
    };
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = store.samples(child, range, after, 15).await.expect("page");
        if page.is_empty() {
            break;
        }
        after = page.last().map(|s| s.time);
        seen.extend(page);
    }
    assert_eq!(seen.len(), 40, "from inclusive, to exclusive");
    assert_eq!(seen[0].time, start + Duration::minutes(10));
    assert!(seen.windows(2).all(|w| w[0].time < w[1].time));
}

async fn events_interventions_and_sleep_are_idempotent_and_paged(db: &TestDb) {
    let store = db.store.as_ref();
    let (_, child) = family_with_child(store, "e@example.org").await;
    let now = t("2026-03-10T00:00:00Z");
    for day in 1..=5 {
        let input = sprout_domain::SchoolEventInput {
            event_type: "math_test".into(),
            start: format!("2026-03-0{day}T09:00:00+01:00"),
            end: Some(format!("2026-03-0{day}T10:00:00+01:00")),
        };
        let event = NewSchoolEvent::parse(&input, now).expect("event");
        let (stored, created) = store.insert_event(child, &event).await.expect("insert");
        assert!(created);
        let (again, created_again) = store.insert_event(child, &event).await.expect("insert again");
        assert!(!created_again);
        assert_eq!(again.id, stored.id);
    }
    let first = store
        .events(child, TimeRange::default(), None, 3)
        .await
        .expect("page 1");
    assert_eq!(first.len(), 3);
    let last = first.last().expect("non-empty");
    let cursor = RecordCursor {
        time: last.start,
        id: last.id,
    };
    let second = store
        .events(child, TimeRange::default(), Some(cursor), 3)
        .await
        .expect("page 2");
    assert_eq!(second.len(), 2);
    assert!(second[0].start > last.start);

    let intervention = NewIntervention::parse(
        &sprout_domain::InterventionInput {
            kind: "mindfulness".into(),
            time: "2026-03-02T19:00:00+01:00".into(),
            duration_min: 15,
        },
        now,
    )
    .expect("intervention");
    let (a, created) = store
        .insert_intervention(child, &intervention)
        .await
        .expect("insert");
    let (b, created_again) = store
        .insert_intervention(child, &intervention)
        .await
        .expect("again");
    assert!(created && !created_again && a == b);
    assert_eq!(
        store
            .interventions(child, TimeRange::default(), None, 10)
            .await
            .expect("list"),
        vec![a]
    );

    let episode = NewSleepEpisode::parse(
        &sprout_domain::SleepEpisodeInput {
            onset: "2026-03-02T21:30:00+01:00".into(),
            offset: "2026-03-03T06:45:00+01:00".into(),
        },
        now,
    )
    .expect("episode");
    let (e, created) = store.insert_sleep_episode(child, &episode).await.expect("insert");
    assert!(created);
    assert_eq!(e.utc_offset_min, 60);
    assert_eq!(e.onset, t("2026-03-02T20:30:00Z"));
    let listed = store
        .sleep_episodes(child, TimeRange::default(), None, 10)
        .await
        .expect("list");
    assert_eq!(listed, vec![e]);
}

/// Several records at one instant (a family logging two things at 19:00) page one at a
/// time by id without skipping or repeating any, and the range is half-open: a record at
/// its end belongs to the next range.
async fn records_at_one_instant_page_by_id_within_their_range(db: &TestDb) {
    let store = db.store.as_ref();
    let (_, child) = family_with_child(store, "instant@example.org").await;
    let at = t("2026-03-02T18:00:00Z");
    let logged = |kind, time| NewIntervention {
        kind,
        time,
        duration_min: 20,
    };
    let mut expected = Vec::new();
    for kind in [
        InterventionKind::Reading,
        InterventionKind::Mindfulness,
        InterventionKind::ScreenLimit,
    ] {
        let (stored, created) = store
            .insert_intervention(child, &logged(kind, at))
            .await
            .expect("insert");
        assert!(created);
        expected.push(stored);
    }
    for outside in [at - Duration::minutes(1), at + Duration::hours(1)] {
        store
            .insert_intervention(child, &logged(InterventionKind::OutdoorPlay, outside))
            .await
            .expect("insert outside");
    }
    expected.sort_by_key(|i| i.id.0);

    let range = TimeRange {
        from: Some(at),
        to: Some(at + Duration::hours(1)),
    };
    let mut paged = Vec::new();
    let mut after = None;
    loop {
        let page = store.interventions(child, range, after, 1).await.expect("page");
        let Some(last) = page.last() else { break };
        after = Some(RecordCursor {
            time: last.time,
            id: last.id,
        });
        paged.extend(page);
    }
    assert_eq!(paged, expected);

    let open_ended = NewSchoolEvent {
        event_type: sprout_domain::EventType::parse("field_trip").expect("event type"),
        start: at,
        end: None,
    };
    let (event, _) = store
        .insert_event(child, &open_ended)
        .await
        .expect("insert event");
    assert_eq!((event.child_id, event.start, event.end), (child, at, None));
    assert_eq!(
        store.events(child, range, None, 10).await.expect("events"),
        vec![event]
    );
}

async fn migrating_twice_changes_nothing(db: &TestDb) {
    db.store.migrate().await.expect("second migration run is a no-op");
    db.store.ping().await.expect("ping");
    let expected = if db.url.starts_with("postgres") {
        Backend::Postgres
    } else {
        Backend::Sqlite
    };
    assert_eq!(db.store.backend(), expected);
}

async fn recommendations_and_feedback(db: &TestDb) {
    let store = db.store.as_ref();
    let (family, user) = store
        .create_family("R", &email("r@example.org"), "h")
        .await
        .expect("family");
    let child = NewChild::parse("Ada", "2015-02-02", "UTC", Utc::now()).expect("child");
    let child = store.create_child(family, &child).await.expect("child").id;
    let mut ids = Vec::new();
    for hour in 0..3 {
        let id = sprout_domain::RecordId::new();
        store
            .insert_recommendation(&NewRecommendation {
                id,
                child_id: child,
                created_at: t("2026-03-01T10:00:00Z") + Duration::hours(hour),
                text: format!("Text {hour}."),
                action_kind: sprout_domain::InterventionKind::Mindfulness,
                action_slot: "this_evening".into(),
                model_version: "template-1".into(),
                arm: "control".into(),
                experiment_id: None,
                details: serde_json::json!({"hour": hour}),
            })
            .await
            .expect("insert recommendation");
        ids.push(id);
    }
    let newest = store.recommendations(child, user, None, 2).await.expect("page");
    assert_eq!(
        newest.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![ids[2], ids[1]]
    );
    assert_eq!(newest[0].details["hour"], 2);
    let last = &newest[1];
    let older = store
        .recommendations(
            child,
            user,
            Some(RecordCursor {
                time: last.created_at,
                id: last.id,
            }),
            2,
        )
        .await
        .expect("next page");
    assert_eq!(older.iter().map(|r| r.id).collect::<Vec<_>>(), vec![ids[0]]);

    let first = store
        .upsert_feedback(ids[2], user, child, true, None)
        .await
        .expect("feedback");
    let changed = store
        .upsert_feedback(ids[2], user, child, false, Some("too late"))
        .await
        .expect("changed mind");
    assert_eq!(first.created_at, changed.created_at);
    assert!(changed.updated_at >= first.updated_at);
    let seen = store.recommendations(child, user, None, 1).await.expect("page");
    assert_eq!(seen[0].was_helpful, Some(false));
    let fetched = store
        .get_recommendation(ids[2])
        .await
        .expect("get")
        .expect("exists");
    assert_eq!((fetched.text.as_str(), fetched.was_helpful), ("Text 2.", None));
    let answers = store.child_feedback(child).await.expect("answers");
    assert_eq!(answers.len(), 1, "one answer per parent and recommendation");
    assert!(!answers[0].was_helpful);
    assert_eq!(answers[0].action_slot, "this_evening");
    assert_eq!(store.feedback_count(Some(child)).await.expect("count"), 1);
    assert_eq!(
        store.feedback_count(Some(ChildId::new())).await.expect("count"),
        0
    );
}

async fn tokens_and_devices_can_be_revoked(db: &TestDb) {
    let store = db.store.as_ref();
    let (family, user) = store
        .create_family("V", &email("v@example.org"), "h")
        .await
        .expect("family");
    let hash = [3u8; 32];
    let owner = TokenOwner::Parent {
        user_id: user,
        family_id: family,
    };
    store
        .insert_token(&NewToken {
            hash,
            owner,
            expires_at: None,
        })
        .await
        .expect("token");
    assert!(store.revoke_token(&hash).await.expect("revoke"));
    assert!(
        !store.revoke_token(&hash).await.expect("again"),
        "already revoked"
    );
    assert!(
        store
            .find_token(&hash)
            .await
            .expect("find")
            .expect("kept")
            .revoked
    );
    let child = NewChild::parse("Ola", "2015-02-02", "UTC", Utc::now()).expect("child");
    let child = store.create_child(family, &child).await.expect("child").id;
    let device_hash = [4u8; 32];
    let device = store
        .create_device(child, "watch", &device_hash)
        .await
        .expect("device");
    assert!(
        !store
            .revoke_device(ChildId::new(), device)
            .await
            .expect("other child"),
        "only the child's own"
    );
    assert!(
        !store
            .find_token(&device_hash)
            .await
            .expect("find")
            .expect("kept")
            .revoked
    );
    assert!(store.revoke_device(child, device).await.expect("revoke device"));
    assert!(
        store
            .find_token(&device_hash)
            .await
            .expect("find")
            .expect("kept")
            .revoked
    );
    let entry = sprout_store::AuditEntry {
        at: t("2026-03-01T10:00:00Z"),
        actor: format!("parent:{user}"),
        action: "token.revoked".into(),
        child_id: Some(child),
        detail: serde_json::json!({"device_id": device}),
    };
    store.audit(family, &entry).await.expect("audit");
    assert_eq!(store.audit_trail(family, 10).await.expect("trail"), vec![entry]);
}

async fn erasing_a_child_leaves_nothing_behind(db: &TestDb) {
    let store = db.store.as_ref();
    let (family, user) = store
        .create_family("E", &email("erase@example.org"), "h")
        .await
        .expect("family");
    let new_child = NewChild::parse("Kim", "2015-02-02", "UTC", Utc::now()).expect("child");
    let child = store.create_child(family, &new_child).await.expect("child").id;
    let sibling = store.create_child(family, &new_child).await.expect("sibling").id;
    for id in [child, sibling] {
        let batch = SampleBatch::from_trusted(minute_samples(t("2026-03-01T00:00:00Z"), 50)).expect("batch");
        store.insert_samples(id, &batch).await.expect("samples");
    }
    let input = sprout_domain::SchoolEventInput {
        event_type: "exam".into(),
        start: "2026-03-02T09:00:00Z".into(),
        end: None,
    };
    store
        .insert_event(
            child,
            &NewSchoolEvent::parse(&input, t("2026-03-10T00:00:00Z")).expect("event"),
        )
        .await
        .expect("event");
    let device_hash = [5u8; 32];
    store
        .create_device(child, "watch", &device_hash)
        .await
        .expect("device");
    let rec = sprout_domain::RecordId::new();
    store
        .insert_recommendation(&NewRecommendation {
            id: rec,
            child_id: child,
            created_at: t("2026-03-01T10:00:00Z"),
            text: "T.".into(),
            action_kind: sprout_domain::InterventionKind::Reading,
            action_slot: "this_evening".into(),
            model_version: "template-1".into(),
            arm: "control".into(),
            experiment_id: None,
            details: serde_json::json!({}),
        })
        .await
        .expect("recommendation");
    store
        .upsert_feedback(rec, user, child, true, None)
        .await
        .expect("feedback");
    for id in [child, sibling] {
        store
            .replace_effect_estimates(id, t("2026-03-02T00:00:00Z"), &two_estimates(-0.1))
            .await
            .expect("estimates");
    }

    let erased = store.erase_child(child).await.expect("erase");
    assert_eq!(
        (
            erased.samples,
            erased.events,
            erased.recommendations,
            erased.feedback,
            erased.devices,
            erased.device_tokens,
            erased.effect_estimates,
            erased.child
        ),
        (50, 1, 1, 1, 1, 1, 2, 1)
    );
    let pooled = store.effect_estimates(None).await.expect("estimates");
    assert!(
        pooled.iter().all(|e| e.child_id == sibling) && pooled.len() == 2,
        "only the sibling's estimates are pooled now: {pooled:?}"
    );
    assert!(store.get_child(child).await.expect("get").is_none());
    assert!(store
        .samples(child, TimeRange::default(), None, 100)
        .await
        .expect("samples")
        .is_empty());
    assert!(store.find_token(&device_hash).await.expect("token").is_none());
    assert!(store.child_feedback(child).await.expect("feedback").is_empty());
    assert_eq!(
        store
            .samples(sibling, TimeRange::default(), None, 100)
            .await
            .expect("sibling")
            .len(),
        50,
        "siblings keep theirs"
    );
}

/// The aggregate the store should hold for `samples`' stress within `[from, to)`.
fn expected_stress(samples: &[Sample], from: DateTime<Utc>, to: DateTime<Utc>) -> sprout_store::Aggregate {
    let values: Vec<f64> = samples
        .iter()
        .filter(|s| s.time >= from && s.time < to)
        .filter_map(|s| s.stress_level)
        .collect();
    sprout_store::Aggregate {
        count: values.len() as u64,
        sum: values.iter().sum(),
        min: values.iter().copied().reduce(f64::min),
        max: values.iter().copied().reduce(f64::max),
    }
}

fn assert_aggregate(actual: sprout_store::Aggregate, expected: sprout_store::Aggregate) {
    assert_eq!(
        (actual.count, actual.min, actual.max),
        (expected.count, expected.min, expected.max)
    );
    assert!(
        (actual.sum - expected.sum).abs() < 1e-9,
        "{} vs {}",
        actual.sum,
        expected.sum
    );
}

async fn retired_samples_become_exact_hourly_aggregates(db: &TestDb) {
    let store = db.store.as_ref();
    let (_, child) = family_with_child(store, "retire@example.org").await;
    let start = t("2026-03-01T10:00:00Z");
    let mut samples = minute_samples(start, 150);
    for s in samples.iter_mut().skip(20).take(15) {
        s.sleep_state = Some(SleepState::Deep);
    }
    samples[5].stress_level = None;
    let batch = SampleBatch::from_trusted(samples.clone()).expect("batch");
    store.insert_samples(child, &batch).await.expect("samples");

    let cutoff = t("2026-03-01T12:00:00Z");
    let retired = store
        .retire_samples(child, cutoff, Duration::zero())
        .await
        .expect("retire");
    assert_eq!(retired, 120);
    let raw = store
        .samples(child, TimeRange::default(), None, 1_000)
        .await
        .expect("raw");
    assert_eq!(raw.len(), 30);
    assert!(raw.iter().all(|s| s.time >= cutoff));

    let hours = store
        .sample_hours(child, TimeRange::default(), 100)
        .await
        .expect("hours");
    assert_eq!(hours.len(), 2);
    assert_eq!(hours[0].start, start);
    assert_eq!(hours[1].start, t("2026-03-01T11:00:00Z"));
    assert_eq!((hours[0].samples, hours[0].asleep_samples), (60, 15));
    assert_eq!((hours[1].samples, hours[1].asleep_samples), (60, 0));
    assert_aggregate(
        hours[0].stress_level,
        expected_stress(&samples, start, t("2026-03-01T11:00:00Z")),
    );
    assert_aggregate(
        hours[1].stress_level,
        expected_stress(&samples, t("2026-03-01T11:00:00Z"), cutoff),
    );
    assert_eq!(hours[0].heart_rate.count, 60);
    assert_eq!(hours[0].hrv_ms, sprout_store::Aggregate::default());
    // Steps were 0..60 in the first hour.
    assert_eq!(
        (hours[0].steps.sum, hours[0].steps.max),
        ((0..60).sum::<i64>() as f64, Some(59.0))
    );

    // A late sample for a retired hour is retired on the next run and merges exactly.
    let late = Sample {
        time: t("2026-03-01T10:30:30Z"),
        stress_level: Some(0.95),
        heart_rate: None,
        hrv_ms: None,
        sleep_state: Some(SleepState::Rem),
        steps: None,
    };
    let batch = SampleBatch::from_trusted(vec![late.clone()]).expect("late");
    store.insert_samples(child, &batch).await.expect("late sample");
    assert_eq!(
        store
            .retire_samples(child, cutoff, Duration::zero())
            .await
            .expect("again"),
        1
    );
    let hours = store
        .sample_hours(child, TimeRange::default(), 100)
        .await
        .expect("hours");
    assert_eq!(hours.len(), 2);
    assert_eq!((hours[0].samples, hours[0].asleep_samples), (61, 16));
    samples.push(late);
    assert_aggregate(
        hours[0].stress_level,
        expected_stress(&samples, start, t("2026-03-01T11:00:00Z")),
    );
    assert_eq!(hours[0].heart_rate.count, 60);
    // Nothing left to retire: a no-op.
    assert_eq!(
        store
            .retire_samples(child, cutoff, Duration::zero())
            .await
            .expect("noop"),
        0
    );

    let range = TimeRange {
        from: Some(t("2026-03-01T11:00:00Z")),
        to: None,
    };
    assert_eq!(
        store.sample_hours(child, range, 100).await.expect("ranged").len(),
        1
    );
    assert!(store
        .all_children()
        .await
        .expect("all")
        .iter()
        .any(|c| c.id == child));

    let erased = store.erase_child(child).await.expect("erase");
    assert_eq!((erased.samples, erased.hourly_aggregates), (30, 2));
    assert!(store
        .sample_hours(child, TimeRange::default(), 100)
        .await
        .expect("gone")
        .is_empty());
}

async fn retired_hours_follow_the_childs_offset(db: &TestDb) {
    let store = db.store.as_ref();
    let (_, child) = family_with_child(store, "kolkata@example.org").await;
    let samples = minute_samples(t("2026-03-01T10:00:00Z"), 120);
    let batch = SampleBatch::from_trusted(samples).expect("batch");
    store.insert_samples(child, &batch).await.expect("samples");
    // Hours half past the UTC hour, as in India (UTC+05:30).
    let retired = store
        .retire_samples(child, t("2026-03-01T11:30:00Z"), Duration::minutes(30))
        .await
        .expect("retire");
    assert_eq!(retired, 90);
    let hours = store
        .sample_hours(child, TimeRange::default(), 100)
        .await
        .expect("hours");
    let starts: Vec<_> = hours.iter().map(|h| (h.start, h.samples)).collect();
    assert_eq!(
        starts,
        vec![(t("2026-03-01T09:30:00Z"), 30), (t("2026-03-01T10:30:00Z"), 60)]
    );
}

async fn notes_and_remembered_recommendations(db: &TestDb) {
    let store = db.store.as_ref();
    let (family, user) = store
        .create_family("N", &email("notes@example.org"), "h")
        .await
        .expect("family");
    let (_, second) = store
        .create_family("N2", &email("notes2@example.org"), "h")
        .await
        .expect("family");
    let new_child = NewChild::parse("Ida", "2015-02-02", "UTC", Utc::now()).expect("child");
    let child = store.create_child(family, &new_child).await.expect("child").id;
    for (i, text) in ["Sleeps better after reading.", "Nervous before swimming lessons."]
        .iter()
        .enumerate()
    {
        let note = sprout_store::Note {
            id: sprout_domain::RecordId::new(),
            child_id: child,
            author: user,
            created_at: t("2026-03-01T10:00:00Z") + Duration::hours(i as i64),
            text: (*text).to_owned(),
        };
        store.insert_note(&note).await.expect("note");
    }
    let notes = store.notes(child, 10).await.expect("notes");
    assert_eq!(notes.len(), 2);
    assert_eq!(notes[0].text, "Nervous before swimming lessons.", "newest first");
    assert_eq!(notes[1].author, user);

    let mut ids = Vec::new();
    for i in 0..3 {
        let id = sprout_domain::RecordId::new();
        ids.push(id);
        store
            .insert_recommendation(&NewRecommendation {
                id,
                child_id: child,
                created_at: t("2026-03-02T10:00:00Z") + Duration::hours(i),
                text: format!("Suggestion {i}."),
                action_kind: sprout_domain::InterventionKind::Reading,
                action_slot: "this_evening".into(),
                model_version: "template-1".into(),
                arm: "control".into(),
                experiment_id: None,
                details: serde_json::json!({}),
            })
            .await
            .expect("recommendation");
    }
    store
        .upsert_feedback(ids[1], user, child, true, Some("It worked."))
        .await
        .expect("feedback");
    // A second parent answering is its own answer (the test reuses another family's user).
    store
        .upsert_feedback(ids[1], second, child, false, None)
        .await
        .expect("feedback");
    let remembered = store
        .remembered_recommendations(child, 2)
        .await
        .expect("remembered");
    assert_eq!(
        remembered.len(),
        2,
        "the limit counts recommendations, not answers"
    );
    assert_eq!(remembered[0].text, "Suggestion 2.");
    assert_eq!(remembered[1].id, ids[1]);
    let mut answers = remembered[1].answers.clone();
    answers.sort();
    assert_eq!(
        answers,
        vec![(false, None), (true, Some("It worked.".to_owned()))]
    );
    assert!(remembered[0].answers.is_empty());

    let erased = store.erase_child(child).await.expect("erase");
    assert_eq!(erased.notes, 2);
    assert!(store.notes(child, 10).await.expect("notes").is_empty());
}

/// A Reading and a Mindfulness estimate, Reading's effect `reading`.
fn two_estimates(reading: f64) -> Vec<EffectEstimate> {
    vec![
        EffectEstimate {
            kind: InterventionKind::Reading,
            effect: reading,
            std_error: 0.02,
        },
        EffectEstimate {
            kind: InterventionKind::Mindfulness,
            effect: -0.05,
            std_error: 0.03,
        },
    ]
}

async fn effect_estimates_are_replaced_as_one_set(db: &TestDb) {
    let store = db.store.as_ref();
    let (_, child) = family_with_child(store, "estimates@example.org").await;
    let (_, other) = family_with_child(store, "estimates-other@example.org").await;
    let first = t("2026-03-01T08:00:00Z");
    store
        .replace_effect_estimates(child, first, &two_estimates(-0.1))
        .await
        .expect("child's estimates");
    store
        .replace_effect_estimates(other, first, &two_estimates(-0.2)[..1])
        .await
        .expect("other's estimates");
    let of = |rows: &[sprout_store::ChildEffectEstimate], id: ChildId| -> Vec<EffectEstimate> {
        rows.iter()
            .filter(|r| r.child_id == id)
            .map(|r| r.estimate)
            .collect()
    };
    let all = store.effect_estimates(None).await.expect("all");
    assert_eq!(all.len(), 3);
    assert!(all.iter().all(|r| r.computed_at == first), "{all:?}");
    let reading = store
        .effect_estimates(Some(InterventionKind::Reading))
        .await
        .expect("reading");
    assert_eq!(reading.len(), 2, "one per child: {reading:?}");
    assert!(reading
        .iter()
        .all(|r| r.estimate.kind == InterventionKind::Reading));

    // A recomputation replaces the whole set: a kind no longer estimated is gone.
    let second = t("2026-03-02T08:00:00Z");
    let outdoor = EffectEstimate {
        kind: InterventionKind::OutdoorPlay,
        effect: 0.04,
        std_error: 0.05,
    };
    store
        .replace_effect_estimates(child, second, &[outdoor])
        .await
        .expect("replace");
    let all = store.effect_estimates(None).await.expect("all");
    assert_eq!(of(&all, child), vec![outdoor]);
    assert!(all
        .iter()
        .filter(|r| r.child_id == child)
        .all(|r| r.computed_at == second));
    assert_eq!(
        of(&all, other),
        two_estimates(-0.2)[..1].to_vec(),
        "other children keep theirs"
    );

    // A set that fails half-way (the same kind twice breaks the key on the second row)
    // leaves the previous set whole: the delete and the first insert are rolled back.
    let broken = [two_estimates(-0.3)[0], two_estimates(-0.4)[0]];
    assert!(store
        .replace_effect_estimates(child, t("2026-03-03T08:00:00Z"), &broken)
        .await
        .is_err());
    let all = store.effect_estimates(None).await.expect("all");
    assert_eq!(of(&all, child), vec![outdoor], "never half-written");

    // No estimates at all is a set too: the child is no longer pooled.
    store
        .replace_effect_estimates(child, second, &[])
        .await
        .expect("empty set");
    assert!(of(&store.effect_estimates(None).await.expect("all"), child).is_empty());

    // A child erased meanwhile cannot gain estimates again.
    store.erase_child(other).await.expect("erase");
    assert!(matches!(
        store
            .replace_effect_estimates(other, second, &two_estimates(-0.2))
            .await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(store.effect_estimates(None).await.expect("all").is_empty());
}

/// An experiment's arms count each recommendation's latest answer once, whoever gave it
/// (two parents, or one who changed their mind), and carry the per-child sums the
/// decision's variance is built from (the child is what an experiment randomises).
async fn experiments_count_each_answer_once_and_by_child(db: &TestDb) {
    let store = db.store.as_ref();
    let (family, parent) = store
        .create_family("E", &email("e@example.org"), "h")
        .await
        .expect("family");
    let (_, other_parent) = store
        .create_family("E2", &email("e2@example.org"), "h")
        .await
        .expect("second family");
    let mut children = Vec::new();
    for name in ["Ada", "Bo"] {
        let child = NewChild::parse(name, "2015-02-02", "UTC", Utc::now()).expect("child");
        children.push(store.create_child(family, &child).await.expect("child").id);
    }
    let experiment = store
        .start_experiment("candidate-1", "template-1", 1.0)
        .await
        .expect("experiment");
    let recommend = |child, hour: i64| NewRecommendation {
        id: sprout_domain::RecordId::new(),
        child_id: child,
        created_at: t("2026-03-01T10:00:00Z") + Duration::hours(hour),
        text: "Text.".into(),
        action_kind: sprout_domain::InterventionKind::Mindfulness,
        action_slot: "this_evening".into(),
        model_version: "candidate-1".into(),
        arm: "candidate".into(),
        experiment_id: Some(experiment.id),
        details: serde_json::json!({}),
    };
    // Ada: three recommendations, two answered; Bo: one, answered.
    let ada: Vec<NewRecommendation> = (0..3).map(|h| recommend(children[0], h)).collect();
    let bo = recommend(children[1], 0);
    for r in ada.iter().chain([&bo]) {
        store.insert_recommendation(r).await.expect("recommendation");
    }
    let answer = |id, user, child, helpful| store.upsert_feedback(id, user, child, helpful, None);
    answer(ada[0].id, parent, children[0], true)
        .await
        .expect("answer");
    // The other parent answers the same recommendation later: its answer is the one counted.
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    answer(ada[0].id, other_parent, children[0], false)
        .await
        .expect("second answer");
    answer(ada[1].id, parent, children[0], true)
        .await
        .expect("answer");
    // A changed mind replaces the first answer.
    answer(bo.id, parent, children[1], false).await.expect("answer");
    answer(bo.id, parent, children[1], true)
        .await
        .expect("changed mind");

    let counts = store.arm_counts(experiment.id).await.expect("counts");
    let arm = counts
        .iter()
        .find(|c| c.arm == "candidate")
        .expect("candidate arm");
    assert_eq!(
        (arm.recommendations, arm.answered, arm.helpful),
        (4, 3, 2),
        "{arm:?}"
    );
    // Ada 2 answers (1 helpful), Bo 1 (1 helpful).
    assert_eq!(arm.by_child.children, 2);
    assert_eq!(arm.by_child.answered_sq, 5.0);
    assert_eq!(arm.by_child.answered_helpful, 3.0);
    assert_eq!(arm.by_child.helpful_sq, 2.0);
}
