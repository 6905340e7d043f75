//! Tests on a tiny random Gemma-shaped model built in memory: 3 layers (two local with a 4-position
//! window, one global), hidden 16, a 285-token byte-level vocabulary.

use std::collections::HashMap;

use candle_core::quantized::gguf_file::Value;
use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{DType, Device, IndexOp, Tensor};
use rand::{Rng, SeedableRng};
use sprout_gemma::{Config, Gemma3, TokenKind, Tokenizer};

use crate::data::{Batch, TokenizedExample};
use crate::train::{kto_loss, sft_loss, KlEstimate};
use crate::*;

fn tiny_config() -> Config {
    Config {
        block_count: 3,
        hidden_size: 16,
        feed_forward_length: 32,
        head_count: 2,
        head_count_kv: 1,
        head_dim: 8,
        context_length: 64,
        rms_norm_eps: 1e-6,
        rope_base_global: 1_000_000.0,
        rope_base_local: 10_000.0,
        sliding_window: 4,
        sliding_window_pattern: 3,
        query_pre_attn_scalar: 8.0,
    }
}

fn tiny_tokenizer() -> Tokenizer {
    let mut pieces = vec!["<pad>".to_string(), "<eos>".to_string(), "<bos>".to_string()];
    let mut kinds = vec![TokenKind::Control; 3];
    for b in 0..=255u8 {
        pieces.push(format!("<0x{b:02X}>"));
        kinds.push(TokenKind::Byte);
    }
    for c in 'a'..='z' {
        pieces.push(c.to_string());
        kinds.push(TokenKind::Normal);
    }
    let scores = vec![0.0; pieces.len()];
    Tokenizer::from_parts(pieces, scores, kinds, 2, 1, true).unwrap()
}

const TINY_VOCAB: usize = 3 + 256 + 26;

/// Random weights named as in a GGUF file, with norm weights around 1 (llama.cpp stores `1 + w`).
fn tiny_weights(seed: u64) -> HashMap<String, Tensor> {
    let c = tiny_config();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut t = |shape: &[usize], centre: f32, bound: f32| {
        let n: usize = shape.iter().product();
        let v: Vec<f32> = (0..n).map(|_| centre + rng.random_range(-bound..bound)).collect();
        Tensor::from_vec(v, shape, &Device::Cpu).unwrap()
    };
    let (h, hd, ff) = (c.hidden_size, c.head_dim, c.feed_forward_length);
    let (q, kv) = (c.head_count * hd, c.head_count_kv * hd);
    let mut w = HashMap::new();
    w.insert("token_embd.weight".into(), t(&[TINY_VOCAB, h], 0.0, 0.5));
    w.insert("output_norm.weight".into(), t(&[h], 1.0, 0.2));
    let mat = |out: usize, inp: usize| (out, inp, 1.0 / (inp as f32).sqrt());
    for i in 0..c.block_count {
        for (name, (out, inp, bound)) in [
            ("attn_q", mat(q, h)),
            ("attn_k", mat(kv, h)),
            ("attn_v", mat(kv, h)),
            ("attn_output", mat(h, q)),
            ("ffn_gate", mat(ff, h)),
            ("ffn_up", mat(ff, h)),
            ("ffn_down", mat(h, ff)),
        ] {
            w.insert(format!("blk.{i}.{name}.weight"), t(&[out, inp], 0.0, bound * 1.7));
        }
        for (name, len) in [
            ("attn_norm", h),
            ("attn_q_norm", hd),
            ("attn_k_norm", hd),
            ("post_attention_norm", h),
            ("ffn_norm", h),
            ("post_ffw_norm", h),
        ] {
            w.insert(format!("blk.{i}.{name}.weight"), t(&[len], 1.0, 0.2));
        }
    }
    w
}

fn tiny_model(dtype: DType) -> TrainModel {
    TrainModel::from_weights(
        tiny_config(),
        tiny_weights(7),
        Some(tiny_tokenizer()),
        LoraConfig {
            rank: 2,
            alpha: 4.0,
            dropout: 0.0,
        },
        11,
        dtype,
    )
    .unwrap()
}

