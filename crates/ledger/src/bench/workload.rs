//! The benchmark workload: a deterministic stream of seed-format commands of two families
//! (BaaS bills and payments, utility charges and payments), spread over many partition keys so
//! every partition takes part, and the queries that read what they wrote.
//!
//! Command `i` is one of four kinds (`i % 4`): a BaaS bill, a utility charge, a BaaS payment
//! against the bill of the same group `i / 4`, a utility payment against the charge of that
//! group. Submitted in order, every command is accepted (payments follow their bill or charge).

use ledger_api::bus::{Origin, Submission};
use ledger_api::execute::command_meta;
use ledger_core::baas::tenant_key;
use ledger_core::utility::account_key;
use ledger_wire::Fields;
use ledger_wire::command::decode_command;

/// BaaS tenants (each one partition key).
use ledger_api::auth::demo;

pub const TENANTS: u64 = 64;
/// Utility charges per account (accounts are partition keys, so there are many).
pub const CHARGES_PER_ACCOUNT: u64 = 16;

/// One command as an HTTP client sends it.
pub struct Item {
    pub command_type: &'static str,
    pub path: &'static str,
    /// Extra header lines (`Name: value\r\n`…) the family needs.
    pub headers: &'static str,
    pub body: Vec<u8>,
}

/// Marks a BaaS request: `http::post` replaces it with the demo appkey, a fresh `req-time` and
/// the request's signature.
pub const BAAS_HEADERS: &str = "x-bench-sign: baas\r\n";

pub fn tenant(group: u64) -> String {
    format!("T{}", group % TENANTS)
}

pub fn customer(group: u64) -> String {
    format!("C{group}")
}

pub fn account(group: u64) -> String {
    format!("A{:015}", group / CHARGES_PER_ACCOUNT)
}

fn sys_head(group: u64) -> String {
    format!(
        r#""SYS_HEAD":{{"CHANNEL_DID":"{}","DYNAMIC_KEY":"{}","REGISTER_DID":"{}","ACCOUNT_DID":"{}"}}"#,
        demo::UTILITY_CHANNEL_DID,
        demo::UTILITY_DYNAMIC_KEY,
        demo::UTILITY_REGISTER_DID,
        account(group)
    )
}

/// Command `i` of the mixed stream.
pub fn item(i: u64) -> Item {
    let g = i / 4;
    match i % 4 {
        0 => Item {
            command_type: "baas.bill.post",
            path: "/occ/http/baas/bills",
            headers: BAAS_HEADERS,
            body: format!(
                r#"{{"billId":"B{g}","tenantId":"{}","extCustId":"{}","serviceId":"1001","periodStart":"20240101000000","periodEnd":"20240131235959","amount":"60.50"}}"#,
                tenant(g),
                customer(g)
            )
            .into_bytes(),
        },
        1 => Item {
            command_type: "utility.charge.post",
            path: "/Service/v1/Charges/",
            headers: "",
            body: format!(
                r#"{{{},"DATA":{{"SERIAL_DID":"S{g}","CUSTOMER_DID":"C{g}","RET_STORES_AID":"RS01","BOOK_AID":"BK{:04}","CHARGE_PACK_TYPE":"1","ACCOUNT_MONTH":202403,"THE_CHARGE_CONS":120.5,"CHARGE_PRICE":0.4883,"OPERATION_DATE":20240331}}}}"#,
                sys_head(g),
                g % 1000
            )
            .into_bytes(),
        },
        2 => Item {
            command_type: "baas.payment.post",
            path: "/occ/http/baas/payments",
            headers: BAAS_HEADERS,
            body: format!(
                r#"{{"paymentId":"P{g}","tenantId":"{}","extCustId":"{}","serviceId":"1001","amount":"20.25","paidAt":"20240210093000"}}"#,
                tenant(g),
                customer(g)
            )
            .into_bytes(),
        },
        _ => Item {
            command_type: "utility.payment.post",
            path: "/Service/v1/Payments/",
            headers: "",
            body: format!(
                r#"{{{},"DATA":{{"SERIAL_DID":"S{g}","THE_PAID_IN_FEE":20.00,"THE_PAID_IN_DATE":20240405,"THE_PAID_IN_SID":"PAY{g}"}}}}"#,
                sys_head(g)
            )
            .into_bytes(),
        },
    }
}

/// Command `i` of the creation-only stream (bills and charges), for concurrent HTTP clients
/// whose requests may arrive in any order.
pub fn creation(i: u64) -> Item {
    item(4 * (i / 2) + i % 2)
}

/// The submission the HTTP handlers would build for `item` (same command id, key and decoded
/// command). `keep_body` keeps the payload a forwarding bus publishes.
pub fn submission(item: &Item, keep_body: bool) -> anyhow::Result<Submission> {
    let fields = Fields::parse(&item.body).map_err(|r| anyhow::anyhow!("{r:?}"))?;
    let (command_id, key, actor) = if item.command_type.starts_with("baas.") {
        let kind = match item.command_type {
            "baas.bill.post" => ledger_wire::baas::BILL,
            "baas.payment.post" => ledger_wire::baas::PAYMENT,
            _ => ledger_wire::baas::USAGE,
        };
        let tenant = fields.text("tenantId").ok().flatten().unwrap_or_default();
        (
            ledger_wire::baas::command_id(&fields, kind),
            tenant_key(&tenant),
            "bench-app".to_string(),
        )
    } else {
        let (kind, serial) = match item.command_type {
            "utility.charge.post" => ("charge", "SERIAL_DID"),
            _ => ("payment", "THE_PAID_IN_SID"),
        };
        let account = ledger_wire::utility::account_of(&fields).unwrap_or_default();
        (
            ledger_wire::utility::command_id(&fields, kind, serial),
            account_key(&account),
            "CH01".to_string(),
        )
    };
    let meta = command_meta(
        chrono::Utc::now(),
        command_id,
        key,
        Some(actor),
        &fields,
        &item.body,
    );
    let command = decode_command(item.command_type, &fields, &meta.command_id)
        .map_err(|r| anyhow::anyhow!("command {}: {r:?}", meta.command_id))?;
    Ok(Submission {
        meta,
        command,
        origin: Origin::Http,
        body: if keep_body {
            fields.to_json()
        } else {
            Vec::new()
        },
    })
}

/// The BaaS fee-owed query for the customer of group `g`.
pub fn fee_owed_query(g: u64) -> Vec<u8> {
    let t = tenant(g);
    format!(
        r#"{{"tradeSeq":"{t}20240401121212000{:09}","tenantId":"{t}","extCustId":"{}","serviceId":"1001","beginDate":"20240101000000","endDate":"20240501000000"}}"#,
        g % 1_000_000_000,
        customer(g)
    )
    .into_bytes()
}

/// The utility arrears query for the account of group `g`.
pub fn arrears_query(g: u64) -> Vec<u8> {
    format!(
        r#"{{{},"ACC_VOLPRICE_OWE":{{"RET_STORES_AID":"","BOOK_AID":"","CHARGE_PACK_TYPE":"1"}}}}"#,
        sys_head(g)
    )
    .into_bytes()
}
