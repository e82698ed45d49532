//! Utility read models: each account's ACC_VOLPRICE_OWE records under `account / SERIAL_DID`,
//! kept as they stand after every payment.
//!
//! A record is stored in its compact form ([`ledger_core::utility::row`]: no field names, read
//! in place), so the arrears query filters and renders rows without decoding 61 named fields.
//! Stores written before held JSON rows; [`compact_rows`] rewrites them when the store opens
//! (the store then equals a rebuild from the log again), and every reader still takes either
//! form, told apart by the first byte (`{` for JSON).

use crate::keys;
use crate::store::{Overlay, ReadStore, StoreError, parse_row};
use ledger_core::utility::{OweRecord, OweRecordView, UtilityChargePosted, UtilityPaymentPosted};
use std::collections::BTreeMap;

fn record_key(account_did: &str, serial_did: &str) -> Vec<u8> {
    keys::compose(keys::UTILITY_OWE, &[account_did, serial_did])
}

/// Hands the record a stored row holds, in either form, to `read`.
fn read_row<R>(
    key: &[u8],
    row: &[u8],
    read: impl FnOnce(&OweRecordView<'_>) -> R,
) -> Result<R, StoreError> {
    if row.first() == Some(&b'{') {
        let record: OweRecord = parse_row(key, row)?;
        return Ok(read(&record.view()));
    }
    let view = OweRecordView::from_row(row).map_err(|e| StoreError::Corrupt {
        key: String::from_utf8_lossy(key).into_owned(),
        reason: e.to_string(),
    })?;
    Ok(read(&view))
}

fn owned_record(key: &[u8], row: &[u8]) -> Result<OweRecord, StoreError> {
    read_row(key, row, |r| r.to_record())
}

pub fn put_charge(ov: &mut Overlay<'_>, e: &UtilityChargePosted) -> Result<(), StoreError> {
    ov.put(
        record_key(&e.account_did, &e.record.serial_did),
        e.record.to_row(),
    );
    Ok(())
}

pub fn put_payment(ov: &mut Overlay<'_>, e: &UtilityPaymentPosted) -> Result<(), StoreError> {
    let key = record_key(&e.account_did, &e.serial_did);
    if let Some(row) = ov.get(&key)? {
        let mut record = owned_record(&key, &row)?;
        e.apply_to(&mut record);
        ov.put(key, record.to_row());
    }
    Ok(())
}

/// Every account with records, with its count of records.
pub fn accounts(store: &ReadStore) -> Result<std::collections::BTreeMap<String, u64>, StoreError> {
    store.first_parts(keys::UTILITY_OWE)
}

/// Every record of an account, in SERIAL_DID order.
pub fn records(store: &ReadStore, account_did: &str) -> Result<Vec<OweRecord>, StoreError> {
    let mut records = Vec::new();
    visit_records(store, account_did, |r| records.push(r.to_record()))?;
    Ok(records)
}

/// Visits every record of an account in SERIAL_DID order, read in place from its row (nothing
/// is copied out of the store for a compact row).
pub fn visit_records(
    store: &ReadStore,
    account_did: &str,
    mut visit: impl FnMut(&OweRecordView<'_>),
) -> Result<(), StoreError> {
    let prefix = keys::compose_prefix(keys::UTILITY_OWE, &[account_did]);
    store.for_each(&prefix, |key, row| read_row(key, row, &mut visit))
}

/// Every account's records, by ACCOUNT_DID (the key's first part), each in SERIAL_DID order.
pub fn books(store: &ReadStore) -> Result<BTreeMap<String, Vec<OweRecord>>, StoreError> {
    let mut books: BTreeMap<String, Vec<OweRecord>> = BTreeMap::new();
    store.for_each(keys::UTILITY_OWE, |key, row| {
        let account = keys::first_part(keys::UTILITY_OWE, key).unwrap_or_default();
        books
            .entry(account)
            .or_default()
            .push(owned_record(key, row)?);
        Ok(())
    })?;
    Ok(books)
}

/// JSON rows [`compact_rows`] rewrites per transaction: a store of years of history holds
/// millions of records, which one transaction would hold in memory at once.
const COMPACT_BATCH: usize = 4096;

/// Rewrites the JSON rows of a store written before the compact form, once, at open: a store
/// must equal a rebuild from the log (which writes compact rows), or `verify` would report it.
/// The rows are rewritten in key order, [`COMPACT_BATCH`] per atomic write, and only compact
/// rows are written otherwise, so a store whose last row is compact holds no JSON row and is
/// left as it is after reading that one row. A crash part-way leaves the first rows compact and
/// the last one JSON: the next open goes on (each write is whole, with its digest).
pub fn compact_rows(store: &ReadStore) -> Result<(), StoreError> {
    compact_rows_by(store, COMPACT_BATCH)
}

fn compact_rows_by(store: &ReadStore, batch: usize) -> Result<(), StoreError> {
    match store.last_under(keys::UTILITY_OWE)? {
        Some((_, row)) if row.first() == Some(&b'{') => {}
        _ => return Ok(()),
    }
    let mut start = keys::UTILITY_OWE.to_vec();
    loop {
        let mut ov = store.overlay()?;
        let (mut rewritten, mut next) = (0, None);
        store.for_each_from(keys::UTILITY_OWE, &start, |key, row| {
            if rewritten == batch {
                next = Some(key.to_vec());
                return Ok(false);
            }
            if row.first() == Some(&b'{') {
                ov.put(key.to_vec(), owned_record(key, row)?.to_row());
                rewritten += 1;
            }
            Ok(true)
        })?;
        store.write(ov)?;
        match next {
            Some(key) => start = key,
            None => return Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ledger_core::money::Money;
    use ledger_core::utility::{FIELDS, FieldKind};
    use rust_decimal::Decimal;
    use serde_json::{Value, json};

    fn record(serial: &str, calc_fee: &str) -> OweRecord {
        let object = FIELDS
            .iter()
            .map(|(name, kind, _)| {
                let value = match kind {
                    _ if *name == "SERIAL_DID" => json!(serial),
                    _ if *name == "CALC_FEE" => json!(calc_fee),
                    FieldKind::Text(_) => json!(format!("{name} \"{serial}\" 区段")),
                    FieldKind::Quantity | FieldKind::Money => json!("0.00"),
                    _ => json!(0),
                };
                (name.to_string(), value)
            })
            .collect();
        serde_json::from_value(Value::Object(object)).unwrap()
    }

    fn payment(serial: &str, paid: &str) -> UtilityPaymentPosted {
        let paid = Money::new(paid.parse::<Decimal>().unwrap());
        UtilityPaymentPosted {
            account_did: "A1".into(),
            serial_did: serial.into(),
            paid_in_fee: paid,
            paid_in_date: 20240301,
            paid_in_sid: format!("P-{serial}"),
            accu_paid_in_fee: paid,
            owed_after: Money::ZERO,
        }
    }

    fn rows(store: &ReadStore) -> Vec<(Vec<u8>, Vec<u8>)> {
        store
            .dump()
            .unwrap()
            .into_iter()
            .filter(|(k, _)| k.starts_with(keys::UTILITY_OWE))
            .collect()
    }

    /// A store written before the compact form holds JSON rows: they are read (queries and a
    /// payment's update), and the next open rewrites them so the store equals one written
    /// compact from the start (what a rebuild from the log gives), digest included.
    #[test]
    fn json_rows_of_an_older_store_are_read_and_compacted_at_open() {
        let (s1, s2) = (record("S1", "10.50"), record("S2", "3.20"));
        let old_dir = tempfile::tempdir().unwrap();
        let old = ReadStore::open(old_dir.path()).unwrap();
        let mut ov = old.overlay().unwrap();
        for r in [&s1, &s2] {
            ov.put_json(record_key("A1", &r.serial_did), r);
        }
        old.write(ov).unwrap();
        assert!(rows(&old).iter().all(|(_, v)| v[0] == b'{'));
        assert_eq!(records(&old, "A1").unwrap(), vec![s1.clone(), s2.clone()]);
        let mut owed = Vec::new();
        visit_records(&old, "A1", |r| owed.push(r.owed())).unwrap();
        assert_eq!(owed, vec![s1.owed(), s2.owed()]);

        // A payment reads a JSON row (this version paying a record an older one wrote) ...
        let mut paid = s2.clone();
        payment("S2", "3.20").apply_to(&mut paid);
        let mut ov = old.overlay().unwrap();
        put_payment(&mut ov, &payment("S2", "3.20")).unwrap();
        let key = record_key("A1", "S2");
        let written = ov.get(&key).unwrap().unwrap();
        assert_eq!(owned_record(&key, &written).unwrap(), paid);
        drop(ov);
        // ... while an older version wrote its payments as JSON rows too, as here.
        let mut ov = old.overlay().unwrap();
        ov.put_json(key, &paid);
        old.write(ov).unwrap();
        assert_eq!(records(&old, "A1").unwrap(), vec![s1.clone(), paid.clone()]);
        old.flush().unwrap();
        drop(old);

        let old = ReadStore::open(old_dir.path()).unwrap();
        assert!(
            rows(&old)
                .iter()
                .all(|(_, v)| v[0] == ledger_core::utility::row::ROW_MARKER)
        );
        assert_eq!(records(&old, "A1").unwrap(), vec![s1.clone(), paid.clone()]);

        let new_dir = tempfile::tempdir().unwrap();
        let new = ReadStore::open(new_dir.path()).unwrap();
        let mut ov = new.overlay().unwrap();
        for r in [&s1, &s2] {
            let e = UtilityChargePosted {
                account_did: "A1".into(),
                record: Box::new(r.clone()),
            };
            put_charge(&mut ov, &e).unwrap();
        }
        put_payment(&mut ov, &payment("S2", "3.20")).unwrap();
        new.write(ov).unwrap();
        assert_eq!(rows(&new), rows(&old));
        assert_eq!(new.digest().unwrap(), old.digest().unwrap());
        assert_eq!(
            books(&new).unwrap(),
            BTreeMap::from([("A1".to_string(), vec![s1, paid])])
        );
    }

    /// A migration cut part-way (the first rows compact, the rest JSON, as a crash between two
    /// of its batches leaves it) goes on at the next open; a migration in batches of two ends
    /// where one batch ends: both give the store a rebuild gives, digest included.
    #[test]
    fn a_migration_in_batches_or_cut_part_way_ends_as_a_rebuild() {
        let all: Vec<OweRecord> = (1..=5)
            .map(|i| record(&format!("S{i}"), &format!("{i}.25")))
            .collect();
        let store_with = |compact_first: usize| {
            let dir = tempfile::tempdir().unwrap();
            let store = ReadStore::open(dir.path()).unwrap();
            let mut ov = store.overlay().unwrap();
            for (i, r) in all.iter().enumerate() {
                let key = record_key("A1", &r.serial_did);
                match i < compact_first {
                    true => ov.put(key, r.to_row()),
                    false => ov.put_json(key, r),
                }
            }
            store.write(ov).unwrap();
            (dir, store)
        };
        let (_rebuilt_dir, rebuilt) = store_with(all.len());
        let compact = |store: &ReadStore| {
            rows(store)
                .iter()
                .all(|(_, v)| v[0] == ledger_core::utility::row::ROW_MARKER)
        };

        let (cut_dir, cut) = store_with(2);
        assert!(!compact(&cut));
        cut.flush().unwrap();
        drop(cut);
        let reopened = ReadStore::open(cut_dir.path()).unwrap();
        assert!(compact(&reopened));
        assert_eq!(rows(&reopened), rows(&rebuilt));
        assert_eq!(reopened.digest().unwrap(), rebuilt.digest().unwrap());

        let (_dir, batched) = store_with(0);
        compact_rows_by(&batched, 2).unwrap();
        assert!(compact(&batched));
        assert_eq!(rows(&batched), rows(&rebuilt));
        assert_eq!(batched.digest().unwrap(), rebuilt.digest().unwrap());
        assert_eq!(records(&batched, "A1").unwrap(), all);
    }

    #[test]
    fn a_row_in_neither_form_is_corrupt_naming_its_key() {
        let dir = tempfile::tempdir().unwrap();
        let store = ReadStore::open(dir.path()).unwrap();
        let mut row = record("S1", "1.00").to_row();
        row.truncate(row.len() - 1);
        store.tamper(&record_key("A1", "S1"), Some(&row)).unwrap();
        for err in [
            records(&store, "A1").unwrap_err(),
            visit_records(&store, "A1", |_| {}).unwrap_err(),
        ] {
            match err {
                StoreError::Corrupt { key, reason } => {
                    assert!(key.contains("A1") && key.contains("S1"), "{key}");
                    assert!(reason.contains("THE_PAID_IN_SID: truncated"), "{reason}");
                }
                other => panic!("not corrupt: {other}"),
            }
        }
    }
}
