//! Choosing the next token from logits: temperature, top-k, top-p, min-p and repetition
//! penalty, seeded per branch; plus the logprob, entropy and top alternatives of the
//! untempered distribution, which are what the loom records.
//!
//! Nothing here sorts the whole vocabulary: the top alternatives come from one scan with a
//! small sorted buffer, and nucleus sampling sorts only as many candidates as it needs.

use super::kernels::{Isa, vecmath};
use super::protocol::SamplingParams;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// The untempered view of one position: what was likely, and how uncertain the model was.
#[derive(Debug, Clone, PartialEq)]
pub struct Distribution {
    /// log-sum-exp of the raw logits: logprob(i) = logits[i] - lse.
    pub lse: f32,
    /// Entropy in nats.
    pub entropy: f32,
    /// The most likely tokens with their logprobs, most likely first.
    pub top: Vec<(u32, f32)>,
}

/// Summarises raw logits: log-softmax normaliser, entropy and the `k` most likely tokens.
pub fn distribution(logits: &[f32], k: usize) -> Distribution {
    let isa = Isa::detect();
    let max = vecmath::max(isa, logits);
    // H = -sum p log p = lse - E[l] (in the max-shifted frame: ln(sum) - E[l - max]).
    let (sum, weighted) = vecmath::exp_sums(isa, logits, max, 1.0);
    let lse = max + sum.ln() as f32;
    let entropy = (sum.ln() - weighted / sum).max(0.0) as f32;
    let top = top_k_indices(logits, k)
        .into_iter()
        .map(|i| (i, logits[i as usize] - lse))
        .collect();
    Distribution { lse, entropy, top }
}

/// The indices of the `k` largest values, largest first (ties: lower index first).
pub fn top_k_indices(values: &[f32], k: usize) -> Vec<u32> {
    let k = k.min(values.len());
    if k == 0 {
        return Vec::new();
    }
    if k == 1 {
        // Greedy decoding's case: a vectorized maximum, then its first index (NaN ignored; an
        // all-NaN slice has none). About six times faster than the insertion below.
        let max = vecmath::max(Isa::detect(), values);
        return values
            .iter()
            .position(|&v| v == max)
            .map(|i| vec![i as u32])
            .unwrap_or_default();
    }
    let mut best: Vec<(f32, u32)> = Vec::with_capacity(k + 1);
    for (i, &v) in values.iter().enumerate() {
        if v.is_nan() {
            continue;
        }
        if best.len() == k && v <= best[k - 1].0 {
            continue;
        }
        let at = best.partition_point(|&(b, _)| b >= v);
        best.insert(at, (v, i as u32));
        best.truncate(k);
    }
    best.into_iter().map(|(_, i)| i).collect()
}

/// One generated token's choice and statistics.
#[derive(Debug, Clone, PartialEq)]
pub struct Choice {
    pub token: u32,
    /// Logprob of `token` under the untempered, unpenalised distribution.
    pub logprob: f32,
    pub distribution: Distribution,
}

/// Samples one branch. Branch `i` of an expansion uses seed `params.seed + i`.
#[derive(Debug, Clone)]
pub struct Sampler {
    params: SamplingParams,
    rng: StdRng,
    scratch: Vec<f32>,
    weights: Vec<f32>,
}

impl Sampler {
    pub fn new(params: &SamplingParams, seed: u64) -> Sampler {
        Sampler {
            params: params.clone(),
            rng: StdRng::seed_from_u64(seed),
            scratch: Vec::new(),
            weights: Vec::new(),
        }
    }

    /// Chooses the next token from `logits`; `history` is every token so far (prompt and
    /// generated), of which the last `repetition_window` are penalised.
    pub fn choose(&mut self, logits: &[f32], history: &[u32]) -> Choice {
        let distribution = distribution(logits, self.params.top_logprobs);
        let token = self.sample(logits, history);
        let logprob = logits
            .get(token as usize)
            .copied()
            .unwrap_or(f32::NEG_INFINITY)
            - distribution.lse;
        Choice {
            token,
            logprob,
            distribution,
        }
    }

    fn sample(&mut self, logits: &[f32], history: &[u32]) -> u32 {
        let p = &self.params;
        let penalised = p.repetition_penalty != 1.0 && p.repetition_window > 0;
        let logits: &[f32] = if penalised {
            self.scratch.clear();
            self.scratch.extend_from_slice(logits);
            let start = history.len().saturating_sub(p.repetition_window);
            let mut seen = std::collections::HashSet::new();
            for &t in &history[start..] {
                if seen.insert(t)
                    && let Some(l) = self.scratch.get_mut(t as usize)
                {
                    *l = if *l >= 0.0 {
                        *l / p.repetition_penalty
                    } else {
                        *l * p.repetition_penalty
                    };
                }
            }
            &self.scratch
        } else {
            logits
        };
        if p.temperature <= 0.0 {
            return top_k_indices(logits, 1).first().copied().unwrap_or(0);
        }
        let r: f64 = self.rng.random::<f64>();
        if p.top_k == 0 && p.min_p <= 0.0 && p.top_p >= 1.0 {
            return pick_from_all(logits, p.temperature, r, &mut self.weights);
        }
        let candidates = candidates(logits, p);
        pick(&candidates, r)
    }
}

