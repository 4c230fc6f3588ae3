//! The optimizers a [`crate::Trainer`] steps, behind one enum, and candle-nn's AdamW as a
//! fused CPU loop (see [`crate::fused`] for the switch).

use candle_core::backprop::GradStore;
use candle_core::{Result, Tensor, Var};
use candle_nn::optim::{Optimizer as _, ParamsAdamW, SGD};

use crate::config::{ExperimentConfig, OptimizerKind};

/// candle's optimizers share a trait that cannot be a trait object (its constructor is
/// generic), so the choice is an enum.
pub(crate) enum Optimizer {
    Adam(candle_nn::optim::AdamW),
    /// The same update in one loop per parameter, on the CPU ([`AdamW`]).
    FusedAdam(AdamW),
    /// candle's SGD has no weight decay; the params are kept to apply it, decoupled.
    Sgd(SGD, Vec<Var>),
}

impl Optimizer {
    /// The config's optimizer over `params`: on the CPU, Adam is the fused [`AdamW`].
    pub(crate) fn new(cfg: &ExperimentConfig, params: Vec<Var>) -> Result<Self> {
        Ok(match cfg.optimizer {
            OptimizerKind::Adam => {
                let p = ParamsAdamW { lr: cfg.lr, weight_decay: cfg.weight_decay, ..Default::default() };
                if params.first().is_none_or(|v| crate::fused::enabled(v.device())) {
                    Self::FusedAdam(AdamW::new(params, p)?)
                } else {
                    Self::Adam(candle_nn::optim::AdamW::new(params, p)?)
                }
            }
            OptimizerKind::Sgd => Self::Sgd(SGD::new(params.clone(), cfg.lr)?, params),
        })
    }

    /// One update with learning rate `lr`; SGD first decays its weights by
    /// `1 - lr * weight_decay` (AdamW decays inside its update).
    pub(crate) fn step(&mut self, grads: &GradStore, lr: f64, weight_decay: f64) -> Result<()> {
        match self {
            Self::Adam(o) => {
                o.set_learning_rate(lr);
                o.step(grads)
            }
            Self::FusedAdam(o) => {
                o.set_learning_rate(lr);
                o.step(grads)
            }
            Self::Sgd(o, params) => {
                if weight_decay > 0.0 {
                    for p in params.iter() {
                        p.set(&(p.as_tensor() * (1.0 - lr * weight_decay))?)?;
                    }
                }
                o.set_learning_rate(lr);
                o.step(grads)
            }
        }
    }
}

/// candle-nn's AdamW as one loop per parameter: the same float operations in the same
/// order (each of candle-nn's tensor ops rounds to f32, so this does too), with the
/// moments kept as plain vectors. candle-nn runs ~13 tensor ops per parameter, each a pass
/// over memory and an allocation; a 100-layer net has ~300 parameters, so the optimizer
/// was ~17 % of a step (callgrind, config D). CPU only, like the other kernels here.
pub struct AdamW {
    vars: Vec<(Var, Vec<f32>, Vec<f32>)>,
    params: ParamsAdamW,
    step_t: i32,
}

impl AdamW {
    pub fn new(vars: Vec<Var>, params: ParamsAdamW) -> Result<Self> {
        let vars = vars.into_iter().map(|v| (v.clone(), vec![0f32; v.elem_count()], vec![0f32; v.elem_count()])).collect();
        Ok(Self { vars, params, step_t: 0 })
    }

    pub fn set_learning_rate(&mut self, lr: f64) {
        self.params.lr = lr;
    }

    pub fn step(&mut self, grads: &GradStore) -> Result<()> {
        self.step_t += 1;
        let p = &self.params;
        // candle-nn's constants, each rounded to f32 where its op applies it.
        let f = |v: f64| v as f32;
        let (beta1, one_m_beta1, beta2, one_m_beta2) = (f(p.beta1), f(1.0 - p.beta1), f(p.beta2), f(1.0 - p.beta2));
        let (scale_m, scale_v) = (f(1.0 / (1.0 - p.beta1.powi(self.step_t))), f(1.0 / (1.0 - p.beta2.powi(self.step_t))));
        let (decay, eps, lr) = (f(1.0 - p.lr * p.weight_decay), f(p.eps), f(p.lr));
        for (var, m, v) in self.vars.iter_mut() {
            let Some(g) = grads.get(var) else { continue };
            let g = g.flatten_all()?.to_vec1::<f32>()?;
            let mut theta = var.flatten_all()?.to_vec1::<f32>()?;
            for (((t, m), v), &g) in theta.iter_mut().zip(m.iter_mut()).zip(v.iter_mut()).zip(&g) {
                *m = (*m * beta1 + 0.0) + (g * one_m_beta1 + 0.0);
                *v = (*v * beta2 + 0.0) + ((g * g) * one_m_beta2 + 0.0);
                let m_hat = *m * scale_m + 0.0;
                let v_hat = *v * scale_v + 0.0;
                let adjusted = m_hat / (v_hat.sqrt() * 1.0 + eps);
                *t = (*t * decay + 0.0) - (adjusted * lr + 0.0);
            }
            var.set(&Tensor::from_vec(theta, var.shape(), var.device())?)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fused::currents;
    use candle_core::Device;
    use candle_nn::optim::Optimizer;

    /// The fused AdamW against candle-nn's over several steps, with weight decay: the
    /// same parameters bit for bit.
    #[test]
    fn fused_adamw_is_candle_nns_bit_for_bit() {
        let params = ParamsAdamW { lr: 3e-3, weight_decay: 0.05, ..Default::default() };
        let make = || (0..3).map(|i| Var::from_vec(currents(1, 12, i), (3, 4), &Device::Cpu).unwrap()).collect::<Vec<_>>();
        let (ours, theirs) = (make(), make());
        let mut fused = AdamW::new(ours.clone(), params.clone()).unwrap();
        let mut reference = candle_nn::optim::AdamW::new(theirs.clone(), params).unwrap();
        for step in 0..5u32 {
            let target = Tensor::from_vec(currents(1, 12, 20 + step), (3, 4), &Device::Cpu).unwrap();
            let loss = |vars: &[Var]| vars.iter().map(|v| v.as_tensor().sub(&target).unwrap().sqr().unwrap().sum_all().unwrap()).reduce(|a, b| (a + b).unwrap()).unwrap();
            fused.step(&loss(&ours).backward().unwrap()).unwrap();
            reference.step(&loss(&theirs).backward().unwrap()).unwrap();
            for (a, b) in ours.iter().zip(&theirs) {
                let (a, b) = (a.flatten_all().unwrap().to_vec1::<f32>().unwrap(), b.flatten_all().unwrap().to_vec1::<f32>().unwrap());
                assert_eq!(a, b, "step {step}");
            }
        }
        assert_ne!(ours[0].flatten_all().unwrap().to_vec1::<f32>().unwrap(), currents(1, 12, 0), "the parameters moved");
    }
}
