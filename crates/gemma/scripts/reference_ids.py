"""Reference token ids for tests/data/reference_ids.rs, from the SentencePiece library itself.

Builds a SentencePiece BPE model proto from the GGUF vocabulary (pieces, scores, types; byte fallback,
no dummy prefix, identity normalization), splits the raw text on control and user-defined pieces
longest-first (as llama.cpp does), encodes the rest with SentencePiece and prints JSON.

Needs: gguf, sentencepiece, protobuf (pip, in a virtual environment).
Usage: python scripts/reference_ids.py MODEL.gguf tests/data/reference_strings.json > ids.json
"""
import sys, json, gguf
from sentencepiece import sentencepiece_model_pb2 as pb
import sentencepiece as spm
r = gguf.GGUFReader(sys.argv[1])
f = r.fields['tokenizer.ggml.tokens']; toks = [bytes(f.parts[i]).decode() for i in f.data]
tt = [int(r.fields['tokenizer.ggml.token_type'].parts[i][0]) for i in r.fields['tokenizer.ggml.token_type'].data]
sc = [float(r.fields['tokenizer.ggml.scores'].parts[i][0]) for i in r.fields['tokenizer.ggml.scores'].data]
m = pb.ModelProto()
m.trainer_spec.model_type = pb.TrainerSpec.BPE
m.trainer_spec.byte_fallback = True
m.trainer_spec.vocab_size = len(toks)
m.trainer_spec.unk_id = 3; m.trainer_spec.bos_id = 2; m.trainer_spec.eos_id = 1; m.trainer_spec.pad_id = 0
m.normalizer_spec.name = 'identity'
m.normalizer_spec.add_dummy_prefix = False
m.normalizer_spec.remove_extra_whitespaces = False
m.normalizer_spec.escape_whitespaces = True
TY = {1: pb.ModelProto.SentencePiece.NORMAL, 2: pb.ModelProto.SentencePiece.UNKNOWN, 3: pb.ModelProto.SentencePiece.CONTROL,
      4: pb.ModelProto.SentencePiece.USER_DEFINED, 5: pb.ModelProto.SentencePiece.UNUSED, 6: pb.ModelProto.SentencePiece.BYTE}
for i, (t, s, y) in enumerate(zip(toks, sc, tt)):
    p = m.pieces.add(); p.piece = t; p.score = s
    p.type = pb.ModelProto.SentencePiece.UNKNOWN if i == 3 else TY[y]
sp = spm.SentencePieceProcessor(model_proto=m.SerializeToString())
strings = json.load(open(sys.argv[2]))
specials = sorted([(t, i) for i, t in enumerate(toks) if tt[i] in (3, 4)], key=lambda x: -len(x[0]))
def partition(text):
    frags = [text]
    for t, i in specials:
        new = []
        for fr in frags:
            if isinstance(fr, int) or t not in fr:
                new.append(fr); continue
            parts = fr.split(t)
            for k, p in enumerate(parts):
                if k: new.append(i)
                if p: new.append(p)
        frags = new
    return frags
def encode(text):
    ids = []
    for fr in partition(text):
        ids.extend([fr] if isinstance(fr, int) else sp.encode(fr))
    return ids
out = [{"text": s, "ids": encode(s)} for s in strings]
json.dump(out, sys.stdout, ensure_ascii=False, indent=0)
