//! Gemma's SentencePiece-style BPE tokenizer, rebuilt from the vocabulary stored in the GGUF metadata.
//!
//! The GGUF file carries pieces, scores and token types but no merge list. SentencePiece BPE does not
//! need one: starting from single characters, it repeatedly merges the adjacent pair whose concatenation
//! is a vocabulary piece with the highest score (leftmost on ties). This is the same ranking that
//! transformers' `SentencePieceExtractor` turns into an explicit merge list (every split of a piece into
//! two vocabulary pieces is a merge, ranked by the merged piece's score), and the same algorithm as
//! llama.cpp's SPM tokenizer, so the three agree.
//!
//! Pipeline for `encode`:
//! 1. the raw text is split on special tokens: user-defined pieces (`"\n"`, `"\n\n"`, runs of spaces and
//!    tabs, a few HTML tags) always, control tokens (`<start_of_turn>`, `<eos>`, ...) when asked to (the
//!    default), longest piece first, as llama.cpp does;
//! 2. in the remaining fragments `' '` becomes `'▁'` (Gemma adds no dummy prefix);
//! 3. BPE as above; characters that are not in the vocabulary fall back to `<0xXX>` byte tokens.
//!
//! `decode` reverses it: `'▁'` back to `' '`, byte tokens reassembled into UTF-8, control tokens dropped.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};

use candle_core::quantized::gguf_file::Value;

use crate::error::{GemmaError, Result};
use crate::gguf::{value_to_f64, value_to_i64, Meta};

/// The kind of a vocabulary entry, as stored in `tokenizer.ggml.token_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Normal,
    Unknown,
    Control,
    UserDefined,
    Unused,
    Byte,
}

impl TokenKind {
    fn from_gguf(v: i64) -> Option<Self> {
        Some(match v {
            1 => Self::Normal,
            2 => Self::Unknown,
            3 => Self::Control,
            4 => Self::UserDefined,
            5 => Self::Unused,
            6 => Self::Byte,
            _ => return None,
        })
    }
}

/// Gemma tokenizer built from GGUF metadata; no external files.
#[derive(Debug, Clone)]
pub struct Tokenizer {
    pieces: Vec<String>,
    scores: Vec<f32>,
    kinds: Vec<TokenKind>,
    piece_to_id: HashMap<String, u32>,
    byte_ids: [u32; 256],
    /// Control and user-defined pieces, longest first.
    specials: Vec<(String, u32)>,
    bos_id: u32,
    eos_id: u32,
    add_bos: bool,
}

const SPACE_MARK: char = '\u{2581}';

impl Tokenizer {
    /// Reads only the GGUF header of `path` and builds the tokenizer (no weights are loaded).
    pub fn from_gguf(path: &std::path::Path) -> Result<Self> {
        Self::from_meta(&crate::gguf::Gguf::open(path)?.meta())
    }

