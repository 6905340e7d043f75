//! The two custom autograd operations that make LoRA training of Gemma affordable on a CPU.
//!
//! - [`frozen_linear`]: `y = x Wᵀ` for a frozen weight `W`. candle's matmul backward always computes the
//!   gradient of *both* operands, so with a plain matmul every step would also compute (and then drop)
//!   a gradient for each of the 126 frozen projection matrices: measured before on this machine,
//!   29 s and 8.5 GB per step of 4×128 tokens instead of 13.7 s and 3.7 GB. Here the weight is not an
//!   operand of the graph and the backward returns only `∂L/∂x = ∂L/∂y · W`.
//! - [`token_log_probs`]: `log p(target | hidden)` through the tied output projection, in chunks of
//!   [`LOGIT_CHUNK_ROWS`] rows. Gemma's vocabulary has 262,144 tokens: the logits of 512 positions
//!   would be 537 MB, and a graph through `log_softmax` keeps several such tensors alive until the
//!   backward pass. Here each chunk's logits live only inside the forward call, and the gradient with
//!   respect to the hidden states, `E[target] − softmax(h Eᵀ) E`, is computed in the same pass and kept
//!   (`[rows, hidden]`, a few hundred KB) for the backward.
//!
//! Both are computed with ordinary candle tensor operations on their detached input, on
//! whichever device the tensors live (CPU, or an NVIDIA GPU with the `cuda` feature), and then tied
//! back into the graph by one small custom operation (`WithGradient`) whose forward only copies the
//! value and whose backward applies the known gradient. They accept f32 or f64 (f64 is what the
//! finite-difference gradient check uses).

use candle_core::backend::BackendStorage;
use candle_core::{bail, CpuStorage, CustomOp2, Layout, Shape, Tensor, D};

/// Rows of the output projection computed at once in [`token_log_probs`]: 32 × 262,144 f32 logits are
/// 34 MB, and the softmax and its product with the embedding need about three such buffers.
pub const LOGIT_CHUNK_ROWS: usize = 32;

type Backward = Box<dyn Fn(&Tensor) -> candle_core::Result<Tensor> + Send + Sync>;

/// `value` (computed without a graph) as a function of `input`: the forward copies `value`, the
/// backward gives `input` the gradient `backward(∂L/∂value)` and `value` none.
struct WithGradient {
    name: &'static str,
    backward: Backward,
}

/// A copy of a contiguous storage that starts at offset 0 (what every op here produces).
fn copy_value<S: BackendStorage>(s: &S, l: &Layout, name: &str) -> candle_core::Result<(S, Shape)> {
    if !l.is_contiguous() || l.start_offset() != 0 {
        bail!("{name}: value must be contiguous from offset 0")
    }
    Ok((s.try_clone(l)?, l.shape().clone()))
}

impl CustomOp2 for WithGradient {
    fn name(&self) -> &'static str {
        self.name
    }

    fn cpu_fwd(
        &self,
        _: &CpuStorage,
        _: &Layout,
        value: &CpuStorage,
        layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        copy_value(value, layout, self.name)
    }

    #[cfg(feature = "cuda")]
    fn cuda_fwd(
        &self,
        _: &candle_core::CudaStorage,
        _: &Layout,
        value: &candle_core::CudaStorage,
        layout: &Layout,
    ) -> candle_core::Result<(candle_core::CudaStorage, Shape)> {
        copy_value(value, layout, self.name)
    }

    fn bwd(
        &self,
        _input: &Tensor,
        _value: &Tensor,
        _res: &Tensor,
        grad_res: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        Ok((Some((self.backward)(grad_res)?), None))
    }
}

/// Ties `value` (same shape as the result) to `input` in the graph, with `backward` as its gradient.
fn with_gradient(
    input: &Tensor,
    value: &Tensor,
    name: &'static str,
    backward: Backward,
) -> candle_core::Result<Tensor> {
    input.apply_op2(&value.contiguous()?, WithGradient { name, backward })
}

