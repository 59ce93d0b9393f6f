"use strict";
(() => {
  const { api, el, clear, fill, $, fmtTime, sev, toast, tr } = SOC;
  const form = $("#filters"), tbody = $("#queue tbody");
  const state = { sort: "-last_seen", offset: 0, limit: 50, items: [], selected: new Set(), cursor: 0, seen: new Set(), arrived: new Map(), first: true };

  function query() {
    const q = new URLSearchParams();
    for (const [k, v] of new FormData(form)) if (v) q.set(k, k === "from" || k === "to" ? new Date(v).toISOString() : v);
    q.set("sort", state.sort); q.set("limit", state.limit); q.set("offset", state.offset);
    return q;
  }

  async function load() {
    let data;
    try { data = await api("GET", "/alerts?" + query()); } catch (e) { toast(e.message, "error"); return; }
    state.items = data.items;
    $("#total").textContent = "(" + data.total + ")";
    $("#page").textContent = `${data.total ? state.offset + 1 : 0}–${state.offset + data.items.length} / ${data.total}`;
    clear(tbody);
    data.items.forEach((a, i) => {
      if (!state.seen.has(a.id)) { state.seen.add(a.id); if (!state.first) state.arrived.set(a.id, Date.now()); }
      const isNew = Date.now() - (state.arrived.get(a.id) || 0) < 30000;  // highlighted for 30 s after it arrived
      const cb = el("input", { type: "checkbox", "aria-label": "select", onchange: (ev) => {
        ev.target.checked ? state.selected.add(a.id) : state.selected.delete(a.id); updateBulk(); } });
      cb.checked = state.selected.has(a.id);
      tbody.append(el("tr", { class: (i === state.cursor ? "cursor " : "") + (isNew ? "new" : ""), dataset: { id: a.id } },
        el("td", {}, cb),
        el("td", {}, fmtTime(a.last_seen)),
        el("td", {}, sev(a.severity)),
        el("td", {}, el("a", { href: "/alerts/" + encodeURIComponent(a.id) }, a.rule.name)),
        el("td", {}, a.agency_id || tr("chưa xác định", "unassigned")),
        el("td", {}, a.entity ? `${a.entity.type}: ${a.entity.value}` : ""),
        el("td", {}, a.count),
        el("td", {}, a.status),
        el("td", {}, a.assignee || ""),
        el("td", {}, a.incident_id ? el("a", { href: "/incidents/" + a.incident_id }, "#" + a.incident_id) : "")));
    });
    state.first = false;
    document.querySelectorAll("#queue th[data-sort]").forEach(th => {
      th.dataset.dir = state.sort.replace(/^-/, "") === th.dataset.sort ? (state.sort.startsWith("-") ? "▼" : "▲") : ""; });
    updateBulk();
  }

  function updateBulk() {
    $("#nsel").textContent = state.selected.size;
    const none = state.selected.size === 0 || SOC.role === "auditor";
    ["#bulk-assign", "#bulk-fp", "#bulk-merge"].forEach(s => { $(s).disabled = none; });
  }

  async function bulk(body) {
    try {
      const r = await api("POST", "/alerts/bulk", { ids: [...state.selected], ...body });
      toast(tr(`Đã cập nhật ${r.updated}`, `Updated ${r.updated}`));
      state.selected.clear(); load();
    } catch (e) { toast(e.message, "error"); }
  }
  $("#bulk-assign").onclick = () => bulk({ assignee: SOC.user, status: "acknowledged" });
  $("#bulk-fp").onclick = () => {
    const reason = $("#bulk-reason").value.trim();
    if (!reason) { toast(tr("Cần nhập lý do", "A reason is required"), "error"); $("#bulk-reason").focus(); return; }
    bulk({ status: "false_positive", verdict: "false_positive", reason });
  };
  $("#bulk-merge").onclick = () => {
    const id = parseInt($("#bulk-incident").value, 10);
    if (!id) { toast(tr("Nhập số sự cố", "Enter an incident number"), "error"); return; }
    bulk({ incident_id: id });
  };
  $("#select-all").onchange = (ev) => { state.items.forEach(a => ev.target.checked ? state.selected.add(a.id) : state.selected.delete(a.id)); load(); };
  form.onsubmit = (ev) => { ev.preventDefault(); state.offset = 0; load(); };
  document.querySelectorAll("th[data-sort]").forEach(th => th.onclick = () => {
    const k = th.dataset.sort; state.sort = state.sort === "-" + k ? k : "-" + k; load(); });
  $("#prev").onclick = () => { state.offset = Math.max(0, state.offset - state.limit); load(); };
  $("#next").onclick = () => { state.offset += state.limit; load(); };

  // Saved views (kept on the server per user).
  async function loadViews() {
    try {
      const views = await api("GET", "/views/triage");
      const sel = $("#views"); fill(sel, el("option", { value: "" }, "—"));
      views.forEach(v => sel.append(el("option", { value: JSON.stringify(v.filters) }, v.name)));
    } catch (e) { /* views are optional */ }
  }
  $("#views").onchange = (ev) => {
    if (!ev.target.value) return;
    const f = JSON.parse(ev.target.value);
    for (const input of form.elements) if (input.name) input.value = f[input.name] || "";
    state.offset = 0; load();
  };
  $("#save-view").onclick = async () => {
    const name = prompt(tr("Tên bộ lọc", "View name")); if (!name) return;
    const filters = Object.fromEntries([...new FormData(form)].filter(([, v]) => v));
    try { await api("POST", "/views/triage", { name, filters }); loadViews(); toast("✓"); } catch (e) { toast(e.message, "error"); }
  };

  // Keyboard shortcuts.
  document.addEventListener("keydown", (ev) => {
    if (["INPUT", "SELECT", "TEXTAREA"].includes(document.activeElement.tagName)) return;
    const rows = tbody.querySelectorAll("tr");
    if (ev.key === "j" || ev.key === "k") {
      state.cursor = Math.max(0, Math.min(rows.length - 1, state.cursor + (ev.key === "j" ? 1 : -1)));
      rows.forEach((r, i) => r.classList.toggle("cursor", i === state.cursor));
    } else if (ev.key === "x" && rows[state.cursor]) {
      const cb = rows[state.cursor].querySelector("input"); cb.checked = !cb.checked; cb.dispatchEvent(new Event("change"));
    } else if (ev.key === "Enter" && rows[state.cursor]) {
      location.href = "/alerts/" + encodeURIComponent(rows[state.cursor].dataset.id);
    } else if (ev.key === "a" && rows[state.cursor]) {
      state.selected.add(rows[state.cursor].dataset.id); $("#bulk-assign").click();
    } else if (ev.key === "f" && rows[state.cursor]) {
      state.selected.add(rows[state.cursor].dataset.id); updateBulk(); $("#bulk-reason").focus();
    } else if (ev.key === "/") { ev.preventDefault(); form.elements.rule.focus(); }
  });

  load(); loadViews();
  setInterval(load, 5000);  // live updates
})();
