#!/usr/bin/env bash
# Builds the parent app and runs its browser tests against a Sprout server.
#
#   SPROUT_BIN=target/debug/sprout web/scripts/test.sh   # starts `sprout demo` itself
#   SPROUT_URL=http://127.0.0.1:8080 web/scripts/test.sh # a server that is running
#
# Idempotent: npm packages are installed only when package-lock.json changed, and
# Chromium (Debian's package; no browser downloads) only when it is missing.
set -euo pipefail

cd "$(dirname "$0")/.."

if [[ -z "${SPROUT_BIN:-}" && -z "${SPROUT_URL:-}" ]]; then
  echo "error: set SPROUT_BIN (a sprout binary) or SPROUT_URL (a running server)" >&2
  exit 2
fi
if [[ -n "${SPROUT_BIN:-}" ]]; then
  SPROUT_BIN="$(cd "$(dirname "$SPROUT_BIN")" && pwd)/$(basename "$SPROUT_BIN")"
  export SPROUT_BIN
  [[ -x "$SPROUT_BIN" ]] || { echo "error: $SPROUT_BIN is not an executable" >&2; exit 2; }
fi

# npm packages: again only when the lock file differs from the one last installed.
if ! cmp -s package-lock.json node_modules/.installed-lock.json; then
  npm ci --no-audit --no-fund
  cp package-lock.json node_modules/.installed-lock.json
fi

# Chromium from the system's packages.
CHROMIUM="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [[ ! -x "$CHROMIUM" ]]; then
  SUDO=""
  [[ "$(id -u)" != 0 ]] && SUDO="sudo"
  $SUDO apt-get update
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium
fi

npm run build
npm run test:e2e
