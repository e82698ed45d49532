//! Utility arrears by meter-reading book (seed 001): charge records (ACC_VOLPRICE_OWE, one per
//! business serial) and the payments against them. Partition key `account:{ACCOUNT_DID}`.
//!
//! A charge's fee is consumption × unit price, rounded half-up to the fen (0.01 yuan), the unit
//! bills are paid in. A charge may state `CALC_FEE`; it must equal that product, so a front end
//! that computed differently is told rather than silently overruled. A record owes
//! `CALC_FEE − ACCU_PAID_IN_FEE`; payments may settle it in parts and never beyond.

pub mod events;
pub mod record;
pub mod row;

pub use events::*;
pub use record::{
    FIELDS, FieldKind, OweRecord, OweRecordView, PAID_IN_FIELDS, Quantity, WireValue,
};

use crate::event::Event;
use crate::money::Money;
use crate::rejection::Rejection;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The partition key of a utility account.
pub fn account_key(account_did: &str) -> String {
    format!("account:{account_did}")
}

/// `utility.charge.post`: one ACC_VOLPRICE_OWE record for an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChargePost {
    pub account_did: String,
    /// The record as posted. Its `calc_fee` is written by the decider; the request's own
    /// `CALC_FEE`, when given, is `stated_calc_fee`.
    pub record: Box<OweRecord>,
    pub stated_calc_fee: Option<Money>,
}

/// `utility.payment.post`: money paid in against one record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PaymentPost {
    pub account_did: String,
    /// The charge record paid (its SERIAL_DID).
    pub serial_did: String,
    /// THE_PAID_IN_FEE: paid amount in yuan, more than zero.
    pub paid_in_fee: Money,
    /// THE_PAID_IN_DATE: `YYYYMMDD` or `YYYYMMDDHHMMSS`.
    pub paid_in_date: u64,
    /// THE_PAID_IN_SID: the payment's business serial, unique in the account.
    pub paid_in_sid: String,
}

/// Which records the arrears query lists: those still owing money that match every filter
/// given (seed 001: RET_STORES_AID, BOOK_AID, CHARGE_PACK_TYPE).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ArrearsFilter {
    pub ret_stores_aid: Option<String>,
    pub book_aid: Option<String>,
    pub charge_pack_type: Option<String>,
}

impl ArrearsFilter {
    pub fn lists(&self, r: &OweRecord) -> bool {
        self.lists_view(&r.view())
    }

    /// [`Self::lists`] of a record read in place.
    pub fn lists_view(&self, r: &OweRecordView<'_>) -> bool {
        let matches =
            |filter: &Option<String>, value: &str| filter.as_deref().is_none_or(|f| f == value);
        r.owed() > Money::ZERO
            && matches(&self.ret_stores_aid, r.ret_stores_aid)
            && matches(&self.book_aid, r.book_aid)
            && matches(&self.charge_pack_type, r.charge_pack_type)
    }
}

/// The fee of a consumption at a unit price: half-up to the fen.
pub fn charge_fee(record: &OweRecord) -> Money {
    Money::new(record.the_charge_cons.0 * record.charge_price.0).round2_half_up()
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Account {
    records: BTreeMap<String, OweRecord>,
    /// Payment serial → the record it paid.
    payments: BTreeMap<String, String>,
}

/// The utility books of every account, folded from the log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UtilityBooks {
    accounts: BTreeMap<String, Account>,
}

impl UtilityBooks {
    pub fn record(&self, account_did: &str, serial_did: &str) -> Option<&OweRecord> {
        self.accounts.get(account_did)?.records.get(serial_did)
    }

    pub fn apply_charge(&mut self, e: &UtilityChargePosted) {
        self.accounts
            .entry(e.account_did.clone())
            .or_default()
            .records
            .insert(e.record.serial_did.clone(), (*e.record).clone());
    }

    pub fn apply_payment(&mut self, e: &UtilityPaymentPosted) {
        let account = self.accounts.entry(e.account_did.clone()).or_default();
        account
            .payments
            .insert(e.paid_in_sid.clone(), e.serial_did.clone());
        if let Some(record) = account.records.get_mut(&e.serial_did) {
            e.apply_to(record);
        }
    }
}

