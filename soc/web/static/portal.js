"use strict";
(() => {
  const { api, el, clear, $, fmtTime, sev, toast, tr } = SOC;
  async function load() {
    let d; try { d = await api("GET", "/incidents?page_size=200"); } catch (e) { toast(e.message, "error"); return; }
    const tb = clear($("#portal-incidents tbody"));
    d.items.forEach(i => tb.append(el("tr", {},
      el("td", {}, el("a", { href: "/incidents/" + i.id }, i.ref)), el("td", {}, fmtTime(i.t0)), el("td", {}, sev(i.severity)),
      el("td", {}, el("a", { href: "/incidents/" + i.id }, i.title)), el("td", {}, i.status),
      el("td", {}, i.acknowledged_at ? "✓ " + fmtTime(i.acknowledged_at) : el("button", { class: "primary ack", onclick: async () => {
        try { await api("POST", `/incidents/${i.id}/ack`); toast("✓"); load(); } catch (e) { toast(e.message, "error"); } } },
        tr("Xác nhận", "Acknowledge"))),
      el("td", {}, el("a", { href: `/api/v1/incidents/${i.id}/forms/form03.pdf`, target: "_blank" }, "Form 03")))));
  }
  const a = encodeURIComponent(SOC.agency);
  $("#report-html").setAttribute("href", `/api/v1/reports/assessor?agency=${a}&format=html`);
  $("#report-pdf").setAttribute("href", `/api/v1/reports/assessor?agency=${a}&format=pdf`);
  $("#report-csv").setAttribute("href", `/api/v1/reports/assessor?agency=${a}&format=csv`);
  load(); setInterval(load, 15000);
})();
