//! Exact arithmetic for the comparisons that decide a band or a suggested level: a share is a
//! ratio of counts, an overall index a weighted mean of such ratios, and a threshold a decimal
//! written in the settings. 10/30 and 20/30 average to exactly 50 %, which meets a band that
//! starts at 50; in floating point it is 49.999… and would not. The figures shown are still the
//! floating-point ones, rounded (see [`super::rounding`]); only the comparisons are exact.

use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::{One, Zero};

/// An exact non-negative value: a share (0–1), points, or a weight.
pub type Exact = BigRational;

/// `k / n`; `None` when `n` is 0.
pub fn ratio(k: u64, n: u64) -> Option<Exact> {
    (n > 0).then(|| BigRational::new(BigInt::from(k), BigInt::from(n)))
}

/// The exact value of the decimal that `x` prints as: 66.7 is 667/10, not the binary number
/// nearest to it. Settings are written as decimals; this is what their writer meant.
pub fn decimal(x: f64) -> Exact {
    let text = format!("{x}");
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.as_str()),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let parse = |s: &str| -> BigInt { if s.is_empty() { BigInt::zero() } else { s.parse().unwrap_or_default() } };
    let scale = BigInt::from(10).pow(fraction.len() as u32);
    let value = BigRational::new(parse(whole) * &scale + parse(fraction), scale);
    if negative { -value } else { value }
}

/// Whether a share (0–1) is at least `min_pct` percent.
pub fn at_least_pct(share: &Exact, min_pct: f64) -> bool {
    share * BigRational::from_integer(BigInt::from(100)) >= decimal(min_pct)
}

/// The mean of `values` weighted by `weights`, `None` when the weights sum to 0.
pub fn weighted_mean(parts: &[(Exact, Exact)]) -> Option<Exact> {
    let total: Exact = parts.iter().map(|(w, _)| w.clone()).sum();
    if total.is_zero() {
        return None;
    }
    let sum: Exact = parts.iter().map(|(w, v)| w * v).sum();
    Some(sum / total)
}

/// The plain mean of `values`.
pub fn mean(values: &[Exact]) -> Option<Exact> {
    let parts: Vec<(Exact, Exact)> = values.iter().map(|v| (Exact::one(), v.clone())).collect();
    weighted_mean(&parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_what_they_print_as() {
        assert_eq!(decimal(66.7), BigRational::new(667.into(), 10.into()));
        assert_eq!(decimal(50.0), BigRational::from_integer(50.into()));
        assert_eq!(decimal(0.0), BigRational::zero());
        assert_eq!(decimal(-1.25), BigRational::new((-125).into(), 100.into()));
        assert_eq!(decimal(1e-7), BigRational::new(1.into(), 10_000_000.into()));
    }

    #[test]
    fn thirds_average_to_exactly_a_half() {
        let (a, b) = (ratio(10, 30).unwrap(), ratio(20, 30).unwrap());
        let m = mean(&[a, b]).unwrap();
        assert!(at_least_pct(&m, 50.0) && !at_least_pct(&m, 50.000_001));
        let m = mean(&[ratio(9, 35).unwrap(), ratio(33, 35).unwrap()]).unwrap();
        assert!(at_least_pct(&m, 60.0), "9/35 and 33/35 make exactly 60 %");
    }
}
