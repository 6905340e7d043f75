#!/usr/bin/env bash
# Gemma 3 270M (Q4_K_M GGUF) on CPU: Sprout's candle forward pass vs llama.cpp, same file, same prompt,
# same protocol (177-token prompt, 120 greedy new tokens).
#
# Usage: bench/llama_cpp_vs_sprout.sh [GGUF]
#
# Sprout side: `cargo run --release -p sprout-gemma --example bench` (crates/gemma/examples/bench.rs).
# llama.cpp side: the separate crate bench/llama-cpp (not a workspace member; it builds llama.cpp from
# source with cmake and a C++ compiler through the llama-cpp-2 crate, CPU only, which takes several
# minutes the first time). Both are built in release mode.
#
# Each engine/thread-count row is run in BENCH_PROCS separate processes (default 3), each doing
# BENCH_RUNS timed generations (default 1) after its load; the table shows medians over all runs (load
# time and peak RSS: over processes).
#
# Environment:
#   GGUF / SPROUT_GEMMA_GGUF  the model (else an existing gemma-3-270m-q4_k_m.gguf under target/ is used,
#                             else crates/gemma/scripts/fetch-model.sh fetches it into MODEL_DIR)
#   MODEL_DIR                 where to fetch it (default target/fixtures/models)
#   BENCH_THREADS             thread counts to run (default "1 2"; Sprout's writer uses 1)
#   BENCH_PROCS, BENCH_RUNS   see above
#   CARGO_TARGET_DIR          honoured by both builds; if unset, Sprout builds in target/ and the llama.cpp
#                             crate in bench/llama-cpp/target
#   NICE                      prefix for the builds (default "nice"); the timed runs are not niced
#   SPROUT_BASELINE_BIN       optional: another build of Sprout's bench example (e.g. from an earlier
#                             commit), run in the same rounds and shown as "sprout baseline" rows, for a
#                             before/after comparison in one run
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LLAMA_DIR="$ROOT/bench/llama-cpp"
PROCS="${BENCH_PROCS:-3}"
RUNS="${BENCH_RUNS:-1}"
THREADS="${BENCH_THREADS:-1 2}"
NICE="${NICE:-nice}"
PYTHON="${PYTHON:-python3}"

# --- model -----------------------------------------------------------------------------------------------
GGUF="${1:-${GGUF:-${SPROUT_GEMMA_GGUF:-}}}"
if [[ -z "$GGUF" ]]; then
  GGUF="$(find "$ROOT/target" "${CARGO_TARGET_DIR:-$ROOT/target}" -maxdepth 4 -name 'gemma-3-270m-q4_k_m.gguf' \
    -type f 2>/dev/null | head -n 1 || true)"
fi
if [[ -z "$GGUF" ]]; then
  GGUF="$("$ROOT/crates/gemma/scripts/fetch-model.sh" "${MODEL_DIR:-$ROOT/target/fixtures/models}")"
fi
[[ -f "$GGUF" ]] || { echo "error: no GGUF at $GGUF" >&2; exit 1; }

# --- builds ----------------------------------------------------------------------------------------------
SPROUT_TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
LLAMA_TARGET="${CARGO_TARGET_DIR:-$LLAMA_DIR/target}"
echo "building Sprout's bench (release)..." >&2
(cd "$ROOT" && CARGO_TARGET_DIR="$SPROUT_TARGET" $NICE cargo build --release --quiet -p sprout-gemma \
  --example bench)
echo "building the llama.cpp bench (release; compiles llama.cpp the first time)..." >&2
t_build=$(date +%s)
# Run from the crate's directory so that cargo reads bench/llama-cpp/.cargo/config.toml (target-cpu=native,
# which makes llama-cpp-sys-2 build ggml with GGML_NATIVE=ON, llama.cpp's own default).
(cd "$LLAMA_DIR" && CARGO_TARGET_DIR="$LLAMA_TARGET" $NICE cargo build --release --quiet --locked)
echo "  done in $(($(date +%s) - t_build)) s" >&2
SPROUT_BIN="$SPROUT_TARGET/release/examples/bench"
BASELINE_BIN="${SPROUT_BASELINE_BIN:-}"
[[ -z "$BASELINE_BIN" || -x "$BASELINE_BIN" ]] || { echo "error: $BASELINE_BIN is not executable" >&2; exit 1; }
LLAMA_BIN="$LLAMA_TARGET/release/sprout-bench-llama-cpp"

