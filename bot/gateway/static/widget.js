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
    const raw = {
      customer_id: opts.customerId, tier: opts.tier, order_number: opts.orderNumber, name: opts.name,
      page_url: location.href, page_title: document.title,
    };
    const out = {};
    Object.keys(raw).forEach((k) => {
      if (raw[k] != null && raw[k] !== "") out[k] = String(raw[k]).slice(0, 200);
    });
    return out;
  }

  function loadSession() {
    try { return localStorage.getItem(SESSION_KEY); } catch (e) { return null; }
  }
  function saveSession(id) { // storage may be blocked: then the session lives as long as the page
    try { if (id) localStorage.setItem(SESSION_KEY, id); else localStorage.removeItem(SESSION_KEY); } catch (e) { /* ignore */ }
  }

  // ---- state ---------------------------------------------------------------
  let sessionId = loadSession();
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
  const header = el("div", { class: "shopchat-header" }, [
    el("span", { class: "shopchat-logo", "aria-hidden": "true", text: "云" }),
    el("div", { class: "shopchat-title", text: title }),
    el("button", { class: "shopchat-human", type: "button", text: "转人工", onclick: () => submit("转人工") }),
    el("button", { class: "shopchat-close", type: "button", "aria-label": "关闭", onclick: () => closePanel(true) },
      [icon("M6 6l12 12M18 6L6 18", "shopchat-icon-stroke")]),
  ]);
  // Queue position etc. for the human-agent handoff (later); hidden while empty.
  const status = el("div", { class: "shopchat-status", role: "status", hidden: true });
  const noticeEl = el("div", { class: "shopchat-notice", role: "status", hidden: true });
  const typingEl = el("div", { class: "shopchat-typing", hidden: true }, [
    el("span", { class: "shopchat-sr", text: "小云正在输入…" }),
    el("span", { class: "shopchat-dot" }), el("span", { class: "shopchat-dot" }), el("span", { class: "shopchat-dot" }),
  ]);
  const list = el("div", { class: "shopchat-messages", role: "log", "aria-live": "polite", tabindex: "0", "aria-label": "聊天记录" }, [typingEl]);
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

  function setStatus(text) {
    status.textContent = text || "";
    status.hidden = !text;
  }

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
    const items = list.querySelectorAll(".shopchat-msg");
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
      default: break; // pong and unknown frames
    }
  }

  function onWelcome(f) {
    if (!f.resumed) lastSeq = 0; // a new conversation starts at seq 1
    if (f.session_id) saveSession(sessionId = String(f.session_id));
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
    if (f.code === "unknown_session") {
      // the stored conversation is gone: forget it and start a new one (the outbox is kept)
      saveSession(sessionId = null);
      lastSeq = 0;
      ready = false;
      if (f.text) addSystemLine(String(f.text), false);
      if (mode === "http") httpHello(); else sendRaw(helloFrame());
      return;
    }
    if (f.client_id) markFailed(f.client_id);
    addSystemLine(f.text ? String(f.text) : "出错了，请稍后再试。", true);
  }

  // ---- transports ----------------------------------------------------------
  function helloFrame() {
    const frame = { type: "hello", last_seq: lastSeq, metadata: metadata() };
    if (sessionId) frame.session_id = sessionId;
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
    if (body) {
      init.headers = { "Content-Type": "application/json" };
      init.body = JSON.stringify(body);
    }
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
        if (res.code === "unknown_session") { handleError(res); return; }
        throw new Error(res.code);
      }
      onWelcome(res);
      (res.messages || []).forEach(handleMessage);
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
        if (res.code === "unknown_session") { handleError(res); return; }
        throw new Error(res.code);
      }
      const before = JSON.stringify([lastSeq, notice, typingEl.hidden]);
      (res.messages || []).forEach(handleMessage);
      (res.notices || []).forEach(handleNotice);
      if (typeof res.typing === "boolean") setTyping(res.typing);
      // never spin: an answer that changed nothing and came back at once waits a second
      const idle = JSON.stringify([lastSeq, notice, typingEl.hidden]) === before && Date.now() - began < 1000;
      setTimeout(() => httpPoll(gen), idle ? 1000 : 0);
    }).catch(() => { if (gen === httpGen) httpLost(); });
  }

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
    setStatus: setStatus, // for the agent handoff: queue position etc.
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
