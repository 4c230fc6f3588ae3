//! Leaky integrate-and-fire neurons and the PSP trace, as pure functions of input and
//! state (HOUSE_STYLE R1): layers hold parameters only, the membrane lives here.
//!
//! One step, in this order (R2: fire from the charged potential, then reset):
//!
//! ```text
//! u[t] = beta * u[t-1] + I[t]          charge   (beta = 1: IF neuron)
//! s[t] = H(u[t] - theta)               fire     (backward: surrogate g(u - theta))
//! u[t] = u[t] * (1 - s[t])             hard reset, to zero
//!      | u[t] - theta * s[t]           soft reset, by subtraction
//! ```
//!
//! Equations as in SpikingJelly's `neuron.py` (`neuronal_charge`, `neuronal_fire`,
//! `neuronal_reset`) and snnTorch's `Leaky` (Eshraghian et al. 2023, eq. 4).

mod kernel;

use candle_core::{Result, Tensor};

use crate::config::Reset;
use crate::surrogate::{spike, Surrogate};

/// Parameters of a LIF population; the state is passed in and out explicitly.
#[derive(Clone, Copy, Debug)]
pub struct Lif {
    pub beta: f32,
    pub theta: f32,
    pub reset: Reset,
    /// Use `s.detach()` in the reset, so gradients flow only through the charge.
    pub detach_reset: bool,
    pub surrogate: Surrogate,
}

/// Spikes of a LIF population over time, and optionally its charged membrane.
pub struct LifOutput {
    /// `[T, B, F]`, values 0 / 1.
    pub spikes: Tensor,
    /// `[T, B, F]`, the potential after charging and before the reset (what is compared
    /// with `theta`); recorded only when asked.
    pub membrane: Option<Tensor>,
    /// `[T, B, F]`, the normalized membrane a membrane norm compared with `theta`;
    /// recorded only when asked and a norm was given.
    pub normalized: Option<Tensor>,
}

/// A per-step membrane normalization, `[B, F]` -> `[B, F]`.
pub type MembraneNorm<'a> = dyn Fn(&Tensor) -> Result<Tensor> + 'a;

impl Lif {
    /// One time step: charge, fire, reset. Returns `(s[t], u[t] after reset, u[t] charged)`.
    ///
    /// Shapes: `u`, `i`: `[B, F]` -> three `[B, F]`.
    pub fn step(&self, u: &Tensor, i: &Tensor) -> Result<(Tensor, Tensor, Tensor)> {
        let (s, next, charged, _) = self.step_normed(u, i, None)?;
        Ok((s, next, charged))
    }

    /// [`Lif::step`] firing on `norm(u)` instead of `u` when a membrane norm is given
    /// (MPBN: `s = H(norm(u) - theta)`); the reset acts on the raw membrane. Also returns
    /// what was compared with `theta`.
    pub fn step_normed(&self, u: &Tensor, i: &Tensor, norm: Option<&MembraneNorm>) -> Result<(Tensor, Tensor, Tensor, Tensor)> {
        let charged = ((u * self.beta as f64)? + i)?;
        let compared = match norm {
            Some(f) => f(&charged)?,
            None => charged.clone(),
        };
        let s = spike(&(&compared - self.theta as f64)?, self.surrogate)?;
        let s_reset = if self.detach_reset { s.detach() } else { s.clone() };
        let next = match self.reset {
            Reset::Hard => charged.mul(&(1.0 - &s_reset)?)?,
            Reset::Soft => (&charged - (s_reset * self.theta as f64)?)?,
        };
        Ok((s, next, charged, compared))
    }

    /// Runs the population over all time steps from a resting membrane (`u = 0`).
    ///
    /// Shapes: `current`: `[T, B, F]` -> spikes `[T, B, F]` (and membrane `[T, B, F]`).
    /// On the CPU this is one fused op ([`kernel::lif`]); elsewhere, the loop of
    /// [`Lif::step`]s below, which the fused op is tested against.
    pub fn forward(&self, current: &Tensor, record_membrane: bool) -> Result<LifOutput> {
        if crate::fused::enabled(current.device()) {
            let (spikes, membrane) = kernel::lif(self, current, record_membrane)?;
            return Ok(LifOutput { spikes, membrane, normalized: None });
        }
        self.forward_normed(current, record_membrane, None)
    }

    /// [`Lif::forward`] with an optional membrane norm applied at every step.
    pub fn forward_normed(&self, current: &Tensor, record: bool, norm: Option<&MembraneNorm>) -> Result<LifOutput> {
        let steps = current.dim(0)?;
        let mut u = current.get(0)?.zeros_like()?;
        let mut spikes = Vec::with_capacity(steps);
        let (mut membrane, mut normalized) = (vec![], vec![]);
        for t in 0..steps {
            let (s, next, charged, compared) = self.step_normed(&u, &current.get(t)?, norm)?;
            spikes.push(s);
            if record {
                membrane.push(charged.detach());
                if norm.is_some() {
                    normalized.push(compared.detach());
                }
            }
            u = next;
        }
        let stack = |v: Vec<Tensor>| if v.is_empty() { Ok(None) } else { Tensor::stack(&v, 0).map(Some) };
        Ok(LifOutput { spikes: Tensor::stack(&spikes, 0)?, membrane: stack(membrane)?, normalized: stack(normalized)? })
    }
}

