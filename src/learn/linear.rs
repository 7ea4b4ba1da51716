//! Sparse L2-regularized logistic regression: one binary model per code
//! (multi-label) and one softmax model over the principal codes.
//!
//! Written here rather than taken from a crate: the linfa and smartcore
//! models want dense matrices (a record has a few hundred of tens of
//! thousands of features), and liblinear bindings bring a C++ build for
//! what is, at this size (hundreds to a few thousand records), a short
//! loop. Both models minimize the exact regularized log loss
//! (Σ loss + ‖w‖²/2C, as liblinear's C) with L-BFGS, so training is
//! deterministic and converges without a learning rate to tune.

use serde::{Deserialize, Serialize};

/// A sparse feature vector: (feature id, value), ids ascending, unique.
pub type SparseVec = Vec<(u32, f32)>;

/// Training settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrainOptions {
    /// Inverse regularization strength (liblinear's C): larger fits the
    /// training data more closely.
    pub c: f64,
    /// L-BFGS iterations at most.
    pub iterations: usize,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            c: 1.0,
            iterations: 100,
        }
    }
}

/// Minimizes a smooth function with L-BFGS (10 corrections, backtracking
/// Armijo line search). `f` writes the gradient and returns the value.
pub fn lbfgs(
    x0: Vec<f64>,
    iterations: usize,
    mut f: impl FnMut(&[f64], &mut [f64]) -> f64,
) -> Vec<f64> {
    const M: usize = 10;
    let n = x0.len();
    let mut x = x0;
    let mut g = vec![0.0; n];
    let mut fx = f(&x, &mut g);
    let mut s_hist: Vec<Vec<f64>> = Vec::new();
    let mut y_hist: Vec<Vec<f64>> = Vec::new();
    let mut rho: Vec<f64> = Vec::new();
    let mut xn = vec![0.0; n];
    let mut gn = vec![0.0; n];
    let dotp = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
    for _ in 0..iterations {
        let gnorm = dotp(&g, &g).sqrt();
        if gnorm < 1e-5 * (1.0 + fx.abs()) {
            break;
        }
        // two-loop recursion: d = -H g
        let mut d: Vec<f64> = g.iter().map(|v| -v).collect();
        let k = s_hist.len();
        let mut alpha = vec![0.0; k];
        for i in (0..k).rev() {
            alpha[i] = rho[i] * dotp(&s_hist[i], &d);
            for (dj, yj) in d.iter_mut().zip(&y_hist[i]) {
                *dj -= alpha[i] * yj;
            }
        }
        if k > 0 {
            let gamma = dotp(&s_hist[k - 1], &y_hist[k - 1]) / dotp(&y_hist[k - 1], &y_hist[k - 1]);
            for dj in d.iter_mut() {
                *dj *= gamma;
            }
        } else {
            let scale = 1.0 / gnorm.max(1e-12);
            for dj in d.iter_mut() {
                *dj *= scale;
            }
        }
        for i in 0..k {
            let beta = rho[i] * dotp(&y_hist[i], &d);
            for (dj, sj) in d.iter_mut().zip(&s_hist[i]) {
                *dj += (alpha[i] - beta) * sj;
            }
        }
        let mut slope = dotp(&g, &d);
        if slope >= 0.0 {
            // not a descent direction: restart from steepest descent
            s_hist.clear();
            y_hist.clear();
            rho.clear();
            d = g.iter().map(|v| -v / gnorm.max(1e-12)).collect();
            slope = dotp(&g, &d);
        }
        let mut step = 1.0;
        let mut fnew;
        loop {
            for i in 0..n {
                xn[i] = x[i] + step * d[i];
            }
            fnew = f(&xn, &mut gn);
            if fnew <= fx + 1e-4 * step * slope || step < 1e-10 {
                break;
            }
            step *= 0.5;
        }
        if step < 1e-10 {
            break;
        }
        let s: Vec<f64> = xn.iter().zip(&x).map(|(a, b)| a - b).collect();
        let y: Vec<f64> = gn.iter().zip(&g).map(|(a, b)| a - b).collect();
        let sy = dotp(&s, &y);
        if sy > 1e-12 {
            if s_hist.len() == M {
                s_hist.remove(0);
                y_hist.remove(0);
                rho.remove(0);
            }
            s_hist.push(s);
            y_hist.push(y);
            rho.push(1.0 / sy);
        }
        std::mem::swap(&mut x, &mut xn);
        std::mem::swap(&mut g, &mut gn);
        let converged = (fx - fnew).abs() < 1e-7 * fx.abs().max(1.0);
        fx = fnew;
        if converged {
            break;
        }
    }
    x
}

