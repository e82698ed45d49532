//! Tariffs (资费) of one call-center line: the fixed monthly fees, the
//! minimum charge (低消), the per-call-type rating rules and the threshold
//! discounts, plus decoders for the positional arrays the 天语 billing
//! center uses in `call_fee_config` / `discount_fee_config`.
//!
//! The seed only lists field names, so the decoders pin down the meaning of
//! each position here rather than leaving it to whoever builds the form.

use chrono::NaiveDateTime;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Billing unit used when a call-fee array has no 8th element: the seed's
/// example (`["本地手机","单一",0.16,5,0.98,1.0,0.97]`) omits it, and
/// per-minute billing is the usual default for Chinese call-center lines.
pub const DEFAULT_BILLING_UNIT_S: u32 = 60;

/// One element of a positional config array as it arrives from JSON.
///
/// Kept deliberately small (no serde_json here): the adapter maps JSON
/// strings to `Text` and JSON numbers to `Number`; anything else (null,
/// bool, nested) should be mapped to `Text` of its literal by the adapter or
/// rejected there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scalar {
    Text(String),
    Number(Decimal),
}

/// Why a positional tariff array was refused. Every variant names the full
/// path (`call_fee_config[0][2]`) and, where one exists, the field, so the
/// API can echo it in `{"code":-1,"message":...}` unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TariffError {
    #[error("{path} has {got} elements, expected {expected}")]
    WrongLength {
        path: String,
        expected: &'static str,
        got: usize,
    },
    #[error("{path} ({field}) must be a number")]
    NotANumber { path: String, field: &'static str },
    #[error("{path} ({field}) must be a string")]
    NotText { path: String, field: &'static str },
    #[error("{path} ({field}) must not be empty")]
    Empty { path: String, field: &'static str },
    #[error("{path} ({field}) {rule}, got {value}")]
    OutOfRange {
        path: String,
        field: &'static str,
        rule: &'static str,
        value: String,
    },
}

/// Rating rule for one call type (话务类型) on a line.
///
/// Positional layout of a `call_fee_config` entry (same order as the seed's
/// field list):
///
/// | pos | field                    | type / constraint                          |
/// |-----|--------------------------|--------------------------------------------|
/// | 0   | call_type                | non-empty string, e.g. "本地手机"           |
/// | 1   | billing_mode             | non-empty string, e.g. "单一" (kept opaque) |
/// | 2   | first_section_price      | number >= 0, yuan per billing unit         |
/// | 3   | section_time             | whole number >= 0, **in billing units**    |
/// | 4   | first_section_discount   | number in (0, 1], multiplier (0.98 = 98%)   |
/// | 5   | second_section_price     | number >= 0, yuan per billing unit         |
/// | 6   | second_section_discount  | number in (0, 1], multiplier               |
/// | 7   | billing_unit (optional)  | seconds; see below; absent → 60 s          |
///
/// `section_time` counts billing units, not seconds: the seed's `5` with the
/// default 60 s unit means the first 300 s are charged at the first-section
/// price. Counting units keeps the segment boundary on a unit boundary, so a
/// call never has a unit split between two prices.
///
/// `billing_unit` accepts a positive whole number of seconds (6 and 60 are
/// typical), the strings `"6"`, `"6s"`, `"6秒"`, `"60s"`, `"分钟"` (60 s),
/// `"秒"` (per-second, 1 s), and `""` (the default, because the seed types
/// the field as a string that forms may leave blank).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CallFeeRule {
    pub call_type: String,
    pub billing_mode: String,
    pub first_section_price: Decimal,
    /// Length of the first segment in billing units (not seconds).
    pub section_time: u32,
    pub first_section_discount: Decimal,
    pub second_section_price: Decimal,
    pub second_section_discount: Decimal,
    pub billing_unit_s: u32,
}

impl CallFeeRule {
    /// Length of the first segment in seconds, for display and reports.
    pub fn section_time_s(&self) -> u64 {
        u64::from(self.section_time) * u64::from(self.billing_unit_s)
    }
}

/// Threshold discount (超阈值优惠) decoded from `["超阈值优惠",50,""]`:
/// position 0 the name, 1 the threshold in yuan (number >= 0), 2 the
/// maximum discount ratio in [0, 1] or `""` for none. Three elements as in
/// the seed's example, or four in the seed table's order `[discount_name,
/// tel_fee_threshold, discount_type, max_discount]` (the type a text label,
/// `""` for none); the ratio may also be a numeric string ("0.2") or a
/// percent string ("20%") because the seed types `max_discount` as a string.
///
/// How the discount is applied is decided in `billing::settle`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DiscountRule {
    pub name: String,
    pub tel_fee_threshold: Decimal,
    pub max_discount: Option<Decimal>,
    /// 优惠类型 (`discount_type`), from a 4-element entry in the seed table's order
    /// `[discount_name, tel_fee_threshold, discount_type, max_discount]`: a label kept and
    /// listed; rating applies every discount as the threshold discount described above.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discount_type: Option<String>,
}