/// Samples from the whole tempered distribution without building a candidate list: the
/// weights are computed in one vectorized pass, then walked to the point `r` of their total.
fn pick_from_all(logits: &[f32], temperature: f32, r: f64, weights: &mut Vec<f32>) -> u32 {
    let isa = Isa::detect();
    let max = vecmath::max(isa, logits);
    weights.resize(logits.len(), 0.0);
    vecmath::exp_weights(isa, logits, max, 1.0 / temperature, weights);
    let total: f64 = weights
        .chunks(1024)
        .map(|c| c.iter().map(|&w| w as f64).sum::<f64>())
        .sum();
    let mut point = r * total;
    let mut last = 0;
    for (i, &w) in weights.iter().enumerate() {
        if w > 0.0 {
            if point < w as f64 {
                return i as u32;
            }
            point -= w as f64;
            last = i;
        }
    }
    last as u32
}

/// Candidate tokens with (unnormalised) probabilities after temperature, top-k, min-p and
/// top-p, most likely first where an order was needed.
fn candidates(logits: &[f32], p: &SamplingParams) -> Vec<(u32, f64)> {
    let inv_t = 1.0 / p.temperature as f64;
    let max = vecmath::max(Isa::detect(), logits) as f64;
    let weight = |l: f32| ((l as f64 - max) * inv_t).exp();
    let mut cands: Vec<(u32, f64)> = if p.top_k > 0 && p.top_k < logits.len() {
        top_k_indices(logits, p.top_k)
            .into_iter()
            .map(|i| (i, weight(logits[i as usize])))
            .collect()
    } else {
        let mut w = vec![0f32; logits.len()];
        vecmath::exp_weights(Isa::detect(), logits, max as f32, inv_t as f32, &mut w);
        w.iter()
            .enumerate()
            .filter(|(_, w)| **w > 0.0)
            .map(|(i, &w)| (i as u32, w as f64))
            .collect()
    };
    if p.min_p > 0.0 {
        // The top candidate has weight 1 (logits shifted by the max).
        let floor = p.min_p as f64;
        let top = cands.iter().map(|c| c.1).fold(0.0, f64::max);
        cands.retain(|c| c.1 >= floor * top);
    }
    if p.top_p < 1.0 && cands.len() > 1 {
        cands = nucleus(cands, p.top_p as f64);
    }
    cands
}

/// Keeps the smallest most-likely prefix whose probability reaches `top_p`, sorting only a
/// growing head of the candidates instead of all of them.
fn nucleus(mut cands: Vec<(u32, f64)>, top_p: f64) -> Vec<(u32, f64)> {
    let total: f64 = cands.iter().map(|c| c.1).sum();
    let target = top_p * total;
    let by_weight = |a: &(u32, f64), b: &(u32, f64)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
    let mut head = 64.min(cands.len());
    loop {
        if head < cands.len() {
            cands.select_nth_unstable_by(head - 1, by_weight);
        }
        cands[..head].sort_by(by_weight);
        let mut acc = 0.0;
        for (i, c) in cands[..head].iter().enumerate() {
            acc += c.1;
            if acc >= target {
                cands.truncate(i + 1);
                return cands;
            }
        }
        if head == cands.len() {
            return cands;
        }
        head = (head * 4).min(cands.len());
    }
}

