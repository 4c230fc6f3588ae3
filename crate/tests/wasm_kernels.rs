//! The dense and conv layers' products in the wasm builds, in headless Chromium, against candle's
//! matmul: the baseline build takes `gemm`'s kernel, the relaxed-SIMD build
//! (`+relaxed-simd`, which the page loads where the browser has it) its own
//! (`crate/src/dense/relaxed.rs`). scripts/test-web.sh runs this file in both builds.
//! Natively the same op is held to candle by `dense`'s unit tests.
#![cfg(target_arch = "wasm32")]

use candle_core::{Device, Tensor, Var};
use spikeplay::dense::{dense, product_row_major};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// The build under test is the one scripts/test-web.sh asked for
/// (`SPIKEPLAY_WASM_BUILD=relaxed` when it builds with `+relaxed-simd`), so the second run
/// cannot quietly test the baseline build again.
#[wasm_bindgen_test]
fn is_the_build_asked_for() {
    let asked = option_env!("SPIKEPLAY_WASM_BUILD").unwrap_or("baseline");
    let built = if cfg!(target_feature = "relaxed-simd") { "relaxed" } else { "baseline" };
    assert_eq!(built, asked, "SPIKEPLAY_WASM_BUILD={asked} but this is the {built} build");
}

/// Forward and all three gradients, of dense inputs (no zeros: the products) at shapes that
/// fill the relaxed kernel's 3 x 12 blocks, leave edge rows (one or two) and column panels
/// (8, 4 and single columns), or have no full block at all, and of spikes (8 % ones: the sparse loops, four lanes at a time and the
/// rest).
#[wasm_bindgen_test]
fn dense_layer_matches_candle() {
    let dev = Device::Cpu;
    let dense_input = |i: usize| (i as f32 * 0.37).sin() + 1.5;
    let spikes = |i: usize| if (i as f32 * 0.618).fract() < 0.08 { 1.0 } else { 0.0 };
    type Case<'a> = (usize, usize, usize, usize, &'a dyn Fn(usize) -> f32);
    let cases: [Case; 11] = [
        (1, 1, 1, 1, &dense_input),
        (1, 7, 23, 30, &dense_input),
        (2, 4, 20, 44, &dense_input),
        (2, 3, 13, 10, &dense_input),
        (4, 16, 40, 24, &dense_input),
        (4, 8, 64, 64, &dense_input),
        (3, 7, 5, 37, &dense_input),
        (8, 32, 128, 2, &dense_input),
        (4, 64, 37, 21, &spikes),
        (8, 32, 64, 64, &spikes),
        (2, 5, 9, 6, &spikes),
    ];
    for (t, b, fan_in, fan_out, input) in cases {
        let a = Var::from_vec((0..t * b * fan_in).map(input).collect(), (t, b, fan_in), &dev).unwrap();
        let w = Var::from_vec((0..fan_in * fan_out).map(|i| (i as f32 * 0.11).cos() * 0.3).collect(), (fan_out, fan_in), &dev).unwrap();
        let bias = Var::from_vec((0..fan_out).map(|i| i as f32 * 0.1 - 0.5).collect(), fan_out, &dev).unwrap();
        let coef = Tensor::from_vec((0..t * b * fan_out).map(|i| (i as f32 * 1.7).sin()).collect(), (t, b, fan_out), &dev).unwrap();
        let run = |fused: bool| {
            let y = if fused {
                dense(a.as_tensor(), w.as_tensor(), bias.as_tensor()).unwrap()
            } else {
                a.as_tensor().broadcast_matmul(&w.as_tensor().t().unwrap()).unwrap().broadcast_add(bias.as_tensor()).unwrap()
            };
            let grads = y.mul(&coef).unwrap().sum_all().unwrap().backward().unwrap();
            let flat = |x: &Tensor| x.flatten_all().unwrap().to_vec1::<f32>().unwrap();
            [flat(&y), flat(grads.get(&a).unwrap()), flat(grads.get(&w).unwrap()), flat(grads.get(&bias).unwrap())]
        };
        let (got, want) = (run(true), run(false));
        for (name, (p, q)) in ["y", "da", "dw", "db"].iter().zip(got.iter().zip(&want)) {
            assert_eq!(p.len(), q.len(), "{name}");
            for (i, (x, y)) in p.iter().zip(q).enumerate() {
                assert!((x - y).abs() <= 1e-4 * (1.0 + y.abs()), "[{t}, {b}, {fan_in}] -> {fan_out} {name}[{i}]: op {x}, candle {y}");
            }
        }
    }
}

