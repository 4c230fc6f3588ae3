//! The conv op against candle's `conv2d` (values and the three gradients), both of its paths
//! (patch matrix and events) against each other, and the pools against central differences.

use super::pool::{pool2, pool2_candle};
use super::*;
use candle_core::{Device, Var};

const DEV: Device = Device::Cpu;

fn values(t: &Tensor) -> Vec<f32> {
    t.flatten_all().unwrap().to_vec1().unwrap()
}

fn close(what: &str, got: &[f32], want: &[f32], tol: f32) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= tol * (1.0 + w.abs()), "{what}[{i}]: {g} vs {w}");
    }
}

/// Inputs: dense (every value non-zero), spikes (binary, ~12 % ones: the event path) and a
/// scaled trace of the same spikes (the event path with real values).
fn input(kind: usize, n: usize) -> Vec<f32> {
    let spike = |i: usize| (i as f32 * 0.618_034).fract() < 0.12;
    (0..n)
        .map(|i| match kind {
            0 => (i as f32 * 0.37).sin() + 0.1,
            1 => spike(i) as u8 as f32,
            _ => spike(i) as u8 as f32 * (0.5 + (i % 5) as f32 * 0.3),
        })
        .collect()
}

/// `(T, B, C, C', H, W)`: the nets' sizes, odd maps, one step, one sample, one row or column.
const SHAPES: [(usize, usize, usize, usize, usize, usize); 8] =
    [(2, 3, 2, 3, 5, 4), (4, 2, 1, 8, 14, 14), (1, 1, 3, 2, 7, 7), (3, 1, 8, 8, 7, 7), (1, 2, 2, 5, 1, 6), (2, 2, 3, 2, 6, 1), (2, 1, 4, 4, 3, 3), (1, 1, 1, 1, 2, 2)];

#[test]
fn the_conv_op_matches_candles_conv2d_and_its_gradients() {
    for (t, b, c, co, h, w) in SHAPES {
        for kind in 0..3 {
            let what = format!("T {t} B {b} C {c} C' {co} {h}x{w} input {kind}");
            let x = Var::from_vec(input(kind, t * b * c * h * w), (t, b, c, h, w), &DEV).unwrap();
            let wt = Var::from_vec(crate::fused::currents(1, co * c * 9, 3), (co, c, 3, 3), &DEV).unwrap();
            let bias = Var::from_vec(crate::fused::currents(1, co, 7), co, &DEV).unwrap();
            let upstream = Tensor::from_vec(crate::fused::currents(1, t * b * co * h * w, 11), (t, b, co, h, w), &DEV).unwrap();

            let ours = conv3x3(x.as_tensor(), wt.as_tensor(), bias.as_tensor()).unwrap();
            let reference = x.flatten(0, 1).unwrap().conv2d(wt.as_tensor(), 1, 1, 1, 1).unwrap();
            let reference = reference.broadcast_add(&bias.reshape((1, co, 1, 1)).unwrap()).unwrap().reshape((t, b, co, h, w)).unwrap();
            close(&format!("{what} forward"), &values(&ours), &values(&reference), 1e-5);

            let g_ours = (&ours * &upstream).unwrap().sum_all().unwrap().backward().unwrap();
            let g_ref = (&reference * &upstream).unwrap().sum_all().unwrap().backward().unwrap();
            for (name, v) in [("input", &x), ("weight", &wt), ("bias", &bias)] {
                close(&format!("{what} d{name}"), &values(g_ours.get(v).unwrap()), &values(g_ref.get(v).unwrap()), 1e-4);
            }
        }
    }
}

