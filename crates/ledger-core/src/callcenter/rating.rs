//! Rating of a single call against a [`CallFeeRule`].
//!
//! Standard two-segment telecom rating (the seed names the fields but not
//! the formula): the call is cut into whole billing units, the first
//! `section_time` units are charged at the first-section price × discount,
//! the rest at the second-section price × discount.

use rust_decimal::Decimal;

use super::half_up;
use super::tariff::CallFeeRule;

/// Outcome of rating one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RatedCall {
    /// Billable units: `ceil(duration_s / billing_unit_s)`.
    pub units: u32,
    /// Billed duration (加权时长): `units × billing_unit_s`. This is what
    /// bills are shared by, because it is what the operator charges for.
    pub weight_duration_s: u32,
    /// Fee in yuan, rounded to 4 dp half-up. Per-call fees keep 4 dp so
    /// that summing thousands of sub-fen calls does not accumulate a
    /// rounding error; the bill rounds to 2 dp once, in `billing::settle`.
    pub fee: Decimal,
}

/// Rates one call of `duration_s` seconds.
///
/// A zero-second call (unanswered / failed) costs nothing and bills no
/// units. Every started unit is charged in full. Because `section_time`
/// counts units, `first_units = min(units, section_time)` and the rest fall
/// in the second segment; this equals the per-segment formula
/// `ceil(min(d,T)/u)·p1·d1 + ceil(max(d−T,0)/u)·p2·d2` with `T =
/// section_time × u`.
///
/// `billing_unit_s` of 0 cannot come out of the decoder; if a hand-built
/// rule has one, it is treated as 1 s rather than dividing by zero.
pub fn rate_call(rule: &CallFeeRule, duration_s: u32) -> RatedCall {
    if duration_s == 0 {
        return RatedCall::default();
    }
    let unit_s = rule.billing_unit_s.max(1);
    let units = duration_s.div_ceil(unit_s);
    let first_units = units.min(rule.section_time);
    let rest_units = units - first_units;
    let fee = Decimal::from(first_units) * rule.first_section_price * rule.first_section_discount
        + Decimal::from(rest_units) * rule.second_section_price * rule.second_section_discount;
    RatedCall {
        units,
        // Saturates only for calls within one unit of u32::MAX seconds
        // (~136 years), which no CDR can carry.
        weight_duration_s: units.saturating_mul(unit_s),
        fee: half_up(fee, 4),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    /// The seed's rule: 0.16/min for the first 5 minutes at 98%, then
    /// 1.0/min at 97%, 60 s units.
    /// first unit = 0.16 × 0.98 = 0.1568; second unit = 1.0 × 0.97 = 0.97.
    fn per_minute() -> CallFeeRule {
        crate::callcenter::tests::per_minute_rule("本地手机")
    }

    /// 6 s units, first 50 units (300 s) at 0.015 × 0.9 = 0.0135 per unit,
    /// then 0.012 × 0.95 = 0.0114 per unit.
    fn six_second() -> CallFeeRule {
        CallFeeRule {
            call_type: "本地固话".into(),
            billing_mode: "单一".into(),
            first_section_price: dec!(0.015),
            section_time: 50,
            first_section_discount: dec!(0.9),
            second_section_price: dec!(0.012),
            second_section_discount: dec!(0.95),
            billing_unit_s: 6,
        }
    }

    #[test]
    fn per_minute_table() {
        // (duration_s, units, weight_s, fee)
        let table = [
            (0, 0, 0, dec!(0)),           // zero-second call is free
            (1, 1, 60, dec!(0.1568)),     // 1 × 0.1568
            (59, 1, 60, dec!(0.1568)),    // 1 × 0.1568
            (60, 1, 60, dec!(0.1568)),    // exactly one unit
            (61, 2, 120, dec!(0.3136)),   // 2 × 0.1568
            (299, 5, 300, dec!(0.7840)),  // 5 × 0.1568
            (300, 5, 300, dec!(0.7840)),  // boundary: still all first segment
            (301, 6, 360, dec!(1.7540)),  // 0.784 + 1 × 0.97
            (600, 10, 600, dec!(5.6340)), // 0.784 + 5 × 0.97 = 0.784 + 4.85
            (601, 11, 660, dec!(6.6040)), // 0.784 + 6 × 0.97 = 0.784 + 5.82
        ];
        let rule = per_minute();
        for (duration_s, units, weight_s, fee) in table {
            assert_eq!(
                rate_call(&rule, duration_s),
                RatedCall {
                    units,
                    weight_duration_s: weight_s,
                    fee
                },
                "duration_s = {duration_s}"
            );
        }
    }

    #[test]
    fn six_second_table() {
        let table = [
            (0, 0, 0, dec!(0)),
            (1, 1, 6, dec!(0.0135)),         // 1 × 0.0135
            (59, 10, 60, dec!(0.1350)),      // ceil(59/6) = 10; 10 × 0.0135
            (60, 10, 60, dec!(0.1350)),      // 10 × 0.0135
            (61, 11, 66, dec!(0.1485)),      // 11 × 0.0135
            (299, 50, 300, dec!(0.6750)),    // ceil(299/6) = 50; 50 × 0.0135
            (300, 50, 300, dec!(0.6750)),    // boundary
            (301, 51, 306, dec!(0.6864)),    // 0.675 + 1 × 0.0114
            (3600, 600, 3600, dec!(6.9450)), // 0.675 + 550 × 0.0114 = 0.675 + 6.27
        ];
        let rule = six_second();
        for (duration_s, units, weight_s, fee) in table {
            assert_eq!(
                rate_call(&rule, duration_s),
                RatedCall {
                    units,
                    weight_duration_s: weight_s,
                    fee
                },
                "duration_s = {duration_s}"
            );
        }
    }

    #[test]
    fn per_call_fee_rounds_half_up_to_4dp() {
        let mut rule = per_minute();
        rule.first_section_price = dec!(0.033);
        rule.first_section_discount = dec!(0.95);
        // 1 × 0.033 × 0.95 = 0.03135 → 0.0314 (half-up)
        assert_eq!(rate_call(&rule, 30).fee, dec!(0.0314));
        // 3 × 0.03135 = 0.09405 → 0.0941
        assert_eq!(rate_call(&rule, 180).fee, dec!(0.0941));
    }

    #[test]
    fn zero_section_time_charges_everything_at_second_price() {
        let mut rule = per_minute();
        rule.section_time = 0;
        // 2 × 0.97
        assert_eq!(rate_call(&rule, 90).fee, dec!(1.94));
    }

    #[test]
    fn zero_billing_unit_is_treated_as_one_second() {
        let mut rule = per_minute();
        rule.billing_unit_s = 0;
        let rated = rate_call(&rule, 7);
        assert_eq!((rated.units, rated.weight_duration_s), (7, 7));
    }
}
