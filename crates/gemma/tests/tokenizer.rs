//! Tokenizer checks against reference ids, on the real Gemma 3 vocabulary read from the GGUF file.
//! Skipped (with a message) when `SPROUT_GEMMA_GGUF` is unset.

#[path = "data/reference_ids.rs"]
mod reference_ids;

use std::path::PathBuf;

use sprout_gemma::Tokenizer;

fn gguf_path() -> Option<PathBuf> {
    match std::env::var_os("SPROUT_GEMMA_GGUF") {
        Some(p) => Some(PathBuf::from(p)),
        None => {
            skip_notice();
            None
        }
    }
}

fn tokenizer() -> Option<Tokenizer> {
    gguf_path().map(|p| Tokenizer::from_gguf(&p).expect("tokenizer builds from the GGUF"))
}

#[test]
fn ids_match_reference() {
    let Some(t) = tokenizer() else { return };
    let mut failures = Vec::new();
    for (text, ids) in reference_ids::CASES {
        let got = t.encode(text, false);
        if got != *ids {
            failures.push(format!("{text:?}: got {got:?}, expected {ids:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(reference_ids::CASES.len(), 30);
}

#[test]
fn well_known_ids() {
    let Some(t) = tokenizer() else { return };
    assert_eq!(t.vocab_size(), 262_144);
    assert_eq!((t.bos_id(), t.eos_id()), (2, 1));
    // Gemma 3's chat turn markers and the "\n" / "\n\n" user-defined pieces.
    assert_eq!(t.token_id("<start_of_turn>"), Some(105));
    assert_eq!(t.token_id("<end_of_turn>"), Some(106));
    assert_eq!(t.encode("\n", false), vec![107]);
    assert_eq!(t.encode("\n\n", false), vec![108]);
    assert_eq!(t.encode("Hello", true), vec![2, 9259]);
}

#[test]
fn round_trips() {
    let Some(t) = tokenizer() else { return };
    let samples = [
        "Plain ASCII sentence.",
        "Newlines\nsingle\n\ndouble\n\n\ntriple and trailing\n",
        "Digits 0123456789 and 3.14159, 1e-9, 2026-11-27",
        "Unicode: naïve café, 日本語, Привет, مرحبا, 🙂👶🏽🌱",
        "   leading and trailing spaces   ",
        "tabs\tand\t\tmore\t\t\ttabs",
        "<start_of_turn>user\nHi<end_of_turn>",
        "Combining: e\u{301} a\u{308}, zero\u{200b}width, nbsp\u{a0}here",
        "",
    ];
    for s in samples {
        let ids = t.encode(s, true);
        let expected = s.replace("<start_of_turn>", "").replace("<end_of_turn>", "");
        assert_eq!(t.decode(&ids), expected, "round trip of {s:?} via {ids:?}");
        assert_eq!(
            t.decode(&t.encode_with(s, false, false)),
            s,
            "plain round trip of {s:?}"
        );
    }
}

/// Printed straight to stderr (not through the test harness's capture) so the skip is visible.
fn skip_notice() {
    use std::io::Write;
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED {}: SPROUT_GEMMA_GGUF is unset; run scripts/fetch-model.sh and export \
             SPROUT_GEMMA_GGUF=<path printed>",
            module_path!()
        );
    });
}
