#!/usr/bin/env bash
# Extracts a real actigraphy recording for the forecaster's real-data test.
#
# Source: the example Actiwatch-4 recording `example_04.AWD` (about 21 days of
# 1-minute activity counts) shipped inside the PyPI package pyActigraphy
# 1.2.2. pyActigraphy is GPL-3.0, so the data is not kept in this repository:
# this script installs the package (without its dependencies, only the data
# file is needed) into a virtual environment and writes a CSV outside the
# source tree.
#
# Needs: python3 with the venv module, and access to PyPI.
# Usage: scripts/fetch-forecast-data.sh [OUTPUT_CSV]
#   FORECAST_VENV  virtual environment to use (default: /tmp/venv-forecast)
# Then run the test with the printed SPROUT_FORECAST_ACTIGRAPHY_CSV setting.
set -euo pipefail

venv="${FORECAST_VENV:-/tmp/venv-forecast}"
out="${1:-${TMPDIR:-/tmp}/sprout-forecast-data/actigraphy_example_04.csv}"
version="1.2.2"

if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --no-deps "pyActigraphy==$version"
mkdir -p "$(dirname "$out")"

"$venv/bin/python" - "$out" <<'PY'
"""Converts pyActigraphy's example AWD file to `timestamp,activity` CSV (UTC)."""
import datetime as dt
import pathlib
import sys
import sysconfig

# AWD header line 4 holds the epoch code (pyActigraphy's RawAWD.frequency_code).
EPOCH_SECONDS = {"1": 15, "2": 30, "4": 60, "8": 120, "20": 300, "81": 2, "C1": 5, "C2": 10}
HEADER_LINES = 7

site = pathlib.Path(sysconfig.get_paths()["purelib"])
src = site / "pyActigraphy" / "tests" / "data" / "example_04.AWD"
lines = src.read_text(encoding="utf-8").splitlines()
start = dt.datetime.strptime(f"{lines[1].strip()} {lines[2].strip()}", "%d-%b-%Y %H:%M")
step = dt.timedelta(seconds=EPOCH_SECONDS[lines[3].strip()])
out = pathlib.Path(sys.argv[1])
rows = 0
with out.open("w", encoding="utf-8") as f:
    f.write("timestamp,activity\n")
    for i, line in enumerate(lines[HEADER_LINES:]):
        fields = line.split()
        if not fields:
            continue
        t = start + i * step
        f.write(f"{t.strftime('%Y-%m-%dT%H:%M:%SZ')},{int(fields[0])}\n")
        rows += 1
print(f"wrote {rows} rows from {src.name} to {out}", file=sys.stderr)
PY

echo "export SPROUT_FORECAST_ACTIGRAPHY_CSV=$out"
