//! Utility read models: each account's ACC_VOLPRICE_OWE records under `account / SERIAL_DID`,
//! kept as they stand after every payment.

use crate::keys;
use crate::store::{Overlay, ReadStore, StoreError};
use ledger_core::utility::{OweRecord, UtilityChargePosted, UtilityPaymentPosted};
use std::collections::BTreeMap;

fn record_key(account_did: &str, serial_did: &str) -> Vec<u8> {
    keys::compose(keys::UTILITY_OWE, &[account_did, serial_did])
}

pub fn put_charge(ov: &mut Overlay<'_>, e: &UtilityChargePosted) -> Result<(), StoreError> {
    ov.put_json(record_key(&e.account_did, &e.record.serial_did), &e.record);
    Ok(())
}

pub fn put_payment(ov: &mut Overlay<'_>, e: &UtilityPaymentPosted) -> Result<(), StoreError> {
    let key = record_key(&e.account_did, &e.serial_did);
    if let Some(mut record) = ov.get_json::<OweRecord>(&key)? {
        e.apply_to(&mut record);
        ov.put_json(key, &record);
    }
    Ok(())
}

/// Every account with records, with its count of records.
pub fn accounts(store: &ReadStore) -> Result<std::collections::BTreeMap<String, u64>, StoreError> {
    store.first_parts(keys::UTILITY_OWE)
}

/// Every record of an account, in SERIAL_DID order.
pub fn records(store: &ReadStore, account_did: &str) -> Result<Vec<OweRecord>, StoreError> {
    store.scan_json(&keys::compose_prefix(keys::UTILITY_OWE, &[account_did]))
}

/// Every account's records, by ACCOUNT_DID (the key's first part), each in SERIAL_DID order.
pub fn books(store: &ReadStore) -> Result<BTreeMap<String, Vec<OweRecord>>, StoreError> {
    let mut books: BTreeMap<String, Vec<OweRecord>> = BTreeMap::new();
    for (key, record) in store.scan_json_keyed::<OweRecord>(keys::UTILITY_OWE)? {
        let account = keys::first_part(keys::UTILITY_OWE, &key).unwrap_or_default();
        books.entry(account).or_default().push(record);
    }
    Ok(books)
}
