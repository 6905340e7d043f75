//! Int8 matrix products for Q8_0 weights: the weights repacked into 16-row tiles, multiplied by
//! activations quantized to int8 in blocks of 32, with AVX-512 VNNI, and a portable loop that is the
//! reference the fast path is tested against (and the fallback if called on a CPU without VNNI; the model
//! does not pack its weights there).
//!
//! Why not candle's kernels: at one token per step the model is bound by how many weight bytes it
//! streams, and 60% of them are the 262,144-row tied embedding used as the output projection. candle's
//! Q8_0 VNNI kernel needs 256-column multiples, so Gemma's 640 columns had to be zero-padded to 768
//! (20% more bytes to stream) and candle then kept a second, repacked copy beside the original (about
//! 700 MB resident). Here the 640 columns are packed once, with no padding and no second copy, and the
//! activations are quantized per 32 values (as llama.cpp does for Q8_0) instead of per 256, which also
//! keeps more precision for Gemma's very large residual values.
//!
//! Q5_0 matrices (most projections of the Q4_K_M file) are packed too, keeping their 5 bits: they
//! stream 0.69 bytes per weight instead of the 1.06 of a Q8_0 copy, and the values are exactly the
//! file's (a Q8_0 copy rounds them again).
//!
//! Layout: rows are grouped by 16; for each group and each 32-column block, one tile holds the 16 rows'
//! f16 scales and their 32 weights each, as unsigned values `w + offset`, so that one `vpdpbusd`
//! multiplies 4 columns of all 16 rows by the same 4 activation bytes (VNNI multiplies unsigned by
//! signed bytes). The offset is removed exactly with the block's activation sum:
//! `Σ (w + o)·a − o·Σ a = Σ w·a`. Q8_0 tiles ([`TileQ8`]) store bytes `w + 128` as
//! `[4-column group][row][4 columns]`; Q5_0 tiles ([`TileQ5`]) store `w + 16` as two nibble planes plus
//! a 64-bit mask per 4-column group for the fifth bit, which AVX-512 applies as a byte mask.
#![allow(unsafe_code)]

use candle_core::quantized::{GgmlDType, QTensor};

use crate::error::{GemmaError, Result};

/// Rows per tile: one 512-bit register of i32 accumulators.
pub(crate) const TILE_ROWS: usize = 16;
/// Columns per block (Q8_0's block size): one scale per row and block.
pub(crate) const BLOCK: usize = 32;
/// Activation rows multiplied against each tile while it is in registers (prompts, scored texts).
const ROWS_PER_PASS: usize = 4;

/// A tile format: how one 32-column block of 16 rows is stored, packed from GGUF blocks, and read.
trait TileFormat: Copy + Send + Sync + 'static {
    /// Bytes of one GGUF block of this type.
    const GGUF_BLOCK_BYTES: usize;
    /// What is added to the signed weight to store it unsigned.
    const OFFSET: i32;
    /// A tile of zero rows (zero scale).
    const ZERO: Self;
    /// Stores row `lane` from one GGUF block.
    fn set_row(&mut self, lane: usize, block: &[u8]);
    /// The f16 bits of row `lane`'s scale.
    fn scale_bits(&self, lane: usize) -> u16;
    /// The stored (offset) value of row `lane`, column `c`.
    fn value(&self, lane: usize, c: usize) -> i32;
}

/// Q8_0: f16 scale and 32 signed bytes per row.
#[derive(Clone, Copy)]
#[repr(C)]
pub(crate) struct TileQ8 {
    d: [u16; TILE_ROWS],
    /// Weights + 128, `[column / 4][row][column % 4]`.
    qs: [u8; BLOCK * TILE_ROWS],
}

impl TileFormat for TileQ8 {
    const GGUF_BLOCK_BYTES: usize = 2 + BLOCK;
    const OFFSET: i32 = 128;
    const ZERO: Self = Self {
        d: [0; TILE_ROWS],
        qs: [128; BLOCK * TILE_ROWS],
    };