fn sigmoid(z: f32) -> f32 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

fn dot(w: &[f32], x: &[(u32, f32)]) -> f32 {
    x.iter().map(|&(i, v)| w[i as usize] * v).sum()
}

/// A binary logistic model: P(y=1|x) = σ(w·x + b).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Binary {
    /// Weights by feature id; features never seen in training stay 0.
    pub weights: Vec<f32>,
    pub bias: f32,
}

impl Binary {
    pub fn prob(&self, x: &[(u32, f32)]) -> f32 {
        sigmoid(self.margin(x))
    }

    pub fn margin(&self, x: &[(u32, f32)]) -> f32 {
        dot(&self.weights, x) + self.bias
    }

    /// The features of `x` that push the margin most, as (feature id, w·x).
    pub fn top_features(&self, x: &[(u32, f32)], k: usize) -> Vec<(u32, f32)> {
        let mut c: Vec<(u32, f32)> = x
            .iter()
            .map(|&(i, v)| (i, self.weights[i as usize] * v))
            .filter(|(_, c)| *c != 0.0)
            .collect();
        c.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()).then(a.0.cmp(&b.0)));
        c.truncate(k);
        c
    }

    /// Trains on examples with 0/1 labels, weighting positives by
    /// `pos_weight` (rare codes would otherwise never reach 0.5).
    pub fn train(
        xs: &[&SparseVec],
        ys: &[bool],
        dim: usize,
        pos_weight: f32,
        opt: &TrainOptions,
    ) -> Binary {
        let pw = pos_weight as f64;
        let inv_c = 1.0 / opt.c;
        let mut z = vec![0.0f64; xs.len()];
        let w = lbfgs(vec![0.0; dim + 1], opt.iterations, |w, g| {
            let b = w[dim];
            let mut loss = 0.0;
            for (zi, x) in z.iter_mut().zip(xs) {
                *zi = x
                    .iter()
                    .map(|&(i, v)| w[i as usize] * v as f64)
                    .sum::<f64>()
                    + b;
            }
            g.iter_mut().for_each(|v| *v = 0.0);
            for ((x, &y), &zi) in xs.iter().zip(ys).zip(&z) {
                let (sign, weight) = if y { (1.0, pw) } else { (-1.0, 1.0) };
                let m = sign * zi;
                // log(1 + e^{-m}), stable
                loss += weight
                    * if m > 0.0 {
                        (-m).exp().ln_1p()
                    } else {
                        -m + m.exp().ln_1p()
                    };
                let p = 1.0 / (1.0 + m.exp()); // σ(-m)
                let coef = -weight * sign * p;
                for &(i, v) in x.iter() {
                    g[i as usize] += coef * v as f64;
                }
                g[dim] += coef;
            }
            let mut reg = 0.0;
            for i in 0..dim {
                reg += w[i] * w[i];
                g[i] += inv_c * w[i];
            }
            loss + 0.5 * inv_c * reg
        });
        Binary {
            weights: w[..dim].iter().map(|&v| v as f32).collect(),
            bias: w[dim] as f32,
        }
    }
}

/// A softmax model over `k` classes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Softmax {
    /// Row-major: class c's weights are `weights[c*dim .. (c+1)*dim]`.
    pub weights: Vec<f32>,
    pub bias: Vec<f32>,
    pub dim: usize,
}

impl Softmax {
    pub fn classes(&self) -> usize {
        self.bias.len()
    }

