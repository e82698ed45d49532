//! Bill sharing (账单分摊, `/api/bill/share`): splitting a period's operator
//! or system bill across cost centers in proportion to their weights
//! (weight_duration in seconds), to the fen, summing exactly to the total.

use rust_decimal::Decimal;
use rust_decimal::prelude::FromPrimitive;

use super::half_up;

/// Splits `total` (rounded to 2 dp half-up first) across `weights`.
///
/// Each share is `total × w / Σw` rounded to 0.01 half-up; the rounding
/// remainder (`total − Σshares`, at most ±0.005·n) goes onto the largest
/// share by magnitude, ties to the first key in input order, because
/// that is where a fen matters least relatively and the choice is
/// deterministic. (DOMAIN-NOTES suggested the last line; the largest share
/// is the brief's rule.)
///
/// All-zero weights: equal split, each `total / n` rounded half-up, with the
/// remainder on the first key. Empty input: empty output (the total has
/// nowhere to go; callers decide whether that is an error).
///
/// Output keeps input order and one entry per input, including zero-weight
/// keys (which get 0.00 unless all weights are zero).
pub fn allocate<K: Clone>(total: Decimal, weights: &[(K, u64)]) -> Vec<(K, Decimal)> {
    if weights.is_empty() {
        return Vec::new();
    }
    let total = half_up(total, 2);
    // u128 so the sum of any realistic number of u64 weights cannot
    // overflow; Decimal holds up to ~7.9e28, i.e. > 4e9 maximal weights.
    let weight_sum: u128 = weights.iter().map(|(_, w)| u128::from(*w)).sum();

    let mut shares: Vec<Decimal> = if weight_sum == 0 {
        let n = Decimal::from(weights.len());
        vec![half_up(total / n, 2); weights.len()]
    } else {
        let weight_sum = Decimal::from_u128(weight_sum).expect("weight sum fits in Decimal");
        weights
            .iter()
            // ratio first, then × total: w × total could overflow Decimal
            // for large totals and weights, the ratio is always <= 1.
            .map(|(_, w)| half_up(Decimal::from(*w) / weight_sum * total, 2))
            .collect()
    };

    let remainder = total - shares.iter().copied().sum::<Decimal>();
    if !remainder.is_zero() {
        let target = if weight_sum == 0 {
            0
        } else {
            // max_by_key returns the last of equal maxima, so compare on
            // (magnitude, reversed index) to pick the first.
            shares
                .iter()
                .enumerate()
                .max_by_key(|(i, s)| (s.abs(), std::cmp::Reverse(*i)))
                .map(|(i, _)| i)
                .unwrap_or(0)
        };
        shares[target] += remainder;
    }

    weights
        .iter()
        .zip(shares)
        .map(|((k, _), share)| (k.clone(), share))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rust_decimal_macros::dec;

    #[test]
    fn splits_proportionally_with_remainder_on_largest() {
        // 100 × 1/3 = 33.333… → 33.33 each; remainder 0.01 → first largest
        let got = allocate(dec!(100), &[("a", 1), ("b", 1), ("c", 1)]);
        assert_eq!(
            got,
            vec![("a", dec!(33.34)), ("b", dec!(33.33)), ("c", dec!(33.33))]
        );
        // 10 × 1/6 = 1.666… → 1.67; 10 × 5/6 = 8.333… → 8.33; sums to 10
        let got = allocate(dec!(10), &[("x", 1), ("y", 5)]);
        assert_eq!(got, vec![("x", dec!(1.67)), ("y", dec!(8.33))]);
        // 2 × 1/3 = 0.666… → 0.67 ×3 = 2.01; −0.01 onto the first largest
        let got = allocate(dec!(2), &[("a", 1), ("b", 1), ("c", 1)]);
        assert_eq!(
            got,
            vec![("a", dec!(0.66)), ("b", dec!(0.67)), ("c", dec!(0.67))]
        );
        // remainder lands on the largest share, not the first key:
        // 1 × 1/6 = 0.1666… → 0.17 (twice), 1 × 4/6 = 0.6666… → 0.67;
        // sum 1.01, so −0.01 goes onto "c"
        let got = allocate(dec!(1), &[("a", 1), ("b", 1), ("c", 4)]);
        assert_eq!(
            got,
            vec![("a", dec!(0.17)), ("b", dec!(0.17)), ("c", dec!(0.66))]
        );
    }

    #[test]
    fn zero_weights_and_empty() {
        let got = allocate(dec!(100), &[("a", 0), ("b", 0), ("c", 0)]);
        assert_eq!(
            got,
            vec![("a", dec!(33.34)), ("b", dec!(33.33)), ("c", dec!(33.33))]
        );
        let got = allocate(dec!(100), &[("a", 0), ("b", 7)]);
        assert_eq!(got, vec![("a", dec!(0)), ("b", dec!(100))]);
        assert!(allocate::<&str>(dec!(100), &[]).is_empty());
        // total itself is taken to 2 dp half-up
        let got = allocate(dec!(1.005), &[("a", 1)]);
        assert_eq!(got, vec![("a", dec!(1.01))]);
    }

    proptest! {
        #[test]
        fn shares_sum_exactly_and_stay_close(
            total_cents in -10_000_000_000i64..10_000_000_000i64,
            weights in prop::collection::vec(0u64..5_000_000, 1..40),
        ) {
            let total = Decimal::new(total_cents, 2);
            let keyed: Vec<(usize, u64)> = weights.iter().copied().enumerate().collect();
            let got = allocate(total, &keyed);
            prop_assert_eq!(got.len(), keyed.len());
            prop_assert_eq!(got.iter().map(|(_, s)| *s).sum::<Decimal>(), total);

            let n = Decimal::from(keyed.len());
            let weight_sum: u64 = weights.iter().sum();
            let tolerance = dec!(0.01) * n;
            for ((k, share), (k2, w)) in got.iter().zip(&keyed) {
                prop_assert_eq!(k, k2);
                prop_assert_eq!(share.round_dp(2), *share);
                let exact = if weight_sum == 0 {
                    total / n
                } else {
                    total * Decimal::from(*w) / Decimal::from(weight_sum)
                };
                prop_assert!(
                    (*share - exact).abs() <= tolerance,
                    "share {} exact {} n {}", share, exact, n
                );
            }
        }
    }
}
