"use strict";
(async () => {
  const { api, el, clear, fill, $, fmtTime, sev, toast, pretty, tr, params } = SOC;
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

  // Why it matched: selections and values (Sigma), window and group (correlation), indicator (TI),
  // features against their usual values (anomaly), silence (source health).
  const why = $("#why"), m = a.match || {};
  const table = (head, rows, cls) => el("table", { class: "match " + (cls || "") }, el("thead", {}, el("tr", {}, head.map(h => el("th", {}, h)))),
    el("tbody", {}, rows.map(r => el("tr", {}, r.map(c => el("td", {}, c))))));
  const val = (v) => typeof v === "object" && v !== null ? JSON.stringify(v) : String(v);
  const num = (v) => typeof v === "number" ? v.toLocaleString(SOC.lang === "vi" ? "vi-VN" : "en-GB", { maximumFractionDigits: 2 }) : val(v);
  if (a.kind === "anomaly") {
    why.append(dl([[tr("Điểm bất thường", "Anomaly score"), `${m.score ?? "?"} (${tr("ngưỡng", "threshold")} ${m.threshold ?? "?"})`],
      [tr("Mô hình", "Model"), `${m.family || ""} · ${m.model || ""}`],
      [tr("Cửa sổ", "Window"), m.window ? `${m.window.kind}: ${fmtTime(m.window.start)} → ${fmtTime(m.window.end)}` : "–"],
      [tr("Nhóm so sánh", "Peer group"), m.peer_group ? `${m.peer_group} (${m.peers ?? "?"} ${tr("đối tượng", "peers")}, ${m.history_windows ?? "?"} ${tr("cửa sổ lịch sử", "history windows")})` : "–"]]));
    const feats = Array.isArray(m.top_features) ? m.top_features : [];
    why.append(el("h3", {}, tr("Đặc trưng bất thường nhất", "Most unusual features")),
      feats.length ? table([tr("Đặc trưng", "Feature"), tr("Giá trị", "Value"), tr("Thường", "Usual"), tr("Độ lệch", "Deviation"), tr("Giải thích", "Explanation")],
        feats.map(f => [f.feature || f.name || "", num(f.value ?? ""), f.usual === null || f.usual === undefined ? "–" : num(f.usual),
          f.deviation ?? "", el("span", { class: "explain" }, f.text || f.explanation || "")]), "features")
        : el("p", {}, m.explanation || tr("Không có giải thích", "No explanation")));
  } else if (a.kind === "correlation") {
    why.append(dl([[tr("Kiểu tương quan", "Correlation"), m.type], [tr("Nhóm theo", "Grouped by"), val(m.group || {})],
      [tr("Giá trị", "Value"), val(m.value ?? "")], [tr("Số sự kiện", "Events"), m.count],
      [tr("Khoảng thời gian", "Timespan"), m.timespan], [tr("Điều kiện", "Condition"), val(m.condition || "")],
      [tr("Luật thành phần", "Rules"), (m.rules || []).join(", ")],
      [tr("Cửa sổ", "Window"), m.window ? `${fmtTime(m.window.start)} → ${fmtTime(m.window.end)}` : "–"]]));
  } else if (a.kind === "indicator") {
    const ind = m.indicator || {};
    why.append(dl([[tr("Trường", "Field"), m.field], [tr("Giá trị quan sát", "Observed"), m.observed],
      [tr("Chỉ báo", "Indicator"), `${ind.kind || ""}: ${ind.value || ""}`], [tr("Nguồn tin", "Feed"), `${ind.feed || ""} · TLP:${(ind.tlp || "").toUpperCase()}`],
      [tr("Tên", "Name"), ind.name || "–"], [tr("Độ tin cậy", "Confidence"), ind.confidence ?? "–"], [tr("Hiệu lực đến", "Valid until"), ind.valid_until ? fmtTime(ind.valid_until) : "–"]]));
  } else if (a.kind === "health") {
    why.append(dl([[tr("Nguồn", "Source"), m.source], [tr("Im lặng (phút)", "Silent (minutes)"), m.silent_minutes],
      [tr("Ngưỡng (phút)", "Threshold (minutes)"), m.threshold_minutes], [tr("Nhận lần cuối", "Last received"), fmtTime(m.last_received)]]));
  } else if (m.selections || m.fields) {
    why.append(el("p", {}, tr("Điều kiện khớp: ", "Matched selections: "), (m.selections || []).map(sname => el("span", { class: "pill" }, sname))),
      table([tr("Trường", "Field"), tr("Giá trị trong sự kiện", "Value in the event")],
        Object.entries(m.fields || {}).map(([k, v]) => [el("code", {}, k), el("code", {}, val(v))])),
      el("p", { class: "muted" }, "logsource: ", Object.entries(m.logsource || {}).map(([k, v]) => `${k}=${v}`).join(", "),
        m.rule_path ? " · " + m.rule_path.split("/").slice(-2).join("/") : ""));
  }
  if (!why.childNodes.length || Object.keys(m).length === 0) why.append(el("p", { class: "muted" }, tr("Không có chi tiết", "No details")));
  why.append(el("details", {}, el("summary", {}, "match (JSON)"), pretty(m)));
  const soc = a.soc || ev.soc || {};
  const agency = soc.agency && soc.agency.id ? `${soc.agency.name || soc.agency.id} (${soc.agency.id})` : a.agency_id;
  const system = soc.system && soc.system.id ? `${soc.system.name || soc.system.id}` : a.system_id;
  $("#asset").append(dl([[tr("Cơ quan", "Agency"), agency || tr("chưa xác định", "unassigned")],
    [tr("Hệ thống", "System"), system || "–"], [tr("Cấp độ", "Level"), (soc.system && soc.system.level) ?? a.system_level ?? "–"],
    [tr("Đối tượng", "Entity"), a.entity ? `${a.entity.type}: ${a.entity.value}` : "–"]]));
  $("#raw").append(el("pre", { class: "json" }, (a.events || []).map(e => (e.event && e.event.original) || e.message || "").filter(Boolean).join("\n")
    || tr("(không có bản gốc)", "(no original)")));
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
