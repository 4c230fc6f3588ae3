//! How fast a dense layer's products run each way, for `spikeplay bench --products` and the
//! page module's `benchProducts`: the figures that set the sparse threshold per target.

use super::{product, sparse, sparse_enough, sparse_enough_forward, transpose};

/// One row of `spikeplay bench --products` (and the page module's `benchProducts`): the
/// three ways of a dense layer's products at one shape and share of non-zero inputs. "gemm"
/// is the dense product [`product`] takes: in the relaxed-SIMD module its own kernel.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ProductTiming {
    /// `"dense"` (`shape` is `[rows, in, out]`) or `"conv3x3"` (`[frames, C, C', H, W]`,
    /// `crate::conv::product_timings`: "gemm" is the patch matrix's products, "sparse" the
    /// event-driven scatter and gather).
    pub layer: &'static str,
    pub shape: Vec<usize>,
    pub density: f32,
    /// `A W^T` by `gemm`, ms.
    pub gemm_ms: f64,
    /// `A W^T` by the sparse rows, the weight's transpose included, ms.
    pub sparse_ms: f64,
    /// `dY^T A` (the weight's gradient) by `gemm` and by the sparse columns, ms.
    pub gemm_grad_ms: f64,
    pub sparse_grad_ms: f64,
    /// Which the layer takes at this shape and density, forward and for the gradient.
    pub chosen: &'static str,
    pub chosen_grad: &'static str,
}

/// Times the products at the shapes of configs B, A/C and D and a range of densities
/// (median of `repeats` readings, each averaging enough calls to span ~16 M multiply-adds,
/// [`time_median`]),
/// with the clock `now_ms`, so the sparse threshold can be read per
/// target. Inputs are spikes (0 or 1) at a fixed pattern; the figures are printed, never
/// asserted.
pub fn product_timings(repeats: usize, now_ms: impl Fn() -> f64) -> Vec<ProductTiming> {
    let mut out = Vec::new();
    for (rows, fan_in, fan_out) in [(1024, 256, 256), (256, 128, 128), (64, 64, 64)] {
        let w: Vec<f32> = (0..fan_in * fan_out).map(|i| (i as f32 * 0.11).cos()).collect();
        let g: Vec<f32> = (0..rows * fan_out).map(|i| (i as f32 * 0.7).sin()).collect();
        for density in [0.01f32, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5] {
            let a: Vec<f32> = (0..rows * fan_in).map(|i| if (i as f32 * 0.618_034).fract() < density { 1.0 } else { 0.0 }).collect();
            let time = |f: &mut dyn FnMut()| time_median(repeats, (1 << 24) / (rows * fan_in * fan_out).max(1) + 1, &now_ms, f);
            let mut y = vec![0f32; rows * fan_out];
            let gemm_ms = time(&mut || product(&mut y, false, (rows, fan_out, fan_in), &a, (fan_in, 1), &w, (1, fan_in)));
            // The sparse timings include finding the non-zeros (once per product, as the layer
            // does) and the forward's transpose of the weight.
            let all = a.len();
            let sparse_ms = time(&mut || {
                let nz = sparse::NonZeros::of(&a, fan_in, all).expect("no limit");
                let wt = transpose(&w, fan_out, fan_in);
                sparse::rows_times(&mut y, &a, &nz, &wt, fan_out);
            });
            let mut dw = vec![0f32; fan_out * fan_in];
            let gemm_grad_ms = time(&mut || product(&mut dw, false, (fan_out, fan_in, rows), &g, (1, fan_out), &a, (fan_in, 1)));
            let sparse_grad_ms = time(&mut || {
                let nz = sparse::NonZeros::of(&a, fan_in, all).expect("no limit");
                dw = transpose(&sparse::columns_times(&a, &nz, &g, fan_out), fan_in, fan_out)
            });
            let taken = |sparse: bool| if sparse { "sparse" } else { "gemm" };
            let (chosen, chosen_grad) = (taken(sparse_enough_forward(&a, rows, fan_in).is_some()), taken(sparse_enough(&a, rows, fan_in).is_some()));
            out.push(ProductTiming { layer: "dense", shape: vec![rows, fan_in, fan_out], density, gemm_ms, sparse_ms, gemm_grad_ms, sparse_grad_ms, chosen, chosen_grad });
        }
    }
    out
}

/// The median over `repeats` readings of `f`'s time in ms, each reading averaging `inner`
/// calls (small products run several times per reading: a browser worker's clock ticks in
/// 0.1 ms), after one untimed call.
pub fn time_median(repeats: usize, inner: usize, now_ms: &impl Fn() -> f64, f: &mut dyn FnMut()) -> f64 {
    f();
    let mut ms: Vec<f64> = (0..repeats.max(1))
        .map(|_| {
            let t = now_ms();
            for _ in 0..inner {
                f();
            }
            (now_ms() - t) / inner as f64
        })
        .collect();
    ms.sort_by(f64::total_cmp);
    ms[ms.len() / 2]
}

/// A markdown table of [`product_timings`] (and `crate::conv::product_timings`).
pub fn product_table(timings: &[ProductTiming]) -> String {
    let mut out = String::from("| layer | shape | non-zeros | forward gemm ms | sparse ms | taken | weight gradient gemm ms | sparse ms | taken |\n|---|---|---|---|---|---|---|---|---|\n");
    for t in timings {
        let shape = t.shape.iter().map(|v| v.to_string()).collect::<Vec<_>>().join(" x ");
        out += &format!(
            "| {} | {shape} | {:.0} % | {:.3} | {:.3} | {} | {:.3} | {:.3} | {} |\n",
            t.layer,
            t.density * 100.0,
            t.gemm_ms,
            t.sparse_ms,
            t.chosen,
            t.gemm_grad_ms,
            t.sparse_grad_ms,
            t.chosen_grad
        );
    }
    out
}
