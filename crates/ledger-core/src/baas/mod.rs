//! Telecom BaaS arrears (seed 000): bills, payments and real-time usage of a tenant's customers,
//! and what a customer owes in a date window. Partition key `tenant:{tenantId}`.
//!
//! A bill is a customer's billed fee for one service over a period. Real-time usage is what the
//! switch has charged but no bill yet covers; a bill of the same customer and service whose
//! period covers the usage's instant absorbs it, so it is never counted twice. A payment settles
//! one named bill, or the customer's oldest unpaid bills of the service first.

pub mod arrears;
pub mod events;

pub use arrears::{FeeOwed, Window, fee_owed};
pub use events::*;

use crate::event::Event;
use crate::money::Money;
use crate::rejection::Rejection;
use chrono::NaiveDateTime;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The partition key of a tenant.
pub fn tenant_key(tenant_id: &str) -> String {
    format!("tenant:{tenant_id}")
}

/// The seed's time format, `YYYYMMDDHH24MISS`.
pub const SEED_TIME_FORMAT: &str = crate::time::COMPACT_FORMAT;

/// Reads a `YYYYMMDDHH24MISS` time: exactly 14 digits forming a real date and time.
pub fn parse_seed_time(text: &str) -> Option<NaiveDateTime> {
    if text.len() != 14 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    crate::time::parse_compact(text).ok()
}

pub fn format_seed_time(t: NaiveDateTime) -> String {
    crate::time::format_compact(t)
}

/// `baas.bill.post`: a customer's billed fee for one service and period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BillPost {
    pub tenant_id: String,
    pub ext_cust_id: String,
    pub service_id: String,
    pub bill_id: String,
    /// First instant the bill covers (inclusive).
    #[serde(with = "crate::time::business")]
    #[schemars(schema_with = "crate::time::business::schema")]
    pub period_start: NaiveDateTime,
    /// Last instant the bill covers (inclusive).
    #[serde(with = "crate::time::business")]
    #[schemars(schema_with = "crate::time::business::schema")]
    pub period_end: NaiveDateTime,
    /// Billed amount in yuan.
    pub amount: Money,
}

/// `baas.payment.post`: money received from a customer for one service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PaymentPost {
    pub tenant_id: String,
    pub ext_cust_id: String,
    pub service_id: String,
    pub payment_id: String,
    /// Paid amount in yuan, more than zero.
    pub amount: Money,
    #[serde(with = "crate::time::business")]
    #[schemars(schema_with = "crate::time::business::schema")]
    pub paid_at: NaiveDateTime,
    /// The bill paid; absent: the oldest unpaid bills of the service first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bill_id: Option<String>,
}

/// `baas.usage.post`: real-time usage charged by the switch and not yet billed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UsagePost {
    pub tenant_id: String,
    pub ext_cust_id: String,
    pub service_id: String,
    pub usage_id: String,
    /// Charged amount in yuan.
    pub amount: Money,
    /// When the usage happened.
    #[serde(with = "crate::time::business")]
    #[schemars(schema_with = "crate::time::business::schema")]
    pub at: NaiveDateTime,
}

/// A bill as the ledger keeps it: what was billed, what has been paid, which usage it absorbed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BillRow {
    pub bill: BillPost,
    pub paid: Money,
    pub absorbed_usage: Vec<String>,
}

impl BillRow {
    pub fn outstanding(&self) -> Money {
        self.bill.amount - self.paid
    }

    pub fn covers(&self, at: NaiveDateTime) -> bool {
        self.bill.period_start <= at && at <= self.bill.period_end
    }

    /// Oldest first: by period start, then period end, then id (a total, stable order).
    fn age_key(&self) -> (NaiveDateTime, NaiveDateTime, &str) {
        (
            self.bill.period_start,
            self.bill.period_end,
            &self.bill.bill_id,
        )
    }
}

/// A usage record as the ledger keeps it: unbilled while `billed_by` is empty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UsageRow {
    pub usage: UsagePost,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billed_by: Option<String>,
}

/// One customer's bills and usage, by id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Customer {
    pub bills: BTreeMap<String, BillRow>,
    pub usage: BTreeMap<String, UsageRow>,
}

