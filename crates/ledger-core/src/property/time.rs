//! Business-time arithmetic for fees, following upstream MicroCommunity `DateUtil`.
//!
//! All instants are `NaiveDateTime` in local business time (no zone). A fee's
//! "paid through" instant is exclusive, while deadlines entered as plain dates are
//! inclusive up to 23:59:59, which is why `parse_start` and `parse_end` differ.

use chrono::{Datelike, Months, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Timelike};
use rust_decimal::{Decimal, RoundingStrategy};
use thiserror::Error;

/// The one format error; the caller knows which field it parsed and names it.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error(
    "invalid date-time {given:?}: expected \"yyyy-MM-dd HH:mm:ss\" or \"yyyy-MM-dd\" in the years 1900..=2199"
)]
pub struct TimeError {
    pub given: String,
}

const SECONDS_PER_DAY: i64 = 86_400;
/// Years a business date may fall in: wide enough for any fee, narrow enough that month and
/// cycle arithmetic over a range never leaves chrono's calendar.
pub const YEARS: std::ops::RangeInclusive<i32> = 1900..=2199;

/// Parses a start instant; a bare date means the start of that day (00:00:00).
pub fn parse_start(text: &str) -> Result<NaiveDateTime, TimeError> {
    parse_with_default_time(text, NaiveTime::MIN)
}

/// Parses an end or deadline; a bare date means the whole day is included (23:59:59).
pub fn parse_end(text: &str) -> Result<NaiveDateTime, TimeError> {
    let end_of_day = NaiveTime::from_hms_opt(23, 59, 59).expect("23:59:59 is a valid time");
    parse_with_default_time(text, end_of_day)
}

fn parse_with_default_time(text: &str, default: NaiveTime) -> Result<NaiveDateTime, TimeError> {
    let trimmed = text.trim();
    let error = || TimeError {
        given: text.to_owned(),
    };
    let t = match crate::time::parse_business(trimmed) {
        Ok(t) => t,
        Err(_) => crate::time::parse_date(trimmed)
            .map(|d| d.and_time(default))
            .map_err(|_| error())?,
    };
    if !YEARS.contains(&t.year()) {
        return Err(error());
    }
    Ok(t)
}

/// Number of days in the month containing `date`.
pub fn days_in_month(date: NaiveDate) -> u32 {
    let first = first_of_month(date);
    // The last representable month has no successor; treat it as 31 days rather than panic.
    first
        .checked_add_months(Months::new(1))
        .map(|next| (next - first).num_days() as u32)
        .unwrap_or(31)
}

fn first_of_month(date: NaiveDate) -> NaiveDate {
    date.with_day(1).expect("day 1 exists in every month")
}

fn month_index(t: NaiveDateTime) -> i64 {
    i64::from(t.year()) * 12 + i64::from(t.month0())
}

/// Days from `a` to `b` over the length of `month_of`'s month, 4 decimals half-up: one end of
/// upstream `dayCompare`, which rounds each end on its own.
fn end_fraction(a: NaiveDateTime, b: NaiveDateTime, month_of: NaiveDate) -> Decimal {
    let seconds = Decimal::from((b - a).num_seconds());
    let month_seconds = Decimal::from(i64::from(days_in_month(month_of)) * SECONDS_PER_DAY);
    (seconds / month_seconds).round_dp_with_strategy(4, RoundingStrategy::MidpointAwayFromZero)
}

/// `t` moved to the 1st of its month at 00:00, keeping its seconds: upstream sets day, hour and
/// minute on a `Calendar` but not the second.
fn first_keeping_seconds(t: NaiveDateTime) -> NaiveDateTime {
    first_of_month(t.date())
        .and_hms_opt(0, 0, t.second())
        .expect("a second of a valid time is valid")
}

