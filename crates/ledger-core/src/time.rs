//! Business time: `NaiveDateTime` in the local time of the business (no zone), shown as
//! `yyyy-MM-dd HH:mm:ss`. Core never reads a clock; "now" is always a parameter.

use chrono::NaiveDateTime;

pub use crate::envelope::BUSINESS_TIME_FORMAT;

/// Serde helpers that write business times as `yyyy-MM-dd HH:mm:ss`.
pub mod business {
    use super::*;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &NaiveDateTime, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&t.format(BUSINESS_TIME_FORMAT))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveDateTime, D::Error> {
        let text = String::deserialize(d)?;
        NaiveDateTime::parse_from_str(&text, BUSINESS_TIME_FORMAT).map_err(serde::de::Error::custom)
    }

    /// The JSON Schema of a business time.
    pub fn schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}$",
            "description": "Business time yyyy-MM-dd HH:mm:ss (local, no zone)"
        })
    }
}

/// Serde helpers for an optional business time (absent or `yyyy-MM-dd HH:mm:ss`).
pub mod business_optional {
    use super::*;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &Option<NaiveDateTime>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => business::serialize(t, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<NaiveDateTime>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|text| {
                NaiveDateTime::parse_from_str(&text, BUSINESS_TIME_FORMAT)
                    .map_err(serde::de::Error::custom)
            })
            .transpose()
    }

    /// The JSON Schema of an optional business time.
    pub fn schema(g: &mut schemars::SchemaGenerator) -> schemars::Schema {
        business::schema(g)
    }
}

pub fn format_business(t: NaiveDateTime) -> String {
    t.format(BUSINESS_TIME_FORMAT).to_string()
}