/// The same weights as a GGUF file (f32 tensors), for `sprout_gemma::Gemma3` to load.
fn tiny_gguf(dir: &std::path::Path) -> std::path::PathBuf {
    let c = tiny_config();
    let u = |v: usize| Value::U32(v as u32);
    let meta: Vec<(&str, Value)> = vec![
        ("general.architecture", Value::String("gemma3".into())),
        ("gemma3.block_count", u(c.block_count)),
        ("gemma3.embedding_length", u(c.hidden_size)),
        ("gemma3.feed_forward_length", u(c.feed_forward_length)),
        ("gemma3.attention.head_count", u(c.head_count)),
        ("gemma3.attention.head_count_kv", u(c.head_count_kv)),
        ("gemma3.attention.key_length", u(c.head_dim)),
        ("gemma3.context_length", u(c.context_length)),
        (
            "gemma3.attention.layer_norm_rms_epsilon",
            Value::F32(c.rms_norm_eps as f32),
        ),
        ("gemma3.attention.sliding_window", u(c.sliding_window)),
        (
            "gemma3.attention.sliding_window_pattern",
            u(c.sliding_window_pattern),
        ),
    ];
    let weights = tiny_weights(7);
    let mut names: Vec<&String> = weights.keys().collect();
    names.sort();
    let qt: Vec<(String, QTensor)> = names
        .iter()
        .map(|n| {
            (
                (*n).clone(),
                QTensor::quantize(&weights[*n], GgmlDType::F32).unwrap(),
            )
        })
        .collect();
    let path = dir.join("tiny.gguf");
    let mut f = std::fs::File::create(&path).unwrap();
    let meta_refs: Vec<(&str, &Value)> = meta.iter().map(|(k, v)| (*k, v)).collect();
    let tensor_refs: Vec<(&str, &QTensor)> = qt.iter().map(|(k, v)| (k.as_str(), v)).collect();
    candle_core::quantized::gguf_file::write(&mut f, &meta_refs, &tensor_refs).unwrap();
    path
}

fn max_abs_diff(a: &Tensor, b: &Tensor) -> f64 {
    (a.to_dtype(DType::F64).unwrap() - b.to_dtype(DType::F64).unwrap())
        .unwrap()
        .abs()
        .unwrap()
        .max_all()
        .unwrap()
        .to_scalar::<f64>()
        .unwrap()
}

fn ids(n: usize) -> Tensor {
    let v: Vec<u32> = (0..n)
        .map(|i| 2 + ((i * 37 + 5) % (TINY_VOCAB - 2)) as u32)
        .collect();
    Tensor::from_vec(v, (1, n), &Device::Cpu).unwrap()
}

#[test]
fn training_forward_equals_inference_forward() {
    let dir = tempfile::tempdir().unwrap();
    let mut gguf = sprout_gemma::gguf::Gguf::open(&tiny_gguf(dir.path())).unwrap();
    let mut gemma = Gemma3::load_with(&mut gguf, false).unwrap();
    let model = tiny_model(DType::F32);
    // 20 positions: past the 4-position window, and over the 16 rows where inference goes dense.
    for n in [3, 20] {
        let ids = ids(n);
        let expected = gemma.logits(&gemma.forward_hidden(&ids, None).unwrap()).unwrap();
        let off = model.logits(&ids, AdapterMode::Off).unwrap();
        let zero_b = model.logits(&ids, AdapterMode::Frozen).unwrap();
        let d_off = max_abs_diff(&off, &expected);
        assert!(d_off < 1e-4, "n={n}: training forward differs by {d_off}");
        // B = 0: the adapter changes nothing, bit for bit.
        assert_eq!(max_abs_diff(&off, &zero_b), 0.0);
    }

    // A non-zero adapter: the same after saving, loading and installing it for inference.
    model.lora().randomize_b(0.3, 5).unwrap();
    let ids = ids(20);
    let trained = model.logits(&ids, AdapterMode::Frozen).unwrap();
    assert!(max_abs_diff(&trained, &model.logits(&ids, AdapterMode::Off).unwrap()) > 1e-3);
    let file = AdapterFile::from_lora(model.lora(), model.base().clone(), "test").unwrap();
    file.save(dir.path()).unwrap();
    apply(&mut gemma, &AdapterFile::load(dir.path()).unwrap()).unwrap();
    let inferred = gemma.logits(&gemma.forward_hidden(&ids, None).unwrap()).unwrap();
    let d = max_abs_diff(&trained, &inferred);
    assert!(d < 1e-4, "adapter at inference differs by {d}");
    // Incremental decoding with the adapter agrees with the whole-sequence pass.
    let mut cache = gemma.new_cache();
    let mut last = None;
    for i in 0..20 {
        let tok = ids.i((.., i..i + 1)).unwrap();
        last = Some(gemma.forward_hidden(&tok, Some(&mut cache)).unwrap());
    }
    let step = gemma
        .logits(&last.unwrap().i((0, 0)).unwrap().unsqueeze(0).unwrap())
        .unwrap();
    let d = max_abs_diff(&step.squeeze(0).unwrap(), &trained.i((0, 19)).unwrap());
    assert!(d < 1e-4, "cached decoding with adapter differs by {d}");
    remove(&mut gemma).unwrap();
    let plain = gemma.logits(&gemma.forward_hidden(&ids, None).unwrap()).unwrap();
    assert!(max_abs_diff(&plain, &model.logits(&ids, AdapterMode::Off).unwrap()) < 1e-4);
}

