"use strict";
(() => {
  const { api, el, clear, fill, $, fmtTime, toast, tr } = SOC;
  let offset = 0; const limit = 100;
  async function load() {
    const q = new URLSearchParams({ limit, offset });
    for (const [k, v] of new FormData($("#filters"))) if (v) q.set(k, v);
    let d; try { d = await api("GET", "/audit?" + q); } catch (e) { toast(e.message, "error"); return; }
    const c = $("#chain");
    c.textContent = d.chain_valid ? tr("✓ Chuỗi băm toàn vẹn", "✓ Hash chain intact")
      : tr(`✗ Chuỗi băm bị sửa đổi từ mục #${d.first_bad_id}`, `✗ Hash chain broken at entry #${d.first_bad_id}`);
    c.className = d.chain_valid ? "ok" : "overdue";
    $("#page").textContent = `${offset + 1}–${offset + d.items.length} / ${d.total}`;
    const tb = clear($("#audit tbody"));
    d.items.forEach(e => tb.append(el("tr", {}, el("td", {}, e.id), el("td", {}, fmtTime(e.ts)), el("td", {}, e.actor),
      el("td", {}, e.action), el("td", {}, e.target || ""), el("td", {}, JSON.stringify(e.detail)), el("td", { class: "muted" }, e.hash.slice(0, 12)))));
  }
  $("#filters").onsubmit = (ev) => { ev.preventDefault(); offset = 0; load(); };
  $("#prev").onclick = () => { offset = Math.max(0, offset - limit); load(); };
  $("#next").onclick = () => { offset += limit; load(); };
  load();
})();
