"use strict";
(() => {
  const { api, el, clear, fill, $, fmtTime, toast, duration, tr, barChart, stackedTimeChart } = SOC;
  const pct = (v) => v === null || v === undefined ? "–" : Math.round(v * 100) + "%";
  async function load() {
    let d; try { d = await api("GET", "/dashboard?days=" + $("#days").value); } catch (e) { toast(e.message, "error"); return; }
    fill($("#over-time"), stackedTimeChart(d.alerts_over_time, ["low", "medium", "high", "critical"]));
    fill($("#legend"), ["low", "medium", "high", "critical"].map(s => el("span", { class: "legend" }, el("span", { class: "swatch sev-" + s }), " " + s)),
      ` · ${tr("mỗi cột", "one bar per")} ${d.bucket === "hour" ? tr("giờ", "hour") : tr("ngày", "day")}`);
    fill($("#top-rules"), d.top_rules.length ? barChart(d.top_rules.map(r => ({ label: r.rule, value: r.count }))) : tr("Không có dữ liệu", "No data"));
    fill($("#per-agency"), barChart(d.alerts_per_agency.map(r => ({ label: r.agency, value: r.count }))));
    const st = el("tbody");
    (d.sources || []).forEach(s => {
      const rate = s.parse_error_rate || 0;
      st.append(el("tr", {}, el("td", {}, s.name), el("td", {}, s.type || ""),
        el("td", {}, s.last_received_at ? fmtTime(s.last_received_at) : "–"),
        el("td", {}, s.last_event ? fmtTime(s.last_event) : "–"),
        el("td", {}, Number(s.events_per_s || 0).toFixed(1)), el("td", {}, s.received),
        el("td", { class: rate > 0.05 ? "overdue" : "" }, `${s.dead} (${pct(rate)})`),
        el("td", { class: s.silent ? "overdue" : "ok" }, s.silent ? tr("im lặng", "silent") : (s.received ? "✓" : "–"))));
    });
    fill($("#sources"), el("table", {}, el("thead", {}, el("tr", {}, [tr("Nguồn", "Source"), tr("Loại", "Type"),
      tr("Nhận lần cuối", "Last received"), tr("Sự kiện mới nhất", "Newest event"), tr("sự kiện/s", "events/s"),
      tr("Đã nhận", "Received"), tr("Lỗi phân tích", "Parse errors"), ""].map(h => el("th", {}, h)))), st));
    const ct = el("tbody");
    Object.entries(d.agencies).forEach(([a, v]) => ct.append(el("tr", {}, el("td", {}, a), el("td", {}, v.incidents),
      el("td", {}, duration(v.mtta_seconds)), el("td", {}, duration(v.mttr_seconds)), el("td", {}, pct(v.layer1_ack_on_time)), el("td", {}, pct(v.layer4_reported)))));
    fill($("#compliance"), el("table", {}, el("thead", {}, el("tr", {},
      [tr("Cơ quan", "Agency"), tr("Sự cố", "Incidents"), "MTTA", "MTTR", tr("Lớp 1 xác nhận đúng hạn", "Layer 1 ack on time"), tr("Lớp 4 đã báo cáo (nghiêm trọng)", "Layer 4 reported (serious)")].map(h => el("th", {}, h)))), ct));
  }
  // Wall display: /dashboard?wall=1 hides the navigation and enlarges everything.
  if (new URLSearchParams(location.search).has("wall")) document.body.classList.add("wall");
  $("#days").onchange = load; load(); setInterval(load, 30000);
})();