/// The tariff in force for one line (线路) as configured by
/// `POST /api/fee/config/:id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Tariff {
    /// The `:id` of `POST /api/fee/config/:id` (线路 ID); the same id names the tariff in
    /// `PUT /api/bill/fee/edit/:id` and `POST /api/bill/fee/manage/state/:id`, and is the `id`
    /// of `/api/bill/fee/manage` items.
    pub tariff_id: u64,
    /// Fixed for the tariff's life: it is the partition the tariff's events live in.
    pub city_id: i64,
    pub workplace_id: i64,
    pub operator_code: i64,
    pub line_batch: String,
    pub line_quantity: u32,
    /// The DID segment (DID号段) this tariff rates: see [`did_specificity`].
    pub did: String,
    /// 号码明细: the numbers of the segment as free text, kept for display.
    pub number_detail: String,
    pub minimum_charge_unit_price: Decimal,
    pub minimum_charge_total_price: Decimal,
    pub month_rent_fee: Decimal,
    pub number_use_fee: Decimal,
    pub caller_identify_fee: Decimal,
    pub ring_fee: Decimal,
    pub call_fee: Vec<CallFeeRule>,
    pub discounts: Vec<DiscountRule>,
    pub fee_remark: String,
    /// 生效时间, inclusive.
    #[serde(with = "crate::callcenter::opt_business_time")]
    #[schemars(schema_with = "crate::callcenter::opt_business_time::schema")]
    pub take_effect_time: Option<NaiveDateTime>,
    /// 失效时间, exclusive: the moment the tariff stops rating.
    #[serde(with = "crate::callcenter::opt_business_time")]
    #[schemars(schema_with = "crate::callcenter::opt_business_time::schema")]
    pub invalid_time: Option<NaiveDateTime>,
    pub enabled: bool,
}

impl Tariff {
    /// Fees charged every bill period regardless of traffic.
    pub fn fixed_fee(&self) -> Decimal {
        self.month_rent_fee + self.number_use_fee + self.caller_identify_fee + self.ring_fee
    }

    /// The first rule configured for `call_type`. First wins because the
    /// config object is keyed "0", "1", … and the UI lists rules in that
    /// order; duplicates are a config mistake, not something to merge.
    pub fn rule_for(&self, call_type: &str) -> Option<&CallFeeRule> {
        self.call_fee.iter().find(|r| r.call_type == call_type)
    }

    /// Whether this tariff rates calls made at `t`: it must be enabled and
    /// `t` must lie in the half-open window `[take_effect_time,
    /// invalid_time)`. Half-open so that a successor tariff taking effect
    /// at the old one's invalid_time never overlaps it. A missing bound is
    /// unbounded on that side.
    pub fn rates_at(&self, t: NaiveDateTime) -> bool {
        self.enabled
            && self.take_effect_time.is_none_or(|start| t >= start)
            && self.invalid_time.is_none_or(|end| t < end)
    }
}

