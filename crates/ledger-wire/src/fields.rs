//! Field-by-field reading of a JSON request body. Numbers are read from their JSON text
//! (serde_json's arbitrary precision), so a money amount never passes through a float.
//!
//! The one place ids and texts are checked: every text a decoder reads goes through
//! [`Fields::text`], which refuses control characters ([`check_text`], also used for ids that
//! arrive in headers) and caps ids at [`MAX_ID_LEN`] unless a seed's VARCHAR size is smaller.
//! A body with a key twice (at any depth) is refused, naming the key, rather than letting the
//! last one win.

use ledger_core::{Money, Rejection, Sha256Hash};
use rust_decimal::Decimal;
use serde_json::{Map, Value};
use std::str::FromStr;

/// Longest text field accepted anywhere unless a seed gives a shorter VARCHAR size.
pub const MAX_TEXT_LEN: usize = 512;
/// Longest id (a field named `…Id`, `…_id`, `…ID`) or id header accepted, unless a seed gives
/// a shorter VARCHAR size.
pub const MAX_ID_LEN: usize = 64;
/// Money is accepted with at most this many decimals.
pub const MAX_MONEY_SCALE: u32 = 6;
/// Most integer digits a decimal may have (amounts, prices, areas, cycles below 10^12). Keeps
/// every product the rules form (price × area × months…) far inside `Decimal`'s 28 digits, so
/// no arithmetic on a client's numbers can overflow.
pub const MAX_DECIMAL_INTEGER_DIGITS: u32 = 12;

/// Whether a field holds an id (`communityId`, `city_id`, `SERIAL_DID`, …).
fn is_id_name(name: &str) -> bool {
    name.ends_with("Id")
        || name.ends_with("ID")
        || name.ends_with("_id")
        || name.ends_with("_DID")
        || name.ends_with("_AID")
        || name.ends_with("_SID")
}

/// Refuses text with control characters (NUL, newlines… would break read-model keys and logs)
/// or longer than `max_len` characters: every id and text field, body or header, is checked
/// here.
pub fn check_text(name: &str, text: &str, max_len: usize) -> Result<(), Rejection> {
    if text.chars().any(char::is_control) {
        return Err(Rejection::invalid(
            name,
            format!("{name} 含有控制字符 ({name} contains control characters)"),
        ));
    }
    if text.chars().count() > max_len {
        return Err(Rejection::invalid(
            name,
            format!("{name} 超过最大长度 {max_len} ({name} is longer than {max_len} characters)"),
        ));
    }
    Ok(())
}

const DUPLICATE: &str = "duplicate key \u{1}";
const DUPLICATE_END: char = '\u{1}';

/// A JSON value walked only to check that no object repeats a key (serde_json's own maps keep
/// the last value silently). Numbers, strings and the rest are skipped.
struct UniqueKeys;

impl<'de> serde::Deserialize<'de> for UniqueKeys {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(UniqueKeys)
    }
}