/// Posts a charge record: a new serial, no payments yet, `CALC_FEE` = consumption × price.
pub fn decide_charge(books: &UtilityBooks, charge: &ChargePost) -> Result<Vec<Event>, Rejection> {
    let record = &charge.record;
    if let Some(field) = record.paid_in_field_set() {
        return Err(Rejection::invalid(
            field,
            format!(
                "实收字段由缴费维护 ({field} must be 0 or empty in a charge; payments maintain {})",
                PAID_IN_FIELDS.join(", ")
            ),
        ));
    }
    let fee = charge_fee(record);
    if let Some(stated) = charge.stated_calc_fee
        && stated.yuan() != fee.yuan()
    {
        return Err(Rejection::invalid(
            "CALC_FEE",
            format!(
                "计算费用不等于用量×单价 (CALC_FEE {stated} ≠ THE_CHARGE_CONS {} × CHARGE_PRICE {} = {fee}, half-up to 0.01)",
                record.the_charge_cons.0, record.charge_price.0
            ),
        ));
    }
    if books
        .record(&charge.account_did, &record.serial_did)
        .is_some()
    {
        return Err(Rejection::Conflict {
            message: format!(
                "业务流水号已存在 (SERIAL_DID {} already exists in account {})",
                record.serial_did, charge.account_did
            ),
        });
    }
    let mut record = record.clone();
    record.calc_fee = fee;
    Ok(vec![
        UtilityChargePosted {
            account_did: charge.account_did.clone(),
            record,
        }
        .into(),
    ])
}

/// Pays in against a record; at most what it still owes.
pub fn decide_payment(books: &UtilityBooks, pay: &PaymentPost) -> Result<Vec<Event>, Rejection> {
    if pay.paid_in_fee.yuan().is_zero() {
        return Err(Rejection::invalid(
            "THE_PAID_IN_FEE",
            "实收费用必须大于0 (THE_PAID_IN_FEE must be more than 0)",
        ));
    }
    let Some(record) = books.record(&pay.account_did, &pay.serial_did) else {
        return Err(Rejection::NotFound {
            message: format!(
                "欠费记录不存在 (no charge record SERIAL_DID {} in account {})",
                pay.serial_did, pay.account_did
            ),
        });
    };
    if let Some(paid) = books
        .accounts
        .get(&pay.account_did)
        .and_then(|a| a.payments.get(&pay.paid_in_sid))
    {
        return Err(Rejection::Conflict {
            message: format!(
                "实收业务流水号已使用 (THE_PAID_IN_SID {} already paid record {paid})",
                pay.paid_in_sid
            ),
        });
    }
    let owed = record.owed();
    if pay.paid_in_fee > owed {
        return Err(Rejection::Refused {
            message: format!(
                "实收费用超过欠费 (THE_PAID_IN_FEE {} exceeds the {owed} yuan owed on SERIAL_DID {})",
                pay.paid_in_fee, pay.serial_did
            ),
        });
    }
    let accu_paid_in_fee = record.accu_paid_in_fee + pay.paid_in_fee;
    Ok(vec![
        UtilityPaymentPosted {
            account_did: pay.account_did.clone(),
            serial_did: pay.serial_did.clone(),
            paid_in_fee: pay.paid_in_fee,
            paid_in_date: pay.paid_in_date,
            paid_in_sid: pay.paid_in_sid.clone(),
            accu_paid_in_fee,
            owed_after: record.calc_fee - accu_paid_in_fee,
        }
        .into(),
    ])
}

/// Row access for the keyed decider state (`crate::keyed`): one entity at a time.
impl UtilityBooks {
    pub(crate) fn put_record(&mut self, account_did: &str, record: OweRecord) {
        self.accounts
            .entry(account_did.to_string())
            .or_default()
            .records
            .insert(record.serial_did.clone(), record);
    }

    /// The record a payment serial paid.
    pub(crate) fn payment(&self, account_did: &str, paid_in_sid: &str) -> Option<&String> {
        self.accounts.get(account_did)?.payments.get(paid_in_sid)
    }

