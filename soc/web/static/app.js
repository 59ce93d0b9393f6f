// Shared helpers of the console. Data from the API is only ever put in the page with textContent
// (via el()), never as HTML, so log fields cannot run script.
"use strict";
const SOC = (() => {
  const body = document.body;
  const csrf = body.dataset.csrf || "";
  const lang = body.dataset.lang || "vi";
  const params = JSON.parse(document.getElementById("page-params").textContent || "{}");

  async function api(method, path, data) {
    const opts = { method, headers: { "Accept": "application/json" }, credentials: "same-origin" };
    if (method !== "GET") opts.headers["X-CSRF-Token"] = csrf;
    if (data !== undefined) { opts.headers["Content-Type"] = "application/json"; opts.body = JSON.stringify(data); }
    const r = await fetch("/api/v1" + path, opts);
    if (r.status === 401) { location.href = "/login?next=" + encodeURIComponent(location.pathname); throw new Error("signed out"); }
    const ct = r.headers.get("content-type") || "";
    const payload = ct.includes("json") ? await r.json() : await r.text();
    if (!r.ok) {
      const msg = (payload && payload.detail) ? (typeof payload.detail === "string" ? payload.detail : JSON.stringify(payload.detail)) : r.statusText;
      const err = new Error(msg); err.status = r.status; throw err;
    }
    return payload;
  }

  // el("div", {class: "x", onclick: fn}, "text", child, ...) -- text is always text.
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k.startsWith("on") && typeof v === "function") node.addEventListener(k.slice(2), v);
      else if (k === "dataset") Object.assign(node.dataset, v);
      else if (k === "href") node.setAttribute("href", safeHref(v));
      else node.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
  }
  function safeHref(v) { const s = String(v); return (s.startsWith("/") && !s.startsWith("//")) || s.startsWith("#") ? s : "#"; }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); return node; }
  // Replace a node's children; arrays (from .map) are flattened, since DOM append() would stringify them.
  function fill(node, ...children) {
    clear(node);
    for (const c of children.flat(Infinity)) if (c !== null && c !== undefined && c !== false) node.append(c);
    return node;
  }
  function $(sel, root) { return (root || document).querySelector(sel); }
  function fmtTime(iso) {
    if (!iso) return "";
    const d = new Date(iso);
    if (isNaN(d)) return String(iso);
    return d.toLocaleString(lang === "vi" ? "vi-VN" : "en-GB", { timeZone: "Asia/Ho_Chi_Minh", hour12: false });
  }
  function sev(s) { return el("span", { class: "sev sev-" + (s || "low") }, s || ""); }
  function toast(msg, kind) {
    const t = el("div", { class: "toast " + (kind || ""), role: "status" }, msg);
    document.body.append(t); setTimeout(() => t.remove(), 4000);
  }
  function duration(seconds) {
    if (seconds === null || seconds === undefined) return "–";
    const neg = seconds < 0; let s = Math.abs(Math.round(seconds));
    const d = Math.floor(s / 86400); s %= 86400; const h = Math.floor(s / 3600); s %= 3600; const m = Math.floor(s / 60);
    const txt = (d ? d + "d " : "") + (h ? h + "h " : "") + m + "m";
    return neg ? "-" + txt : txt;
  }
  function pretty(obj) { return el("pre", { class: "json" }, JSON.stringify(obj, null, 2)); }
  function tr(vi, en) { return lang === "vi" ? vi : en; }

  // Small SVG charts: no library, values only as text nodes.
  const NS = "http://www.w3.org/2000/svg";
  function svg(tag, attrs, ...children) {
    const n = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) n.setAttribute(k, String(v));
    for (const c of children) n.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return n;
  }
  function barChart(data, opts) {  // data: [{label, value, color?}]
    const w = (opts && opts.width) || 640, rowH = 22, h = Math.max(rowH * data.length, rowH), lw = 270;
    const max = Math.max(1, ...data.map(d => d.value));
    const root = svg("svg", { viewBox: `0 0 ${w} ${h}`, class: "chart", role: "img" });
    data.forEach((d, i) => {
      const bw = Math.max(2, (w - lw - 50) * d.value / max), label = String(d.label);
      const t = svg("text", { x: 0, y: i * rowH + 15, class: "lbl" }, label.length > 44 ? label.slice(0, 43) + "…" : label);
      t.append(svg("title", {}, label));
      root.append(t);
      root.append(svg("rect", { x: lw, y: i * rowH + 4, width: bw, height: rowH - 8, class: d.cls || "bar" }));
      root.append(svg("text", { x: lw + 4 + bw, y: i * rowH + 15, class: "val" }, String(d.value)));
    });
    return root;
  }
  function stackedTimeChart(buckets, series) {  // buckets: [{t, values: {series: n}}]
    const w = 640, h = 200, pad = 30;
    const root = svg("svg", { viewBox: `0 0 ${w} ${h}`, class: "chart", role: "img" });
    if (!buckets.length) return root;
    const totals = buckets.map(b => series.reduce((a, s) => a + (b.values[s] || 0), 0));
    const max = Math.max(1, ...totals); const bw = (w - pad) / buckets.length;
    buckets.forEach((b, i) => {
      let y = h - pad;
      series.forEach(s => {
        const v = b.values[s] || 0; if (!v) return;
        const bh = (h - 2 * pad) * v / max; y -= bh;
        const r = svg("rect", { x: pad + i * bw + 1, y, width: Math.max(1, bw - 2), height: bh, class: "sev-fill-" + s });
        r.append(svg("title", {}, `${b.t} ${s}: ${v}`)); root.append(r);
      });
    });
    root.append(svg("text", { x: 0, y: pad, class: "val" }, String(max)));
    root.append(svg("text", { x: pad, y: h - 8, class: "lbl" }, fmtTime(buckets[0].t)));
    root.append(svg("text", { x: w - 150, y: h - 8, class: "lbl" }, fmtTime(buckets[buckets.length - 1].t)));
    return root;
  }
  return { api, el, clear, fill, $, fmtTime, sev, toast, duration, pretty, params, lang, tr, barChart, stackedTimeChart,
           csrf, role: body.dataset.role, user: body.dataset.user, agency: body.dataset.agency };
})();
