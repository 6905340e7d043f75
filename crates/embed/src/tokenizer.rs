//! WordPiece tokenizer for BERT-family models, built from `vocab.txt`.
//!
//! It reproduces what the Hugging Face `tokenizers` library does with a BERT `tokenizer.json`
//! (`BertNormalizer` + `BertPreTokenizer` + `WordPiece` + the `[CLS] … [SEP]` template), step by step:
//!
//! 1. **Special tokens** (`[PAD]`, `[UNK]`, `[CLS]`, `[SEP]`, `[MASK]`) written literally in the raw text are
//!    matched first, case-sensitively and before any normalisation (leftmost, then longest), and become
//!    their own ids, as the library's added-token pass does.
//! 2. **Clean text**: drop NUL, U+FFFD and "other" characters (categories Cc, Cf, Co: control, format —
//!    zero-width joiners, soft hyphens, byte-order marks — and private use) except tab, newline and carriage
//!    return; turn every whitespace character into a plain space.
//! 3. **CJK ideographs** get spaces around them, so each becomes a word of its own.
//! 4. **Strip accents** (on by default when lowercasing, as in BERT-uncased): NFD, then drop nonspacing marks.
//! 5. **Lowercase** (`char::to_lowercase`).
//! 6. **Split** on whitespace (dropped) and on punctuation (ASCII punctuation or Unicode category P*, each kept
//!    as a one-character word).
//! 7. **WordPiece**: greedy longest-match-first against the vocabulary, continuation pieces prefixed with
//!    `##`; a word with no complete segmentation, or longer than 100 characters, becomes `[UNK]`.
//! 8. `[CLS]` + pieces + `[SEP]`, truncated to the model's maximum length (the pieces are cut, the markers kept).
//!
//! The Unicode category tables come from the `unicode_categories` crate, the one the `tokenizers` library uses,
//! so both agree on which characters are punctuation, control or combining marks. The ids were checked against
//! that library on the strings in `tests/data/reference.json` (accents, emoji, CJK, Cyrillic, Hangul, Thai,
//! Arabic, control and zero-width characters, literal special tokens, over-long words and truncation).

use std::collections::HashMap;
use std::path::Path;

use unicode_categories::UnicodeCategories;
use unicode_normalization::UnicodeNormalization;

use crate::error::EmbedError;

/// Words longer than this many characters become `[UNK]` without being split (BERT's default).
const MAX_CHARS_PER_WORD: usize = 100;

/// The special tokens of BERT vocabularies, matched literally in raw text.
const SPECIAL_TOKENS: [&str; 5] = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];

/// Prefix of WordPiece continuation pieces.
const CONTINUATION: &str = "##";

/// How the text is normalised before splitting; read from `tokenizer_config.json` when present.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NormalizerOptions {
    /// Lowercase the text (uncased models).
    pub lowercase: bool,
    /// Remove accents (NFD, then drop nonspacing marks). BERT defaults this to `lowercase`.
    pub strip_accents: bool,
    /// Put spaces around CJK ideographs.
    pub split_cjk: bool,
}

impl Default for NormalizerOptions {
    fn default() -> Self {
        NormalizerOptions {
            lowercase: true,
            strip_accents: true,
            split_cjk: true,
        }
    }
}

/// A BERT WordPiece tokenizer.
#[derive(Debug, Clone)]
pub struct Tokenizer {
    vocab: HashMap<String, u32>,
    specials: Vec<(&'static str, u32)>,
    cls: u32,
    sep: u32,
    unk: u32,
    pad: u32,
    options: NormalizerOptions,
}

impl Tokenizer {
    /// Builds a tokenizer from the lines of a `vocab.txt` (one token per line, the id is the line number).
    pub fn from_vocab_text(text: &str, options: NormalizerOptions) -> Result<Self, EmbedError> {
        let mut vocab = HashMap::new();
        for (id, line) in text.lines().enumerate() {
            let id = u32::try_from(id).map_err(|_| EmbedError::Vocab("more than 2^32 tokens".into()))?;
            let token = line.strip_suffix('\r').unwrap_or(line);
            // The first occurrence wins, as in the reference implementation's `BertTokenizer`.
            vocab.entry(token.to_owned()).or_insert(id);
        }
        if vocab.is_empty() {
            return Err(EmbedError::Vocab("empty vocabulary".into()));
        }
        let id_of = |t: &str| {
            vocab
                .get(t)
                .copied()
                .ok_or_else(|| EmbedError::Vocab(format!("no {t} token")))
        };
        let (cls, sep, unk, pad) = (id_of("[CLS]")?, id_of("[SEP]")?, id_of("[UNK]")?, id_of("[PAD]")?);
        let specials = SPECIAL_TOKENS
            .iter()
            .filter_map(|t| vocab.get(*t).map(|id| (*t, *id)))
            .collect();
        Ok(Tokenizer {
            vocab,
            specials,
            cls,
            sep,
            unk,
            pad,
            options,
        })
    }