/// Upstream `DateUtil.dayCompare(from, to)`, signed (`to` may be before `from`).
///
/// Three parts: `from` up to its "first" (the next 1st, unless `from` already is a 1st at
/// 00:00), whole months between the two firsts, and the last 1st up to `to`. Each partial part
/// is days over the length of its own month, rounded to 4 decimals half-up separately, then
/// added (Jan 31 → Feb 28 = 1/31 + 27/28 = 0.0323 + 0.9643 = 0.9966). When both have the same
/// day of month and hour the answer is whole months (minutes and seconds are not compared).
pub fn day_compare(from: NaiveDateTime, to: NaiveDateTime) -> Decimal {
    let from_cal = first_keeping_seconds(from);
    let from_is_first = from <= from_cal;
    let from_first = if from_is_first {
        from
    } else {
        from_cal
            .checked_add_months(Months::new(1))
            .unwrap_or(NaiveDateTime::MAX)
    };
    let to_cal = first_keeping_seconds(to);
    let to_first = if to > to_cal { to_cal } else { to };
    let whole = month_index(to_first) - month_index(from_first);
    if from.day() == to.day() && from.hour() == to.hour() {
        return Decimal::from(if from_is_first { whole } else { whole + 1 });
    }
    end_fraction(from, from_first, from.date())
        + Decimal::from(whole)
        + end_fraction(to_first, to, to.date())
}

/// Fractional months from `a` to `b` (upstream `dayCompare`), 0 when `b` is not after `a`.
pub fn month_fraction(a: NaiveDateTime, b: NaiveDateTime) -> Decimal {
    if b <= a {
        return Decimal::ZERO;
    }
    day_compare(a, b)
}

/// `t` plus a possibly fractional number of months (upstream `getTargetEndTime`).
///
/// Whole months are calendar months (day-of-month clamped, e.g. Jan 31 + 1 = Feb 28);
/// the fraction is taken of the resulting month's length and truncated to whole hours,
/// as upstream does. Results beyond chrono's range saturate instead of panicking.
pub fn add_months(t: NaiveDateTime, months: Decimal) -> NaiveDateTime {
    let whole = months.floor();
    let frac = months - whole;
    let shifted = shift_whole_months(t, whole);
    if frac.is_zero() {
        return shifted;
    }
    let hours_in_month = Decimal::from(days_in_month(shifted.date()) * 24);
    let hours = i64::try_from((frac * hours_in_month).floor()).unwrap_or(0);
    shifted
        .checked_add_signed(TimeDelta::hours(hours))
        .unwrap_or(NaiveDateTime::MAX)
}

fn shift_whole_months(t: NaiveDateTime, whole: Decimal) -> NaiveDateTime {
    let magnitude = u32::try_from(whole.abs()).unwrap_or(u32::MAX);
    if whole.is_sign_negative() {
        t.checked_sub_months(Months::new(magnitude))
            .unwrap_or(NaiveDateTime::MIN)
    } else {
        t.checked_add_months(Months::new(magnitude))
            .unwrap_or(NaiveDateTime::MAX)
    }
}

