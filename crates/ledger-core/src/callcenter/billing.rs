//! Per-line, per-bill-period aggregation and settlement: what the system
//! thinks one line should cost for a period, in the shape of the seed's
//! operator bill (`/api/bill/operator/query`: call_fee, minimum_charge_fee,
//! fixed_fee, total_tel_fee, minimum_charge_compare).

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::half_up;
use super::rating::RatedCall;
use super::tariff::Tariff;

/// Running totals of one line over one bill period (also the shape of every usage aggregate
/// the read models keep: summary cells, per-line per-business-line cells).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LineBill {
    /// Number of call records added (话务量), zero-second ones included:
    /// they are calls the operator also counts, they just cost nothing.
    pub call_amount: u64,
    /// Real talk time (通话时长), seconds.
    pub call_duration_s: u64,
    /// Billed time (加权时长), seconds.
    pub weight_duration_s: u64,
    /// Sum of per-call fees, still at 4 dp; rounded once in [`settle`].
    pub call_fee: Decimal,
}

impl LineBill {
    /// Adds one rated call. `duration_s` is the raw call length the call
    /// was rated from (the rating keeps only billed units).
    pub fn add(&mut self, rated: &RatedCall, duration_s: u32) {
        self.call_amount += 1;
        self.call_duration_s += u64::from(duration_s);
        self.weight_duration_s += u64::from(rated.weight_duration_s);
        self.call_fee += rated.fee;
    }

    /// Adds another aggregate's totals.
    pub fn merge(&mut self, other: &LineBill) {
        self.call_amount += other.call_amount;
        self.call_duration_s += other.call_duration_s;
        self.weight_duration_s += other.weight_duration_s;
        self.call_fee += other.call_fee;
    }
}

/// The settled bill of one line for one period; all money at 2 dp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settlement {
    /// Usage fee before discount (通话费用结算), 2 dp half-up.
    pub call_fee: Decimal,
    /// Minimum-charge top-up (低消费用): `max(0, minimum − net usage)`.
    pub minimum_charge_fee: Decimal,
    /// Month rent + number use + caller id + ring fees.
    pub fixed_fee: Decimal,
    /// Threshold discount (超阈值优惠) taken off `call_fee`.
    pub discount: Decimal,
    /// `call_fee − discount + minimum_charge_fee + fixed_fee`.
    pub total_tel_fee: Decimal,
    /// 抵消比较: true when net usage reached the minimum (no top-up needed).
    pub minimum_charge_compare: bool,
}

/// The line's minimum charge for a period: `minimum_charge_total_price`
/// when it is set (> 0), otherwise `minimum_charge_unit_price ×
/// line_quantity`. The total wins because operators quote one or the other
/// and the total is the contractual figure when both are filled in.
pub fn minimum_charge(tariff: &Tariff) -> Decimal {
    if tariff.minimum_charge_total_price > Decimal::ZERO {
        tariff.minimum_charge_total_price
    } else {
        tariff.minimum_charge_unit_price * Decimal::from(tariff.line_quantity)
    }
}

/// The threshold discount: for each rule, when `call_fee` exceeds
/// `tel_fee_threshold`, the excess is reduced by `max_discount` (a ratio:
/// 0.2 takes 20% off the part above the threshold); a rule without
/// `max_discount` gives nothing. Rules do not stack: the largest single
/// discount applies, because the seed's example repeats the same rule and
/// stacking would silently double it. Rounded to 2 dp half-up.
fn threshold_discount(tariff: &Tariff, call_fee: Decimal) -> Decimal {
    tariff
        .discounts
        .iter()
        .filter_map(|rule| {
            let ratio = rule.max_discount?;
            let excess = call_fee - rule.tel_fee_threshold;
            (excess > Decimal::ZERO).then(|| half_up(excess * ratio, 2))
        })
        .max()
        .unwrap_or(Decimal::ZERO)
}

