//! Times the packed int8 matrix-vector product at the output projection's shape (262,144 × 640).
use std::time::Instant;

use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{Device, Tensor};
use sprout_gemma::int8::{PackedQ8, QuantizedRows};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rows: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(262_144);
    let cols = 640usize;
    let w: Vec<f32> = (0..rows * cols)
        .map(|i| ((i * 7919) % 255) as f32 - 127.0)
        .collect();
    let q = QTensor::quantize(&Tensor::from_vec(w, (rows, cols), &Device::Cpu)?, GgmlDType::Q8_0)?;
    let p = PackedQ8::from_qtensor(&q)?;
    drop(q);
    let x: Vec<f32> = (0..cols).map(|i| (i as f32).sin()).collect();
    let xq = QuantizedRows::quantize(&x, cols)?;
    let mut out = vec![0f32; rows];
    for _ in 0..3 {
        p.matmul(&xq, &mut out)?;
    }
    let n = 20;
    let t = Instant::now();
    for _ in 0..n {
        p.matmul(&xq, &mut out)?;
    }
    let secs = t.elapsed().as_secs_f64() / n as f64;
    println!(
        "fast: {:.2} ms per product, {:.1} GB/s",
        secs * 1e3,
        p.size_in_bytes() as f64 / secs / 1e9
    );
    let t = Instant::now();
    p.matmul_reference(&xq, &mut out)?;
    println!("reference: {:.2} ms", t.elapsed().as_secs_f64() * 1e3);
    Ok(())
}
