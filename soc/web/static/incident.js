"use strict";
(async () => {
  const { api, el, clear, fill, $, fmtTime, sev, toast, duration, tr, params, lang } = SOC;
  const id = encodeURIComponent(params.incident_id);
  const canWrite = SOC.role === "admin" || SOC.role === "analyst";
  const dlw = (pairs) => el("dl", { class: "kv wide" }, pairs.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v ?? "–")]));
  const dls = (pairs) => el("dl", { class: "kv stack" }, pairs.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v ?? "–")]));
  const dl = (pairs) => el("dl", { class: "kv" }, pairs.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v ?? "–")]));
  let inc;
  async function reload() {
    try { inc = await api("GET", "/incidents/" + id); } catch (e) { fill($("#head"), el("p", { class: "error" }, e.message)); return; }
    render();
  }
  function render() {
    fill($("#head"), el("h1", {}, sev(inc.severity), " ", inc.ref, " — ", inc.title),
      dlw([[tr("Phân loại", "Category"), inc.category], [tr("Trạng thái", "Status"), inc.status],
          [tr("Nghiêm trọng", "Serious"), (inc.serious ? tr("Có", "Yes") : tr("Không", "No")) + (inc.serious_override_reason ? ` (${inc.serious_override_reason})` : "")],
          ["T0", fmtTime(inc.t0)], [tr("Cơ quan", "Agency"), inc.agency_id || tr("chưa xác định", "unassigned")],
          [tr("Người xử lý", "Assignee"), inc.assignee], [tr("Rủi ro", "Risk"), inc.risk]]));
    // Four layers.
    const L = inc.layers || {};
    const l1 = L["1"] || {}, l4 = L["4"] || {};
    const notices = (l1.notices || []).map(n => el("li", {}, `${n.tier || ""} → ${n.recipient || ""} (${n.language}) · `,
      (n.deliveries || []).map(d => `${d.channel}: ${d.status}`).join(", "), n.acked_at ? ` · ✓ ${fmtTime(n.acked_at)}` : ""));
    fill($("#layers"), dls([
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
      dtb.append(el("tr", {}, el("td", {}, d["label_" + lang] || d.label_en || name.replace(/_/g, " ")), el("td", {}, d.due ? fmtTime(d.due) : tr("khi kết thúc", "after resolution")),
        el("td", { class: d.overdue ? "overdue" : "ok" }, d.met_at ? "✓ " + fmtTime(d.met_at) : duration(d.remaining_seconds))));
    }
    for (const [name, s] of Object.entries(inc.sla || {})) {
      dtb.append(el("tr", {}, el("td", {}, "SLA " + name), el("td", {}, fmtTime(s.due)),
        el("td", { class: s.breached ? "overdue" : "ok" }, s.achieved_at ? "✓ " + fmtTime(s.achieved_at) : duration(s.remaining_seconds))));
    }
    fill($("#deadlines"), el("table", {}, dtb));
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
    // Playbook steps with check-off (ticks kept per incident by /incidents/{id}/steps).
    const stepsList = clear($("#steps"));
    api("GET", `/incidents/${id}/steps`).then(pb => {
      stepsList.append(...pb.steps.map(st => {
        const mayTick = canWrite || (SOC.role === "agency" && st.layer === 1);
        const cb = el("input", { type: "checkbox", disabled: !mayTick, "aria-label": st.id, dataset: { step: st.id } });
        cb.checked = st.done;
        cb.onchange = async () => {
          try { await api("POST", `/incidents/${id}/steps/${encodeURIComponent(st.id)}`, { done: cb.checked }); reload(); }
          catch (e) { toast(e.message, "error"); cb.checked = !cb.checked; }
        };
        const due = st.due_minutes ? ` · ≤ ${duration(st.due_minutes * 60)}` : "";
        return el("li", { class: st.done ? "done" : "" }, el("label", {}, cb, ` [${tr("lớp", "layer")} ${st.layer}] `,
          (st.title && (st.title[lang] || st.title.en)) || st.id),
          el("span", { class: "muted" }, due, st.done ? ` · ✓ ${st.done_by || ""} ${fmtTime(st.done_at)}` : ""));
      }));
    }).catch(e => stepsList.append(el("li", { class: "error" }, e.message)));
    const FORMS = { form03: tr("Mẫu 03 — báo cáo ban đầu", "Form 03 — initial report"), final: tr("Báo cáo kết thúc sự cố", "Final incident report") };
    fill($("#forms"), el("ul", {}, Object.entries(FORMS).map(([f, label]) => el("li", {}, label, ": ",
      el("a", { href: `/api/v1/incidents/${id}/forms/${f}.html`, target: "_blank" }, `${tr("xem trước", "preview")} (${f}.html)`), " · ",
      el("a", { href: `/api/v1/incidents/${id}/forms/${f}.pdf`, target: "_blank" }, tr("tải PDF", "download PDF"))))));
    // Affected assets: every system named by the evidence's events (agency, system, security level).
    const systems = new Map();
    (inc.alerts || []).forEach(a => (a.events || []).forEach(e => {
      const s = (e.soc || {}).system, ag = (e.soc || {}).agency;
      if (s && s.id) systems.set(s.id, `${s.name || s.id} · ${tr("cấp", "level")} ${s.level ?? "?"}${ag && ag.id ? " · " + ag.id : ""}`);
    }));
    if (inc.system_id && !systems.has(inc.system_id)) systems.set(inc.system_id, `${inc.system_id} · ${tr("cấp", "level")} ${inc.system_level ?? "?"}`);
    fill($("#assets"), dl([[tr("Hệ thống bị ảnh hưởng", "Affected systems"), systems.size ? el("ul", {}, [...systems.values()].map(v => el("li", {}, v))) : "–"],
      [tr("Đối tượng", "Entities"), (inc.entities || []).join(", ") || inc.entity || "–"],
      [tr("Chiến thuật ATT&CK", "ATT&CK tactics"), (inc.tactics || []).length ? el("div", {}, inc.tactics.map(x => el("span", { class: "pill" }, x))) : "–"]]));
    // Evidence: linked alerts with their events.
    const etb = el("tbody");
    (inc.alerts || []).forEach(a => etb.append(el("tr", {}, el("td", {}, fmtTime(a.last_seen)), el("td", {}, sev(a.severity)),
      el("td", {}, el("a", { href: "/alerts/" + encodeURIComponent(a.id) }, a.rule.name)), el("td", {}, a.count),
      el("td", {}, ((a.events || [])[0] || {}).event ? (((a.events[0].event || {}).original) || "").slice(0, 160) : ""))));
    fill($("#evidence"), el("table", {}, etb));
    fill($("#timeline"), (inc.timeline || []).map(t => el("li", {}, fmtTime(t.ts), " · ", t.actor, " · ", t.kind, " ",
      typeof t.detail === "object" ? JSON.stringify(t.detail) : (t.detail || ""))));
    fill($("#comments"), (inc.comments || []).map(c => el("p", {}, el("b", {}, c.author), " ", el("span", { class: "muted" }, fmtTime(c.ts)), el("br"), c.body)));
    $("#comment-form").hidden = !canWrite;
  }
  $("#comment-form").onsubmit = async (ev) => {
    ev.preventDefault();
    const body = ev.target.elements.body.value.trim(); if (!body) return;
    try { await api("POST", `/incidents/${id}/comments`, { body }); ev.target.reset(); reload(); } catch (e) { toast(e.message, "error"); }
  };
  reload(); setInterval(reload, 30000);
})();