fn tokenized(model: &TrainModel, prompt: &str, completion: &str, desirable: bool) -> TokenizedExample {
    TokenizedExample::new(model.tokenizer().unwrap(), prompt, completion, desirable, true).unwrap()
}

/// Central differences on a few coordinates of `A` and `B` in every layer and target, in f64.
fn check_gradients(model: &TrainModel, loss_of: &dyn Fn(&TrainModel) -> Tensor) {
    let loss = loss_of(model);
    let grads = loss.backward().unwrap();
    let eps = 1e-6;
    let mut checked = 0;
    for layer in 0..model.lora().num_layers() {
        for target in 0..4 {
            let pair = model.lora().pair(layer, target).unwrap();
            for (var, which) in [(&pair.a, "a"), (&pair.b, "b")] {
                let g = grads.get(var.as_tensor()).unwrap().flatten_all().unwrap();
                let g = g.to_vec1::<f64>().unwrap();
                let orig = var.as_tensor().copy().unwrap();
                let flat = orig.flatten_all().unwrap().to_vec1::<f64>().unwrap();
                for k in [0, flat.len() / 2, flat.len() - 1] {
                    let at = |delta: f64| {
                        let mut v = flat.clone();
                        v[k] += delta;
                        var.set(&Tensor::from_vec(v, orig.shape(), &Device::Cpu).unwrap())
                            .unwrap();
                        loss_of(model).to_scalar::<f64>().unwrap()
                    };
                    let numeric = (at(eps) - at(-eps)) / (2.0 * eps);
                    var.set(&orig).unwrap();
                    // Relative error, with a floor: central differences carry about 1e-10 of rounding
                    // error (loss ~5, eps 1e-6), which dominates for gradients near zero.
                    let err = (numeric - g[k]).abs() / (numeric.abs() + g[k].abs()).max(1e-3);
                    assert!(
                        err < 1e-5,
                        "layer {layer} target {target} {which}[{k}]: autograd {} vs numeric {numeric}",
                        g[k]
                    );
                    checked += 1;
                }
            }
        }
    }
    assert_eq!(checked, 3 * 4 * 2 * 3);
}

#[test]
fn gradients_agree_with_finite_differences() {
    let model = tiny_model(DType::F64);
    // A zero B would give A a zero gradient; make both non-trivial.
    model.lora().randomize_b(0.3, 3).unwrap();
    let a = tokenized(&model, "abc", "hello", true);
    let b = tokenized(&model, "the quick brown", "fox", false);
    let batch = Batch::new(&[&a, &b]).unwrap();
    check_gradients(&model, &|m| sft_loss(m, &batch).unwrap());
    let refs = [-20.0, -7.0];
    check_gradients(&model, &|m| {
        kto_loss(m, &batch, &refs, &[1.0, -1.0], &[1.0, 1.5], 0.5, KlEstimate::Zero).unwrap()
    });
}

#[test]
fn training_computes_no_gradient_for_frozen_weights() {
    let model = tiny_model(DType::F32);
    let a = tokenized(&model, "abc", "hello", true);
    let batch = Batch::new(&[&a]).unwrap();
    let grads = sft_loss(&model, &batch).unwrap().backward().unwrap();
    // Every weight tensor of the model is absent from the gradient store; only LoRA variables and
    // intermediate activations are there.
    assert!(grads.get(model.embedding()).is_none());
    let vars = model.lora().vars();
    assert!(vars.iter().all(|v| grads.get(v.as_tensor()).is_some()));
    assert_eq!(
        model.lora().num_parameters(),
        3 * 2 * ((16 + 16) + 2 * (16 + 8) + (16 + 16))
    );
}

fn sft_examples() -> Vec<Example> {
    let topics = ["sleep", "homework", "dinner", "screens", "bath", "reading"];
    topics
        .iter()
        .map(|t| Example {
            prompt: format!("tip about {t}:"),
            completion: format!(" try a calm {t} routine"),
        })
        .collect()
}

#[test]
fn sft_loss_falls_and_held_out_likelihood_rises() {
    let mut model = tiny_model(DType::F32);
    let opts = TrainOptions {
        epochs: 12,
        batch_size: 2,
        learning_rate: 2e-2,
        held_out_fraction: 0.2,
        ..TrainOptions::default()
    };
    let report = sft(&mut model, &sft_examples(), &opts).unwrap();
    let (first, last) = report.loss_trend(3).unwrap();
    assert!(last < 0.7 * first, "loss {first} -> {last}");
    let before = report.before.desirable.unwrap().logp_per_token;
    let after = report.after.desirable.unwrap().logp_per_token;
    assert!(after > before, "held-out log-likelihood {before} -> {after}");
    assert_eq!(report.held_out_examples, 1);
}

