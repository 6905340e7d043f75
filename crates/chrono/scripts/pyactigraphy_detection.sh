#!/usr/bin/env bash
# pyActigraphy's own sleep detection on the example Actiwatch recordings shipped
# inside the pyActigraphy package, for the real-data agreement test
# (tests/real_data.rs) and the side-by-side bench (examples/real_compare.rs).
#
# pyActigraphy is GPL-3.0: its data is extracted at test time into OUT_DIR (by
# default target/fixtures/pyactigraphy under the repository root, which git
# ignores) and must never be committed.
#
# Usage: crates/chrono/scripts/pyactigraphy_detection.sh [OUT_DIR]
#   PYACTIGRAPHY_VENV  virtual environment (default: target/fixtures/pyactigraphy-venv)
#   PYACTIGRAPHY_RUNS  timed detection runs per recording (default: 1; use 5 or more
#                      for the bench: the first run includes numba's compilation)
#   PYTHON             interpreter for a new venv (default: python3; the pins below
#                      are for CPython 3.11)
# Prints OUT_DIR (absolute) on stdout; then:
#   SPROUT_PYACTIGRAPHY_DIR=<that> cargo test -p sprout-chrono --test real_data
#
# Idempotent and quick when already done: the venv is reused when its pins match,
# and detection is skipped when OUT_DIR holds results for the same pins, script and
# number of runs.
#
# Versions: pyActigraphy 1.2.2 depends on accelerometer>=6.2.2, whose releases pin
# scikit-learn==1.0.1 (no CPython 3.11 wheel; its source build fails) and
# imbalanced-learn==0.8.1 / joblib==1.1.0. pyActigraphy only imports accelerometer for
# its BBA reader, so every package is installed from the exact list below with
# --no-deps, with scikit-learn 1.3.2 / imbalanced-learn 0.11.0 in place of those
# pins. pandas stays below 2 because pyActigraphy 1.2.2 still calls
# pd.date_range(closed=...) (its Crespo detection fails on pandas 2); the Roenneberg
# results are identical on pandas 1.5.3 and 2.1.4.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
out="${1:-$root/target/fixtures/pyactigraphy}"
venv="${PYACTIGRAPHY_VENV:-$root/target/fixtures/pyactigraphy-venv}"
runs="${PYACTIGRAPHY_RUNS:-1}"
python="${PYTHON:-python3}"

requirements="$(cat <<'REQ'
pyActigraphy==1.2.2
accelerometer==6.2.3
asteval==1.0.10
chardet==7.7.0
contourpy==1.3.3
cycler==0.12.1
et_xmlfile==2.0.0
fonttools==4.68.0
imbalanced-learn==0.11.0
joblib==1.3.2
kiwisolver==1.5.1
llvmlite==0.41.1
lmfit==1.2.2
lml==0.2.0
lxml==6.1.3
matplotlib==3.11.2
numba==0.58.1
numpy==1.26.4
openpyxl==3.1.5
packaging==26.4
pandas==1.5.3
patsy==1.0.3
pillow==13.0.0
plotly==5.18.0
pyexcel==0.7.0
pyexcel-ezodf==0.3.4
pyexcel-io==0.6.8
pyexcel-ods3==0.6.1
pyexcel-xlsx==0.6.0
pyparsing==3.3.3
python-dateutil==4.0.0
pytz==2026.6
scikit-learn==1.3.2
scipy==1.11.4
spm1d==0.4.24
statsmodels==0.14.1
stochastic==0.6.0
tenacity==9.2.1
texttable==1.7.2
threadpoolctl==3.8.0
tqdm==4.66.1
tzdata==2026.6
uncertainties==3.2.3
REQ
)"

hash_of() { sha256sum | cut -c1-16; }
pins="$(printf '%s\n' "$requirements" | hash_of)"

# 1. Virtual environment with pyActigraphy and its dependencies.
if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
if [ "$(cat "$venv/.sprout-pins" 2>/dev/null)" != "$pins" ]; then
    printf '%s\n' "$requirements" >"$venv/.sprout-requirements.txt"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps \
        -r "$venv/.sprout-requirements.txt" >&2
    "$venv/bin/python" -c "import pyActigraphy" >&2
    printf '%s\n' "$pins" >"$venv/.sprout-pins"
fi

# 2. Counts and pyActigraphy's detection per recording.
mkdir -p "$out"
out="$(cd "$out" && pwd)"
stamp="$pins $(hash_of <"$here/pyactigraphy_detection.py") runs=$runs"
if [ "$(cat "$out/.stamp" 2>/dev/null)" != "$stamp" ]; then
    rm -f "$out/.stamp"
    "$venv/bin/python" -W ignore::FutureWarning "$here/pyactigraphy_detection.py" "$out" "$runs" >&2
    printf '%s\n' "$stamp" >"$out/.stamp"
fi
echo "$out"