/// The product on its own, into a destination holding other values: without `accumulate` it
/// must overwrite them (the layer's own products write into zeroed buffers, which would hide
/// a kernel that adds), with it add onto them; at shapes with and without full blocks and
/// edge panels, and with no rows at all.
#[wasm_bindgen_test]
fn product_overwrites_or_accumulates_as_asked() {
    for (m, n, k) in [(7, 30, 23), (8, 44, 20), (3, 12, 5), (1, 5, 3), (0, 16, 4), (4, 9, 0)] {
        let a: Vec<f32> = (0..m * k).map(|i| (i as f32 * 0.37).sin()).collect();
        let b: Vec<f32> = (0..k * n).map(|i| (i as f32 * 0.11).cos()).collect();
        let want: Vec<f64> = (0..m * n).map(|e| (0..k).map(|p| a[e / n * k + p] as f64 * b[p * n + e % n] as f64).sum()).collect();
        let before: Vec<f32> = (0..m * n).map(|i| 100.0 + i as f32).collect();
        for accumulate in [false, true] {
            let mut c = before.clone();
            product_row_major(&mut c, accumulate, (m, n, k), &a, &b);
            for (i, (&got, &w)) in c.iter().zip(&want).enumerate() {
                let w = if accumulate { w + before[i] as f64 } else { w };
                assert!((got as f64 - w).abs() <= 1e-4 * (1.0 + w.abs()), "[{m}, {k}] x [{k}, {n}] accumulate={accumulate} [{i}]: {got}, want {w}");
            }
        }
    }
}

/// The conv layer's op (crate/src/conv.rs: the patch matrix through this build's products,
/// or the events for spikes) against candle's `conv2d`, forward and all three gradients.
#[wasm_bindgen_test]
fn conv_layer_matches_candle() {
    let dev = Device::Cpu;
    let smooth = |i: usize| (i as f32 * 0.37).sin() + 0.2;
    let spikes = |i: usize| if (i as f32 * 0.618).fract() < 0.1 { 1.0 } else { 0.0 };
    type Case<'a> = ((usize, usize, usize, usize, usize, usize), &'a dyn Fn(usize) -> f32);
    let cases: [Case; 4] = [((2, 3, 8, 8, 14, 14), &smooth), ((2, 3, 8, 8, 14, 14), &spikes), ((1, 1, 3, 5, 7, 5), &smooth), ((2, 2, 4, 4, 7, 7), &spikes)];
    for ((t, b, c, co, h, w), input) in cases {
        let x = Var::from_vec((0..t * b * c * h * w).map(input).collect(), (t, b, c, h, w), &dev).unwrap();
        let wt = Var::from_vec((0..co * c * 9).map(|i| (i as f32 * 0.23).cos() * 0.3).collect(), (co, c, 3, 3), &dev).unwrap();
        let bias = Var::from_vec((0..co).map(|i| i as f32 * 0.1 - 0.2).collect(), co, &dev).unwrap();
        let up = Tensor::from_vec((0..t * b * co * h * w).map(|i| (i as f32 * 0.71).sin()).collect(), (t, b, co, h, w), &dev).unwrap();
        let ours = spikeplay::conv::conv3x3(x.as_tensor(), wt.as_tensor(), bias.as_tensor()).unwrap();
        let reference = x.flatten(0, 1).unwrap().conv2d(wt.as_tensor(), 1, 1, 1, 1).unwrap();
        let reference = reference.broadcast_add(&bias.reshape((1, co, 1, 1)).unwrap()).unwrap().reshape((t, b, co, h, w)).unwrap();
        let flat = |v: &Tensor| v.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let close = |what: &str, got: Vec<f32>, want: Vec<f32>| {
            assert_eq!(got.len(), want.len(), "{what}");
            for (i, (p, q)) in got.iter().zip(&want).enumerate() {
                assert!((p - q).abs() <= 1e-4 * (1.0 + q.abs()), "{what}[{i}]: {p} vs {q} ({t}x{b}x{c}->{co} {h}x{w})");
            }
        };
        close("forward", flat(&ours), flat(&reference));
        let g1 = (&ours * &up).unwrap().sum_all().unwrap().backward().unwrap();
        let g2 = (&reference * &up).unwrap().sum_all().unwrap().backward().unwrap();
        for (name, v) in [("input", &x), ("weight", &wt), ("bias", &bias)] {
            close(name, flat(g1.get(v).unwrap()), flat(g2.get(v).unwrap()));
        }
    }
}
