"use strict";
(async () => {
  const { api, el, clear, $, fmtTime, sev, toast, duration, tr, params, lang } = SOC;
  const id = encodeURIComponent(params.incident_id);
  const canWrite = SOC.role === "admin" || SOC.role === "analyst";
  const dl = (pairs) => el("dl", { class: "kv" }, pairs.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v ?? "–")]));
  let inc;
  async function reload() {
    try { inc = await api("GET", "/incidents/" + id); } catch (e) { clear($("#head")).append(el("p", { class: "error" }, e.message)); return; }
    render();
  }
  function render() {
    clear($("#head")).append(el("h1", {}, sev(inc.severity), " ", inc.ref, " — ", inc.title),
      dl([[tr("Phân loại", "Category"), inc.category], [tr("Trạng thái", "Status"), inc.status],
          [tr("Nghiêm trọng", "Serious"), (inc.serious ? tr("Có", "Yes") : tr("Không", "No")) + (inc.serious_override_reason ? ` (${inc.serious_override_reason})` : "")],
          ["T0", fmtTime(inc.t0)], [tr("Cơ quan", "Agency"), inc.agency_id || tr("chưa xác định", "unassigned")],
          [tr("Người xử lý", "Assignee"), inc.assignee], [tr("Rủi ro", "Risk"), inc.risk]]));
    // Four layers.
    const L = inc.layers || {};
    const l1 = L["1"] || {}, l4 = L["4"] || {};
    const notices = (l1.notices || []).map(n => el("li", {}, `${n.tier || ""} → ${n.recipient || ""} (${n.language}) · `,
      (n.deliveries || []).map(d => `${d.channel}: ${d.status}`).join(", "), n.acked_at ? ` · ✓ ${fmtTime(n.acked_at)}` : ""));
    clear($("#layers")).append(dl([
      [tr("Lớp 1 (tại chỗ)", "Layer 1 (on-site)"), el("div", {}, l1.agency || "–", " · ",
        l1.acknowledged_at ? tr("đã xác nhận ", "acknowledged ") + fmtTime(l1.acknowledged_at) : tr("chưa xác nhận", "not acknowledged"),
        el("ul", {}, notices))],
      [tr("Lớp 2 (SOC)", "Layer 2 (SOC)"), `${(L["2"] || {}).status || ""} · ${(L["2"] || {}).assignee || "–"}`],
      [tr("Lớp 3 (đánh giá)", "Layer 3 (assessor)"), `${(L["3"] || {}).assessor || "–"} · ${(L["3"] || {}).next_assessment || ""}`],
      [tr("Lớp 4 (quốc gia)", "Layer 4 (national centre)"), l4.status || "not_reported"]]));
    if (SOC.role === "agency" || canWrite) {
      if (!l1.acknowledged_at) $("#layers").append(el("button", { class: "primary", id: "ack", onclick: async () => {
        try { await api("POST", `/incidents/${id}/ack`); toast("✓"); reload(); } catch (e) { toast(e.message, "error"); } } },
        tr("Xác nhận đã nhận thông báo", "Acknowledge notice")));
    }
    // Deadlines and SLA countdowns.
    const dtb = el("tbody");
    for (const [name, d] of Object.entries(inc.deadlines || {})) {
      dtb.append(el("tr", {}, el("td", {}, (d.label && (d.label[lang] || d.label.en)) || name), el("td", {}, fmtTime(d.due)),
        el("td", { class: d.overdue ? "overdue" : "ok" }, d.met_at ? "✓ " + fmtTime(d.met_at) : duration(d.remaining_seconds))));
    }
    for (const [name, s] of Object.entries(inc.sla || {})) {
      dtb.append(el("tr", {}, el("td", {}, "SLA " + name), el("td", {}, fmtTime(s.due)),
        el("td", { class: s.breached ? "overdue" : "ok" }, s.achieved_at ? "✓ " + fmtTime(s.achieved_at) : duration(s.remaining_seconds))));
    }
    clear($("#deadlines")).append(el("table", {}, dtb));
    // Actions.
    const act = clear($("#actions"));
    if (canWrite) {
      const reason = el("input", { placeholder: tr("Lý do", "Reason"), size: 24, id: "transition-reason" });
      act.append(reason, el("div", {}, (inc.allowed_transitions || []).map(st => el("button", { "data-status": st, onclick: async () => {
        try { await api("PATCH", "/incidents/" + id, { status: st, reason: reason.value || null }); toast("✓"); reload(); }
        catch (e) { toast(e.message, "error"); } } }, "→ " + st))));
      const who = el("input", { placeholder: tr("Người xử lý", "Assignee"), size: 12, value: inc.assignee || "" });
      act.append(el("div", {}, who, el("button", { onclick: async () => {
        try { await api("PATCH", "/incidents/" + id, { assignee: who.value }); reload(); } catch (e) { toast(e.message, "error"); } } },
        tr("Giao", "Assign"))));
    } else { $("#actions-card").hidden = true; }
    // Playbook steps with check-off.
    const done = new Set(((inc.playbook || {}).done) || []);
    clear($("#steps")).append(((inc.playbook || {}).steps || []).map(st => {
      const cb = el("input", { type: "checkbox", disabled: !(canWrite || (SOC.role === "agency" && st.layer === 1)) });
      cb.checked = done.has(st.id);
      cb.onchange = async () => {
        try { await api("POST", `/incidents/${id}/steps/${encodeURIComponent(st.id)}`, { done: cb.checked }); reload(); }
        catch (e) { toast(e.message, "error"); cb.checked = !cb.checked; }
      };
      return el("li", { class: done.has(st.id) ? "done" : "" }, cb, ` [${tr("lớp", "layer")} ${st.layer}] `,
        (st.title && (st.title[lang] || st.title.en)) || st.id);
    }));
    clear($("#forms")).append(el("ul", {}, ["form03", "final"].flatMap(f => ["html", "pdf"].map(x =>
      el("li", {}, el("a", { href: `/api/v1/incidents/${id}/forms/${f}.${x}`, target: "_blank" }, `${f}.${x}`))))));
    clear($("#assets")).append(dl([[tr("Hệ thống", "System"), `${inc.system_id || "–"} (${tr("cấp", "level")} ${inc.system_level ?? "–"})`],
      [tr("Đối tượng", "Entities"), (inc.entities || []).join(", ") || inc.entity || "–"],
      ["ATT&CK", (inc.tactics || []).join(" → ") || "–"]]));
    // Evidence: linked alerts with their events.
    const etb = el("tbody");
    (inc.alerts || []).forEach(a => etb.append(el("tr", {}, el("td", {}, fmtTime(a.last_seen)), el("td", {}, sev(a.severity)),
      el("td", {}, el("a", { href: "/alerts/" + encodeURIComponent(a.id) }, a.rule.name)), el("td", {}, a.count),
      el("td", {}, ((a.events || [])[0] || {}).event ? (((a.events[0].event || {}).original) || "").slice(0, 160) : ""))));
    clear($("#evidence")).append(el("table", {}, etb));
    clear($("#timeline")).append((inc.timeline || []).map(t => el("li", {}, fmtTime(t.ts), " · ", t.actor, " · ", t.kind, " ",
      typeof t.detail === "object" ? JSON.stringify(t.detail) : (t.detail || ""))));
    clear($("#comments")).append((inc.comments || []).map(c => el("p", {}, el("b", {}, c.author), " ", el("span", { class: "muted" }, fmtTime(c.ts)), el("br"), c.body)));
    $("#comment-form").hidden = !canWrite;
  }
  $("#comment-form").onsubmit = async (ev) => {
    ev.preventDefault();
    const body = ev.target.elements.body.value.trim(); if (!body) return;
    try { await api("POST", `/incidents/${id}/comments`, { body }); ev.target.reset(); reload(); } catch (e) { toast(e.message, "error"); }
  };
  reload(); setInterval(reload, 30000);
})();
