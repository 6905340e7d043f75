//! Loading and batching checks on a tiny BERT written to a temporary directory (runs without the real
//! model): sizes and pooling come from the files, padding does not change a vector, unsupported
//! pipelines are refused.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{Device, Tensor};
use sprout_embed::{EmbedError, Embedder, MiniLm, Pooling};

const HIDDEN: usize = 8;
const INTERMEDIATE: usize = 16;
const LAYERS: usize = 2;
const POSITIONS: usize = 32;
const VOCAB: &[&str] = &[
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "sleep", "school", "math", "test", "##s", ".", "a", "b",
];

/// Deterministic pseudo-random values in [-0.5, 0.5).
fn values(n: usize, seed: &mut u64) -> Vec<f32> {
    (0..n)
        .map(|_| {
            *seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((*seed >> 40) as f32 / (1u64 << 24) as f32) - 0.5
        })
        .collect()
}

fn write_model(dir: &Path, prefix: &str, pooling_json: &str) {
    let dev = Device::Cpu;
    let mut seed = 7u64;
    let mut t = HashMap::new();
    let mut add = |name: String, shape: &[usize], seed: &mut u64| {
        let n = shape.iter().product();
        t.insert(
            format!("{prefix}{name}"),
            Tensor::from_vec(values(n, seed), shape, &dev).expect("tensor"),
        );
    };
    add(
        "embeddings.word_embeddings.weight".into(),
        &[VOCAB.len(), HIDDEN],
        &mut seed,
    );
    add(
        "embeddings.position_embeddings.weight".into(),
        &[POSITIONS, HIDDEN],
        &mut seed,
    );
    add(
        "embeddings.token_type_embeddings.weight".into(),
        &[2, HIDDEN],
        &mut seed,
    );
    add("embeddings.LayerNorm.weight".into(), &[HIDDEN], &mut seed);
    add("embeddings.LayerNorm.bias".into(), &[HIDDEN], &mut seed);
    for l in 0..LAYERS {
        let p = format!("encoder.layer.{l}.");
        for name in [
            "attention.self.query",
            "attention.self.key",
            "attention.self.value",
            "attention.output.dense",
        ] {
            add(format!("{p}{name}.weight"), &[HIDDEN, HIDDEN], &mut seed);
            add(format!("{p}{name}.bias"), &[HIDDEN], &mut seed);
        }
        add(
            format!("{p}intermediate.dense.weight"),
            &[INTERMEDIATE, HIDDEN],
            &mut seed,
        );
        add(format!("{p}intermediate.dense.bias"), &[INTERMEDIATE], &mut seed);
        add(
            format!("{p}output.dense.weight"),
            &[HIDDEN, INTERMEDIATE],
            &mut seed,
        );
        add(format!("{p}output.dense.bias"), &[HIDDEN], &mut seed);
        for norm in ["attention.output.LayerNorm", "output.LayerNorm"] {
            add(format!("{p}{norm}.weight"), &[HIDDEN], &mut seed);
            add(format!("{p}{norm}.bias"), &[HIDDEN], &mut seed);
        }
    }
    candle_core::safetensors::save(&t, dir.join("model.safetensors")).expect("weights written");
    std::fs::write(dir.join("vocab.txt"), VOCAB.join("\n")).expect("model file written");
    let config = format!(
        r#"{{"model_type":"bert","vocab_size":{},"hidden_size":{HIDDEN},"num_hidden_layers":{LAYERS},
            "num_attention_heads":2,"intermediate_size":{INTERMEDIATE},"max_position_embeddings":{POSITIONS},
            "type_vocab_size":2,"layer_norm_eps":1e-12,"hidden_act":"gelu"}}"#,
        VOCAB.len()
    );
    std::fs::write(dir.join("config.json"), config).expect("model file written");
    std::fs::create_dir_all(dir.join("1_Pooling")).expect("model file written");
    std::fs::write(dir.join("1_Pooling/config.json"), pooling_json).expect("model file written");
    std::fs::write(dir.join("sentence_bert_config.json"), r#"{"max_seq_length": 12}"#)
        .expect("model file written");
}

const CLS_POOLING: &str = r#"{"word_embedding_dimension": 8, "pooling_mode_cls_token": true,
    "pooling_mode_mean_tokens": false}"#;
