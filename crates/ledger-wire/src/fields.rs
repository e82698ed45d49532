//! Field-by-field reading of a JSON request body. Numbers are read from their JSON text
//! (serde_json's arbitrary precision), so a money amount never passes through a float.

use ledger_core::{Money, Rejection};
use rust_decimal::Decimal;
use serde_json::{Map, Value};
use std::str::FromStr;

/// Longest text field accepted anywhere unless a seed gives a shorter VARCHAR size.
pub const MAX_TEXT_LEN: usize = 512;
/// Money is accepted with at most this many decimals.
pub const MAX_MONEY_SCALE: u32 = 6;
/// Most integer digits a decimal may have (amounts, prices, areas, cycles below 10^12). Keeps
/// every product the rules form (price × area × months…) far inside `Decimal`'s 28 digits, so
/// no arithmetic on a client's numbers can overflow.
pub const MAX_DECIMAL_INTEGER_DIGITS: u32 = 12;

/// A decoded JSON object body.
#[derive(Debug, Clone)]
pub struct Fields(Map<String, Value>);

impl Fields {
    /// Parses a body that must be a JSON object.
    pub fn parse(body: &[u8]) -> Result<Self, Rejection> {
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(map)) => Ok(Fields(map)),
            Ok(_) => Err(Rejection::invalid(
                "body",
                "请求体必须是JSON对象 (body must be a JSON object)",
            )),
            Err(e) => Err(Rejection::invalid(
                "body",
                format!("请求体不是合法的JSON (body is not valid JSON: {e})"),
            )),
        }
    }

    pub fn from_map(map: Map<String, Value>) -> Self {
        Fields(map)
    }

    /// The object as JSON bytes: the payload a command decoded from these fields is published
    /// with, so every node decodes exactly the same command from it.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(&self.0).expect("a JSON object serializes")
    }

    /// Whether the body has the key at all (even null or empty), for upstream checks that tell
    /// a missing key from an empty value.
    pub fn has_key(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }

    /// The raw value of a field; JSON null counts as absent.
    pub fn value(&self, name: &str) -> Option<&Value> {
        self.0.get(name).filter(|v| !v.is_null())
    }

    /// A field as text: strings as they are, numbers and booleans as their JSON text.
    /// Empty (after trimming) counts as absent, as upstream treats it.
    pub fn text(&self, name: &str) -> Result<Option<String>, Rejection> {
        let text = match self.value(name) {
            None => return Ok(None),
            Some(Value::String(s)) => s.trim().to_string(),
            Some(Value::Number(n)) => n.to_string(),
            Some(Value::Bool(b)) => b.to_string(),
            Some(_) => {
                return Err(Rejection::invalid(
                    name,
                    format!("{name} 必须是字符串 ({name} must be a string)"),
                ));
            }
        };
        if text.chars().count() > MAX_TEXT_LEN {
            return Err(Rejection::invalid(
                name,
                format!(
                    "{name} 超过最大长度 {MAX_TEXT_LEN} ({name} is longer than {MAX_TEXT_LEN} characters)"
                ),
            ));
        }
        Ok(if text.is_empty() { None } else { Some(text) })
    }

    /// A required text field; absent or empty gives `MissingField` with the family's message.
    pub fn required_text(&self, name: &str, missing: &str) -> Result<String, Rejection> {
        self.text(name)?
            .ok_or_else(|| Rejection::missing(name, missing))
    }

    /// A text field limited to `max_len` characters (a seed's VARCHAR size).
    pub fn text_max(&self, name: &str, max_len: usize) -> Result<Option<String>, Rejection> {
        let text = self.text(name)?;
        if let Some(t) = &text
            && t.chars().count() > max_len
        {
            return Err(Rejection::invalid(
                name,
                format!(
                    "{name} 超过最大长度 {max_len} ({name} is longer than {max_len} characters)"
                ),
            ));
        }
        Ok(text)
    }

    /// A decimal from a JSON number or a numeric string, exactly as written.
    pub fn decimal(&self, name: &str) -> Result<Option<Decimal>, Rejection> {
        let Some(text) = self.text(name)? else {
            return Ok(None);
        };
        let bad = || {
            Rejection::invalid(
                name,
                format!("{name} 不是合法的数字 ({name} must be a decimal number, got {text:?})"),
            )
        };
        if text.contains(['e', 'E']) {
            return Err(bad());
        }
        let d = Decimal::from_str(&text).map_err(|_| bad())?;
        if d.abs() >= Decimal::from(10i64.pow(MAX_DECIMAL_INTEGER_DIGITS)) {
            return Err(Rejection::invalid(
                name,
                format!(
                    "{name} 超出范围 ({name} must have at most {MAX_DECIMAL_INTEGER_DIGITS} integer digits)"
                ),
            ));
        }
        Ok(Some(d))
    }

    /// A non-negative money amount with at most `MAX_MONEY_SCALE` decimals.
    pub fn money(&self, name: &str) -> Result<Option<Money>, Rejection> {
        let Some(d) = self.decimal(name)? else {
            return Ok(None);
        };
        if d.is_sign_negative() && !d.is_zero() {
            return Err(Rejection::invalid(
                name,
                format!("{name} 不能为负数 ({name} must not be negative)"),
            ));
        }
        if d.scale() > MAX_MONEY_SCALE {
            return Err(Rejection::invalid(
                name,
                format!("{name} 小数位数过多 ({name} has more than {MAX_MONEY_SCALE} decimals)"),
            ));
        }
        Ok(Some(Money::new(d)))
    }

    pub fn required_money(&self, name: &str, missing: &str) -> Result<Money, Rejection> {
        self.money(name)?
            .ok_or_else(|| Rejection::missing(name, missing))
    }

    /// A whole number from a JSON integer or a numeric string.
    pub fn integer(&self, name: &str) -> Result<Option<i64>, Rejection> {
        let Some(text) = self.text(name)? else {
            return Ok(None);
        };
        text.parse::<i64>().map(Some).map_err(|_| {
            Rejection::invalid(
                name,
                format!("{name} 必须是整数 ({name} must be a whole number, got {text:?})"),
            )
        })
    }

    /// A code read by `parse`; unknown text names the accepted spellings.
    pub fn code<T>(
        &self,
        name: &str,
        parse: impl Fn(&str) -> Option<T>,
        accepted: &[&str],
    ) -> Result<Option<T>, Rejection> {
        let Some(text) = self.text(name)? else {
            return Ok(None);
        };
        parse(&text).map(Some).ok_or_else(|| {
            Rejection::invalid(
                name,
                format!(
                    "{name} 取值无效: {text:?} ({name} must be one of {})",
                    accepted.join(", ")
                ),
            )
        })
    }

    pub fn required_code<T>(
        &self,
        name: &str,
        missing: &str,
        parse: impl Fn(&str) -> Option<T>,
        accepted: &[&str],
    ) -> Result<T, Rejection> {
        self.code(name, parse, accepted)?
            .ok_or_else(|| Rejection::missing(name, missing))
    }
}
