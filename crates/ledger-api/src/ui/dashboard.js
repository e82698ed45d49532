// The dashboard's script: reads /ui/api/arrears and /ui/api/verify, renders tables and an
// inline SVG bar chart. Numbers are shown exactly as the API sends them (decimal strings), so
// what the page shows can be compared with the query API character for character.
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

function renderCommunities(communities) {
  const body = document.querySelector("#communities tbody");
  body.replaceChildren();
  if (communities.length === 0) {
    body.append(row([["no property fees", "empty"], ["", ""], ["", ""]]));
    return;
  }
  let total = "0";
  for (const c of communities) {
    body.append(row([[c.communityId], [c.fees, "num"], [c.amountOwed, "num amount"]],
      { "data-community": c.communityId }));
    total = addDecimals(total, c.amountOwed);
  }
  body.append(row([["Total"], ["", "num"], [total, "num amount"]], { class: "total", id: "communities-total" }));
}

function renderTenants(tenants) {
  const body = document.querySelector("#tenants tbody");
  body.replaceChildren();
  if (tenants.length === 0) {
    body.append(row([["no BaaS customers", "empty"], ["", ""]]));
    return;
  }
  for (const t of tenants) {
    body.append(row([["Tenant " + t.tenantId], [t.feeOwed, "num amount"]],
      { class: "total", "data-tenant": t.tenantId }));
    for (const c of t.customers) {
      body.append(row([[c.extCustId], [c.feeOwed, "num amount"]],
        { class: "customer", "data-tenant": t.tenantId, "data-customer": c.extCustId }));
    }
  }
}

function renderVerify(items) {
  const body = document.querySelector("#verify tbody");
  body.replaceChildren();
  const chart = document.getElementById("verify-chart");
  chart.replaceChildren();
  if (items.length === 0) {
    body.append(row([["no call-center bills", "empty"], ["", ""], ["", ""], ["", ""], ["", ""]]));
    return;
  }
  const label = (it) => it.line_prefix || it.did;
  for (const it of items) {
    body.append(row([
      [label(it)], [it.bill_date],
      [it.operator_total_fee, "num operator"], [it.billing_total_fee, "num system"], [it.fee_diff, "num diff"],
    ], { "data-line": label(it), "data-month": it.bill_date }));
  }
  // Bar heights are drawing coordinates only; the figures themselves are printed as sent.
  const values = items.flatMap((it) => [Number(it.operator_total_fee), Number(it.billing_total_fee)]);
  const max = Math.max(1, ...values.map(Math.abs));
  const group = 70, bar = 24, height = 180, top = 20, bottom = 40;
  const width = Math.max(400, items.length * group + 40);
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("width", width);
  svg.setAttribute("height", height + top + bottom);
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", "operator vs system fee per line");
  const add = (tag, attrs, text) => {
    const n = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
    if (text !== undefined) n.textContent = text;
    svg.append(n);
    return n;
  };
  add("line", { x1: 30, y1: top + height, x2: width - 10, y2: top + height, stroke: "#999" });
  items.forEach((it, i) => {
    const x = 40 + i * group;
    [[it.operator_total_fee, "#d9822b", "operator"], [it.billing_total_fee, "#2b6cd9", "system"]].forEach(([v, color, kind], j) => {
      const h = Math.abs(Number(v)) / max * height;
      const rect = add("rect", { x: x + j * bar, y: top + height - h, width: bar - 2, height: h, fill: color,
        "data-kind": kind, "data-line": label(it), "data-value": v });
      const title = document.createElementNS(ns, "title");
      title.textContent = `${label(it)} ${kind}: ${v}`;
      rect.append(title);
    });
    add("text", { x: x, y: top + height + 14 }, label(it));
    add("text", { x: x, y: top + height + 28 }, it.bill_date);
  });
  chart.append(svg);
}

async function load() {
  const status = document.getElementById("status");
  try {
    const arrears = await fetch("/ui/api/arrears");
    if (!arrears.ok) throw new Error("arrears: HTTP " + arrears.status);
    const summary = await arrears.json();
    document.getElementById("position").textContent =
      arrears.headers.get("X-Ledger-Position") || summary.position || "(empty log)";
    document.getElementById("as-of").textContent = summary.asOf;
    renderCommunities(summary.communities);
    renderTenants(summary.tenants);
    // The rows /api/bill/verify answers, read in process so the page needs no call-center token.
    const verify = await fetch("/ui/api/verify?limit=1000");
    if (!verify.ok) throw new Error("verify: HTTP " + verify.status);
    const v = await verify.json();
    renderVerify(v.items || []);
    status.textContent = "loaded " + new Date().toLocaleTimeString();
    document.body.dataset.loaded = "true";
  } catch (e) {
    status.textContent = String(e);
    status.className = "meta error";
    document.body.dataset.loaded = "error";
  }
}

load();
