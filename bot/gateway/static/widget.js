/*
 * 云朵优品 customer chat widget (小云). Plain ES2017, no dependencies, no build step.
 * Wire protocol: docs/chat-protocol.md. Embed with one <script src=".../static/widget.js" data-...> tag.
 * Security rule: message content is only ever inserted with textContent / createTextNode.
 */
(function () {
  "use strict";
  // Loaded twice (two tags, SPA re-render): keep the first instance.
  if (window.ShopChat || document.getElementById("shopchat-root")) return;

  // ---- configuration -------------------------------------------------------
  const script = document.currentScript || (function () {
    const tags = document.querySelectorAll("script[src]");
    for (let i = tags.length - 1; i >= 0; i--) {
      if (/\/static\/widget\.js(?:[?#]|$)/.test(tags[i].src)) return tags[i];
    }
    return null;
  })();
  if (!script) return;
  const scriptUrl = new URL(script.src, location.href);
  // Gateway base = origin + path of the script minus "/static/widget.js".
  const BASE = scriptUrl.origin + scriptUrl.pathname.replace(/\/static\/[^/]*$/, "");
  const WS_URL = BASE.replace(/^http/, "ws") + "/chat/socket";
  const SESSION_KEY = "shopchat:" + BASE + ":session";

  const external = window.ShopChatConfig && typeof window.ShopChatConfig === "object" ? window.ShopChatConfig : {};
  // dataset already maps data-primary-color -> primaryColor, data-customer-id -> customerId, ...
  const opts = Object.assign({ title: "云朵优品客服", welcome: "", primaryColor: "#1677ff", position: "right" },
    script.dataset, external);
  const truthy = (v) => v === true || v === "" || v === "true" || v === "1";
  const forceHttp = opts.transport === "http";

  function metadata() {
    const raw = { order_number: opts.orderNumber, name: opts.name, page_url: location.href, page_title: document.title,
      product_id: opts.productId };
    const out = {};
    Object.keys(raw).forEach((k) => {
      if (raw[k] != null && raw[k] !== "") out[k] = String(raw[k]).slice(0, 200);
    });
    return out;
  }

  // The logged-in customer as the shop's server signed it (docs/verified-customers.md): data-customer-id,
  // data-tier, data-expires-at, data-signature, or ShopChatConfig.identity. Without a signature: anonymous.
  function identity() {
    const given = opts.identity && typeof opts.identity === "object" ? opts.identity : {
      customer_id: opts.customerId, tier: opts.tier, expires_at: opts.expiresAt, signature: opts.signature,
    };
    if (!given.customer_id || !given.signature) return null;
    const expires = Number(given.expires_at);
    return { customer_id: String(given.customer_id), tier: String(given.tier || ""),
      expires_at: Number.isFinite(expires) ? expires : 0, signature: String(given.signature) };
  }
  const OWNER = (identity() || {}).customer_id || "";

  // The stored conversation and its resume token: the token, not the conversation id (which agents see), is
  // what lets this browser go on with it, so it stays in this browser and goes only to the gateway
  // (docs/chat-protocol.md). The conversation belongs to whoever was logged in when it was saved: on a shared
  // browser, after logging out or in as someone else, it is forgotten (the gateway would refuse it anyway).
  // One saved before tokens existed is forgotten too (a new conversation starts), unless a signed-in customer
  // owns it: the gateway resumes theirs by the shop's signature and gives this browser a token.
  const TOKEN_KEY = SESSION_KEY + ":token";
  function loadSession() {
    try {
      const stored = { id: localStorage.getItem(SESSION_KEY), token: localStorage.getItem(TOKEN_KEY) };
      if ((localStorage.getItem(SESSION_KEY + ":owner") || "") !== OWNER || !stored.id || !(stored.token || OWNER)) {
        localStorage.removeItem(SESSION_KEY);
        localStorage.removeItem(TOKEN_KEY);
        return { id: null, token: null };
      }
      return stored;
    } catch (e) { return { id: null, token: null }; }
  }
  function saveSession(id, token) { // storage may be blocked: then the session lives as long as the page
    try {
      if (id) {
        localStorage.setItem(SESSION_KEY, id);
        localStorage.setItem(SESSION_KEY + ":owner", OWNER);
      } else localStorage.removeItem(SESSION_KEY);
      if (id && token) localStorage.setItem(TOKEN_KEY, token);
      else localStorage.removeItem(TOKEN_KEY);
    } catch (e) { /* ignore */ }
  }

  // ---- state ---------------------------------------------------------------
  const saved = loadSession();
  let sessionId = saved.id;
  let resumeToken = saved.token;   // the customer's secret for sessionId (never shown, never logged)
  let lastSeq = 0;                 // always 0 on page load: a reload shows the full history
  let maxLen = 10000;
  let mode = forceHttp || typeof WebSocket === "undefined" ? "http" : "websocket";
  let started = false;             // a connection has been attempted
  let ready = false;               // welcome received on the current connection
  let ws = null, everOpened = false, failedOpens = 0, attempt = 0, reconnectTimer = null, pingTimer = null;
  let httpGen = 0;                 // bumps on every HTTP (re)start; stale requests are ignored
  let httpChain = Promise.resolve();
  let connectionLost = false;
  let notice = null;               // {code, text} of the active bot notice
  let welcomeShown = false, latestBotSeq = -1, composing = false;
  let localCount = 0;              // orders local lines (errors, failed bubbles) after what is shown
  const shownIds = new Set();
  const byClientId = new Map();    // client_id -> bubble element
  const outbox = new Map();        // client_id -> message frame, until acknowledged
  // human handoff (docs/chat-protocol.md, "Human handoff")
  let handoffState = null;         // null (never), "waiting", "assigned", "ended", "cancelled"
  let handoffTicket = null, handoffAgent = null, queueInfo = null, cancelPending = false;
  let customStatus = "";           // text set through ShopChat.setStatus, shown when no handoff is active
  const ratingForms = new Map();   // ticket id -> its rating form: one per ticket, even if the request comes again
  let leave = null;                // the open leave-message form (at most one)

  // ---- DOM helpers ---------------------------------------------------------
  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    Object.keys(attrs || {}).forEach((k) => {
      const v = attrs[k];
      if (v == null || v === false) return;
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else if (k.slice(0, 2) === "on") node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? "" : String(v));
    });
    (children || []).forEach((c) => {
      if (c != null) node.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return node;
  }

  function icon(d, cls) {
    const NS = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(NS, "svg");
    const path = document.createElementNS(NS, "path");
    const attrs = { viewBox: "0 0 24 24", "aria-hidden": "true", focusable: "false", class: cls || "shopchat-icon" };
    Object.keys(attrs).forEach((k) => svg.setAttribute(k, attrs[k]));
    path.setAttribute("d", d);
    svg.appendChild(path);
    return svg;
  }

  const URL_RE = /https?:\/\/[^\s<>"'\u3000-\u303f\uff01-\uff0f\uff1a-\uff20]+/gi;

  // Text with http(s) links turned into <a> elements; everything else stays a text node.
  function appendRichText(parent, text) {
    let last = 0;
    let m;
    URL_RE.lastIndex = 0;
    while ((m = URL_RE.exec(text))) {
      const url = m[0].replace(/[.,;:!?)\]}'"]+$/, "");
      if (m.index > last) parent.appendChild(document.createTextNode(text.slice(last, m.index)));
      const a = el("a", { target: "_blank", rel: "noopener noreferrer" });
      if (/^https?:\/\//i.test(url)) a.href = url;
      a.textContent = url;
      parent.appendChild(a);
      last = m.index + url.length;
      URL_RE.lastIndex = last;
    }
    if (last < text.length) parent.appendChild(document.createTextNode(text.slice(last)));
  }

  // Image URLs: http(s) only, or a path on the gateway ("/...").
  function safeImage(src) {
    if (typeof src !== "string" || !src) return null;
    if (!/^https?:\/\//i.test(src) && !/^\/(?!\/)/.test(src)) return null; // not "//host/..."
    try { return new URL(src, BASE + "/").href; } catch (e) { return null; }
  }

  const charCount = (text) => Array.from(text).length; // code points, as the server counts

  function newClientId() {
    const c = window.crypto;
    if (c && typeof c.randomUUID === "function") return c.randomUUID();
    let rand = "";
    if (c && c.getRandomValues) {
      c.getRandomValues(new Uint32Array(4)).forEach((n) => { rand += n.toString(36); });
    } else {
      for (let i = 0; i < 4; i++) rand += Math.floor(Math.random() * 0xffffffff).toString(36);
    }
    return "c" + Date.now().toString(36) + "-" + rand;
  }

  // ---- building the widget -------------------------------------------------
  const root = el("div", { id: "shopchat-root", class: "shopchat-root", "data-position": opts.position === "left" ? "left" : "right" });
  root.style.visibility = "hidden"; // until widget.css has loaded
  if (typeof opts.primaryColor === "string" && (!window.CSS || !CSS.supports || CSS.supports("color", opts.primaryColor))) {
    root.style.setProperty("--shopchat-primary", opts.primaryColor);
  }

  const launcher = el("button", {
    id: "shopchat-launcher", class: "shopchat-launcher", type: "button",
    "aria-label": "打开在线客服", "aria-controls": "shopchat-panel", "aria-expanded": "false",
    onclick: () => openPanel(),
  }, [icon("M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9.5L5 21.5V18H4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2zm3 7.5a1.5 1.5 0 1 0 0-3 1.5 1.5 0 0 0 0 3zm5 0a1.5 1.5 0 1 0 0-3 1.5 1.5 0 0 0 0 3zm5 0a1.5 1.5 0 1 0 0-3 1.5 1.5 0 0 0 0 3z")]);

  const title = String(opts.title);
  // "转人工": an ordinary customer message with the /handoff payload (shown, acknowledged, re-sent like any other)
  const humanBtn = el("button", { class: "shopchat-human", type: "button", text: "转人工",
    onclick: () => submit("转人工", "/handoff") });
  const header = el("div", { class: "shopchat-header" }, [
    el("span", { class: "shopchat-logo", "aria-hidden": "true", text: "云" }),
    el("div", { class: "shopchat-title", text: title }),
    humanBtn,
    el("button", { class: "shopchat-close", type: "button", "aria-label": "关闭", onclick: () => closePanel(true) },
      [icon("M6 6l12 12M18 6L6 18", "shopchat-icon-stroke")]),
  ]);
  // Handoff state and queue position under the header; hidden while empty.
  const statusText = el("span", { class: "shopchat-status-text" });
  const queueEl = el("span", { class: "shopchat-queue", hidden: true });
  const cancelBtn = el("button", { class: "shopchat-cancel-handoff", type: "button", text: "取消排队", hidden: true,
    onclick: () => cancelHandoff() });
  const status = el("div", { class: "shopchat-status", hidden: true, "data-state": "none" }, [
    el("div", { class: "shopchat-status-lines", role: "status" }, [statusText, queueEl]), cancelBtn,
  ]);
  const noticeEl = el("div", { class: "shopchat-notice", role: "status", hidden: true });
  const typingLabel = el("span", { class: "shopchat-sr", text: "小云正在输入…" });
  const typingEl = el("div", { class: "shopchat-typing", hidden: true }, [
    typingLabel,
    el("span", { class: "shopchat-dot" }), el("span", { class: "shopchat-dot" }), el("span", { class: "shopchat-dot" }),
  ]);
  // The privacy notice (docs/privacy.md): first in the list, so the customer reads it before the first message;
  // its link is the gateway's /privacy, which sends to the shop's policy (settings.yml: privacy.notice_url)
  const privacyEl = el("div", { class: "shopchat-privacy", "data-role": "privacy-notice" }, [
    "对话内容将用于为您提供服务，手机号、地址等个人信息会被脱敏保存。",
    el("a", { href: BASE + "/privacy", target: "_blank", rel: "noopener noreferrer", text: "隐私说明" }),
  ]);
  const list = el("div", { class: "shopchat-messages", role: "log", "aria-live": "polite", tabindex: "0", "aria-label": "聊天记录" }, [privacyEl, typingEl]);
  const input = el("textarea", { class: "shopchat-input", rows: "1", "aria-label": "输入消息",
    placeholder: "请输入您的问题，Enter 发送，Shift+Enter 换行" });
  const counter = el("div", { class: "shopchat-counter", hidden: true, "aria-live": "polite" });
  const sendBtn = el("button", { class: "shopchat-send", type: "button", "aria-label": "发送", disabled: true,
    onclick: () => submitInput() }, [icon("M3.4 20.4L21 12 3.4 3.6 3.4 10.1 15 12 3.4 13.9z")]);
  const panel = el("div", { id: "shopchat-panel", class: "shopchat-panel", role: "dialog", "aria-label": title, hidden: true }, [
    header, status,
    el("div", { class: "shopchat-body" }, [noticeEl, list]),
    el("div", { class: "shopchat-composer" }, [input, sendBtn, counter]),
  ]);
  root.appendChild(panel);
  root.appendChild(launcher);

  // ---- panel ---------------------------------------------------------------
  function openPanel(noFocus) {
    panel.hidden = false;
    root.classList.add("shopchat-open");
    launcher.setAttribute("aria-expanded", "true");
    if (!started) connect();
    autosize();
    scrollToBottom(true);
    if (!noFocus) input.focus();
  }

  function closePanel(focusLauncher) {
    const hadFocus = panel.contains(document.activeElement);
    panel.hidden = true;
    root.classList.remove("shopchat-open");
    launcher.setAttribute("aria-expanded", "false");
    if (focusLauncher || hadFocus) launcher.focus();
  }

  panel.addEventListener("keydown", (e) => {
    if ((e.key === "Escape" || e.key === "Esc") && !e.isComposing && !composing) {
      e.preventDefault();
      closePanel(true);
    }
  });

  // One banner: the connection state wins over a bot notice (bot_unavailable, bot_slow, ...).
  function renderNotice() {
    const shown = connectionLost ? { code: "connection", text: "连接已断开，正在重新连接…" } : notice;
    noticeEl.textContent = shown ? shown.text : "";
    if (shown) noticeEl.setAttribute("data-kind", shown.code); else noticeEl.removeAttribute("data-kind");
    noticeEl.hidden = !shown;
  }

  function setConnectionLost(lost) {
    if (connectionLost === lost) return;
    connectionLost = lost;
    renderNotice();
  }

  function setTyping(on) {
    const stick = nearBottom();
    typingEl.hidden = !on;
    if (on) scrollToBottom(stick);
  }

  const nearBottom = () => list.scrollHeight - list.scrollTop - list.clientHeight < 80;
  const scrollToBottom = (force) => { if (force) list.scrollTop = list.scrollHeight; };

  // ---- rendering messages --------------------------------------------------
  function bubble(msg) {
    const b = el("div", { class: "shopchat-bubble" });
    if (msg.text) appendRichText(b, String(msg.text));
    const src = safeImage(msg.image);
    if (src) {
      b.appendChild(el("img", { class: "shopchat-image", src: src, alt: "图片",
        onload: (e) => scrollToBottom(list.scrollHeight - list.scrollTop - list.clientHeight < 80 + e.target.offsetHeight) }));
    }
    return b;
  }

  function buttons(msg, node) {
    const items = Array.isArray(msg.buttons) ? msg.buttons.filter((b) => b && (b.title || b.payload)) : [];
    if (!items.length) return;
    const box = el("div", { class: "shopchat-buttons", role: "group", "aria-label": "快捷回复" });
    items.forEach((b) => {
      const label = String(b.title || b.payload);
      box.appendChild(el("button", { class: "shopchat-button", type: "button", text: label, onclick: () => {
        if (!submit(label, b.payload)) return;
        box.querySelectorAll("button").forEach((x) => { x.disabled = true; });
        box.hidden = true;
        input.focus();
      } }));
    });
    node.appendChild(box);
  }

  function agentHeader(agent) {
    const name = agent && agent.name ? String(agent.name) : "人工客服";
    const src = agent && safeImage(agent.avatar);
    const avatar = src
      ? el("img", { class: "shopchat-avatar", src: src, alt: "" })
      : el("span", { class: "shopchat-avatar", "aria-hidden": "true", text: Array.from(name)[0] || "客" });
    return el("div", { class: "shopchat-agent" }, [avatar, el("span", { class: "shopchat-agent-name", text: name })]);
  }

  // One renderer per sender; new senders (e.g. a supervisor) get their own entry.
  const renderers = {
    customer(msg, node) { node.appendChild(bubble(msg)); },
    bot(msg, node, latest) { node.appendChild(bubble(msg)); if (latest) buttons(msg, node); },
    agent(msg, node, latest) {
      node.appendChild(agentHeader(msg.agent));
      node.appendChild(bubble(msg));
      if (latest) buttons(msg, node);
    },
    system(msg, node) { node.appendChild(el("div", { class: "shopchat-system-text", text: String(msg.text || "") })); },
  };

  function createMsgNode(msg, latest) {
    const sender = Object.prototype.hasOwnProperty.call(renderers, msg.sender) ? msg.sender : "system";
    const node = el("div", { class: "shopchat-msg shopchat-msg-" + sender, "data-sender": sender });
    if (msg.id != null) node.setAttribute("data-id", String(msg.id));
    if (typeof msg.seq === "number") node.setAttribute("data-seq", String(msg.seq));
    if (msg.created_at) {
      const d = new Date(msg.created_at);
      if (!isNaN(d.getTime())) node.title = d.toLocaleString("zh-CN");
    }
    renderers[sender](msg, node, latest);
    return node;
  }

  // Keeps the list in seq order: welcome = 0, server messages = seq, pending = Infinity.
  function insertNode(node, key) {
    const stick = nearBottom();
    node.shopchatKey = key;
    let before = typingEl;
    const items = list.querySelectorAll(".shopchat-msg, .shopchat-local");
    for (let i = 0; i < items.length; i++) {
      if (items[i] !== node && items[i].shopchatKey > key) { before = items[i]; break; }
    }
    list.insertBefore(node, before);
    scrollToBottom(stick || key === Infinity);
  }

  function localKey() {
    return lastSeq + 0.5 + (++localCount) * 1e-9;
  }

  function addSystemLine(text, isError) {
    const node = createMsgNode({ sender: "system", text: text });
    if (isError) node.classList.add("shopchat-error");
    insertNode(node, localKey());
  }

  function maybeShowWelcome() {
    if (welcomeShown || !opts.welcome || shownIds.size || byClientId.size) return;
    welcomeShown = true;
    const node = createMsgNode({ sender: "bot", text: String(opts.welcome) });
    node.classList.add("shopchat-welcome");
    insertNode(node, 0);
  }

  function handleMessage(msg) {
    if (!msg || msg.id == null) return;
    const id = String(msg.id);
    if (typeof msg.seq === "number" && msg.seq > lastSeq) lastSeq = msg.seq;
    if (shownIds.has(id)) return;
    // our own message echoed: no second bubble
    if (msg.client_id && byClientId.has(msg.client_id)) return confirm(msg.client_id, id, msg.seq);
    shownIds.add(id);
    const seq = typeof msg.seq === "number" ? msg.seq : lastSeq;
    let latest = false;
    // the bot's answer to a submitted leave-message form
    if (msg.sender === "bot" && leave && leave.pending) leave.done();
    if (msg.sender === "bot" || msg.sender === "agent") {
      setTyping(false);
      if (seq >= latestBotSeq) {
        latest = true;
        latestBotSeq = seq;
        // only the latest bot message keeps its quick replies
        list.querySelectorAll(".shopchat-buttons").forEach((b) => b.parentNode.removeChild(b));
      }
    }
    const node = createMsgNode(msg, latest);
    if (msg.client_id) {
      node.setAttribute("data-client-id", msg.client_id);
      byClientId.set(msg.client_id, node);
    }
    insertNode(node, seq);
  }

  // ack (or the echo) of a customer message: give it its server id and drop it from the outbox
  function confirm(clientId, id, seq) {
    outbox.delete(clientId);
    const node = byClientId.get(clientId);
    if (!node) return;
    if (id != null) { shownIds.add(String(id)); node.setAttribute("data-id", String(id)); }
    node.removeAttribute("data-pending");
    if (typeof seq === "number" && node.shopchatKey !== seq) {
      node.setAttribute("data-seq", String(seq));
      insertNode(node, seq);
    }
  }

  function markFailed(clientId) {
    outbox.delete(clientId);
    const node = byClientId.get(clientId);
    if (!node || node.getAttribute("data-failed")) return;
    node.removeAttribute("data-pending");
    node.shopchatKey = localKey(); // stays where it is; later messages go below it
    node.setAttribute("data-failed", "true");
    node.appendChild(el("span", { class: "shopchat-failed", text: "未发送" }));
  }

  // ---- human handoff: status line, rating and leave-message forms -------------
  const HANDOFF_STATES = ["waiting", "assigned", "ended", "cancelled"];
  const handoffActive = () => handoffState === "waiting" || handoffState === "assigned";

  function queueText() {
    if (!queueInfo) return "";
    const pos = queueInfo.position, eta = queueInfo.eta_seconds;
    const wait = typeof eta === "number" && eta >= 0 ? "预计等待约 " + Math.max(1, Math.ceil(eta / 60)) + " 分钟" : "";
    if (!(typeof pos === "number" && pos >= 1)) return wait ? "排队中：" + wait : "";
    const where = pos < 2 ? "您是下一位" : "排队中：您前面还有 " + (Math.floor(pos) - 1) + " 位";
    return wait ? where + "，" + wait : where;
  }

  function renderStatus() {
    let text = customStatus, queue = "";
    if (handoffState === "waiting") {
      text = "正在为您转接人工客服…";
      queue = queueText();
    } else if (handoffState === "assigned") {
      const name = handoffAgent && handoffAgent.name ? String(handoffAgent.name) : "";
      text = name ? "人工客服 " + name + " 正在为您服务" : "人工客服正在为您服务";
    }
    const focused = document.activeElement;
    statusText.textContent = text;
    queueEl.textContent = queue;
    queueEl.hidden = !queue;
    cancelBtn.hidden = handoffState !== "waiting";
    cancelBtn.disabled = cancelPending;
    humanBtn.hidden = handoffActive();
    status.hidden = !text;
    status.setAttribute("data-state", handoffState || "none");
    typingLabel.textContent = handoffState === "assigned" ? "客服正在输入…" : "小云正在输入…";
    // a focused button that just disappeared: keep keyboard users in the panel
    if ((focused === humanBtn || focused === cancelBtn) && focused.hidden && !panel.hidden) {
      if (!cancelBtn.hidden) cancelBtn.focus(); else input.focus();
    }
  }

  function setStatus(text) { // public (ShopChat.setStatus): a line of its own while no handoff is active
    customStatus = text ? String(text) : "";
    renderStatus();
  }

  function handleHandoff(f) {
    if (HANDOFF_STATES.indexOf(f.state) < 0) return;
    const ticket = f.ticket_id != null ? f.ticket_id : handoffTicket;
    // a new ticket, or no longer waiting: the old queue position means nothing
    if (f.state !== "waiting" || (handoffTicket != null && ticket !== handoffTicket)) queueInfo = null;
    handoffState = f.state;
    handoffTicket = ticket;
    handoffAgent = f.state === "assigned" && f.agent && typeof f.agent === "object" ? f.agent : null;
    cancelPending = false;
    renderStatus();
  }

  function resetHandoff() {
    handoffState = handoffTicket = handoffAgent = queueInfo = null;
    cancelPending = false;
    renderStatus();
  }

  function handleQueue(f) {
    queueInfo = { position: f.position, eta_seconds: f.eta_seconds };
    renderStatus();
  }

  function cancelHandoff() {
    if (cancelPending) return;
    cancelPending = true;
    renderStatus();
    sendControl({ type: "cancel_handoff" }).then((ok) => {
      if (!ok && cancelPending) { cancelPending = false; renderStatus(); }
    });
  }

  // cancel_handoff, rating, leave_message: not messages, so no outbox. Resolves true when the frame went out
  // (and, over HTTP, was not refused).
  function sendControl(frame) {
    const failed = () => {
      addSystemLine("网络连接异常，请稍后再试。", true);
      return false;
    };
    if (!ready) return Promise.resolve(failed());
    if (mode !== "http") {
      if (!ws || ws.readyState !== 1) return Promise.resolve(failed());
      sendRaw(frame);
      return Promise.resolve(true);
    }
    return httpJSON("POST", "/chat/api/frames", Object.assign({ session_id: sessionId }, frame), 15000).then((res) => {
      const frames = Array.isArray(res.frames) ? res.frames : [res];
      frames.forEach(handleFrame);
      return !frames.some((x) => x && x.type === "error");
    }, failed);
  }

  // Forms go into the message list after the last message shown; later messages come below them.
  function insertLocal(node) {
    insertNode(node, localKey());
    scrollToBottom(true);
  }

  function finishForm(form, text) {
    const hadFocus = form.contains(document.activeElement);
    form.textContent = "";
    form.setAttribute("data-done", "true");
    form.appendChild(el("div", { class: "shopchat-form-done", role: "status", text: text }));
    if (hadFocus && !panel.hidden) input.focus();
  }

  const STAR_WORDS = ["", "非常不满意", "不满意", "一般", "满意", "非常满意"];

  function handleRatingRequest(f) {
    const key = f.ticket_id == null ? "" : String(f.ticket_id);
    if (ratingForms.has(key)) return; // asked again (reconnect): keep the one form
    let score = 0;
    const stars = [];
    const word = el("span", { class: "shopchat-star-word", "aria-hidden": "true" });
    const group = el("div", { class: "shopchat-stars", role: "group", "aria-label": "评分，1 到 5 星" });
    for (let n = 1; n <= 5; n++) {
      const star = el("button", { class: "shopchat-star", type: "button", "data-score": n, "aria-label": n + " 星",
        "aria-pressed": "false", text: "★", onclick: () => pick(n) });
      stars.push(star);
      group.appendChild(star);
    }
    group.appendChild(word);
    const comment = el("textarea", { class: "shopchat-rating-comment", rows: "2", maxlength: "500",
      placeholder: "还有什么想说的？（选填）", "aria-label": "评价内容（选填）" });
    const submitBtn = el("button", { class: "shopchat-rating-submit", type: "submit", text: "提交评价", disabled: true });
    const form = el("form", { class: "shopchat-rating shopchat-local", "data-ticket-id": key, novalidate: true,
      "aria-label": "服务评价" }, [el("div", { class: "shopchat-form-title", text: "请为本次人工服务打分" }), group, comment, submitBtn]);

    function pick(n) {
      score = n;
      stars.forEach((s, i) => {
        s.classList.toggle("shopchat-star-on", i < n);
        s.setAttribute("aria-pressed", String(i === n - 1));
      });
      word.textContent = STAR_WORDS[n];
      submitBtn.disabled = false;
    }

    form.addEventListener("submit", (e) => {
      e.preventDefault();
      if (!score || submitBtn.disabled) return;
      submitBtn.disabled = true;
      const frame = { type: "rating", ticket_id: f.ticket_id, score: score, comment: comment.value.trim() };
      sendControl(frame).then((ok) => {
        if (ok) finishForm(form, "感谢您的评价！"); else submitBtn.disabled = false;
      });
    });
    ratingForms.set(key, form);
    insertLocal(form);
  }

  // The server's rule: spaces, dashes and a leading +86 allowed; then a mainland mobile number.
  const normalizePhone = (raw) => String(raw).replace(/[\s-]+/g, "").replace(/^(?:\+86|86)/, "");
  const PHONE_RE = /^1[3-9]\d{9}$/;

  function handleLeaveRequest(f) {
    const reason = f.text ? String(f.text) : "请留下您的问题和手机号，客服会尽快联系您。";
    if (leave) { leave.reason.textContent = reason; return; } // only one open form
    const reasonEl = el("div", { class: "shopchat-form-title shopchat-leave-reason", text: reason });
    const textEl = el("textarea", { class: "shopchat-leave-text", rows: "3", maxlength: "2000",
      placeholder: "请描述您的问题", "aria-label": "留言内容" });
    const phoneEl = el("input", { class: "shopchat-leave-phone", type: "tel", inputmode: "tel", autocomplete: "tel",
      placeholder: "手机号，方便客服联系您", "aria-label": "手机号" });
    const errorEl = el("div", { class: "shopchat-leave-error", role: "alert", hidden: true });
    const submitBtn = el("button", { class: "shopchat-leave-submit", type: "submit", text: "提交留言" });
    const form = el("form", { class: "shopchat-leave shopchat-local", novalidate: true, "aria-label": "留言" },
      [reasonEl, textEl, phoneEl, errorEl, submitBtn]);
    const state = {
      form: form, reason: reasonEl, pending: false,
      error(text, field) {
        errorEl.textContent = text || "";
        errorEl.hidden = !text;
        [textEl, phoneEl].forEach((x) => {
          if (x === field) x.setAttribute("aria-invalid", "true"); else x.removeAttribute("aria-invalid");
        });
        if (field) field.focus();
      },
      setPending(on) {
        state.pending = on;
        submitBtn.disabled = on;
        textEl.readOnly = phoneEl.readOnly = on;
        if (on) form.setAttribute("aria-busy", "true"); else form.removeAttribute("aria-busy");
      },
      fail(text, code) { // refused by the server (bad_phone, ...): fix and send again
        state.setPending(false);
        state.error(text || "提交失败，请稍后再试", code === "bad_phone" ? phoneEl : textEl);
      },
      done() {
        leave = null;
        finishForm(form, "留言已提交");
      },
    };
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      if (state.pending) return;
      const text = textEl.value.trim();
      if (!text) return state.error("请先描述您的问题", textEl);
      const phone = normalizePhone(phoneEl.value);
      if (!PHONE_RE.test(phone)) return state.error("请输入正确的 11 位手机号", phoneEl);
      state.error("");
      state.setPending(true); // until the bot's confirmation message (or an error) arrives
      sendControl({ type: "leave_message", text: text, phone: phone }).then((ok) => {
        if (!ok && leave === state && state.pending) state.setPending(false);
      });
    });
    leave = state;
    insertLocal(form);
  }

  // ---- frames from the gateway ---------------------------------------------
  function handleFrame(f) {
    if (!f || typeof f !== "object") return;
    switch (f.type) {
      case "welcome": onWelcome(f); break;
      case "message": handleMessage(f); break;
      case "ack": confirm(f.client_id, f.id, f.seq); break;
      case "typing": setTyping(!!f.on); break;
      case "notice": handleNotice(f); break;
      case "error": handleError(f); break;
      case "handoff": handleHandoff(f); break;
      case "queue": handleQueue(f); break;
      case "rating_request": handleRatingRequest(f); break;
      case "leave_message_request": handleLeaveRequest(f); break;
      default: break; // pong and unknown frames
    }
  }

  function onWelcome(f) {
    if (!f.resumed) lastSeq = 0; // a new conversation starts at seq 1
    // the handoff state follows the history when a ticket is open (over HTTP: in `frames`, when sent)
    if (!f.resumed || mode !== "http" || Array.isArray(f.frames)) resetHandoff();
    if (f.session_id) {
      const id = String(f.session_id);
      // a token comes with a new conversation, or a signed-in customer's on a new browser; otherwise ours worked
      if (f.resume_token) resumeToken = String(f.resume_token);
      else if (id !== sessionId) resumeToken = null;
      saveSession(sessionId = id, resumeToken);
    }
    if (f.limits && typeof f.limits.max_length === "number") maxLen = f.limits.max_length;
    ready = true;
    attempt = 0;
    setConnectionLost(false);
    if (f.resumed) setTimeout(maybeShowWelcome, 600); else maybeShowWelcome();
    flushOutbox();
    updateComposer();
  }

  function handleNotice(f) {
    // bot_available clears; anything else with a text (bot_unavailable, bot_slow, ...) is the banner
    if (f.code === "bot_available" || !f.text) notice = null;
    else notice = { code: String(f.code || "notice"), text: String(f.text) };
    renderNotice();
  }

  function handleError(f) {
    if (f.code === "unknown_session" || f.code === "bad_resume_token") {
      // the stored conversation is gone, or no longer ours: forget it and start a new one (the outbox is kept)
      saveSession(sessionId = resumeToken = null);
      lastSeq = 0;
      ready = false;
      if (f.text) addSystemLine(String(f.text), false);
      if (mode === "http") httpHello(); else sendRaw(helloFrame());
      return;
    }
    // refusals of our leave_message frame: shown in the form, which can be sent again
    if (leave && (f.code === "bad_phone" || (leave.pending && !f.client_id && LEAVE_ERRORS.indexOf(f.code) >= 0))) {
      leave.fail(f.text ? String(f.text) : "", f.code);
      return;
    }
    if (f.code === "no_ticket" && cancelPending) { // nothing to cancel any more
      resetHandoff();
      return;
    }
    if (f.client_id) markFailed(f.client_id);
    addSystemLine(f.text ? String(f.text) : "出错了，请稍后再试。", true);
  }

  const LEAVE_ERRORS = ["bad_field", "empty", "too_long", "rate_limited", "too_many_left_messages"];

  // ---- transports ----------------------------------------------------------
  function helloFrame() {
    const frame = { type: "hello", last_seq: lastSeq, metadata: metadata() };
    const signed = identity();
    if (signed) frame.identity = signed;
    if (sessionId) frame.session_id = sessionId;
    if (sessionId && resumeToken) frame.resume_token = resumeToken;
    return frame;
  }

  function connect() {
    started = true;
    reconnectTimer = null;
    if (mode === "http") { httpHello(); return; }
    let opened = false, sock;
    try { sock = new WebSocket(WS_URL); } catch (e) { socketGone(false); return; }
    ws = sock;
    sock.onopen = () => {
      opened = everOpened = true;
      failedOpens = 0;
      sock.send(JSON.stringify(helloFrame()));
      clearInterval(pingTimer);
      pingTimer = setInterval(() => sendRaw({ type: "ping" }), 25000);
    };
    sock.onmessage = (ev) => {
      let frame;
      try { frame = JSON.parse(ev.data); } catch (e) { return; }
      handleFrame(frame);
    };
    sock.onclose = () => {
      if (ws === sock) { ws = null; socketGone(opened); }
    };
  }

  function socketGone(opened) {
    clearInterval(pingTimer);
    ready = false;
    setTyping(false);
    if (leave && leave.pending) leave.setPending(false); // no answer will come on this connection: may send again
    if (cancelPending) { cancelPending = false; renderStatus(); }
    if (!opened) failedOpens++;
    if (!everOpened && failedOpens >= 3) {
      mode = "http"; // WebSockets blocked (proxy, firewall): long polling instead
      attempt = 0;
    }
    setConnectionLost(true);
    scheduleReconnect();
  }

  function scheduleReconnect() {
    clearTimeout(reconnectTimer);
    // 0.5 s, 1, 2, 4, 8, then 15 s at most, each ±25 % so many tabs do not reconnect in step
    const base = Math.min(15000, 500 * Math.pow(2, attempt++));
    reconnectTimer = setTimeout(connect, Math.min(15000, base * (0.75 + Math.random() * 0.5)));
  }

  function sendRaw(frame) {
    if (ws && ws.readyState === 1) ws.send(JSON.stringify(frame));
  }

  function transmit(frame) {
    if (!ready) return; // stays in the outbox until the next welcome
    if (mode === "http") {
      const gen = httpGen;
      httpChain = httpChain.then(() => (gen === httpGen && outbox.has(frame.client_id) ? httpSend(frame) : null));
    } else {
      sendRaw(frame);
    }
  }

  const flushOutbox = () => outbox.forEach((frame) => transmit(frame));

  function httpJSON(method, path, body, timeoutMs) {
    const ctl = typeof AbortController === "function" ? new AbortController() : null;
    const timer = ctl ? setTimeout(() => ctl.abort(), timeoutMs) : null;
    const init = { method: method, cache: "no-store", credentials: "omit", signal: ctl ? ctl.signal : undefined };
    init.headers = {};
    if (body) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    // every call after the hello proves the conversation is ours; a header, never the URL (logs keep URLs)
    if (resumeToken && path !== "/chat/api/hello") init.headers["X-Resume-Token"] = resumeToken;
    return fetch(BASE + path, init).then((res) => res.json().then((data) => {
      clearTimeout(timer);
      if (!res.ok && !(data && data.type === "error")) throw new Error("HTTP " + res.status);
      return data || {};
    }), (err) => { clearTimeout(timer); throw err; });
  }

  function httpLost() {
    httpGen++;
    socketGone(true);
  }

  function httpHello() {
    const gen = ++httpGen;
    ready = false;
    httpJSON("POST", "/chat/api/hello", helloFrame(), 15000).then((res) => {
      if (gen !== httpGen) return;
      if (res.type === "error") {
        if (res.code === "unknown_session" || res.code === "bad_resume_token") { handleError(res); return; }
        throw new Error(res.code);
      }
      onWelcome(res);
      (res.messages || []).forEach(handleMessage);
      httpState(res);
      httpPoll(gen);
    }).catch(() => { if (gen === httpGen) httpLost(); });
  }

  function httpPoll(gen) {
    if (gen !== httpGen) return;
    const began = Date.now();
    const query = "?session_id=" + encodeURIComponent(sessionId || "") + "&after=" + lastSeq + "&wait=25";
    httpJSON("GET", "/chat/api/events" + query, null, 40000).then((res) => {
      if (gen !== httpGen) return;
      if (res.type === "error") {
        if (res.code === "unknown_session" || res.code === "bad_resume_token") { handleError(res); return; }
        throw new Error(res.code);
      }
      const before = httpSnapshot();
      (res.messages || []).forEach(handleMessage);
      httpState(res);
      // never spin: an answer that changed nothing and came back at once waits a second
      const idle = httpSnapshot() === before && Date.now() - began < 1000;
      setTimeout(() => httpPoll(gen), idle ? 1000 : 0);
    }).catch(() => { if (gen === httpGen) httpLost(); });
  }

  // notice and typing are the current state; frames (handoff, queue, rating_request, ...) are fed in order
  function httpState(res) {
    if ("notice" in res) handleNotice(res.notice && typeof res.notice === "object" ? res.notice : { code: "bot_available" });
    if (typeof res.typing === "boolean") setTyping(res.typing);
    if (Array.isArray(res.frames)) res.frames.forEach(handleFrame);
  }

  const httpSnapshot = () => JSON.stringify([lastSeq, notice, typingEl.hidden, handoffState, status.textContent,
    list.querySelectorAll(".shopchat-local").length]);

  function httpSend(frame) {
    const gen = httpGen;
    return httpJSON("POST", "/chat/api/messages", Object.assign({ session_id: sessionId }, frame), 15000)
      .then((res) => {
        if (res.type === "ack") confirm(res.client_id || frame.client_id, res.id, res.seq);
        else if (res.type === "error") handleError(Object.assign({ client_id: frame.client_id }, res));
      }, () => { if (gen === httpGen) httpLost(); }); // kept in the outbox, re-sent after the next welcome
  }

  // ---- sending ---------------------------------------------------------------
  function submit(text, payload) {
    text = String(text == null ? "" : text).trim();
    if (!text) return null;
    const n = charCount(text);
    if (n > maxLen) {
      addSystemLine("消息太长了：" + n.toLocaleString("en-US") + " 个字，最多 " + maxLen + " 个字，请分几次发送。", true);
      return null;
    }
    const clientId = newClientId();
    const frame = { type: "message", client_id: clientId, text: text, metadata: metadata() };
    if (payload != null && payload !== "") frame.payload = String(payload);
    const node = createMsgNode({ sender: "customer", text: text });
    node.setAttribute("data-pending", "true");
    node.setAttribute("data-client-id", clientId);
    byClientId.set(clientId, node);
    insertNode(node, Infinity);
    outbox.set(clientId, frame);
    if (!started) connect(); else transmit(frame);
    return clientId;
  }

  function submitInput() {
    if (!submit(input.value)) return;
    input.value = "";
    updateComposer();
  }

  function updateComposer() {
    const value = input.value;
    const n = value.length > maxLen * 0.9 ? charCount(value) : 0; // cheap until near the limit
    sendBtn.disabled = !value.trim();
    if (n > maxLen * 0.9) {
      counter.hidden = false;
      counter.textContent = n.toLocaleString("en-US") + "/" + maxLen;
      counter.classList.toggle("shopchat-counter-over", n > maxLen);
    } else {
      counter.hidden = true;
    }
    autosize();
  }

  function autosize() { // the textarea grows with its text up to about five lines
    if (panel.hidden) return; // nothing to measure while closed
    input.style.height = "auto";
    input.style.height = Math.min(input.scrollHeight + 2, 132) + "px"; // + borders
    input.style.overflowY = input.scrollHeight > 132 ? "auto" : "hidden";
  }

  input.addEventListener("input", updateComposer);
  input.addEventListener("compositionstart", () => { composing = true; });
  // Safari fires compositionend before the keydown of the confirming Enter: clear the flag a tick later
  input.addEventListener("compositionend", () => setTimeout(() => { composing = false; }, 0));
  input.addEventListener("keydown", (e) => {
    if (e.key !== "Enter" || e.shiftKey) return;
    if (e.isComposing || composing || e.keyCode === 229) return; // Chinese IME is choosing characters
    e.preventDefault();
    submitInput();
  });

  // ---- start -----------------------------------------------------------------
  window.addEventListener("online", () => { // back online: do not wait for the back-off
    if (started && !ready && reconnectTimer) { clearTimeout(reconnectTimer); connect(); }
  });

  window.ShopChat = {
    open: () => openPanel(),
    close: () => closePanel(false),
    send: (text) => submit(text),
    sessionId: () => sessionId,
    transport: () => mode,
    setStatus: setStatus, // a status line of the page's own, shown while no handoff is active
    handoffState: () => handoffState,
  };

  function mount() {
    const css = el("link", { rel: "stylesheet", href: BASE + "/static/widget.css" });
    const show = () => { root.style.visibility = ""; };
    css.addEventListener("load", show);
    css.addEventListener("error", show);
    setTimeout(show, 3000);
    (document.head || document.documentElement).appendChild(css);
    document.body.appendChild(root);
    if (!sessionId) maybeShowWelcome(); // new conversation: nothing to wait for
    // Connect at once only for a known conversation (to show its history); otherwise on first use.
    if (sessionId) connect();
    if (truthy(opts.open)) openPanel(true);
  }

  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
})();
