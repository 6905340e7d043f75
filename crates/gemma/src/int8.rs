//! Int8 matrix products for Q8_0 weights: the weights repacked into 16-row tiles, multiplied by
//! activations quantized to int8 in blocks of 32, with AVX-512 VNNI where the CPU has it and a portable
//! loop (the reference the fast path is tested against) elsewhere.
//!
//! Why not candle's kernels: at one token per step the model is bound by how many weight bytes it
//! streams, and 60% of them are the 262,144-row tied embedding used as the output projection. candle's
//! Q8_0 VNNI kernel needs 256-column multiples, so Gemma's 640 columns had to be zero-padded to 768
//! (20% more bytes to stream) and candle then kept a second, repacked copy beside the original (about
//! 700 MB resident). Here the 640 columns are packed once, with no padding and no second copy, and the
//! activations are quantized per 32 values (as llama.cpp does for Q8_0) instead of per 256, which also
//! keeps more precision for Gemma's very large residual values.
//!
//! Layout: rows are grouped by 16; for each group and each 32-column block, one [`Tile`] holds the 16
//! rows' f16 scales and their 32 weights each, offset by +128 into `u8` and interleaved as
//! `[4-column group][row][4 columns]`, so that one `vpdpbusd` multiplies 4 columns of all 16 rows by the
//! same 4 activation bytes. The +128 offset (VNNI multiplies unsigned by signed bytes) is removed exactly
//! with the block's activation sum: `Σ (w + 128)·a − 128·Σ a = Σ w·a`.
#![allow(unsafe_code)]

use candle_core::quantized::{GgmlDType, QTensor};

use crate::error::{GemmaError, Result};

/// Rows per tile: one 512-bit register of i32 accumulators.
pub(crate) const TILE_ROWS: usize = 16;
/// Columns per block (Q8_0's block size): one scale per row and block.
pub(crate) const BLOCK: usize = 32;
/// Bytes of one Q8_0 block in GGUF: an f16 scale and 32 signed bytes.
pub(crate) const Q8_0_BLOCK_BYTES: usize = 2 + BLOCK;
/// Activation rows multiplied against each tile while it is in registers (prompts, scored texts).
const ROWS_PER_PASS: usize = 4;

/// One 32-column block of 16 rows.
#[derive(Clone, Copy)]
#[repr(C)]
struct Tile {
    /// The rows' scales, as f16 bits (converted by the kernel; the values are exactly the file's).
    d: [u16; TILE_ROWS],
    /// Weights + 128, `[column / 4][row][column % 4]`.
    qs: [u8; BLOCK * TILE_ROWS],
}

const ZERO_TILE: Tile = Tile {
    d: [0; TILE_ROWS],
    qs: [128; BLOCK * TILE_ROWS],
};

/// A Q8_0 matrix `[rows, cols]` repacked for [`PackedQ8::matmul`] and row lookups.
pub struct PackedQ8 {
    rows: usize,
    cols: usize,
    /// `[row group][block]`; the last group is filled with zero rows.
    tiles: Vec<Tile>,
}

impl std::fmt::Debug for PackedQ8 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PackedQ8")
            .field("rows", &self.rows)
            .field("cols", &self.cols)
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
                // |x · inv| <= 127 by construction, so the cast cannot saturate.
                *qv = (xv * inv).round() as i8;
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

impl PackedQ8 {
    /// Packs a Q8_0 tensor `[rows, cols]`.
    pub fn from_qtensor(t: &QTensor) -> Result<Self> {
        let (rows, cols) = t.shape().dims2()?;
        if t.dtype() != GgmlDType::Q8_0 {
            return Err(shape_error(format!("{:?} is not Q8_0", t.dtype())));
        }
        let data = t.data()?;
        Self::from_q8_0_rows(rows, cols, |r, dst| {
            let row_bytes = cols / BLOCK * Q8_0_BLOCK_BYTES;
            dst.copy_from_slice(&data[r * row_bytes..(r + 1) * row_bytes]);
            Ok(())
        })
    }

