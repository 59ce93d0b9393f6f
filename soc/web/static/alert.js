"use strict";
(async () => {
  const { api, el, clear, $, fmtTime, sev, toast, pretty, tr, params } = SOC;
  let a;
  try { a = await api("GET", "/alerts/" + encodeURIComponent(params.alert_id)); }
  catch (e) { $("#summary").append(el("p", { class: "error" }, e.message)); return; }
  const ev = (a.events || [])[0] || {};
  const dl = (pairs) => el("dl", { class: "kv" }, pairs.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v ?? "")]));

  $("#summary").append(el("h2", {}, sev(a.severity), " ", a.rule.name),
    dl([[tr("Mã luật", "Rule id"), a.rule.id], [tr("Loại", "Kind"), a.kind], [tr("Cấp luật", "Rule level"), a.rule.level],
        ["ATT&CK", (a.rule.tags || []).join(", ")], [tr("Số lần", "Count"), a.count],
        [tr("Lần đầu / cuối", "First / last seen"), fmtTime(a.first_seen) + " → " + fmtTime(a.last_seen)],
        [tr("Trạng thái", "Status"), a.status], [tr("Người xử lý", "Assignee"), a.assignee || "–"],
        [tr("Sự cố", "Incident"), a.incident_id ? el("a", { href: "/incidents/" + a.incident_id }, "#" + a.incident_id) : "–"]]));

  // Why it matched: selections and values (Sigma), indicator (TI) or features (anomaly).
  const why = $("#why"), m = a.match || {};
  if (a.kind === "anomaly" && (m.features || m.top_features)) {
    const feats = m.top_features || m.features;
    why.append(el("p", {}, tr("Điểm bất thường: ", "Anomaly score: ") + (m.score ?? "")));
    const ul = el("ul");
    (Array.isArray(feats) ? feats : Object.entries(feats).map(([k, v]) => ({ name: k, ...((typeof v === "object") ? v : { value: v }) })))
      .forEach(f => ul.append(el("li", {}, f.explanation || `${f.name}: ${f.value} (${tr("thường", "usual")} ${f.usual ?? "?"})`)));
    why.append(ul);
  } else {
    why.append(pretty(m));
  }
  const soc = a.soc || ev.soc || {};
  $("#asset").append(dl([[tr("Cơ quan", "Agency"), (soc.agency && (soc.agency.name + " (" + soc.agency.id + ")")) || tr("chưa xác định", "unassigned")],
    [tr("Hệ thống", "System"), soc.system ? soc.system.name : "–"], [tr("Cấp độ", "Level"), soc.system ? soc.system.level : "–"],
    [tr("Đối tượng", "Entity"), a.entity ? `${a.entity.type}: ${a.entity.value}` : "–"]]));
  $("#raw").append(el("pre", { class: "json" }, (ev.event && ev.event.original) || tr("(không có bản gốc)", "(no original)")));
  $("#ecs").append(pretty(a.events && a.events.length > 1 ? a.events : ev));
  $("#verdict-now").textContent = a.verdict ? `${a.verdict}: ${a.verdict_reason || ""}` : "";

  async function verdict(v) {
    const reason = $("#verdict-reason").value.trim();
    try {
      await api("PATCH", "/alerts/" + encodeURIComponent(a.id), v === "false_positive"
        ? { status: "false_positive", verdict: v, reason } : { status: "acknowledged", verdict: v, reason: reason || null });
      toast("✓"); setTimeout(() => location.reload(), 600);
    } catch (e) { toast(e.message, "error"); }
  }
  if (SOC.role === "admin" || SOC.role === "analyst") {
    $("#tp").onclick = () => verdict("true_positive");
    $("#fp").onclick = () => verdict("false_positive");
  } else { $("#verdict-card").hidden = true; }

  // Related events: same entity within an hour either side.
  const ip = ev.source && ev.source.ip, user = ev.user && ev.user.name, host = ev.host && ev.host.name;
  const terms = [ip && `related.ip:"${ip}"`, user && `user.name:"${user}"`, host && `host.name:"${host}"`].filter(Boolean);
  if (terms.length && ev["@timestamp"]) {
    const t = new Date(ev["@timestamp"]);
    const q = new URLSearchParams({ q: terms.join(" OR "), from: new Date(t - 3600e3).toISOString(),
                                    to: new Date(+t + 3600e3).toISOString(), limit: 50, sort: "asc" });
    try {
      const r = await api("GET", "/events?" + q);
      const tb = el("tbody");
      r.events.forEach(e => tb.append(el("tr", {}, el("td", {}, fmtTime(e["@timestamp"])),
        el("td", {}, (e.event || {}).dataset || ""), el("td", {}, (e.event || {}).action || ""),
        el("td", {}, (e.source || {}).ip || ""), el("td", {}, (e.destination || {}).ip || ""),
        el("td", {}, ((e.event || {}).original || e.message || "").slice(0, 200)))));
      $("#related").append(el("p", { class: "muted" }, `${r.total} ${tr("sự kiện", "events")}`), el("table", {}, tb));
    } catch (e) { $("#related").append(el("p", { class: "error" }, e.message)); }
  }
})();