    fn row(&self, c: usize) -> &[f32] {
        &self.weights[c * self.dim..(c + 1) * self.dim]
    }

    /// Class probabilities.
    pub fn probs(&self, x: &[(u32, f32)]) -> Vec<f32> {
        let z: Vec<f32> = (0..self.classes())
            .map(|c| dot(self.row(c), x) + self.bias[c])
            .collect();
        softmax(&z)
    }

    /// The features of `x` that favour class `c` most over the others' mean.
    pub fn top_features(&self, x: &[(u32, f32)], c: usize, k: usize) -> Vec<(u32, f32)> {
        let n = self.classes() as f32;
        let mut out: Vec<(u32, f32)> = x
            .iter()
            .map(|&(i, v)| {
                let i = i as usize;
                let mean: f32 = (0..self.classes())
                    .map(|d| self.weights[d * self.dim + i])
                    .sum::<f32>()
                    / n;
                (i as u32, (self.weights[c * self.dim + i] - mean) * v)
            })
            .filter(|(_, c)| *c != 0.0)
            .collect();
        out.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()).then(a.0.cmp(&b.0)));
        out.truncate(k);
        out
    }

    pub fn train(
        xs: &[&SparseVec],
        ys: &[usize],
        k: usize,
        dim: usize,
        opt: &TrainOptions,
    ) -> Softmax {
        let inv_c = 1.0 / opt.c;
        let stride = dim + 1; // class c: weights then bias
        let mut z = vec![0.0f64; k];
        let w = lbfgs(vec![0.0; k * stride], opt.iterations, |w, g| {
            g.iter_mut().for_each(|v| *v = 0.0);
            let mut loss = 0.0;
            for (x, &y) in xs.iter().zip(ys) {
                for (c, zc) in z.iter_mut().enumerate() {
                    let row = &w[c * stride..(c + 1) * stride];
                    *zc = x
                        .iter()
                        .map(|&(i, v)| row[i as usize] * v as f64)
                        .sum::<f64>()
                        + row[dim];
                }
                let m = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let sum: f64 = z.iter().map(|v| (v - m).exp()).sum();
                loss += m + sum.ln() - z[y];
                for (c, zc) in z.iter().enumerate() {
                    let p = (zc - m).exp() / sum;
                    let coef = p - if c == y { 1.0 } else { 0.0 };
                    let row = c * stride;
                    for &(i, v) in x.iter() {
                        g[row + i as usize] += coef * v as f64;
                    }
                    g[row + dim] += coef;
                }
            }
            let mut reg = 0.0;
            for c in 0..k {
                for i in 0..dim {
                    let j = c * stride + i;
                    reg += w[j] * w[j];
                    g[j] += inv_c * w[j];
                }
            }
            loss + 0.5 * inv_c * reg
        });
        let mut weights = Vec::with_capacity(k * dim);
        let mut bias = Vec::with_capacity(k);
        for c in 0..k {
            weights.extend(w[c * stride..c * stride + dim].iter().map(|&v| v as f32));
            bias.push(w[c * stride + dim] as f32);
        }
        Softmax { weights, bias, dim }
    }
}

fn softmax(z: &[f32]) -> Vec<f32> {
    let m = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let e: Vec<f32> = z.iter().map(|v| (v - m).exp()).collect();
    let s: f32 = e.iter().sum();
    e.into_iter().map(|v| v / s).collect()
}

