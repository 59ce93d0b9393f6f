"use strict";
(() => {
  const { api, el, clear, fill, $, fmtTime, toast, tr, barChart, pretty } = SOC;
  const canWrite = SOC.role === "admin" || SOC.role === "rule_author";
  let rules = [], current = null, timer = null;
  const TEMPLATE = "title: \nid: \nstatus: experimental\ndescription: \nauthor: " + SOC.user +
    "\nlogsource:\n  product: linux\n  service: sshd\ndetection:\n  selection:\n    message|contains: 'Failed password'\n  condition: selection\nlevel: medium\ntags:\n  - attack.credential_access\n";

  async function loadList() {
    let d; try { d = await api("GET", "/rules"); } catch (e) { toast(e.message, "error"); return; }
    rules = d.rules; $("#total").textContent = `(${d.rules.length})`;
    $("#errors-summary").textContent = `${d.errors.length} ${tr("luật bị từ chối", "rejected rules")}`;
    fill($("#rule-errors"), d.errors.slice(0, 500).map(e => el("li", {}, `${e.file}${e.line ? ":" + e.line : ""}: ${e.reason}`)));
    renderList();
  }
  function renderList() {
    const f = $("#rule-filter").value.toLowerCase();
    fill($("#rules tbody"), rules.filter(r => !f || (r.title + r.id + (r.path || "")).toLowerCase().includes(f)).slice(0, 500)
      .map(r => el("tr", { onclick: () => open(r.id) }, el("td", {}, r.title), el("td", {}, r.level),
        el("td", {}, Object.values(r.logsource || {}).join("/")), el("td", {}, r.enabled ? "✓" : tr("tắt", "off")))));
  }
  async function open(id) {
    try { current = await api("GET", "/rules/" + encodeURIComponent(id)); } catch (e) { toast(e.message, "error"); return; }
    $("#editor-title").textContent = current.title || id;
    $("#yaml").value = current.yaml; validate();
    $("#toggle").hidden = !canWrite; $("#toggle").textContent = current.enabled ? tr("Tắt", "Disable") : tr("Bật", "Enable");
    fill($("#versions"), (current.versions || []).map(v => el("li", {},
      el("a", { href: "#", onclick: async (ev) => { ev.preventDefault();
        const d = await api("GET", `/rules/${encodeURIComponent(id)}/diff?version=${v.version}`); $("#diff").textContent = d.diff || "(no change)"; } },
      `v${v.version}`), ` · ${v.author} · ${fmtTime(v.ts)} · ${v.comment || ""}`)));
    $("#diff").textContent = "";
  }
  async function validate() {
    const out = $("#validation");
    try {
      const r = await api("POST", "/rules/validate", { yaml: $("#yaml").value });
      out.className = r.ok ? "ok" : "error";
      out.textContent = r.ok ? tr("✓ Luật hợp lệ", "✓ Valid rule") + (r.rule ? ` — ${r.rule.title} (${r.rule.id})` : "")
        : r.errors.map(e => (e.line ? tr("dòng ", "line ") + e.line + ": " : "") + e.reason).join("; ");
    } catch (e) { out.className = "error"; out.textContent = e.message; }
  }
  $("#yaml").addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(validate, 400); });
  $("#rule-filter").addEventListener("input", renderList);
  $("#new-rule").onclick = () => { current = null; $("#editor-title").textContent = tr("Luật mới", "New rule"); $("#yaml").value = TEMPLATE; validate(); };
  $("#save").hidden = !canWrite;
  $("#save").onclick = async () => {
    try {
      const r = await api("PUT", "/rules", { yaml: $("#yaml").value, comment: $("#comment").value || null });
      toast(tr(`Đã lưu phiên bản ${r.version}`, `Saved version ${r.version}`)); await loadList(); open(r.id);
    } catch (e) { toast(e.message, "error"); }
  };
  $("#toggle").onclick = async () => {
    if (!current) return;
    try { await api("POST", `/rules/${encodeURIComponent(current.id)}/enabled`, { enabled: !current.enabled }); await loadList(); open(current.id); }
    catch (e) { toast(e.message, "error"); }
  };
  $("#sample-file").onchange = async (ev) => { const f = ev.target.files[0]; if (f) $("#sample").value = (await f.text()).slice(0, 2_000_000); };
  $("#test").onclick = async () => {
    try {
      const r = await api("POST", "/rules/test", { yaml: $("#yaml").value, sample: $("#sample").value, format: $("#sample-format").value });
      fill($("#test-out"), el("p", {}, `${r.matches.length} / ${r.events} ${tr("sự kiện khớp", "events match")}` +
        (r.parse_errors.length ? ` · ${r.parse_errors.length} ${tr("dòng không đọc được", "unparsed lines")}` : "")),
        el("ul", { class: "matches" }, r.matches.map(m => el("li", {}, el("b", {}, `${tr("dòng", "line")} ${m.line}`), " ",
          (m.selections || []).map(x => el("span", { class: "pill" }, x)),
          el("dl", { class: "kv" }, Object.entries(m.fields || {}).flatMap(([k, v]) => [el("dt", {}, el("code", {}, k)),
            el("dd", {}, el("code", {}, typeof v === "object" ? JSON.stringify(v) : String(v)))]))))),
        el("ul", { class: "error" }, r.parse_errors.slice(0, 20).map(p => el("li", {}, `${tr("dòng", "line")} ${p.line}: ${p.reason}`))));
    } catch (e) { fill($("#test-out"), el("p", { class: "error" }, e.message)); }
  };
  $("#backtest").onclick = async () => {
    try {
      const r = await api("POST", "/rules/backtest", { yaml: $("#yaml").value, days: parseInt($("#bt-days").value, 10) });
      fill($("#bt-out"), el("p", {}, `${r.total} ${tr("cảnh báo", "alerts")} · ${r.events_scanned} ${tr("sự kiện đã quét", "events scanned")}`),
        barChart(r.per_day.map(d => ({ label: d.day, value: d.alerts }))));
    } catch (e) { fill($("#bt-out"), el("p", { class: "error" }, e.message)); }
  };
  async function loadSup() {
    try {
      const list = await api("GET", "/suppressions");
      fill($("#suppressions"), el("ul", {}, list.filter(s => s.enabled).map(s => el("li", {},
        `#${s.id} ${s.rule_id} ${JSON.stringify(s.conditions)} · ${s.owner} · ${s.reason} · ${s.expires_at ? fmtTime(s.expires_at) : "∞"} `,
        canWrite ? el("button", { onclick: async () => { await api("DELETE", "/suppressions/" + s.id); loadSup(); } }, "✕") : ""))));
    } catch (e) { /* analysts and authors only */ }
  }
  $("#sup-form").onsubmit = async (ev) => {
    ev.preventDefault(); const f = Object.fromEntries(new FormData(ev.target));
    const body = { rule_id: f.rule_id || "*", reason: f.reason, conditions: f.field ? { [f.field]: f.value } : {} };
    if (f.expires_at) body.expires_at = new Date(f.expires_at).toISOString();
    try { await api("POST", "/suppressions", body); ev.target.reset(); loadSup(); } catch (e) { toast(e.message, "error"); }
  };
  $("#sup-form").hidden = !canWrite && SOC.role !== "analyst";
  loadList(); loadSup(); $("#new-rule").click();
})();
