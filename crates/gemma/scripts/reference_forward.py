"""Independent NumPy forward of Gemma 3 from the GGUF (weights dequantized to f32), to check logits.

Prints the perplexity of the given ids (bos included) and the top-5 next tokens after the last one.
Needs: gguf, numpy. Usage: python scripts/reference_forward.py MODEL.gguf 2,818,3768,...
"""
import sys, numpy as np, gguf
from gguf.quants import dequantize
r = gguf.GGUFReader(sys.argv[1])
T = {t.name: t for t in r.tensors}
def W(name):
    t = T[name]
    a = dequantize(t.data, t.tensor_type).astype(np.float32)
    return a.reshape([int(x) for x in reversed(t.shape)]) if a.ndim == 1 and len(t.shape) > 1 else a
ids = [int(x) for x in sys.argv[2].split(',')]
H, NH, HD, L, W_ = 640, 4, 256, 18, 512
emb = W('token_embd.weight')
print('norm means', float(W('blk.0.attn_norm.weight').mean()), float(W('blk.0.attn_q_norm.weight').mean()), file=sys.stderr)
x = emb[ids] * np.float32(np.sqrt(H))
S = len(ids)
def rms(x, w, eps=1e-6):
    return x / np.sqrt((x * x).mean(-1, keepdims=True) + eps) * w
def gelu(x):
    return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))
def rope(x, base):  # x [h, s, d]
    half = HD // 2
    inv = 1.0 / (base ** (np.arange(0, HD, 2, dtype=np.float64) / HD))
    ang = np.arange(S)[:, None] * inv[None, :]
    c, s = np.cos(ang), np.sin(ang)
    x1, x2 = x[..., :half], x[..., half:]
    return np.concatenate([x1 * c - x2 * s, x2 * c + x1 * s], -1)
for l in range(L):
    p = f'blk.{l}.'
    local = (l + 1) % 6 != 0
    h = rms(x, W(p + 'attn_norm.weight'))
    q = (h @ W(p + 'attn_q.weight').T).reshape(S, NH, HD).transpose(1, 0, 2)
    k = (h @ W(p + 'attn_k.weight').T).reshape(S, 1, HD).transpose(1, 0, 2)
    v = (h @ W(p + 'attn_v.weight').T).reshape(S, 1, HD).transpose(1, 0, 2)
    q = rms(q, W(p + 'attn_q_norm.weight')); k = rms(k, W(p + 'attn_k_norm.weight'))
    base = 10000.0 if local else 1e6
    q = rope(q, base); k = rope(k, base)
    sc = q @ k.transpose(0, 2, 1) / 16.0
    i = np.arange(S)[:, None]; j = np.arange(S)[None, :]
    allowed = (j <= i) & ((i - j < W_) if local else True)
    sc = np.where(allowed[None], sc, -np.inf)
    sc = np.exp(sc - sc.max(-1, keepdims=True)); sc /= sc.sum(-1, keepdims=True)
    o = (sc @ v).transpose(1, 0, 2).reshape(S, NH * HD) @ W(p + 'attn_output.weight').T
    x = x + rms(o, W(p + 'post_attention_norm.weight'))
    h = rms(x, W(p + 'ffn_norm.weight'))
    m = (gelu(h @ W(p + 'ffn_gate.weight').T) * (h @ W(p + 'ffn_up.weight').T)) @ W(p + 'ffn_down.weight').T
    x = x + rms(m, W(p + 'post_ffw_norm.weight'))
x = rms(x, W('output_norm.weight'))
logits = x @ emb.T
lp = logits - logits.max(-1, keepdims=True); lp = lp - np.log(np.exp(lp).sum(-1, keepdims=True))
nll = -np.mean([lp[t, ids[t + 1]] for t in range(S - 1)])
print('ppl', float(np.exp(nll)))
print('last top5', np.argsort(-logits[-1])[:5].tolist(), logits[-1][np.argsort(-logits[-1])[:5]].tolist())