    /// Packs a Q8_0 matrix whose GGUF-layout rows (`cols / 32` blocks of 34 bytes) are supplied in order
    /// by `read_row(row, buffer)`, so a caller can stream them from a file without holding the whole
    /// unpacked matrix.
    pub(crate) fn from_q8_0_rows(
        rows: usize,
        cols: usize,
        mut read_row: impl FnMut(usize, &mut [u8]) -> Result<()>,
    ) -> Result<Self> {
        if cols == 0 || !cols.is_multiple_of(BLOCK) {
            return Err(shape_error(format!(
                "{cols} columns is not a multiple of {BLOCK}"
            )));
        }
        let blocks = cols / BLOCK;
        let row_bytes = blocks * Q8_0_BLOCK_BYTES;
        let groups = rows.div_ceil(TILE_ROWS);
        let mut tiles = vec![ZERO_TILE; groups * blocks];
        let mut row = vec![0u8; row_bytes];
        for r in 0..rows {
            read_row(r, &mut row)?;
            let (group, lane) = (r / TILE_ROWS, r % TILE_ROWS);
            let group_tiles = &mut tiles[group * blocks..(group + 1) * blocks];
            for (tile, block) in group_tiles.iter_mut().zip(row.chunks_exact(Q8_0_BLOCK_BYTES)) {
                tile.d[lane] = u16::from_le_bytes([block[0], block[1]]);
                for (c, &byte) in block[2..].iter().enumerate() {
                    let w = byte as i8;
                    tile.qs[(c / 4 * TILE_ROWS + lane) * 4 + c % 4] = (i16::from(w) + 128) as u8;
                }
            }
        }
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
        self.tiles.len() * std::mem::size_of::<Tile>()
    }