impl<'de> serde::de::Visitor<'de> for UniqueKeys {
    type Value = UniqueKeys;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut access: A) -> Result<Self, A::Error> {
        let mut seen = std::collections::HashSet::new();
        while let Some(key) = access.next_key::<String>()? {
            access.next_value::<UniqueKeys>()?;
            if !seen.insert(key.clone()) {
                return Err(serde::de::Error::custom(format!(
                    "{DUPLICATE}{key}{DUPLICATE_END}"
                )));
            }
        }
        Ok(UniqueKeys)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut access: A) -> Result<Self, A::Error> {
        while access.next_element::<UniqueKeys>()?.is_some() {}
        Ok(UniqueKeys)
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self, E> {
        Ok(UniqueKeys)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self, E> {
        Ok(UniqueKeys)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self, E> {
        Ok(UniqueKeys)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self, E> {
        Ok(UniqueKeys)
    }
    fn visit_str<E>(self, _: &str) -> Result<Self, E> {
        Ok(UniqueKeys)
    }
    fn visit_unit<E>(self) -> Result<Self, E> {
        Ok(UniqueKeys)
    }
    fn visit_none<E>(self) -> Result<Self, E> {
        Ok(UniqueKeys)
    }
}

/// A decoded JSON object body.
#[derive(Debug, Clone)]
pub struct Fields(Map<String, Value>);

impl Fields {
    /// Parses a body that must be a JSON object, with no key given twice in any object.
    pub fn parse(body: &[u8]) -> Result<Self, Rejection> {
        let parsed = serde_json::from_slice::<UniqueKeys>(body)
            .and_then(|_| serde_json::from_slice::<Value>(body));
        match parsed {
            Ok(Value::Object(map)) => Ok(Fields(map)),
            Ok(_) => Err(Rejection::invalid(
                "body",
                "请求体必须是JSON对象 (body must be a JSON object)",
            )),
            Err(e) => match e.to_string().strip_prefix(DUPLICATE) {
                Some(rest) => {
                    let key = rest.split(DUPLICATE_END).next().unwrap_or_default();
                    Err(Rejection::invalid(
                        key,
                        format!("{key} 重复 (the key {key:?} appears twice in an object)"),
                    ))
                }
                None => Err(Rejection::invalid(
                    "body",
                    format!("请求体不是合法的JSON (body is not valid JSON: {e})"),
                )),
            },
        }
    }

    pub fn from_map(map: Map<String, Value>) -> Self {
        Fields(map)
    }

    pub fn into_map(self) -> Map<String, Value> {
        self.0
    }

    /// The object as JSON bytes: the payload a command decoded from these fields is published
    /// with, so every node decodes exactly the same command from it.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(&self.0).expect("a JSON object serializes")
    }

    /// SHA-256 of the object in canonical JSON: object keys sorted (by their UTF-8 bytes) at
    /// every depth, no whitespace, strings and numbers as serde_json writes them (a number
    /// keeps its written digits). The one body hash of a command, whether it came over HTTP or
    /// on the command topic: key order and spacing do not make another body.
    pub fn body_sha256(&self) -> Sha256Hash {
        let mut out = Vec::with_capacity(256);
        write_canonical_object(&self.0, &mut out);
        Sha256Hash::of(&out)
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
        let max = if is_id_name(name) {
            MAX_ID_LEN
        } else {
            MAX_TEXT_LEN
        };
        check_text(name, &text, max)?;
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

/// Writes `map` as canonical JSON (see [`Fields::body_sha256`]).
fn write_canonical_object(map: &Map<String, Value>, out: &mut Vec<u8>) {
    let mut keys: Vec<&String> = map.keys().collect();
    keys.sort_unstable();
    out.push(b'{');
    for (i, key) in keys.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        serde_json::to_writer(&mut *out, key).expect("a string serializes");
        out.push(b':');
        write_canonical(&map[key], out);
    }
    out.push(b'}');
}

fn write_canonical(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Object(map) => write_canonical_object(map, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(item, out);
            }
            out.push(b']');
        }
        scalar => serde_json::to_writer(&mut *out, scalar).expect("a JSON scalar serializes"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_given_twice_is_refused_naming_it_at_any_depth() {
        let r = Fields::parse(br#"{"billId":"B1","amount":"1.00","amount":"999.00"}"#).unwrap_err();
        assert_eq!(r.field(), Some("amount"));
        assert!(r.message().contains("twice"), "{}", r.message());
        let r = Fields::parse(br#"{"calls":[{"call_id":"a","call_id":"b"}]}"#).unwrap_err();
        assert_eq!(r.field(), Some("call_id"));
        // Numbers keep their exact text; distinct keys pass.
        let f = Fields::parse(br#"{"a":1.10,"b":{"a":2}}"#).unwrap();
        assert_eq!(f.text("a").unwrap().as_deref(), Some("1.10"));
    }

    #[test]
    fn control_characters_and_long_ids_are_refused() {
        for bad in ["a\u{0}b", "a\nb", "x\u{7f}"] {
            let f = Fields::from_map(
                [("communityId".to_string(), Value::from(bad))]
                    .into_iter()
                    .collect(),
            );
            let r = f.text("communityId").unwrap_err();
            assert!(r.message().contains("control"), "{bad:?}: {}", r.message());
        }
        let long = "x".repeat(MAX_ID_LEN + 1);
        let f = Fields::from_map(
            [
                ("SERIAL_DID".to_string(), Value::from(long.clone())),
                ("feeName".to_string(), Value::from(long.clone())),
            ]
            .into_iter()
            .collect(),
        );
        assert!(
            f.text("SERIAL_DID")
                .unwrap_err()
                .message()
                .contains("longer")
        );
        // A text that is not an id keeps the general limit.
        assert_eq!(f.text("feeName").unwrap(), Some(long));
    }

    #[test]
    fn the_body_hash_ignores_key_order_and_spacing_but_not_values() {
        let hash = |body: &str| Fields::parse(body.as_bytes()).unwrap().body_sha256();
        let a = hash(r#"{"b":[1,{"y":"2","x":1.10}],"a":"é"}"#);
        assert_eq!(
            a,
            hash(r#" { "a" : "\u00e9", "b" : [ 1 , { "x" : 1.10 , "y" : "2" } ] } "#)
        );
        // The canonical text itself: sorted keys at every depth, numbers as written.
        assert_eq!(
            a,
            Sha256Hash::of(r#"{"a":"é","b":[1,{"x":1.10,"y":"2"}]}"#.as_bytes())
        );
        for other in [
            r#"{"b":[1,{"y":"2","x":1.1}],"a":"é"}"#,
            r#"{"b":[{"y":"2","x":1.10},1],"a":"é"}"#,
            r#"{"b":[1,{"y":2,"x":1.10}],"a":"é"}"#,
            r#"{"b":[1,{"y":"2","x":1.10}],"a":"é","c":null}"#,
        ] {
            assert_ne!(a, hash(other), "{other}");
        }
    }

    proptest::proptest! {
        /// Any object, written with its keys in another order, hashes the same.
        #[test]
        fn the_body_hash_is_the_same_for_any_key_order(
            entries in proptest::collection::btree_map("[a-zA-Z_]{1,8}", "[ -~]{0,12}", 0..12),
            seed in proptest::prelude::any::<u64>(),
        ) {
            let forward: Map<String, Value> =
                entries.iter().map(|(k, v)| (k.clone(), Value::from(v.clone()))).collect();
            let mut shuffled: Vec<_> = entries.iter().collect();
            let n = shuffled.len().max(1) as u64;
            shuffled.rotate_left((seed % n) as usize);
            shuffled.reverse();
            let backward: Map<String, Value> =
                shuffled.into_iter().map(|(k, v)| (k.clone(), Value::from(v.clone()))).collect();
            proptest::prop_assert_eq!(
                Fields::from_map(forward).body_sha256(),
                Fields::from_map(backward).body_sha256()
            );
        }
    }
}
