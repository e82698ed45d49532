// The dashboard's script: reads /ui/api/arrears (as of the date control's day, or now),
// /ui/api/utility and /ui/api/verify, renders tables and an inline SVG bar chart (horizontal
// bars: a label per row, so labels never overlap however many lines there are). Amounts are
// shown exactly as the API sends them (decimal strings such as "228.50", never parsed into JS
// numbers and printed again), so the page can be compared with the query API character for
// character.
"use strict";

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  for (const c of children) node.append(c);
  return node;
}

function row(cells, attrs) {
  const tr = el("tr", attrs);
  for (const [text, cls] of cells) tr.append(el("td", cls ? { class: cls } : {}, String(text)));
  return tr;
}

function addDecimals(a, b) {
  // Exact decimal addition on strings (no floats on money).
  const scale = Math.max((a.split(".")[1] || "").length, (b.split(".")[1] || "").length);
  const toInt = (s) => {
    const [i, f = ""] = s.split(".");
    return BigInt(i + f.padEnd(scale, "0"));
  };
  const sum = toInt(a) + toInt(b);
  if (scale === 0) return sum.toString();
  const neg = sum < 0n;
  const digits = (neg ? -sum : sum).toString().padStart(scale + 1, "0");
  return (neg ? "-" : "") + digits.slice(0, -scale) + "." + digits.slice(-scale);
}

// The table's body, emptied; null, after a placeholder row, when there is nothing to show.
function freshBody(table, count, emptyText, columns) {
  const body = document.querySelector(`#${table} tbody`);
  body.replaceChildren();
  if (count > 0) return body;
  body.append(row([[emptyText, "empty"], ...Array(columns - 1).fill(["", ""])]));
  return null;
}

function renderCommunities(communities) {
  const body = freshBody("communities", communities.length, "no property fees", 3);
  if (!body) return;
  let total = "0";
  for (const c of communities) {
    body.append(row([[c.communityId], [c.fees, "num"], [c.amountOwed, "num amount"]],
      { "data-community": c.communityId }));
    total = addDecimals(total, c.amountOwed);
  }
  body.append(row([["Total"], ["", "num"], [total, "num amount"]], { class: "total", id: "communities-total" }));
}

function renderTenants(tenants) {
  const body = freshBody("tenants", tenants.length, "no BaaS customers", 2);
  if (!body) return;
  for (const t of tenants) {
    body.append(row([["Tenant " + t.tenantId], [t.feeOwed, "num amount"]],
      { class: "total", "data-tenant": t.tenantId }));
    for (const c of t.customers) {
      body.append(row([[c.extCustId], [c.feeOwed, "num amount"]],
        { class: "customer", "data-tenant": t.tenantId, "data-customer": c.extCustId }));
    }
  }
}

function renderUtility(accounts) {
  const body = freshBody("utility", accounts.length, "no utility records owing", 3);
  if (!body) return;
  for (const a of accounts) {
    const records = a.books.reduce((n, b) => n + b.records, 0);
    body.append(row([["Account " + a.accountDid], [records, "num"], [a.amountOwed, "num amount"]],
      { class: "total", "data-account": a.accountDid }));
    for (const b of a.books) {
      body.append(row([["Book " + b.bookAid], [b.records, "num"], [b.amountOwed, "num amount"]],
        { class: "customer", "data-account": a.accountDid, "data-book": b.bookAid }));
    }
  }
}

const isZero = (amount) => /^-?0*(\.0*)?$/.test(String(amount));

// Every as-of figure 0 while there are rows: the data most likely lies at another date (the
// default is today; BaaS bills of past periods owe nothing today).
function renderHint(summary) {
  const hint = document.getElementById("hint");
  const amounts = [...summary.communities.map((c) => c.amountOwed), ...summary.tenants.map((t) => t.feeOwed)];
  if (amounts.length === 0 || !amounts.every(isZero)) {
    hint.hidden = true;
    hint.textContent = "";
    return;
  }
  let text = `Every property and BaaS figure is 0 as of ${summary.asOf}: the data may be older (or newer) than this date.`;
  const span = summary.outstandingBills;
  if (span) text += ` BaaS bills with money outstanding cover ${span.from} to ${span.to}; pick a date in that span.`;
  else text += " Pick another date above.";
  hint.textContent = text;
  hint.hidden = false;
}

