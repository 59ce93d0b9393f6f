"use strict";
(() => {
  const { api, el, clear, fill, $, fmtTime, sev, toast, duration, tr } = SOC;
  const form = $("#filters"), tbody = $("#incidents tbody");
  const SEV = { low: 1, medium: 2, high: 3, critical: 4 };
  let page = 1, items = [], sort = "-t0";
  function nextDeadline(sla) {
    let best = null;
    for (const [name, v] of Object.entries(sla || {})) {
      if (v.achieved_at || v.remaining_seconds === null || v.remaining_seconds === undefined) continue;
      if (!best || v.remaining_seconds < best.s) best = { name, s: v.remaining_seconds };
    }
    return best;
  }
  function key(i, k) {
    if (k === "severity") return SEV[i.severity] || 0;
    if (k === "sla") { const nd = nextDeadline(i.sla); return nd ? nd.s : Infinity; }
    return i[k] ?? "";
  }
  function render() {
    const k = sort.replace(/^-/, ""), dir = sort.startsWith("-") ? -1 : 1;
    const rows = [...items].sort((a, b) => (key(a, k) > key(b, k) ? 1 : key(a, k) < key(b, k) ? -1 : 0) * dir);
    fill(tbody, rows.map(i => {
      const nd = nextDeadline(i.sla);
      return el("tr", {},
        el("td", {}, el("a", { href: "/incidents/" + i.id }, i.ref)),
        el("td", {}, fmtTime(i.t0)), el("td", {}, sev(i.severity), i.serious ? " ⚠" : ""),
        el("td", {}, el("a", { href: "/incidents/" + i.id }, i.title)),
        el("td", {}, i.agency_id || tr("chưa xác định", "unassigned")), el("td", {}, i.status),
        el("td", {}, i.assignee || ""),
        el("td", { class: nd && nd.s < 0 ? "overdue" : "" }, nd ? `${nd.name}: ${duration(nd.s)}` : "–"),
        el("td", {}, i.alert_count));
    }));
    document.querySelectorAll("#incidents th[data-sort]").forEach(th => {
      th.dataset.dir = th.dataset.sort === k ? (dir < 0 ? "▼" : "▲") : ""; });
  }
  async function load() {
    const q = new URLSearchParams();
    for (const [k, v] of new FormData(form)) if (v) q.set(k, v);
    q.set("page", page);
    let d; try { d = await api("GET", "/incidents?" + q); } catch (e) { toast(e.message, "error"); return; }
    items = d.items;
    $("#total").textContent = "(" + d.total + ")";
    $("#page").textContent = `${tr("trang", "page")} ${d.page} / ${Math.max(1, Math.ceil(d.total / d.page_size))}`;
    render();
  }
  document.querySelectorAll("#incidents th[data-sort]").forEach(th => th.onclick = () => {
    const k = th.dataset.sort; sort = sort === "-" + k ? k : "-" + k; render(); });
  form.onsubmit = (ev) => { ev.preventDefault(); page = 1; load(); };
  $("#prev").onclick = () => { page = Math.max(1, page - 1); load(); };
  $("#next").onclick = () => { page += 1; load(); };
  // Saved views (per user, on the server).
  async function loadViews() {
    try {
      const views = await api("GET", "/views/incidents");
      fill($("#views"), el("option", { value: "" }, "—"), views.map(v => el("option", { value: JSON.stringify(v.filters) }, v.name)));
    } catch (e) { /* optional */ }
  }
  $("#views").onchange = (ev) => {
    if (!ev.target.value) return;
    const f = JSON.parse(ev.target.value);
    for (const input of form.elements) if (input.name) input.value = f[input.name] || "";
    page = 1; load();
  };
  $("#save-view").onclick = async () => {
    const name = prompt(tr("Tên bộ lọc", "View name")); if (!name) return;
    const filters = Object.fromEntries([...new FormData(form)].filter(([, v]) => v));
    try { await api("POST", "/views/incidents", { name, filters }); loadViews(); toast("✓"); } catch (e) { toast(e.message, "error"); }
  };
  load(); loadViews(); setInterval(load, 10000);
})();