#[test]
fn the_event_path_is_taken_for_spikes_and_agrees_with_the_patch_matrix() {
    for (t, b, c, co, h, w) in SHAPES {
        let d = Dims { frames: t * b, c_in: c, c_out: co, h, w };
        for kind in 1..3 {
            let x = input(kind, t * b * c * h * w);
            let wt = crate::fused::currents(1, co * c * 9, 3);
            let bias = crate::fused::currents(1, co, 7);
            let g = crate::fused::currents(1, t * b * co * h * w, 11);
            let events = sparse::events_below(&x, &d, 1.0).expect("every input fits under a share of 1");
            assert_eq!(events.count(), x.iter().filter(|&&v| v != 0.0).count());
            assert!(sparse::events_below(&x, &d, 0.01).is_none() || events.count() == 0, "a share below the density refuses");
            // The patch-matrix path, called directly (the op would take the events here).
            let dense_y = dense_forward(&x, &wt, &bias, &d);
            let mut cols = Vec::new();
            im2col(&x, &d, 0..d.frames, &mut cols);
            let mut gcm = Vec::new();
            to_channels(&g, &d, 0..d.frames, &mut gcm);
            let mut dwt = vec![0f32; d.taps() * co];
            product(&mut dwt, false, (d.taps(), co, d.positions()), &cols, (d.positions(), 1), &gcm, (1, d.positions()));
            let dense_dw: Vec<f32> = (0..co).flat_map(|o| (0..d.taps()).map(move |k| (o, k))).map(|(o, k)| dwt[k * co + o]).collect();
            let what = format!("T {t} B {b} C {c} C' {co} {h}x{w} input {kind}");
            close(&format!("{what} events forward"), &sparse::forward(&events, &wt, &bias, &d), &dense_y, 1e-5);
            close(&format!("{what} events dW"), &sparse::weight_gradient(&events, &g, &d), &dense_dw, 1e-4);
        }
    }
    // Binary spikes at ~12 % go by events through the op, dense values do not.
    let d = Dims { frames: 8, c_in: 8, c_out: 8, h: 14, w: 14 };
    let e = sparse::events(&input(1, 8 * 8 * 196), &d).expect("spikes are events");
    assert!(sparse::for_gradient(&e, 8 * 8 * 196, &d));
    assert!(sparse::events(&input(0, 8 * 8 * 196), &d).is_none());
}

#[test]
fn a_repeated_input_is_convolved_once_with_the_same_result() {
    let (t, b, c, co, h, w) = (4, 3, 1, 5, 6, 5);
    let one = Var::from_vec(input(0, b * c * h * w), (1, b, c, h, w), &DEV).unwrap();
    let wt = Var::from_vec(crate::fused::currents(1, co * c * 9, 2), (co, c, 3, 3), &DEV).unwrap();
    let bias = Var::from_vec(crate::fused::currents(1, co, 4), co, &DEV).unwrap();
    let upstream = Tensor::from_vec(crate::fused::currents(1, t * b * co * h * w, 6), (t, b, co, h, w), &DEV).unwrap();
    let repeated = conv3x3_repeated(one.as_tensor(), wt.as_tensor(), bias.as_tensor(), t).unwrap();
    let full = conv3x3(&one.broadcast_as((t, b, c, h, w)).unwrap().contiguous().unwrap(), wt.as_tensor(), bias.as_tensor()).unwrap();
    close("repeated forward", &values(&repeated), &values(&full), 1e-6);
    let g1 = (&repeated * &upstream).unwrap().sum_all().unwrap().backward().unwrap();
    let g2 = (&full * &upstream).unwrap().sum_all().unwrap().backward().unwrap();
    for v in [&one, &wt, &bias] {
        close("repeated gradient", &values(g1.get(v).unwrap()), &values(g2.get(v).unwrap()), 1e-5);
    }
    assert!(conv3x3_repeated(&Tensor::zeros((2, b, c, h, w), DType::F32, &DEV).unwrap(), wt.as_tensor(), bias.as_tensor(), t).is_err());
}