/// Settles one line's period.
///
/// The minimum is compared with the *net* usage (call_fee − discount): the
/// minimum is a floor on what the operator receives for traffic, so a
/// discount must not push the bill under it. Hence
/// `total_tel_fee = max(net usage, minimum) + fixed fees`.
pub fn settle(tariff: &Tariff, bill: &LineBill) -> Settlement {
    let call_fee = half_up(bill.call_fee, 2);
    let discount = threshold_discount(tariff, call_fee);
    let net_usage = call_fee - discount;
    let minimum = half_up(minimum_charge(tariff), 2);
    let minimum_charge_fee = (minimum - net_usage).max(Decimal::ZERO);
    let fixed_fee = half_up(tariff.fixed_fee(), 2);
    Settlement {
        call_fee,
        minimum_charge_fee,
        fixed_fee,
        discount,
        total_tel_fee: half_up(net_usage + minimum_charge_fee + fixed_fee, 2),
        minimum_charge_compare: net_usage >= minimum,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::callcenter::tariff::DiscountRule;
    use rust_decimal_macros::dec;

    /// Two lines at 50/line minimum (→ 100), fixed 100 + 20 + 5 + 3.5 = 128.5.
    pub(crate) fn tariff() -> Tariff {
        Tariff {
            tariff_id: 1,
            city_id: 71,
            workplace_id: 67,
            operator_code: 43,
            line_batch: "E1-联通-北京-03".into(),
            line_quantity: 2,
            did: "041188254440".into(),
            number_detail: String::new(),
            minimum_charge_unit_price: dec!(50),
            minimum_charge_total_price: dec!(0),
            month_rent_fee: dec!(100),
            number_use_fee: dec!(20),
            caller_identify_fee: dec!(5),
            ring_fee: dec!(3.5),
            call_fee: vec![],
            discounts: vec![],
            fee_remark: String::new(),
            take_effect_time: None,
            invalid_time: None,
            enabled: true,
        }
    }

    fn bill_of(fees: &[Decimal]) -> LineBill {
        let mut bill = LineBill::default();
        for &fee in fees {
            let rated = RatedCall {
                units: 1,
                weight_duration_s: 60,
                fee,
            };
            bill.add(&rated, 45);
        }
        bill
    }

    #[test]
    fn add_accumulates_counts_durations_and_fees() {
        let bill = bill_of(&[dec!(0.1568), dec!(0.3136), dec!(0)]);
        assert_eq!(
            bill,
            LineBill {
                call_amount: 3,
                call_duration_s: 135,
                weight_duration_s: 180,
                call_fee: dec!(0.4704),
            }
        );
    }

    #[test]
    fn tops_up_to_the_minimum() {
        // 10.0020 + 20.0030 = 30.0050 → 30.01; minimum 2 × 50 = 100;
        // top-up 100 − 30.01 = 69.99; total 30.01 + 69.99 + 128.50 = 228.50
        let s = settle(&tariff(), &bill_of(&[dec!(10.0020), dec!(20.0030)]));
        assert_eq!(
            s,
            Settlement {
                call_fee: dec!(30.01),
                minimum_charge_fee: dec!(69.99),
                fixed_fee: dec!(128.50),
                discount: dec!(0),
                total_tel_fee: dec!(228.50),
                minimum_charge_compare: false,
            }
        );
    }

    #[test]
    fn no_top_up_when_usage_exceeds_minimum() {
        // 150.4449 → 150.44 ≥ 100; total 150.44 + 128.50 = 278.94
        let s = settle(&tariff(), &bill_of(&[dec!(150.4449)]));
        assert_eq!(s.call_fee, dec!(150.44));
        assert_eq!(s.minimum_charge_fee, dec!(0));
        assert_eq!(s.total_tel_fee, dec!(278.94));
        assert!(s.minimum_charge_compare);
    }

    #[test]
    fn usage_exactly_at_minimum_needs_no_top_up() {
        let s = settle(&tariff(), &bill_of(&[dec!(60), dec!(40)]));
        assert_eq!(s.minimum_charge_fee, dec!(0));
        assert!(s.minimum_charge_compare);
        assert_eq!(s.total_tel_fee, dec!(228.50));
    }

    #[test]
    fn total_price_overrides_unit_price() {
        let mut tariff = tariff();
        tariff.minimum_charge_total_price = dec!(200);
        // 200 − 150.44 = 49.56; total 200 + 128.50 = 328.50
        let s = settle(&tariff, &bill_of(&[dec!(150.4449)]));
        assert_eq!(minimum_charge(&tariff), dec!(200));
        assert_eq!(s.minimum_charge_fee, dec!(49.56));
        assert_eq!(s.total_tel_fee, dec!(328.50));
    }

    #[test]
    fn no_minimum_and_no_fixed_fees() {
        let mut tariff = tariff();
        tariff.minimum_charge_unit_price = dec!(0);
        tariff.month_rent_fee = dec!(0);
        tariff.number_use_fee = dec!(0);
        tariff.caller_identify_fee = dec!(0);
        tariff.ring_fee = dec!(0);
        let s = settle(&tariff, &LineBill::default());
        assert_eq!(s.total_tel_fee, dec!(0));
        assert!(s.minimum_charge_compare, "0 usage meets a 0 minimum");
    }

    #[test]
    fn threshold_discount_reduces_the_excess() {
        let mut tariff = tariff();
        tariff.discounts = vec![
            DiscountRule {
                name: "超阈值优惠".into(),
                tel_fee_threshold: dec!(50),
                max_discount: None,
                discount_type: None,
            },
            DiscountRule {
                name: "超阈值优惠".into(),
                tel_fee_threshold: dec!(50),
                max_discount: Some(dec!(0.2)),
                discount_type: None,
            },
            DiscountRule {
                name: "超阈值优惠".into(),
                tel_fee_threshold: dec!(100),
                max_discount: Some(dec!(0.2)),
                discount_type: None,
            },
        ];
        // best rule: (150.44 − 50) × 0.2 = 20.088 → 20.09 (not stacked with
        // the 100-threshold rule's 10.09); net 130.35 ≥ 100;
        // total 130.35 + 128.50 = 258.85
        let s = settle(&tariff, &bill_of(&[dec!(150.4449)]));
        assert_eq!(s.discount, dec!(20.09));
        assert_eq!(s.minimum_charge_fee, dec!(0));
        assert_eq!(s.total_tel_fee, dec!(258.85));

        // below threshold: no discount
        let s = settle(&tariff, &bill_of(&[dec!(40)]));
        assert_eq!(s.discount, dec!(0));
    }

    #[test]
    fn discount_cannot_push_below_minimum() {
        let mut tariff = tariff();
        tariff.discounts = vec![DiscountRule {
            name: "超阈值优惠".into(),
            tel_fee_threshold: dec!(50),
            max_discount: Some(dec!(1)),
            discount_type: None,
        }];
        // 120 − (120 − 50) × 1 = 50 net; top-up 100 − 50 = 50;
        // total 50 + 50 + 128.50 = 228.50
        let s = settle(&tariff, &bill_of(&[dec!(120)]));
        assert_eq!(s.discount, dec!(70));
        assert_eq!(s.minimum_charge_fee, dec!(50));
        assert!(!s.minimum_charge_compare);
        assert_eq!(s.total_tel_fee, dec!(228.50));
    }
}
