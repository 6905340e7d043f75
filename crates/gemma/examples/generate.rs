//! Generate a continuation from the command line.
//!
//! `cargo run --release --example generate -- PATH_TO_GGUF "prompt" [max_new_tokens] [temperature]`

use std::path::PathBuf;

use sprout_gemma::{GenerateOptions, Model};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: generate PATH_TO_GGUF PROMPT [MAX_NEW_TOKENS] [TEMPERATURE]";
    let path = PathBuf::from(args.next().ok_or(usage)?);
    let prompt = args.next().ok_or(usage)?;
    let max_new_tokens = args.next().map(|s| s.parse()).transpose()?.unwrap_or(120);
    let temperature = args.next().map(|s| s.parse()).transpose()?.unwrap_or(0.0);
    let mut model = Model::load(&path)?;
    let opts = GenerateOptions {
        max_new_tokens,
        temperature,
        ..GenerateOptions::default()
    };
    let g = model.generate(&prompt, &opts)?;
    println!("{}", g.text);
    eprintln!(
        "[load {:.2} s | prompt {} tok, {:.0} tok/s | generated {} tok, {:.1} tok/s | first token {:.2} s | {:?}]",
        model.load_secs(),
        g.prompt_tokens,
        g.prompt_tokens_per_sec(),
        g.generated_tokens,
        g.generate_tokens_per_sec(),
        g.time_to_first_token_secs,
        g.stop_reason
    );
    Ok(())
}
