#!/usr/bin/env bash
# Sprout's forecaster next to statsforecast (AutoETS, MSTL, SeasonalNaive):
# the same rolling-origin protocol on the same hourly series, scored by the
# same code; MAE, MASE, 80% interval coverage and time per fit+forecast.
#
# Usage: bench/forecast_vs_statsforecast.sh
#   BENCH_VENV      virtual environment to create or reuse (default: target/bench-venv)
#   BENCH_ORIGINS   forecast origins (default: 10; horizon 24, stride 24)
#   BENCH_WORKDIR   where the series and the recording are written (default: target/bench)
#   PYTHON          interpreter for a new venv (default: python3.11, else python3)
# Needs: cargo, python3 with the venv module, and access to the package registries.
# The real recording (pyActigraphy's example file, GPL-3.0) is written under
# target/bench/ only; it must never be committed.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
venv="${BENCH_VENV:-$root/target/bench-venv}"
origins="${BENCH_ORIGINS:-10}"
python="${PYTHON:-$(command -v python3.11 || command -v python3)}"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
work="${BENCH_WORKDIR:-$root/target/bench}"
sf_version="2.1.1"

# One thread for the numerical libraries, as the Rust side uses one: on small data
# extra threads only add overhead, and on a busy machine they wait for each other.
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}" OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}" MKL_NUM_THREADS="${MKL_NUM_THREADS:-1}"
export NUMBA_NUM_THREADS="${NUMBA_NUM_THREADS:-1}"

mkdir -p "$work"
if [ ! -x "$venv/bin/python" ]; then
    echo "==> creating virtual environment $venv ($("$python" --version))"
    "$python" -m venv "$venv"
else
    echo "==> reusing virtual environment $venv"
fi
if ! "$venv/bin/python" -c "import statsforecast, sys; sys.exit(statsforecast.__version__ != '$sf_version')" 2>/dev/null; then
    echo "==> pip install statsforecast==$sf_version"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "statsforecast==$sf_version"
fi

acti="$work/actigraphy_example_04.csv"
if [ ! -s "$acti" ]; then
    echo "==> fetching the real actigraphy recording (crates/forecast/scripts/fetch-forecast-data.sh)"
    FORECAST_VENV="$venv" "$root/crates/forecast/scripts/fetch-forecast-data.sh" "$acti" >/dev/null
else
    echo "==> reusing $acti"
fi

echo "==> building the Rust side (cargo build --release -p sprout-forecast --example compare)"
cargo build --quiet --release -p sprout-forecast --example compare
compare="$target_dir/release/examples/compare"

echo "==> writing the simulated child's hourly stress (sprout-sim, seed 42, child 0, 60 days)"
"$compare" sim-series "$work/sim_stress_hourly.csv" --days 60 --seed 42

echo "==> running Sprout and statsforecast"
"$venv/bin/python" "$root/bench/forecast_vs_statsforecast.py" \
    --compare "$compare" \
    --sim "$work/sim_stress_hourly.csv" \
    --actigraphy-minutes "$acti" \
    --workdir "$work" \
    --origins "$origins"