    fn set_row(&mut self, lane: usize, block: &[u8]) {
        self.d[lane] = u16::from_le_bytes([block[0], block[1]]);
        for (group, four) in block[2..2 + BLOCK].chunks_exact(4).enumerate() {
            let at = (group * TILE_ROWS + lane) * 4;
            for (dst, &byte) in self.qs[at..at + 4].iter_mut().zip(four) {
                // (w as i8) + 128 as u8 is the byte with its top bit flipped.
                *dst = byte ^ 0x80;
            }
        }
    }

    fn scale_bits(&self, lane: usize) -> u16 {
        self.d[lane]
    }

    fn value(&self, lane: usize, c: usize) -> i32 {
        i32::from(self.qs[(c / 4 * TILE_ROWS + lane) * 4 + c % 4])
    }
}

/// Q5_0: f16 scale, 32 five-bit values (stored value `w + 16` in 0..32) per row.
#[derive(Clone, Copy)]
#[repr(C)]
pub(crate) struct TileQ5 {
    d: [u16; TILE_ROWS],
    /// Bit `row * 4 + column % 4` of `high[column / 4]`: the value's fifth bit (16).
    high: [u64; BLOCK / 4],
    /// Low four bits; byte `(v * 16 + row) * 4 + column % 4` holds column group `v` (columns
    /// `4v..4v + 4`) in its low nibble and group `v + 4` in its high nibble.
    qs: [u8; BLOCK * TILE_ROWS / 2],
}

impl TileQ5 {
    fn nibble_index(lane: usize, c: usize) -> (usize, u32) {
        let group = c / 4;
        (
            (group % 4 * TILE_ROWS + lane) * 4 + c % 4,
            if group < 4 { 0 } else { 4 },
        )
    }
}

impl TileFormat for TileQ5 {
    const GGUF_BLOCK_BYTES: usize = 2 + 4 + BLOCK / 2;
    const OFFSET: i32 = 16;
    const ZERO: Self = Self {
        d: [0; TILE_ROWS],
        high: [u64::MAX; BLOCK / 4],
        qs: [0; BLOCK * TILE_ROWS / 2],
    };

    fn set_row(&mut self, lane: usize, block: &[u8]) {
        // GGUF block_q5_0: f16 d, u32 qh (bit c = fifth bit of column c), 16 bytes whose low nibbles
        // are columns 0..16 and high nibbles columns 16..32; value = (q | fifth << 4) - 16. Byte
        // 4v + j thus holds column 4v + j (group v) low and column 16 + 4v + j (group v + 4) high,
        // which is exactly the packed byte: the nibbles are copied as they are.
        self.d[lane] = u16::from_le_bytes([block[0], block[1]]);
        let qh = u32::from_le_bytes([block[2], block[3], block[4], block[5]]);
        for (v, four) in block[6..6 + BLOCK / 2].chunks_exact(4).enumerate() {
            let at = (v * TILE_ROWS + lane) * 4;
            self.qs[at..at + 4].copy_from_slice(four);
        }
        let shift = lane * 4;
        for (group, high) in self.high.iter_mut().enumerate() {
            let bits = u64::from((qh >> (group * 4)) & 0xf);
            *high = (*high & !(0xf << shift)) | (bits << shift);
        }
    }

    fn scale_bits(&self, lane: usize) -> u16 {
        self.d[lane]
    }

    fn value(&self, lane: usize, c: usize) -> i32 {
        let (i, shift) = Self::nibble_index(lane, c);
        let low = i32::from((self.qs[i] >> shift) & 0x0f);
        let high = ((self.high[c / 4] >> (lane * 4 + c % 4)) & 1) as i32;
        low | high << 4
    }
}

#[derive(Clone)]
enum Tiles {
    Q8(Vec<TileQ8>),
    Q5(Vec<TileQ5>),
}

