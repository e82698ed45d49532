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
    pub body: Vec<u8>,
}

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

/// A request of the families the mixed stream does not cover (property, call center), before
/// signing: `bench::http` signs it as `ledger call` would.
pub struct Call {
    pub method: &'static str,
    /// The path with its `?query`.
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Call {
    fn post(path: &str, id_header: (&str, String), body: String) -> Call {
        Call {
            method: "POST",
            path: path.to_string(),
            headers: vec![(id_header.0.to_string(), id_header.1)],
            body: body.into_bytes(),
        }
    }
}

/// The property community the query benchmark populates.
pub const COMMUNITY: &str = "20001";
/// Rooms of that community, each with an area fee and a rent fee.
pub const ROOMS: u64 = 200;
/// The call-center city the query benchmark populates.
pub const CITY: i64 = 71;
/// Calls (CDRs) of that city in March 2022, rated on arrival.
pub const CALLS: u64 = 10_000;
const CALLS_PER_BATCH: u64 = 200;

/// The community's two fee configs, then per room the room and its two fees.
pub fn property_seed() -> Vec<Call> {
    let tid = |what: String| ("transaction-id", what);
    let config = |id: &str, name: &str, flag: &str, formula: &str, price: &str| {
        Call::post(
            "/app/feeConfig.saveFeeConfig",
            tid(format!("bench-cfg-{id}")),
            format!(
                r#"{{"configId":"{id}","feeTypeCd":"1001","feeName":"{name}","feeFlag":"{flag}","startTime":"2023-01-01","endTime":"2023-12-31","computingFormula":"{formula}","squarePrice":{price},"additionalAmount":50.00,"communityId":"{COMMUNITY}","billType":"MONTHLY"}}"#
            ),
        )
    };
    let mut calls = vec![
        config("cfg-area", "物业费", "Y", "面积 * 单价 + 附加费", "2.00"),
        config("cfg-rent", "租金", "1003006", "1102", "0"),
    ];
    for r in 0..ROOMS {
        calls.push(Call::post(
            "/app/room.saveRoom",
            tid(format!("bench-room-{r}")),
            format!(
                r#"{{"communityId":"{COMMUNITY}","roomId":"room{r}","roomNum":"1-1-{r}","builtUpArea":"100","roomArea":"80","roomRent":"1000.00","ownerId":"owner{r}","ownerName":"张三","ownerTel":"13800000000"}}"#
            ),
        ));
        for config in ["cfg-area", "cfg-rent"] {
            calls.push(Call::post(
                "/app/fee.saveRoomCreateFee",
                tid(format!("bench-fee-{r}-{config}")),
                format!(
                    r#"{{"communityId":"{COMMUNITY}","locationObjId":"room{r}","configId":"{config}","storeId":"store1","startTime":"2023-01-01","endTime":"2023-12-31","rateCycle":"12","rate":"0.05","rateStartTime":"2023-06-01"}}"#
                ),
            ));
        }
    }
    calls
}

/// The city's tariff (edited into force and enabled), then its calls in batches: spread over
/// every day of March 2022, working hours, two business lines and two number types, so the
/// city's summary holds about a thousand cells.
pub fn callcenter_seed() -> Vec<Call> {
    let rid = |what: String| ("X-Request-Id", what);
    let mut calls = vec![
        Call::post(
            "/api/fee/config/901",
            rid("bench-tariff".into()),
            format!(
                r#"{{"city_id":{CITY},"workplace_id":67,"operator_code":43,"line_batch":"JN-02-DX-01","line_quantity":2,"did":"0411882544","minimum_charge_unit_price":50,"month_rent_fee":100,"number_use_fee":20,"caller_identify_fee":5,"ring_fee":3.5,"call_fee_config":{{"0":["本地手机","单一",0.16,5,0.98,1.0,0.97]}},"discount_fee_config":{{"0":["超阈值优惠",50,""]}}}}"#
            ),
        ),
        Call {
            method: "PUT",
            path: "/api/bill/fee/edit/901".into(),
            headers: vec![("X-Request-Id".into(), "bench-tariff-edit".into())],
            body: br#"{"month_rent_total_price":120,"take_effect_time":"2022-01-01","invalid_time":"2023-01-01"}"#.to_vec(),
        },
        Call::post(
            "/api/bill/fee/manage/state/901",
            rid("bench-tariff-state".into()),
            r#"{"state":true}"#.into(),
        ),
    ];
    for batch in 0..CALLS.div_ceil(CALLS_PER_BATCH) {
        let items: Vec<String> = (batch * CALLS_PER_BATCH..((batch + 1) * CALLS_PER_BATCH).min(CALLS))
            .map(|i| {
                format!(
                    r#"{{"call_id":"bench{i}","did":"0411882544{:04}","line_prefix":"JN-02","city_id":{CITY},"workplace_id":67,"operator_code":43,"bg":"房产","bu":"二手房","business_line":"{}","call_type":"本地手机","number_type":"{}","start_time":"2022-03-{:02} {:02}:{:02}:00","duration_s":{}}}"#,
                    i % 10_000,
                    ["黄页", "二手房源"][(i % 2) as usize],
                    ["联通手机", "移动手机"][(i / 2 % 2) as usize],
                    1 + i / 4 % 31,
                    8 + i / 124 % 12,
                    i % 60,
                    30 + i % 600
                )
            })
            .collect();
        calls.push(Call::post(
            "/api/bill/calls",
            rid(format!("bench-cdr-{batch}")),
            format!(r#"{{"calls":[{}]}}"#, items.join(",")),
        ));
    }
    calls
}

/// listFee of room `g` (of [`ROOMS`]) as of 2023-09-01.
pub fn list_fee_query(g: u64) -> Call {
    Call {
        method: "GET",
        path: format!(
            "/app/fee.listFee?communityId={COMMUNITY}&payerObjId=room{}&asOf=2023-09-01",
            g % ROOMS
        ),
        headers: Vec::new(),
        body: Vec::new(),
    }
}

/// The city's call summary for March 2022 (first page of 20).
pub fn summary_query() -> Call {
    Call {
        method: "GET",
        path: format!(
            "/api/bill/summary?city_id={CITY}&call_start_time=2022-03-01&call_end_time=2022-03-31"
        ),
        headers: Vec::new(),
        body: Vec::new(),
    }
}