/// Walks the candidates' cumulative weight to the point `r` (0..1) of the total.
fn pick(cands: &[(u32, f64)], r: f64) -> u32 {
    let total: f64 = cands.iter().map(|c| c.1).sum();
    let mut point = r * total;
    for &(token, w) in cands {
        if point < w {
            return token;
        }
        point -= w;
    }
    cands.last().map_or(0, |c| c.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(temperature: f32) -> SamplingParams {
        SamplingParams {
            temperature,
            ..SamplingParams::default()
        }
    }

    #[test]
    fn distribution_gives_log_softmax_entropy_and_sorted_top() {
        let logits = [0.0f32, (2.0f32).ln(), 1.0f32.ln() - 10.0, (5.0f32).ln()];
        let d = distribution(&logits, 3);
        let top: Vec<u32> = d.top.iter().map(|t| t.0).collect();
        assert_eq!(top, vec![3, 1, 0]);
        let total = 1.0 + 2.0 + (-10f32).exp() + 5.0;
        assert!((d.top[0].1 - (5.0 / total).ln()).abs() < 1e-5);
        let probs: Vec<f32> = logits.iter().map(|l| (l - d.lse).exp()).collect();
        let h: f32 = probs.iter().map(|p| -p * p.ln()).sum();
        assert!((d.entropy - h).abs() < 1e-4, "{} vs {h}", d.entropy);
    }

    #[test]
    fn top_k_indices_matches_a_full_sort() {
        let values: Vec<f32> = (0..1000).map(|i| ((i * 7919) % 1009) as f32).collect();
        let mut sorted: Vec<u32> = (0..1000).collect();
        sorted.sort_by(|&a, &b| {
            values[b as usize]
                .total_cmp(&values[a as usize])
                .then(a.cmp(&b))
        });
        assert_eq!(top_k_indices(&values, 10), sorted[..10].to_vec());
    }

    #[test]
    fn the_top_one_is_the_first_largest_and_ignores_nan() {
        let nan = f32::NAN;
        let ninf = f32::NEG_INFINITY;
        // Long enough for the vector lanes, with the largest value twice.
        let mut values: Vec<f32> = (0..1000).map(|i| ((i * 7919) % 1009) as f32).collect();
        values[3] = 5000.0;
        values[700] = 5000.0;
        values[1] = nan;
        assert_eq!(top_k_indices(&values, 1), vec![3]);
        assert_eq!(top_k_indices(&values, 1), top_k_indices(&values, 2)[..1]);
        assert_eq!(top_k_indices(&[nan, ninf, ninf], 1), vec![1]);
        assert_eq!(top_k_indices(&[nan, nan], 1), Vec::<u32>::new());
        assert_eq!(top_k_indices(&[-0.0, 0.0], 1), vec![0]);
        assert_eq!(top_k_indices(&[], 1), Vec::<u32>::new());
    }

    #[test]
    fn greedy_picks_the_argmax_and_reports_its_untempered_logprob() {
        let mut s = Sampler::new(&params(0.0), 1);
        let c = s.choose(&[1.0, 3.0, 2.0], &[]);
        assert_eq!(c.token, 1);
        assert!((c.logprob - c.distribution.top[0].1).abs() < 1e-6);
    }

    #[test]
    fn same_seed_same_tokens_and_other_seed_differs() {
        let logits: Vec<f32> = (0..50).map(|i| (i % 7) as f32 * 0.3).collect();
        let run = |seed| {
            let mut s = Sampler::new(&params(1.0), seed);
            (0..40)
                .map(|_| s.choose(&logits, &[]).token)
                .collect::<Vec<_>>()
        };
        assert_eq!(run(5), run(5));
        assert_ne!(run(5), run(6));
    }

    #[test]
    fn top_k_top_p_and_min_p_restrict_the_candidates() {
        let logits = [4.0f32, 3.0, 2.0, 1.0, 0.0];
        let p = SamplingParams {
            top_k: 2,
            ..params(1.0)
        };
        let c: Vec<u32> = candidates(&logits, &p).iter().map(|c| c.0).collect();
        assert_eq!(c, vec![0, 1]);
        // Probabilities ~ 0.64, 0.24, 0.09, ...: top_p 0.8 keeps the first two.
        let p = SamplingParams {
            top_p: 0.8,
            ..params(1.0)
        };
        let c: Vec<u32> = candidates(&logits, &p).iter().map(|c| c.0).collect();
        assert_eq!(c, vec![0, 1]);
        // min_p 0.3: keep tokens with p >= 0.3 * p_max, i.e. logit >= 4 + ln 0.3 = 2.8.
        let p = SamplingParams {
            min_p: 0.3,
            ..params(1.0)
        };
        let mut c: Vec<u32> = candidates(&logits, &p).iter().map(|c| c.0).collect();
        c.sort();
        assert_eq!(c, vec![0, 1]);
    }

    #[test]
    fn repetition_penalty_steers_greedy_away_from_recent_tokens() {
        let p = SamplingParams {
            repetition_penalty: 2.0,
            ..params(0.0)
        };
        let mut s = Sampler::new(&p, 0);
        assert_eq!(s.choose(&[3.0, 2.0, 0.0], &[0]).token, 1);
        // Outside the window the penalty no longer applies.
        let p = SamplingParams {
            repetition_window: 1,
            ..p
        };
        let mut s = Sampler::new(&p, 0);
        assert_eq!(s.choose(&[3.0, 2.0, 0.0], &[0, 2]).token, 0);
    }
}