/// How specifically a tariff's DID segment covers a called DID, or `None` when it does not.
///
/// A segment is either a prefix (`"0411882544"` covers every DID starting with it, and a full
/// number covers exactly itself) or an inclusive range of equally long numbers
/// (`"041188254440-041188254449"`, compared as text so leading zeros count). The specificity is
/// the length of the prefix, or of the common prefix of the range's bounds, so a tariff for one
/// number wins over one for its whole segment. An empty segment (a tariff configured without
/// `did`) covers every DID of the city with specificity 0.
pub fn did_specificity(segment: &str, did: &str) -> Option<usize> {
    let segment = segment.trim();
    if segment.is_empty() {
        // A tariff created without `did` covers every DID of its city, least specifically.
        return Some(0);
    }
    if let Some((low, high)) = segment.split_once('-') {
        let (low, high) = (low.trim(), high.trim());
        let covered = !low.is_empty()
            && low.len() == high.len()
            && did.len() == low.len()
            && low <= did
            && did <= high;
        return covered.then(|| {
            low.bytes()
                .zip(high.bytes())
                .take_while(|(a, b)| a == b)
                .count()
        });
    }
    did.starts_with(segment).then_some(segment.len())
}

const CALL_FEE_FIELDS: [&str; 8] = [
    "call_type",
    "billing_mode",
    "first_section_price",
    "section_time",
    "first_section_discount",
    "second_section_price",
    "second_section_discount",
    "billing_unit",
];

const DISCOUNT_FIELDS: [&str; 3] = ["discount_name", "tel_fee_threshold", "max_discount"];
const DISCOUNT_FIELDS_4: [&str; 4] = [
    "discount_name",
    "tel_fee_threshold",
    "discount_type",
    "max_discount",
];

/// Reads positions of one array, producing errors that carry the path.
struct Reader<'a> {
    prefix: String,
    items: &'a [Scalar],
    fields: &'static [&'static str],
}

impl Reader<'_> {
    fn path(&self, pos: usize) -> String {
        format!("{}[{}]", self.prefix, pos)
    }

    fn text(&self, pos: usize) -> Result<String, TariffError> {
        let field = self.fields[pos];
        match &self.items[pos] {
            Scalar::Text(s) if s.trim().is_empty() => Err(TariffError::Empty {
                path: self.path(pos),
                field,
            }),
            Scalar::Text(s) => Ok(s.trim().to_owned()),
            Scalar::Number(_) => Err(TariffError::NotText {
                path: self.path(pos),
                field,
            }),
        }
    }

    fn number(&self, pos: usize) -> Result<Decimal, TariffError> {
        match &self.items[pos] {
            Scalar::Number(n) => Ok(*n),
            Scalar::Text(_) => Err(TariffError::NotANumber {
                path: self.path(pos),
                field: self.fields[pos],
            }),
        }
    }

    fn out_of_range(&self, pos: usize, rule: &'static str, value: impl ToString) -> TariffError {
        TariffError::OutOfRange {
            path: self.path(pos),
            field: self.fields[pos],
            rule,
            value: value.to_string(),
        }
    }

    fn price(&self, pos: usize) -> Result<Decimal, TariffError> {
        let n = self.number(pos)?;
        if n.is_sign_negative() && !n.is_zero() {
            return Err(self.out_of_range(pos, "must be >= 0", n));
        }
        Ok(n)
    }

    /// Discounts on call segments are multipliers; 0 would make calls free
    /// (almost certainly a typo for "no discount"), above 1 a surcharge.
    fn multiplier(&self, pos: usize) -> Result<Decimal, TariffError> {
        let n = self.number(pos)?;
        if n <= Decimal::ZERO || n > Decimal::ONE {
            return Err(self.out_of_range(pos, "must be in (0, 1]", n));
        }
        Ok(n)
    }

    fn whole(&self, pos: usize) -> Result<u32, TariffError> {
        let n = self.number(pos)?;
        if !n.fract().is_zero() {
            return Err(self.out_of_range(pos, "must be a whole number", n));
        }
        n.to_u32()
            .ok_or_else(|| self.out_of_range(pos, "must be between 0 and 4294967295", n))
    }

    fn billing_unit_s(&self, pos: usize) -> Result<u32, TariffError> {
        let unit = match &self.items[pos] {
            Scalar::Number(_) => self.whole(pos)?,
            Scalar::Text(s) => {
                let s = s.trim();
                match s {
                    "" => DEFAULT_BILLING_UNIT_S,
                    "分钟" | "分" | "min" => 60,
                    "秒" => 1,
                    _ => {
                        let digits = s
                            .strip_suffix('s')
                            .or_else(|| s.strip_suffix('秒'))
                            .unwrap_or(s);
                        digits.parse::<u32>().map_err(|_| {
                            self.out_of_range(
                                pos,
                                "must be seconds (6, \"6s\", \"60s\") or \"分钟\"/\"秒\"",
                                format!("{s:?}"),
                            )
                        })?
                    }
                }
            }
        };
        if unit == 0 {
            return Err(self.out_of_range(pos, "must be > 0", unit));
        }
        Ok(unit)
    }
}

