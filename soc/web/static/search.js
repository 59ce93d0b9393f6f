"use strict";
(() => {
  const { api, el, clear, fill, $, fmtTime, toast, tr, barChart, stackedTimeChart, pretty } = SOC;
  const form = $("#search-form"), tbody = $("#results tbody");
  const FIELDS = ["event.dataset", "event.action", "event.outcome", "source.ip", "destination.ip", "destination.port",
                  "user.name", "host.name", "url.domain", "soc.agency.id", "http.response.status_code", "process.name"];
  let offset = 0; const limit = 100;
  function params(extra) {
    const q = new URLSearchParams();
    for (const [k, v] of new FormData(form)) if (v) q.set(k, k === "from" || k === "to" ? new Date(v).toISOString() : v);
    if (!q.get("from")) q.set("from", new Date(Date.now() - 7 * 86400e3).toISOString());
    Object.entries(extra || {}).forEach(([k, v]) => q.set(k, v));
    return q;
  }
  async function run() {
    $("#error").textContent = "";
    let r;
    try { r = await api("GET", "/events?" + params({ limit, offset, histogram: offset === 0 })); }
    catch (e) { $("#error").textContent = e.message; return; }
    $("#count").textContent = `${r.total} ${tr("sự kiện", "events")} · ${r.took_ms} ms`;
    $("#page").textContent = `${r.total ? offset + 1 : 0}–${offset + r.events.length}`;
    if (offset === 0) {
      fill($("#histogram"), stackedTimeChart(r.histogram.map(h => ({ t: h.t, values: { all: h.count } })), ["all"]));
    }
    clear(tbody);
    r.events.forEach(e => {
      const detail = el("tr", { hidden: true }, el("td", { colspan: 7 }, pretty(e)));
      const row = el("tr", { onclick: () => { detail.hidden = !detail.hidden; } },
        el("td", {}, fmtTime(e["@timestamp"])), el("td", {}, (e.event || {}).dataset || ""),
        el("td", {}, (e.source || {}).ip || ""), el("td", {}, (e.destination || {}).ip || ""),
        el("td", {}, (e.user || {}).name || ""), el("td", {}, ((e.soc || {}).agency || {}).id || ""),
        el("td", {}, ((e.event || {}).original || e.message || "").slice(0, 180)));
      tbody.append(row, detail);
    });
  }
  fill($("#fields"), el("div", {}, FIELDS.map(f => el("button", { class: "pill", type: "button", onclick: async () => {
    try {
      const r = await api("GET", `/events/fields/${encodeURIComponent(f)}/top?` + params());
      fill($("#top"), el("h3", {}, f), barChart(r.values.map(v => ({ label: v.value, value: v.count }))),
        el("div", {}, r.values.map(v => el("button", { class: "pill", type: "button", onclick: () => {
          const q = $("#q"); q.value = (q.value ? q.value + " AND " : "") + `${f}:"${v.value}"`; offset = 0; run(); } }, "+ " + v.value))));
    } catch (e) { toast(e.message, "error"); } } }, f))));
  form.onsubmit = (ev) => { ev.preventDefault(); offset = 0; run(); };
  $("#prev").onclick = () => { offset = Math.max(0, offset - limit); run(); };
  $("#next").onclick = () => { offset += limit; run(); };
  $("#export-csv").onclick = () => { location.href = "/api/v1/events/export?" + params({ format: "csv" }); };
  $("#export-json").onclick = () => { location.href = "/api/v1/events/export?" + params({ format: "json" }); };
  $("#hunt-run").onclick = async () => {
    const q = params();
    try {
      const r = await api("POST", "/rules/hunt", { yaml: $("#hunt-yaml").value, from: q.get("from"), to: q.get("to") || null });
      fill($("#hunt-out"), el("p", {}, `${r.alerts.length} ${tr("cảnh báo", "alerts")} · ${r.events_scanned} ${tr("sự kiện đã quét", "events scanned")}`),
        el("ul", {}, r.alerts.slice(0, 200).map(a => el("li", {}, fmtTime(a["@timestamp"]), " · ", a.rule.name, " · ",
          ((a.events || [])[0] || {}).event ? ((a.events[0].event.original || "").slice(0, 160)) : ""))));
    } catch (e) { fill($("#hunt-out"), el("p", { class: "error" }, e.message)); }
  };
  run();
})();