/// A Q8_0 or Q5_0 matrix `[rows, cols]` repacked for [`PackedQ8::matmul`] and row lookups.
pub struct PackedQ8 {
    rows: usize,
    cols: usize,
    /// `[row group][block]`; the last group is filled with zero rows.
    tiles: Tiles,
}

impl std::fmt::Debug for PackedQ8 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PackedQ8")
            .field("rows", &self.rows)
            .field("cols", &self.cols)
            .field(
                "format",
                &match self.tiles {
                    Tiles::Q8(_) => "q8_0",
                    Tiles::Q5(_) => "q5_0",
                },
            )
            .finish()
    }
}

/// Activation rows quantized to int8 in blocks of 32, with each block's scale and sum.
#[derive(Debug, Clone, Default)]
pub struct QuantizedRows {
    rows: usize,
    blocks: usize,
    q: Vec<i8>,
    d: Vec<f32>,
    sums: Vec<i32>,
}

impl QuantizedRows {
    /// Quantizes `x` (`rows` rows of `cols` values, `cols` a multiple of 32) as llama.cpp's
    /// `quantize_row_q8_0` does (scale = max |x| / 127, round to nearest), except that the scale stays in
    /// f32 instead of being rounded to f16.
    pub fn quantize(x: &[f32], cols: usize) -> Result<Self> {
        if cols == 0 || !cols.is_multiple_of(BLOCK) || !x.len().is_multiple_of(cols) {
            return Err(shape_error(format!(
                "cannot quantize {} values in rows of {cols}",
                x.len()
            )));
        }
        let blocks = x.len() / BLOCK;
        let mut q = vec![0i8; x.len()];
        let mut d = vec![0f32; blocks];
        let mut sums = vec![0i32; blocks];
        for (((xb, qb), db), sb) in x
            .chunks_exact(BLOCK)
            .zip(q.chunks_exact_mut(BLOCK))
            .zip(&mut d)
            .zip(&mut sums)
        {
            let amax = xb.iter().fold(0f32, |m, v| m.max(v.abs()));
            let scale = amax / 127.0;
            let inv = if scale > 0.0 { 1.0 / scale } else { 0.0 };
            let mut sum = 0i32;
            for (qv, &xv) in qb.iter_mut().zip(xb) {
                // Round half away from zero, as `f32::round`, without its libm call (the baseline x86-64
                // target has no rounding instruction): |x · inv| <= 127, so truncating |v| + 0.5 is
                // exact and cannot saturate.
                let v = xv * inv;
                let magnitude = (v.abs() + 0.5) as i32;
                *qv = if v < 0.0 { -magnitude } else { magnitude } as i8;
                sum += i32::from(*qv);
            }
            *db = scale;
            *sb = sum;
        }
        Ok(Self {
            rows: x.len() / cols,
            blocks: cols / BLOCK,
            q,
            d,
            sums,
        })
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn cols(&self) -> usize {
        self.blocks * BLOCK
    }
}

fn shape_error(reason: String) -> GemmaError {
    GemmaError::BadTensor {
        name: "int8 matmul".to_string(),
        reason,
    }
}

/// Packs GGUF rows supplied in order by `read_row(buffer)` into tiles of format `T`.
fn pack_rows<T: TileFormat>(
    rows: usize,
    cols: usize,
    mut read_row: impl FnMut(&mut [u8]) -> Result<()>,
) -> Result<Vec<T>> {
    let blocks = cols / BLOCK;
    let mut tiles = vec![T::ZERO; rows.div_ceil(TILE_ROWS) * blocks];
    let mut row = vec![0u8; blocks * T::GGUF_BLOCK_BYTES];
    for r in 0..rows {
        read_row(&mut row)?;
        let (group, lane) = (r / TILE_ROWS, r % TILE_ROWS);
        for (tile, block) in tiles[group * blocks..(group + 1) * blocks]
            .iter_mut()
            .zip(row.chunks_exact(T::GGUF_BLOCK_BYTES))
        {
            tile.set_row(lane, block);
        }
    }
    Ok(tiles)
}

fn dequantize_row_of<T: TileFormat>(tiles: &[T], lane: usize, out: &mut [f32]) {
    for (tile, dst) in tiles.iter().zip(out.chunks_exact_mut(BLOCK)) {
        let d = f16_to_f32(tile.scale_bits(lane));
        for (c, v) in dst.iter_mut().enumerate() {
            *v = d * (tile.value(lane, c) - T::OFFSET) as f32;
        }
    }
}

impl PackedQ8 {
    /// Whether tensors of this type and inner dimension can be packed.
    pub fn supports(dtype: GgmlDType, cols: usize) -> bool {
        matches!(dtype, GgmlDType::Q8_0 | GgmlDType::Q5_0) && cols > 0 && cols.is_multiple_of(BLOCK)
    }