/// Turns an inclusive end (e.g. 23:59:59) into the exclusive instant one second later.
pub fn exclusive_after(inclusive_end: NaiveDateTime) -> NaiveDateTime {
    inclusive_end
        .checked_add_signed(TimeDelta::seconds(1))
        .unwrap_or(inclusive_end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn at(s: &str) -> NaiveDateTime {
        parse_start(s).unwrap()
    }

    #[test]
    fn dates_outside_the_accepted_years_are_errors() {
        for text in [
            "1899-12-31",
            "2200-01-01",
            "9999-12-31 23:59:59",
            "0001-01-01",
        ] {
            assert!(parse_start(text).is_err(), "{text}");
            assert!(parse_end(text).is_err(), "{text}");
        }
        assert!(parse_start("1900-01-01").is_ok());
        assert!(parse_end("2199-12-31").is_ok());
    }

    #[test]
    fn parse_defaults_time_by_role() {
        assert_eq!(
            parse_start("2023-01-05").unwrap(),
            at("2023-01-05 00:00:00")
        );
        assert_eq!(parse_end("2023-01-05").unwrap(), at("2023-01-05 23:59:59"));
        assert_eq!(
            parse_end("2023-01-05 10:11:12").unwrap(),
            at("2023-01-05 10:11:12")
        );
        assert_eq!(
            parse_start(" 2023-01-05 ").unwrap(),
            at("2023-01-05 00:00:00")
        );
    }

    #[test]
    fn parse_rejects_other_formats_and_says_what_was_expected() {
        for bad in [
            "2023/01/05",
            "05-01-2023",
            "2023-02-30",
            "",
            "2023-01-05T10:00:00",
        ] {
            let err = parse_start(bad).unwrap_err();
            assert_eq!(err.given, bad);
            assert!(err.to_string().contains("yyyy-MM-dd HH:mm:ss"));
        }
    }

    #[test]
    fn month_fraction_table() {
        let cases = [
            // same day-of-month and time: whole months
            ("2023-01-15 00:00:00", "2023-04-15 00:00:00", dec!(3)),
            // across a year end: 2023-11-01 -> 2024-02-01 = 3 whole months
            ("2023-11-01 00:00:00", "2024-02-01 00:00:00", dec!(3)),
            // same month: 10 days / 31 = 0.32258 -> 0.3226
            ("2023-01-01 00:00:00", "2023-01-11 00:00:00", dec!(0.3226)),
            // same month, half a day: 0.5 / 30 = 0.016666 -> 0.0167
            ("2023-04-10 00:00:00", "2023-04-10 12:00:00", dec!(0.0167)),
            // cross-month partial: Jan 20 -> Feb 1 = 12/31; Feb 1 -> Feb 10 = 9/28
            // 0.387096.. + 0.321428.. = 0.708525 -> 0.7085
            ("2023-01-20 00:00:00", "2023-02-10 00:00:00", dec!(0.7085)),
            // Feb non-leap: Feb 15 -> Mar 1 = 14/28 = 0.5, Mar 1 -> Mar 1 = 0 -> 0.5
            ("2023-02-15 00:00:00", "2023-03-01 00:00:00", dec!(0.5)),
            // Feb leap: Feb 15 -> Mar 1 = 15/29 = 0.517241 -> 0.5172
            ("2024-02-15 00:00:00", "2024-03-01 00:00:00", dec!(0.5172)),
            // Feb leap, same month: 29 days of a 29-day month = 1
            ("2024-02-01 00:00:00", "2024-03-01 00:00:00", dec!(1)),
            // 1st to 1st is whole months even via the split formula: 12
            ("2023-01-01 00:00:00", "2024-01-01 00:00:00", dec!(12)),
            // mismatched hour: Jan 15 12:00 -> Feb 1 = 16.5/31 = 0.532258 -> 0.5323;
            // Feb 1 -> Feb 15 11:00 = 14.458333/28 = 0.516369 -> 0.5164; each end rounded
            // alone, then added: 1.0487
            ("2023-01-15 12:00:00", "2023-02-15 11:00:00", dec!(1.0487)),
            // b <= a -> 0
            ("2023-03-01 00:00:00", "2023-02-01 00:00:00", dec!(0)),
            ("2023-03-01 00:00:00", "2023-03-01 00:00:00", dec!(0)),
        ];
        for (a, b, want) in cases {
            assert_eq!(month_fraction(at(a), at(b)), want, "{a} -> {b}");
        }
    }

    #[test]
    fn add_months_table() {
        let cases = [
            ("2023-01-01 00:00:00", dec!(1), "2023-02-01 00:00:00"),
            // clamps like chrono: Jan 31 + 1 month = Feb 28
            ("2023-01-31 00:00:00", dec!(1), "2023-02-28 00:00:00"),
            ("2023-01-01 00:00:00", dec!(12), "2024-01-01 00:00:00"),
            // 0.5 of February 2023: 0.5 * 28 * 24 = 336 h = 14 days
            ("2023-01-01 00:00:00", dec!(1.5), "2023-02-15 00:00:00"),
            // 0.1 of January: 0.1 * 31 * 24 = 74.4 h -> 74 h = 3 d 2 h
            ("2023-01-01 00:00:00", dec!(0.1), "2023-01-04 02:00:00"),
            ("2023-01-01 00:00:00", dec!(0), "2023-01-01 00:00:00"),
        ];
        for (t, m, want) in cases {
            assert_eq!(add_months(at(t), m), at(want), "{t} + {m}");
        }
    }

    #[test]
    fn exclusive_after_adds_one_second() {
        assert_eq!(
            exclusive_after(at("2023-06-30 23:59:59")),
            at("2023-07-01 00:00:00")
        );
    }
}
