#!/usr/bin/env bash
# Sprout's causal engine next to DoWhy: the same estimators on the same CSV
# files, estimates and times side by side, then one child's full refresh.
#
# Usage: bench/causal_vs_dowhy.sh
#   BENCH_VENV   virtual environment to create or reuse (default: target/bench-venv)
#   BENCH_REPS   timed repetitions per estimate, median reported (default: 15)
#   PYTHON       interpreter for a new venv (default: python3.11, else python3)
# Needs: cargo, python3 with the venv module, and access to the package registries.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
venv="${BENCH_VENV:-$root/target/bench-venv}"
reps="${BENCH_REPS:-15}"
python="${PYTHON:-$(command -v python3.11 || command -v python3)}"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
work="$root/target/bench"
dowhy_version="0.14"

# One thread for the numerical libraries, as the Rust side uses one: on small data
# extra threads only add overhead, and on a busy machine they wait for each other.
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}" OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}" MKL_NUM_THREADS="${MKL_NUM_THREADS:-1}"

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

echo "==> building the Rust side (cargo build --release -p sprout-causal --example compare)"
cargo build --quiet --release -p sprout-causal --example compare
compare="$target_dir/release/examples/compare"

echo "==> writing simulated child-day tables (sprout-sim, seed 42, child 0)"
"$compare" sim-table "$work/sim_child_90.csv" --days 90 --seed 42
"$compare" sim-table "$work/sim_child_60.csv" --days 60 --seed 42

echo "==> running DoWhy and Sprout ($reps timed repetitions each, medians)"
"$venv/bin/python" "$root/bench/causal_vs_dowhy.py" \
    --compare "$compare" \
    --nsw "$root/crates/causal/tests/data/nsw_mixtape.csv" \
    --sim "$work/sim_child_90.csv" \
    --refresh-table "$work/sim_child_60.csv" \
    --reps "$reps"
