//! Monthly price of a fee (upstream `feePrice`) from its computing formula.
//!
//! A cycle of `paymentCycle` months costs this price × paymentCycle. The price is an
//! intermediate money value, so it is kept at 4 decimals half-up (upstream FEE_SCALE);
//! only amounts shown or charged are rounded to 2.

use rust_decimal::{Decimal, RoundingStrategy};
use thiserror::Error;

use super::formula::{Formula, FormulaCode, FormulaError, Variable};

/// Everything a formula may read. Areas are square metres; prices are per month.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PriceInputs {
    /// Unit price per square metre per month.
    pub square_price: Decimal,
    /// Fixed extra per month.
    pub additional_amount: Decimal,
    /// Built-up area, square metres.
    pub built_up_area: Decimal,
    /// Indoor area, square metres.
    pub room_area: Decimal,
    /// The room's monthly rent.
    pub room_rent: Decimal,
    /// The fee's own monthly amount (4004/8008); upstream stores -1.00 for "none", callers map that to `None`.
    pub fee_amount: Option<Decimal>,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PricingError {
    #[error(transparent)]
    Formula(#[from] FormulaError),
    #[error("formula {0} needs the fee's own amount, which is missing")]
    MissingFeeAmount(&'static str),
    #[error("computed price {0} is negative")]
    Negative(Decimal),
}

/// Monthly price, 4 decimals half-up. For 1102 this is the base rent before increases.
pub fn monthly_price(formula: &Formula, inputs: &PriceInputs) -> Result<Decimal, PricingError> {
    let raw = match formula {
        Formula::Code(code) => price_for_code(*code, inputs)?,
        Formula::Expr(expr) => expr.eval(&|v| variable_value(v, inputs))?,
    };
    let price = round4(raw);
    if price.is_sign_negative() && !price.is_zero() {
        return Err(PricingError::Negative(price));
    }
    Ok(price)
}

fn price_for_code(code: FormulaCode, i: &PriceInputs) -> Result<Decimal, PricingError> {
    let area_price = |area: Decimal| {
        i.square_price
            .checked_mul(area)
            .and_then(|p| p.checked_add(i.additional_amount))
            .ok_or(PricingError::Formula(FormulaError::Overflow))
    };
    match code {
        FormulaCode::BuiltUpArea => area_price(i.built_up_area),
        FormulaCode::Fixed => Ok(i.additional_amount),
        FormulaCode::RoomArea => area_price(i.room_area),
        FormulaCode::Rent | FormulaCode::RentWithIncrease => Ok(i.room_rent),
        FormulaCode::Dynamic | FormulaCode::ManualDynamic => i
            .fee_amount
            .ok_or(PricingError::MissingFeeAmount(code.code())),
    }
}

fn variable_value(v: Variable, i: &PriceInputs) -> Decimal {
    match v {
        Variable::BuiltUpArea => i.built_up_area,
        Variable::RoomArea => i.room_area,
        Variable::SquarePrice => i.square_price,
        Variable::AdditionalAmount => i.additional_amount,
        Variable::RoomRent => i.room_rent,
    }
}

/// Intermediate money: 4 decimals half-up.
pub fn round4(x: Decimal) -> Decimal {
    x.round_dp_with_strategy(4, RoundingStrategy::MidpointAwayFromZero)
}

/// Charged money: 2 decimals half-up.
pub fn round2(x: Decimal) -> Decimal {
    x.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn inputs() -> PriceInputs {
        PriceInputs {
            square_price: dec!(2.35),
            additional_amount: dec!(12.5),
            built_up_area: dec!(89.47),
            room_area: dec!(76.123),
            room_rent: dec!(1800),
            fee_amount: Some(dec!(66.66)),
        }
    }

    fn price(text: &str, i: &PriceInputs) -> Result<Decimal, PricingError> {
        monthly_price(&Formula::parse(text).unwrap(), i)
    }

    #[test]
    fn each_formula_prices() {
        let cases = [
            // 2.35 * 89.47 + 12.5 = 210.2545 + 12.5 = 222.7545
            ("1001", dec!(222.7545)),
            // additional amount only
            ("2002", dec!(12.5)),
            // 2.35 * 76.123 + 12.5 = 178.88905 + 12.5 = 191.38905 -> 191.3891 (half-up)
            ("3003", dec!(191.3891)),
            // room rent
            ("1101", dec!(1800)),
            // base rent; increases are applied over time by arrears/payment
            ("1102", dec!(1800)),
            // the fee's own amount
            ("4004", dec!(66.66)),
            ("8008", dec!(66.66)),
            // 1800 / 7 = 257.142857.. -> 257.1429
            ("租金 / 7", dec!(257.1429)),
        ];
        for (text, want) in cases {
            assert_eq!(price(text, &inputs()).unwrap(), want, "{text}");
        }
    }

    #[test]
    fn named_expression_prices_like_1001() {
        let samples = [
            inputs(),
            PriceInputs {
                square_price: dec!(1.3333),
                additional_amount: dec!(0.00005),
                built_up_area: dec!(123.45),
                ..inputs()
            },
        ];
        for i in samples {
            assert_eq!(
                price("面积 * 单价 + 附加费", &i).unwrap(),
                price("1001", &i).unwrap()
            );
        }
    }

    #[test]
    fn missing_amount_and_negative_price_are_errors() {
        let no_amount = PriceInputs {
            fee_amount: None,
            ..inputs()
        };
        assert_eq!(
            price("4004", &no_amount),
            Err(PricingError::MissingFeeAmount("4004"))
        );
        // 12.5 - 1800 = -1787.5
        assert_eq!(
            price("附加费 - 租金", &inputs()),
            Err(PricingError::Negative(dec!(-1787.5)))
        );
        assert_eq!(
            price("租金 / (面积 - 89.47)", &inputs()),
            Err(PricingError::Formula(FormulaError::DivisionByZero))
        );
    }
}
