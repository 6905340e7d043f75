#!/usr/bin/env bash
# One child's per-child intervention effects on the decision-point table: Sprout's
# estimate per kind next to DoWhy's on the same exported table, then Sprout's full
# refresh (all kinds, the new design, its checks) against the 50 ms aim.
#
# Usage: bench/effects_vs_dowhy.sh
#   BENCH_VENV   virtual environment to create or reuse (default: target/bench-venv)
#   BENCH_REPS   timed repetitions per estimate and per refresh, median reported (default: 15)
#   BENCH_CHILD  simulated child index, or "auto" (default: auto = among children 0-5 of
#                seed 42, the one whose refresh estimates the most kinds)
#   PYTHON       interpreter for a new venv (default: python3.11, else python3)
# Needs: cargo, python3 with the venv module, and access to the package registries.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
venv="${BENCH_VENV:-$root/target/bench-venv}"
reps="${BENCH_REPS:-15}"
child="${BENCH_CHILD:-auto}"
python="${PYTHON:-$(command -v python3.11 || command -v python3)}"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
work="$root/target/bench/effects"
dowhy_version="0.14"

# One thread for the numerical libraries, as the Rust side uses one: on small data
# extra threads only add overhead, and on a busy machine they wait for each other.
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}" OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}" \
    MKL_NUM_THREADS="${MKL_NUM_THREADS:-1}" NUMBA_NUM_THREADS="${NUMBA_NUM_THREADS:-1}"

mkdir -p "$work"
if [ ! -x "$venv/bin/python" ]; then
    echo "==> creating virtual environment $venv ($("$python" --version))"
    "$python" -m venv "$venv"
else
    echo "==> reusing virtual environment $venv"
fi
if ! "$venv/bin/python" -c "import dowhy, sys; sys.exit(dowhy.__version__ != '$dowhy_version')" 2>/dev/null; then
    echo "==> pip install dowhy==$dowhy_version"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "dowhy==$dowhy_version"
fi

echo "==> building the Rust side (cargo build --release -p sprout-insights --example effects_bench)"
cargo build --quiet --release -p sprout-insights --example effects_bench
bench="$target_dir/release/examples/effects_bench"

echo "==> source: commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- crates 2>/dev/null || echo ', with uncommitted changes under crates/')"
echo "==> machine: $(getconf _NPROCESSORS_ONLN) cores; load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "==> running DoWhy and Sprout ($reps timed repetitions each, medians); tables in $work"
"$venv/bin/python" "$root/bench/effects_vs_dowhy.py" \
    --bench "$bench" \
    --dir "$work" \
    --child "$child" \
    --reps "$reps"
echo "==> load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