impl Customer {
    /// The customer's bills of a service, oldest first.
    fn bills_oldest_first(&self, service_id: &str) -> Vec<&BillRow> {
        let mut bills: Vec<&BillRow> = self
            .bills
            .values()
            .filter(|b| b.bill.service_id == service_id)
            .collect();
        bills.sort_by(|a, b| a.age_key().cmp(&b.age_key()));
        bills
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Tenant {
    customers: BTreeMap<String, Customer>,
    /// Bill, payment and usage ids are unique within a tenant.
    bill_ids: BTreeSet<String>,
    payment_ids: BTreeSet<String>,
    usage_ids: BTreeSet<String>,
}

/// The BaaS books of every tenant, folded from the log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BaasBooks {
    tenants: BTreeMap<String, Tenant>,
}

impl BaasBooks {
    pub fn customer(&self, tenant_id: &str, ext_cust_id: &str) -> Option<&Customer> {
        self.tenants.get(tenant_id)?.customers.get(ext_cust_id)
    }

    fn tenant(&self, tenant_id: &str) -> Option<&Tenant> {
        self.tenants.get(tenant_id)
    }

    fn customer_mut(&mut self, tenant_id: &str, ext_cust_id: &str) -> &mut Customer {
        self.tenants
            .entry(tenant_id.to_string())
            .or_default()
            .customers
            .entry(ext_cust_id.to_string())
            .or_default()
    }

    pub fn apply_bill(&mut self, e: &BaasBillPosted) {
        let b = &e.bill;
        self.tenants
            .entry(b.tenant_id.clone())
            .or_default()
            .bill_ids
            .insert(b.bill_id.clone());
        let customer = self.customer_mut(&b.tenant_id, &b.ext_cust_id);
        for id in &e.absorbed_usage {
            if let Some(u) = customer.usage.get_mut(id) {
                u.billed_by = Some(b.bill_id.clone());
            }
        }
        customer.bills.insert(b.bill_id.clone(), e.row());
    }

    pub fn apply_payment(&mut self, e: &BaasPaymentPosted) {
        let p = &e.payment;
        self.tenants
            .entry(p.tenant_id.clone())
            .or_default()
            .payment_ids
            .insert(p.payment_id.clone());
        let customer = self.customer_mut(&p.tenant_id, &p.ext_cust_id);
        for a in &e.allocations {
            if let Some(bill) = customer.bills.get_mut(&a.bill_id) {
                bill.paid += a.amount;
            }
        }
    }