    pub(crate) fn from_meta(meta: &Meta<'_>) -> Result<Self> {
        let model = meta.string("tokenizer.ggml.model")?;
        if model != "llama" {
            return Err(GemmaError::Tokenizer(format!(
                "tokenizer model {model:?} is not a SentencePiece (\"llama\") vocabulary"
            )));
        }
        let tokens = meta.array("tokenizer.ggml.tokens")?;
        let scores = meta.array("tokenizer.ggml.scores")?;
        let types = meta.array("tokenizer.ggml.token_type")?;
        if tokens.len() != scores.len() || tokens.len() != types.len() {
            return Err(GemmaError::Tokenizer(format!(
                "vocabulary arrays disagree: {} tokens, {} scores, {} types",
                tokens.len(),
                scores.len(),
                types.len()
            )));
        }
        let pieces = tokens
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.clone()),
                _ => Err(GemmaError::Tokenizer("token that is not a string".into())),
            })
            .collect::<Result<Vec<_>>>()?;
        let scores = scores
            .iter()
            .map(|v| value_to_f64(v).map(|x| x as f32))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| GemmaError::Tokenizer("score that is not a number".into()))?;
        let kinds = types
            .iter()
            .map(|v| value_to_i64(v).and_then(TokenKind::from_gguf))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| GemmaError::Tokenizer("unknown token type".into()))?;
        let bos_id = meta.opt_u32("tokenizer.ggml.bos_token_id")?.unwrap_or(2);
        let eos_id = meta.opt_u32("tokenizer.ggml.eos_token_id")?.unwrap_or(1);
        let add_bos = meta.opt_bool("tokenizer.ggml.add_bos_token")?.unwrap_or(true);
        Self::from_parts(pieces, scores, kinds, bos_id, eos_id, add_bos)
    }

    /// Builds a tokenizer from a vocabulary (pieces, scores and kinds indexed by token id).
    pub fn from_parts(
        pieces: Vec<String>,
        scores: Vec<f32>,
        kinds: Vec<TokenKind>,
        bos_id: u32,
        eos_id: u32,
        add_bos: bool,
    ) -> Result<Self> {
        let n = pieces.len();
        if scores.len() != n || kinds.len() != n {
            return Err(GemmaError::Tokenizer(
                "pieces, scores and kinds differ in length".into(),
            ));
        }
        if u32::try_from(n).is_err() {
            return Err(GemmaError::Tokenizer("vocabulary too large".into()));
        }
        for (name, id) in [("bos", bos_id), ("eos", eos_id)] {
            if id as usize >= n {
                return Err(GemmaError::Tokenizer(format!(
                    "{name} id {id} outside the vocabulary"
                )));
            }
        }
        let mut piece_to_id = HashMap::with_capacity(n);
        let mut byte_ids = [u32::MAX; 256];
        let mut specials = Vec::new();
        for (id, (piece, kind)) in pieces.iter().zip(&kinds).enumerate() {
            let id = id as u32;
            // First occurrence wins, as in SentencePiece.
            piece_to_id.entry(piece.clone()).or_insert(id);
            match kind {
                TokenKind::Byte => {
                    let byte = piece
                        .strip_prefix("<0x")
                        .and_then(|s| s.strip_suffix('>'))
                        .and_then(|h| u8::from_str_radix(h, 16).ok())
                        .ok_or_else(|| GemmaError::Tokenizer(format!("bad byte token {piece:?}")))?;
                    byte_ids[byte as usize] = id;
                }
                TokenKind::Control | TokenKind::UserDefined if !piece.is_empty() => {
                    specials.push((piece.clone(), id));
                }
                _ => {}
            }
        }
        if byte_ids.contains(&u32::MAX) {
            return Err(GemmaError::Tokenizer(
                "vocabulary lacks some of the 256 byte tokens".into(),
            ));
        }
        // Longest first; among equal lengths, lower id first (deterministic).
        specials.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.1.cmp(&b.1)));
        Ok(Self {
            pieces,
            scores,
            kinds,
            piece_to_id,
            byte_ids,
            specials,
            bos_id,
            eos_id,
            add_bos,
        })
    }

    /// Number of tokens in the vocabulary.
    pub fn vocab_size(&self) -> usize {
        self.pieces.len()
    }

    /// Id of `<bos>`.
    pub fn bos_id(&self) -> u32 {
        self.bos_id
    }

    /// Id of `<eos>`.
    pub fn eos_id(&self) -> u32 {
        self.eos_id
    }

    /// Whether the model expects `<bos>` in front of a prompt (from the metadata; true for Gemma).
    pub fn adds_bos(&self) -> bool {
        self.add_bos
    }

    /// Id of a vocabulary piece, if present.
    pub fn token_id(&self, piece: &str) -> Option<u32> {
        self.piece_to_id.get(piece).copied()
    }

    /// The vocabulary piece of `id` (with `'▁'` for spaces), if `id` is in range.
    pub fn piece(&self, id: u32) -> Option<&str> {
        self.pieces.get(id as usize).map(String::as_str)
    }

    /// The kind of token `id`, if `id` is in range.
    pub fn kind(&self, id: u32) -> Option<TokenKind> {
        self.kinds.get(id as usize).copied()
    }

    /// Tokenizes `text`, parsing control tokens such as `<start_of_turn>` written in it.
    pub fn encode(&self, text: &str, add_bos: bool) -> Vec<u32> {
        self.encode_with(text, add_bos, true)
    }

    /// Tokenizes `text`; control tokens written in the text are recognised only if `parse_control`
    /// (otherwise they are tokenized as plain text). User-defined pieces are always recognised.
    pub fn encode_with(&self, text: &str, add_bos: bool, parse_control: bool) -> Vec<u32> {
        let mut ids = Vec::with_capacity(text.len() / 3 + 2);
        if add_bos {
            ids.push(self.bos_id);
        }
        for fragment in self.partition(text, parse_control) {
            match fragment {
                Fragment::Special(id) => ids.push(id),
                Fragment::Text(s) => self.bpe(s, &mut ids),
            }
        }
        ids
    }

    /// Splits `text` on special pieces, longest piece first (llama.cpp's order).
    fn partition<'t>(&self, text: &'t str, parse_control: bool) -> Vec<Fragment<'t>> {
        let mut present = [false; 256];
        for &b in text.as_bytes() {
            present[b as usize] = true;
        }
        let mut fragments = vec![Fragment::Text(text)];
        for (piece, id) in &self.specials {
            if !present[piece.as_bytes()[0] as usize] {
                continue;
            }
            if !parse_control && self.kinds[*id as usize] == TokenKind::Control {
                continue;
            }
            if !fragments
                .iter()
                .any(|f| matches!(f, Fragment::Text(s) if s.contains(piece.as_str())))
            {
                continue;
            }
            let mut next = Vec::with_capacity(fragments.len() + 2);
            for fragment in fragments {
                match fragment {
                    Fragment::Text(s) if s.contains(piece.as_str()) => {
                        for (i, part) in s.split(piece.as_str()).enumerate() {
                            if i > 0 {
                                next.push(Fragment::Special(*id));
                            }
                            if !part.is_empty() {
                                next.push(Fragment::Text(part));
                            }
                        }
                    }
                    other => next.push(other),
                }
            }
            fragments = next;
        }
        fragments
    }

    /// SentencePiece BPE on one fragment of plain text.
    fn bpe(&self, text: &str, out: &mut Vec<u32>) {
        let normalized: String = text
            .chars()
            .map(|c| if c == ' ' { SPACE_MARK } else { c })
            .collect();
        let mut symbols: Vec<Symbol> = Vec::with_capacity(normalized.len());
        for (i, (start, c)) in normalized.char_indices().enumerate() {
            symbols.push(Symbol {
                start,
                len: c.len_utf8(),
                prev: i.checked_sub(1),
                next: Some(i + 1),
            });
        }
        if let Some(last) = symbols.last_mut() {
            last.next = None;
        }
        let mut queue = BinaryHeap::new();
        for right in 1..symbols.len() {
            self.push_bigram(&normalized, &symbols, right - 1, right, &mut queue);
        }
        while let Some(bigram) = queue.pop() {
            let (l, r) = (bigram.left, bigram.right);
            // Skip pairs made stale by an earlier merge.
            if symbols[l].len == 0 || symbols[r].len == 0 || symbols[l].len + symbols[r].len != bigram.len {
                continue;
            }
            symbols[l].len += symbols[r].len;
            symbols[r].len = 0;
            symbols[l].next = symbols[r].next;
            if let Some(n) = symbols[r].next {
                symbols[n].prev = Some(l);
            }
            if let Some(p) = symbols[l].prev {
                self.push_bigram(&normalized, &symbols, p, l, &mut queue);
            }
            if let Some(n) = symbols[l].next {
                self.push_bigram(&normalized, &symbols, l, n, &mut queue);
            }
        }
        let mut cursor = if symbols.is_empty() { None } else { Some(0) };
        while let Some(i) = cursor {
            let sym = &symbols[i];
            let piece = &normalized[sym.start..sym.start + sym.len];
            match self.piece_to_id.get(piece) {
                Some(&id) => out.push(id),
                None => out.extend(piece.bytes().map(|b| self.byte_ids[b as usize])),
            }
            cursor = sym.next;
        }
    }

    fn push_bigram(
        &self,
        text: &str,
        symbols: &[Symbol],
        left: usize,
        right: usize,
        queue: &mut BinaryHeap<Bigram>,
    ) {
        let (l, r) = (&symbols[left], &symbols[right]);
        let merged = &text[l.start..r.start + r.len];
        if let Some(&id) = self.piece_to_id.get(merged) {
            if self.kinds[id as usize] == TokenKind::Normal {
                queue.push(Bigram {
                    score: self.scores[id as usize],
                    left,
                    right,
                    len: merged.len(),
                });
            }
        }
    }

    /// Turns ids back into text: `'▁'` becomes a space, byte tokens are reassembled, control tokens and
    /// ids outside the vocabulary are skipped. Invalid UTF-8 (e.g. a cut multi-byte character) is
    /// replaced by U+FFFD.
    pub fn decode(&self, ids: &[u32]) -> String {
        let mut bytes = Vec::with_capacity(ids.len() * 4);
        for &id in ids {
            let Some(kind) = self.kind(id) else { continue };
            let piece = &self.pieces[id as usize];
            match kind {
                TokenKind::Control => {}
                TokenKind::Byte => {
                    if let Some(b) = self.byte_ids.iter().position(|&x| x == id) {
                        bytes.push(b as u8);
                    }
                }
                _ => {
                    for c in piece.chars() {
                        let c = if c == SPACE_MARK { ' ' } else { c };
                        let mut buf = [0u8; 4];
                        bytes.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                    }
                }
            }
        }
        match String::from_utf8(bytes) {
            Ok(s) => s,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        }
    }
}

