/* The live connection, page side: one API on every page over the one socket of the browser
   profile (static/rdv/live-worker.js, a SharedWorker; where SharedWorker is missing, the
   same hub runs in this page over a MessageChannel, one socket per tab).

     RDVLive.start({page, onClosed})   page: "reel" (the reel or a call) | "browsing" (any other)
     RDVLive.request(type, fields, ms) a promise of the server's ack (rejects with RDV.ApiError)
     RDVLive.send(type, fields)        fire and forget (relays: rtc.*, chat.typing)
     RDVLive.on(type, fn)              a server frame by type, or "connected" / "status"
     RDVLive.setAvailable(bool)        the reel's "available" switch (kept for reconnects)
     RDVLive.state                     {status: idle|connecting|open|reconnecting|closed, user, reason}

   It also tells the hub what this tab is doing (shown and focused or not, used lately or not);
   the server turns that into how long the person stays in others' reels. */
"use strict";

const RDVLive = (() => {
  const WORKER_URL = document.currentScript && document.currentScript.dataset.worker;
  const ACTIVE_REPORT_MS = 30000;
  const TAB_HEARTBEAT_MS = 15000;
  const handlers = new Map();
  const waiting = new Map();
  let port = null;
  let seq = 0;
  let page = "browsing";
  let used = false;
  let lastActive = 0;
  const state = { status: "idle", user: null, reason: null, text: "", shared: false };

  function emit(type, payload) {
    for (const fn of handlers.get(type) || []) {
      try {
        fn(payload);
      } catch (err) {
        console.error(err); // one page's handler must not stop the others
      }
    }
  }

  function on(type, fn) {
    if (!handlers.has(type)) handlers.set(type, []);
    handlers.get(type).push(fn);
  }

  function wsError(data) {
    return new RDV.ApiError(400, { error: { code: data.code, message: data.message, retry_after: data.retry_after } });
  }

  function onMessage(message) {
    if (message.op === "reply") {
      const waiter = waiting.get(message.id);
      if (!waiter) return;
      waiting.delete(message.id);
      if (message.ok) waiter.resolve(message.data);
      else waiter.reject(wsError(message.data));
    } else if (message.op === "event") {
      emit(message.event.type, message.event);
    } else if (message.op === "connected") {
      state.user = message.user;
      emit("connected", message);
    } else if (message.op === "status") {
      Object.assign(state, { status: message.status, reason: message.reason, text: message.text });
      document.body.dataset.live = message.status;
      emit("status", message);
    }
  }

  const visibleNow = () => document.visibilityState === "visible" && document.hasFocus();

  let leaving = false; // after pagehide this tab says nothing more (until a pageshow from the cache)

  function report(active) {
    if (!port || leaving) return;
    if (active) lastActive = Date.now();
    used = false;
    port.postMessage({ op: "state", page, visible: visibleNow(), active: Boolean(active) });
  }

  /** Any use of the page counts as activity, reported at most every 30 s. */
  function activity() {
    used = true;
    if (Date.now() - lastActive >= ACTIVE_REPORT_MS) report(true);
  }

  function trackTab() {
    for (const type of ["pointerdown", "pointermove", "keydown", "wheel", "scroll", "touchstart"]) {
      window.addEventListener(type, activity, { passive: true, capture: true });
    }
    const changed = () => report(visibleNow()); // coming back to a page is activity
    document.addEventListener("visibilitychange", changed);
    window.addEventListener("focus", changed);
    window.addEventListener("blur", changed);
    setInterval(() => report(used), ACTIVE_REPORT_MS);
    setInterval(() => { if (!leaving) port.postMessage({ op: "state", page, visible: visibleNow(), active: false }); }, TAB_HEARTBEAT_MS);
    // Closing or leaving the page: this tab stops counting (the last one closes the socket).
    window.addEventListener("pagehide", () => {
      leaving = true;
      port.postMessage({ op: "bye" });
    });
    window.addEventListener("pageshow", (event) => {
      if (!event.persisted) return;
      leaving = false;
      hello();
    });
  }

  function hello() {
    port.postMessage({
      op: "hello",
      token: RDV.token.get(),
      page,
      visible: visibleNow(),
      available: localStorage.getItem("rdv.available") !== "0",
    });
  }

  function inPageHub() {
    // No SharedWorker (some mobile browsers): the hub's script runs here, one socket per tab.
    return new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = WORKER_URL;
      script.onload = () => {
        const channel = new MessageChannel();
        window.RDVLiveHub.createHub().attach(channel.port2);
        resolve(channel.port1);
      };
      script.onerror = reject;
      document.head.append(script);
    });
  }

  /** Terminal closes the page itself does not handle (onClosed returned false). */
  function closedByDefault(reason) {
    if (reason === "session_invalidated") return RDV.signedOut({ code: reason, message: "You were signed out: you signed in somewhere else, or signed out." });
    if (reason === "invalid_token" || reason === "not_authenticated") return RDV.signedOut({ code: "invalid_token" });
    // A ban also ends the sessions: signed out, with the reason said on the sign-in page.
    if (reason === "banned" || reason === "ip_banned") return RDV.signedOut({ code: reason });
    if (reason === "too_many_sockets") RDV.flash("Rendezvous is open in too many places: close a tab or another browser, then reload this page.", "error", { sticky: true });
  }

  let starting = null;
  function start(options = {}) {
    if (starting) return starting;
    page = options.page || "browsing";
    on("status", (message) => {
      if (message.status !== "closed") return;
      if (options.onClosed && options.onClosed(message.reason) !== false) return;
      closedByDefault(message.reason);
    });
    starting = (async () => {
      if (window.SharedWorker && !window.RDV_NO_SHARED_WORKER) {
        const worker = new SharedWorker(WORKER_URL, { name: "rdv-live" });
        port = worker.port;
        state.shared = true;
      } else {
        port = await inPageHub();
      }
      port.addEventListener("message", (event) => onMessage(event.data || {}));
      port.start();
      trackTab();
      hello();
    })();
    return starting;
  }

  function request(type, fields = {}, timeoutMs = 15000) {
    if (!port) return Promise.reject(wsError({ code: "network", message: "Not connected to the server yet; try again in a moment." }));
    const id = String(++seq);
    return new Promise((resolve, reject) => {
      // The hub answers every request (its own timeout included); this one only guards a lost hub.
      const timer = setTimeout(() => {
        waiting.delete(id);
        reject(wsError({ code: "network", message: "The server did not answer; try again." }));
      }, timeoutMs + 5000);
      waiting.set(id, {
        resolve: (data) => { clearTimeout(timer); resolve(data); },
        reject: (err) => { clearTimeout(timer); reject(err); },
      });
      port.postMessage({ op: "request", id, type, fields, timeout: timeoutMs });
    });
  }

  function send(type, fields = {}) {
    if (port) port.postMessage({ op: "send", type, fields });
  }

  function setAvailable(available) {
    localStorage.setItem("rdv.available", available ? "1" : "0");
    if (port) port.postMessage({ op: "available", available });
  }

  function setPage(value) {
    page = value;
    report(true);
  }

  // Pages other than the call page join as soon as they know a session exists.
  const BROWSING_PAGES = ["history", "matches", "settings"];
  document.addEventListener("DOMContentLoaded", () => {
    if (BROWSING_PAGES.includes(document.body.dataset.page) && RDV.token.get()) start({ page: "browsing" });
  });

  return { start, request, send, on, setAvailable, setPage, wsError, state };
})();
