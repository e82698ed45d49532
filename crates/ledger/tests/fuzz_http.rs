//! Fuzzing over real HTTP with a fixed seed: every endpoint of every family gets mutated bodies
//! (fields removed, retyped, oversized, out of range; bytes truncated, flipped, inserted; whole
//! bodies replaced) or mutated query strings, signed with the demo credentials so they reach
//! the decoders. Every answer must be below 500, every refusal (4xx) must leave the log as it
//! was, and the server must be alive at the end. The number of cases is printed.
//!
//! `FUZZ_CASES_PER_ENDPOINT` (default 120) sets the run's size; `FUZZ_SEED` its seed. Longer
//! runs: `FUZZ_CASES_PER_ENDPOINT=10000 cargo test -p ledger --test fuzz_http -- --nocapture`.

mod common;

use common::Server;
use serde_json::{Map, Value, json};

/// xorshift64*: small, deterministic, good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Values that have broken parsers before: wrong types, signs, magnitudes, dates, lengths.
fn palette(rng: &mut Rng) -> Value {
    thread_local! {
        static CHOICES: Vec<Value> = choices();
    }
    CHOICES.with(|c| c[rng.below(c.len())].clone())
}

fn choices() -> Vec<Value> {
    let long = "长".repeat(600);
    let deep = (0..200).fold(json!(1), |v, _| json!([v]));
    let choices = [
        Value::Null,
        json!(true),
        json!(-1),
        json!(0),
        json!("-5.00"),
        json!("1e400"),
        serde_json::from_str::<Value>("1e400").unwrap_or(json!(0)),
        json!("99999999999999999999999999999999"),
        serde_json::from_str::<Value>("123456789012345678901234567890.123").unwrap(),
        json!("0.0000000001"),
        json!("79228162514264337593543950335"),
        json!(long),
        json!(""),
        json!(" "),
        json!("\u{0}\u{1}"),
        json!("２０２４-01-01"),
        json!("9999-12-31"),
        json!("0000-00-00"),
        json!("2024-02-30"),
        json!("2024-01-01 25:61:61"),
        json!("20241301000000"),
        json!("-2024-01-01"),
        json!({}),
        json!([]),
        json!([[]]),
        deep,
        json!("NaN"),
        json!("😀"),
        json!("' OR 1=1 --"),
        json!(u64::MAX),
        json!(i64::MIN),
        json!(1.5),
        json!("1.2.3"),
        json!({"0": ["x", "y", -1, null]}),
    ];
    choices.to_vec()
}

/// One mutation of `base`, as the bytes to send.
fn mutate(base: &Value, rng: &mut Rng) -> Vec<u8> {
    let mut v = base.clone();
    let rounds = 1 + rng.below(3);
    for _ in 0..rounds {
        match rng.below(10) {
            0..=3 => {
                if let Some(obj) = pick_object(&mut v, rng) {
                    let keys: Vec<String> = obj.keys().cloned().collect();
                    if !keys.is_empty() {
                        let k = &keys[rng.below(keys.len())];
                        obj.insert(k.clone(), palette(rng));
                    }
                }
            }
            4 | 5 => {
                if let Some(obj) = pick_object(&mut v, rng) {
                    let keys: Vec<String> = obj.keys().cloned().collect();
                    if !keys.is_empty() {
                        obj.remove(&keys[rng.below(keys.len())]);
                    }
                }
            }
            6 => {
                if let Some(obj) = pick_object(&mut v, rng) {
                    obj.insert(format!("unknown{}", rng.below(100)), palette(rng));
                }
            }
            7 => v = palette(rng),
            _ => {}
        }
    }
    let mut bytes = serde_json::to_vec(&v).unwrap();
    match rng.below(6) {
        0 if !bytes.is_empty() => bytes.truncate(rng.below(bytes.len())),
        1 if !bytes.is_empty() => {
            let i = rng.below(bytes.len());
            bytes[i] ^= 1 << rng.below(8);
        }
        2 => {
            let i = rng.below(bytes.len() + 1);
            bytes.insert(i, rng.next() as u8);
        }
        _ => {}
    }
    bytes
}

/// The object itself or one nested in it (so mutations reach SYS_HEAD, DATA, tariff arrays…).
fn pick_object<'a>(v: &'a mut Value, rng: &mut Rng) -> Option<&'a mut Map<String, Value>> {
    let nested: Vec<String> = v
        .as_object()?
        .iter()
        .filter(|(_, x)| x.is_object())
        .map(|(k, _)| k.clone())
        .collect();
    if !nested.is_empty() && rng.below(3) == 0 {
        let k = nested[rng.below(nested.len())].clone();
        return v.as_object_mut()?.get_mut(&k)?.as_object_mut();
    }
    v.as_object_mut()
}