/// The postsynaptic potential trace `a[t] = lambda * a[t-1] + s[t]`, from `a[-1] = 0`.
/// With `lambda = 0` it returns the spikes themselves.
///
/// Shapes: `s`: `[T, B, F]` -> `[T, B, F]`.
pub fn psp_trace(s: &Tensor, lambda: f32) -> Result<Tensor> {
    if lambda == 0.0 {
        return Ok(s.clone());
    }
    let steps = s.dim(0)?;
    let mut a = s.get(0)?;
    let mut out = Vec::with_capacity(steps);
    out.push(a.clone());
    for t in 1..steps {
        a = ((a * lambda as f64)? + s.get(t)?)?;
        out.push(a.clone());
    }
    Tensor::stack(&out, 0)
}

/// A non-spiking leaky integrator, `v[t] = beta * v[t-1] + I[t]`, averaged over time:
/// the membrane readout.
///
/// Shapes: `current`: `[T, B, C]` -> `[B, C]`.
pub fn leaky_mean(current: &Tensor, beta: f32) -> Result<Tensor> {
    let steps = current.dim(0)?;
    let mut v = current.get(0)?;
    let mut sum = v.clone();
    for t in 1..steps {
        v = ((v * beta as f64)? + current.get(t)?)?;
        sum = (sum + &v)?;
    }
    sum / steps as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SurrogateKind;
    use candle_core::Device;

    fn lif(reset: Reset) -> Lif {
        Lif {
            beta: 0.5,
            theta: 1.0,
            reset,
            detach_reset: false,
            surrogate: Surrogate::new(SurrogateKind::Atan, 1.0),
        }
    }

    fn run(reset: Reset, input: &[f32]) -> (Vec<f32>, Vec<f32>) {
        let i = Tensor::from_vec(input.to_vec(), (input.len(), 1, 1), &Device::Cpu).unwrap();
        let out = lif(reset).forward(&i, true).unwrap();
        (
            out.spikes.flatten_all().unwrap().to_vec1().unwrap(),
            out.membrane.unwrap().flatten_all().unwrap().to_vec1().unwrap(),
        )
    }

    // Hand computation, beta = 0.5, theta = 1, input 0.6, 0.8, 0.3, 1.5, 0.0:
    //   hard: u = 0.6 (0) -> 0.3 + 0.8 = 1.1 (1, reset 0) -> 0.3 (0) -> 0.15 + 1.5 = 1.65 (1, 0) -> 0.0 (0)
    //   soft: u = 0.6 (0) -> 1.1 (1, keep 0.1) -> 0.05 + 0.3 = 0.35 (0) -> 0.175 + 1.5 = 1.675 (1, keep 0.675)
    //         -> 0.3375 (0)
    const INPUT: [f32; 5] = [0.6, 0.8, 0.3, 1.5, 0.0];

    fn close(a: &[f32], b: &[f32]) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-6)
    }

    #[test]
    fn golden_hard_reset() {
        let (s, u) = run(Reset::Hard, &INPUT);
        assert_eq!(s, vec![0.0, 1.0, 0.0, 1.0, 0.0]);
        assert!(close(&u, &[0.6, 1.1, 0.3, 1.65, 0.0]), "{u:?}");
    }

    #[test]
    fn golden_soft_reset() {
        let (s, u) = run(Reset::Soft, &INPUT);
        assert_eq!(s, vec![0.0, 1.0, 0.0, 1.0, 0.0]);
        assert!(close(&u, &[0.6, 1.1, 0.35, 1.675, 0.3375]), "{u:?}");
    }

    #[test]
    fn fires_from_the_charged_potential_before_reset() {
        // A single strong input fires in the same step it arrives (R2), then the hard reset
        // leaves nothing for the next step.
        let (s, u) = run(Reset::Hard, &[2.0, 0.0]);
        assert_eq!(s, vec![1.0, 0.0]);
        assert!(close(&u, &[2.0, 0.0]));
    }

    #[test]
    fn psp_trace_filters_spikes() {
        let s = Tensor::from_vec(vec![1f32, 0.0, 1.0, 1.0], (4, 1, 1), &Device::Cpu).unwrap();
        let a = psp_trace(&s, 0.5).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
        // 1, 0.5, 1.25, 1.625
        assert!(close(&a, &[1.0, 0.5, 1.25, 1.625]), "{a:?}");
        let raw = psp_trace(&s, 0.0).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
        assert_eq!(raw, vec![1.0, 0.0, 1.0, 1.0]);
    }

    #[test]
    fn leaky_mean_readout() {
        let i = Tensor::from_vec(vec![1f32, 1.0, 0.0], (3, 1, 1), &Device::Cpu).unwrap();
        // v = 1, 1.5, 0.75 -> mean 1.083333
        let m = leaky_mean(&i, 0.5).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
        assert!((m[0] - 3.25 / 3.0).abs() < 1e-6, "{m:?}");
    }
}