    pub(crate) fn put_payment(&mut self, account_did: &str, paid_in_sid: &str, serial_did: &str) {
        self.accounts
            .entry(account_did.to_string())
            .or_default()
            .payments
            .insert(paid_in_sid.to_string(), serial_did.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::utility::record::Quantity;
    use rust_decimal::Decimal;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    /// A record with every field set, as a charge posts it (paid-in fields empty).
    pub(crate) fn record(serial: &str, cons: &str, price: &str) -> OweRecord {
        let text = |s: &str| s.to_string();
        OweRecord {
            node_aid: text("N01"),
            network_co_did: text("NC01"),
            net_stores_aid: text("NS01"),
            retail_co_did: text("RC01"),
            ret_stores_aid: text("RS01"),
            sale_co_dimension: text("SD"),
            network_co_dimension: text("ND"),
            charge_pack_did: text("CP01"),
            book_aid: text("BK0001"),
            network_type: text("01"),
            settlement_aid: text("ST01"),
            normal_retro_type: text("0"),
            customer_did: text("C0001"),
            user_cus_did: text("UC0001"),
            user_account_aid: text("UA0001"),
            industry_code_info: text("9900"),
            industry_type: text("3"),
            assess_yesno: text("N"),
            resident_yesno: text("Y"),
            public_use_yesno: text("N"),
            temporary_yesno: text("N"),
            city_yesno: text("Y"),
            army_yesno: text("N"),
            purchase_sale_type: text("1"),
            stop_empty_yesno: text("N"),
            bus_categ_type: text("01"),
            basic_fees_type: text("0"),
            abund_wither_yesno: text("N"),
            abundance_type: text("2"),
            time_fees_type: text("0"),
            time_sharing_type: text("0"),
            agree_price_yesno: text("N"),
            ladder_type: text("1"),
            ladder_num_type: text("3"),
            ladder_level_type: text("1"),
            for_rate_valid_type: text("0"),
            heat_charge_type: text("0"),
            garb_chaege_type: text("0"),
            account_item_info: text("6001"),
            cat_item_num: 1,
            cat_item_attach_num: 0,
            startup_date: 20240101,
            account_month: 202403,
            settle_account_month: 202403,
            the_charge_cons: Quantity(d(cons)),
            charge_price: Quantity(d(price)),
            calc_fee: Money::ZERO,
            charge_pack_type: text("1"),
            trans_voltage_type: text("02"),
            dist_level_range_type: text("1"),
            retail_voltage_grade_type: text("1"),
            property_level_type: text("0"),
            operation_date: 20240331,
            serial_did: text(serial),
            liq_dama_levy_date: 0,
            last_paid_in_date: 0,
            last_paid_in_sid: String::new(),
            accu_paid_in_fee: Money::ZERO,
            the_paid_in_fee: Money::ZERO,
            the_paid_in_date: 0,
            the_paid_in_sid: String::new(),
        }
    }

    fn charge(serial: &str, cons: &str, price: &str, stated: Option<&str>) -> ChargePost {
        ChargePost {
            account_did: "A000000000000001".into(),
            record: Box::new(record(serial, cons, price)),
            stated_calc_fee: stated.map(|s| Money::new(d(s))),
        }
    }

    fn pay(serial: &str, sid: &str, yuan: &str, date: u64) -> PaymentPost {
        PaymentPost {
            account_did: "A000000000000001".into(),
            serial_did: serial.into(),
            paid_in_fee: Money::new(d(yuan)),
            paid_in_date: date,
            paid_in_sid: sid.into(),
        }
    }

    fn run(books: &mut UtilityBooks, decided: Result<Vec<Event>, Rejection>) {
        for e in decided.expect("accepted") {
            match e {
                Event::UtilityChargePosted(e) => books.apply_charge(&e),
                Event::UtilityPaymentPosted(e) => books.apply_payment(&e),
                other => panic!("unexpected {other:?}"),
            }
        }
    }

    #[test]
    fn calc_fee_is_consumption_times_price_half_up_to_the_fen() {
        let table = [
            // 120.5 × 0.4883 = 58.84015 → 58.84
            ("120.5", "0.4883", None, Ok("58.84")),
            // 100 × 0.5283 = 52.83 exactly; stated 52.830 is the same amount
            ("100", "0.5283", Some("52.830"), Ok("52.83")),
            // 3 × 0.335 = 1.005 → 1.01 (half-up, not banker's 1.00)
            ("3", "0.335", None, Ok("1.01")),
            // stated 1.00 disagrees with 1.01
            ("3", "0.335", Some("1.00"), Err("CALC_FEE")),
        ];
        for (cons, price, stated, expected) in table {
            let outcome =
                decide_charge(&UtilityBooks::default(), &charge("S1", cons, price, stated));
            match (outcome, expected) {
                (Ok(events), Ok(fee)) => {
                    let Event::UtilityChargePosted(e) = &events[0] else {
                        panic!()
                    };
                    assert_eq!(e.record.calc_fee.yuan(), d(fee), "{cons} × {price}");
                }
                (Err(r), Err(field)) => assert_eq!(r.field(), Some(field)),
                (got, want) => panic!("{cons} × {price}: {got:?} vs {want:?}"),
            }
        }
    }

    #[test]
    fn payments_move_the_paid_in_fields_and_stop_at_the_fee() {
        let mut books = UtilityBooks::default();
        let decided = decide_charge(&books, &charge("S1", "100", "0.5283", None));
        run(&mut books, decided);
        // 52.83 owed; pay 20.00 then 32.83.
        let decided = decide_payment(&books, &pay("S1", "P1", "20.00", 20240405));
        run(&mut books, decided);
        let r = books.record("A000000000000001", "S1").unwrap();
        assert_eq!(
            (
                r.accu_paid_in_fee.yuan(),
                r.the_paid_in_fee.yuan(),
                r.the_paid_in_date
            ),
            (d("20.00"), d("20.00"), 20240405)
        );
        assert_eq!(
            (r.the_paid_in_sid.as_str(), r.last_paid_in_sid.as_str()),
            ("P1", "")
        );
        assert_eq!(r.owed().yuan(), d("32.83"));

        let over = decide_payment(&books, &pay("S1", "P2", "32.84", 20240410)).unwrap_err();
        assert!(
            over.message().contains("exceeds the 32.83 yuan owed"),
            "{over:?}"
        );
        let reused = decide_payment(&books, &pay("S1", "P1", "1", 20240410)).unwrap_err();
        assert!(matches!(reused, Rejection::Conflict { .. }));

        let decided = decide_payment(&books, &pay("S1", "P2", "32.83", 20240410));
        run(&mut books, decided);
        let r = books.record("A000000000000001", "S1").unwrap();
        // 20.00 + 32.83 = 52.83: nothing owed; the previous payment moved to LAST_PAID_IN_*.
        assert_eq!(r.accu_paid_in_fee.yuan(), d("52.83"));
        assert_eq!(r.owed(), Money::new(d("0.00")));
        assert_eq!(
            (r.last_paid_in_sid.as_str(), r.last_paid_in_date),
            ("P1", 20240405)
        );
        assert_eq!(
            (r.the_paid_in_sid.as_str(), r.the_paid_in_date),
            ("P2", 20240410)
        );
        let done = decide_payment(&books, &pay("S1", "P3", "0.01", 20240411)).unwrap_err();
        assert!(matches!(done, Rejection::Refused { .. }));
    }

    #[test]
    fn refusals() {
        let mut books = UtilityBooks::default();
        let decided = decide_charge(&books, &charge("S1", "1", "1", None));
        run(&mut books, decided);
        let dup = decide_charge(&books, &charge("S1", "1", "1", None)).unwrap_err();
        assert!(matches!(dup, Rejection::Conflict { .. }));
        let unknown = decide_payment(&books, &pay("S9", "P1", "1", 20240401)).unwrap_err();
        assert!(matches!(unknown, Rejection::NotFound { .. }));
        let zero = decide_payment(&books, &pay("S1", "P1", "0", 20240401)).unwrap_err();
        assert_eq!(zero.field(), Some("THE_PAID_IN_FEE"));
        let mut pre_paid = charge("S2", "1", "1", None);
        pre_paid.record.accu_paid_in_fee = Money::new(d("1"));
        let r = decide_charge(&books, &pre_paid).unwrap_err();
        assert_eq!(r.field(), Some("ACCU_PAID_IN_FEE"));
        let mut pre_paid = charge("S2", "1", "1", None);
        pre_paid.record.the_paid_in_sid = "P0".into();
        let r = decide_charge(&books, &pre_paid).unwrap_err();
        assert_eq!(r.field(), Some("THE_PAID_IN_SID"));
    }

    #[test]
    fn the_arrears_filter_lists_owing_records_matching_every_filter() {
        let mut paid = record("S2", "1", "1");
        // CALC_FEE 1.00, paid 1.00: owes nothing.
        paid.calc_fee = Money::new(d("1.00"));
        paid.accu_paid_in_fee = Money::new(d("1.00"));
        let mut owing = record("S1", "1", "1");
        owing.calc_fee = Money::new(d("1.00"));
        let f = |stores: Option<&str>, book: Option<&str>, pack: Option<&str>| ArrearsFilter {
            ret_stores_aid: stores.map(String::from),
            book_aid: book.map(String::from),
            charge_pack_type: pack.map(String::from),
        };
        let table = [
            (f(None, None, None), true, false),
            (f(Some("RS01"), Some("BK0001"), Some("1")), true, false),
            (f(Some("RS02"), None, None), false, false),
            (f(None, Some("BK0002"), None), false, false),
            (f(None, None, Some("3")), false, false),
        ];
        for (filter, lists_owing, lists_paid) in table {
            assert_eq!(filter.lists(&owing), lists_owing, "{filter:?}");
            assert_eq!(filter.lists(&paid), lists_paid, "{filter:?}");
        }
    }
}