/// Percent-encodes everything but unreserved characters, so the query is sent as signed.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn mutate_query(params: &[(&str, &str)], rng: &mut Rng) -> String {
    let mut pairs: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    for _ in 0..1 + rng.below(3) {
        let value = match palette(rng) {
            Value::String(s) => s,
            other => other.to_string(),
        };
        match rng.below(4) {
            0 if !pairs.is_empty() => {
                pairs.remove(rng.below(pairs.len()));
            }
            1 => pairs.push((format!("x{}", rng.below(10)), value)),
            _ if !pairs.is_empty() => {
                let i = rng.below(pairs.len());
                pairs[i].1 = value;
            }
            _ => {}
        }
    }
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn bodies() -> Vec<(&'static str, &'static str, Value)> {
    let sys_head = json!({"CHANNEL_DID": "CH00000000000001", "DYNAMIC_KEY": "demo-dynamic-key-0001",
                          "REGISTER_DID": "R000000000000001", "ACCOUNT_DID": "A000000000000001"});
    let fee_config = json!({"configId": "cfg-1", "feeTypeCd": "1001", "feeName": "物业费",
        "feeFlag": "Y", "startTime": "2024-01-01", "endTime": "2024-12-31",
        "computingFormula": "1001", "squarePrice": "2.50", "additionalAmount": "10.00",
        "communityId": "c1", "billType": "MONTHLY"});
    let tariff = json!({"city_id": 1, "workplace_id": 2, "operator_code": 3,
        "line_batch": "E1-联通-北京-03", "line_quantity": 3, "did_detail": "", "did": "3436437",
        "minimum_charge_unit_price": 465.8, "minimum_charge_total_price": 3435.98,
        "month_rent_fee": 48578.4, "number_use_fee": 386.38, "caller_identify_fee": 387,
        "ring_fee": 3232,
        "call_fee_config": {"0": ["本地手机","单一",0.16,5,0.98,1.0,0.97]},
        "discount_fee_config": {"0": ["超阈值优惠",50,""]}, "fee_remark": ""});
    vec![
        ("POST", "/app/feeConfig.saveFeeConfig", fee_config.clone()),
        ("POST", "/app/feeConfig.updateFeeConfig", fee_config),
        (
            "POST",
            "/app/room.saveRoom",
            json!({"communityId": "c1", "roomId": "room1", "roomNum": "1-1-101",
                   "builtUpArea": "100", "roomArea": "80", "roomRent": "1000.00",
                   "ownerId": "o1", "ownerName": "张三", "ownerTel": "13800000000"}),
        ),
        (
            "POST",
            "/app/community.setting",
            json!({"communityId": "c1", "settings": {}}),
        ),
        (
            "POST",
            "/app/fee.saveRoomCreateFee",
            json!({"communityId": "c1", "locationObjId": "room1", "configId": "cfg-1",
                   "storeId": "store_001", "startTime": "2023-01-01", "endTime": "2023-12-31"}),
        ),
        (
            "POST",
            "/app/fee.payFee",
            json!({"communityId": "c1", "feeId": "f1", "cycles": "2", "receivedAmount": "700.00"}),
        ),
        (
            "POST",
            "/occ/http/baas/bills",
            json!({"billId": "B1", "tenantId": "MVNE", "extCustId": "10010111", "serviceId": "1001",
                   "periodStart": "20160101000000", "periodEnd": "20160131235959", "amount": "60.50"}),
        ),
        (
            "POST",
            "/occ/http/baas/payments",
            json!({"paymentId": "P1", "tenantId": "MVNE", "extCustId": "10010111",
                   "serviceId": "1001", "at": "20160301000000", "amount": "10.00"}),
        ),
        (
            "POST",
            "/occ/http/baas/usage",
            json!({"usageId": "U1", "tenantId": "MVNE", "extCustId": "10010111",
                   "serviceId": "1001", "at": "20160315120000", "amount": "19.00"}),
        ),
        (
            "POST",
            "/occ/http/srv_baas_feeowed_qry",
            json!({"tradeSeq": "MVNE20160401121212000100000005", "tenantId": "MVNE",
                   "extCustId": "10010111", "serviceId": "1001",
                   "beginDate": "20160101000000", "endDate": "20160501000000"}),
        ),
        (
            "POST",
            "/Service/v1/QueryUserArrearages/",
            json!({"SYS_HEAD": sys_head, "ACC_VOLPRICE_OWE": {"RET_STORES_AID": "",
                   "BOOK_AID": "", "CHARGE_PACK_TYPE": ""}}),
        ),
        (
            "POST",
            "/Service/v1/Charges/",
            json!({"SYS_HEAD": sys_head, "DATA": {"SERIAL_DID": "S1", "RET_STORES_AID": "RS01",
                   "BOOK_AID": "BK1", "CHARGE_PACK_TYPE": "1", "THE_CHARGE_CONS": 10,
                   "CHARGE_PRICE": 0.5, "ACCOUNT_MONTH": 202403, "OPERATION_DATE": 20240331}}),
        ),
        (
            "POST",
            "/Service/v1/Payments/",
            json!({"SYS_HEAD": sys_head, "DATA": {"SERIAL_DID": "S1", "THE_PAID_IN_FEE": 1,
                   "THE_PAID_IN_DATE": 20240401, "THE_PAID_IN_SID": "PAY-1"}}),
        ),
        ("POST", "/api/fee/config/1", tariff.clone()),
        ("PUT", "/api/bill/fee/edit/1", tariff),
        (
            "POST",
            "/api/bill/fee/manage/state/1",
            json!({"state": false}),
        ),
        (
            "POST",
            "/api/bill/operator/create",
            json!({"city_id": 1, "workplace_id": 2, "operator_code": 3, "bill_date": "2024-01",
                   "tel_fee_total": 100.5}),
        ),
        (
            "POST",
            "/api/bill/calls",
            json!({"calls": [{"call_id": "k1", "city_id": 1, "workplace_id": 2,
                   "operator_code": 3, "call_type": 0, "number_type": 0, "bg": "房产",
                   "bu": "二手房", "business_line": "BL", "call_time": "2024-01-01 10:00:00",
                   "call_duration": 65}]}),
        ),
        (
            "POST",
            "/api/bill/cost-center",
            json!({"bg": "房产", "bu": "二手房", "cost_center": "房产人力资源部",
                   "cost_center_code": "67.10.00.34.09"}),
        ),
    ]
}

