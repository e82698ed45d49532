//! Business time: `NaiveDateTime` in the local time of the business (no zone), shown as
//! `yyyy-MM-dd HH:mm:ss`. Core never reads a clock; "now" is always a parameter.
//!
//! Times and dates are written and read here by hand in their fixed layouts: chrono's
//! format-string interpreter (`StrftimeItems`, `parse_internal`) was 5–7 % of a summary query's
//! and of a replay's samples. What the fixed layout cannot hold (years outside 0–9999, leap
//! seconds) and every text that is not exactly the layout go through chrono, so the results,
//! errors included, are chrono's (property-tested below).

use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};
use std::fmt;

pub use crate::envelope::BUSINESS_TIME_FORMAT;

/// Serde helpers that write business times as `yyyy-MM-dd HH:mm:ss`.
pub mod business {
    use super::*;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &NaiveDateTime, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&Business(*t))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveDateTime, D::Error> {
        d.deserialize_str(TimeText).map(|Read(t)| t)
    }

    /// A business time read from its text without copying it first.
    pub(super) struct Read(pub NaiveDateTime);

    impl<'de> Deserialize<'de> for Read {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Read, D::Error> {
            d.deserialize_str(TimeText)
        }
    }

    struct TimeText;

    impl serde::de::Visitor<'_> for TimeText {
        type Value = Read;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a time yyyy-MM-dd HH:mm:ss")
        }

        fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Read, E> {
            parse_business(text).map(Read).map_err(E::custom)
        }
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
        Ok(Option::<business::Read>::deserialize(d)?.map(|business::Read(t)| t))
    }

    /// The JSON Schema of an optional business time.
    pub fn schema(g: &mut schemars::SchemaGenerator) -> schemars::Schema {
        business::schema(g)
    }
}

/// `yyyy-MM-dd HH:mm:ss`.
pub fn format_business(t: NaiveDateTime) -> String {
    Business(t).to_string()
}

/// Reads `yyyy-MM-dd HH:mm:ss` exactly as `NaiveDateTime::parse_from_str` with
/// [`BUSINESS_TIME_FORMAT`] does.
pub fn parse_business(text: &str) -> chrono::ParseResult<NaiveDateTime> {
    let fixed = || {
        let b = text.as_bytes();
        if b.len() != 19 || b[10] != b' ' || b[13] != b':' || b[16] != b':' {
            return None;
        }
        let date = fixed_date(&b[..10])?;
        date.and_hms_opt(
            digits(&b[11..13])?,
            digits(&b[14..16])?,
            digits(&b[17..19])?,
        )
    };
    match fixed() {
        Some(t) => Ok(t),
        None => NaiveDateTime::parse_from_str(text, BUSINESS_TIME_FORMAT),
    }
}

/// `yyyyMMddHHmmss` (BaaS's `YYYYMMDDHH24MISS`, its `req-time` header).
pub const COMPACT_FORMAT: &str = "%Y%m%d%H%M%S";

/// `yyyyMMddHHmmss`.
pub fn format_compact(t: NaiveDateTime) -> String {
    match time_layout(t) {
        Some(([y1, y2, mo, d], [h, mi, s])) => {
            let mut b = [0u8; 14];
            for (i, n) in [y1, y2, mo, d, h, mi, s].into_iter().enumerate() {
                put2(&mut b[2 * i..2 * i + 2], n);
            }
            String::from_utf8_lossy(&b).into_owned()
        }
        None => t.format(COMPACT_FORMAT).to_string(),
    }
}