    /// Packs a Q8_0 or Q5_0 tensor `[rows, cols]`.
    pub fn from_qtensor(t: &QTensor) -> Result<Self> {
        let (rows, cols) = t.shape().dims2()?;
        let data = t.data()?;
        let mut offset = 0;
        Self::from_gguf_rows(t.dtype(), rows, cols, |dst| {
            let src = data
                .get(offset..offset + dst.len())
                .ok_or_else(|| shape_error(format!("{} bytes of data", data.len())))?;
            dst.copy_from_slice(src);
            offset += dst.len();
            Ok(())
        })
    }

    /// Packs a matrix whose GGUF-layout rows are supplied in order by `read_row(buffer)`, so that a
    /// caller can stream them from a file without holding the whole unpacked matrix.
    pub(crate) fn from_gguf_rows(
        dtype: GgmlDType,
        rows: usize,
        cols: usize,
        read_row: impl FnMut(&mut [u8]) -> Result<()>,
    ) -> Result<Self> {
        if !Self::supports(dtype, cols) {
            return Err(shape_error(format!("cannot pack {dtype:?} with {cols} columns")));
        }
        let tiles = match dtype {
            GgmlDType::Q5_0 => Tiles::Q5(pack_rows(rows, cols, read_row)?),
            _ => Tiles::Q8(pack_rows(rows, cols, read_row)?),
        };
        Ok(Self { rows, cols, tiles })
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Resident size of the packed weights in bytes.
    pub fn size_in_bytes(&self) -> usize {
        match &self.tiles {
            Tiles::Q8(t) => std::mem::size_of_val(t.as_slice()),
            Tiles::Q5(t) => std::mem::size_of_val(t.as_slice()),
        }
    }

    /// Row `row` dequantized into `out` (`cols` values): the embedding lookup. Exact (f16 scale × int).
    pub fn dequantize_row(&self, row: usize, out: &mut [f32]) -> Result<()> {
        if row >= self.rows || out.len() != self.cols {
            return Err(shape_error(format!(
                "row {row} into {} values of a [{}, {}] matrix",
                out.len(),
                self.rows,
                self.cols
            )));
        }
        let blocks = self.cols / BLOCK;
        let (group, lane) = (row / TILE_ROWS, row % TILE_ROWS);
        let range = group * blocks..(group + 1) * blocks;
        match &self.tiles {
            Tiles::Q8(t) => dequantize_row_of(&t[range], lane, out),
            Tiles::Q5(t) => dequantize_row_of(&t[range], lane, out),
        }
        Ok(())
    }

    /// The whole matrix as f32 `[rows, cols]` (for the exact, unquantized path).
    pub fn dequantize(&self) -> Result<Vec<f32>> {
        let mut out = vec![0f32; self.rows * self.cols];
        for (r, dst) in out.chunks_exact_mut(self.cols).enumerate() {
            self.dequantize_row(r, dst)?;
        }
        Ok(out)
    }

    /// `out[m, n] = Σ_k x[m, k] · w[n, k]` for the quantized activation rows `x`; `out` holds
    /// `x.rows() × self.rows()` values.
    pub fn matmul(&self, x: &QuantizedRows, out: &mut [f32]) -> Result<()> {
        self.check(x, out)?;
        #[cfg(target_arch = "x86_64")]
        if has_vnni() {
            // SAFETY: the CPU supports the target features (checked just above), and `check` verified
            // every length the kernel indexes by.
            unsafe {
                match &self.tiles {
                    Tiles::Q8(t) => x86::matmul(t, self.rows, self.cols, x, out),
                    Tiles::Q5(t) => x86::matmul(t, self.rows, self.cols, x, out),
                }
            }
            return Ok(());
        }
        self.matmul_portable(x, out);
        Ok(())
    }

    /// The portable kernel: the same integer sums and the same per-block scaling as the VNNI kernel.
    /// It is the fallback on CPUs without VNNI and the reference the fast kernel is tested against.
    pub fn matmul_reference(&self, x: &QuantizedRows, out: &mut [f32]) -> Result<()> {
        self.check(x, out)?;
        self.matmul_portable(x, out);
        Ok(())
    }

    fn check(&self, x: &QuantizedRows, out: &[f32]) -> Result<()> {
        if x.cols() != self.cols || out.len() != x.rows * self.rows {
            return Err(shape_error(format!(
                "[{}, {}] activations, {} outputs, for a [{}, {}] matrix",
                x.rows,
                x.cols(),
                out.len(),
                self.rows,
                self.cols
            )));
        }
        Ok(())
    }

    fn matmul_portable(&self, x: &QuantizedRows, out: &mut [f32]) {
        match &self.tiles {
            Tiles::Q8(t) => matmul_portable(t, self.rows, self.cols, x, out),
            Tiles::Q5(t) => matmul_portable(t, self.rows, self.cols, x, out),
        }
    }
}

fn matmul_portable<T: TileFormat>(tiles: &[T], n: usize, cols: usize, x: &QuantizedRows, out: &mut [f32]) {
    let blocks = cols / BLOCK;
    for m in 0..x.rows {
        let out_row = &mut out[m * n..(m + 1) * n];
        let xq = &x.q[m * cols..(m + 1) * cols];
        for (group, group_tiles) in tiles.chunks_exact(blocks).enumerate() {
            let mut acc = [0f32; TILE_ROWS];
            for (b, tile) in group_tiles.iter().enumerate() {
                let xb = &xq[b * BLOCK..(b + 1) * BLOCK];
                let xd = x.d[m * blocks + b];
                let correction = T::OFFSET * x.sums[m * blocks + b];
                for (lane, a) in acc.iter_mut().enumerate() {
                    let isum: i32 = xb
                        .iter()
                        .enumerate()
                        .map(|(c, &xv)| tile.value(lane, c) * i32::from(xv))
                        .sum();
                    let scale = f16_to_f32(tile.scale_bits(lane)) * xd;
                    *a += (isum - correction) as f32 * scale;
                }
            }
            let first = group * TILE_ROWS;
            let valid = TILE_ROWS.min(n - first);
            out_row[first..first + valid].copy_from_slice(&acc[..valid]);
        }
    }
}

/// Whether the AVX-512 VNNI kernel can run here.
pub fn has_vnni() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx512f")
            && std::is_x86_feature_detected!("avx512bw")
            && std::is_x86_feature_detected!("avx512vnni")
            && std::is_x86_feature_detected!("f16c")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// IEEE half to single precision (exact; the file's scales are normal or zero, subnormals handled too).
fn f16_to_f32(bits: u16) -> f32 {
    let sign = u32::from(bits >> 15) << 31;
    let exp = u32::from((bits >> 10) & 0x1f);
    let frac = u32::from(bits & 0x3ff);
    let magnitude = match (exp, frac) {
        (0, 0) => 0,
        (0, _) => {
            // Subnormal: frac · 2^-24, exact in f32.
            let v = frac as f32 * f32::from_bits(0x3380_0000);
            return if sign != 0 { -v } else { v };
        }
        (0x1f, _) => 0x7f80_0000 | (frac << 13),
        _ => ((exp + 112) << 23) | (frac << 13),
    };
    f32::from_bits(sign | magnitude)
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::{QuantizedRows, TileFormat, TileQ5, TileQ8, BLOCK, ROWS_PER_PASS, TILE_ROWS};

    /// How far ahead of the tile being multiplied its successors are prefetched. The hardware
    /// prefetcher alone left one core's stream short of the memory bandwidth: on the 262,144-row output
    /// projection (shared 2-core VM, interleaved runs) 26.9 ms per product without, 23.3 ms at 2 KiB,
    /// 23.5 ms at 8 KiB.
    const PREFETCH_AHEAD: usize = 2048;

    /// What the kernel needs from a tile format: its weights as unsigned bytes, two 4-column groups at
    /// a time.
    pub(super) trait SimdTile: TileFormat {
        /// The column groups (of 4) returned by `weights(tile, pair)`, pair 0..4.
        const PAIRS: [(usize, usize); 4];
        /// Unsigned weight bytes of column groups `PAIRS[pair]`, `[row][4 columns]` each.
        ///
        /// # Safety
        /// AVX-512F/BW must be available.
        unsafe fn weights(tile: &Self, pair: usize) -> (__m512i, __m512i);
        fn scales(&self) -> &[u16; TILE_ROWS];
    }

    impl SimdTile for TileQ8 {
        const PAIRS: [(usize, usize); 4] = [(0, 1), (2, 3), (4, 5), (6, 7)];

        #[inline(always)]
        unsafe fn weights(tile: &Self, pair: usize) -> (__m512i, __m512i) {
            let p = tile.qs.as_ptr().add(pair * 2 * TILE_ROWS * 4);
            (
                _mm512_loadu_si512(p as *const _),
                _mm512_loadu_si512(p.add(TILE_ROWS * 4) as *const _),
            )
        }

        fn scales(&self) -> &[u16; TILE_ROWS] {
            &self.d
        }
    }

    impl SimdTile for TileQ5 {
        const PAIRS: [(usize, usize); 4] = [(0, 4), (1, 5), (2, 6), (3, 7)];

        #[inline(always)]
        unsafe fn weights(tile: &Self, pair: usize) -> (__m512i, __m512i) {
            let nibbles = _mm512_set1_epi8(0x0f);
            let fifth = _mm512_set1_epi8(0x10);
            let raw = _mm512_loadu_si512(tile.qs.as_ptr().add(pair * TILE_ROWS * 4) as *const _);
            let low = _mm512_and_si512(raw, nibbles);
            let high = _mm512_and_si512(_mm512_srli_epi16(raw, 4), nibbles);
            // The fifth bit, one mask bit per byte: a masked add of 16.
            (
                _mm512_mask_add_epi8(low, tile.high[pair], low, fifth),
                _mm512_mask_add_epi8(high, tile.high[pair + 4], high, fifth),
            )
        }

        fn scales(&self) -> &[u16; TILE_ROWS] {
            &self.d
        }
    }

    /// # Safety
    /// The CPU must support AVX-512F/BW/VNNI and F16C; the shapes must have passed `check`.
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni,f16c")]
    pub(super) unsafe fn matmul<T: SimdTile>(
        tiles: &[T],
        n: usize,
        cols: usize,
        x: &QuantizedRows,
        out: &mut [f32],
    ) {
        let mut m0 = 0;
        while m0 < x.rows {
            match (x.rows - m0).min(ROWS_PER_PASS) {
                1 => pass::<T, 1>(tiles, n, cols, x, m0, out),
                2 => pass::<T, 2>(tiles, n, cols, x, m0, out),
                3 => pass::<T, 3>(tiles, n, cols, x, m0, out),
                _ => pass::<T, ROWS_PER_PASS>(tiles, n, cols, x, m0, out),
            }
            m0 += ROWS_PER_PASS;
        }
    }

    /// Activation rows `m0..m0 + MT` against all tiles. Within a block the 8 `vpdpbusd` go to two
    /// independent accumulators so that their latency chain does not serialise a single row.
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni,f16c")]
    unsafe fn pass<T: SimdTile, const MT: usize>(
        tiles: &[T],
        n: usize,
        cols: usize,
        x: &QuantizedRows,
        m0: usize,
        out: &mut [f32],
    ) {
        let blocks = cols / BLOCK;
        let xq = x.q.as_ptr().add(m0 * cols);
        let xd = x.d.as_ptr().add(m0 * blocks);
        let xs = x.sums.as_ptr().add(m0 * blocks);
        let offset = T::OFFSET;
        for (group, group_tiles) in tiles.chunks_exact(blocks).enumerate() {
            let mut acc = [_mm512_setzero_ps(); MT];
            for (b, tile) in group_tiles.iter().enumerate() {
                // Tiles are contiguous, so this covers the tile PREFETCH_AHEAD bytes on; a prefetch
                // past the end of the weights is harmless (it never faults).
                let ahead = (tile as *const T as *const i8).wrapping_add(PREFETCH_AHEAD);
                for line in (0..std::mem::size_of::<T>()).step_by(64) {
                    _mm_prefetch::<_MM_HINT_T0>(ahead.wrapping_add(line));
                }
                let mut even = [_mm512_setzero_si512(); MT];
                let mut odd = [_mm512_setzero_si512(); MT];
                for (pair, &(ga, gb)) in T::PAIRS.iter().enumerate() {
                    let (wa, wb) = T::weights(tile, pair);
                    for m in 0..MT {
                        let a = xq.add(m * cols + b * BLOCK);
                        let aa = _mm512_set1_epi32(std::ptr::read_unaligned(a.add(ga * 4) as *const i32));
                        let ab = _mm512_set1_epi32(std::ptr::read_unaligned(a.add(gb * 4) as *const i32));
                        even[m] = _mm512_dpbusd_epi32(even[m], wa, aa);
                        odd[m] = _mm512_dpbusd_epi32(odd[m], wb, ab);
                    }
                }
                let dw = _mm512_cvtph_ps(_mm256_loadu_si256(tile.scales().as_ptr() as *const __m256i));
                for m in 0..MT {
                    let correction = _mm512_set1_epi32(offset * *xs.add(m * blocks + b));
                    let isum = _mm512_sub_epi32(_mm512_add_epi32(even[m], odd[m]), correction);
                    let scale = _mm512_mul_ps(dw, _mm512_set1_ps(*xd.add(m * blocks + b)));
                    acc[m] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), scale, acc[m]);
                }
            }
            let first = group * TILE_ROWS;
            let valid = TILE_ROWS.min(n - first);
            let mask: __mmask16 = if valid == TILE_ROWS {
                0xffff
            } else {
                (1u16 << valid) - 1
            };
            for (m, a) in acc.iter().enumerate() {
                _mm512_mask_storeu_ps(out.as_mut_ptr().add((m0 + m) * n + first), mask, *a);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Tensor};

    /// A deterministic pseudo-random matrix with a few large values, like Gemma's activations.
    fn values(len: usize, seed: u64) -> Vec<f32> {
        let mut s = seed;
        (0..len)
            .map(|i| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let u = ((s >> 40) as f32 / (1u64 << 24) as f32) - 0.5;
                if i % 97 == 0 {
                    u * 2000.0
                } else {
                    u
                }
            })
            .collect()
    }

