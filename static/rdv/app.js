/* The home page: sign-up, email verification, the reel, invites and the call itself.
   The live connection is static/rdv/live.js (shared by every page and tab), an incoming
   invite static/rdv/invite.js, the notices every page shows static/rdv/live-notices.js. */
"use strict";

(() => {
  const { api, token, friendly, flash, onSubmit, el, show, safeUrl, seconds } = RDV;
  const $ = (id) => document.getElementById(id);
  const SCREENS = ["loading", "signup", "verify", "banned", "reel", "room", "ended"];

  const state = {
    me: null,
    live: false, // joined the live connection
    room: null, // {room, mode, partner, endsAt, startedAt}
    lastRoom: null, // the room just ended (report form)
    clockOffset: 0, // server time - browser time (ms)
    lastMessageId: 0,
    outgoing: null, // {invite, name, expiresAt}
    reelTimer: null,
  };

  function screen(name) {
    const previous = document.body.dataset.screen;
    for (const id of SCREENS) show(id, id === name);
    const inCall = name === "room" || name === "ended";
    show("report", inCall && Boolean(state.room || state.lastRoom));
    show("block", inCall && Boolean(state.room || state.lastRoom));
    document.body.dataset.screen = name;
    // A new screen is announced by its heading taking focus (the call's screen focuses its
    // message box instead, see enterRoom); not on the first screen of the page.
    if (previous && previous !== name && !["loading", "room"].includes(name) && previous !== "loading") RDVA11y.focusHeading(name);
  }

  const serverNow = () => Date.now() + state.clockOffset;

  function mmss(ms) {
    const total = Math.max(0, Math.ceil(ms / 1000));
    const m = Math.floor(total / 60);
    const s = total % 60;
    return `${String(m).padStart(2, "0")}:${String(s).padStart(2, "0")}`;
  }

  // --- the live connection (static/rdv/live.js: one socket per browser profile, shared by tabs) ---

  const socket = RDVLive; // request(type, fields), send(type, fields), on(type, fn)
  const wsError = RDVLive.wsError;

  function status(text) {
    RDVA11y.setStatus("conn-status", text);
  }

  const HANDLERS = {
      connected: onConnected,
      "presence.update": () => reloadReelSoon(),
      "reel.changed": () => reloadReelSoon(),
      "call.cancelled": (e) => inviteEnded(e, "cancelled"),
      "call.declined": (e) => inviteEnded(e, "declined"),
      "call.expired": (e) => inviteEnded(e, "expired"),
      "room.start": (e) => enterRoom(e, { fresh: true }),
      "room.resume": (e) => enterRoom(e, { fresh: false }),
      "chat.message": (e) => addMessage(e),
      "chat.photo_refused": (e) => RDVPhotos.onRefused(e),
      "chat.typing": onTyping,
      "room.partner_disconnected": () => roomNote("Your partner lost their connection: waiting up to 10 seconds for them."),
      "room.partner_reconnected": () => roomNote("Your partner is back."),
      "room.inactivity_warning": () => roomNote("Say something! A text call ends after 2 minutes of silence."),
      "room.upgrade_requested": onUpgradeRequested,
      "room.upgraded": onUpgraded,
      "room.ended": onRoomEnded,
      "rtc.offer": (e) => video.onOffer(e),
      "rtc.answer": (e) => video.onAnswer(e),
      "rtc.ice": (e) => video.onIce(e),
      "me.metrics": (e) => { Object.assign(state.me, e); },
      "event.settings_changed": () => reloadReelSoon(), // the banner: live-notices.js
  };
  // (match.new, referral.notification, media.review, strikes, errors: live-notices.js, every page)

  /** Connected (the live connection said `presence.set` with the "available" switch already):
      answer an invite accepted on another page, then show the reel. */
  async function onConnected() {
    status(RDVLive.state.text);
    await RDVInvite.acceptPending();
    reloadReel();
  }

  async function setAvailability() {
    RDVLive.setAvailable($("available").checked);
    try {
      await socket.request("presence.set", { available: $("available").checked, modes: ["video", "text"] });
    } catch (err) {
      flash(friendly(err));
    }
  }

  function joinLive() {
    if (state.live) return;
    state.live = true;
    for (const [type, handler] of Object.entries(HANDLERS)) RDVLive.on(type, handler);
    RDVLive.on("status", (message) => status(message.text || ""));
    RDVLive.start({
      page: "reel",
      onClosed: (reason) => {
        if (reason === "banned" || reason === "ip_banned") return showBanned();
        if (reason === "too_many_sockets") return status("Rendezvous is open in too many places: close a tab or another browser, then reload this page.");
        return false; // signed out: live.js's default
      },
    });
  }

  // --- sign-up, login, email verification: static/rdv/signup.js ---------------------------------

  /** Signed up, logged in, verified or given access: `me` is the account now; show its screen. */
  function signedIn(me) {
    state.me = me;
    show("nav");
    route();
  }
  const prefillSignup = () => RDVSignup.bind(signedIn);

  RDV.bindMediaForms((me) => { state.me = me; });

  async function showBanned() {
    screen("banned");
    $("banned-details").hidden = false;
    RDVStrikes.load(); // why, since, until, and the appeal form
    try {
      const ban = await api("GET", "/api/me/ban");
      $("banned-text").textContent =
        `Status: ${ban.ban_status}${ban.review_status ? " (review: " + ban.review_status + ")" : ""}.` +
        (ban.reason ? ` Reason: ${ban.reason.replace(/\.$/, "")}.` : "") + " You cannot meet people while the ban lasts.";
    } catch (err) {
      $("banned-text").textContent = friendly(err);
    }
  }

  function route() {
    const me = state.me;
    if (me.ban_status === "temporary" || me.ban_status === "permanent") return showBanned();
    if (me.access_status === "unpaid") {
      if (me.email) $("verify-email").value = me.email;
      return screen("verify");
    }
    $("me-name").textContent = `· ${me.name}`;
    RDV.showMedia(me);
    screen(state.room ? "room" : "reel");
    if (!state.live) {
      joinLive();
      clearInterval(state.reelTimer);
      state.reelTimer = setInterval(() => { if (document.body.dataset.screen === "reel") reloadReel(); }, 15000);
    }
  }

  async function start() {
    prefillSignup();
    if (!token.get()) return screen("signup");
    try {
      state.me = await api("GET", "/api/me");
    } catch (err) {
      if (RDV.isSignedOut(err)) return RDV.signedOut(err);
      if (err.code === "banned") return showBanned();
      flash(friendly(err), "error", { sticky: true });
      return screen("signup");
    }
    show("nav");
    route();
  }

  // --- the reel ----------------------------------------------------------------------------------

  let reelSoon = null;
  function reloadReelSoon() {
    clearTimeout(reelSoon);
    reelSoon = setTimeout(reloadReel, 300);
  }

  let reelLoading = 0;
  async function reloadReel() {
    if (!state.me || state.me.access_status === "unpaid") return;
    const mine = ++reelLoading;
    const params = new URLSearchParams({ page_size: "50", mode: $("invite-mode").value });
    if ($("reel-near").value) params.set("near", $("reel-near").value);
    let data;
    try {
      data = await api("GET", "/api/reel?" + params.toString());
    } catch (err) {
      if (mine !== reelLoading) return;
      if (RDV.isSignedOut(err)) return RDV.signedOut(err);
      if (err.code === "banned") return showBanned();
      if (err.code === "event_closed") $("reel-list").replaceChildren(); // events.js shows when it opens
      if (err.code === "location_required") {
        RDVA11y.setStatus("reel-status", "Share your location in Settings to filter by distance.");
      } else {
        RDVA11y.setStatus("reel-status", friendly(err));
      }
      return;
    }
    if (mine !== reelLoading) return;
    renderReel(data.results);
  }

  /** A person's reel card, with Invite and Report (the reel, and Call by code). */
  function personCard(person) {
    const item = el("li", { class: "person", dataset: { user: person.id } });
    const selfie = safeUrl(person.selfie_url);
    item.append(selfie ? el("img", { class: "avatar", src: selfie, alt: `${person.name}'s selfie` }) : el("div", { class: "avatar empty", "aria-hidden": "true" }, person.name.slice(0, 1)));
    const info = el("div", { class: "info" });
    info.append(el("h2", { class: "person-name" }, person.name));
    const details = [person.gender !== "unspecified" ? person.gender : null, person.distance || null].filter(Boolean);
    if (details.length) info.append(el("p", { class: "muted" }, details.join(" · ")));
    if (person.introduced) info.append(el("p", { class: "badge" }, "Introduced to you"));
    const videoUrl = safeUrl(person.video_url);
    if (videoUrl) info.append(el("video", { src: videoUrl, controls: true, preload: "none", class: "intro" }));
    item.append(info);
    const button = el("button", { type: "button", class: "invite" }, "Invite");
    button.addEventListener("click", () => invite(person, button));
    const report = el("button", { type: "button", class: "link report-profile" }, "Report");
    report.addEventListener("click", () => openProfileReport(person));
    const actions = el("div", { class: "actions" });
    actions.append(button, report);
    item.append(actions);
    return item;
  }

  function renderReel(people) {
    const list = $("reel-list");
    // Redrawing the list must not drop keyboard focus to the page: back to the same button of
    // the same person, or to the reel's heading when that person left the reel.
    const focused = list.contains(document.activeElement) ? document.activeElement : null;
    const focusedUser = focused && focused.closest("li.person") ? focused.closest("li.person").dataset.user : null;
    const focusedClass = focused ? focused.className : "";
    list.replaceChildren(...people.map(personCard));
    if (focused) {
      const again = [...list.querySelectorAll("li.person")].find((item) => item.dataset.user === focusedUser);
      const button = again && [...again.querySelectorAll("button")].find((b) => b.className === focusedClass);
      if (button) button.focus();
      else RDVA11y.focusHeading("reel");
    }
    list.dataset.count = String(people.length);
    list.dataset.loadedAt = String(Date.now());
    RDVA11y.setStatus("reel-status", people.length
      ? `${people.length} ${people.length === 1 ? "person is" : "people are"} available.`
      : "No one is available right now. Keep this page open: people appear here as they come online.");
  }

  $("available").checked = localStorage.getItem("rdv.available") !== "0";
  $("available").addEventListener("change", () => {
    localStorage.setItem("rdv.available", $("available").checked ? "1" : "0");
    setAvailability();
  });
  $("invite-mode").addEventListener("change", reloadReel);
  $("reel-near").addEventListener("change", reloadReel);
  RDVCallByCode.attach({ card: personCard });

  let reported = null;
  function openProfileReport(person) {
    reported = person;
    $("profile-report-name").textContent = person.name;
    $("profile-report-form").reset();
    $("profile-report").showModal();
  }

  $("profile-report-close").addEventListener("click", () => $("profile-report").close());

  onSubmit($("profile-report-form"), async (data) => {
    if (!reported) return;
    await api("POST", "/api/reports", { reported_user_id: reported.id, category: "profile", text: String(data.get("text") || "").trim() });
    $("profile-report").close();
    flash(`Thank you. Your report about ${reported.name}'s profile was sent to the moderators.`, "info");
    reloadReelSoon(); // people I reported leave my reel
  });

  // --- invites -----------------------------------------------------------------------------------

  let outgoingTimer = null;
  async function invite(person, button) {
    button.disabled = true;
    try {
      const ack = await socket.request("call.invite", {
        to: person.id,
        mode: $("invite-mode").value,
        seconds: Number($("invite-seconds").value),
      });
      state.outgoing = { invite: ack.invite, name: person.name, expiresAt: Date.parse(ack.expires_at) };
      $("outgoing-name").textContent = person.name;
      show("outgoing");
      RDVA11y.announce(`Invite sent. Waiting for ${person.name} to answer, up to ${seconds((state.outgoing.expiresAt - serverNow()) / 1000)}.`);
      clearInterval(outgoingTimer);
      const marks = countdownMarks((n) => `${n} seconds left for ${person.name} to answer.`);
      const tick = () => {
        const left = state.outgoing ? state.outgoing.expiresAt - serverNow() : 0;
        $("outgoing-countdown").textContent = `${Math.max(0, Math.ceil(left / 1000))} s`;
        marks(Math.ceil(left / 1000));
        if (left <= -3000) clearOutgoing();
      };
      tick();
      outgoingTimer = setInterval(tick, 250);
    } catch (err) {
      flash(friendly(err));
    } finally {
      button.disabled = false;
      RDVA11y.refocus(button);
    }
  }

  function clearOutgoing() {
    state.outgoing = null;
    clearInterval(outgoingTimer);
    show("outgoing", false);
  }

  $("outgoing-cancel").addEventListener("click", async () => {
    if (!state.outgoing) return;
    try {
      await socket.request("call.cancel", { invite: state.outgoing.invite });
      clearOutgoing();
      flash("Invite cancelled.", "info");
      reloadReelSoon();
    } catch (err) {
      flash(friendly(err));
    }
  });

  const countdownMarks = RDVInvite.countdownMarks;
  RDVInvite.setClock(serverNow);
  RDVInvite.onAnswered(() => reloadReelSoon()); // an invite I declined, or could not accept

  /** My invite answered or gone (an incoming one: invite.js). */
  function inviteEnded(event, how) {
    if (state.outgoing && state.outgoing.invite === event.invite) {
      const name = state.outgoing.name;
      clearOutgoing();
      const text = { declined: `${name} declined your invite.`, expired: `${name} did not answer in time: the invite expired.`, cancelled: "Invite cancelled." }[how];
      flash(text, "info");
    }
    reloadReelSoon();
  }

  // --- the room ----------------------------------------------------------------------------------

  let roomTimer = null;
  function enterRoom(event, { fresh }) {
    if (fresh && event.started_at) state.clockOffset = Date.parse(event.started_at) - Date.now();
    if (Math.abs(state.clockOffset) < 1500) state.clockOffset = 0; // same clock; latency is not skew
    clearOutgoing();
    RDVInvite.close();
    const sameRoom = state.room && state.room.room === event.room;
    state.room = {
      room: event.room,
      mode: event.mode,
      partner: event.partner,
      endsAt: Date.parse(event.ends_at),
      startedAt: Date.parse(event.started_at),
    };
    state.lastRoom = state.room;
    if (!sameRoom) {
      $("messages").replaceChildren();
      state.lastMessageId = 0;
    }
    for (const message of event.messages || []) addMessage(message);
    $("room-partner").textContent = event.partner.name;
    $("report-name").textContent = event.partner.name;
    $("block-name").textContent = event.partner.name;
    $("block-partner").disabled = false;
    $("block-note").textContent = "They are not told. A call with them ends now, and you will not see or hear from each other until you unblock them in Settings.";
    const selfie = safeUrl(event.partner.selfie_url);
    $("room-selfie").hidden = !selfie;
    if (selfie) $("room-selfie").src = selfie;
    setMode(event.mode);
    roomNote(fresh ? `${seconds(event.duration_seconds)} call` : "Reconnected to your call.");
    show("upgrade-accept", false);
    screen("room");
    clearInterval(roomTimer);
    RDVA11y.setStatus("room-time-warning", "");
    const tick = () => {
      if (!state.room) return;
      showUpgradeRequest();
      const left = state.room.endsAt - serverNow();
      $("room-timer").textContent = mmss(left);
      $("room-timer").classList.toggle("low", left < 15000);
      // In words, not only in red (read once as each threshold is crossed: a live region).
      RDVA11y.setStatus("room-time-warning", left < 15000 ? "Less than 15 seconds left." : left < 60000 && state.room.endsAt - state.room.startedAt > 60000 ? "Less than a minute left." : "");
    };
    tick();
    roomTimer = setInterval(tick, 250);
    $("message-text").focus();
  }

  function setMode(mode) {
    state.room.mode = mode;
    $("room-mode").textContent = mode === "video" ? "Video" : "Text";
    showUpgradeRequest();
    if (mode === "video") video.start();
  }

  // A text call may ask for video after its first minute (the server refuses earlier):
  // until then the button is replaced by a note saying when.
  const UPGRADE_AFTER_MS = 60000;
  function showUpgradeRequest() {
    const room = state.room;
    const text = Boolean(room) && room.mode === "text";
    const early = text && serverNow() - room.startedAt < UPGRADE_AFTER_MS;
    RDVPhotos.show(text && room);
    show("upgrade-request", text && !early);
    show("upgrade-wait", early);
  }

  function roomNote(text) {
    RDVA11y.setStatus("room-note", text);
  }

  function addMessage(message) {
    if (message.message_id > state.lastMessageId) state.lastMessageId = message.message_id;
    const list = $("messages");
    if (list.querySelector(`[data-id="${CSS.escape(String(message.message_id))}"]`)) return;
    const mine = state.me && message.sender === state.me.id;
    let item = message.client_id ? list.querySelector(`[data-client-id="${CSS.escape(message.client_id)}"]`) : null;
    if (!item) {
      item = el("li", { class: "message" });
      list.append(item);
    }
    item.replaceChildren();
    item.className = "message " + (message.kind === "system" ? "system" : mine ? "mine" : "theirs");
    item.dataset.id = String(message.message_id);
    if (message.client_id) item.dataset.clientId = message.client_id;
    const who = message.kind === "system" ? "" : mine ? "You" : (state.room || state.lastRoom || { partner: { name: "" } }).partner.name;
    if (who) item.append(el("span", { class: "who" }, who));
    if (message.kind === "gif" && safeUrl(message.url)) {
      item.append(el("img", { src: safeUrl(message.url), alt: "GIF", class: "gif" }));
    } else if (message.kind === "image") {
      item.append(RDVPhotos.image(message, who));
    } else if (message.socials) {
      const text = Object.entries(message.socials).map(([network, handle]) => `${RDV.networkLabel(network)}: ${handle}`).join(" · ");
      item.append(el("span", { class: "text" }, `${mine ? "You shared" : "Shared"} socials: ${text || "(none)"}`));
    } else {
      item.append(el("span", { class: "text" }, message.text || ""));
    }
    if (!mine && message.screened) item.append(botherButton(message));
    list.scrollTop = list.scrollHeight;
    RDVA11y.setStatus("typing", "");
  }

  /** Screening masked or flagged this message: one tap reports it, the room's messages attached. */
  function botherButton(message) {
    const button = el("button", { type: "button", class: "link bother" }, "Does this bother you?");
    button.addEventListener("click", async () => {
      const target = state.room || state.lastRoom;
      if (!target) return;
      button.disabled = true;
      try {
        await api("POST", "/api/reports", {
          reported_user_id: target.partner.id,
          category: "harassment",
          text: `"Does this bother you?": yes, about message ${message.message_id}.`,
          room_id: target.room,
        });
        button.textContent = "Reported. Thank you.";
      } catch (err) {
        button.disabled = false;
        flash(friendly(err));
      }
    });
    return button;
  }

  /** A link to a GIF on an allowed host (GIF_HOSTS) is sent as a GIF message. */
  function isGifUrl(text) {
    const hosts = (document.body.dataset.gifHosts || "").split(",").filter(Boolean);
    try {
      const url = new URL(text);
      return url.protocol === "https:" && hosts.includes(url.hostname) && !/\s/.test(text);
    } catch (err) {
      return false;
    }
  }

  function newClientId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
  }

  $("message-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const input = $("message-text");
    const text = input.value.trim();
    if (!text || !state.room) return;
    const clientId = newClientId();
    const item = el("li", { class: "message mine pending", dataset: { clientId } });
    item.append(el("span", { class: "who" }, "You"), el("span", { class: "text" }, text));
    $("messages").append(item);
    input.value = "";
    sendMessage(item, clientId, text);
  });

  /** Send (or send again: the same client_id, so the server stores it once) one message. */
  async function sendMessage(item, clientId, text) {
    if (!state.room) return;
    const body = isGifUrl(text) ? { gif_url: text } : { text };
    item.classList.add("pending");
    item.classList.remove("failed");
    item.querySelectorAll(".error, .resend").forEach((node) => node.remove());
    try {
      const ack = await socket.request("chat.message", { room: state.room.room, client_id: clientId, ...body });
      item.classList.remove("pending");
      if (!item.dataset.id) item.dataset.id = String(ack.message_id);
    } catch (err) {
      item.classList.remove("pending");
      item.classList.add("failed");
      item.append(el("span", { class: "error" }, " — not sent: " + friendly(err) + " "));
      const resend = el("button", { type: "button", class: "link resend" }, "Send again");
      resend.addEventListener("click", () => sendMessage(item, clientId, text));
      item.append(resend);
      flash(friendly(err));
    }
  }

  let lastTyping = 0;
  $("message-text").addEventListener("input", () => {
    if (!state.room || Date.now() - lastTyping < 3000) return;
    lastTyping = Date.now();
    socket.send("chat.typing", { room: state.room.room });
  });

  let typingTimer = null;
  function onTyping() {
    RDVA11y.setStatus("typing", `${state.room ? state.room.partner.name : "They"} is typing…`);
    clearTimeout(typingTimer);
    typingTimer = setTimeout(() => RDVA11y.setStatus("typing", ""), 4000);
  }

  async function roomRequest(type, doneText) {
    if (!state.room) return;
    try {
      await socket.request(type, { room: state.room.room });
      if (doneText) roomNote(doneText);
    } catch (err) {
      flash(friendly(err));
    }
  }

  $("end-call").addEventListener("click", () => roomRequest("room.end"));
  $("share-socials").addEventListener("click", () => roomRequest("room.share_socials", "Your socials were shared."));
  $("upgrade-request").addEventListener("click", () => roomRequest("room.upgrade_request", "Asked your partner to switch to video."));
  $("upgrade-accept").addEventListener("click", () => roomRequest("room.upgrade_accept"));

  function onUpgradeRequested(event) {
    if (state.me && event.by === state.me.id) return;
    show("upgrade-accept");
    roomNote(`${state.room ? state.room.partner.name : "Your partner"} would like to switch to video.`);
  }

  function onUpgraded(event) {
    if (!state.room || event.room !== state.room.room) return;
    show("upgrade-accept", false);
    roomNote("Switched to video.");
    setMode("video");
  }

  const ENDED = {
    timer: "Time's up! The call reached its length.",
    user_ended: "The call was ended.",
    disconnect: "Your partner lost their connection, so the call ended.",
    inactivity: "The call ended after 2 minutes of silence.",
    banned: "The call was ended by moderation.",
    account_deleted: "Your partner deleted their account.",
  };

  function onRoomEnded(event) {
    if (!state.room || event.room !== state.room.room) return;
    const ended = state.room;
    clearInterval(roomTimer);
    video.stop();
    state.lastRoom = ended;
    state.room = null;
    const spent = Math.max(0, Math.min(serverNow(), ended.endsAt) - ended.startedAt);
    $("ended-text").textContent = `${ENDED[event.reason] || "The call ended."} You talked with ${ended.partner.name} for ${seconds(spent / 1000)}. You won't see each other in the reel for a while, unless you both say you'd meet again.`;
    $("ended").dataset.reason = event.reason;
    $("block-note").textContent = "They are not told, and you will not see or hear from each other until you unblock them in Settings.";
    $("ended-meet-again").replaceChildren(RDVMeetAgain.render(ended.room, ended.partner.name, { answer: null, match: null }));
    screen("ended");
    RDVA11y.announce($("ended-text").textContent); // read after the heading that took focus
  }

  $("back-to-reel").addEventListener("click", () => {
    screen("reel");
    reloadReel();
  });

  onSubmit($("report-form"), async (data) => {
    const target = state.room || state.lastRoom;
    if (!target) throw new Error("There is no one to report.");
    await api("POST", "/api/reports", {
      reported_user_id: target.partner.id,
      category: data.get("category"),
      text: String(data.get("text") || "").trim(),
      room_id: target.room,
    });
    $("report-form").reset();
    $("report").open = false;
    flash(`Thank you. Your report about ${target.partner.name} was sent to the moderators.`, "info");
  });

  // Block from the call screen (or the "call ended" screen): a live call with them ends now,
  // as if I had pressed End call (room.ended arrives as for any end).
  $("block-partner").addEventListener("click", async () => {
    const target = state.room || state.lastRoom;
    if (!target) return;
    const name = target.partner.name;
    if (!window.confirm(`Block ${name}? They are not told. You can unblock them in Settings.`)) return;
    $("block-partner").disabled = true;
    try {
      await api("POST", "/api/blocks", { user_id: target.partner.id });
      flash(`You blocked ${name}.`, "info");
    } catch (err) {
      $("block-partner").disabled = false;
      flash(friendly(err));
    }
  });

  // --- video (optional: the text chat always works): static/rdv/call-video.js ------------------

  const video = RDVCallVideo.create({ room: () => state.room, me: () => state.me });

  // Leaving the page while in a call: the call ends unless the person is back within 10 s.
  window.addEventListener("beforeunload", (event) => {
    if (state.room) {
      event.preventDefault();
      event.returnValue = "";
    }
  });

  document.addEventListener("DOMContentLoaded", start);
})();