    /// Reads `vocab.txt`.
    pub fn from_vocab_file(path: &Path, options: NormalizerOptions) -> Result<Self, EmbedError> {
        let text = std::fs::read_to_string(path).map_err(|source| EmbedError::Io {
            path: path.to_owned(),
            source,
        })?;
        Self::from_vocab_text(&text, options)
    }

    /// Number of entries in the vocabulary.
    pub fn vocab_size(&self) -> usize {
        self.vocab.len()
    }

    /// The id of `[PAD]`.
    pub fn pad_id(&self) -> u32 {
        self.pad
    }

    /// The normalisation in use.
    pub fn options(&self) -> NormalizerOptions {
        self.options
    }

    /// Token ids of `text`: `[CLS]`, the WordPiece ids, `[SEP]`, at most `max_len` ids in all
    /// (`max_len` below 2 is treated as 2). Stops reading the text once the limit is reached.
    pub fn encode(&self, text: &str, max_len: usize) -> Vec<u32> {
        let budget = max_len.max(2) - 2;
        let mut ids = Vec::with_capacity(budget.min(64) + 2);
        ids.push(self.cls);
        let mut rest = text;
        while ids.len() <= budget && !rest.is_empty() {
            match self.next_special(rest) {
                Some((at, len, id)) => {
                    self.encode_plain(&rest[..at], budget + 1, &mut ids);
                    if ids.len() <= budget {
                        ids.push(id);
                    }
                    rest = &rest[at + len..];
                }
                None => {
                    self.encode_plain(rest, budget + 1, &mut ids);
                    rest = "";
                }
            }
        }
        ids.truncate(budget + 1);
        ids.push(self.sep);
        ids
    }

    /// The WordPiece strings for `text`, without `[CLS]`/`[SEP]` (for debugging and tests).
    pub fn tokens(&self, text: &str) -> Vec<String> {
        let by_id: HashMap<u32, &str> = self.vocab.iter().map(|(t, id)| (*id, t.as_str())).collect();
        let ids = self.encode(text, usize::MAX);
        ids[1..ids.len() - 1]
            .iter()
            .map(|id| by_id.get(id).copied().unwrap_or("[UNK]").to_owned())
            .collect()
    }

    /// The earliest literal special token in `text`, the longest one when several start there:
    /// (byte offset, byte length, id).
    fn next_special(&self, text: &str) -> Option<(usize, usize, u32)> {
        text.match_indices('[').find_map(|(at, _)| {
            self.specials
                .iter()
                .filter(|(t, _)| text[at..].starts_with(t))
                .max_by_key(|(t, _)| t.len())
                .map(|(t, id)| (at, t.len(), *id))
        })
    }

    /// Appends the ids of a text without special tokens until `ids` holds `limit` entries.
    fn encode_plain(&self, text: &str, limit: usize, ids: &mut Vec<u32>) {
        let normalized = self.normalize(text);
        for word in pre_tokenize(&normalized) {
            if ids.len() >= limit {
                return;
            }
            self.word_piece(word, ids);
        }
    }

    /// Steps 2-5 of the module documentation.
    fn normalize(&self, text: &str) -> String {
        let mut cleaned = String::with_capacity(text.len());
        for c in text.chars() {
            if c == '\0' || c == '\u{fffd}' || is_control(c) {
                continue;
            }
            if is_whitespace(c) {
                cleaned.push(' ');
            } else if self.options.split_cjk && is_cjk(c) {
                cleaned.push(' ');
                cleaned.push(c);
                cleaned.push(' ');
            } else {
                cleaned.push(c);
            }
        }
        let stripped = if self.options.strip_accents {
            cleaned.nfd().filter(|c| !c.is_mark_nonspacing()).collect()
        } else {
            cleaned
        };
        if self.options.lowercase {
            stripped.chars().flat_map(char::to_lowercase).collect()
        } else {
            stripped
        }
    }

