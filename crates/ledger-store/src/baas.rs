//! BaaS read models: each customer's bills (with what has been paid) and usage (with the bill
//! that absorbed it), under `tenant / customer / id`, so one prefix scan yields a customer.

use crate::keys;
use crate::store::{Overlay, ReadStore, StoreError};
use ledger_core::baas::{BaasBillPosted, BaasPaymentPosted, BaasUsagePosted, BillRow, UsageRow};
use std::collections::{BTreeMap, BTreeSet};

fn bill_key(tenant_id: &str, ext_cust_id: &str, bill_id: &str) -> Vec<u8> {
    keys::compose(keys::BAAS_BILL, &[tenant_id, ext_cust_id, bill_id])
}

fn usage_key(tenant_id: &str, ext_cust_id: &str, usage_id: &str) -> Vec<u8> {
    keys::compose(keys::BAAS_USAGE, &[tenant_id, ext_cust_id, usage_id])
}

pub fn put_bill(ov: &mut Overlay<'_>, e: &BaasBillPosted) -> Result<(), StoreError> {
    let b = &e.bill;
    for id in &e.absorbed_usage {
        let key = usage_key(&b.tenant_id, &b.ext_cust_id, id);
        if let Some(mut row) = ov.get_json::<UsageRow>(&key)? {
            row.billed_by = Some(b.bill_id.clone());
            ov.put_json(key, &row);
        }
    }
    ov.put_json(bill_key(&b.tenant_id, &b.ext_cust_id, &b.bill_id), &e.row());
    Ok(())
}

pub fn put_payment(ov: &mut Overlay<'_>, e: &BaasPaymentPosted) -> Result<(), StoreError> {
    let p = &e.payment;
    for a in &e.allocations {
        let key = bill_key(&p.tenant_id, &p.ext_cust_id, &a.bill_id);
        if let Some(mut row) = ov.get_json::<BillRow>(&key)? {
            row.paid += a.amount;
            ov.put_json(key, &row);
        }
    }
    Ok(())
}

pub fn put_usage(ov: &mut Overlay<'_>, e: &BaasUsagePosted) -> Result<(), StoreError> {
    let u = &e.usage;
    ov.put_json(
        usage_key(&u.tenant_id, &u.ext_cust_id, &u.usage_id),
        &e.row(),
    );
    Ok(())
}

/// A customer's bills and usage, each in id order.
pub fn customer(
    store: &ReadStore,
    tenant_id: &str,
    ext_cust_id: &str,
) -> Result<(Vec<BillRow>, Vec<UsageRow>), StoreError> {
    let parts = [tenant_id, ext_cust_id];
    Ok((
        store.scan_json(&keys::compose_prefix(keys::BAAS_BILL, &parts))?,
        store.scan_json(&keys::compose_prefix(keys::BAAS_USAGE, &parts))?,
    ))
}

/// Every tenant's customers with at least one bill or usage (a scan of every bill and usage
/// row: the dashboard's).
pub fn customers(store: &ReadStore) -> Result<BTreeMap<String, BTreeSet<String>>, StoreError> {
    let mut tenants: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for b in store.scan_json::<BillRow>(keys::BAAS_BILL)? {
        tenants
            .entry(b.bill.tenant_id)
            .or_default()
            .insert(b.bill.ext_cust_id);
    }
    for u in store.scan_json::<UsageRow>(keys::BAAS_USAGE)? {
        tenants
            .entry(u.usage.tenant_id)
            .or_default()
            .insert(u.usage.ext_cust_id);
    }
    Ok(tenants)
}