    fn packed(rows: usize, cols: usize, dtype: GgmlDType) -> (PackedQ8, Vec<f32>) {
        let w = Tensor::from_vec(values(rows * cols, 7), (rows, cols), &Device::Cpu).expect("tensor");
        let q = QTensor::quantize(&w, dtype).expect("quantize");
        let dense = q
            .dequantize(&Device::Cpu)
            .and_then(|t| t.flatten_all()?.to_vec1::<f32>())
            .expect("dequantize");
        (PackedQ8::from_qtensor(&q).expect("pack"), dense)
    }

    #[test]
    fn rows_round_trip_exactly() {
        // 37 rows: three groups, the last one partly filled.
        for dtype in [GgmlDType::Q8_0, GgmlDType::Q5_0] {
            let (p, dense) = packed(37, 96, dtype);
            assert_eq!(p.dequantize().expect("dequantize"), dense, "{dtype:?}");
        }
    }

    #[test]
    fn fast_kernel_matches_reference() {
        let shapes = [(48, 640, 1), (37, 96, 3), (64, 256, 5), (16, 32, 4)];
        for ((rows, cols, m), dtype) in shapes
            .into_iter()
            .flat_map(|s| [(s, GgmlDType::Q8_0), (s, GgmlDType::Q5_0)])
        {
            let (p, dense) = packed(rows, cols, dtype);
            let x = values(m * cols, 11);
            let xq = QuantizedRows::quantize(&x, cols).expect("quantize");
            let mut fast = vec![0f32; m * rows];
            let mut reference = vec![0f32; m * rows];
            p.matmul(&xq, &mut fast).expect("matmul");
            p.matmul_reference(&xq, &mut reference).expect("matmul");
            for (f, r) in fast.iter().zip(&reference) {
                assert!((f - r).abs() <= 1e-5 * r.abs().max(1.0), "{f} vs {r}");
            }
            // The integer sums are exact: the result is the f32 product of the weights with the
            // dequantized activations, up to float rounding.
            for mi in 0..m {
                let xd: Vec<f32> = (0..cols)
                    .map(|k| f32::from(xq.q[mi * cols + k]) * xq.d[mi * cols / BLOCK + k / BLOCK])
                    .collect();
                for n in 0..rows {
                    let terms = (0..cols).map(|k| xd[k] * dense[n * cols + k]);
                    let exact: f32 = terms.clone().sum();
                    let scale: f32 = terms.map(f32::abs).sum();
                    let got = reference[mi * rows + n];
                    assert!((got - exact).abs() <= 1e-5 * scale + 1e-6, "{got} vs {exact}");
                }
            }
        }
    }

    #[test]
    fn quantize_is_exact_for_small_integers() {
        // Blocks whose largest magnitude is 127 have a scale of exactly 1.
        let x: Vec<f32> = (0..64)
            .map(|i| if i % 32 == 5 { 127.0 } else { (i % 7) as f32 - 3.0 })
            .collect();
        let q = QuantizedRows::quantize(&x, 32).expect("quantize");
        for (b, xb) in x.chunks_exact(32).enumerate() {
            for (i, &v) in xb.iter().enumerate() {
                assert!((f32::from(q.q[b * 32 + i]) * q.d[b] - v).abs() < 1e-6);
            }
        }
        assert_eq!(q.rows(), 2);
        assert!(QuantizedRows::quantize(&x, 48).is_err());
    }

    #[test]
    fn half_conversion() {
        for (bits, v) in [
            (0x3c00u16, 1.0f32),
            (0xc000, -2.0),
            (0x0000, 0.0),
            (0x3555, 0.333_251_95),
        ] {
            assert_eq!(f16_to_f32(bits), v);
        }
        assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24));
        assert_eq!(f16_to_f32(0x8001), -(2f32.powi(-24)));
    }
}