    pub fn apply_usage(&mut self, e: &BaasUsagePosted) {
        let u = &e.usage;
        self.tenants
            .entry(u.tenant_id.clone())
            .or_default()
            .usage_ids
            .insert(u.usage_id.clone());
        self.customer_mut(&u.tenant_id, &u.ext_cust_id)
            .usage
            .insert(u.usage_id.clone(), e.row());
    }
}

/// Posts a bill; it absorbs the customer's unbilled usage of the service inside its period.
pub fn decide_bill(books: &BaasBooks, bill: &BillPost) -> Result<Vec<Event>, Rejection> {
    if bill.period_end < bill.period_start {
        return Err(Rejection::invalid(
            "periodEnd",
            "periodEnd 早于 periodStart (periodEnd is before periodStart)",
        ));
    }
    if books
        .tenant(&bill.tenant_id)
        .is_some_and(|t| t.bill_ids.contains(&bill.bill_id))
    {
        return Err(Rejection::Conflict {
            message: format!("账单已存在 (billId {} already exists)", bill.bill_id),
        });
    }
    let absorbed_usage = books
        .customer(&bill.tenant_id, &bill.ext_cust_id)
        .map(|c| {
            c.usage
                .values()
                .filter(|u| {
                    u.billed_by.is_none()
                        && u.usage.service_id == bill.service_id
                        && bill.period_start <= u.usage.at
                        && u.usage.at <= bill.period_end
                })
                .map(|u| u.usage.usage_id.clone())
                .collect()
        })
        .unwrap_or_default();
    Ok(vec![
        BaasBillPosted {
            bill: bill.clone(),
            absorbed_usage,
        }
        .into(),
    ])
}

/// Records usage; usage inside the period of a bill already posted is billed by that bill
/// (the oldest such bill) and never counted as real-time fee.
pub fn decide_usage(books: &BaasBooks, usage: &UsagePost) -> Result<Vec<Event>, Rejection> {
    if books
        .tenant(&usage.tenant_id)
        .is_some_and(|t| t.usage_ids.contains(&usage.usage_id))
    {
        return Err(Rejection::Conflict {
            message: format!("用量已存在 (usageId {} already exists)", usage.usage_id),
        });
    }
    let billed_by = books
        .customer(&usage.tenant_id, &usage.ext_cust_id)
        .and_then(|c| {
            c.bills_oldest_first(&usage.service_id)
                .into_iter()
                .find(|b| b.covers(usage.at))
                .map(|b| b.bill.bill_id.clone())
        });
    Ok(vec![
        BaasUsagePosted {
            usage: usage.clone(),
            billed_by,
        }
        .into(),
    ])
}

/// Applies a payment to the named bill, or to the service's oldest unpaid bills first. A payment
/// larger than what it can settle is refused rather than kept as an unexplained credit.
pub fn decide_payment(books: &BaasBooks, payment: &PaymentPost) -> Result<Vec<Event>, Rejection> {
    if payment.amount.yuan().is_zero() {
        return Err(Rejection::invalid(
            "amount",
            "缴费金额必须大于0 (amount must be more than 0)",
        ));
    }
    if books
        .tenant(&payment.tenant_id)
        .is_some_and(|t| t.payment_ids.contains(&payment.payment_id))
    {
        return Err(Rejection::Conflict {
            message: format!(
                "缴费已存在 (paymentId {} already exists)",
                payment.payment_id
            ),
        });
    }
    let Some(customer) = books.customer(&payment.tenant_id, &payment.ext_cust_id) else {
        return Err(Rejection::NotFound {
            message: format!(
                "客户不存在 (unknown customer {} of tenant {})",
                payment.ext_cust_id, payment.tenant_id
            ),
        });
    };
    let candidates: Vec<&BillRow> = match &payment.bill_id {
        Some(id) => {
            let Some(bill) = customer.bills.get(id) else {
                return Err(Rejection::invalid(
                    "billId",
                    format!("账单不存在 (billId {id} is not a bill of this customer)"),
                ));
            };
            if bill.bill.service_id != payment.service_id {
                return Err(Rejection::invalid(
                    "serviceId",
                    format!(
                        "serviceId 与账单不符 (bill {id} is for service {}, not {})",
                        bill.bill.service_id, payment.service_id
                    ),
                ));
            }
            vec![bill]
        }
        None => customer.bills_oldest_first(&payment.service_id),
    };
    let owed: Money = candidates.iter().map(|b| b.outstanding()).sum();
    if payment.amount > owed {
        return Err(Rejection::Refused {
            message: format!(
                "缴费金额超过欠费 (amount {} exceeds the {} yuan owed)",
                payment.amount, owed
            ),
        });
    }
    let mut left = payment.amount;
    let mut allocations = Vec::new();
    for bill in candidates {
        if left == Money::ZERO {
            break;
        }
        let take = left.min(bill.outstanding());
        if take > Money::ZERO {
            allocations.push(Allocation {
                bill_id: bill.bill.bill_id.clone(),
                amount: take,
            });
            left = left - take;
        }
    }
    Ok(vec![
        BaasPaymentPosted {
            payment: payment.clone(),
            allocations,
        }
        .into(),
    ])
}

/// Which tenant-wide id space an id belongs to (bill, payment and usage ids are unique within a
/// tenant).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdKind {
    Bill,
    Payment,
    Usage,
}

/// Row access for the keyed decider state (`crate::keyed`): one entity at a time.
impl BaasBooks {
    pub(crate) fn has_customer(&self, tenant_id: &str, ext_cust_id: &str) -> bool {
        self.customer(tenant_id, ext_cust_id).is_some()
    }

    pub(crate) fn put_customer(&mut self, tenant_id: &str, ext_cust_id: &str) {
        self.customer_mut(tenant_id, ext_cust_id);
    }

    pub(crate) fn put_bill(&mut self, row: BillRow) {
        let (t, c) = (row.bill.tenant_id.clone(), row.bill.ext_cust_id.clone());
        self.customer_mut(&t, &c)
            .bills
            .insert(row.bill.bill_id.clone(), row);
    }

