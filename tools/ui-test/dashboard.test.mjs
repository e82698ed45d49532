// Dashboard end to end: runs the real ledger binary on a temporary data directory, seeds it
// through the HTTP API (two property communities, three BaaS customers, one billed for a past
// period only, utility charges in two accounts and three books, two call-center lines with
// operator bills), every request signed with the demo credentials the server accepts by default
// (crates/ledger-api/src/auth.rs, module `demo`), opens GET /ui (redirected to /ui/) in headless
// Chromium and checks every number the page shows against the authenticated query API's own
// answer, character for character; then the as-of date control (a past date, the hint when
// every figure is 0) and that no two chart labels overlap. Keeps a screenshot of the default
// view at target/ui-screenshot.png and of the hint at target/ui-screenshot-hint.png.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import net from "node:net";
import { chromium } from "playwright-core";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const bin = process.env.LEDGER_BIN || join(root, "target/debug/ledger");
const screenshot = join(root, "target/ui-screenshot.png");
const hintScreenshot = join(root, "target/ui-screenshot-hint.png");

function freePort() {
  return new Promise((ok, fail) => {
    const s = net.createServer();
    s.once("error", fail);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

async function startLedger() {
  const dataDir = mkdtempSync(join(tmpdir(), "ledger-ui-"));
  const port = await freePort();
  const child = spawn(bin, ["serve", "--data-dir", dataDir, "--listen", `127.0.0.1:${port}`],
    { env: { ...process.env, RUST_LOG: "warn" }, stdio: ["ignore", "ignore", "inherit"] });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    try {
      if ((await fetch(`${base}/readyz`)).ok) return { child, base, dataDir };
    } catch { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill("SIGKILL");
  throw new Error("ledger did not become ready");
}

// The demo credentials (README "Authentication"; crates/ledger-api/src/auth.rs `demo`).
const DEMO = {
  propertyAppId: "micro-community",
  propertySecret: "demo-property-secret",
  propertyToken: "demo-property-token",
  baasAppkey: "xxxde52a0axxxaefa93c6xxxx7bxxx60",
  baasSecret: "demo-baas-secret",
  callcenterToken: "demo-callcenter-token",
};

const md5 = (...parts) => {
  const h = createHash("md5");
  for (const p of parts) h.update(p, "utf8");
  return h.digest("hex");
};

/// Now as `req-time`: YYYYMMDDhhmmss in local time, like the server's clock.
function reqTime() {
  const d = new Date();
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

let transactions = 0;

/// The family's credentials for a request to `path` whose signed content is `content` (a POST's
/// body, a GET's query string with its leading `?`), as crates/ledger/tests/common/mod.rs
/// `sign()` does: property md5(transaction-id + req-time + app-id + content + secret) with the
/// app's bearer token; BaaS md5(req-time + appkey + body + secret); call center the demo user's
/// bearer token. Utility credentials travel in the body's SYS_HEAD (this test seeds none).
function sign(path, content, transactionId) {
  const time = reqTime();
  if (path.startsWith("/app/")) {
    const tid = transactionId || `ui-test-${process.pid}-${++transactions}`;
    return {
      "app-id": DEMO.propertyAppId, "transaction-id": tid, "req-time": time,
      sign: md5(tid, time, DEMO.propertyAppId, content, DEMO.propertySecret),
      authorization: `Bearer ${DEMO.propertyToken}`,
    };
  }
  if (path.startsWith("/occ/")) {
    return { appkey: DEMO.baasAppkey, "req-time": time,
      sign: md5(time, DEMO.baasAppkey, content, DEMO.baasSecret) };
  }
  if (path.startsWith("/api/")) return { authorization: `Bearer ${DEMO.callcenterToken}` };
  return {};
}

/// The money fields whose JSON number text must survive parsing (`228.50`, not 228.5).
const MONEY_NUMBERS = ["operator_total_fee", "billing_total_fee", "CALC_FEE", "ACCU_PAID_IN_FEE"];

/// A reply's JSON with the money numbers as strings holding their exact text.
async function exactJson(r) {
  const text = await r.text();
  const keys = MONEY_NUMBERS.join("|");
  return JSON.parse(text.replace(new RegExp(`"(${keys})":\\s*(-?[0-9][0-9.eE+-]*)`, "g"), '"$1":"$2"'));
}

/// A signed POST; the reply must be 200. A body given as a string is sent as it is (exact
/// decimal digits).
async function post(base, path, body, { transactionId, headers = {} } = {}) {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  const r = await fetch(base + path, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers, ...sign(path, text, transactionId) },
    body: text,
  });
  const json = await exactJson(r);
  assert.equal(r.status, 200, `${path}: ${JSON.stringify(json)}`);
  return json;
}

/// A signed GET of `path` with `query` (already encoded, as sent and as signed); must be 200.
async function get(base, path, query = "") {
  const search = query ? `?${query}` : "";
  const r = await fetch(base + path + search, { headers: sign(path, search) });
  const json = await exactJson(r);
  assert.equal(r.status, 200, `${path}${search}: ${JSON.stringify(json)}`);
  return json;
}

// Utility (seed 001): the demo channel's SYS_HEAD for an account; credentials travel in the body.
const utilityHead = (account) => ({ CHANNEL_DID: "CH00000000000001",
  DYNAMIC_KEY: "demo-dynamic-key-0001", REGISTER_DID: "R000000000000001", ACCOUNT_DID: account });

/// One ACC_VOLPRICE_OWE charge record (every field of the seed's table but the paid-in ones);
/// consumption and price are raw JSON number text so their digits travel exactly.
function utilityCharge(account, serial, book, cons, price) {
  const data = {
    NODE_AID: "N01", NETWORK_CO_DID: "NC01", NET_STORES_AID: "NS01", RETAIL_CO_DID: "RC01",
    RET_STORES_AID: "RS01", SALE_CO_DIMENSION: "SD1", NETWORK_CO_DIMENSION: "ND1",
    CHARGE_PACK_DID: "CP01", BOOK_AID: book, NETWORK_TYPE: "01", SETTLEMENT_AID: "ST01",
    NORMAL_RETRO_TYPE: "0", CUSTOMER_DID: "C0000001", USER_CUS_DID: "UC0000001",
    USER_ACCOUNT_AID: "UA0000001", INDUSTRY_CODE_INFO: "9900", INDUSTRY_TYPE: "3",
    ASSESS_YESNO: "N", RESIDENT_YESNO: "Y", PUBLIC_USE_YESNO: "N", TEMPORARY_YESNO: "N",
    CITY_YESNO: "Y", ARMY_YESNO: "N", PURCHASE_SALE_TYPE: "1", STOP_EMPTY_YESNO: "N",
    BUS_CATEG_TYPE: "01", BASIC_FEES_TYPE: "0", ABUND_WITHER_YESNO: "N", ABUNDANCE_TYPE: "2",
    TIME_FEES_TYPE: "0", TIME_SHARING_TYPE: "0", AGREE_PRICE_YESNO: "N", LADDER_TYPE: "1",
    LADDER_NUM_TYPE: "3", LADDER_LEVEL_TYPE: "1", FOR_RATE_VALID_TYPE: "0", HEAT_CHARGE_TYPE: "0",
    GARB_CHAEGE_TYPE: "0", ACCOUNT_ITEM_INFO: "6001", CAT_ITEM_NUM: 101, CAT_ITEM_ATTACH_NUM: 2,
    STARTUP_DATE: 20240101, ACCOUNT_MONTH: 202403, SETTLE_ACCOUNT_MONTH: 202404,
    CHARGE_PACK_TYPE: "1", TRANS_VOLTAGE_TYPE: "02", DIST_LEVEL_RANGE_TYPE: "1",
    RETAIL_VOLTAGE_GRADE_TYPE: "1", PROPERTY_LEVEL_TYPE: "0", OPERATION_DATE: 20240331,
    SERIAL_DID: serial, LIQ_DAMA_LEVY_DATE: 20240501,
  };
  const json = JSON.stringify({ SYS_HEAD: utilityHead(account), DATA: data });
  return json.slice(0, -2) + `,"THE_CHARGE_CONS":${cons},"CHARGE_PRICE":${price}}}`;
}

async function seed(base) {
  // Property: one yearly-priced fee per community, 2023, no payments, so both owe a year.
  for (const [community, area] of [["C-east", "100"], ["C-west", "64.5"]]) {
    const h = (id) => ({ transactionId: `${community}-${id}` });
    await post(base, "/app/feeConfig.saveFeeConfig", {
      configId: "fee_config_001", feeTypeCd: "1001", feeName: "物业费", feeFlag: "1003006",
      startTime: "2023-01-01", endTime: "2023-12-31", computingFormula: "1001",
      squarePrice: "2.50", additionalAmount: "10.00", communityId: community, billType: "MONTHLY",
    }, h("cfg"));
    await post(base, "/app/room.saveRoom", {
      communityId: community, roomId: "room1001", roomNum: "1-1-101", builtUpArea: area,
      roomArea: area, roomRent: "1000.00", ownerId: "owner_001", ownerName: "张三",
      ownerTel: "13800000000",
    }, h("room"));
    await post(base, "/app/fee.saveRoomCreateFee", {
      communityId: community, locationObjId: "room1001", configId: "fee_config_001",
      storeId: "store_001", startTime: "2023-01-01", endTime: "2023-12-31",
    }, h("fee"));
  }
  // BaaS: tenant MVNE, two customers with one bill each over a period spanning the present
  // (the fee-owed query's default window is the present instant), and a third billed for 2022
  // only: it owes nothing today, 45.5 yuan as of a day in 2022.
  for (const [cust, amount, start, end] of [
    ["10010111", "120.505", "20000101000000", "20991231235959"],
    ["10010222", "88", "20000101000000", "20991231235959"],
    ["10010333", "45.5", "20220101000000", "20221231235959"],
  ]) {
    await post(base, "/occ/http/baas/bills", {
      billId: `bill-${cust}`, tenantId: "MVNE", extCustId: cust, serviceId: "1001",
      periodStart: start, periodEnd: end, amount,
    });
  }
  // Utility: account 1 with books BK01 (two records, one partly paid) and BK02; account 2 with
  // one record in BK01.
  for (const [account, serial, book, cons, price] of [
    ["A000000000000001", "S1", "BK01", "100", "0.5283"],
    ["A000000000000001", "S2", "BK01", "20", "1.25"],
    ["A000000000000001", "S3", "BK02", "7", "3.10"],
    ["A000000000000002", "S4", "BK01", "12.5", "0.8"],
  ]) {
    const r = await post(base, "/Service/v1/Charges/", utilityCharge(account, serial, book, cons, price));
    assert.equal(r.CODE, 0, JSON.stringify(r));
  }
  const paid = await post(base, "/Service/v1/Payments/", `{"SYS_HEAD":${JSON.stringify(utilityHead("A000000000000001"))},` +
    `"DATA":{"SERIAL_DID":"S1","THE_PAID_IN_FEE":10.03,"THE_PAID_IN_DATE":20240410,"THE_PAID_IN_SID":"P1"}}`);
  assert.equal(paid.CODE, 0, JSON.stringify(paid));
  // Call center: two lines, a day of calls on each, and the operators' bills for the month.
  await post(base, "/api/fee/config/101", {
    city_id: 71, workplace_id: 67, operator_code: 43, line_batch: "JN-02-DX-01",
    line_quantity: 2, did: "0411882544", minimum_charge_unit_price: 50,
    month_rent_fee: 100, number_use_fee: 20, caller_identify_fee: 5, ring_fee: 3.5,
    call_fee_config: { 0: ["本地手机", "单一", 0.16, 5, 0.98, 1.0, 0.97] },
  });
  await post(base, "/api/fee/config/102", {
    city_id: 71, workplace_id: 67, operator_code: 43, line_batch: "JN-02-DX-02",
    line_quantity: 1, did: "041188990000", minimum_charge_total_price: 10, month_rent_fee: 30,
    call_fee_config: { 0: ["本地固话", "单一", 0.015, 50, 0.9, 0.012, 0.95, "6s"] },
  });
  const cdr = (id, did, callType, numberType, start, duration_s) => ({
    call_id: id, did, line_prefix: "JN-02", city_id: 71, workplace_id: 67, operator_code: 43,
    bg: "房产", bu: "二手房", business_line: "黄页", call_type: callType, number_type: numberType,
    start_time: start, duration_s,
  });
  await post(base, "/api/bill/calls", {
    calls: [
      cdr("A-1", "04118825440001", "本地手机", "联通手机", "2022-03-01 09:00:00", 360),
      cdr("B-1", "041188990000", "本地固话", "电信固话", "2022-03-01 14:00:00", 600),
    ],
  }, { headers: { "X-Request-Id": "ui-calls" } });
  for (const [did, fee] of [["0411882544", 150.25], ["041188990000", 70]]) {
    await post(base, "/api/bill/operator/create", {
      bill_date: "2022-03-31", did, city_id: 71, workplace_id: 67, operator_code: 43,
      bg: "房产", bu: "二手房", fee_strategy: "标准资费", fee_state: true,
      call_duration: 960, tel_fee_total: fee, remark: "",
    });
  }
}

/// Exact decimal sum of decimal strings (BigInt on scaled integers).
function sumDecimals(values) {
  const scale = Math.max(0, ...values.map((v) => (String(v).split(".")[1] || "").length));
  let total = 0n;
  for (const v of values) {
    const [i, f = ""] = String(v).split(".");
    total += BigInt(i + f.padEnd(scale, "0"));
  }
  if (scale === 0) return total.toString();
  const digits = total.toString().padStart(scale + 1, "0");
  return digits.slice(0, -scale) + "." + digits.slice(-scale);
}

/// Business time yyyy-MM-dd HH:mm:ss as the BaaS query's yyyyMMddHHmmss.
const seedTime = (t) => t.replace(/[- :]/g, "");

/// The page's BaaS rows: [tenant, customer, amount].
const baasRows = (page) => page.$$eval("#tenants tr[data-customer]", (rows) =>
  rows.map((r) => [r.dataset.tenant, r.dataset.customer, r.querySelector("td.amount").textContent]));

let tradeSeq = 1;

/// Each BaaS customer's feeOwed on the page equals srv_baas_feeowed_qry's over the window
/// [asOf, asOf] (none: its default, now); returns the amounts.
async function checkBaas(page, base, asOf) {
  const owed = [];
  for (const [tenant, cust, amount] of await baasRows(page)) {
    const window = asOf ? { beginDate: seedTime(asOf), endDate: seedTime(asOf) } : {};
    const r = await post(base, "/occ/http/srv_baas_feeowed_qry", {
      tradeSeq: `${tenant}20160401121212000${String(tradeSeq++).padStart(9, "0")}`,
      tenantId: tenant, extCustId: cust, ...window,
    });
    assert.equal(amount, r.feeOwed, `${tenant}/${cust} as of ${asOf || "now"}`);
    owed.push(r.feeOwed);
  }
  return owed;
}

/// Each community's total equals Σ amountOwed of listFee as of the page's instant, as the same
/// decimal string; returns them.
async function checkProperty(page, base) {
  const asOf = await page.textContent("#as-of");
  const communityRows = await page.$$eval("#communities tr[data-community]", (rows) =>
    rows.map((r) => [r.dataset.community, r.querySelector("td.amount").textContent]));
  assert.deepEqual(communityRows.map((r) => r[0]), ["C-east", "C-west"]);
  const totals = [];
  for (const [community, amount] of communityRows) {
    const r = await get(base, "/app/fee.listFee",
      `communityId=${encodeURIComponent(community)}&asOf=${encodeURIComponent(asOf)}`);
    assert.equal(r.code, "0");
    const expectedOwed = sumDecimals(r.data.fees.map((f) => f.amountOwed));
    assert.equal(amount, expectedOwed, `${community} as of ${asOf}`);
    totals.push(expectedOwed);
  }
  assert.equal(await page.textContent("#communities-total td.amount"), sumDecimals(totals));
  return totals;
}

/// Picks a day in the as-of control, as a person would, and waits for the page to reload.
async function pickDay(page, day) {
  await page.fill("#as-of-date", day);
  await page.dispatchEvent("#as-of-date", "change");
  await page.waitForSelector("body[data-loaded]");
  assert.equal(await page.getAttribute("body", "data-loaded"), "true", await page.textContent("#status"));
}

test("the dashboard shows the query API's numbers", { timeout: 120_000 }, async () => {
  const ledger = await startLedger();
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  try {
    await seed(ledger.base);
    // The dashboard is the operator's: without the admin token it is refused with a Basic
    // challenge, so a browser prompts; the test logs in as a person would (any user name, the
    // demo admin token as the password).
    const anonymous = await fetch(`${ledger.base}/ui/`);
    assert.equal(anonymous.status, 401, "the dashboard needs the admin token");
    assert.match(anonymous.headers.get("www-authenticate") || "", /^Basic/);
    // `/ui` without the slash redirects to the page.
    const basic = "Basic " + Buffer.from("operator:demo-admin-token").toString("base64");
    const bare = await fetch(`${ledger.base}/ui`, { headers: { authorization: basic }, redirect: "manual" });
    assert.equal(bare.status, 308);
    assert.equal(bare.headers.get("location"), "/ui/");
    const page = await browser.newPage({
      viewport: { width: 1280, height: 900 },
      httpCredentials: { username: "operator", password: "demo-admin-token" },
    });
    await page.goto(`${ledger.base}/ui`);
    assert.equal(new URL(page.url()).pathname, "/ui/");
    await page.waitForSelector("body[data-loaded]");
    assert.equal(await page.getAttribute("body", "data-loaded"), "true",
      await page.textContent("#status"));

    // The log position shown is the applied position of every partition, all caught up.
    const shown = await page.textContent("#position");
    const positions = await (await fetch(`${ledger.base}/log/positions`)).json();
    const expected = positions.partitions.map((p) => `${p.partition}:${p.applied}`).join(",");
    assert.equal(shown, expected);
    assert.ok(positions.events > 0);

    // The as-of control defaults to the day of "now", the instant the figures are computed at.
    const nowShown = await page.textContent("#as-of");
    assert.equal(await page.inputValue("#as-of-date"), nowShown.slice(0, 10));
    assert.ok(await page.isHidden("#hint"), "no hint while figures are not 0");

    // Property: every community's total equals Σ amountOwed of listFee as of the same instant.
    const totals = await checkProperty(page, ledger.base);
    assert.ok(totals.every((t) => Number(t) > 0), `both communities owe today: ${totals}`);

    // BaaS, default window (now): every customer's feeOwed is srv_baas_feeowed_qry's; the one
    // billed for 2022 only owes nothing today; the tenant total is their sum.
    assert.deepEqual(await checkBaas(page, ledger.base, null), ["120505", "88000", "0"], "li");
    assert.equal(await page.textContent('#tenants tr.total[data-tenant="MVNE"] td.amount'), "208505");

    // Utility: each book's amount is Σ (CALC_FEE − ACCU_PAID_IN_FEE) over the records the
    // arrears query lists for its account, as the 2-decimal string; accounts sum their books.
    const utilityRows = await page.$$eval("#utility tr[data-book]", (rows) =>
      rows.map((r) => [r.dataset.account, r.dataset.book, r.querySelector("td.amount").textContent]));
    assert.deepEqual(utilityRows.map((r) => r.slice(0, 2)),
      [["A000000000000001", "BK01"], ["A000000000000001", "BK02"], ["A000000000000002", "BK01"]]);
    for (const [account, book, amount] of utilityRows) {
      const r = await post(ledger.base, "/Service/v1/QueryUserArrearages/", {
        SYS_HEAD: utilityHead(account), ACC_VOLPRICE_OWE: { RET_STORES_AID: "", BOOK_AID: book, CHARGE_PACK_TYPE: "" },
      });
      assert.equal(r.CODE, 0, JSON.stringify(r));
      const owed = r.DATA.ACC_VOLPRICE_OWE.flatMap((rec) => [rec.CALC_FEE, "-" + rec.ACCU_PAID_IN_FEE]);
      const expectedOwed = sumDecimals([...owed, "0.00"]);
      assert.equal(amount, expectedOwed, `${account}/${book}`);
    }
    assert.deepEqual(utilityRows.map((r) => r[2]), ["67.80", "21.70", "10.00"],
      "52.83 − 10.03 + 25.00, 7 × 3.10, 12.5 × 0.8");
    assert.equal(await page.textContent('#utility tr.total[data-account="A000000000000001"] td.amount'), "89.50");

    // Call center: each line's operator and system fee exactly as /api/bill/verify's JSON text
    // (with the call-center token the page does not have), in the table, the chart's bars and
    // the figures beside them: 228.50 stays 228.50.
    assert.equal((await fetch(`${ledger.base}/api/bill/verify`)).status, 401, "verify needs a token");
    const verify = await get(ledger.base, "/api/bill/verify", "limit=1000");
    assert.equal(verify.code, 0);
    const items = verify.data.items;
    assert.equal(items.length, 2);
    for (const it of items) {
      const line = it.line_prefix || it.did;
      const sel = `#verify tr[data-line="${line}"][data-month="${it.bill_date}"]`;
      assert.equal(await page.textContent(`${sel} td.operator`), it.operator_total_fee);
      assert.equal(await page.textContent(`${sel} td.system`), it.billing_total_fee);
      assert.equal(await page.textContent(`${sel} td.diff`), String(it.fee_diff));
      for (const [kind, value] of [["operator", it.operator_total_fee], ["system", it.billing_total_fee]]) {
        assert.equal(await page.getAttribute(`rect[data-kind="${kind}"][data-line="${line}"]`, "data-value"), value);
        assert.equal(await page.textContent(`text[data-kind="${kind}"][data-line="${line}"]`), value);
      }
    }
    assert.deepEqual(items.map((it) => it.billing_total_fee).sort(), ["228.50", "40.00"]);
    assert.deepEqual(items.map((it) => it.operator_total_fee).sort(), ["150.25", "70.00"]);

    // Readable chart: no two of its texts (labels, figures) overlap, and each lies inside it.
    const boxes = await page.$$eval("#verify-chart svg text", (texts) => texts.map((t) => {
      const b = t.getBoundingClientRect();
      return { text: t.textContent, left: b.left, right: b.right, top: b.top, bottom: b.bottom };
    }));
    const frame = await page.$eval("#verify-chart svg", (svg) => {
      const b = svg.getBoundingClientRect();
      return { left: b.left, right: b.right, top: b.top, bottom: b.bottom };
    });
    assert.equal(boxes.length, 3 * items.length, "a label and two figures per line");
    for (const [i, a] of boxes.entries()) {
      assert.ok(a.left >= frame.left && a.right <= frame.right && a.top >= frame.top && a.bottom <= frame.bottom,
        `${a.text} inside the chart`);
      for (const b of boxes.slice(i + 1)) {
        const apart = a.right <= b.left || b.right <= a.left || a.bottom <= b.top || b.bottom <= a.top;
        assert.ok(apart, `"${a.text}" and "${b.text}" overlap`);
      }
    }

    mkdirSync(dirname(screenshot), { recursive: true });
    await page.screenshot({ path: screenshot, fullPage: true });
    console.log(`dashboard screenshot: ${screenshot}`);

    // A past day: the figures are as of its start, for property (listFee asOf) and BaaS (the
    // query's window at that instant); the customer billed for 2022 owes its bill then.
    await pickDay(page, "2022-06-01");
    assert.equal(await page.textContent("#as-of"), "2022-06-01 00:00:00");
    assert.deepEqual(await checkProperty(page, ledger.base), ["0.00", "0.00"], "fees start in 2023");
    assert.deepEqual(await checkBaas(page, ledger.base, "2022-06-01 00:00:00"), ["120505", "88000", "45500"]);
    assert.ok(await page.isHidden("#hint"));

    // A day before every bill and fee: every figure 0, and the hint says where the data lies.
    await pickDay(page, "1999-06-01");
    assert.deepEqual(await checkBaas(page, ledger.base, "1999-06-01 00:00:00"), ["0", "0", "0"]);
    assert.ok(await page.isVisible("#hint"), "a hint when every figure is 0");
    const hint = await page.textContent("#hint");
    assert.match(hint, /is 0 as of 1999-06-01 00:00:00/);
    assert.match(hint, /2000-01-01 00:00:00 to 2099-12-31 23:59:59/);
    await page.screenshot({ path: hintScreenshot, fullPage: true });
    console.log(`dashboard hint screenshot: ${hintScreenshot}`);

    // "today" goes back to now.
    await page.click("#today");
    await page.waitForSelector("body[data-loaded]");
    assert.equal(await page.inputValue("#as-of-date"), (await page.textContent("#as-of")).slice(0, 10));
    assert.ok(await page.isHidden("#hint"));
  } finally {
    await browser.close();
    ledger.child.kill("SIGTERM");
    await new Promise((r) => ledger.child.once("exit", r));
    rmSync(ledger.dataDir, { recursive: true, force: true });
  }
});
