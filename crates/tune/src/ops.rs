//! The two custom autograd operations that make LoRA training of Gemma affordable on a CPU.
//!
//! - [`frozen_linear`]: `y = x Wᵀ` for a frozen weight `W`. candle's matmul backward always computes the
//!   gradient of *both* operands, so with a plain matmul every step would also compute (and then drop)
//!   a gradient for each of the 126 frozen projection matrices: measured before on this machine,
//!   29 s and 8.5 GB per step of 4×128 tokens instead of 13.7 s and 3.7 GB. As a
//!   [`candle_core::CustomOp1`] over `x` alone, the weight is not an operand of the graph and the
//!   backward returns only `∂L/∂x = ∂L/∂y · W`.
//! - [`token_log_probs`]: `log p(target | hidden)` through the tied output projection, in chunks of
//!   [`LOGIT_CHUNK_ROWS`] rows. Gemma's vocabulary has 262,144 tokens: the logits of 512 positions
//!   would be 537 MB, and a graph through `log_softmax` keeps several such tensors alive until the
//!   backward pass. Here each chunk's logits live only inside the forward call, and the gradient with
//!   respect to the hidden states, `E[target] − softmax(h Eᵀ) E`, is computed in the same pass and kept
//!   (`[rows, hidden]`, a few hundred KB) for the backward.
//!
//! Both run on candle tensors inside the op (one copy of the activations in and out, negligible beside
//! the matmuls) and accept f32 or f64 (f64 is what the finite-difference gradient check uses).

use std::sync::Mutex;

use candle_core::{bail, CpuStorage, CustomOp1, DType, Device, Layout, Shape, Tensor, D};

/// Rows of the output projection computed at once in [`token_log_probs`]: 32 × 262,144 f32 logits are
/// 34 MB, and the softmax and its product with the embedding need about three such buffers.
pub const LOGIT_CHUNK_ROWS: usize = 32;

/// Copies a (contiguous) CPU storage into a fresh tensor that records no graph.
fn storage_to_tensor(storage: &CpuStorage, layout: &Layout) -> candle_core::Result<Tensor> {
    let Some((start, end)) = layout.contiguous_offsets() else {
        bail!("custom training op: input must be contiguous")
    };
    let shape = layout.shape().clone();
    match storage {
        CpuStorage::F32(v) => Tensor::from_slice(&v[start..end], shape, &Device::Cpu),
        CpuStorage::F64(v) => Tensor::from_slice(&v[start..end], shape, &Device::Cpu),
        _ => bail!("custom training op: only f32 and f64 are supported"),
    }
}

fn tensor_to_storage(t: &Tensor) -> candle_core::Result<(CpuStorage, Shape)> {
    let shape = t.shape().clone();
    let flat = t.flatten_all()?;
    let storage = match t.dtype() {
        DType::F32 => CpuStorage::F32(flat.to_vec1()?),
        DType::F64 => CpuStorage::F64(flat.to_vec1()?),
        other => bail!("custom training op: unsupported dtype {other:?}"),
    };
    Ok((storage, shape))
}

/// `x Wᵀ` with a frozen `W` (`[out, in]`), differentiable in `x` only.
struct FrozenLinear {
    weight: Tensor,
}

impl FrozenLinear {
    fn dims(&self) -> candle_core::Result<(usize, usize)> {
        self.weight.dims2()
    }
}

impl CustomOp1 for FrozenLinear {
    fn name(&self) -> &'static str {
        "frozen-linear"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let (out, inp) = self.dims()?;
        let x = storage_to_tensor(storage, layout)?;
        let mut dims = x.dims().to_vec();
        if dims.last() != Some(&inp) {
            bail!("frozen-linear: input {:?} does not end in {inp}", dims)
        }
        let rows = x.elem_count() / inp.max(1);
        let y = x.reshape((rows, inp))?.matmul(&self.weight.t()?)?;
        if let Some(last) = dims.last_mut() {
            *last = out;
        }
        tensor_to_storage(&y.reshape(dims)?)
    }

    fn bwd(&self, arg: &Tensor, _res: &Tensor, grad_res: &Tensor) -> candle_core::Result<Option<Tensor>> {
        let (out, _) = self.dims()?;
        let rows = grad_res.elem_count() / out.max(1);
        let g = grad_res.reshape((rows, out))?.matmul(&self.weight)?;
        Ok(Some(g.reshape(arg.shape())?))
    }
}

