/* Event mode in the web client: the banner with the countdown to the next window, the RSVP
   form, and the reel's closed state. Reads GET /api/events/status (public) and refreshes on
   the WebSocket's event.settings_changed (app.js calls RDVEvents.update). No inline code. */
"use strict";

const RDVEvents = (() => {
  const { api, el, flash, friendly, onSubmit, token } = RDV;
  let status = null;
  let tick = null;

  const $ = (id) => document.getElementById(id);

  function localTime(iso) {
    const zone = status && status.timezone;
    const options = { weekday: "short", month: "short", day: "numeric", hour: "numeric", minute: "2-digit" };
    try {
      return new Date(iso).toLocaleString(undefined, { ...options, timeZone: zone || undefined, timeZoneName: "short" });
    } catch (err) {
      return new Date(iso).toLocaleString();
    }
  }

  function countdown(toIso) {
    const left = Math.max(0, Math.round((new Date(toIso) - Date.now()) / 1000));
    const d = Math.floor(left / 86400);
    const h = Math.floor((left % 86400) / 3600);
    const m = Math.floor((left % 3600) / 60);
    const s = left % 60;
    return (d ? `${d} d ` : "") + `${String(h).padStart(2, "0")}:${String(m).padStart(2, "0")}:${String(s).padStart(2, "0")}`;
  }

  /** The closed reel's sentence (also used by friendly() for the event_closed error). */
  function closedText(nextStart) {
    if (!nextStart) return "Rendezvous is open during events only.";
    return `Rendezvous is open during events only. Next opening: ${localTime(nextStart)} (in ${countdown(nextStart)}).`;
  }

  function render() {
    const banner = $("event-banner");
    if (!banner || !status) return;
    if (!status.enabled) {
      banner.hidden = true;
      show("event-closed", false);
      show("rsvp", false);
      return;
    }
    banner.hidden = false;
    $("event-title").textContent = status.title || "Rendezvous events";
    $("event-text").textContent = status.banner || "";
    const open = status.current;
    const target = open ? open.end : status.next && status.next.start;
    $("event-when").textContent = open
      ? `Open now, until ${localTime(open.end)}`
      : status.next ? `Next event: ${localTime(status.next.start)} – ${localTime(status.next.end)}` : "";
    $("event-countdown-label").textContent = open ? "Closes in" : "Opens in";
    $("event-countdown").textContent = target ? countdown(target) : "–";
    banner.dataset.state = open ? "open" : "closed";
    const closedForMe = !status.open && status.may_enter !== true;
    show("event-closed", closedForMe && Boolean(token.get()));
    if (closedForMe) $("event-closed-text").textContent = closedText(status.next && status.next.start);
    show("rsvp", Boolean(token.get()));
    fillRsvpLimits();
  }

  function show(id, visible) {
    const node = $(id);
    if (node) node.hidden = !visible;
  }

  function fillRsvpLimits() {
    const date = $("rsvp-date");
    const time = $("rsvp-time");
    if (!date || !time || !status) return;
    const today = new Date().toLocaleDateString("en-CA", { timeZone: status.timezone }); // YYYY-MM-DD
    const max = new Date(Date.parse(today + "T12:00:00Z") + 30 * 86400000).toISOString().slice(0, 10);
    date.min = today;
    date.max = max;
    if (!date.value) date.value = (status.next && status.next.date) || today;
    time.min = status.window_start;
    time.max = status.window_end;
    if (!time.value) time.value = status.window_start;
    $("rsvp-window").textContent = `${status.window_start}–${status.window_end} (${status.timezone})`;
  }

  async function refresh() {
    try {
      status = await api("GET", "/api/events/status");
    } catch (err) {
      return; // the banner is a hint; the server enforces the window
    }
    render();
  }

  /** event.settings_changed from the socket: the public part is pushed; re-read may_enter. */
  function update(pushed) {
    status = { ...(status || {}), ...pushed };
    render();
    refresh();
  }

  async function loadMine() {
    const list = $("rsvp-mine");
    if (!list || !token.get()) return;
    let rows;
    try {
      rows = await api("GET", "/api/events/rsvp");
    } catch (err) {
      return;
    }
    list.replaceChildren(...rows.map((r) => el("li", {}, `${r.date} at ${r.preferred_time}`)));
  }

  /** The sign-up form links to the waitlist while no invite code is typed in. */
  function bindWaitlistLink() {
    const invite = $("signup-invite");
    if (!invite) return;
    const sync = () => show("waitlist-link", !invite.value.trim());
    invite.addEventListener("input", sync);
    sync();
    setTimeout(sync, 0); // after app.js filled ?invite= in
  }

  document.addEventListener("DOMContentLoaded", () => {
    bindWaitlistLink();
    refresh();
    setInterval(refresh, 60000);
    tick = setInterval(() => {
      if (!status || !status.enabled) return;
      const target = status.current ? status.current.end : status.next && status.next.start;
      if (target && new Date(target) <= Date.now()) return refresh();
      if (target) $("event-countdown").textContent = countdown(target);
      if (!$("event-closed").hidden) $("event-closed-text").textContent = closedText(status.next && status.next.start);
    }, 1000);
    const form = $("rsvp-form");
    if (form) {
      onSubmit(form, async (data) => {
        const row = await api("POST", "/api/events/rsvp", { date: data.get("date"), preferred_time: data.get("preferred_time") });
        flash(`See you on ${row.date} around ${row.preferred_time}.`, "info");
        loadMine();
      });
      loadMine();
    }
  });

  return { update, refresh, closedText, status: () => status, friendly };
})();
