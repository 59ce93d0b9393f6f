"use strict";
(() => {
  const { api, el, clear, $, fmtTime, sev, toast, duration, tr } = SOC;
  const form = $("#filters"), tbody = $("#incidents tbody");
  let page = 1;
  function nextDeadline(sla) {
    let best = null;
    for (const [name, v] of Object.entries(sla || {})) {
      if (v.achieved_at || v.remaining_seconds === null || v.remaining_seconds === undefined) continue;
      if (!best || v.remaining_seconds < best.s) best = { name, s: v.remaining_seconds };
    }
    return best;
  }
  async function load() {
    const q = new URLSearchParams();
    for (const [k, v] of new FormData(form)) if (v) q.set(k, v);
    q.set("page", page);
    let d; try { d = await api("GET", "/incidents?" + q); } catch (e) { toast(e.message, "error"); return; }
    $("#total").textContent = "(" + d.total + ")";
    $("#page").textContent = `${tr("trang", "page")} ${d.page}`;
    clear(tbody);
    d.items.forEach(i => {
      const nd = nextDeadline(i.sla);
      tbody.append(el("tr", {},
        el("td", {}, el("a", { href: "/incidents/" + i.id }, i.ref)),
        el("td", {}, fmtTime(i.t0)), el("td", {}, sev(i.severity), i.serious ? " ⚠" : ""),
        el("td", {}, el("a", { href: "/incidents/" + i.id }, i.title)),
        el("td", {}, i.agency_id || tr("chưa xác định", "unassigned")), el("td", {}, i.status),
        el("td", {}, i.assignee || ""),
        el("td", { class: nd && nd.s < 0 ? "overdue" : "" }, nd ? `${nd.name}: ${duration(nd.s)}` : "–"),
        el("td", {}, i.alert_count)));
    });
  }
  form.onsubmit = (ev) => { ev.preventDefault(); page = 1; load(); };
  $("#prev").onclick = () => { page = Math.max(1, page - 1); load(); };
  $("#next").onclick = () => { page += 1; load(); };
  load(); setInterval(load, 10000);
})();
