// Dashboard end to end: runs the real ledger binary on a temporary data directory, seeds it
// through the HTTP API (two property communities, two BaaS customers, two call-center lines with
// operator bills), every request signed with the demo credentials the server accepts by default
// (crates/ledger-api/src/auth.rs, module `demo`), opens GET /ui/ in headless Chromium and checks
// every number the page shows against the authenticated query API's own answer. Keeps a
// screenshot at target/ui-screenshot.png (the path is printed).
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

/// A signed POST; the reply must be 200.
async function post(base, path, body, { transactionId, headers = {} } = {}) {
  const text = JSON.stringify(body);
  const r = await fetch(base + path, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers, ...sign(path, text, transactionId) },
    body: text,
  });
  const json = await r.json();
  assert.equal(r.status, 200, `${path}: ${JSON.stringify(json)}`);
  return json;
}

/// A signed GET of `path` with `query` (already encoded, as sent and as signed); must be 200.
async function get(base, path, query = "") {
  const search = query ? `?${query}` : "";
  const r = await fetch(base + path + search, { headers: sign(path, search) });
  const json = await r.json();
  assert.equal(r.status, 200, `${path}${search}: ${JSON.stringify(json)}`);
  return json;
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
  // (the fee-owed query's default window is the present instant).
  for (const [cust, amount] of [["10010111", "120.505"], ["10010222", "88"]]) {
    await post(base, "/occ/http/baas/bills", {
      billId: `bill-${cust}`, tenantId: "MVNE", extCustId: cust, serviceId: "1001",
      periodStart: "20000101000000", periodEnd: "20991231235959", amount,
    });
  }
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

const sameDecimal = (a, b) => Number(a) === Number(b) && sumDecimals([a, "0"]) === sumDecimals([b, "0"]);

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
    const page = await browser.newPage({
      viewport: { width: 1280, height: 900 },
      httpCredentials: { username: "operator", password: "demo-admin-token" },
    });
    await page.goto(`${ledger.base}/ui/`);
    await page.waitForSelector("body[data-loaded]");
    assert.equal(await page.getAttribute("body", "data-loaded"), "true",
      await page.textContent("#status"));

    // The log position shown is the applied position of every partition, all caught up.
    const shown = await page.textContent("#position");
    const positions = await (await fetch(`${ledger.base}/log/positions`)).json();
    const expected = positions.partitions.map((p) => `${p.partition}:${p.applied}`).join(",");
    assert.equal(shown, expected);
    assert.ok(positions.events > 0);

    // Property: every community's total equals Σ amountOwed of listFee as of the same instant.
    const asOf = await page.textContent("#as-of");
    const communityRows = await page.$$eval("#communities tr[data-community]", (rows) =>
      rows.map((r) => [r.dataset.community, r.querySelector("td.amount").textContent]));
    assert.deepEqual(communityRows.map((r) => r[0]), ["C-east", "C-west"]);
    const totals = [];
    for (const [community, amount] of communityRows) {
      const r = await get(ledger.base, "/app/fee.listFee",
        `communityId=${encodeURIComponent(community)}&asOf=${encodeURIComponent(asOf)}`);
      assert.equal(r.code, "0");
      const expectedOwed = sumDecimals(r.data.fees.map((f) => f.amountOwed));
      assert.ok(Number(expectedOwed) > 0, `${community} owes something`);
      assert.ok(sameDecimal(amount, expectedOwed), `${community}: page ${amount}, listFee ${expectedOwed}`);
      totals.push(expectedOwed);
    }
    const grand = await page.textContent("#communities-total td.amount");
    assert.ok(sameDecimal(grand, sumDecimals(totals)), `total ${grand}`);

    // BaaS: every customer's feeOwed equals srv_baas_feeowed_qry's; tenant total is their sum.
    const customers = await page.$$eval("#tenants tr[data-customer]", (rows) =>
      rows.map((r) => [r.dataset.tenant, r.dataset.customer, r.querySelector("td.amount").textContent]));
    assert.equal(customers.length, 2);
    let seq = 1;
    const owed = [];
    for (const [tenant, cust, amount] of customers) {
      const r = await post(ledger.base, "/occ/http/srv_baas_feeowed_qry", {
        tradeSeq: `${tenant}20160401121212000${String(seq++).padStart(9, "0")}`,
        tenantId: tenant, extCustId: cust,
      });
      assert.equal(amount, r.feeOwed, `${tenant}/${cust}`);
      owed.push(r.feeOwed);
    }
    assert.deepEqual(owed, ["120505", "88000"], "li: 120.505 and 88 yuan");
    assert.equal(await page.textContent('#tenants tr.total[data-tenant="MVNE"] td.amount'), "208505");

    // Call center: each line's operator and system fee as /api/bill/verify answers (with the
    // call-center token the page does not have), in the table and as the chart's bars.
    assert.equal((await fetch(`${ledger.base}/api/bill/verify`)).status, 401, "verify needs a token");
    const verify = await get(ledger.base, "/api/bill/verify", "limit=1000");
    assert.equal(verify.code, 0);
    const items = verify.data.items;
    assert.equal(items.length, 2);
    for (const it of items) {
      const line = it.line_prefix || it.did;
      const sel = `#verify tr[data-line="${line}"][data-month="${it.bill_date}"]`;
      assert.equal(await page.textContent(`${sel} td.operator`), String(it.operator_total_fee));
      assert.equal(await page.textContent(`${sel} td.system`), String(it.billing_total_fee));
      assert.equal(await page.textContent(`${sel} td.diff`), String(it.fee_diff));
      assert.equal(await page.getAttribute(`rect[data-kind="operator"][data-line="${line}"]`, "data-value"),
        String(it.operator_total_fee));
      assert.equal(await page.getAttribute(`rect[data-kind="system"][data-line="${line}"]`, "data-value"),
        String(it.billing_total_fee));
    }
    assert.deepEqual(items.map((it) => String(it.operator_total_fee)).sort(), ["150.25", "70"]);

    mkdirSync(dirname(screenshot), { recursive: true });
    await page.screenshot({ path: screenshot, fullPage: true });
    console.log(`dashboard screenshot: ${screenshot}`);
  } finally {
    await browser.close();
    ledger.child.kill("SIGTERM");
    await new Promise((r) => ledger.child.once("exit", r));
    rmSync(ledger.dataDir, { recursive: true, force: true });
  }
});