/// Decodes `call_fee_config[index]`; see [`CallFeeRule`] for the layout.
pub fn decode_call_fee_rule(index: &str, items: &[Scalar]) -> Result<CallFeeRule, TariffError> {
    let prefix = format!("call_fee_config[{index}]");
    if !(7..=8).contains(&items.len()) {
        return Err(TariffError::WrongLength {
            path: prefix,
            expected: "7 or 8",
            got: items.len(),
        });
    }
    let r = Reader {
        prefix,
        items,
        fields: &CALL_FEE_FIELDS,
    };
    Ok(CallFeeRule {
        call_type: r.text(0)?,
        billing_mode: r.text(1)?,
        first_section_price: r.price(2)?,
        section_time: r.whole(3)?,
        first_section_discount: r.multiplier(4)?,
        second_section_price: r.price(5)?,
        second_section_discount: r.multiplier(6)?,
        billing_unit_s: if items.len() == 8 {
            r.billing_unit_s(7)?
        } else {
            DEFAULT_BILLING_UNIT_S
        },
    })
}

/// Decodes `discount_fee_config[index]`; see [`DiscountRule`] for the layout.
pub fn decode_discount_rule(index: &str, items: &[Scalar]) -> Result<DiscountRule, TariffError> {
    let prefix = format!("discount_fee_config[{index}]");
    // 3 elements: the seed example's [name, threshold, max_discount]; 4: the seed table's order
    // [name, threshold, discount_type, max_discount].
    let (fields, type_at, ratio_at): (&'static [&'static str], _, _) = match items.len() {
        3 => (&DISCOUNT_FIELDS, None, 2),
        4 => (&DISCOUNT_FIELDS_4, Some(2), 3),
        got => {
            return Err(TariffError::WrongLength {
                path: prefix,
                expected: "3 or 4",
                got,
            });
        }
    };
    let r = Reader {
        prefix,
        items,
        fields,
    };
    let name = r.text(0)?;
    let tel_fee_threshold = r.price(1)?;
    let discount_type = match type_at.map(|at| (at, &items[at])) {
        Some((_, Scalar::Text(s))) if s.trim().is_empty() => None,
        Some((at, _)) => Some(r.text(at)?),
        None => None,
    };
    let ratio = match &items[ratio_at] {
        Scalar::Number(n) => Some(*n),
        Scalar::Text(s) if s.trim().is_empty() => None,
        Scalar::Text(s) => {
            let s = s.trim();
            let parsed = match s.strip_suffix('%') {
                Some(pct) => pct
                    .trim()
                    .parse::<Decimal>()
                    .ok()
                    .map(|p| p / Decimal::ONE_HUNDRED),
                None => s.parse::<Decimal>().ok(),
            };
            Some(parsed.ok_or_else(|| {
                r.out_of_range(
                    ratio_at,
                    "must be a ratio, a percent or \"\"",
                    format!("{s:?}"),
                )
            })?)
        }
    };
    if let Some(ratio) = ratio
        && (ratio < Decimal::ZERO || ratio > Decimal::ONE)
    {
        return Err(r.out_of_range(ratio_at, "must be in [0, 1]", ratio));
    }
    Ok(DiscountRule {
        name,
        tel_fee_threshold,
        max_discount: ratio,
        discount_type,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;
    use rust_decimal_macros::dec;

    fn t(s: &str) -> Scalar {
        Scalar::Text(s.to_owned())
    }
    fn n(d: Decimal) -> Scalar {
        Scalar::Number(d)
    }
    fn seed_row() -> Vec<Scalar> {
        vec![
            t("本地手机"),
            t("单一"),
            n(dec!(0.16)),
            n(dec!(5)),
            n(dec!(0.98)),
            n(dec!(1.0)),
            n(dec!(0.97)),
        ]
    }

    #[test]
    fn decodes_seed_example_with_default_unit() {
        let rule = decode_call_fee_rule("0", &seed_row()).unwrap();
        assert_eq!(
            rule,
            CallFeeRule {
                call_type: "本地手机".into(),
                billing_mode: "单一".into(),
                first_section_price: dec!(0.16),
                section_time: 5,
                first_section_discount: dec!(0.98),
                second_section_price: dec!(1.0),
                second_section_discount: dec!(0.97),
                billing_unit_s: 60,
            }
        );
        assert_eq!(rule.section_time_s(), 300);
    }

    #[test]
    fn eighth_element_sets_billing_unit() {
        let cases = [
            (n(dec!(6)), 6),
            (t("6s"), 6),
            (t("60s"), 60),
            (t("6秒"), 6),
            (t("分钟"), 60),
            (t("秒"), 1),
            (t(""), 60),
        ];
        for (unit, want) in cases {
            let mut row = seed_row();
            row.push(unit.clone());
            let rule = decode_call_fee_rule("1", &row).unwrap();
            assert_eq!(rule.billing_unit_s, want, "{unit:?}");
        }
    }

    #[test]
    fn rejects_malformed_call_fee_arrays() {
        let short = &seed_row()[..5];
        assert_eq!(
            decode_call_fee_rule("0", short).unwrap_err().to_string(),
            "call_fee_config[0] has 5 elements, expected 7 or 8"
        );
        let mut long = seed_row();
        long.extend([n(dec!(60)), n(dec!(1))]);
        assert!(matches!(
            decode_call_fee_rule("0", &long),
            Err(TariffError::WrongLength { got: 9, .. })
        ));

        let mut price_text = seed_row();
        price_text[2] = t("0.16");
        assert_eq!(
            decode_call_fee_rule("0", &price_text)
                .unwrap_err()
                .to_string(),
            "call_fee_config[0][2] (first_section_price) must be a number"
        );

        let mut type_number = seed_row();
        type_number[0] = n(dec!(1));
        assert_eq!(
            decode_call_fee_rule("3", &type_number)
                .unwrap_err()
                .to_string(),
            "call_fee_config[3][0] (call_type) must be a string"
        );

        let mut empty_type = seed_row();
        empty_type[0] = t("  ");
        assert!(matches!(
            decode_call_fee_rule("0", &empty_type),
            Err(TariffError::Empty {
                field: "call_type",
                ..
            })
        ));

        for bad in [dec!(0), dec!(1.01), dec!(-0.5)] {
            let mut row = seed_row();
            row[4] = n(bad);
            assert_eq!(
                decode_call_fee_rule("0", &row).unwrap_err().to_string(),
                format!(
                    "call_fee_config[0][4] (first_section_discount) must be in (0, 1], got {bad}"
                )
            );
        }

        let mut neg_price = seed_row();
        neg_price[5] = n(dec!(-0.01));
        assert_eq!(
            decode_call_fee_rule("0", &neg_price)
                .unwrap_err()
                .to_string(),
            "call_fee_config[0][5] (second_section_price) must be >= 0, got -0.01"
        );

        let mut frac_section = seed_row();
        frac_section[3] = n(dec!(2.5));
        assert_eq!(
            decode_call_fee_rule("0", &frac_section)
                .unwrap_err()
                .to_string(),
            "call_fee_config[0][3] (section_time) must be a whole number, got 2.5"
        );

        for bad_unit in [n(dec!(0)), t("abc"), t("0s"), n(dec!(6.5))] {
            let mut row = seed_row();
            row.push(bad_unit.clone());
            let err = decode_call_fee_rule("0", &row).unwrap_err();
            assert!(
                err.to_string()
                    .starts_with("call_fee_config[0][7] (billing_unit)"),
                "{bad_unit:?}: {err}"
            );
        }
    }

    #[test]
    fn decodes_discount_rules() {
        let rule = decode_discount_rule("0", &[t("超阈值优惠"), n(dec!(50)), t("")]).unwrap();
        assert_eq!(
            rule,
            DiscountRule {
                name: "超阈值优惠".into(),
                tel_fee_threshold: dec!(50),
                max_discount: None,
                discount_type: None,
            }
        );
        let pct = decode_discount_rule("1", &[t("超阈值优惠"), n(dec!(50)), t("20%")]).unwrap();
        assert_eq!(pct.max_discount, Some(dec!(0.2)));
        let num = decode_discount_rule("1", &[t("超阈值优惠"), n(dec!(50)), n(dec!(0.1))]).unwrap();
        assert_eq!(num.max_discount, Some(dec!(0.1)));
    }

    #[test]
    fn rejects_malformed_discount_arrays() {
        assert_eq!(
            decode_discount_rule("0", &[t("超阈值优惠"), n(dec!(50))])
                .unwrap_err()
                .to_string(),
            "discount_fee_config[0] has 2 elements, expected 3 or 4"
        );
        assert_eq!(
            decode_discount_rule("2", &[t("超阈值优惠"), t("50"), t("")])
                .unwrap_err()
                .to_string(),
            "discount_fee_config[2][1] (tel_fee_threshold) must be a number"
        );
        assert_eq!(
            decode_discount_rule("0", &[t("x"), n(dec!(50)), n(dec!(1.5))])
                .unwrap_err()
                .to_string(),
            "discount_fee_config[0][2] (max_discount) must be in [0, 1], got 1.5"
        );
        assert!(matches!(
            decode_discount_rule("0", &[t("x"), n(dec!(50)), t("lots")]),
            Err(TariffError::OutOfRange {
                field: "max_discount",
                ..
            })
        ));
    }

    #[test]
    fn fixed_fee_rule_lookup_and_validity_window() {
        let at = |d: u32| {
            NaiveDate::from_ymd_opt(2022, 3, d)
                .unwrap()
                .and_hms_opt(0, 0, 0)
                .unwrap()
        };
        let mut tariff = crate::callcenter::billing::tests::tariff();
        tariff.call_fee = vec![decode_call_fee_rule("0", &seed_row()).unwrap()];
        assert_eq!(
            tariff.fixed_fee(),
            dec!(100) + dec!(20) + dec!(5) + dec!(3.5)
        );
        assert!(tariff.rule_for("本地手机").is_some());
        assert!(tariff.rule_for("国内长途").is_none());

        tariff.take_effect_time = Some(at(10));
        tariff.invalid_time = Some(at(20));
        assert!(!tariff.rates_at(at(9)));
        assert!(tariff.rates_at(at(10)));
        assert!(tariff.rates_at(at(19)));
        assert!(!tariff.rates_at(at(20)), "invalid_time is exclusive");
        tariff.enabled = false;
        assert!(!tariff.rates_at(at(15)));
        tariff.enabled = true;
        tariff.take_effect_time = None;
        tariff.invalid_time = None;
        assert!(tariff.rates_at(at(1)));
    }
}