    /// Greedy longest-match-first WordPiece of one word, appended to `ids`.
    fn word_piece(&self, word: &str, ids: &mut Vec<u32>) {
        if word.chars().count() > MAX_CHARS_PER_WORD {
            ids.push(self.unk);
            return;
        }
        let first = ids.len();
        let mut piece = String::with_capacity(word.len() + CONTINUATION.len());
        let mut start = 0;
        while start < word.len() {
            let mut end = word.len();
            let mut found = None;
            while start < end {
                piece.clear();
                if start > 0 {
                    piece.push_str(CONTINUATION);
                }
                piece.push_str(&word[start..end]);
                if let Some(id) = self.vocab.get(piece.as_str()) {
                    found = Some(*id);
                    break;
                }
                end -= word[start..end].chars().next_back().map_or(1, char::len_utf8);
            }
            match found {
                Some(id) => {
                    ids.push(id);
                    start = end;
                }
                None => {
                    ids.truncate(first);
                    ids.push(self.unk);
                    return;
                }
            }
        }
    }
}

/// Whitespace as BERT's normalizer sees it (tab, newline, carriage return and Unicode White_Space).
fn is_whitespace(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r') || c.is_whitespace()
}

/// Control, format and private-use characters (Cc, Cf, Co), except the three whitespace controls.
fn is_control(c: char) -> bool {
    !matches!(c, '\t' | '\n' | '\r') && c.is_other()
}

/// ASCII punctuation (which includes symbols such as `$`, `+`, `^`) or Unicode punctuation (P*).
fn is_punctuation(c: char) -> bool {
    c.is_ascii_punctuation() || c.is_punctuation()
}

/// The CJK Unified Ideograph blocks BERT treats as one-character words (not Hangul, Hiragana or Katakana).
fn is_cjk(c: char) -> bool {
    matches!(
        u32::from(c),
        0x4E00..=0x9FFF
            | 0x3400..=0x4DBF
            | 0x20000..=0x2A6DF
            | 0x2A700..=0x2B73F
            | 0x2B740..=0x2B81F
            | 0x2B920..=0x2CEAF
            | 0xF900..=0xFAFF
            | 0x2F800..=0x2FA1F
    )
}

/// Splits normalised text into words: whitespace separates and is dropped, each punctuation
/// character is a word of its own.
fn pre_tokenize(text: &str) -> impl Iterator<Item = &str> {
    let mut words = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        if c.is_whitespace() || is_punctuation(c) {
            if let Some(s) = start.take() {
                words.push(&text[s..i]);
            }
            if !c.is_whitespace() {
                words.push(&text[i..i + c.len_utf8()]);
            }
        } else if start.is_none() {
            start = Some(i);
        }
    }
    if let Some(s) = start {
        words.push(&text[s..]);
    }
    words.into_iter()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toy() -> Tokenizer {
        let vocab = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nun\n##aff\n##able\nplay\n##ful\n##ness\n!\n,\n.\ncafe\n中\nhello";
        Tokenizer::from_vocab_text(vocab, NormalizerOptions::default()).unwrap()
    }

    #[test]
    fn word_piece_is_greedy_longest_first() {
        let t = toy();
        assert_eq!(
            t.tokens("unaffable playfulness!"),
            ["un", "##aff", "##able", "play", "##ful", "##ness", "!"]
        );
        assert_eq!(t.tokens("unplayable"), ["[UNK]"]);
    }

    #[test]
    fn normalises_case_accents_controls_and_cjk() {
        let t = toy();
        assert_eq!(
            t.tokens("  CAFÉ,\u{200b}Hello\u{00ad}.中中"),
            ["cafe", ",", "hello", ".", "中", "中"]
        );
        assert_eq!(t.encode("", 10), [2, 3]);
    }

    #[test]
    fn literal_special_tokens_and_truncation() {
        let t = toy();
        assert_eq!(
            t.encode("hello [MASK]cafe [mask]", 100),
            [2, 16, 4, 14, 1, 1, 1, 3]
        );
        assert_eq!(t.encode("hello cafe hello cafe", 4), [2, 16, 14, 3]);
        assert_eq!(t.encode("hello [SEP] cafe", 3), [2, 16, 3]);
        assert_eq!(t.encode(&"hello ".repeat(10_000), 5), [2, 16, 16, 16, 3]);
    }

    #[test]
    fn over_long_words_are_unknown() {
        let t = toy();
        assert_eq!(t.tokens(&"a".repeat(101)), ["[UNK]"]);
    }

    #[test]
    fn missing_special_token_is_an_error() {
        assert!(Tokenizer::from_vocab_text("[PAD]\n[UNK]\n[CLS]\n", NormalizerOptions::default()).is_err());
    }
}
