//! Honest statistics over counts: intervals, empirical-Bayes shrinkage for fair ranking of
//! officers with few ratings, funnel-plot limits, the change between two periods, and
//! Cronbach's alpha. Pure functions; statrs supplies the distributions.
//!
//! Every function is tested against values computed independently (the reference tool and its
//! version are named beside each expected value).

use statrs::distribution::{Beta, Binomial, ChiSquared, ContinuousCDF, DiscreteCDF, Normal};

/// The standard normal quantile for a two-sided interval at `level` (0.95 → 1.959964).
fn z(level: f64) -> f64 {
    let normal = Normal::new(0.0, 1.0).unwrap_or_else(|_| unreachable!("the standard normal is valid"));
    normal.inverse_cdf(0.5 + level / 2.0)
}

/// The Wilson score interval of `k` successes in `n` trials; `None` when `n` is 0. Counts are
/// real so that an index pooled from several questions can use its effective sample size.
pub fn wilson(k: f64, n: f64, level: f64) -> Option<(f64, f64)> {
    if n <= 0.0 || k > n || k < 0.0 {
        return None;
    }
    let z = z(level);
    let p = k / n;
    let centre = p + z * z / (2.0 * n);
    let half = z * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt();
    let denominator = 1.0 + z * z / n;
    Some((((centre - half) / denominator).max(0.0), ((centre + half) / denominator).min(1.0)))
}

/// The equal-tailed interval of a Beta(`a`, `b`) distribution.
fn beta_interval(a: f64, b: f64, level: f64) -> Option<(f64, f64)> {
    let beta = Beta::new(a, b).ok()?;
    let tail = (1.0 - level) / 2.0;
    Some((beta.inverse_cdf(tail), beta.inverse_cdf(1.0 - tail)))
}

/// The Jeffreys interval (Beta(k + ½, n − k + ½) quantiles); `None` when `n` is 0.
pub fn jeffreys(k: f64, n: f64, level: f64) -> Option<(f64, f64)> {
    if n <= 0.0 || k > n || k < 0.0 {
        return None;
    }
    beta_interval(k + 0.5, n - k + 0.5, level)
}

/// A beta prior fitted to a peer group's shares, for empirical-Bayes shrinkage.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BetaPrior {
    pub alpha: f64,
    pub beta: f64,
}

impl BetaPrior {
    /// Fits Beta(α, β) to peers' `(k, n)` by the method of moments for the beta-binomial
    /// (Kleinman 1973): the pooled share μ, and the intra-class correlation ρ from the
    /// n-weighted spread of the shares beyond what binomial noise explains; α + β = (1 − ρ)/ρ.
    /// When the peers differ no more than chance would make them, ρ is taken as 1/(1 + N)
    /// (N the peers' total n): every share is pulled all but fully to μ, which is what the
    /// data say. `None` without at least two peers with ratings, or when μ is 0 or 1.
    pub fn fit(peers: &[(f64, f64)]) -> Option<Self> {
        let peers: Vec<(f64, f64)> = peers.iter().copied().filter(|(_, n)| *n > 0.0).collect();
        let groups = peers.len() as f64;
        if groups < 2.0 {
            return None;
        }
        let total: f64 = peers.iter().map(|(_, n)| n).sum();
        let mu = peers.iter().map(|(k, _)| k).sum::<f64>() / total;
        if mu <= 0.0 || mu >= 1.0 {
            return None;
        }
        let spread: f64 = peers.iter().map(|(k, n)| n * (k / n - mu).powi(2)).sum();
        let sum_sq: f64 = peers.iter().map(|(_, n)| n * n).sum();
        let binomial = mu * (1.0 - mu);
        let rho = (spread - binomial * (groups - 1.0)) / (binomial * (total - sum_sq / total - (groups - 1.0)));
        let rho = if rho.is_finite() { rho.clamp(1.0 / (1.0 + total), 1.0 - 1e-9) } else { 1.0 / (1.0 + total) };
        let strength = (1.0 - rho) / rho;
        Some(Self { alpha: mu * strength, beta: (1.0 - mu) * strength })
    }

