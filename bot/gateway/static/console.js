/*
 * 云朵优品 agent console (served at /console). Plain JS, no build step, no external resources.
 * API: docs/console-api.md. Auth: HttpOnly cookie from the login, plus the token as Authorization: Bearer
 * (never in a URL). The socket closes with code 4001 when the session ends (logout elsewhere, a new password,
 * the account disabled).
 * Security rule: text from the server is only ever inserted with textContent / createTextNode.
 */
(function () {
  "use strict";

  const API = "/console/api";
  const REASONS = {
    request_human: "客户要求转人工", repeated_failure: "机器人多次未能解答", complaint: "投诉/情绪激动",
    sensitive_topic: "敏感问题", vip_tier: "VIP 客户", bot_unavailable: "机器人不可用", left_message: "留言",
    order_issue: "订单问题",
  };
  const STATUSES = { waiting: "排队中", assigned: "处理中", resolved: "已结束", abandoned: "客户已取消" };
  const ROLES = { agent: "客服", supervisor: "主管" };
  const PING_MS = 25000;
  const MAX_BACKOFF_S = 15;
  const KB_DEBOUNCE_MS = 250;

  const state = {
    token: null, me: null, waiting: [], mine: [], agentsOnline: 0, online: false,
    ticket: null, // the open Ticket
    seen: new Set(), // message ids shown in the open transcript
    unread: new Set(), // ticket ids with unread messages
    drafts: new Map(), // ticket id -> unsent reply text
    skew: 0, // ms the local clock is ahead of the server
  };
  let socket = null, socketWanted = false, retry = 0, retryTimer = null, pingTimer = null, tickTimer = null;
  let openSeq = 0, kbTimer = null, kbSeq = 0, composing = false, taking = false;

  const $ = (sel) => document.querySelector(sel);
  const id = (v) => (v === null || v === undefined ? "" : String(v));

  /** A link that opens in a new tab; callers only pass http(s) URLs. */
  const link = (cls, text, href) => Object.assign(el("a", cls, text), { href, target: "_blank", rel: "noopener", title: href });

  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  const clear = (node) => { while (node.firstChild) node.removeChild(node.firstChild); };

  // ---- API ---------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, data) { super("HTTP " + status); this.status = status; this.data = data || {}; }
  }

  async function api(method, path, body, opts) {
    const headers = { Accept: "application/json" };
    if (state.token) headers.Authorization = "Bearer " + state.token;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(API + path, {
      method, headers, credentials: "same-origin", cache: "no-store",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    let data = null;
    if (response.status !== 204) data = await response.json().catch(() => null);
    if (response.status === 401 && !(opts && opts.allow401)) sessionExpired();
    if (!response.ok) throw new ApiError(response.status, data);
    return data;
  }

  // ---- helpers -------------------------------------------------------------

  function fmtDuration(total) {
    const s = Math.max(0, Math.floor(total));
    if (s < 60) return s + " 秒";
    if (s < 3600) return Math.floor(s / 60) + " 分 " + (s % 60) + " 秒";
    return Math.floor(s / 3600) + " 小时 " + Math.floor((s % 3600) / 60) + " 分";
  }

  function fmtClock(iso) {
    const d = new Date(iso);
    return isNaN(d.getTime()) ? "" : String(d.getHours()).padStart(2, "0") + ":" + String(d.getMinutes()).padStart(2, "0");
  }

  function fmtDay(iso) { // 12月5日 14:30, for order times that are days apart
    const d = new Date(iso);
    return isNaN(d.getTime()) ? "" : (d.getMonth() + 1) + "月" + d.getDate() + "日 " + fmtClock(iso);
  }

  const reasonText = (reason) => REASONS[reason] || reason || "";
  const tierText = (tier) => (!tier ? "" : /^s?vip\d*$/i.test(tier) ? String(tier).toUpperCase() : String(tier));

  const customerText = (t) => "客户 " + (t.customer_id || "匿名") + (t.tier ? " · " + tierText(t.tier) : "");

  function priorityBadge(priority) {
    const p = Number(priority) || 0;
    const level = p >= 20 ? ["high", "高"] : p >= 10 ? ["medium", "中"] : ["normal", "普通"];
    return Object.assign(el("span", "console-priority console-priority-" + level[0], level[1]), { title: "优先级 " + p });
  }

  /** A waiting-time label; live (ticks every second) while the ticket waits, else the recorded wait. */
  function waitLabel(t, live) {
    const span = el("span", "console-wait");
    const since = Date.parse(t.created_at);
    if (live && !isNaN(since)) {
      span.dataset.since = String(since);
      span.textContent = "已等待 " + fmtDuration((Date.now() - since - state.skew) / 1000);
    } else if (typeof t.waited_seconds === "number") {
      span.textContent = "等待了 " + fmtDuration(t.waited_seconds);
    }
    return span;
  }

  function tick() {
    const now = Date.now();
    document.querySelectorAll("[data-since]").forEach((node) => {
      node.textContent = "已等待 " + fmtDuration((now - Number(node.dataset.since) - state.skew) / 1000);
    });
  }

  function learnSkew(list) {
    const t = (list || []).find((x) => x.status === "waiting" && typeof x.waited_seconds === "number" && x.created_at);
    if (!t) return;
    const since = Date.parse(t.created_at);
    if (!isNaN(since)) state.skew = Date.now() - since - t.waited_seconds * 1000;
  }

  const isMine = (t) => !!t && t.status === "assigned" && !!state.me && (t.agent == null || t.agent === state.me.name);

  function toast(text, kind) {
    const box = $("#console-toasts");
    while (box.children.length >= 4) box.removeChild(box.firstChild);
    const node = box.appendChild(el("div", "console-toast" + (kind ? " console-toast-" + kind : ""), text));
    setTimeout(() => node.remove(), 4000);
  }

  // ---- login / logout --------------------------------------------------------

  function showLogin(message) {
    $("#console-main").hidden = true;
    $("#console-login-screen").hidden = false;
    const err = $("#console-login .console-error");
    err.textContent = message || "";
    err.hidden = !message;
    const form = $("#console-login");
    form.querySelector("button[type=submit]").disabled = false;
    (form.username.value ? form.password : form.username).focus();
  }

  function enterMain(agent) {
    state.me = agent;
    $("#console-agent-name").textContent = agent.name || agent.username || "";
    $("#console-agent-role").textContent = ROLES[agent.role] || agent.role || "";
    $("#console-main").dataset.role = agent.role || "agent";
    $("#console-login-screen").hidden = true;
    $("#console-main").hidden = false;
    $("#console-login").password.value = "";
    setOnline(false);
    if (!tickTimer) tickTimer = setInterval(tick, 1000);
    loadQueue();
    connectSocket();
  }

  function resetState() {
    stopSocket();
    Object.assign(state, { token: null, me: null, waiting: [], mine: [] });
    state.unread.clear();
    state.drafts.clear();
    closeTicketView();
    renderQueue();
    renderMine();
  }

  function sessionExpired() {
    if (!state.me) return;
    resetState();
    showLogin("登录已过期，请重新登录");
  }

  async function onLoginSubmit(event) {
    event.preventDefault();
    const form = event.currentTarget;
    const err = form.querySelector(".console-error");
    const button = form.querySelector("button[type=submit]");
    const username = form.username.value.trim();
    const password = form.password.value;
    err.hidden = !!(username && password);
    err.textContent = "请输入用户名和密码";
    if (!err.hidden) return;
    button.disabled = true;
    try {
      const data = await api("POST", "/login", { username, password }, { allow401: true });
      state.token = data.token || null;
      enterMain(data.agent);
    } catch (e) {
      // the server's own words for a lockout (登录尝试过多，请 N 分钟后再试) or a disabled account
      err.textContent = e.status === 401 ? "用户名或密码错误"
        : (e.status === 429 || e.status === 403) && e.data && e.data.message ? e.data.message
        : e.status === 429 ? "尝试次数过多，请稍后再试" : "登录失败，请检查网络后重试";
      err.hidden = false;
      form.password.value = "";
      form.password.focus();
    } finally { button.disabled = false; }
  }

  function openPasswordDialog() {
    const dialog = $("#console-password-dialog");
    const form = $("#console-password-form");
    form.reset();
    form.querySelector(".console-error").hidden = true;
    if (typeof dialog.showModal === "function") dialog.showModal(); else dialog.setAttribute("open", "");
    form.old_password.focus();
  }

  function closePasswordDialog() {
    const dialog = $("#console-password-dialog");
    if (typeof dialog.close === "function") dialog.close(); else dialog.removeAttribute("open");
  }

  async function onPasswordSubmit(event) {
    event.preventDefault();
    const form = event.currentTarget;
    const err = form.querySelector(".console-error");
    const body = { old_password: form.old_password.value, new_password: form.new_password.value };
    if (body.new_password.length < 8) { err.textContent = "新密码至少 8 个字符"; err.hidden = false; return; }
    try {
      state.passwordChange = api("POST", "/password", body, { allow401: true });
      const data = await state.passwordChange;
      state.token = data.token || null;
      closePasswordDialog();
      toast("密码已修改，其他设备上的登录已退出");
    } catch (e) {
      err.textContent = e.data && e.data.message ? e.data.message : "修改失败，请稍后重试";
      err.hidden = false;
    } finally {
      state.passwordChange = null;
    }
  }

  async function logout() {
    try { await api("POST", "/logout", undefined, { allow401: true }); } catch (e) { /* leave anyway */ }
    resetState();
    showLogin("");
  }

  // ---- queue and my tickets ------------------------------------------------------

  async function loadQueue() {
    try { applyQueue(await api("GET", "/queue")); } catch (e) { /* the socket's first frame brings it too */ }
  }

  function applyQueue(frame) {
    state.waiting = Array.isArray(frame.waiting) ? frame.waiting : [];
    state.mine = Array.isArray(frame.mine) ? frame.mine : [];
    state.agentsOnline = Number(frame.agents_online) || 0;
    learnSkew(state.waiting);
    renderQueue();
    renderMine();
  }

  function renderQueue() {
    const list = $("#console-queue");
    clear(list);
    const supervisor = state.me && state.me.role === "supervisor";
    state.waiting.forEach((t) => {
      const li = el("li", "console-queue-item");
      li.dataset.ticketId = id(t.id);
      const top = el("div", "console-item-row");
      top.append(priorityBadge(t.priority), el("span", "console-reason", reasonText(t.reason)), waitLabel(t, true));
      li.append(top, el("div", "console-customer", customerText(t)));
      if (t.preview) li.appendChild(el("p", "console-preview", t.preview));
      if (supervisor) Object.assign(li, { className: li.className + " console-clickable", tabIndex: 0, title: "查看会话（只读）" });
      list.appendChild(li);
    });
    $("#console-queue-empty").hidden = state.waiting.length > 0;
    $("#console-queue-count").textContent = "排队 " + state.waiting.length + " 人 · 在线客服 " + state.agentsOnline + " 人";
  }

  function renderMine() {
    const list = $("#console-mine");
    clear(list);
    const openId = state.ticket ? id(state.ticket.id) : "";
    state.mine.forEach((t) => {
      const li = el("li", "console-mine-item console-clickable");
      li.dataset.ticketId = id(t.id);
      li.tabIndex = 0;
      if (id(t.id) === openId) li.classList.add("console-active");
      const top = el("div", "console-item-row");
      top.appendChild(el("span", "console-customer", customerText(t)));
      if (t.kind === "message") top.appendChild(el("span", "console-tag", "留言"));
      if (state.unread.has(id(t.id))) top.appendChild(Object.assign(el("span", "console-unread"), { title: "有新消息" }));
      li.append(top, el("div", "console-reason", reasonText(t.reason)));
      if (t.preview) li.appendChild(el("p", "console-preview", t.preview));
      list.appendChild(li);
    });
    $("#console-mine-empty").hidden = state.mine.length > 0;
  }

  function upsertMine(summary) {
    const i = state.mine.findIndex((t) => id(t.id) === id(summary.id));
    if (i >= 0) state.mine[i] = Object.assign({}, state.mine[i], summary);
    else state.mine.unshift(summary);
    return i < 0;
  }

  function removeMine(ticketId) {
    const before = state.mine.length;
    state.mine = state.mine.filter((t) => id(t.id) !== id(ticketId));
    state.unread.delete(id(ticketId));
    return state.mine.length !== before;
  }

  async function takeNext() {
    const button = $("#console-take-next");
    button.disabled = taking = true;
    try {
      const ticket = await api("POST", "/tickets/next");
      state.waiting = state.waiting.filter((t) => id(t.id) !== id(ticket.id));
      upsertMine(summaryOf(ticket));
      renderQueue();
      showTicket(ticket);
    } catch (e) {
      if (e.status === 404) toast("队列中没有等待的客户");
      else if (e.status !== 401) toast("接入失败，请稍后重试", "error");
    } finally { button.disabled = taking = false; }
  }

  const summaryOf = (ticket) => Object.assign({}, ticket, { transcript: undefined });

  // ---- the open ticket ---------------------------------------------------------

  async function openTicket(ticketId) {
    const seq = ++openSeq;
    try {
      const ticket = await api("GET", "/tickets/" + encodeURIComponent(ticketId));
      if (seq === openSeq) showTicket(ticket);
    } catch (e) {
      if (seq !== openSeq) return;
      if (e.status === 403) toast("这不是你的会话", "error");
      else if (e.status === 404) toast("会话不存在", "error");
      else if (e.status !== 401) toast("打开会话失败，请重试", "error");
    }
  }

  function saveDraft() {
    if (!state.ticket) return;
    const text = $("#console-reply").value;
    if (text) state.drafts.set(id(state.ticket.id), text);
    else state.drafts.delete(id(state.ticket.id));
  }

  function showTicket(ticket) {
    const same = state.ticket && id(state.ticket.id) === id(ticket.id);
    if (!same) {
      saveDraft();
      hideForms();
      $("#console-reply").value = state.drafts.get(id(ticket.id)) || "";
    }
    openSeq++; // a slower pending open must not replace this one
    state.ticket = ticket;
    state.seen = new Set();
    state.unread.delete(id(ticket.id));
    $("#console-ticket").dataset.ticketId = id(ticket.id);
    $("#console-ticket-placeholder").hidden = true;
    $("#console-ticket-body").hidden = false;
    renderHeader();
    const box = $("#console-transcript");
    clear(box);
    (ticket.transcript || []).forEach((m) => appendMessage(m, false));
    box.scrollTop = box.scrollHeight;
    renderClosed();
    renderMine();
    if (!same) loadOrders(ticket.id);
    if (!same && isMine(ticket)) $("#console-reply").focus();
  }

  // ---- the customer's orders (beside the transcript) ----------------------

  let ordersSeq = 0;

  async function loadOrders(ticketId) {
    const seq = ++ordersSeq;
    const panel = $("#console-orders");
    try {
      const data = await api("GET", "/tickets/" + encodeURIComponent(ticketId) + "/orders");
      if (seq === ordersSeq) renderOrders(data);
    } catch (e) {
      if (seq === ordersSeq) panel.hidden = true;
    }
  }

  function orderCard(o, focus, verified) {
    const card = el("article", "console-order" + (focus ? " console-order-focus" : ""));
    card.dataset.orderNumber = o.order_number;
    const head = el("div", "console-item-row");
    head.append(el("strong", "console-order-number", o.order_number),
      el("span", "console-status console-order-status-" + o.status, o.status_text));
    if (focus) head.append(el("span", "console-order-tag", "本次咨询"));
    if (focus && !verified) head.append(el("span", "console-order-tag console-order-unverified", "客户身份未验证"));
    card.append(head, el("div", "console-order-summary", o.summary + " · ¥" + o.total));
    if (o.shipment) {
      const s = o.shipment;
      card.append(el("div", "console-order-line", s.carrier + " " + s.tracking_number));
      if (s.latest) card.append(el("div", "console-order-line", fmtDay(s.latest.at) + " " + s.latest.description));
      if (s.expected_delivery && !o.delivered_at) {
        card.append(el("div", "console-order-line console-muted", "预计送达 " + fmtDay(s.expected_delivery)));
      }
    } else if (o.promised_dispatch_by && o.status === "awaiting_shipment") {
      card.append(el("div", "console-order-line", "承诺发货 " + fmtDay(o.promised_dispatch_by)));
    }
    (o.after_sales || []).forEach((a) => card.append(el("div", "console-order-line", "售后 " + a.id + " " + a.kind + "（" + a.status + "）")));
    if (focus) {
      const r = o.receiver;
      card.append(el("div", "console-order-line console-muted", r.name + " " + r.phone + " " + r.address));
    }
    return card;
  }

  function renderOrders(data) {
    const panel = $("#console-orders");
    const list = $("#console-orders-list");
    clear(list);
    $("#console-orders-who").textContent = data.verified ? "已验证客户 " + data.customer_id : "匿名客户";
    if (data.unavailable) list.append(el("p", "console-empty", "订单系统暂时无法访问"));
    const focus = data.in_question;
    if (focus) list.append(orderCard(focus, true, focus.owner_verified));
    (data.orders || []).filter((o) => !focus || o.order_number !== focus.order_number)
      .forEach((o) => list.append(orderCard(o, false, true)));
    if (!list.childNodes.length) list.append(el("p", "console-empty", data.verified ? "暂无订单" : "客户未登录，未提到订单号"));
    panel.hidden = false;
  }

  function closeTicketView() {
    openSeq++;
    saveDraft();
    state.ticket = null;
    state.seen = new Set();
    hideForms();
    $("#console-reply").value = "";
    $("#console-ticket").dataset.ticketId = "";
    $("#console-ticket-placeholder").hidden = false;
    $("#console-ticket-body").hidden = true;
    clear($("#console-transcript"));
    clear($("#console-ticket-header"));
    ordersSeq++;
    $("#console-orders").hidden = true;
  }

  function renderHeader() {
    const t = state.ticket;
    const head = $("#console-ticket-header");
    clear(head);
    const row1 = el("div", "console-item-row console-ticket-title");
    row1.append(el("strong", "console-ticket-customer", t.customer_id || "匿名客户"));
    if (t.tier) row1.append(el("span", "console-tier", tierText(t.tier)));
    row1.append(el("span", "console-status console-status-" + (t.status || ""), STATUSES[t.status] || t.status || ""));
    if (t.priority !== undefined) row1.append(priorityBadge(t.priority));
    const row2 = el("div", "console-item-row");
    const reason = el("span", "console-reason", reasonText(t.reason) + (t.reason_detail ? "：" + t.reason_detail : ""));
    row2.append(reason, waitLabel(t, t.status === "waiting"));
    if (t.agent && (!state.me || t.agent !== state.me.name)) row2.append(el("span", "console-muted", "处理人：" + t.agent));
    head.append(row1, row2);

    const meta = Object.assign({}, t.shop_metadata || {});
    const row3 = el("div", "console-item-row console-meta");
    if (meta.page_url) {
      const url = String(meta.page_url);
      const item = el("span", "console-meta-item", "页面：");
      if (/^https?:\/\//i.test(url)) item.appendChild(link("console-page-link", meta.page_title || url, url));
      else item.appendChild(document.createTextNode(url));
      row3.appendChild(item);
    }
    if (meta.order_number) row3.appendChild(el("span", "console-meta-item", "订单号：" + meta.order_number));
    if (meta.name) row3.appendChild(el("span", "console-meta-item", "称呼：" + meta.name));
    if (t.contact_phone) row3.appendChild(el("span", "console-meta-item", "联系电话：" + t.contact_phone));
    if (row3.childNodes.length) head.appendChild(row3);
  }

  function readingText(r) {
    if (!r) return "";
    const parts = [];
    if (r.intent) {
      const c = r.confidence === null || r.confidence === undefined ? NaN : Number(r.confidence);
      parts.push("识别：" + r.intent + (isNaN(c) ? "" : " " + Math.round(c <= 1 ? c * 100 : c) + "%"));
    }
    const ents = (r.entities || []).filter((e) => e && e.entity)
      .map((e) => e.entity + "=" + (e.value === undefined || e.value === null ? "" : e.value));
    if (ents.length) parts.push("实体：" + ents.join(", "));
    const kb = (r.kb_shown || []).filter(Boolean);
    if (kb.length) parts.push("知识库：" + kb.join(", "));
    return parts.join(" · ");
  }

  function messageNode(m) {
    const sender = m.sender || "system";
    const node = el("div", "console-msg console-msg-" + sender);
    node.dataset.sender = sender;
    node.dataset.messageId = id(m.id);
    if (m.seq !== undefined && m.seq !== null) node.dataset.seq = String(m.seq);
    if (sender !== "system") {
      const label = sender === "customer" ? "客户" : sender === "bot" ? "机器人" : (m.agent && m.agent.name) || "客服";
      const meta = el("div", "console-msg-label", label);
      const time = fmtClock(m.created_at);
      if (time) meta.appendChild(el("span", "console-msg-time", time));
      node.appendChild(meta);
    }
    node.appendChild(el("div", "console-bubble", m.text || ""));
    if (m.image && /^https?:\/\//i.test(String(m.image))) node.appendChild(link("console-msg-image", "[图片]", String(m.image)));
    if (Array.isArray(m.buttons) && m.buttons.length) {
      const row = el("div", "console-msg-buttons");
      m.buttons.forEach((b) => row.appendChild(el("span", "console-msg-button", (b && (b.title || b.payload)) || "")));
      node.appendChild(row);
    }
    const reading = sender === "customer" ? readingText(m.reading) : "";
    if (reading) node.appendChild(el("div", "console-reading", reading));
    return node;
  }

  function appendMessage(m, live) {
    if (!m) return;
    const key = id(m.id);
    if (key && state.seen.has(key)) return;
    if (key) state.seen.add(key);
    const box = $("#console-transcript");
    const nearBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 80;
    const node = messageNode(m);
    const seq = Number(m.seq);
    const before = isNaN(seq) ? null
      : Array.from(box.children).find((c) => c.dataset.seq !== undefined && Number(c.dataset.seq) > seq) || null;
    box.insertBefore(node, before);
    if (live && state.ticket) {
      state.ticket.transcript = (state.ticket.transcript || []).concat([m]);
      if (!before && (nearBottom || m.sender === "agent")) box.scrollTop = box.scrollHeight;
    }
  }

  function renderClosed() {
    const t = state.ticket;
    const banner = $("#console-closed");
    const compose = $("#console-compose");
    const mine = isMine(t);
    $("#console-ticket").classList.toggle("console-ticket-closed", !mine);
    compose.hidden = !mine;
    if (!mine) hideForms();
    clear(banner);
    if (mine) { banner.hidden = true; return; }
    const text = { resolved: "会话已结束", abandoned: "会话已被客户取消", waiting: "会话在排队中（只读）" }[t.status];
    banner.appendChild(el("strong", null, text || "会话由 " + (t.agent || "其他客服") + " 处理（只读）"));
    if (t.resolution_note) banner.appendChild(el("div", "console-muted", "备注：" + t.resolution_note));
    if (t.rating != null) banner.appendChild(el("div", "console-muted", "客户评分：" + t.rating + (t.rating_comment ? "（" + t.rating_comment + "）" : "")));
    banner.hidden = false;
  }

  function ticketGone(e) {
    // 403/409 from an action: the ticket is no longer ours or is closed; show its current state.
    if (e.status === 409) toast("会话已结束", "error");
    else if (e.status === 403) toast("这不是你的会话", "error");
    if (state.ticket) openTicket(state.ticket.id);
  }

  async function sendReply() {
    const t = state.ticket;
    const box = $("#console-reply");
    const button = $("#console-send");
    const text = box.value.trim();
    if (!t || !text || button.disabled || !isMine(t)) return;
    button.disabled = true;
    try {
      const message = await api("POST", "/tickets/" + encodeURIComponent(t.id) + "/messages", { text });
      if (state.ticket && id(state.ticket.id) === id(t.id)) {
        appendMessage(message, true);
        if (box.value.trim() === text) box.value = "";
        state.drafts.delete(id(t.id));
      }
    } catch (e) {
      if (e.status === 403 || e.status === 409) ticketGone(e);
      else if (e.status === 413) toast("消息太长，请分段发送", "error");
      else if (e.status !== 401) toast("发送失败，请重试", "error");
    } finally {
      button.disabled = false;
      box.focus();
    }
  }

  function onReplyKeydown(event) {
    if (event.key !== "Enter" || event.shiftKey) return;
    if (event.isComposing || composing || event.keyCode === 229) return;
    event.preventDefault();
    sendReply();
  }

  const hideForms = () => { $("#console-transfer-form").hidden = true; $("#console-resolve-form").hidden = true; };

  function toggleForm(which) {
    const form = $(which);
    const show = form.hidden;
    hideForms();
    form.hidden = !show;
    if (show) form.querySelector("input, textarea").focus();
  }

  async function submitTransfer(event) {
    event.preventDefault();
    const t = state.ticket;
    const input = $("#console-transfer-to");
    const to = input.value.trim();
    if (!t || !to) { input.focus(); return; }
    const button = $("#console-transfer-confirm");
    button.disabled = true;
    try {
      const ticket = await api("POST", "/tickets/" + encodeURIComponent(t.id) + "/transfer", { to });
      input.value = "";
      hideForms();
      toast("已转接给 " + (ticket.agent || to));
      if (!isMine(ticket)) removeMine(ticket.id);
      else upsertMine(summaryOf(ticket));
      state.drafts.delete(id(t.id));
      if (state.ticket && id(state.ticket.id) === id(t.id)) {
        if (!ticket.transcript) ticket.transcript = state.ticket.transcript;
        showTicket(ticket);
      } else {
        renderMine();
      }
    } catch (e) {
      if (e.status === 404) toast("没有这个客服账号：" + to, "error");
      else if (e.status === 403 || e.status === 409) ticketGone(e);
      else if (e.status !== 401) toast("转接失败，请重试", "error");
    } finally { button.disabled = false; }
  }

  async function submitResolve(event) {
    event.preventDefault();
    const t = state.ticket;
    if (!t) return;
    const note = $("#console-resolve-note").value.trim();
    const button = $("#console-resolve-confirm");
    button.disabled = true;
    try {
      const ticket = await api("POST", "/tickets/" + encodeURIComponent(t.id) + "/resolve", { note });
      $("#console-resolve-note").value = "";
      hideForms();
      removeMine(t.id);
      state.drafts.delete(id(t.id));
      if (state.ticket && id(state.ticket.id) === id(t.id)) {
        if (!ticket.transcript) ticket.transcript = state.ticket.transcript;
        $("#console-reply").value = "";
        showTicket(ticket);
      }
      renderMine();
      toast("会话已结束");
    } catch (e) {
      if (e.status === 403 || e.status === 409) ticketGone(e);
      else if (e.status !== 401) toast("操作失败，请重试", "error");
    } finally { button.disabled = false; }
  }

  // ---- knowledge base ---------------------------------------------------------------

  function onKbInput() {
    clearTimeout(kbTimer);
    kbTimer = setTimeout(searchKb, KB_DEBOUNCE_MS);
  }

  async function searchKb() {
    const q = $("#console-kb-search").value.trim();
    const seq = ++kbSeq;
    if (!q) { renderKb([], "输入关键词搜索知识库"); return; }
    try {
      const data = await api("GET", "/knowledge?q=" + encodeURIComponent(q));
      if (seq === kbSeq) renderKb((data && data.results) || [], "没有找到相关答案");
    } catch (e) {
      if (seq === kbSeq && e.status !== 401) renderKb([], "搜索失败，请重试");
    }
  }

  function renderKb(results, emptyText) {
    const list = $("#console-kb-results");
    clear(list);
    results.forEach((r) => {
      const li = el("li", "console-kb-item");
      if (r.key) li.dataset.key = String(r.key);
      const answer = String(r.answer || "");
      const button = Object.assign(el("button", "console-kb-insert console-btn", "插入"), { type: "button" });
      button.addEventListener("click", () => insertAnswer(answer));
      li.append(el("div", "console-kb-question", r.question || r.key || ""),
        el("div", "console-kb-answer", answer.split("\n").slice(0, 3).join("\n")), button);
      list.appendChild(li);
    });
    const hint = $("#console-kb-empty");
    hint.textContent = emptyText;
    hint.hidden = results.length > 0;
  }

  function insertAnswer(answer) {
    const box = $("#console-reply");
    const current = box.value;
    box.value = current && !/\n$/.test(current) ? current + "\n" + answer : current + answer;
    if (!$("#console-compose").hidden) {
      box.focus();
      box.setSelectionRange(box.value.length, box.value.length);
      box.scrollTop = box.scrollHeight;
    }
  }

  // ---- live updates (WebSocket) -------------------------------------------------------

  function setOnline(on) {
    state.online = on;
    const node = $("#console-online");
    node.dataset.online = on ? "true" : "false";
    node.querySelector(".console-online-text").textContent = on ? "在线" : "离线，正在重连…";
  }

  function connectSocket() {
    socketWanted = true;
    clearTimeout(retryTimer);
    const url = (location.protocol === "https:" ? "wss:" : "ws:") + "//" + location.host + "/console/socket";
    let opened = false;
    let ws;
    try { ws = new WebSocket(url); } catch (e) { scheduleReconnect(); return; }
    socket = ws;
    ws.onopen = () => {
      if (socket !== ws) return;
      opened = true;
      const reconnect = retry > 0;
      retry = 0;
      setOnline(true);
      clearInterval(pingTimer);
      pingTimer = setInterval(() => ws.readyState === WebSocket.OPEN && ws.send('{"type":"ping"}'), PING_MS);
      // Catch up on anything missed while offline.
      if (reconnect && state.ticket) openTicket(state.ticket.id);
    };
    ws.onmessage = (event) => {
      if (socket !== ws) return;
      let frame;
      try { frame = JSON.parse(event.data); } catch (e) { return; }
      if (frame && typeof frame === "object") handleFrame(frame);
    };
    ws.onclose = (event) => {
      if (socket !== ws) return;
      socket = null;
      clearInterval(pingTimer);
      setOnline(false);
      if (!socketWanted) return;
      // the handshake failed, or the server ended the session (4001): a 401 here shows the login form;
      // after this browser's own password change the new cookie reconnects
      // (after this browser's own password change, once its new token is in)
      if (!opened || event.code === 4001) {
        (state.passwordChange || Promise.resolve()).catch(() => {}).then(() => api("GET", "/me")).catch(() => {});
      }
      scheduleReconnect();
    };
  }

  function scheduleReconnect() {
    if (!socketWanted) return;
    const delay = Math.min(MAX_BACKOFF_S, Math.pow(2, retry)) * 1000;
    retry += 1;
    clearTimeout(retryTimer);
    retryTimer = setTimeout(() => { if (socketWanted) connectSocket(); }, delay);
  }

  function stopSocket() {
    socketWanted = false;
    clearTimeout(retryTimer);
    clearInterval(pingTimer);
    retry = 0;
    const ws = socket;
    socket = null;
    if (ws) ws.close(1000);
    setOnline(false);
  }

  function handleFrame(frame) {
    if (frame.type === "queue") applyQueue(frame);
    else if (frame.type === "message") onMessageFrame(frame);
    else if (frame.type === "ticket" && frame.ticket) onTicketFrame(frame.ticket);
  }

  function onMessageFrame(frame) {
    const m = frame.message;
    const ticketId = id(frame.ticket_id);
    if (!m || !ticketId) return;
    const summary = state.mine.find((t) => id(t.id) === ticketId);
    if (summary && m.sender === "customer") summary.preview = m.text;
    if (state.ticket && id(state.ticket.id) === ticketId) appendMessage(m, true);
    else if (m.sender !== "agent") state.unread.add(ticketId);
    renderMine();
  }

  function onTicketFrame(summary) {
    const key = id(summary.id);
    const wasMine = state.mine.some((t) => id(t.id) === key);
    const isOpen = state.ticket && id(state.ticket.id) === key;
    if (isMine(summary)) {
      if (upsertMine(summary) && !taking) toast("有会话转接给你：" + customerText(summary));
    } else {
      removeMine(key);
      if (wasMine || isOpen) {
        if (summary.status === "abandoned") toast("会话已被客户取消");
        else if (summary.status === "waiting") toast("会话已转回队列");
        else if (summary.status === "assigned" && summary.agent) toast("会话已转接给 " + summary.agent);
      }
    }
    if (isOpen) { Object.assign(state.ticket, summary); renderHeader(); renderClosed(); }
    renderMine();
  }

  // ---- wiring ------------------------------------------------------------------------

  function onListActivate(event, selector) {
    if (event.type === "keydown" && event.key !== "Enter" && event.key !== " ") return;
    const item = event.target.closest(selector);
    if (!item || !item.dataset.ticketId) return;
    if (event.type === "keydown") event.preventDefault();
    openTicket(item.dataset.ticketId);
  }

  function bind() {
    $("#console-login").addEventListener("submit", onLoginSubmit);
    $(".console-logout").addEventListener("click", logout);
    $("#console-password-open").addEventListener("click", openPasswordDialog);
    $("#console-password-cancel").addEventListener("click", closePasswordDialog);
    $("#console-password-form").addEventListener("submit", onPasswordSubmit);
    $("#console-take-next").addEventListener("click", takeNext);
    ["click", "keydown"].forEach((type) => {
      $("#console-mine").addEventListener(type, (e) => onListActivate(e, ".console-mine-item"));
      $("#console-queue").addEventListener(type, (e) => {
        if (state.me && state.me.role === "supervisor") onListActivate(e, ".console-queue-item");
      });
    });
    const reply = $("#console-reply");
    reply.addEventListener("keydown", onReplyKeydown);
    reply.addEventListener("compositionstart", () => { composing = true; });
    reply.addEventListener("compositionend", () => { setTimeout(() => { composing = false; }, 0); });
    $("#console-send").addEventListener("click", sendReply);
    $("#console-transfer").addEventListener("click", () => toggleForm("#console-transfer-form"));
    $("#console-resolve").addEventListener("click", () => toggleForm("#console-resolve-form"));
    $("#console-transfer-form").addEventListener("submit", submitTransfer);
    $("#console-resolve-form").addEventListener("submit", submitResolve);
    document.querySelectorAll(".console-form-cancel").forEach((b) => b.addEventListener("click", hideForms));
    $("#console-kb-search").addEventListener("input", onKbInput);
  }

  async function init() {
    bind();
    try { enterMain(await api("GET", "/me", undefined, { allow401: true })); } catch (e) {
      showLogin(e.status ? "" : "无法连接服务器，请检查网络后重试");
    }
  }

  window.Console = { state };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