function renderVerify(items) {
  const chart = document.getElementById("verify-chart");
  chart.replaceChildren();
  const body = freshBody("verify", items.length, "no call-center bills", 5);
  if (!body) return;
  const label = (it) => it.line_prefix || it.did;
  for (const it of items) {
    body.append(row([
      [label(it)], [it.bill_date],
      [it.operator_total_fee, "num operator"], [it.billing_total_fee, "num system"], [it.fee_diff, "num diff"],
    ], { "data-line": label(it), "data-month": it.bill_date }));
  }
  // Horizontal bars, one band per line and month: the label sits left of its band, truncated
  // with the full text in a tooltip, so labels cannot overlap. Bar lengths are drawing
  // coordinates only; the figures beside them are the strings the API sent.
  const values = items.flatMap((it) => [Number(it.operator_total_fee), Number(it.billing_total_fee)]);
  const max = Math.max(1, ...values.map(Math.abs));
  const labelWidth = 190, valueWidth = 80, bar = 14, gap = 12, top = 8;
  const width = Math.max(480, Math.min(1100, chart.clientWidth || 900));
  const span = width - labelWidth - valueWidth;
  const band = 2 * bar + gap;
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("width", width);
  svg.setAttribute("height", top + items.length * band);
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", "operator vs system fee per line");
  const add = (tag, attrs, text) => {
    const n = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
    if (text !== undefined) n.textContent = text;
    svg.append(n);
    return n;
  };
  const truncate = (text, chars) => (text.length > chars ? text.slice(0, chars - 1) + "…" : text);
  add("line", { x1: labelWidth, y1: top - 4, x2: labelWidth, y2: top + items.length * band - gap / 2, stroke: "#999" });
  items.forEach((it, i) => {
    const y = top + i * band;
    const name = `${label(it)} · ${it.bill_date}`;
    const text = add("text", { x: labelWidth - 8, y: y + bar + 4, "text-anchor": "end", class: "label" },
      truncate(name, 28));
    const full = document.createElementNS(ns, "title");
    full.textContent = name;
    text.append(full);
    [[it.operator_total_fee, "#d9822b", "operator"], [it.billing_total_fee, "#2b6cd9", "system"]].forEach(([v, color, kind], j) => {
      const w = Math.abs(Number(v)) / max * span;
      const rect = add("rect", { x: labelWidth, y: y + j * bar, width: Math.max(w, 1), height: bar - 2, fill: color,
        "data-kind": kind, "data-line": label(it), "data-value": v });
      const title = document.createElementNS(ns, "title");
      title.textContent = `${name} ${kind}: ${v}`;
      rect.append(title);
      add("text", { x: labelWidth + Math.max(w, 1) + 4, y: y + j * bar + bar - 4, class: "value",
        "data-kind": kind, "data-line": label(it) }, v);
    });
  });
  chart.append(svg);
}

async function getJson(url, what) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${what}: HTTP ${r.status} ${await r.text()}`);
  return [r, await r.json()];
}

// `day` is yyyy-MM-dd from the date control, or "" for now.
async function load(day) {
  const status = document.getElementById("status");
  document.body.removeAttribute("data-loaded");
  status.className = "meta";
  status.textContent = "loading…";
  try {
    const query = day ? `?asOf=${encodeURIComponent(day)}` : "";
    const [arrears, summary] = await getJson("/ui/api/arrears" + query, "arrears");
    document.getElementById("position").textContent =
      arrears.headers.get("X-Ledger-Position") || summary.position || "(empty log)";
    document.getElementById("as-of").textContent = summary.asOf;
    document.getElementById("as-of-date").value = summary.asOf.slice(0, 10);
    renderCommunities(summary.communities);
    renderTenants(summary.tenants);
    renderHint(summary);
    const [, utility] = await getJson("/ui/api/utility", "utility");
    renderUtility(utility.accounts);
    // The rows /api/bill/verify answers, read in process so the page needs no call-center token.
    const [, v] = await getJson("/ui/api/verify?limit=1000", "verify");
    renderVerify(v.items || []);
    status.textContent = "loaded " + new Date().toLocaleTimeString();
    document.body.dataset.loaded = "true";
  } catch (e) {
    status.textContent = String(e);
    status.className = "meta error";
    document.body.dataset.loaded = "error";
  }
}

document.getElementById("as-of-date").addEventListener("change", (e) => {
  if (e.target.value) load(e.target.value);
});
document.getElementById("today").addEventListener("click", () => load(""));

load("");
