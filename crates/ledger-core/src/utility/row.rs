//! The compact stored form of an ACC_VOLPRICE_OWE record: every field in table order, without
//! names, read back as borrowed views. The arrears query filters and renders a stored record
//! straight from its bytes; decoding JSON rows of 61 named fields and allocating every string
//! was a quarter of that query's time (issue 19 profile).
//!
//! Layout: the marker byte [`ROW_MARKER`], then per field of [`super::FIELDS`]: text as a
//! LEB128 length and its UTF-8 bytes, whole numbers as 8 bytes little-endian, decimals as their
//! 16-byte `Decimal::serialize` form (scale and sign kept: "2.50" stays "2.50"). The codec is
//! generated from the same field list as the record (`owe_record!`), so the two cannot drift.
//! A row written as JSON (before this form) starts with `{`, never with the marker.

use crate::money::Money;
use crate::utility::record::{Quantity, WireValue};
use rust_decimal::Decimal;

/// The first byte of a compact row (a JSON row's first byte is `{`).
pub const ROW_MARKER: u8 = 0x01;

/// A stored row that is not a compact record: which field could not be read, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a compact record row: {field}: {reason}")]
pub struct RowError {
    pub field: &'static str,
    pub reason: &'static str,
}

/// A record field's type as the compact row holds it: written from the owned value, read back
/// as a view borrowing the row's bytes.
pub trait RowField: Sized {
    /// The field as read from a row (text borrows the row; numbers are copied).
    type View<'a>: Copy + std::fmt::Debug + PartialEq;
    fn put(&self, out: &mut Vec<u8>);
    fn take<'a>(input: &mut &'a [u8]) -> Result<Self::View<'a>, &'static str>;
    fn view(&self) -> Self::View<'_>;
    fn owned(view: Self::View<'_>) -> Self;
    fn wire<'a>(view: Self::View<'a>) -> WireValue<'a>;
}

/// The first `n` bytes of the input, which moves past them.
fn take_bytes<'a>(input: &mut &'a [u8], n: usize) -> Result<&'a [u8], &'static str> {
    if input.len() < n {
        return Err("truncated");
    }
    let (head, rest) = input.split_at(n);
    *input = rest;
    Ok(head)
}

fn take_array<const N: usize>(input: &mut &[u8]) -> Result<[u8; N], &'static str> {
    let bytes = take_bytes(input, N)?;
    Ok(bytes.try_into().expect("take_bytes gave N bytes"))
}

fn put_len(out: &mut Vec<u8>, mut n: usize) {
    while n >= 0x80 {
        out.push((n as u8 & 0x7f) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn take_len(input: &mut &[u8]) -> Result<usize, &'static str> {
    let mut n: usize = 0;
    for shift in (0..usize::BITS).step_by(7) {
        let [b] = take_array::<1>(input)?;
        n |= usize::from(b & 0x7f)
            .checked_shl(shift)
            .filter(|v| v >> shift == usize::from(b & 0x7f))
            .ok_or("length overflows")?;
        if b & 0x80 == 0 {
            return Ok(n);
        }
    }
    Err("length overflows")
}

impl RowField for String {
    type View<'a> = &'a str;
    fn put(&self, out: &mut Vec<u8>) {
        put_len(out, self.len());
        out.extend_from_slice(self.as_bytes());
    }
    fn take<'a>(input: &mut &'a [u8]) -> Result<&'a str, &'static str> {
        let n = take_len(input)?;
        std::str::from_utf8(take_bytes(input, n)?).map_err(|_| "text is not UTF-8")
    }
    fn view(&self) -> &str {
        self
    }
    fn owned(view: &str) -> Self {
        view.to_string()
    }
    fn wire<'a>(view: Self::View<'a>) -> WireValue<'a> {
        WireValue::Text(view)
    }
}

/// Whole numbers: 8 bytes little-endian.
macro_rules! whole_number_field {
    ($($ty:ty => $wire:ident),*) => {$(
        impl RowField for $ty {
            type View<'a> = $ty;
            fn put(&self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
            fn take(input: &mut &[u8]) -> Result<$ty, &'static str> {
                take_array(input).map(<$ty>::from_le_bytes)
            }
            fn view(&self) -> $ty {
                *self
            }
            fn owned(view: $ty) -> Self {
                view
            }
            fn wire<'a>(view: $ty) -> WireValue<'a> {
                WireValue::$wire(view)
            }
        }
    )*};
}

whole_number_field!(i64 => Integer, u64 => Unsigned);

/// A decimal's 16 bytes; bytes that `Decimal::serialize` would not have written (unused flag
/// bits, a scale above 28) are refused rather than silently normalised.
fn take_decimal(input: &mut &[u8]) -> Result<Decimal, &'static str> {
    let bytes = take_array::<16>(input)?;
    let d = Decimal::deserialize(bytes);
    if d.serialize() == bytes {
        Ok(d)
    } else {
        Err("not a decimal")
    }
}