    pub(crate) fn put_usage(&mut self, row: UsageRow) {
        let (t, c) = (row.usage.tenant_id.clone(), row.usage.ext_cust_id.clone());
        self.customer_mut(&t, &c)
            .usage
            .insert(row.usage.usage_id.clone(), row);
    }

    fn ids_mut(&mut self, tenant_id: &str, kind: IdKind) -> &mut BTreeSet<String> {
        let tenant = self.tenants.entry(tenant_id.to_string()).or_default();
        match kind {
            IdKind::Bill => &mut tenant.bill_ids,
            IdKind::Payment => &mut tenant.payment_ids,
            IdKind::Usage => &mut tenant.usage_ids,
        }
    }

    pub(crate) fn has_id(&self, tenant_id: &str, kind: IdKind, id: &str) -> bool {
        self.tenant(tenant_id).is_some_and(|t| {
            match kind {
                IdKind::Bill => &t.bill_ids,
                IdKind::Payment => &t.payment_ids,
                IdKind::Usage => &t.usage_ids,
            }
            .contains(id)
        })
    }

    pub(crate) fn put_id(&mut self, tenant_id: &str, kind: IdKind, id: &str) {
        self.ids_mut(tenant_id, kind).insert(id.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn t(s: &str) -> NaiveDateTime {
        parse_seed_time(s).unwrap()
    }

    fn bill(id: &str, service: &str, start: &str, end: &str, yuan: &str) -> BillPost {
        BillPost {
            tenant_id: "MVNE".into(),
            ext_cust_id: "10010111".into(),
            service_id: service.into(),
            bill_id: id.into(),
            period_start: t(start),
            period_end: t(end),
            amount: Money::new(yuan.parse().unwrap()),
        }
    }

    fn usage(id: &str, service: &str, at: &str, yuan: &str) -> UsagePost {
        UsagePost {
            tenant_id: "MVNE".into(),
            ext_cust_id: "10010111".into(),
            service_id: service.into(),
            usage_id: id.into(),
            amount: Money::new(yuan.parse().unwrap()),
            at: t(at),
        }
    }

    fn payment(id: &str, yuan: &str, bill_id: Option<&str>) -> PaymentPost {
        PaymentPost {
            tenant_id: "MVNE".into(),
            ext_cust_id: "10010111".into(),
            service_id: "1001".into(),
            payment_id: id.into(),
            amount: Money::new(yuan.parse().unwrap()),
            paid_at: t("20160420000000"),
            bill_id: bill_id.map(String::from),
        }
    }

    /// Decides and folds, as the writer does.
    fn run(books: &mut BaasBooks, events: Result<Vec<Event>, Rejection>) -> Vec<Event> {
        let events = events.expect("accepted");
        for e in &events {
            match e {
                Event::BaasBillPosted(e) => books.apply_bill(e),
                Event::BaasPaymentPosted(e) => books.apply_payment(e),
                Event::BaasUsagePosted(e) => books.apply_usage(e),
                other => panic!("unexpected {other:?}"),
            }
        }
        events
    }

    fn seeded() -> BaasBooks {
        let mut books = BaasBooks::default();
        for b in [
            bill("B1", "1001", "20160101000000", "20160131235959", "60.50"),
            bill("B2", "1001", "20160201000000", "20160229235959", "38.50"),
        ] {
            let decided = decide_bill(&books, &b);
            run(&mut books, decided);
        }
        books
    }

    fn outstanding(books: &BaasBooks, id: &str) -> Money {
        books.customer("MVNE", "10010111").unwrap().bills[id].outstanding()
    }

    #[test]
    fn a_bill_absorbs_earlier_unbilled_usage_of_its_service_and_period() {
        let mut books = BaasBooks::default();
        for u in [
            usage("U1", "1001", "20160310120000", "7.00"),
            usage("U2", "1001", "20160410120000", "12.00"),
            usage("U3", "1002", "20160310120000", "1.00"),
        ] {
            let decided = decide_usage(&books, &u);
            run(&mut books, decided);
        }
        let b = bill("B3", "1001", "20160301000000", "20160331235959", "9.00");
        let events = decide_bill(&books, &b).unwrap();
        let Event::BaasBillPosted(posted) = &events[0] else {
            panic!()
        };
        // U2 is April, U3 is another service: only U1 is inside March for 1001.
        assert_eq!(posted.absorbed_usage, vec!["U1".to_string()]);
    }

    #[test]
    fn usage_inside_an_existing_bill_is_billed_at_once() {
        let books = seeded();
        let events = decide_usage(&books, &usage("U9", "1001", "20160215000000", "3.00")).unwrap();
        let Event::BaasUsagePosted(posted) = &events[0] else {
            panic!()
        };
        assert_eq!(posted.billed_by.as_deref(), Some("B2"));
    }

    /// Amount, named bill, expected allocations, expected outstanding of B1 and B2.
    type PaymentCase<'a> = (
        &'a str,
        Option<&'a str>,
        &'a [(&'a str, rust_decimal::Decimal)],
        [&'a str; 2],
    );