/// Reads `yyyyMMddHHmmss` exactly as `NaiveDateTime::parse_from_str` with [`COMPACT_FORMAT`]
/// does.
pub fn parse_compact(text: &str) -> chrono::ParseResult<NaiveDateTime> {
    let fixed = || {
        let b = text.as_bytes();
        if b.len() != 14 {
            return None;
        }
        let n = |i: usize| digits(&b[i..i + 2]);
        NaiveDate::from_ymd_opt((n(0)? * 100 + n(2)?) as i32, n(4)?, n(6)?)?.and_hms_opt(
            n(8)?,
            n(10)?,
            n(12)?,
        )
    };
    match fixed() {
        Some(t) => Ok(t),
        None => NaiveDateTime::parse_from_str(text, COMPACT_FORMAT),
    }
}

/// `yyyy-MM-dd`.
pub fn format_date(d: NaiveDate) -> String {
    match date_layout(d) {
        Some(b) => String::from_utf8_lossy(&b).into_owned(),
        None => d.format(DATE_FORMAT).to_string(),
    }
}

/// Reads `yyyy-MM-dd` exactly as `NaiveDate::parse_from_str` with [`DATE_FORMAT`] does.
pub fn parse_date(text: &str) -> chrono::ParseResult<NaiveDate> {
    match fixed_date(text.as_bytes()) {
        Some(d) => Ok(d),
        None => NaiveDate::parse_from_str(text, DATE_FORMAT),
    }
}

/// The layout [`format_date`] writes.
pub const DATE_FORMAT: &str = "%Y-%m-%d";

/// A business time that displays as `yyyy-MM-dd HH:mm:ss` (for `collect_str` and `write!`,
/// without an intermediate `String`).
#[derive(Debug, Clone, Copy)]
pub struct Business(pub NaiveDateTime);

impl fmt::Display for Business {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(([y1, y2, mo, d], [h, mi, s])) = time_layout(self.0) else {
            // A leap second or a year of more than four digits: chrono's own text.
            return write!(f, "{}", self.0.format(BUSINESS_TIME_FORMAT));
        };
        let mut b = *b"0000-00-00 00:00:00";
        for (at, n) in [
            (0, y1),
            (2, y2),
            (5, mo),
            (8, d),
            (11, h),
            (14, mi),
            (17, s),
        ] {
            put2(&mut b[at..at + 2], n);
        }
        f.write_str(std::str::from_utf8(&b).map_err(|_| fmt::Error)?)
    }
}

/// A date's two-digit groups (century, year of the century, month, day) when its year has four
/// digits (0–9999), the only years the fixed layouts hold.
fn date_groups(d: NaiveDate) -> Option<[u32; 4]> {
    let year = u32::try_from(d.year()).ok().filter(|y| *y <= 9999)?;
    Some([year / 100, year % 100, d.month(), d.day()])
}

/// A time's date groups and its hour, minute and second, when a fixed layout holds them (not a
/// leap second).
fn time_layout(t: NaiveDateTime) -> Option<([u32; 4], [u32; 3])> {
    let date = date_groups(t.date()).filter(|_| t.nanosecond() < 1_000_000_000)?;
    Some((date, [t.hour(), t.minute(), t.second()]))
}

/// `yyyy-MM-dd` of a date whose year has four digits.
fn date_layout(d: NaiveDate) -> Option<[u8; 10]> {
    let [y1, y2, mo, day] = date_groups(d)?;
    let mut b = *b"0000-00-00";
    for (at, n) in [(0, y1), (2, y2), (5, mo), (8, day)] {
        put2(&mut b[at..at + 2], n);
    }
    Some(b)
}

/// A real date written exactly as `yyyy-MM-dd`; None for anything else (left to chrono).
fn fixed_date(b: &[u8]) -> Option<NaiveDate> {
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let year = digits(&b[0..2])? * 100 + digits(&b[2..4])?;
    NaiveDate::from_ymd_opt(year as i32, digits(&b[5..7])?, digits(&b[8..10])?)
}

/// Two ASCII digits.
fn digits(b: &[u8]) -> Option<u32> {
    match b {
        [t @ b'0'..=b'9', u @ b'0'..=b'9'] => Some(u32::from(t - b'0') * 10 + u32::from(u - b'0')),
        _ => None,
    }
}