/// `x Wᵀ` for a frozen weight `w` (`[out, in]`, contiguous) and `x` of shape `[.., in]`. The backward
/// pass gives `x` its gradient and never computes one for `w` (see the module docs for why).
pub fn frozen_linear(x: &Tensor, w: &Tensor) -> candle_core::Result<Tensor> {
    x.contiguous()?.apply_op1(FrozenLinear { weight: w.clone() })
}

/// Per-row `log softmax(h Eᵀ)[target]`, chunked, with its gradient computed during the forward.
struct TokenLogProbs {
    embedding: Tensor,
    targets: Vec<u32>,
    /// `∂ logp_i / ∂ h_i` for every row, when a gradient was asked for.
    grad: Mutex<Option<Tensor>>,
    with_grad: bool,
}

impl CustomOp1 for TokenLogProbs {
    fn name(&self) -> &'static str {
        "token-log-probs"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let h = storage_to_tensor(storage, layout)?;
        let (rows, _) = h.dims2()?;
        if rows != self.targets.len() {
            bail!("token-log-probs: {rows} rows for {} targets", self.targets.len())
        }
        let e_t = self.embedding.t()?;
        let mut logps = Vec::with_capacity(rows.div_ceil(LOGIT_CHUNK_ROWS));
        let mut grads = Vec::new();
        let mut r0 = 0;
        while r0 < rows {
            let n = LOGIT_CHUNK_ROWS.min(rows - r0);
            let hc = h.narrow(0, r0, n)?;
            let targets = Tensor::from_slice(&self.targets[r0..r0 + n], n, &Device::Cpu)?;
            let logits = hc.matmul(&e_t)?; // [n, vocab]
            let max = logits.max_keepdim(D::Minus1)?;
            let exp = logits.broadcast_sub(&max)?.exp()?;
            let sum = exp.sum_keepdim(D::Minus1)?;
            let lse = (sum.log()? + &max)?;
            let target_logit = logits.gather(&targets.unsqueeze(1)?, 1)?;
            logps.push((target_logit - lse)?.squeeze(1)?);
            if self.with_grad {
                let probs = exp.broadcast_div(&sum)?;
                let expected = probs.matmul(&self.embedding)?; // [n, hidden]
                grads.push((self.embedding.index_select(&targets, 0)? - expected)?);
            }
            r0 += n;
        }
        if self.with_grad {
            let g = Tensor::cat(&grads, 0)?;
            match self.grad.lock() {
                Ok(mut slot) => *slot = Some(g),
                Err(_) => bail!("token-log-probs: gradient slot poisoned"),
            }
        }
        tensor_to_storage(&Tensor::cat(&logps, 0)?)
    }

    fn bwd(&self, _arg: &Tensor, _res: &Tensor, grad_res: &Tensor) -> candle_core::Result<Option<Tensor>> {
        let g = match self.grad.lock() {
            Ok(slot) => slot.clone(),
            Err(_) => bail!("token-log-probs: gradient slot poisoned"),
        };
        let Some(g) = g else {
            bail!("token-log-probs: backward through a pass run without gradient")
        };
        Ok(Some(g.broadcast_mul(&grad_res.unsqueeze(1)?)?))
    }
}

/// `log p(targets[i] | hidden[i])` under the output projection `embedding` (`[vocab, hidden]`, tied),
/// for `hidden` of shape `[rows, hidden]`; returns `[rows]`. Never holds more than
/// [`LOGIT_CHUNK_ROWS`] rows of logits. With `with_grad`, the forward also computes the gradient with
/// respect to `hidden` (about twice the work) so the result can be back-propagated; without it the
/// result must not be differentiated (reference and evaluation passes).
pub fn token_log_probs(
    hidden: &Tensor,
    embedding: &Tensor,
    targets: &[u32],
    with_grad: bool,
) -> candle_core::Result<Tensor> {
    let op = TokenLogProbs {
        embedding: embedding.clone(),
        targets: targets.to_vec(),
        grad: Mutex::new(None),
        with_grad,
    };
    if with_grad {
        hidden.contiguous()?.apply_op1(op)
    } else {
        hidden.contiguous()?.apply_op1_no_bwd(&op)
    }
}