    /// The prior mean μ.
    pub fn mean(&self) -> f64 {
        self.alpha / (self.alpha + self.beta)
    }

    /// The posterior mean share of `k` in `n`: between k/n and μ, nearer μ the smaller n.
    pub fn shrunk(&self, k: f64, n: f64) -> f64 {
        (k + self.alpha) / (n + self.alpha + self.beta)
    }

    /// The equal-tailed posterior credible interval.
    pub fn credible(&self, k: f64, n: f64, level: f64) -> Option<(f64, f64)> {
        beta_interval(k + self.alpha, (n - k).max(0.0) + self.beta, level)
    }
}

/// Where a unit or officer stands on a funnel plot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FunnelPosition {
    /// Above the 99.8% limit.
    WellAbove,
    /// Above the 95% limit.
    Above,
    Within,
    /// Below the 95% limit.
    Below,
    /// Below the 99.8% limit.
    WellBelow,
}

/// Funnel-plot control limits around a target share, exact binomial (Spiegelhalter 2005,
/// interpolated), widened by the overdispersion factor φ only when a test says the spread
/// between the targets is more than binomial chance.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Funnel {
    pub target: f64,
    /// The factor the limits are widened by: the estimate when the test rejects chance, else 1.
    pub phi: f64,
    /// φ estimated from the data (≥ 0), whether or not it was applied.
    pub phi_estimate: f64,
    /// The p-value of the overdispersion test (the winsorised sum of squared z-scores against
    /// χ² with one degree of freedom fewer than the targets); `None` with fewer than 2 targets.
    pub dispersion_p: Option<f64>,
}

/// The level at which the overdispersion test must reject chance before the limits widen.
pub const OVERDISPERSION_LEVEL: f64 = 0.05;

impl Funnel {
    /// Limits around `target` with no widening.
    pub fn plain(target: f64) -> Self {
        Self { target, phi: 1.0, phi_estimate: 1.0, dispersion_p: None }
    }

    /// Whether the limits were widened.
    pub fn widened(&self) -> bool {
        self.phi > 1.0
    }

    /// The target is the pooled share; φ̂ is the mean squared z-score of the units, the 10%
    /// most extreme at each end winsorised (Spiegelhalter 2005). The limits widen by φ̂ only when
    /// I·φ̂ exceeds what χ²(I − 1) allows at [`OVERDISPERSION_LEVEL`]: a spread that chance
    /// explains leaves the exact binomial limits as they are.
    pub fn fit(units: &[(f64, f64)]) -> Option<Self> {
        let units: Vec<(f64, f64)> = units.iter().copied().filter(|(_, n)| *n > 0.0).collect();
        if units.is_empty() {
            return None;
        }
        let target = units.iter().map(|(k, _)| k).sum::<f64>() / units.iter().map(|(_, n)| n).sum::<f64>();
        if target <= 0.0 || target >= 1.0 {
            return Some(Self::plain(target));
        }
        let mut zs: Vec<f64> =
            units.iter().map(|(k, n)| (k / n - target) / (target * (1.0 - target) / n).sqrt()).collect();
        zs.sort_by(f64::total_cmp);
        let cut = (zs.len() as f64 * 0.1).floor() as usize;
        if cut > 0 && zs.len() > 2 * cut {
            let (low, high) = (zs[cut], zs[zs.len() - 1 - cut]);
            for z in zs.iter_mut() {
                *z = z.clamp(low, high);
            }
        }
        let statistic = zs.iter().map(|z| z * z).sum::<f64>();
        let phi_estimate = statistic / zs.len() as f64;
        let dispersion_p = (zs.len() >= 2)
            .then(|| ChiSquared::new((zs.len() - 1) as f64).ok())
            .flatten()
            .map(|chi| 1.0 - chi.cdf(statistic));
        let overdispersed = dispersion_p.is_some_and(|p| p < OVERDISPERSION_LEVEL) && phi_estimate > 1.0;
        let phi = if overdispersed { phi_estimate } else { 1.0 };
        Some(Self { target, phi, phi_estimate, dispersion_p })
    }