# --- runs ------------------------------------------------------------------------------------------------
LOG="$(mktemp -d "${TMPDIR:-/tmp}/llama_vs_sprout.XXXXXX")"
trap 'rm -rf "$LOG"' EXIT
echo "model: $GGUF" >&2
LOADAVG_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"
echo "load average before runs: $LOADAVG_BEFORE" >&2
for threads in $THREADS; do
  for p in $(seq 1 "$PROCS"); do
    echo "  sprout    threads=$threads process $p/$PROCS" >&2
    CANDLE_NUM_THREADS="$threads" RAYON_NUM_THREADS="$threads" BENCH_RUNS="$RUNS" \
      "$SPROUT_BIN" "$GGUF" >"$LOG/sprout-t$threads-p$p.txt"
    if [[ -n "$BASELINE_BIN" ]]; then
      echo "  baseline  threads=$threads process $p/$PROCS" >&2
      CANDLE_NUM_THREADS="$threads" RAYON_NUM_THREADS="$threads" BENCH_RUNS="$RUNS" \
        "$BASELINE_BIN" "$GGUF" >"$LOG/baseline-t$threads-p$p.txt"
    fi
    echo "  llama.cpp threads=$threads process $p/$PROCS" >&2
    "$LLAMA_BIN" "$GGUF" --threads "$threads" --runs "$RUNS" >"$LOG/llama-t$threads-p$p.txt"
  done
done
LOADAVG="$(cut -d' ' -f1-3 /proc/loadavg)"

# --- table -----------------------------------------------------------------------------------------------
"$PYTHON" - "$LOG" "$LOADAVG_BEFORE" "$LOADAVG" "$GGUF" $THREADS <<'PY'
import glob, os, re, statistics, sys

log, load_before, load_after, gguf, threads = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
num = r"([0-9.]+)"

def sprout(path):
    text = open(path).read()
    proc = {
        "load": float(re.search(r"^load: " + num + " s", text, re.M).group(1)),
        "rss": float(re.search(r"^peak RSS after generation: " + num, text, re.M).group(1)),
        "tokens": int(re.search(r"^prompt tokens: (\d+)", text, re.M).group(1)),
        "text": re.search(r"^text: (.*)$", text, re.M).group(1),
    }
    runs = [
        {"prompt": float(m[0]), "gen": float(m[1]), "ttft": float(m[2])}
        for m in re.findall(
            r"^run \d+: prompt " + num + r" tok/s .*?generation " + num + r" tok/s .*?first token " + num,
            text, re.M)
    ]
    return proc, runs

def llama(path):
    text = open(path).read()
    runs = []
    proc = {"tokens": int(re.search(r"^prompt tokens: (\d+)", text, re.M).group(1)),
            "text": re.search(r"^text: (.*)$", text, re.M).group(1)}
    for line in re.findall(r"^result (.*)$", text, re.M):
        kv = dict(item.split("=", 1) for item in line.split())
        proc["load"] = float(kv["load_s"])
        runs.append({"prompt": float(kv["prompt_tok_s"]), "gen": float(kv["gen_tok_s"]),
                     "ttft": float(kv["ttft_s"])})
    proc["rss"] = float(re.search(r"^peak RSS after generation: " + num, text, re.M).group(1))
    return proc, runs

rows, texts, counts = [], {}, {}
for t in threads:
    engines = [("sprout", "sprout", sprout), ("sprout baseline", "baseline", sprout),
               ("llama.cpp", "llama", llama)]
    for engine, prefix, parse in engines:
        procs, runs = [], []
        for path in sorted(glob.glob(os.path.join(log, f"{prefix}-t{t}-p*.txt"))):
            p, r = parse(path)
            procs.append(p)
            runs.extend(r)
        if not procs:
            continue
        med = statistics.median
        rows.append((f"{engine} ({t} thread{'s' if t != '1' else ''})",
                     med(p["load"] for p in procs), med(r["prompt"] for r in runs),
                     med(r["gen"] for r in runs), med(r["ttft"] for r in runs), med(p["rss"] for p in procs),
                     len(runs)))
        texts.setdefault(engine, procs[0]["text"])
        counts[engine] = procs[0]["tokens"]

print(f"\nGemma 3 270M Q4_K_M ({os.path.basename(gguf)}), {counts['sprout']}-token prompt (Sprout's tokenizer), "
      f"{counts['llama.cpp']} (llama.cpp's), 120 greedy new tokens")
print(f"load average (1/5/15 min) before the runs: {load_before}, after: {load_after}; "
      f"{len(os.sched_getaffinity(0))} cores; medians of {rows[0][6]} runs per row\n")
print("| engine | load s | prompt tok/s | gen tok/s | TTFT s | peak RSS MB |")
print("| --- | ---: | ---: | ---: | ---: | ---: |")
for name, load, prompt, gen, ttft, rss, _ in rows:
    print(f"| {name} | {load:.2f} | {prompt:.0f} | {gen:.1f} | {ttft:.3f} | {rss:.0f} |")

if abs(counts["sprout"] - counts["llama.cpp"]) > 3:
    print(f"\nWARNING: prompt token counts differ: Sprout {counts['sprout']}, llama.cpp {counts['llama.cpp']}")
a, b = texts["sprout"], texts["llama.cpp"]
common = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
print(f"\ngreedy outputs agree on the first {common} characters (of {len(a)} / {len(b)}, as printed)")
print(f"Sprout:    {a[:200]}")
print(f"llama.cpp: {b[:200]}")
PY
