//! One rounding rule for every figure a person reads, on pages, sheets, CSV, XLSX and JSON:
//! half away from zero, on the value as computed. Shares come from counts, so a half is often
//! exact (25/32 = 78.125 % is 78.13, everywhere); a value that floating point carries a hair
//! below an exact half is still taken as the half. Percentages, means and points are written
//! with two decimals (pages show one, by the same rule); p-values with three significant digits.

/// How far below an exact half, in units of the last decimal kept, a computed value may fall
/// and still be taken as the half: floating point errs by about 1e-12 there; a real share that
/// close to a half would need millions of answers.
const HALF_TOLERANCE: f64 = 1e-7;

/// `x` rounded to `decimals` decimals, half away from zero.
pub fn round(x: f64, decimals: u32) -> f64 {
    if !x.is_finite() {
        return x;
    }
    let scale = 10f64.powi(decimals as i32);
    let scaled = x * scale;
    (scaled + scaled.signum() * HALF_TOLERANCE).round() / scale
}

/// `x` rounded by [`round`] and written with exactly `decimals` decimals.
pub fn fixed(x: f64, decimals: u32) -> String {
    format!("{:.*}", decimals as usize, round(x, decimals))
}

/// As [`fixed`], with the decimal comma Vietnamese readers write (70,8; 3,96): for the pages
/// and printed sheets in Vietnamese. English pages and machine formats (CSV, JSON) keep the dot.
pub fn fixed_vi(x: f64, decimals: u32) -> String {
    fixed(x, decimals).replace('.', ",")
}

/// A p-value written with three significant digits and a decimal comma.
pub fn p_value_text_vi(p: f64) -> String {
    p_value_text(p).replace('.', ",")
}

/// A p-value to three significant digits (0.0456, 0.500, 1.00); below 1e-12, 0.
pub fn p_value(p: f64) -> f64 {
    round(p, p_decimals(p))
}

/// A p-value written with three significant digits.
pub fn p_value_text(p: f64) -> String {
    fixed(p, p_decimals(p))
}

fn p_decimals(p: f64) -> u32 {
    if p < 1e-12 {
        return 12;
    }
    // Three significant digits: 0.0456 has its first at the second decimal, so four decimals.
    (2 - p.log10().floor() as i32).clamp(0, 14) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halves_go_away_from_zero() {
        assert_eq!(fixed(25.0 / 32.0 * 100.0, 2), "78.13");
        assert_eq!(fixed(78.124, 2), "78.12");
        assert_eq!(fixed(2.675, 2), "2.68", "2.675 is stored a hair below the half");
        assert_eq!(fixed(1.005, 2), "1.01");
        assert_eq!(fixed(-0.125, 2), "-0.13");
        assert_eq!(fixed(100.0 / 3.0 + 100.0 * 2.0 / 3.0, 2), "100.00");
        assert_eq!(fixed(49.999_999_999_999_99, 2), "50.00");
        assert_eq!(fixed(70.85, 1), "70.9");
        assert_eq!(round(78.125, 2), 78.13);
    }

    #[test]
    fn every_share_of_small_counts_rounds_as_its_exact_value() {
        // k/n × 100 for n up to 400: the exact decimal expansion decides, not the float.
        for n in 1u64..=400 {
            for k in 0..=n {
                let x = k as f64 / n as f64 * 100.0;
                // Exact: 100k/n to two decimals, half up: floor((10000k·2 + n) / (2n)).
                let hundredths = (20_000 * k + n) / (2 * n);
                let expected = format!("{}.{:02}", hundredths / 100, hundredths % 100);
                assert_eq!(fixed(x, 2), expected, "{k}/{n}");
            }
        }
    }

    #[test]
    fn p_values_keep_three_significant_digits() {
        assert_eq!(p_value_text(0.046), "0.0460");
        assert_eq!(p_value_text(0.04567), "0.0457");
        assert_eq!(p_value_text(0.5), "0.500");
        assert_eq!(p_value_text(1.0), "1.00");
        assert_eq!(p_value_text(0.000_123_45), "0.000123");
        assert_eq!(p_value(0.046), 0.046);
    }
}
