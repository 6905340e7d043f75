#!/usr/bin/env python3
"""Independent reference for sprout-embed: tokenizer ids and sentence embeddings of all-MiniLM-L6-v2.

Tokenizes with the Hugging Face `tokenizers` library (from the model's own tokenizer.json, truncated to
256 tokens as sentence-transformers does for this model, no padding) and runs the BERT encoder in NumPy
(float64), then mean-pools and L2-normalises, as the sentence-transformers pipeline in modules.json does.
No torch, no sentence-transformers and no code from the Rust crate are involved.

Usage (in a throwaway virtual environment):
    python3 -m venv venv && venv/bin/pip install tokenizers numpy safetensors
    venv/bin/python scripts/reference.py MODEL_DIR tests/data/reference.json

MODEL_DIR is the directory printed by scripts/fetch-model.sh.
"""

import json
import math
import sys
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file
from tokenizers import Tokenizer

MAX_TOKENS = 256

LONG = (
    "Over the last two weeks she has been going to bed later and later, mostly because homework takes "
    "longer than it used to and she wants some time to read afterwards; on school nights the lights go "
    "out around half past nine, but at the weekend it drifts towards eleven, and on Monday mornings she "
    "is hard to wake, grumpy at breakfast and says her head hurts. "
) * 4

# Sentences embedded by the model (and tokenized).
SENTENCES = [
    "She slept badly last night.",
    "Poor sleep before school.",
    "Math test tomorrow!",
    "Crème brûlée après l'école: très bien, naïve café, Ångström, São Paulo.",
    'Bedtime @ 8:30pm?! (Usually 9.) He said: "no..." & cried; 100% tired -- again.',
    "Great day at the park 😀🎉 played ⚽ with friends 👨‍👩‍👧 and a dog 🐕.",
    "他今天很开心 and ate dinner; 早く寝た. Привет, мир!",
    "  tabs\tand\nnewlines\r\n soft\u00adhyphen zero\u200bwidth bell\x07 nul\x00 end  ",
    "What does [MASK] mean? [unk] is not [UNK].",
    "Supercalifragilisticexpialidocious antidisestablishmentarianism " + "x" * 120 + " ok",
    "",
    LONG,
]

# Extra strings checked by the tokenizer alone.
TOKENIZER_ONLY = [
    "Hello, World!",
    "don't won't can't it's",
    "e-mail: parent@example.org, phone +1 (555) 010-9999",
    "ÀÉÎÕÜ àéîõü ñ ç ø ß œ æ",
    "İstanbul ǅ ﬁ ﬀ Ⅻ ①",
    "१२३ ٤٥٦ ½ ³ x² 3.14159 1,000,000",
    "naïve—“quoted” ‘single’ «guillemets» …ellipsis… •bullet",
    "emoji 👍🏽 ❤️ 🇫🇷 flags ©®™ §¶",
    "한국어 텍스트 ไทย العربية עברית",
    "tab\there\u2003em-space\u00a0nbsp\u3000ideographic",
    "[CLS] [SEP] [PAD] [MASK] [UNK] [cls]",
    "unaffable playfulness 12345678901234567890",
    "\ufeffbom \u200d zwj \u2060 wj \ue000 private \U0001F9FF",
    "a" * 101,
    "a" * 100,
]


def gelu_erf(x):
    erf = np.frompyfunc(math.erf, 1, 1)
    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)).astype(np.float64))


def layer_norm(x, w, b, eps):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


def encode(ids, weights, cfg):
    w = {k: v.astype(np.float64) for k, v in weights.items() if v.dtype != np.int64}
    n = len(ids)
    h = cfg["hidden_size"]
    heads = cfg["num_attention_heads"]
    hd = h // heads
    eps = cfg["layer_norm_eps"]
    x = (
        w["embeddings.word_embeddings.weight"][ids]
        + w["embeddings.position_embeddings.weight"][:n]
        + w["embeddings.token_type_embeddings.weight"][0]
    )
    x = layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps)
    for i in range(cfg["num_hidden_layers"]):
        p = f"encoder.layer.{i}."

        def lin(name, t):
            return t @ w[p + name + ".weight"].T + w[p + name + ".bias"]

        q = lin("attention.self.query", x).reshape(n, heads, hd).transpose(1, 0, 2)
        k = lin("attention.self.key", x).reshape(n, heads, hd).transpose(1, 0, 2)
        v = lin("attention.self.value", x).reshape(n, heads, hd).transpose(1, 0, 2)
        s = q @ k.transpose(0, 2, 1) / math.sqrt(hd)
        s = np.exp(s - s.max(-1, keepdims=True))
        s /= s.sum(-1, keepdims=True)
        ctx = (s @ v).transpose(1, 0, 2).reshape(n, h)
        a = lin("attention.output.dense", ctx)
        x = layer_norm(x + a, w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"], eps)
        f = lin("output.dense", gelu_erf(lin("intermediate.dense", x)))
        x = layer_norm(x + f, w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"], eps)
    pooled = x.mean(0)
    return pooled / np.linalg.norm(pooled)


def main():
    model_dir = Path(sys.argv[1])
    out = Path(sys.argv[2])
    tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(MAX_TOKENS)
    cfg = json.loads((model_dir / "config.json").read_text())
    weights = load_file(str(model_dir / "model.safetensors"))

    sentences = []
    for text in SENTENCES:
        ids = tok.encode(text).ids
        e = encode(ids, weights, cfg)
        sentences.append({"text": text, "ids": ids, "embedding": [round(float(v), 7) for v in e]})
    tokenizer_only = [{"text": t, "ids": tok.encode(t).ids} for t in TOKENIZER_ONLY]
    data = {
        "note": "Produced by crates/embed/scripts/reference.py (HF tokenizers + NumPy float64 BERT forward, "
        "mean pooling, L2 normalisation) from the all-MiniLM-L6-v2 files fetched by scripts/fetch-model.sh.",
        "max_tokens": MAX_TOKENS,
        "sentences": sentences,
        "tokenizer_only": tokenizer_only,
    }
    out.write_text(json.dumps(data, ensure_ascii=False, indent=None, separators=(",", ":")) + "\n")
    print(f"wrote {out}: {len(sentences)} embeddings, {len(tokenizer_only)} tokenizer-only cases")


if __name__ == "__main__":
    main()