    /// Row `row` dequantized into `out` (`cols` values): the embedding lookup. Exact (f16 scale × int8).
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
        for (tile, dst) in self.tiles[group * blocks..(group + 1) * blocks]
            .iter()
            .zip(out.chunks_exact_mut(BLOCK))
        {
            let d = f16_to_f32(tile.d[lane]);
            for (c, v) in dst.iter_mut().enumerate() {
                let w = i32::from(tile.qs[(c / 4 * TILE_ROWS + lane) * 4 + c % 4]) - 128;
                *v = d * w as f32;
            }
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
            unsafe { x86::matmul(self, x, out) };
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
        let blocks = self.cols / BLOCK;
        for m in 0..x.rows {
            let out_row = &mut out[m * self.rows..(m + 1) * self.rows];
            let xq = &x.q[m * self.cols..(m + 1) * self.cols];
            for (group, group_tiles) in self.tiles.chunks_exact(blocks).enumerate() {
                let mut acc = [0f32; TILE_ROWS];
                for (b, tile) in group_tiles.iter().enumerate() {
                    let xb = &xq[b * BLOCK..(b + 1) * BLOCK];
                    let mut isum = [0i32; TILE_ROWS];
                    for (c4, chunk) in tile.qs.chunks_exact(TILE_ROWS * 4).enumerate() {
                        for (lane, w4) in chunk.chunks_exact(4).enumerate() {
                            isum[lane] += w4
                                .iter()
                                .zip(&xb[c4 * 4..c4 * 4 + 4])
                                .map(|(&w, &a)| i32::from(w) * i32::from(a))
                                .sum::<i32>();
                        }
                    }
                    let xd = x.d[m * blocks + b];
                    let correction = 128 * x.sums[m * blocks + b];
                    for lane in 0..TILE_ROWS {
                        let scale = f16_to_f32(tile.d[lane]) * xd;
                        acc[lane] += (isum[lane] - correction) as f32 * scale;
                    }
                }
                let first = group * TILE_ROWS;
                let n = TILE_ROWS.min(self.rows - first);
                out_row[first..first + n].copy_from_slice(&acc[..n]);
            }
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

    use super::{PackedQ8, QuantizedRows, Tile, BLOCK, ROWS_PER_PASS, TILE_ROWS};

    /// # Safety
    /// The CPU must support AVX-512F/BW/VNNI and F16C; `x`, `out` and `w` must have passed `check`.
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni,f16c")]
    pub(super) unsafe fn matmul(w: &PackedQ8, x: &QuantizedRows, out: &mut [f32]) {
        let mut m0 = 0;
        while m0 < x.rows {
            match (x.rows - m0).min(ROWS_PER_PASS) {
                1 => pass::<1>(w, x, m0, out),
                2 => pass::<2>(w, x, m0, out),
                3 => pass::<3>(w, x, m0, out),
                _ => pass::<ROWS_PER_PASS>(w, x, m0, out),
            }
            m0 += ROWS_PER_PASS;
        }
    }

    /// Activation rows `m0..m0 + MT` against all tiles. Within a block the 8 `vpdpbusd` go to two
    /// independent accumulators so that their latency chain does not serialise a single row.
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni,f16c")]
    unsafe fn pass<const MT: usize>(w: &PackedQ8, x: &QuantizedRows, m0: usize, out: &mut [f32]) {
        let blocks = w.cols / BLOCK;
        let n = w.rows;
        let xq = x.q.as_ptr().add(m0 * w.cols);
        let xd = x.d.as_ptr().add(m0 * blocks);
        let xs = x.sums.as_ptr().add(m0 * blocks);
        for (group, tiles) in w.tiles.chunks_exact(blocks).enumerate() {
            let mut acc = [_mm512_setzero_ps(); MT];
            for (b, tile) in tiles.iter().enumerate() {
                let t: *const Tile = tile;
                let qs = (*t).qs.as_ptr();
                let mut even = [_mm512_setzero_si512(); MT];
                let mut odd = [_mm512_setzero_si512(); MT];
                for c4 in (0..BLOCK / 4).step_by(2) {
                    let w0 = _mm512_loadu_si512(qs.add(c4 * TILE_ROWS * 4) as *const _);
                    let w1 = _mm512_loadu_si512(qs.add((c4 + 1) * TILE_ROWS * 4) as *const _);
                    for m in 0..MT {
                        let a = xq.add(m * w.cols + b * BLOCK + c4 * 4);
                        let a0 = _mm512_set1_epi32(std::ptr::read_unaligned(a as *const i32));
                        let a1 = _mm512_set1_epi32(std::ptr::read_unaligned(a.add(4) as *const i32));
                        even[m] = _mm512_dpbusd_epi32(even[m], w0, a0);
                        odd[m] = _mm512_dpbusd_epi32(odd[m], w1, a1);
                    }
                }
                let dw = _mm512_cvtph_ps(_mm256_loadu_si256((*t).d.as_ptr() as *const __m256i));
                for m in 0..MT {
                    let correction = _mm512_set1_epi32(128 * *xs.add(m * blocks + b));
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

    fn packed(rows: usize, cols: usize) -> (PackedQ8, Vec<f32>) {
        let w = Tensor::from_vec(values(rows * cols, 7), (rows, cols), &Device::Cpu).expect("tensor");
        let q = QTensor::quantize(&w, GgmlDType::Q8_0).expect("quantize");
        let dense = q
            .dequantize(&Device::Cpu)
            .and_then(|t| t.flatten_all()?.to_vec1::<f32>())
            .expect("dequantize");
        (PackedQ8::from_qtensor(&q).expect("pack"), dense)
    }

    #[test]
    fn rows_round_trip_exactly() {
        // 37 rows: three groups, the last one partly filled.
        let (p, dense) = packed(37, 96);
        assert_eq!(p.dequantize().expect("dequantize"), dense);
    }

    #[test]
    fn fast_kernel_matches_reference() {
        for (rows, cols, m) in [(48, 640, 1), (37, 96, 3), (64, 256, 5), (16, 32, 4)] {
            let (p, dense) = packed(rows, cols);
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
