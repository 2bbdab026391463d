/* 云朵优品 supervisor dashboard (docs/dashboard-api.md). Plain JS, no libraries; charts are inline SVG.
 * Every piece of server text goes in through textContent / createTextNode. */
(function () {
  "use strict";

  const FONT = '"Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", sans-serif';
  const SVG_NS = "http://www.w3.org/2000/svg";
  const REASONS = {
    request_human: "客户要求转人工", repeated_failure: "多次未能解答", complaint: "投诉/情绪激动",
    sensitive_topic: "敏感问题", vip_tier: "VIP 客户", bot_unavailable: "机器人不可用", left_message: "留言",
    order_issue: "订单问题",
  };
  const ENDINGS = { escalation: "转人工", fallback: "兜底回复" };
  const RATE_LINES = [
    { key: "deflection_rate", label: "机器人解决率", color: "#1677ff" },
    { key: "containment_rate", label: "自助率", color: "#14c9c9" },
    { key: "escalation_rate", label: "转人工率", color: "#ff7d00" },
  ];
  // the self-service chart's stacks: done, asked, and every other outcome together (labels come from the API)
  const SELF_SERVICE_PARTS = [
    { key: "done", label: "已办理/已答复", color: "#00b42a" },
    { key: "asked", label: "追问确认", color: "#94bfff" },
    { key: "other", label: "其他结果", color: "#ff7d00" },
  ];
  const INPUT_LABELS = {
    agent_hourly_yuan: "客服时薪（元）", handling_minutes: "平均处理时长（分钟）", bot_cost_yuan: "机器人单次成本（元）",
    deflected: "机器人解决的会话数", monthly_system_cost_yuan: "系统月成本（元）", period_days: "统计天数",
  };

  const $ = (selector, root) => (root || document).querySelector(selector);
  const state = { seq: 0, data: null, groups: [], ready: false, draftId: "", resizeTimer: 0 };

  // ---- DOM helpers --------------------------------------------------------

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function svg(tag, attrs, text) {
    const node = document.createElementNS(SVG_NS, tag);
    Object.keys(attrs || {}).forEach((k) => node.setAttribute(k, String(attrs[k])));
    if (text !== undefined && text !== null) node.appendChild(document.createTextNode(String(text)));
    return node;
  }

  const clear = (node) => { while (node.firstChild) node.removeChild(node.firstChild); };
  const titled = (node, text) => { node.appendChild(svg("title", {}, text)); return node; };

  function show(view) {
    $("#dashboard-login-screen").hidden = view !== "login";
    $("#dashboard-forbidden").hidden = view !== "forbidden";
    $("#dashboard-main").hidden = view !== "main";
  }

  // ---- formatting ----------------------------------------------------------

  const isNum = (v) => typeof v === "number" && isFinite(v);
  const pct = (r) => (isNum(r) ? (r * 100).toFixed(1) + "%" : "—");
  const int = (n) => (isNum(n) ? Math.round(n).toLocaleString("en-US") : "—");

  function money(v) {
    if (!isNum(v)) return "—";
    const s = Math.abs(v).toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
    return (v < 0 ? "-¥" : "¥") + s;
  }

  function duration(seconds) {
    if (!isNum(seconds)) return "—";
    const s = Math.max(0, Math.round(seconds));
    if (s < 60) return s + " 秒";
    if (s < 3600) return Math.floor(s / 60) + " 分 " + (s % 60) + " 秒";
    return Math.floor(s / 3600) + " 小时 " + Math.floor((s % 3600) / 60) + " 分 " + (s % 60) + " 秒";
  }

  function truncate(text, max) {
    const chars = Array.from(String(text));
    return chars.length > max ? chars.slice(0, max - 1).join("") + "…" : chars.join("");
  }

  /** Rough rendered width of a string: CJK characters are about one em, the rest about 0.6 em. */
  function textWidth(text, size) {
    let w = 0;
    for (const ch of String(text)) w += /[\u2e80-\uffff]/.test(ch) ? size : size * 0.6;
    return w;
  }

  /** Today (or `offset` days from today) as YYYY-MM-DD in Asia/Shanghai, the API's local time. */
  function localDate(offset) {
    const d = new Date(Date.now() + (offset || 0) * 86400000);
    try {
      return new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit", day: "2-digit" }).format(d);
    } catch (e) {
      return d.getFullYear() + "-" + String(d.getMonth() + 1).padStart(2, "0") + "-" + String(d.getDate()).padStart(2, "0");
    }
  }

  // ---- API -------------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, data) { super("HTTP " + status); this.status = status; this.data = data || {}; }
  }

  async function api(method, path, body) {
    const headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(path, {
      method, headers, credentials: "same-origin", cache: "no-store",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    let data = null;
    if (response.status !== 204) data = await response.json().catch(() => null);
    if (!response.ok) throw new ApiError(response.status, data);
    return data;
  }

  /** 401 → the login form, 403 → the forbidden notice; returns true when the error was one of those. */
  function handleAuthError(error) {
    if (!(error instanceof ApiError)) return false;
    if (error.status === 403) { show("forbidden"); return true; }
    if (error.status === 401) { show("login"); return true; }
    return false;
  }

  // ---- session ---------------------------------------------------------------

  function enter(account) {
    if (!account || account.role !== "supervisor") { show("forbidden"); return; }
    $("#dashboard-user").textContent = (account.name || account.username || "") + " · 主管";
    show("main");
    refresh();
  }

  async function start() {
    try {
      enter(await api("GET", "/console/api/me"));
    } catch (error) {
      if (!handleAuthError(error)) show("login");
    }
  }

  async function login(event) {
    event.preventDefault();
    const form = event.currentTarget;
    const error = $(".dashboard-error", form);
    const button = $("button[type=submit]", form);
    error.hidden = true;
    button.disabled = true;
    try {
      const result = await api("POST", "/console/api/login", {
        username: form.elements.username.value.trim(), password: form.elements.password.value,
      });
      form.elements.password.value = "";
      enter(result && result.agent);
    } catch (e) {
      const said = e instanceof ApiError && e.data && e.data.message;
      // a lockout (登录尝试过多，请 N 分钟后再试) or a disabled account: the server's own words
      if (e instanceof ApiError && e.status === 403 && !said) { show("forbidden"); return; }
      error.textContent = e instanceof ApiError && (e.status === 401 || e.status === 400) ? "用户名或密码错误"
        : e instanceof ApiError && (e.status === 429 || e.status === 403) && said ? said : "登录失败，请稍后重试";
      error.hidden = false;
    } finally {
      button.disabled = false;
    }
  }

  // ---- accounts and the audit log --------------------------------------------------

  const AUDIT_ACTIONS = { read_transcript: "查看对话", export_csv: "导出 CSV" };
  const ROLE_NAMES = { agent: "客服", supervisor: "主管" };

  function row(cells) {
    const tr = el("tr");
    cells.forEach((cell) => { const td = tr.appendChild(el("td")); if (cell instanceof Node) td.appendChild(cell); else td.textContent = String(cell); });
    return tr;
  }

  async function setDisabled(account, disabled) {
    if (disabled && !window.confirm("停用 " + account.username + "？其工作台会立即退出，手上的客户回到队列。")) return;
    try {
      await api("POST", "/dashboard/api/accounts/" + encodeURIComponent(account.username) + (disabled ? "/disable" : "/enable"));
    } catch (error) {
      if (!handleAuthError(error)) alertText((error.data && error.data.message) || "操作失败，请稍后重试");
    }
    loadAccess();
  }

  async function loadAccess() {
    try {
      const [accounts, audit] = await Promise.all([
        api("GET", "/dashboard/api/accounts"), api("GET", "/dashboard/api/audit?limit=100"),
      ]);
      const accountRows = $("#dashboard-accounts tbody");
      clear(accountRows);
      (accounts.accounts || []).forEach((account) => {
        const button = el("button", "dashboard-btn dashboard-btn-quiet", account.disabled ? "启用" : "停用");
        button.type = "button";
        button.addEventListener("click", () => setDisabled(account, !account.disabled));
        const status = account.disabled ? "已停用" : account.online ? "在线" : "离线";
        const tr = accountRows.appendChild(row([account.username, account.name, ROLE_NAMES[account.role] || account.role, status, button]));
        tr.children[3].dataset.disabled = account.disabled ? "true" : "false";
      });
      const auditRows = $("#dashboard-audit tbody");
      clear(auditRows);
      (audit.entries || []).forEach((entry) => {
        const at = new Date(entry.at);
        auditRows.appendChild(row([isNaN(at.getTime()) ? entry.at : at.toLocaleString("zh-CN"), entry.username,
          AUDIT_ACTIONS[entry.action] || entry.action, entry.target]));
      });
    } catch (error) {
      handleAuthError(error);
    }
  }

  async function logout() {
    try { await api("POST", "/console/api/logout"); } catch (e) { /* the session is gone either way */ }
    show("login");
  }

  // ---- toolbar -----------------------------------------------------------------

  function params(withBy) {
    const q = new URLSearchParams();
    q.set("from", $("#dashboard-from").value);
    q.set("to", $("#dashboard-to").value);
    if (withBy) q.set("by", $("#dashboard-by").value);
    return q.toString();
  }

  const updateExport = () => { $("#dashboard-export").href = "/dashboard/api/export.csv?" + params(false); };

  function alertText(text) {
    const node = $("#dashboard-alert");
    node.textContent = text || "";
    node.hidden = !text;
  }

  /** Loads the summary and the unanswered groups for the toolbar's period and renders everything. */
  async function refresh() {
    const from = $("#dashboard-from"), to = $("#dashboard-to");
    if (from.value && to.value && from.value > to.value) {
      alertText("开始日期不能晚于结束日期");
      return false;
    }
    updateExport();
    const seq = ++state.seq;
    const button = $("#dashboard-refresh");
    button.disabled = true;
    document.body.setAttribute("aria-busy", "true");
    try {
      const [summary, unanswered] = await Promise.all([
        api("GET", "/dashboard/api/summary?" + params(true)),
        api("GET", "/dashboard/api/unanswered?" + params(false)),
      ]);
      if (seq !== state.seq) return false;
      alertText("");
      state.data = summary || {};
      state.groups = (unanswered && unanswered.groups) || [];
      render();
      loadAccess();
      if (!state.ready) { state.ready = true; document.body.dataset.ready = "true"; }
      return true;
    } catch (error) {
      if (seq !== state.seq) return false;
      if (!handleAuthError(error)) {
        const message = error instanceof ApiError && error.data && error.data.message;
        alertText("加载失败：" + (message || (error instanceof ApiError ? "HTTP " + error.status : "网络错误")) + "，请稍后重试");
      }
      return false;
    } finally {
      if (seq === state.seq) { button.disabled = false; document.body.removeAttribute("aria-busy"); }
    }
  }

  // ---- rendering ---------------------------------------------------------------

  function render() {
    const d = state.data;
    const p = d.period || {};
    const byText = { day: "按天", week: "按周", month: "按月" }[p.by] || "";
    $("#dashboard-period").textContent = p.from ? p.from + " 至 " + p.to + (byText ? " · " + byText : "") : "";
    renderKpis(d.totals || {}, d.cost || {});
    renderSelfServiceFigures(d.self_service || {});
    renderCharts();
    renderQueue(d.queue || {});
    renderGroups(state.groups);
  }

  function renderCharts() {
    const d = state.data || {};
    lineChart($("#chart-rates"), d.series || []);
    barChart($("#chart-reasons"), (d.escalation_reasons || []).map((r) => ({
      label: REASONS[r.reason] || r.reason, value: r.count, text: int(r.count) + " 次", title: r.reason,
    })), { color: "#ff7d00" });
    barChart($("#chart-intents"), (d.top_intents || []).slice(0, 10).map((r) => ({
      label: r.intent, value: r.count, text: int(r.count) + " 条",
    })), { color: "#1677ff", maxLabel: 28 });
    barChart($("#chart-kb"), (d.top_kb || []).slice(0, 10).map((r) => ({
      label: r.question || r.key, value: r.count, text: int(r.count) + " 次", title: r.key,
    })), { color: "#14c9c9", maxLabel: 16 });
    satisfactionChart($("#chart-satisfaction"), d.satisfaction || {});
    selfServiceChart($("#chart-self-service"), d.self_service || {});
  }

  /** The self-service resolutions beside the deflection figures and above the self-service chart. */
  function renderSelfServiceFigures(block) {
    const known = isNum(block.resolutions);
    const extra = $('.dashboard-kpi[data-kpi="deflection"] [data-extra="self_service"]');
    extra.textContent = known ? "其中自助服务解决 " + int(block.resolutions) + " 个" : "";
    extra.title = block.definition || "";
    const figure = $('#dashboard-self-service [data-figure="resolutions"]');
    figure.textContent = known
      ? "自助服务解决 " + int(block.resolutions) + " 个会话 · 用过自助服务的会话 " + int(block.conversations) + " 个"
      : "";
    figure.title = block.definition || "";
  }

  function setKpi(name, value, count, tone) {
    const card = $('.dashboard-kpi[data-kpi="' + name + '"]');
    $(".dashboard-kpi-value", card).textContent = value;
    $(".dashboard-kpi-count", card).textContent = count;
    if (tone) card.dataset.tone = tone; else delete card.dataset.tone;
    return card;
  }

  function renderKpis(t, cost) {
    const n = int(t.conversations);
    setKpi("deflection", pct(t.deflection_rate), int(t.deflected) + " / " + n + " 个会话");
    setKpi("containment", pct(t.containment_rate), int(t.contained) + " / " + n + " 个会话");
    setKpi("escalation", pct(t.escalation_rate), int(t.escalated) + " / " + n + " 个会话");
    const inputs = cost.inputs || {};
    const deflected = isNum(inputs.deflected) ? inputs.deflected : t.deflected;
    const savings = setKpi("savings", money(cost.savings_yuan), "基于机器人解决的 " + int(deflected) + " 个会话",
      isNum(cost.savings_yuan) && cost.savings_yuan < 0 ? "bad" : "");
    formula($(".dashboard-formula", savings), [
      ["", cost.formula], ["", cost.human_cost_formula], ["处理时长来源", cost.handling_minutes_source],
    ], [
      ["人工单次成本（元）", cost.human_cost_per_conversation, "human_cost_per_conversation"],
    ].concat("bot_cost_yuan" in inputs ? [] : [["机器人单次成本（元）", cost.bot_cost_per_conversation, "bot_cost_per_conversation"]]).concat(["deflected", "agent_hourly_yuan", "handling_minutes", "bot_cost_yuan"]
      .filter((k) => k in inputs).map((k) => [INPUT_LABELS[k], inputs[k], "inputs." + k])));
    const roi = cost.roi;
    const roiCard = setKpi("roi", isNum(roi) ? pct(roi) : "—", "期间系统成本 " + money(cost.system_cost_yuan),
      isNum(roi) ? (roi < 0 ? "bad" : "good") : "");
    const shown = new Set(["deflected", "agent_hourly_yuan", "handling_minutes", "bot_cost_yuan"]);
    formula($(".dashboard-formula", roiCard), [["", cost.roi_formula]], [
      ["节省（元）", cost.savings_yuan, "savings_yuan"],
      ["期间系统成本（元）", cost.system_cost_yuan, "system_cost_yuan"],
    ].concat(Object.keys(inputs).filter((k) => !shown.has(k))
      .map((k) => [INPUT_LABELS[k] || k, inputs[k], "inputs." + k])));
    const notes = [];
    if (isNum(t.greeting_only)) notes.push("另有 " + int(t.greeting_only) + " 个会话只打了招呼，不计入");
    if (isNum(t.fallback_endings)) notes.push("未转人工但以兜底回复结束 " + int(t.fallback_endings) + " 个");
    if (isNum(t.recontact_escalations)) notes.push("未转人工但客户随后回头转人工 " + int(t.recontact_escalations) + " 个");
    $("#dashboard-totals-note").textContent = notes.length ? "共 " + n + " 个有效会话；" + notes.join("；") + "。" : "";
  }

  /** Fills a .dashboard-formula box: the API's formula lines verbatim, then the inputs as a list. */
  function formula(box, lines, inputs) {
    clear(box);
    lines.filter((l) => l[1] !== undefined && l[1] !== null && l[1] !== "").forEach((l) => {
      const p = el("p", "dashboard-formula-line");
      if (l[0]) p.appendChild(el("span", "dashboard-formula-key", l[0]));
      p.appendChild(el("span", "dashboard-formula-text", l[1]));
      box.appendChild(p);
    });
    const rows = inputs.filter((i) => i[1] !== undefined && i[1] !== null);
    if (!rows.length) return;
    const dl = el("dl", "dashboard-formula-inputs");
    rows.forEach((i) => {
      const item = el("div", "dashboard-formula-input");
      const dt = el("dt", "", i[0]);
      dt.title = i[2];
      item.appendChild(dt);
      item.appendChild(el("dd", "", typeof i[1] === "object" ? JSON.stringify(i[1]) : i[1]));
      dl.appendChild(item);
    });
    box.appendChild(dl);
  }

  function renderQueue(q) {
    const table = $("#dashboard-queue");
    table.querySelectorAll("[data-cell]").forEach((cell) => { cell.textContent = duration(q[cell.dataset.cell]); });
    $("caption", table).textContent = isNum(q.tickets) ? "本期共 " + int(q.tickets) + " 个转人工工单" : "";
  }

  // ---- charts ------------------------------------------------------------------

  function empty(container) {
    clear(container);
    container.appendChild(el("div", "dashboard-empty", "暂无数据"));
  }

  function svgRoot(container, height) {
    clear(container);
    const width = Math.max(280, Math.floor(container.clientWidth || 560));
    const root = svg("svg", {
      viewBox: "0 0 " + width + " " + height, width: width, height: height, role: "img", "font-family": FONT, "font-size": 12,
    });
    container.appendChild(root);
    return { root, width };
  }

  /** Three rate lines per period, y axis 0-100%, a point per value with a <title> tooltip. */
  function lineChart(container, series) {
    if (!series.length) { empty(container); return; }
    const height = 280;
    const { root, width } = svgRoot(container, height);
    root.setAttribute("aria-label", "各期机器人解决率、自助率、转人工率");
    const m = { top: 40, right: 20, bottom: 36, left: 46 };
    const w = width - m.left - m.right, h = height - m.top - m.bottom;
    const x = (i) => m.left + (series.length === 1 ? w / 2 : (i * w) / (series.length - 1));
    const y = (r) => m.top + h - Math.max(0, Math.min(1, r)) * h;
    const axis = root.appendChild(svg("g", { class: "dashboard-axis" }));
    [0, 0.25, 0.5, 0.75, 1].forEach((t) => {
      axis.appendChild(svg("line", { x1: m.left, x2: m.left + w, y1: y(t), y2: y(t), stroke: t ? "#eef0f3" : "#c9cdd4" }));
      axis.appendChild(svg("text", { x: m.left - 8, y: y(t) + 4, "text-anchor": "end", fill: "#86909c" }, t * 100 + "%"));
    });
    const longest = Math.max.apply(null, series.map((s) => textWidth(s.period, 12)));
    const every = Math.max(1, Math.ceil(series.length / Math.max(1, Math.floor(w / (longest + 16)))));
    series.forEach((s, i) => {
      if (i % every && i !== series.length - 1) return;
      axis.appendChild(svg("text", { x: x(i), y: m.top + h + 20, "text-anchor": "middle", fill: "#4e5969" }, s.period));
    });
    let lx = m.left;
    RATE_LINES.forEach((line) => {
      const g = root.appendChild(svg("g", { class: "dashboard-legend" }));
      g.appendChild(svg("rect", { x: lx, y: 12, width: 14, height: 4, rx: 2, fill: line.color }));
      g.appendChild(svg("text", { x: lx + 20, y: 18, fill: "#4e5969" }, line.label));
      lx += 20 + textWidth(line.label, 12) + 24;
    });
    RATE_LINES.forEach((line) => {
      const g = root.appendChild(svg("g", { class: "dashboard-line", "data-series": line.key }));
      let d = "", pen = "M";
      series.forEach((s, i) => {
        if (isNum(s[line.key])) { d += pen + x(i).toFixed(1) + "," + y(s[line.key]).toFixed(1) + " "; pen = "L"; } else pen = "M";
      });
      g.appendChild(svg("path", { d: d.trim(), fill: "none", stroke: line.color, "stroke-width": 2.2, "stroke-linejoin": "round" }));
      series.forEach((s, i) => {
        if (!isNum(s[line.key])) return;
        const dot = svg("circle", { cx: x(i), cy: y(s[line.key]), r: 4, fill: "#fff", stroke: line.color, "stroke-width": 2 });
        g.appendChild(titled(dot, s.period + " " + line.label + " " + pct(s[line.key]) +
          (isNum(s.conversations) ? "（" + int(s.conversations) + " 个会话）" : "")));
      });
    });
  }

  /** Horizontal bars: items [{label, value, text, title}], opts {color, max, maxLabel}. */
  function barChart(container, items, opts) {
    opts = opts || {};
    if (!items.length) { empty(container); return; }
    const rowH = 30, top = 6;
    const height = top * 2 + items.length * rowH;
    const { root, width } = svgRoot(container, height);
    const labels = items.map((it) => truncate(it.label, opts.maxLabel || 12));
    const labelW = Math.min(width * 0.45, Math.max.apply(null, labels.map((l) => textWidth(l, 12))) + 12);
    const barX = labelW + 8, barMax = Math.max(40, width - barX - 4);
    const max = opts.max || Math.max.apply(null, items.map((it) => (isNum(it.value) ? it.value : 0))) || 1;
    items.forEach((it, i) => {
      const yMid = top + i * rowH + rowH / 2;
      const g = root.appendChild(svg("g", { class: "dashboard-bar" }));
      g.appendChild(titled(svg("text", { x: labelW, y: yMid + 4, "text-anchor": "end", fill: "#4e5969" }, labels[i]),
        it.label + (it.title && it.title !== it.label ? "（" + it.title + "）" : "")));
      g.appendChild(svg("rect", { x: barX, y: yMid - 9, width: barMax, height: 18, rx: 4, fill: "#f2f3f5" }));
      const bw = isNum(it.value) ? Math.max(2, (Math.min(it.value, max) / max) * barMax) : 0;
      if (bw) {
        g.appendChild(titled(svg("rect", { x: barX, y: yMid - 9, width: bw, height: 18, rx: 4, fill: it.color || opts.color || "#1677ff" }),
          it.label + "：" + it.text));
      }
      // the value goes after the bar, or inside its end when there is no room after it
      const inside = bw + 12 + textWidth(it.text, 12) > barMax;
      g.appendChild(svg("text", { x: inside ? barX + bw - 6 : barX + bw + 6, y: yMid + 4, "text-anchor": inside ? "end" : "start",
        fill: inside ? "#fff" : isNum(it.value) ? "#1f2329" : "#86909c", "font-weight": 500 }, it.text));
    });
  }

  /** Horizontal stacked bars: items [{label, title, parts: [{value, color, title}], text, muted}], opts {legend, maxLabel}. */
  function stackedBarChart(container, items, opts) {
    opts = opts || {};
    if (!items.length) { empty(container); return; }
    const rowH = 30, top = opts.legend ? 32 : 6;
    const height = top + 6 + items.length * rowH;
    const { root, width } = svgRoot(container, height);
    if (opts.label) root.setAttribute("aria-label", opts.label);
    let lx = 0;
    (opts.legend || []).forEach((entry) => {
      const g = root.appendChild(svg("g", { class: "dashboard-legend" }));
      g.appendChild(svg("rect", { x: lx, y: 8, width: 12, height: 12, rx: 3, fill: entry.color }));
      g.appendChild(svg("text", { x: lx + 18, y: 18, fill: "#4e5969" }, entry.label));
      lx += 18 + textWidth(entry.label, 12) + 24;
    });
    const labels = items.map((it) => truncate(it.label, opts.maxLabel || 12));
    const labelW = Math.min(width * 0.3, Math.max.apply(null, labels.map((l) => textWidth(l, 12))) + 12);
    const barX = labelW + 8;
    // the value text goes after the bar: keep room for the longest one
    const textW = Math.min(width * 0.4, Math.max.apply(null, items.map((it) => textWidth(it.text, 12))) + 12);
    const barMax = Math.max(40, width - barX - textW - 4);
    const totals = items.map((it) => it.parts.reduce((sum, part) => sum + (isNum(part.value) ? part.value : 0), 0));
    const max = Math.max.apply(null, totals) || 1;
    items.forEach((it, i) => {
      const yMid = top + i * rowH + rowH / 2;
      const g = root.appendChild(svg("g", { class: "dashboard-bar dashboard-stack" }));
      if (it.key) g.setAttribute("data-key", it.key);
      g.appendChild(titled(svg("text", { x: labelW, y: yMid + 4, "text-anchor": "end", fill: "#4e5969" }, labels[i]),
        it.label + (it.title && it.title !== it.label ? "（" + it.title + "）" : "")));
      g.appendChild(svg("rect", { x: barX, y: yMid - 9, width: barMax, height: 18, rx: 4, fill: "#f2f3f5" }));
      let x = barX;
      it.parts.forEach((part) => {
        if (!isNum(part.value) || part.value <= 0) return;
        const w = Math.max(2, (part.value / max) * barMax);
        g.appendChild(titled(svg("rect", { x: x, y: yMid - 9, width: w, height: 18, fill: part.color, "data-part": part.key || "" }),
          it.label + " · " + part.title));
        x += w;
      });
      g.appendChild(svg("text", { x: x + 6, y: yMid + 4, "text-anchor": "start", fill: it.muted ? "#86909c" : "#1f2329",
        "font-weight": 500 }, it.text));
    });
  }

  /** Per self-service task: done, asked and other outcomes (turns) as one stacked bar, with the conversations. */
  function selfServiceChart(container, block) {
    const tasks = block.tasks || [];
    if (!tasks.some((t) => t.turns > 0)) { empty(container); return; }
    const names = block.outcome_labels || {};
    const label = (key) => names[key] || (SELF_SERVICE_PARTS.find((part) => part.key === key) || {}).label || key;
    const legend = SELF_SERVICE_PARTS.map((part) => ({
      label: part.key === "other" ? part.label : label(part.key), color: part.color,
    }));
    stackedBarChart(container, tasks.map((t) => {
      const outcomes = t.outcomes || {};
      const others = Object.keys(outcomes).filter((k) => k !== "done" && k !== "asked");
      const other = others.reduce((sum, k) => sum + outcomes[k], 0);
      const values = { done: outcomes.done || 0, asked: outcomes.asked || 0, other: other };
      const attributes = Object.keys(t.attributes || {}).map((k) =>
        ((block.attribute_labels || {})[k] || k) + " " + int(t.attributes[k])).join("、");
      return {
        key: t.task, label: t.label || t.task, title: t.task + (attributes ? "：" + attributes : ""), muted: !t.turns,
        text: t.turns
          ? "办结 " + int(values.done) + " / " + int(t.turns) + " 次 · " + int(t.conversations) + " 个会话，解决 " +
            int(t.deflected) + " 个"
          : "未使用",
        parts: SELF_SERVICE_PARTS.map((part) => ({
          key: part.key, value: values[part.key], color: part.color,
          title: part.key === "other"
            ? part.label + " " + int(other) + " 次（" + others.map((k) => label(k) + " " + int(outcomes[k])).join("、") + "）"
            : label(part.key) + " " + int(values[part.key]) + " 次",
        })),
      };
    }), { legend, maxLabel: 10, label: "自助服务各项的办理结果（按轮次）" });
  }

  function satisfactionChart(container, s) {
    const agents = s.agents || {}, bot = s.bot || {};
    const rated = (x) => (isNum(x.average) ? x.average.toFixed(1) + " 分 · " + int(x.count) + " 条评价" : "暂无评价");
    if (!(agents.by_agent || []).length && !agents.count && !bot.count && !isNum(bot.average)) { empty(container); return; }
    const items = (agents.by_agent || []).map((a) => ({ label: a.name, value: a.average, text: rated(a) }));
    items.push({ label: "人工客服总体", value: agents.average, text: rated(agents), color: "#722ed1" });
    items.push({ label: "机器人小云", value: bot.average, text: rated(bot), color: "#14c9c9" });
    barChart(container, items, { color: "#9a7bea", max: 5, maxLabel: 10 });
  }

  // ---- unanswered questions ------------------------------------------------------

  function renderGroups(groups) {
    const box = $("#dashboard-unanswered .dashboard-groups");
    clear(box);
    if (!groups.length) { box.appendChild(el("div", "dashboard-empty", "暂无数据")); return; }
    groups.forEach((g) => {
      const card = el("article", "dashboard-group");
      card.dataset.groupId = g.id;
      const head = el("div", "dashboard-group-head");
      head.appendChild(el("span", "dashboard-group-size", int(g.size) + " 条提问"));
      const ending = el("span", "dashboard-group-ending", "以" + (ENDINGS[g.ending] || g.ending) + "结束");
      ending.dataset.ending = g.ending;
      head.appendChild(ending);
      card.appendChild(head);
      const list = el("ul", "dashboard-group-examples");
      (g.examples || []).slice(0, 5).forEach((text) => list.appendChild(el("li", "", text)));
      card.appendChild(list);
      if (g.agent_reply) {
        const reply = el("div", "dashboard-group-reply");
        reply.appendChild(el("span", "dashboard-group-reply-label", "客服回复"));
        reply.appendChild(el("p", "", g.agent_reply));
        card.appendChild(reply);
      } else {
        card.appendChild(el("p", "dashboard-group-noreply", "没有客服回复，草稿中的答案需要补写"));
      }
      const button = el("button", "dashboard-btn dashboard-draft", "起草知识库条目");
      button.type = "button";
      button.addEventListener("click", () => openDraft(g));
      card.appendChild(button);
      box.appendChild(card);
    });
  }

  function openDraft(group) {
    const dialog = $("#dashboard-draft-dialog");
    state.draftId = String(group.id || "entry").replace(/[^A-Za-z0-9_-]/g, "_");
    $("#dashboard-draft-text").value = group.draft || "";
    $("#dashboard-draft-status").textContent = "";
    if (typeof dialog.showModal === "function") dialog.showModal(); else dialog.setAttribute("open", "");
    $("#dashboard-draft-text").focus();
  }

  async function copyDraft() {
    const area = $("#dashboard-draft-text"), status = $("#dashboard-draft-status");
    let ok = false;
    try {
      if (navigator.clipboard && window.isSecureContext) { await navigator.clipboard.writeText(area.value); ok = true; }
    } catch (e) { ok = false; }
    if (!ok) {
      area.focus();
      area.select();
      try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    }
    status.textContent = ok ? "已复制" : "复制失败，请手动选中复制";
  }

  function downloadDraft() {
    const blob = new Blob([$("#dashboard-draft-text").value], { type: "text/yaml;charset=utf-8" });
    const url = URL.createObjectURL(blob);
    const link = el("a");
    link.href = url;
    link.download = "kb-draft-" + state.draftId + ".yml";
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
    $("#dashboard-draft-status").textContent = "已下载 " + link.download;
  }

  function closeDraft() {
    const dialog = $("#dashboard-draft-dialog");
    if (typeof dialog.close === "function") dialog.close(); else dialog.removeAttribute("open");
  }

  // ---- wiring ----------------------------------------------------------------------

  function init() {
    $("#dashboard-from").value = localDate(-6);
    $("#dashboard-to").value = localDate(0);
    updateExport();
    $("#dashboard-login").addEventListener("submit", login);
    $("#dashboard-toolbar").addEventListener("submit", (e) => { e.preventDefault(); refresh(); });
    ["#dashboard-from", "#dashboard-to"].forEach((s) => $(s).addEventListener("change", updateExport));
    $("#dashboard-logout").addEventListener("click", logout);
    $("#dashboard-draft-copy").addEventListener("click", copyDraft);
    $("#dashboard-draft-download").addEventListener("click", downloadDraft);
    $("#dashboard-draft-close").addEventListener("click", (e) => { e.preventDefault(); closeDraft(); });
    window.addEventListener("resize", () => {
      clearTimeout(state.resizeTimer);
      state.resizeTimer = setTimeout(() => { if (state.data && !$("#dashboard-main").hidden) renderCharts(); }, 150);
    });
    start();
  }

  window.Dashboard = { refresh };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init); else init();
})();
