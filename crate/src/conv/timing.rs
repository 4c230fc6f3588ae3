//! How fast a conv layer runs each way, for `spikeplay bench --products` and the page
//! module's `benchProducts`: the figures that set the event path's threshold per target
//! (`sparse::SPARSE_MAX`).

use super::{backward, dense_forward, sparse, Dims};
use crate::dense::{time_median, ProductTiming};

/// Times a conv layer's forward and weight gradient by the patch matrix ("gemm") and by
/// events ("sparse", the scan for them included) at the hidden-layer shapes of configs E,
/// E2 and F and a range of densities, with the clock `now_ms`. Inputs are spikes (0 or 1) at
/// a fixed pattern; the figures are printed, never asserted.
pub fn product_timings(repeats: usize, now_ms: impl Fn() -> f64) -> Vec<ProductTiming> {
    let mut out = Vec::new();
    // [frames, C, C', H, W]: E's 8-channel layers at 14x14 (T 4 x B 32), E2's 32-channel
    // layer at 14x14 (T 4 x B 64), F's 4-channel layers at 14x14 (T 2 x B 16).
    for (frames, c_in, c_out, h, w) in [(128, 8, 8, 14, 14), (256, 32, 32, 14, 14), (32, 4, 4, 14, 14)] {
        let d = Dims { frames, c_in, c_out, h, w };
        let wt: Vec<f32> = (0..c_out * c_in * 9).map(|i| (i as f32 * 0.11).cos()).collect();
        let b = vec![0f32; c_out];
        let g: Vec<f32> = (0..frames * c_out * h * w).map(|i| (i as f32 * 0.7).sin()).collect();
        let work = d.positions() * d.taps() * c_out;
        for density in [0.02f32, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5] {
            let x: Vec<f32> = (0..frames * c_in * h * w).map(|i| if (i as f32 * 0.618_034).fract() < density { 1.0 } else { 0.0 }).collect();
            let time = |f: &mut dyn FnMut()| time_median(repeats, (1 << 24) / work.max(1) + 1, &now_ms, f);
            let gemm_ms = time(&mut || drop(dense_forward(&x, &wt, &b, &d)));
            let sparse_ms = time(&mut || {
                let events = sparse::events_below(&x, &d, 1.0).expect("no limit");
                drop(sparse::forward(&events, &wt, &b, &d));
            });
            let gemm_grad_ms = time(&mut || drop(backward(&x, &wt, &g, &d, None, false)));
            let sparse_grad_ms = time(&mut || {
                let events = sparse::events_below(&x, &d, 1.0).expect("no limit");
                drop(backward(&x, &wt, &g, &d, Some(&events), false));
            });
            let events = sparse::events(&x, &d);
            let taken = |yes: bool| if yes { "sparse" } else { "gemm" };
            let chosen = taken(events.as_ref().is_some_and(|e| sparse::for_forward(e, x.len(), &d)));
            let chosen_grad = taken(events.as_ref().is_some_and(|e| sparse::for_gradient(e, x.len(), &d)));
            out.push(ProductTiming { layer: "conv3x3", shape: vec![frames, c_in, c_out, h, w], density, gemm_ms, sparse_ms, gemm_grad_ms, sparse_grad_ms, chosen, chosen_grad });
        }
    }
    out
}
