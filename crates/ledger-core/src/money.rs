//! Money: an amount in yuan held as `Decimal`, with the rounding rules the seeds use named
//! at every call site. No floating point ever touches an amount (DESIGN §2, invariant 7).

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};
use std::fmt;

/// An amount of money in yuan. Serialized as a decimal string so the scale survives
/// ("2.50" stays "2.50") and no JSON reader turns it into a float.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Money(#[serde(with = "rust_decimal::serde::str")] Decimal);

impl schemars::JsonSchema for Money {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Money".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^-?[0-9]+(\\.[0-9]+)?$",
            "description": "Amount in yuan as a decimal string"
        })
    }
}

impl Money {
    pub const ZERO: Money = Money(Decimal::ZERO);

    pub fn new(yuan: Decimal) -> Self {
        Money(yuan)
    }

    pub fn yuan(self) -> Decimal {
        self.0
    }

    /// Intermediate money keeps 4 decimals, half-up (upstream FEE_SCALE = 4).
    pub fn round4_half_up(self) -> Money {
        Money(
            self.0
                .round_dp_with_strategy(4, RoundingStrategy::MidpointAwayFromZero),
        )
    }

    /// Shown amounts have 2 decimals, half-up.
    pub fn round2_half_up(self) -> Money {
        Money(
            self.0
                .round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero),
        )
    }

    /// Yuan to li (1/1000 yuan), the fractional li rounded half-up (seed 000: "不足 1 厘的小数部分四舍五入").
    pub fn to_li_half_up(self) -> i128 {
        let li = (self.0 * Decimal::from(1000))
            .round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero);
        li.mantissa() / 10i128.pow(li.scale())
    }

    pub fn is_negative(self) -> bool {
        self.0.is_sign_negative() && !self.0.is_zero()
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::ops::Add for Money {
    type Output = Money;
    fn add(self, rhs: Money) -> Money {
        Money(self.0 + rhs.0)
    }
}

impl std::ops::Sub for Money {
    type Output = Money;
    fn sub(self, rhs: Money) -> Money {
        Money(self.0 - rhs.0)
    }
}

impl std::ops::AddAssign for Money {
    fn add_assign(&mut self, rhs: Money) {
        self.0 += rhs.0;
    }
}

impl std::iter::Sum for Money {
    fn sum<I: Iterator<Item = Money>>(iter: I) -> Money {
        iter.fold(Money::ZERO, |a, b| a + b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rust_decimal_macros::dec;

    #[test]
    fn li_rounding_is_half_up_at_the_boundary() {
        let table = [
            (dec!(0.0125), 13),
            (dec!(0.0124), 12),
            (dec!(0.0005), 1),
            (dec!(0.0004), 0),
            (dec!(99), 99000),
            (dec!(60.50), 60500),
            (dec!(-0.0005), -1),
        ];
        for (yuan, li) in table {
            assert_eq!(Money::new(yuan).to_li_half_up(), li, "{yuan} yuan");
        }
    }

    #[test]
    fn shown_amounts_round_half_up_to_two_places() {
        assert_eq!(Money::new(dec!(1.005)).round2_half_up().yuan(), dec!(1.01));
        assert_eq!(Money::new(dec!(1.0049)).round2_half_up().yuan(), dec!(1.00));
        assert_eq!(
            Money::new(dec!(2.00005)).round4_half_up().yuan(),
            dec!(2.0001)
        );
    }

    proptest! {
        #[test]
        fn li_is_within_half_a_li_of_the_exact_amount(mantissa in -10_000_000_000i64..10_000_000_000i64, scale in 0u32..8) {
            let yuan = Decimal::new(mantissa, scale);
            let li = Money::new(yuan).to_li_half_up();
            let diff = (Decimal::from(li) - yuan * Decimal::from(1000)).abs();
            prop_assert!(diff <= dec!(0.5));
        }

        #[test]
        fn money_survives_a_json_round_trip_with_its_scale(mantissa in any::<i64>(), scale in 0u32..10) {
            let m = Money::new(Decimal::new(mantissa, scale));
            let text = serde_json::to_string(&m).unwrap();
            let back: Money = serde_json::from_str(&text).unwrap();
            prop_assert_eq!(back.yuan().to_string(), m.yuan().to_string());
        }
    }
}