enum Fragment<'t> {
    Text(&'t str),
    Special(u32),
}

struct Symbol {
    start: usize,
    len: usize,
    prev: Option<usize>,
    next: Option<usize>,
}

struct Bigram {
    score: f32,
    left: usize,
    right: usize,
    len: usize,
}

impl PartialEq for Bigram {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Bigram {}

impl PartialOrd for Bigram {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Bigram {
    /// Max-heap order: higher score first, then the leftmost pair.
    fn cmp(&self, other: &Self) -> Ordering {
        self.score
            .total_cmp(&other.score)
            .then_with(|| other.left.cmp(&self.left))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A toy vocabulary: `<pad>`, `<eos>`, `<bos>`, the 256 bytes, then `extra`; earlier pieces
    /// score higher.
    pub(crate) fn toy_with(extra: &[(&str, TokenKind)]) -> Tokenizer {
        let mut pieces = vec!["<pad>".to_string(), "<eos>".to_string(), "<bos>".to_string()];
        let mut kinds = vec![TokenKind::Control; 3];
        for b in 0..=255u8 {
            pieces.push(format!("<0x{b:02X}>"));
            kinds.push(TokenKind::Byte);
        }
        for (p, k) in extra {
            pieces.push(p.to_string());
            kinds.push(*k);
        }
        let scores = (0..pieces.len()).map(|i| -(i as f32)).collect();
        Tokenizer::from_parts(pieces, scores, kinds, 2, 1, true).expect("toy vocabulary is valid")
    }

    /// Bytes, a few merges, and special pieces.
    fn toy() -> Tokenizer {
        toy_with(&[
            ("\n", TokenKind::UserDefined),
            ("\n\n", TokenKind::UserDefined),
            ("<turn>", TokenKind::Control),
            ("a", TokenKind::Normal),
            ("b", TokenKind::Normal),
            ("c", TokenKind::Normal),
            ("▁", TokenKind::Normal),
            ("ab", TokenKind::Normal),
            ("bc", TokenKind::Normal),
            ("abc", TokenKind::Normal),
            ("▁a", TokenKind::Normal),
        ])
    }

    #[test]
    fn merges_by_score_and_falls_back_to_bytes() {
        let t = toy();
        let id = |p: &str| t.token_id(p).expect("piece exists");
        // "ab" scores higher than "bc", then "abc" exists: one token.
        assert_eq!(t.encode("abc", false), vec![id("abc")]);
        // "ab" outranks "▁a" (higher score), so "▁" stays alone.
        assert_eq!(t.encode(" ab", false), vec![id("▁"), id("ab")]);
        assert_eq!(t.encode(" a", false), vec![id("▁a")]);
        // "é" is not in the vocabulary: two byte tokens.
        assert_eq!(t.encode("é", false), vec![id("<0xC3>"), id("<0xA9>")]);
        assert_eq!(t.encode("a", true), vec![2, id("a")]);
    }

    #[test]
    fn specials_longest_first_and_control_optional() {
        let t = toy();
        let id = |p: &str| t.token_id(p).expect("piece exists");
        assert_eq!(
            t.encode("a\n\n\nb", false),
            vec![id("a"), id("\n\n"), id("\n"), id("b")]
        );
        assert_eq!(t.encode("<turn>a", false), vec![id("<turn>"), id("a")]);
        let plain = t.encode_with("<turn>", false, false);
        assert!(!plain.contains(&id("<turn>")));
        assert_eq!(t.decode(&plain), "<turn>");
    }

    #[test]
    fn decode_round_trips_and_skips_control() {
        let t = toy();
        for s in ["abc cab", "é ü 🙂", "\n\n\na", ""] {
            assert_eq!(t.decode(&t.encode(s, true)), s);
        }
        assert_eq!(t.decode(&[u32::MAX, 1]), "");
    }
}