/// Writes `n` (< 100) as two digits.
fn put2(out: &mut [u8], n: u32) {
    out[0] = b'0' + (n / 10 % 10) as u8;
    out[1] = b'0' + (n % 10) as u8;
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn any_time() -> impl Strategy<Value = NaiveDateTime> {
        // Years -1000..12000 cover the sign and five-digit layouts chrono falls back to.
        (
            -1000i32..12000,
            1u32..=366,
            0u32..86400,
            0u32..2_000_000_000,
        )
            .prop_filter_map("a real day of the year", |(y, ordinal, s, nanos)| {
                let date = NaiveDate::from_yo_opt(y, ordinal)?;
                let time = chrono::NaiveTime::from_num_seconds_from_midnight_opt(s, nanos)?;
                Some(date.and_time(time))
            })
    }

    proptest! {
        #[test]
        fn times_and_dates_are_written_as_chrono_writes_them(t in any_time()) {
            prop_assert_eq!(format_business(t), t.format(BUSINESS_TIME_FORMAT).to_string());
            prop_assert_eq!(format_date(t.date()), t.date().format(DATE_FORMAT).to_string());
            prop_assert_eq!(format_compact(t), t.format(COMPACT_FORMAT).to_string());
        }

        #[test]
        fn laid_out_text_reads_as_chrono_reads_it(
            text in "[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}",
        ) {
            let chrono = NaiveDateTime::parse_from_str(&text, BUSINESS_TIME_FORMAT).ok();
            prop_assert_eq!(parse_business(&text).ok(), chrono);
            let compact: String = text.chars().filter(char::is_ascii_digit).collect();
            prop_assert_eq!(
                parse_compact(&compact).ok(),
                NaiveDateTime::parse_from_str(&compact, COMPACT_FORMAT).ok()
            );
            let day = &text[..10];
            prop_assert_eq!(parse_date(day).ok(), NaiveDate::parse_from_str(day, DATE_FORMAT).ok());
        }

        #[test]
        fn any_text_reads_as_chrono_reads_it(text in "[0-9 :+-]{0,22}") {
            let chrono = NaiveDateTime::parse_from_str(&text, BUSINESS_TIME_FORMAT).ok();
            prop_assert_eq!(parse_business(&text).ok(), chrono);
            prop_assert_eq!(parse_date(&text).ok(), NaiveDate::parse_from_str(&text, DATE_FORMAT).ok());
            prop_assert_eq!(
                parse_compact(&text).ok(),
                NaiveDateTime::parse_from_str(&text, COMPACT_FORMAT).ok()
            );
        }

        #[test]
        fn written_times_read_back(t in any_time()) {
            // chrono reads back neither layout's signed or five-digit years.
            prop_assume!((0..=9999).contains(&t.year()));
            let t = t.with_nanosecond(0).expect("zero nanoseconds");
            prop_assert_eq!(parse_business(&format_business(t)).ok(), Some(t));
            prop_assert_eq!(parse_compact(&format_compact(t)).ok(), Some(t));
        }
    }

    #[test]
    fn leap_seconds_and_long_years_keep_chrono_text() {
        let leap = NaiveDate::from_ymd_opt(2016, 12, 31)
            .unwrap()
            .and_hms_milli_opt(23, 59, 59, 1_000)
            .unwrap();
        assert_eq!(format_business(leap), "2016-12-31 23:59:60");
        assert_eq!(parse_business("2016-12-31 23:59:60").ok(), Some(leap));
        let far = NaiveDate::from_ymd_opt(12345, 1, 2)
            .unwrap()
            .and_hms_opt(3, 4, 5)
            .unwrap();
        assert_eq!(format_business(far), "+12345-01-02 03:04:05");
        assert!(parse_business("2022-02-30 00:00:00").is_err());
        assert!(
            parse_business("2022-1-05 00:00:00").is_ok(),
            "chrono reads one-digit months"
        );
    }
}
