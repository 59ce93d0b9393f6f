"use strict";
(() => {
  const { api, el, clear, fill, $, fmtTime, sev, toast, tr } = SOC;
  let refs = {};
  async function ack(id) {
    try { await api("POST", `/incidents/${id}/ack`); toast("✓"); load(); } catch (e) { toast(e.message, "error"); }
  }
  async function load() {
    let d; try { d = await api("GET", "/incidents?page_size=200"); } catch (e) { toast(e.message, "error"); return; }
    refs = Object.fromEntries(d.items.map(i => [i.id, i.ref]));
    fill($("#portal-incidents tbody"), d.items.map(i => el("tr", {},
      el("td", {}, el("a", { href: "/incidents/" + i.id }, i.ref)), el("td", {}, fmtTime(i.t0)), el("td", {}, sev(i.severity)),
      el("td", {}, el("a", { href: "/incidents/" + i.id }, i.title)), el("td", {}, i.status),
      el("td", {}, i.acknowledged_at ? "✓ " + fmtTime(i.acknowledged_at)
        : el("button", { class: "primary ack", onclick: () => ack(i.id) }, tr("Xác nhận", "Acknowledge"))),
      el("td", {}, ["form03", "final"].map(f => el("a", { href: `/api/v1/incidents/${i.id}/forms/${f}.pdf`, target: "_blank", class: "pill" },
        f === "form03" ? tr("Mẫu 03", "Form 03") : tr("Báo cáo kết thúc", "Final report")))))));
    let n; try { n = await api("GET", "/notices?limit=200"); } catch (e) { toast(e.message, "error"); return; }
    fill($("#portal-notices tbody"), n.items.map(x => el("tr", {},
      el("td", {}, fmtTime(x.created_at)), el("td", {}, el("a", { href: "/incidents/" + x.incident_id }, refs[x.incident_id] || "#" + x.incident_id)),
      el("td", {}, x.subject || x.kind || ""), el("td", {}, `${x.recipient || ""} (${x.tier || ""})`),
      el("td", { class: !x.acked_at && x.ack_due_at && new Date(x.ack_due_at) < new Date() ? "overdue" : "" }, fmtTime(x.ack_due_at)),
      el("td", {}, x.acked_at ? `✓ ${fmtTime(x.acked_at)} ${x.acked_by || ""}` : "–"))));
  }
  const a = encodeURIComponent(SOC.agency);
  $("#report-html").setAttribute("href", `/api/v1/reports/assessor?agency=${a}&format=html`);
  $("#report-pdf").setAttribute("href", `/api/v1/reports/assessor?agency=${a}&format=pdf`);
  $("#report-csv").setAttribute("href", `/api/v1/reports/assessor?agency=${a}&format=csv`);
  load(); setInterval(load, 15000);
})();