/// The same quantity as [`token_log_probs`] through candle's own graph (full logits, `log_softmax`,
/// `gather`): the reference the chunked op is tested against. Only for small vocabularies.
pub fn naive_token_log_probs(
    hidden: &Tensor,
    embedding: &Tensor,
    targets: &[u32],
) -> candle_core::Result<Tensor> {
    let logits = hidden.matmul(&embedding.t()?)?;
    let logp = candle_nn::ops::log_softmax(&logits, D::Minus1)?;
    let idx = Tensor::from_slice(targets, (targets.len(), 1), &Device::Cpu)?;
    logp.gather(&idx, 1)?.squeeze(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Var;

    fn randn(shape: &[usize], seed: u64) -> Tensor {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let n: usize = shape.iter().product();
        let v: Vec<f64> = (0..n).map(|_| rng.random_range(-1.0..1.0)).collect();
        Tensor::from_vec(v, shape, &Device::Cpu).unwrap()
    }

    #[test]
    fn frozen_linear_matches_matmul_and_gives_no_weight_gradient() {
        let x = Var::from_tensor(&randn(&[2, 3, 5], 1)).unwrap();
        let w = randn(&[4, 5], 2);
        let y = frozen_linear(x.as_tensor(), &w).unwrap();
        let plain = x.as_tensor().broadcast_matmul(&w.t().unwrap()).unwrap();
        let diff = (&y - &plain).unwrap().abs().unwrap().max_all().unwrap();
        assert!(diff.to_scalar::<f64>().unwrap() < 1e-12);

        // Weight as a variable too: the op must leave it without a gradient, and x's gradient must
        // equal the plain matmul's.
        let wv = Var::from_tensor(&w).unwrap();
        let y = frozen_linear(x.as_tensor(), wv.as_tensor()).unwrap();
        let grads = y.sqr().unwrap().sum_all().unwrap().backward().unwrap();
        assert!(
            grads.get(wv.as_tensor()).is_none(),
            "frozen weight got a gradient"
        );
        let gx = grads.get(x.as_tensor()).unwrap().clone();
        let plain = x
            .as_tensor()
            .broadcast_matmul(&wv.as_tensor().t().unwrap())
            .unwrap();
        let plain_grads = plain.sqr().unwrap().sum_all().unwrap().backward().unwrap();
        assert!(
            plain_grads.get(wv.as_tensor()).is_some(),
            "candle's matmul computes it"
        );
        let gd = (gx - plain_grads.get(x.as_tensor()).unwrap()).unwrap();
        assert!(gd.abs().unwrap().max_all().unwrap().to_scalar::<f64>().unwrap() < 1e-12);
    }

    #[test]
    fn chunked_log_probs_equal_naive_values_and_gradients() {
        // More rows than one chunk, so chunk boundaries are exercised.
        let rows = LOGIT_CHUNK_ROWS + 7;
        let (vocab, hidden) = (50, 6);
        let h = Var::from_tensor(&randn(&[rows, hidden], 3)).unwrap();
        let e = randn(&[vocab, hidden], 4);
        let targets: Vec<u32> = (0..rows).map(|i| ((i * 7 + 3) % vocab) as u32).collect();
        let weights = randn(&[rows], 5);

        let fast = token_log_probs(h.as_tensor(), &e, &targets, true).unwrap();
        let naive = naive_token_log_probs(h.as_tensor(), &e, &targets).unwrap();
        let d = (&fast - &naive).unwrap().abs().unwrap().max_all().unwrap();
        assert!(d.to_scalar::<f64>().unwrap() < 1e-10);

        let g_fast = (fast * &weights).unwrap().sum_all().unwrap().backward().unwrap();
        let g_naive = (naive * &weights).unwrap().sum_all().unwrap().backward().unwrap();
        let d = (g_fast.get(h.as_tensor()).unwrap() - g_naive.get(h.as_tensor()).unwrap()).unwrap();
        assert!(d.abs().unwrap().max_all().unwrap().to_scalar::<f64>().unwrap() < 1e-10);

        let no_grad = token_log_probs(h.as_tensor(), &e, &targets, false).unwrap();
        let d = (&no_grad - token_log_probs(h.as_tensor(), &e, &targets, true).unwrap()).unwrap();
        assert!(d.abs().unwrap().max_all().unwrap().to_scalar::<f64>().unwrap() < 1e-12);
    }
}