/// Decimal amounts: the decimal they hold, as [`take_decimal`] reads it.
macro_rules! decimal_field {
    ($($ty:ty: $decimal:expr, $from:expr;)*) => {$(
        impl RowField for $ty {
            type View<'a> = $ty;
            fn put(&self, out: &mut Vec<u8>) {
                out.extend_from_slice(&$decimal(*self).serialize());
            }
            fn take(input: &mut &[u8]) -> Result<$ty, &'static str> {
                take_decimal(input).map($from)
            }
            fn view(&self) -> $ty {
                *self
            }
            fn owned(view: $ty) -> Self {
                view
            }
            fn wire<'a>(view: $ty) -> WireValue<'a> {
                WireValue::Decimal($decimal(view))
            }
        }
    )*};
}

decimal_field! {
    Money: Money::yuan, Money::new;
    Quantity: |q: Quantity| q.0, Quantity;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::utility::record::{FIELDS, FieldKind, OweRecord, OweRecordView};
    use proptest::prelude::*;
    use serde_json::{Map, Value};

    /// Any decimal `Decimal` can hold, as the exact text the record's JSON carries.
    fn decimal_text() -> impl Strategy<Value = String> {
        (any::<i128>(), 0u32..=28).prop_map(|(m, scale)| {
            let m = m % (1i128 << 96);
            Decimal::from_i128_with_scale(m, scale).to_string()
        })
    }

    /// Any record: each field a value of its kind (through the record's own JSON form, so the
    /// strategy needs no list of fields of its own).
    fn any_record() -> impl Strategy<Value = OweRecord> {
        let field = (any::<String>(), any::<i64>(), any::<u64>(), decimal_text());
        proptest::collection::vec(field, FIELDS.len()).prop_map(|values| {
            let mut object = Map::new();
            for ((name, kind, _), (text, int, unsigned, decimal)) in FIELDS.iter().zip(values) {
                let value = match kind {
                    FieldKind::Text(_) => Value::from(text),
                    FieldKind::Integer => Value::from(int),
                    FieldKind::Date | FieldKind::Month => Value::from(unsigned),
                    FieldKind::Quantity | FieldKind::Money => Value::from(decimal),
                };
                object.insert(name.to_string(), value);
            }
            serde_json::from_value(Value::Object(object)).expect("every field of its kind")
        })
    }

    proptest! {
        #[test]
        fn any_record_round_trips(record in any_record()) {
            let row = record.to_row();
            prop_assert_eq!(row[0], ROW_MARKER);
            let view = OweRecordView::from_row(&row).unwrap();
            prop_assert_eq!(view, record.view());
            prop_assert_eq!(view.to_record(), record);
        }

        #[test]
        fn garbage_is_an_error_never_a_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let mut row = vec![ROW_MARKER];
            row.extend_from_slice(&bytes);
            // Either a record that writes back to the very same bytes, or an error.
            if let Ok(view) = OweRecordView::from_row(&row) {
                prop_assert_eq!(view.to_record().to_row(), row);
            }
            let _ = OweRecordView::from_row(&bytes);
        }

        #[test]
        fn any_cut_or_flipped_row_is_refused_or_exact(record in any_record(), at in any::<prop::sample::Index>(), bit in 0u8..8) {
            let row = record.to_row();
            let cut = &row[..at.index(row.len())];
            prop_assert!(OweRecordView::from_row(cut).is_err());
            let mut flipped = row.clone();
            flipped[at.index(row.len())] ^= 1 << bit;
            if let Ok(view) = OweRecordView::from_row(&flipped) {
                prop_assert_eq!(view.to_record().to_row(), flipped);
            }
        }
    }

    #[test]
    fn a_json_row_is_not_a_compact_row() {
        let err = OweRecordView::from_row(b"{\"NODE_AID\":\"n\"}").unwrap_err();
        assert_eq!(err.field, "marker");
        assert_eq!(OweRecordView::from_row(b"").unwrap_err().field, "marker");
    }

    #[test]
    fn trailing_bytes_are_refused() {
        let record = crate::utility::tests::record("S1", "10", "0.5");
        let mut row = record.to_row();
        row.push(0);
        let err = OweRecordView::from_row(&row).unwrap_err();
        assert_eq!((err.field, err.reason), ("end", "trailing bytes"));
    }

    #[test]
    fn lengths_are_leb128_and_overflow_is_refused() {
        for n in [0usize, 1, 127, 128, 300, 16_383, 16_384, usize::MAX] {
            let mut out = Vec::new();
            put_len(&mut out, n);
            assert_eq!(take_len(&mut out.as_slice()), Ok(n), "{n}");
        }
        let too_long = [0xffu8; 11];
        assert_eq!(take_len(&mut too_long.as_slice()), Err("length overflows"));
        let mut high = vec![0xffu8; 9];
        high.push(0x7f);
        assert_eq!(take_len(&mut high.as_slice()), Err("length overflows"));
    }
}