#[test]
fn bad_shapes_are_named() {
    let x = Tensor::zeros((2, 2, 3, 4, 4), DType::F32, &DEV).unwrap();
    let w = Tensor::zeros((4, 2, 3, 3), DType::F32, &DEV).unwrap();
    let err = conv3x3(&x, &w, &Tensor::zeros(4, DType::F32, &DEV).unwrap()).unwrap_err().to_string();
    assert!(err.contains("[2, 2, 3, 4, 4]") && err.contains("[4, 2, 3, 3]"), "{err}");
    let w = Tensor::zeros((4, 3, 3, 3), DType::F32, &DEV).unwrap();
    assert!(conv3x3(&x, &w, &Tensor::zeros(5, DType::F32, &DEV).unwrap()).unwrap_err().to_string().contains("bias of 5"));
    assert!(pool2(&Tensor::zeros((2, 1, 5), DType::F32, &DEV).unwrap(), false).unwrap_err().to_string().contains("2x2"));
}

use candle_core::DType;

/// Pool inputs with ties: a spike map (many equal values) and a smooth one.
fn pool_input(spikes: bool, n: usize) -> Vec<f32> {
    if spikes {
        input(1, n)
    } else {
        (0..n).map(|i| (i as f32 * 0.913).sin() * 2.0).collect()
    }
}

#[test]
fn pools_match_central_differences_and_the_candle_op_version() {
    for dims in [vec![2usize, 3, 4, 4], vec![1, 2, 7, 7], vec![3, 5, 6], vec![2, 1, 2, 3, 2]] {
        let n: usize = dims.iter().product();
        for avg in [false, true] {
            for spikes in [false, true] {
                let what = format!("{dims:?} avg {avg} spikes {spikes}");
                let x = Var::from_vec(pool_input(spikes, n), dims.as_slice(), &DEV).unwrap();
                let y = pool2(x.as_tensor(), avg).unwrap();
                let reference = crate::fused::unfused(|| pool2(x.as_tensor(), avg).unwrap());
                close(&format!("{what} forward"), &values(&y), &values(&reference), 1e-6);
                let r = dims.len();
                let mut out = dims.clone();
                out[r - 2] /= 2;
                out[r - 1] /= 2;
                let upstream = Tensor::from_vec(crate::fused::currents(1, y.elem_count(), 5), out.as_slice(), &DEV).unwrap();
                let g = values((&y * &upstream).unwrap().sum_all().unwrap().backward().unwrap().get(&x).unwrap());
                let g_ref = values((&reference * &upstream).unwrap().sum_all().unwrap().backward().unwrap().get(&x).unwrap());
                close(&format!("{what} gradient vs candle ops"), &g, &g_ref, 1e-6);
                // Each output's gradient reaches its window once in all: the gradient sums to
                // the upstream's sum (a candle max pool gives a lone maximum a quarter).
                let total: f32 = g.iter().sum();
                let up: f32 = values(&upstream).iter().sum();
                assert!((total - up).abs() < 1e-4 * (1.0 + up.abs()), "{what}: gradient sums to {total}, upstream {up}");
                if !spikes {
                    // Smooth, distinct values: central differences hold.
                    let x0 = values(x.as_tensor());
                    for i in [0usize, 1, n / 2, n - 1] {
                        let at = |d: f32| {
                            let mut v = x0.clone();
                            v[i] += d;
                            let t = Tensor::from_vec(v, dims.as_slice(), &DEV).unwrap();
                            (pool2(&t, avg).unwrap() * &upstream).unwrap().sum_all().unwrap().to_scalar::<f32>().unwrap()
                        };
                        let numeric = (at(1e-3) - at(-1e-3)) / 2e-3;
                        assert!((numeric - g[i]).abs() < 1e-2, "{what} d x[{i}]: {numeric} vs {}", g[i]);
                    }
                }
            }
        }
    }
}

#[test]
fn the_candle_op_pool_is_what_other_devices_run() {
    // Outside the fused switch `pool2` is `pool2_candle` (the path of CUDA or Metal).
    let x = Tensor::from_vec(pool_input(false, 2 * 6 * 6), (2, 6, 6), &DEV).unwrap();
    let a = crate::fused::unfused(|| pool2(&x, false).unwrap());
    close("unfused is the candle-op pool", &values(&a), &values(&pool2_candle(&x, false).unwrap()), 0.0);
}
