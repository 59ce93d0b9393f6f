"use strict";
(() => {
  const { api, el, clear, $, fmtTime, toast, duration, tr, barChart, stackedTimeChart } = SOC;
  const pct = (v) => v === null || v === undefined ? "–" : Math.round(v * 100) + "%";
  async function load() {
    let d; try { d = await api("GET", "/dashboard?days=" + $("#days").value); } catch (e) { toast(e.message, "error"); return; }
    clear($("#over-time")).append(stackedTimeChart(d.alerts_over_time, ["low", "medium", "high", "critical"]));
    $("#legend").textContent = "■ low ■ medium ■ high ■ critical (" + d.bucket + ")";
    clear($("#top-rules")).append(d.top_rules.length ? barChart(d.top_rules.map(r => ({ label: r.rule, value: r.count }))) : tr("Không có dữ liệu", "No data"));
    clear($("#per-agency")).append(barChart(d.alerts_per_agency.map(r => ({ label: r.agency, value: r.count }))));
    const st = el("tbody");
    (d.sources || []).forEach(s => st.append(el("tr", {}, el("td", {}, s.name || s.source || ""),
      el("td", {}, fmtTime(s.last_event_received || s.last_seen || s.last_event)), el("td", {}, (s.events_per_second ?? s.eps ?? 0).toFixed ? (s.events_per_second ?? s.eps ?? 0).toFixed(1) : ""),
      el("td", {}, pct(s.parse_error_rate)), el("td", {}, s.silent ? tr("im lặng", "silent") : ""))));
    clear($("#sources")).append(el("table", {}, el("thead", {}, el("tr", {}, ["source", "last seen", "ev/s", "parse errors", ""].map(h => el("th", {}, h)))), st));
    const ct = el("tbody");
    Object.entries(d.agencies).forEach(([a, v]) => ct.append(el("tr", {}, el("td", {}, a), el("td", {}, v.incidents),
      el("td", {}, duration(v.mtta_seconds)), el("td", {}, duration(v.mttr_seconds)), el("td", {}, pct(v.layer1_ack_on_time)), el("td", {}, pct(v.layer4_reported)))));
    clear($("#compliance")).append(el("table", {}, el("thead", {}, el("tr", {},
      [tr("Cơ quan", "Agency"), tr("Sự cố", "Incidents"), "MTTA", "MTTR", tr("Lớp 1 xác nhận đúng hạn", "Layer 1 ack on time"), tr("Lớp 4 đã báo cáo (nghiêm trọng)", "Layer 4 reported (serious)")].map(h => el("th", {}, h)))), ct));
  }
  $("#days").onchange = load; load(); setInterval(load, 30000);
})();
