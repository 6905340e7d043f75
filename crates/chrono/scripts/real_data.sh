#!/usr/bin/env bash
# Smoke check on real actigraphy: the example recordings shipped inside the
# pyActigraphy wheel (GPL-3.0). They are downloaded and unpacked OUTSIDE this
# repository (default: a temporary folder) and must never be committed here.
#
#   scripts/real_data.sh [DEST] [IANA_ZONE]
set -euo pipefail

dest="${1:-$(mktemp -d)}"
zone="${2:-Europe/Brussels}"
here="$(cd "$(dirname "$0")/.." && pwd)"
mkdir -p "$dest"
dest="$(cd "$dest" && pwd)"
case "$dest/" in
  "$here"/*) echo "refusing to unpack GPL data inside the repository: $dest" >&2; exit 1 ;;
esac

python3 -m pip download pyActigraphy --no-deps --quiet -d "$dest"
python3 - "$dest" <<'PY'
import glob, sys, zipfile
dest = sys.argv[1]
wheel = sorted(glob.glob(f"{dest}/pyActigraphy-*.whl"))[-1]
with zipfile.ZipFile(wheel) as z:
    for name in z.namelist():
        if name.startswith("pyActigraphy/tests/data/example_0") and name.endswith(".AWD") and "mask" not in name:
            z.extract(name, dest)
PY

cd "$here"
for file in "$dest"/pyActigraphy/tests/data/example_0*.AWD; do
  for algorithm in roenneberg sadeh cole_kripke; do
    echo "== $(basename "$file") $algorithm"
    cargo run --quiet --release --example awd -- "$file" "$zone" "$algorithm"
  done
done