/// Cosine of two sparse vectors with ascending ids.
pub fn cosine(a: &[(u32, f32)], b: &[(u32, f32)]) -> f32 {
    let na: f32 = a.iter().map(|(_, x)| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.iter().map(|(_, x)| x * x).sum::<f32>().sqrt();
    if na == 0.0 || nb == 0.0 {
        return 0.0;
    }
    sparse_dot(a, b) / (na * nb)
}

/// Scales a vector to unit length.
pub fn normalize(v: &mut SparseVec) {
    let n: f32 = v.iter().map(|(_, x)| x * x).sum::<f32>().sqrt();
    if n > 0.0 {
        for (_, x) in v.iter_mut() {
            *x /= n;
        }
    }
}

/// Dot product of two sparse vectors with ascending ids.
pub fn sparse_dot(a: &[(u32, f32)], b: &[(u32, f32)]) -> f32 {
    let (mut i, mut j, mut s) = (0, 0, 0.0);
    while i < a.len() && j < b.len() {
        match a[i].0.cmp(&b[j].0) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                s += a[i].1 * b[j].1;
                i += 1;
                j += 1;
            }
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator (xorshift64*) for shuffling.
    struct Rng(u64);

    impl Rng {
        fn new(seed: u64) -> Self {
            Rng(seed.max(1).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
        }
        fn next_u64(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            self.0 = x;
            x.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
    }

    /// Feature 0 says "yes", feature 1 says "no", feature 2 is noise.
    fn data() -> (Vec<SparseVec>, Vec<bool>) {
        let mut xs = Vec::new();
        let mut ys = Vec::new();
        let mut rng = Rng::new(3);
        for n in 0..200 {
            let y = n % 3 == 0;
            let mut x = vec![(if y { 0 } else { 1 }, 1.0)];
            if rng.next_u64().is_multiple_of(2) {
                x.push((2, 1.0));
            }
            normalize(&mut x);
            xs.push(x);
            ys.push(y);
        }
        (xs, ys)
    }

    #[test]
    fn binary_learns_the_signal_not_the_noise() {
        let (xs, ys) = data();
        let refs: Vec<&SparseVec> = xs.iter().collect();
        let m = Binary::train(&refs, &ys, 3, 1.0, &TrainOptions::default());
        assert!(m.prob(&[(0, 1.0)]) > 0.9, "{}", m.prob(&[(0, 1.0)]));
        assert!(m.prob(&[(1, 1.0)]) < 0.1);
        assert!(m.weights[0] > 1.0 && m.weights[1] < -1.0);
        assert!(m.weights[2].abs() < m.weights[0].abs() / 4.0);
        let top = m.top_features(&[(0, 0.7), (2, 0.7)], 1);
        assert_eq!(top[0].0, 0);
        // same data, same model
        let again = Binary::train(&refs, &ys, 3, 1.0, &TrainOptions::default());
        assert_eq!(m, again);
    }

    #[test]
    fn softmax_separates_three_classes() {
        let xs: Vec<SparseVec> = (0..90).map(|n| vec![((n % 3) as u32, 1.0)]).collect();
        let ys: Vec<usize> = (0..90).map(|n| n % 3).collect();
        let refs: Vec<&SparseVec> = xs.iter().collect();
        let m = Softmax::train(&refs, &ys, 3, 3, &TrainOptions::default());
        for c in 0..3 {
            let p = m.probs(&[(c as u32, 1.0)]);
            assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-5);
            assert!(p[c] > 0.8, "class {c}: {p:?}");
            assert_eq!(m.top_features(&[(c as u32, 1.0)], c, 1)[0].0, c as u32);
        }
    }

    #[test]
    fn lbfgs_finds_the_minimum_of_a_quadratic() {
        let x = lbfgs(vec![0.0, 0.0], 50, |x, g| {
            g[0] = 2.0 * (x[0] - 3.0);
            g[1] = 20.0 * (x[1] + 1.0);
            (x[0] - 3.0).powi(2) + 10.0 * (x[1] + 1.0).powi(2)
        });
        assert!(
            (x[0] - 3.0).abs() < 1e-3 && (x[1] + 1.0).abs() < 1e-3,
            "{x:?}"
        );
    }

    #[test]
    fn sparse_dot_and_normalize() {
        let mut a = vec![(1, 3.0), (4, 4.0)];
        normalize(&mut a);
        assert!((sparse_dot(&a, &a) - 1.0).abs() < 1e-6);
        assert_eq!(
            sparse_dot(&[(0, 1.0), (2, 2.0)], &[(2, 3.0), (5, 1.0)]),
            6.0
        );
    }
}