    #[test]
    fn payments_without_a_bill_settle_the_oldest_first() {
        let table: &[PaymentCase<'_>] = &[
            // 20.25 of B1's 60.50 → B1 owes 40.25.
            ("20.25", None, &[("B1", dec!(20.25))], ["40.25", "38.50"]),
            // 70 = all 60.50 of B1 + 9.50 of B2 → B2 owes 29.00.
            (
                "70",
                None,
                &[("B1", dec!(60.50)), ("B2", dec!(9.50))],
                ["0.00", "29.00"],
            ),
            // Named bill: B2 only, 38.50 - 8.50 = 30.00.
            (
                "8.50",
                Some("B2"),
                &[("B2", dec!(8.50))],
                ["60.50", "30.00"],
            ),
        ];
        for (yuan, bill_id, allocations, [b1, b2]) in table {
            let mut books = seeded();
            let decided = decide_payment(&books, &payment("P1", yuan, *bill_id));
            let events = run(&mut books, decided);
            let Event::BaasPaymentPosted(posted) = &events[0] else {
                panic!()
            };
            let got: Vec<(&str, rust_decimal::Decimal)> = posted
                .allocations
                .iter()
                .map(|a| (a.bill_id.as_str(), a.amount.yuan()))
                .collect();
            assert_eq!(&got, allocations, "{yuan}");
            assert_eq!(outstanding(&books, "B1").yuan(), b1.parse().unwrap());
            assert_eq!(outstanding(&books, "B2").yuan(), b2.parse().unwrap());
        }
    }

    #[test]
    fn refusals() {
        let books = seeded();
        let cases: Vec<(Result<Vec<Event>, Rejection>, &str)> = vec![
            (
                decide_payment(&books, &payment("P1", "99.01", None)),
                "exceeds the 99.00 yuan owed",
            ),
            (
                decide_payment(&books, &payment("P1", "38.51", Some("B2"))),
                "exceeds the 38.50 yuan owed",
            ),
            (
                decide_payment(&books, &payment("P1", "1", Some("B7"))),
                "billId B7 is not a bill",
            ),
            (
                decide_payment(&books, &payment("P1", "0", None)),
                "amount must be more than 0",
            ),
            (
                decide_payment(
                    &books,
                    &PaymentPost {
                        ext_cust_id: "nobody".into(),
                        ..payment("P1", "1", None)
                    },
                ),
                "unknown customer nobody",
            ),
            (
                decide_bill(
                    &books,
                    &bill("B1", "1001", "20160301000000", "20160331235959", "1"),
                ),
                "billId B1 already exists",
            ),
            (
                decide_bill(
                    &books,
                    &bill("B5", "1001", "20160301000000", "20160201000000", "1"),
                ),
                "periodEnd is before periodStart",
            ),
        ];
        for (outcome, expected) in cases {
            let r = outcome.expect_err(expected);
            assert!(r.message().contains(expected), "{r:?} vs {expected}");
        }
    }

    #[test]
    fn seed_times_are_fourteen_digits_of_a_real_instant() {
        assert_eq!(
            parse_seed_time("20160101000000").map(format_seed_time),
            Some("20160101000000".to_string())
        );
        for bad in [
            "2016010100000",
            "201601010000000",
            "20161301000000",
            "2016010100000a",
        ] {
            assert_eq!(parse_seed_time(bad), None, "{bad}");
        }
    }
}