    /// The lower and upper limits for a group of size `n` at `level` (0.95 or 0.998); an
    /// effective size that is not whole is rounded for the exact binomial.
    pub fn limits(&self, n: f64, level: f64) -> (f64, f64) {
        let tail = (1.0 - level) / 2.0;
        if self.widened() {
            let half = z(level) * (self.phi * self.target * (1.0 - self.target) / n.max(1.0)).sqrt();
            return ((self.target - half).max(0.0), (self.target + half).min(1.0));
        }
        let n = n.round().max(1.0) as u64;
        (exact_limit(self.target, n, tail), exact_limit(self.target, n, 1.0 - tail))
    }

    /// Where `k` of `n` stands.
    pub fn position(&self, k: f64, n: f64) -> FunnelPosition {
        let share = k / n.max(1.0);
        let (lo95, hi95) = self.limits(n, 0.95);
        let (lo998, hi998) = self.limits(n, 0.998);
        match share {
            s if s > hi998 => FunnelPosition::WellAbove,
            s if s > hi95 => FunnelPosition::Above,
            s if s < lo998 => FunnelPosition::WellBelow,
            s if s < lo95 => FunnelPosition::Below,
            _ => FunnelPosition::Within,
        }
    }
}

/// The `p`-quantile of Binomial(n, target) / n, interpolated between the integers
/// (Spiegelhalter, "Funnel plots for comparing institutional performance", 2005, appendix A.1.1).
fn exact_limit(target: f64, n: u64, p: f64) -> f64 {
    let Ok(binomial) = Binomial::new(target, n) else { return target };
    let r = binomial.inverse_cdf(p);
    let below = if r == 0 { 0.0 } else { binomial.cdf(r - 1) };
    let at = binomial.cdf(r);
    let alpha = if at > below { (at - p) / (at - below) } else { 0.0 };
    ((r as f64 - alpha) / n as f64).clamp(0.0, 1.0)
}

/// The two-sided p-value of the pooled two-proportion z test of k1/n1 against k2/n2.
pub fn two_proportion_p(k1: f64, n1: f64, k2: f64, n2: f64) -> Option<f64> {
    if n1 <= 0.0 || n2 <= 0.0 {
        return None;
    }
    let pooled = (k1 + k2) / (n1 + n2);
    let se = (pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2)).sqrt();
    if se == 0.0 {
        return Some(1.0);
    }
    let z = (k1 / n1 - k2 / n2) / se;
    let normal = Normal::new(0.0, 1.0).ok()?;
    Some(2.0 * (1.0 - normal.cdf(z.abs())))
}