fn queries() -> Vec<(&'static str, Vec<(&'static str, &'static str)>)> {
    vec![
        (
            "/app/feeConfig.listFeeConfigs",
            vec![("communityId", "c1"), ("configId", "cfg-1")],
        ),
        (
            "/app/fee.listFee",
            vec![
                ("communityId", "c1"),
                ("payObjId", "room1"),
                ("page", "1"),
                ("row", "10"),
            ],
        ),
        (
            "/api/bill/summary",
            vec![("city_id", "1"), ("page", "1"), ("limit", "10")],
        ),
        (
            "/api/bill/operator/query",
            vec![("city_id", "1"), ("bill_date", "2024-01")],
        ),
        ("/api/bill/businessline/query", vec![("city_id", "1")]),
        (
            "/api/bill/verify",
            vec![("city_id", "1"), ("limit", "1000")],
        ),
        ("/api/bill/share", vec![("city_id", "1")]),
        (
            "/api/bill/fee/manage",
            vec![("city_id", "1"), ("page", "2")],
        ),
    ]
}

#[test]
fn mutated_requests_never_get_5xx_and_refusals_append_nothing() {
    let per_endpoint: usize = std::env::var("FUZZ_CASES_PER_ENDPOINT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(120);
    let seed: u64 = std::env::var("FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x5EED_2026);
    let mut rng = Rng(seed);
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let mut len = server.log_len();
    let (mut cases, mut refused, mut accepted) = (0usize, 0usize, 0usize);
    let mut check = |label: &str, status: u16, body: &Value, server: &Server| {
        assert!(status < 500, "{label}: {status} {body}");
        let now = server.log_len();
        if (400..500).contains(&status) {
            assert_eq!(
                now, len,
                "{label}: refused with {status} but appended: {body}"
            );
            refused += 1;
        } else {
            accepted += 1;
        }
        len = now;
        cases += 1;
    };
    for (method, path, base) in bodies() {
        let started = std::time::Instant::now();
        for i in 0..per_endpoint {
            // The first case of each endpoint is its valid base, so later mutations also meet
            // existing state.
            let bytes = if i == 0 {
                serde_json::to_vec(&base).unwrap()
            } else {
                mutate(&base, &mut rng)
            };
            let signed = common::sign(path, &[], &bytes);
            let headers: Vec<(&str, &str)> = signed
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let r = server
                .send_exact(method, path, &headers, bytes.clone())
                .unwrap_or_else(|| panic!("{method} {path}: the server died on case {i}"));
            check(
                &format!("{method} {path} case {i}"),
                r.status,
                &r.body,
                &server,
            );
        }
        eprintln!("fuzz: {method} {path} in {:?}", started.elapsed());
    }
    for (path, params) in queries() {
        for i in 0..per_endpoint {
            let query = mutate_query(&params, &mut rng);
            let r = server
                .try_get(&format!("{path}?{query}"))
                .unwrap_or_else(|| panic!("GET {path}: the server died on case {i}"));
            check(&format!("GET {path}?{query}"), r.status, &r.body, &server);
        }
    }
    // Oversized bodies: the family's envelope, 413, nothing appended.
    let huge = vec![b' '; (1 << 20) + 1];
    for path in [
        "/app/feeConfig.saveFeeConfig",
        "/occ/http/baas/bills",
        "/Service/v1/Charges/",
        "/api/bill/calls",
    ] {
        let signed = common::sign(path, &[], &huge);
        let headers: Vec<(&str, &str)> = signed
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let r = server
            .send_exact("POST", path, &headers, huge.clone())
            .unwrap();
        assert_eq!(r.status, 413, "{path}: {}", r.body);
        assert!(
            r.body.is_object(),
            "{path}: the family's JSON envelope, got {}",
            r.body
        );
        check(&format!("oversized {path}"), r.status, &r.body, &server);
    }
    assert_eq!(server.get("/healthz").status, 200, "the server is alive");
    eprintln!(
        "fuzz: seed {seed:#x}, {cases} cases ({per_endpoint} per endpoint, {} endpoints), \
         {refused} refused with 4xx and nothing appended, {accepted} accepted, 0 answers >= 500",
        bodies().len() + queries().len()
    );
}
