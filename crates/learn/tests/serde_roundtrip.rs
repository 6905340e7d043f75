//! Registry records and decisions survive a JSON round trip with stable field names.

use sprout_learn::{
    decide, summarize, ArmStats, Experiment, ModelMetrics, ModelStatus, ModelVersion, Policy,
    EVENT_MODEL_PROMOTED,
};
use uuid::Uuid;

fn arm(answered: u64, helpful: u64) -> ArmStats {
    ArmStats {
        recommendations: answered,
        answered,
        helpful,
        ..Default::default()
    }
}

#[test]
fn model_version_round_trip() {
    let model = ModelVersion {
        version: "2026-11-27.1".into(),
        base: "gemma".into(),
        adapter_path: Some("adapters/2026-11-27.1".into()),
        data_snapshot: None,
        metrics: ModelMetrics {
            extra: serde_json::Map::from_iter([("eval_helpful_rate".to_owned(), 0.61.into())]),
            ..ModelMetrics::default()
        },
        status: ModelStatus::Candidate,
        created_at: "2026-11-27T00:00:00Z".parse().unwrap(),
    };
    let json = serde_json::to_string(&model).unwrap();
    assert!(json.contains("\"status\":\"candidate\""));
    assert_eq!(serde_json::from_str::<ModelVersion>(&json).unwrap(), model);
}

#[test]
fn experiment_and_event_round_trip() {
    let mut experiment =
        Experiment::new(Uuid::from_u128(42), "v1", "v2", 0.1, "2026-11-27T00:00:00Z").unwrap();
    let json = serde_json::to_string(&experiment).unwrap();
    assert!(json.contains("\"status\":\"running\""));
    assert_eq!(serde_json::from_str::<Experiment>(&json).unwrap(), experiment);

    let decision = decide(&arm(300, 120), &arm(300, 200), &Policy::default()).unwrap();
    let event = experiment
        .conclude(&decision, "2026-11-28T00:00:00Z")
        .unwrap()
        .unwrap();
    assert_eq!(event.topic, EVENT_MODEL_PROMOTED);
    let json = serde_json::to_string(&event).unwrap();
    assert_eq!(
        serde_json::from_str::<sprout_learn::ModelEvent>(&json).unwrap(),
        event
    );
    let json = serde_json::to_string(&experiment).unwrap();
    assert!(json.contains("\"status\":\"promoted\""));
}

#[test]
fn report_round_trip() {
    let report = summarize(&arm(100, 50), &arm(100, 55), &Policy::default()).unwrap();
    let json = serde_json::to_string(&report).unwrap();
    assert!(json.contains("\"decision\":\"continue\""), "{json}");
    assert!(json.contains("\"kind\":\"not_significant\""), "{json}");
    assert_eq!(
        serde_json::from_str::<sprout_learn::ExperimentReport>(&json).unwrap(),
        report
    );
}

/// The names stored in the database and shown by the API are the serde names.
#[test]
fn stored_names_are_the_serde_names() {
    use sprout_learn::{Arm, ExperimentStatus};
    for status in [ModelStatus::Candidate, ModelStatus::Active, ModelStatus::Retired] {
        assert_eq!(serde_json::to_value(status).unwrap(), status.as_str());
        assert_eq!(status.as_str().parse::<ModelStatus>().unwrap(), status);
    }
    for status in [
        ExperimentStatus::Running,
        ExperimentStatus::Promoted,
        ExperimentStatus::RolledBack,
    ] {
        assert_eq!(serde_json::to_value(status).unwrap(), status.as_str());
        assert_eq!(status.as_str().parse::<ExperimentStatus>().unwrap(), status);
    }
    for arm in [Arm::Control, Arm::Candidate] {
        assert_eq!(serde_json::to_value(arm).unwrap(), arm.as_str());
    }
    assert!("paused".parse::<ModelStatus>().is_err());
}