const MEAN_POOLING: &str = r#"{"pooling_mode_mean_tokens": true}"#;

#[test]
fn sizes_and_pooling_come_from_the_files() {
    let dir = tempfile::tempdir().unwrap();
    let model_dir = dir.path().join("tiny-bge");
    std::fs::create_dir(&model_dir).unwrap();
    write_model(&model_dir, "", CLS_POOLING);
    let m = MiniLm::load(&model_dir).unwrap();
    assert_eq!(m.dim(), HIDDEN);
    assert_eq!(m.pooling(), Pooling::Cls);
    assert_eq!(m.max_tokens(), 12);
    assert_eq!(m.id(), "tiny-bge:cls:8");
    assert_eq!(m.token_ids("Sleeps, MATH tests."), [2, 5, 9, 1, 7, 8, 9, 10, 3]);
    let v = m.embed(&["sleep", "math test"]).unwrap();
    assert_eq!(v.len(), 2);
    for x in &v {
        assert!((x.iter().map(|a| a * a).sum::<f32>() - 1.0).abs() < 1e-5);
    }
    // Random weights: the [CLS] state moves only a little with the rest of the text, but it moves.
    let diff = v[0]
        .iter()
        .zip(&v[1])
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(diff > 1e-3, "{diff}");
    assert!(m.embed(&[]).unwrap().is_empty());
}

#[test]
fn padding_does_not_change_a_vector() {
    for pooling in [MEAN_POOLING, CLS_POOLING] {
        let dir = tempfile::tempdir().unwrap();
        write_model(dir.path(), "bert.", pooling);
        let m = MiniLm::load(dir.path()).unwrap();
        let texts = [
            "sleep",
            "a b a b a b a b a b a b a b",
            "math test school",
            "",
            "sleep sleep",
        ];
        let together = m.embed(&texts).unwrap();
        for (t, v) in texts.iter().zip(&together) {
            let alone = m.embed_one(t).unwrap();
            let diff = alone
                .iter()
                .zip(v)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f32, f32::max);
            assert!(diff < 1e-5, "{t:?}: {diff}");
        }
        // Same as running the padded batch directly through the encoder.
        let ids: Vec<Vec<u32>> = texts.iter().map(|t| m.token_ids(t)).collect();
        assert_eq!(m.embed_ids(&ids).unwrap().len(), texts.len());
        assert!(m.embed_ids(&[vec![2, 5, 3], vec![]]).is_err());
        assert!(m.embed_ids(&[vec![2, 500, 3]]).is_err());
        assert!(m.embed_ids(&[vec![2; POSITIONS + 1]]).is_err());
    }
}

#[test]
fn unsupported_pipelines_and_missing_files_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    write_model(dir.path(), "", MEAN_POOLING);
    std::fs::write(
        dir.path().join("modules.json"),
        r#"[{"idx":0,"name":"0","path":"","type":"sentence_transformers.models.Transformer"},
            {"idx":1,"name":"1","path":"1_Pooling","type":"sentence_transformers.models.Pooling"},
            {"idx":2,"name":"2","path":"2_Dense","type":"sentence_transformers.models.Dense"}]"#,
    )
    .unwrap();
    assert!(matches!(
        MiniLm::load(dir.path()),
        Err(EmbedError::UnsupportedConfig(_))
    ));
    std::fs::remove_file(dir.path().join("modules.json")).unwrap();
    std::fs::write(
        dir.path().join("1_Pooling/config.json"),
        r#"{"pooling_mode_cls_token": true, "pooling_mode_mean_tokens": true}"#,
    )
    .unwrap();
    assert!(matches!(
        MiniLm::load(dir.path()),
        Err(EmbedError::UnsupportedConfig(_))
    ));
    std::fs::write(dir.path().join("1_Pooling/config.json"), MEAN_POOLING).expect("model file written");
    assert!(MiniLm::load(dir.path()).is_ok());
    std::fs::remove_file(dir.path().join("model.safetensors")).unwrap();
    assert!(matches!(MiniLm::load(dir.path()), Err(EmbedError::Io { .. })));
    assert!(matches!(
        MiniLm::load(&dir.path().join("nowhere")),
        Err(EmbedError::Io { .. })
    ));
}