/// `x Wᵀ` for a frozen weight `w` (`[out, in]`, contiguous) and `x` of shape `[.., in]`. The backward
/// pass gives `x` its gradient and never computes one for `w` (see the module docs for why).
pub fn frozen_linear(x: &Tensor, w: &Tensor) -> candle_core::Result<Tensor> {
    let (out, inp) = w.dims2()?;
    let mut dims = x.dims().to_vec();
    if dims.last() != Some(&inp) {
        bail!("frozen-linear: input {:?} does not end in {inp}", dims)
    }
    let rows = x.elem_count() / inp.max(1);
    let weight = w.detach();
    let y = x
        .detach()
        .contiguous()?
        .reshape((rows, inp))?
        .matmul(&weight.t()?)?;
    if let Some(last) = dims.last_mut() {
        *last = out;
    }
    let y = y.reshape(dims)?;
    if !x.track_op() {
        return Ok(y);
    }
    let x_shape = x.shape().clone();
    let backward: Backward = Box::new(move |g: &Tensor| {
        let rows = g.elem_count() / out.max(1);
        g.reshape((rows, out))?.matmul(&weight)?.reshape(x_shape.clone())
    });
    with_gradient(x, &y, "frozen-linear", backward)
}

/// `log p(targets[i] | hidden[i])` under the output projection `embedding` (`[vocab, hidden]`, tied),
/// for `hidden` of shape `[rows, hidden]`; returns `[rows]`. Never holds more than
/// [`LOGIT_CHUNK_ROWS`] rows of logits. With `with_grad`, the forward also computes the gradient with
/// respect to `hidden` (about twice the work) so the result can be back-propagated; without it the
/// result carries no graph (reference and evaluation passes).
pub fn token_log_probs(
    hidden: &Tensor,
    embedding: &Tensor,
    targets: &[u32],
    with_grad: bool,
) -> candle_core::Result<Tensor> {
    let h = hidden.detach().contiguous()?;
    let embedding = &embedding.detach();
    let (rows, _) = h.dims2()?;
    if rows != targets.len() {
        bail!("token-log-probs: {rows} rows for {} targets", targets.len())
    }
    let e_t = embedding.t()?;
    let mut logps = Vec::with_capacity(rows.div_ceil(LOGIT_CHUNK_ROWS));
    let mut grads = Vec::new();
    let mut r0 = 0;
    while r0 < rows {
        let n = LOGIT_CHUNK_ROWS.min(rows - r0);
        let hc = h.narrow(0, r0, n)?;
        let idx = Tensor::from_slice(&targets[r0..r0 + n], n, h.device())?;
        let logits = hc.matmul(&e_t)?; // [n, vocab]
        let max = logits.max_keepdim(D::Minus1)?;
        let exp = logits.broadcast_sub(&max)?.exp()?;
        let sum = exp.sum_keepdim(D::Minus1)?;
        let lse = (sum.log()? + &max)?;
        let target_logit = logits.gather(&idx.unsqueeze(1)?, 1)?;
        logps.push((target_logit - lse)?.squeeze(1)?);
        if with_grad {
            let probs = exp.broadcast_div(&sum)?;
            let expected = probs.matmul(embedding)?; // [n, hidden]
            grads.push((embedding.index_select(&idx, 0)? - expected)?);
        }
        r0 += n;
    }
    let logps = Tensor::cat(&logps, 0)?;
    if !with_grad {
        return Ok(logps);
    }
    // `∂ logp_i / ∂ h_i` for every row, `[rows, hidden]`: a few hundred KB.
    let grad = Tensor::cat(&grads, 0)?;
    let backward: Backward = Box::new(move |g: &Tensor| grad.broadcast_mul(&g.unsqueeze(1)?));
    with_gradient(hidden, &logps, "token-log-probs", backward)
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
    let idx = Tensor::from_slice(targets, (targets.len(), 1), hidden.device())?;
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
        Tensor::from_vec(v, shape, &candle_core::Device::Cpu).unwrap()
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