/// Cronbach's alpha from the variances of k items and the variance of their sum.
pub fn cronbach_alpha(item_variances: &[f64], total_variance: f64) -> Option<f64> {
    let k = item_variances.len() as f64;
    if k < 2.0 || total_variance <= 0.0 {
        return None;
    }
    Some(k / (k - 1.0) * (1.0 - item_variances.iter().sum::<f64>() / total_variance))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(got: f64, want: f64, tolerance: f64) -> bool {
        (got - want).abs() <= tolerance
    }

    #[test]
    fn wilson_matches_statsmodels() {
        // statsmodels 0.15.0: proportion_confint(k, n, alpha=0.05, method="wilson")
        let cases = [
            (81.0, 263.0, 0.255289, 0.366210),
            (0.0, 10.0, 0.0, 0.277533),
            (10.0, 10.0, 0.722467, 1.0),
            (45.0, 50.0, 0.786398, 0.956524),
            (3.0, 7.0, 0.158220, 0.749542),
        ];
        for (k, n, lo, hi) in cases {
            let (l, h) = wilson(k, n, 0.95).unwrap();
            assert!(close(l, lo, 1e-6) && close(h, hi, 1e-6), "{k}/{n}: ({l}, {h})");
        }
        assert_eq!(wilson(0.0, 0.0, 0.95), None);
    }

    #[test]
    fn jeffreys_matches_statsmodels() {
        // statsmodels 0.15.0: proportion_confint(k, n, alpha=0.05, method="jeffreys")
        let cases =
            [(81.0, 263.0, 0.254522, 0.365647), (0.0, 10.0, 0.000048, 0.217196), (45.0, 50.0, 0.794645, 0.960806)];
        for (k, n, lo, hi) in cases {
            let (l, h) = jeffreys(k, n, 0.95).unwrap();
            assert!(close(l, lo, 1e-5) && close(h, hi, 1e-5), "{k}/{n}: ({l}, {h})");
        }
    }

    #[test]
    fn the_beta_posterior_matches_scipy() {
        // SciPy 1.17.1: beta.ppf([0.025, 0.975], 81 + 8.5, 263 - 81 + 1.5)
        let prior = BetaPrior { alpha: 8.5, beta: 1.5 };
        let (l, h) = prior.credible(81.0, 263.0, 0.95).unwrap();
        assert!(close(l, 0.27350352, 1e-6) && close(h, 0.38456348, 1e-6), "({l}, {h})");
        assert!(close(prior.shrunk(81.0, 263.0), 89.5 / 273.0, 1e-12));
    }

    #[test]
    fn the_prior_fit_follows_the_method_of_moments() {
        // By hand (checked in Python 3.11 arithmetic): peers 30/40, 45/50, 12/20, 70/90.
        // N = 200, μ = 157/200 = 0.785, S = Σ n (k/n − μ)² = 40·0.035² + 50·0.115² + 20·0.185²
        // + 90·(7/9 − 0.785)² = 1.399444, Σn²/N = 12600/200 = 63, μ(1 − μ) = 0.168775,
        // ρ = (1.399444 − 0.168775·3) / (0.168775·(200 − 63 − 3)) = 0.0394909,
        // α + β = (1 − ρ)/ρ = 24.3223.
        let prior = BetaPrior::fit(&[(30.0, 40.0), (45.0, 50.0), (12.0, 20.0), (70.0, 90.0)]).unwrap();
        assert!(close(prior.mean(), 0.785, 1e-12));
        assert!(close(prior.alpha + prior.beta, 24.3223, 1e-3), "{prior:?}");
        // Peers that differ no more than chance: shares pulled all but fully to the mean.
        let prior = BetaPrior::fit(&[(40.0, 50.0), (41.0, 50.0), (39.0, 50.0), (40.0, 50.0)]).unwrap();
        assert!(prior.alpha + prior.beta >= 199.0, "{prior:?}");
        assert_eq!(BetaPrior::fit(&[(3.0, 5.0)]), None);
        assert_eq!(BetaPrior::fit(&[(0.0, 5.0), (0.0, 9.0)]), None);
    }

    #[test]
    fn exact_funnel_limits_match_scipy_quantiles() {
        // SciPy 1.17.1: binom.ppf(0.025 / 0.975, 50, 0.85) = 37 / 47; binom.ppf(0.001 / 0.999) =
        // 34 / 49; the interpolated limits lie at most one count below each quantile.
        let funnel = Funnel::plain(0.85);
        let (lo, hi) = funnel.limits(50.0, 0.95);
        assert!(lo > 36.0 / 50.0 && lo <= 37.0 / 50.0, "{lo}");
        assert!(hi > 46.0 / 50.0 && hi <= 47.0 / 50.0, "{hi}");
        let (lo, hi) = funnel.limits(200.0, 0.998);
        assert!(lo > 152.0 / 200.0 && lo <= 153.0 / 200.0, "{lo}");
        assert!(hi > 183.0 / 200.0 && hi <= 184.0 / 200.0, "{hi}");
        assert_eq!(funnel.position(48.0, 50.0), FunnelPosition::Above);
        assert_eq!(funnel.position(42.0, 50.0), FunnelPosition::Within);
        assert_eq!(funnel.position(150.0, 200.0), FunnelPosition::WellBelow);
    }

    #[test]
    fn overdispersion_widens_the_funnel() {
        let tight = Funnel::fit(&[(85.0, 100.0), (84.0, 100.0), (86.0, 100.0), (85.0, 100.0), (85.0, 100.0)]).unwrap();
        assert_eq!(tight.phi, 1.0);
        assert!(!tight.widened());
        let spread = Funnel::fit(&[(60.0, 100.0), (95.0, 100.0), (70.0, 100.0), (99.0, 100.0), (80.0, 100.0)]).unwrap();
        assert!(spread.widened() && spread.phi == spread.phi_estimate, "{spread:?}");
        assert!(spread.dispersion_p.unwrap() < OVERDISPERSION_LEVEL);
        let (lo, hi) = spread.limits(100.0, 0.95);
        let (tlo, thi) = Funnel::plain(spread.target).limits(100.0, 0.95);
        assert!(lo < tlo && hi > thi);
    }

    #[test]
    fn a_spread_that_chance_explains_does_not_widen_the_funnel() {
        // φ̂ = 1.19 over 8 targets: Σz² = 9.52 on χ²(7), p = 0.2172 (the χ² survival function, computed
        // independently by the incomplete gamma series) — chance.
        let units = [
            (79.0, 100.0),
            (90.0, 100.0),
            (84.0, 100.0),
            (79.0, 100.0),
            (88.0, 100.0),
            (88.0, 100.0),
            (83.0, 100.0),
            (81.0, 100.0),
        ];
        let funnel = Funnel::fit(&units).unwrap();
        assert!((funnel.phi_estimate - 1.190_476).abs() < 1e-5, "{funnel:?}");
        assert!((funnel.dispersion_p.unwrap() - 0.2171).abs() < 0.01, "{funnel:?}");
        assert!(!funnel.widened() && funnel.phi == 1.0);
        assert_eq!(funnel.limits(100.0, 0.95), Funnel::plain(funnel.target).limits(100.0, 0.95));
    }

    #[test]
    fn two_proportion_test_matches_statsmodels() {
        // statsmodels 0.15.0: proportions_ztest([180, 150], [200, 200]) -> p = 7.890224e-05;
        // proportions_ztest([45, 40], [50, 50]) -> p = 0.161429.
        assert!(close(two_proportion_p(180.0, 200.0, 150.0, 200.0).unwrap(), 7.890224e-05, 1e-9));
        assert!(close(two_proportion_p(45.0, 50.0, 40.0, 50.0).unwrap(), 0.16142946, 1e-7));
        assert_eq!(two_proportion_p(1.0, 0.0, 1.0, 2.0), None);
    }

    #[test]
    fn cronbach_alpha_by_hand() {
        // Three items with variances 1.0, 1.2, 0.8 and a total variance of 7.0:
        // α = 3/2 · (1 − 3.0/7.0) = 0.857142…
        assert!(close(cronbach_alpha(&[1.0, 1.2, 0.8], 7.0).unwrap(), 6.0 / 7.0, 1e-12));
        assert_eq!(cronbach_alpha(&[1.0], 1.0), None);
    }

    #[test]
    fn properties_hold_over_many_cases() {
        // Deterministic sweep rather than random cases: every k of every n up to 120.
        let prior = BetaPrior { alpha: 17.0, beta: 3.0 };
        for n in 1..=120u64 {
            for k in 0..=n {
                let (k, n) = (k as f64, n as f64);
                let p = k / n;
                let (lo, hi) = wilson(k, n, 0.95).unwrap();
                assert!(lo <= p + 1e-12 && p <= hi + 1e-12 && lo >= 0.0 && hi <= 1.0, "wilson {k}/{n}");
                let (jl, jh) = jeffreys(k, n, 0.95).unwrap();
                assert!(jl <= jh && jl >= 0.0 && jh <= 1.0, "jeffreys {k}/{n}");
                let s = prior.shrunk(k, n);
                let (a, b) = if p < prior.mean() { (p, prior.mean()) } else { (prior.mean(), p) };
                assert!(a - 1e-12 <= s && s <= b + 1e-12, "shrunk {k}/{n} = {s} not between {p} and the mean");
                let (cl, ch) = prior.credible(k, n, 0.95).unwrap();
                assert!(cl <= s && s <= ch, "credible {k}/{n}");
            }
        }
    }
}
