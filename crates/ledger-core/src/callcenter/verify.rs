//! Operator-vs-system reconciliation (账单对账, `/api/bill/verify`): the
//! `time_diff` and `fee_diff` strings comparing what the operator billed
//! with what the system rated.

use rust_decimal::Decimal;

use super::half_up;

/// Signed percentage difference of the system figure against the operator
/// figure: `(system − operator) / |operator| × 100`.
///
/// Sign convention: positive means the system computed *more* than the
/// operator billed, negative means less; the operator bill is the reference
/// because it is the invoice being checked. Dividing by `|operator|` keeps
/// that meaning even for a negative (credit) operator figure.
///
/// Always exactly 2 decimals, half-up (away from zero), then `%`: `"0.00%"`,
/// `"-1.25%"`, `"3.40%"`. The seed's examples mix `"0.07%"` and
/// `"-0.017%"`; we standardise on 2 decimals so the column sorts and
/// compares as text. A difference that rounds to zero prints `"0.00%"`,
/// never `"-0.00%"`.
///
/// Operator 0 and system 0 → `"0.00%"` (both agree). Operator 0 and system
/// non-zero → `"N/A"`: there is no finite percentage, and inventing 100%
/// would hide an unbilled line. `"N/A"` also covers the (unreachable in
/// practice) case where the ratio overflows `Decimal`.
pub fn signed_percent_diff(operator: Decimal, system: Decimal) -> String {
    if operator.is_zero() {
        return if system.is_zero() {
            "0.00%".to_owned()
        } else {
            "N/A".to_owned()
        };
    }
    let pct = (system - operator)
        .checked_mul(Decimal::ONE_HUNDRED)
        .and_then(|scaled| scaled.checked_div(operator.abs()));
    match pct {
        Some(pct) => {
            let mut rounded = half_up(pct, 2);
            if rounded.is_zero() {
                rounded = Decimal::ZERO;
            }
            rounded.rescale(2);
            format!("{rounded}%")
        }
        None => "N/A".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn formats_signed_two_decimals() {
        let cases = [
            (dec!(100), dec!(100), "0.00%"),
            (dec!(100), dec!(98.75), "-1.25%"),      // −1.25 / 100
            (dec!(100), dec!(103.4), "3.40%"),       // +3.4 / 100
            (dec!(673552), dec!(674023.5), "0.07%"), // 471.5 / 673552 = 0.0700…%
            (dec!(48000), dec!(47992), "-0.02%"),    // −8 / 48000 = −0.01666…% → −0.02
            (dec!(3), dec!(2), "-33.33%"),
            (dec!(3), dec!(4), "33.33%"),
            (dec!(200), dec!(200.01), "0.01%"), // 0.005% rounds half-up to 0.01
            (dec!(200), dec!(199.99), "-0.01%"), // away from zero on the negative side
            (dec!(100000), dec!(99999.99), "0.00%"), // −0.00001% → no "-0.00%"
            (dec!(50), dec!(150), "200.00%"),
            (dec!(-100), dec!(-90), "10.00%"), // system higher than a credit
        ];
        for (operator, system, want) in cases {
            assert_eq!(
                signed_percent_diff(operator, system),
                want,
                "operator {operator}, system {system}"
            );
        }
    }

    #[test]
    fn zero_operator_figure() {
        assert_eq!(signed_percent_diff(dec!(0), dec!(0)), "0.00%");
        assert_eq!(signed_percent_diff(dec!(0.00), dec!(0)), "0.00%");
        assert_eq!(signed_percent_diff(dec!(0), dec!(12.5)), "N/A");
    }
}