fn kto_examples() -> Vec<KtoExample> {
    let topics = [
        "sleep", "homework", "dinner", "screens", "bath", "reading", "music", "walks", "games", "chores",
    ];
    let mut v = Vec::new();
    for t in topics {
        v.push(KtoExample {
            prompt: format!("tip about {t}:"),
            completion: format!(" gently try a {t} plan"),
            desirable: true,
        });
        v.push(KtoExample {
            prompt: format!("tip about {t}:"),
            completion: format!(" yell about {t} now"),
            desirable: false,
        });
    }
    // Unbalanced on purpose: more 👍 than 👎.
    v.push(KtoExample {
        prompt: "tip about toys:".into(),
        completion: " gently try a toys plan".into(),
        desirable: true,
    });
    v
}

#[test]
fn kto_loss_falls_and_held_out_margin_grows() {
    let mut model = tiny_model(DType::F32);
    let opts = KtoOptions {
        train: TrainOptions {
            epochs: 10,
            batch_size: 4,
            learning_rate: 2e-2,
            held_out_fraction: 0.2,
            ..TrainOptions::default()
        },
        beta: 0.5,
        ..KtoOptions::default()
    };
    let report = kto(&mut model, &kto_examples(), Reference::Base, &opts).unwrap();
    let (first, last) = report.loss_trend(3).unwrap();
    assert!(last < 0.8 * first, "loss {first} -> {last}");
    let (ld, lu) = report.weights.unwrap();
    let n_d = 11 - 2;
    let n_u = 10 - 2;
    assert!(
        (ld * n_d as f64 - lu * n_u as f64).abs() < 1e-9,
        "weights {ld} {lu} do not balance"
    );
    let before = report.before.logp_margin().unwrap();
    let after = report.after.logp_margin().unwrap();
    assert!(after > before, "held-out 👍−👎 margin {before} -> {after}");
    assert!(report.before.reward_margin().unwrap().abs() < 1e-4);
    assert!(report.after.reward_margin().unwrap() > 0.0);
}

#[test]
fn adapter_round_trips_through_files() {
    let model = tiny_model(DType::F32);
    model.lora().randomize_b(0.2, 9).unwrap();
    let base = BaseModel {
        name: "tiny".into(),
        sha256: Some("00".repeat(32)),
    };
    let file = AdapterFile::from_lora(model.lora(), base, "round trip").unwrap();
    let dir = tempfile::tempdir().unwrap();
    file.save(dir.path()).unwrap();
    let back = AdapterFile::load(dir.path()).unwrap();
    assert_eq!(back.meta, file.meta);
    for layer in 0..3 {
        for target in 0..4 {
            let (a, b) = file.pair(layer, target).unwrap();
            let (a2, b2) = back.pair(layer, target).unwrap();
            assert_eq!(max_abs_diff(a, a2), 0.0);
            assert_eq!(max_abs_diff(b, b2), 0.0);
        }
    }
    // Continuing training from the file gives the same model.
    let mut other = tiny_model(DType::F32);
    other.set_lora(back.to_lora(DType::F32).unwrap()).unwrap();
    let ids = ids(10);
    let d = max_abs_diff(
        &model.logits(&ids, AdapterMode::Frozen).unwrap(),
        &other.logits(&ids, AdapterMode::Frozen).unwrap(),
    );
    assert_eq!(d, 0.0);
    // A file for another shape is refused.
    let mut c = tiny_config();
    c.block_count = 4;
    assert!(back.check_fits(&c).is_err());
}

#[test]
fn sft_then_kto_continues_from_the_sft_adapter() {
    let mut model = tiny_model(DType::F32);
    let opts = TrainOptions {
        epochs: 2,
        batch_size: 3,
        learning_rate: 1e-2,
        held_out_fraction: 0.0,
        ..TrainOptions::default()
    };
    sft(&mut model, &sft_examples(), &opts).unwrap();
    let kto_opts = KtoOptions {
        train: TrainOptions {
            max_steps: Some(2),
            ..opts
        },
        ..KtoOptions::default()
    };
    let report = kto(&mut model, &kto_examples(), Reference::Initial, &kto_opts).unwrap();
    assert_eq!(report.losses.len(), 2);
    // Against the starting adapter, the first step's rewards are zero, so its loss is λ-weighted 1/2.
    let first = report.losses[0];
    assert!(first > 0.3 && first < 0.8, "first KTO loss {first}");
}
