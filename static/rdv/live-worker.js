/* The one live connection of a browser profile: a SharedWorker that owns the WebSocket to
   /ws/ and relays it to every open tab over MessagePorts (static/rdv/live.js is the tabs'
   side). Several tabs of one person share one socket, so ordinary browsing never reaches the
   server's per-user socket cap. Where SharedWorker is missing, live.js runs the same hub in the
   page (loaded as a plain script, it only defines RDVLiveHub).

   Port messages, tab → hub: hello {token, page, visible, available}, state {page, visible,
   active}, request {id, type, fields, timeout}, send {type, fields}, available {available},
   bye. Hub → tab: status {status, text, reason}, connected {user}, event {event},
   reply {id, ok, data}. What the tabs report about themselves is folded into one
   `presence.state` for the server, which decides how long that keeps the person available. */
"use strict";

(() => {
  const PING_MS = 20000; // the server refreshes presence itself; a ping re-checks the session
  // A tab not heard from for this long is gone (killed without "bye"). Tabs say they are there
  // every 15 s, but a browser runs a long-hidden tab's timers only once a minute.
  const TAB_SILENT_MS = 180000;
  const LINGER_MS = 1500; // the socket stays this long after the last tab, for a reload or a link
  const TERMINAL = ["session_invalidated", "invalid_token", "not_authenticated", "banned", "ip_banned", "too_many_sockets"];

  function createHub() {
    const tabs = new Map(); // port -> {page, visible, seen}
    const gone = new WeakSet(); // ports that said "bye": only a new "hello" brings them back
    let ws = null;
    let token = null;
    let user = null;
    let seq = 0;
    const pending = new Map(); // hub request id -> {port, id, timer} (or {resolve} for the hub's own)
    let backoff = 1000;
    let closedReason = null;
    let retryAfter = null;
    let stopped = null; // a terminal reason: no reconnecting
    let pinger = null;
    let linger = null;
    let available = true; // the person's "available" choice (the reel's switch), sent after each sign-in
    let status = { op: "status", status: "idle", text: "", reason: null };
    let lastState = null; // the last presence.state sent: {state, visible}

    const post = (port, message) => { try { port.postMessage(message); } catch (err) { tabs.delete(port); } };
    const broadcast = (message) => { for (const port of [...tabs.keys()]) post(port, message); };
    function setStatus(value, text, reason) {
      status = { op: "status", status: value, text, reason: reason || null };
      broadcast(status);
    }

    function connect() {
      clearTimeout(linger);
      if (!token || stopped) return;
      const scheme = self.location.protocol === "https:" ? "wss:" : "ws:";
      ws = new WebSocket(`${scheme}//${self.location.host}/ws/`);
      const socket = ws;
      socket.addEventListener("open", () => authenticate(socket));
      socket.addEventListener("message", (event) => receive(socket, event));
      socket.addEventListener("close", (event) => closed(socket, event));
      setStatus("connecting", "Connecting…");
    }

    /** The hub's own requests (auth, presence): a promise of the ack. */
    function own(type, fields = {}, timeoutMs = 15000) {
      return new Promise((resolve, reject) => {
        if (!ws || ws.readyState !== WebSocket.OPEN) return reject(new Error("not connected"));
        const id = "h" + ++seq;
        const timer = setTimeout(() => { pending.delete(id); reject(new Error("timeout")); }, timeoutMs);
        pending.set(id, { resolve, reject, timer });
        ws.send(JSON.stringify({ type, id, ...fields }));
      });
    }

    async function authenticate(socket) {
      try {
        // A minute for the answer: in a burst the server queues tokens, and says so (4013) if it cannot.
        const ack = await own("auth", { token }, 60000);
        if (socket !== ws) return;
        backoff = 1000;
        user = ack.user;
        clearInterval(pinger);
        pinger = setInterval(() => own("ping").catch(() => {}), PING_MS);
        await own("presence.set", { available, modes: ["video", "text"] }).catch(() => {});
        lastState = null;
        await reportState(false);
        setStatus("open", `Online as ${user.name}`);
        broadcast({ op: "connected", user });
      } catch (err) {
        /* a refused auth closes the socket: closed() says why */
      }
    }

    function receive(socket, event) {
      let data;
      try {
        data = JSON.parse(event.data);
      } catch (err) {
        return;
      }
      if ((data.type === "ack" || data.type === "error") && data.id && pending.has(data.id)) {
        const waiter = pending.get(data.id);
        pending.delete(data.id);
        clearTimeout(waiter.timer);
        if (waiter.port) post(waiter.port, { op: "reply", id: waiter.id, ok: data.type === "ack", data });
        else if (data.type === "ack") waiter.resolve(data);
        else waiter.reject(Object.assign(new Error(data.message), data));
        return;
      }
      if (data.type === "closing") {
        closedReason = data.reason;
        retryAfter = data.retry_after || null;
        return;
      }
      broadcast({ op: "event", event: data });
    }

    function closed(socket, event) {
      if (socket !== ws) return;
      ws = null;
      clearInterval(pinger);
      for (const [id, waiter] of pending) {
        clearTimeout(waiter.timer);
        const error = { type: "error", id: waiter.id, code: "network", message: "Connection lost." };
        if (waiter.port) post(waiter.port, { op: "reply", id: waiter.id, ok: false, data: error });
        else waiter.reject(new Error("Connection lost."));
        pending.delete(id);
      }
      const reason = event.reason || closedReason;
      const floor = retryAfter ? retryAfter * 1000 : 0;
      closedReason = retryAfter = null;
      if (!tabs.size || !token) return setStatus("idle", "");
      if (TERMINAL.includes(reason)) {
        stopped = reason;
        return setStatus("closed", "", reason);
      }
      // Backoff with jitter: after a server restart thousands of clients lose their socket in
      // the same instant; each waits a random part of its backoff (and at least the server's
      // retry_after when it shed us), so they come back spread out, not all at once.
      const delay = Math.max(floor, backoff / 2) + Math.random() * (backoff / 2 + (floor ? floor / 2 : 0));
      setStatus("reconnecting", reason === "rate_limited"
        ? "This page sent too many messages too fast; reconnecting…"
        : "Connection lost; reconnecting…", reason);
      setTimeout(() => { if (!ws && tabs.size) connect(); }, delay);
      backoff = Math.min(backoff * 2, 30000);
    }

    /** The tabs' states folded into one: on the reel if any tab shows it, visible if any tab is
        shown and focused; sent when that changes, and when a tab reports activity (each tab does at
        most every 30 s, static/rdv/live.js). */
    async function reportState(active) {
      if (!ws || ws.readyState !== WebSocket.OPEN || !user) return;
      const all = [...tabs.values()];
      const state = all.some((tab) => tab.page === "reel") ? "reel" : "browsing";
      const visible = all.some((tab) => tab.visible);
      const changed = !lastState || lastState.state !== state || lastState.visible !== visible;
      if (!changed && !active) return; // each tab sends its activity at most every 30 s
      lastState = { state, visible };
      await own("presence.state", { state, visible, active: Boolean(active) }).catch(() => {});
    }

    function dropTab(port) {
      tabs.delete(port);
      if (tabs.size) return reportState(false);
      clearTimeout(linger);
      linger = setTimeout(() => {
        if (tabs.size || !ws) return;
        // The last tab is gone: the socket closes, and the server forgets the person at once.
        const socket = ws;
        ws = null;
        clearInterval(pinger);
        socket.close(1000, "closed");
        setStatus("idle", "");
      }, LINGER_MS);
    }

    function onMessage(port, message) {
      const tab = tabs.get(port);
      if (tab) tab.seen = Date.now();
      switch (message.op) {
        case "hello": {
          gone.delete(port);
          tabs.set(port, { page: message.page, visible: message.visible, seen: Date.now() });
          available = message.available !== false;
          clearTimeout(linger);
          if (message.token !== token) {
            // Another account (or a new sign-in) in this profile: start again with its token.
            token = message.token;
            stopped = null;
            user = null;
            if (ws) { const old = ws; ws = null; old.close(1000, "new token"); }
          }
          post(port, status);
          if (ws && ws.readyState === WebSocket.OPEN && user) {
            post(port, { op: "connected", user });
            reportState(false);
          } else if (!ws && !stopped) {
            connect();
          }
          return;
        }
        case "state":
          if (!tab) {
            if (gone.has(port)) return; // a closing page's last words (it turns hidden as it goes)
            // A tab taken for gone (silent too long) that is still there: it counts again.
            tabs.set(port, { page: message.page, visible: message.visible, seen: Date.now() });
            clearTimeout(linger);
            if (!ws && !stopped && token) connect();
          } else {
            Object.assign(tab, { page: message.page, visible: message.visible });
          }
          return reportState(message.active);
        case "available":
          available = message.available;
          return;
        case "request": {
          if (!ws || ws.readyState !== WebSocket.OPEN || !user) {
            const error = { type: "error", code: "network", message: "Not connected to the server yet; try again in a moment." };
            return post(port, { op: "reply", id: message.id, ok: false, data: error });
          }
          if (message.type === "presence.set") available = message.fields.available;
          const id = "t" + ++seq;
          const timer = setTimeout(() => {
            pending.delete(id);
            post(port, { op: "reply", id: message.id, ok: false, data: { type: "error", code: "network", message: "The server did not answer; try again." } });
          }, message.timeout || 15000);
          pending.set(id, { port, id: message.id, timer });
          ws.send(JSON.stringify({ ...message.fields, type: message.type, id }));
          return;
        }
        case "send":
          if (ws && ws.readyState === WebSocket.OPEN && user) ws.send(JSON.stringify({ ...message.fields, type: message.type }));
          return;
        case "bye":
          gone.add(port);
          return dropTab(port);
        default:
      }
    }

    // Tabs that vanished without "bye" (a crash, a killed process) stop counting.
    setInterval(() => {
      const now = Date.now();
      for (const [port, tab] of tabs) if (now - tab.seen > TAB_SILENT_MS) dropTab(port);
    }, TAB_SILENT_MS / 3);

    return {
      attach(port) {
        port.addEventListener("message", (event) => onMessage(port, event.data || {}));
        port.addEventListener("close", () => { if (tabs.has(port)) dropTab(port); }); // where browsers tell
        port.start();
      },
    };
  }

  if (typeof SharedWorkerGlobalScope !== "undefined" && self instanceof SharedWorkerGlobalScope) {
    const hub = createHub();
    self.addEventListener("connect", (event) => hub.attach(event.ports[0]));
  } else {
    self.RDVLiveHub = { createHub };
  }
})();
