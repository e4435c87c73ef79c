/* An incoming invite, on every page (the dialog of templates/_incoming.html): who invites, for
   what call, a 20-second countdown read out at 10 and 5 s, Accept and Decline; focus moves into
   the dialog and its summary is announced; Escape declines. Accepting on the call page answers
   at once; on any other page it goes to the call page, which answers as soon as its connection
   is up (RDVInvite.acceptPending), and the call starts there. */
"use strict";

const RDVInvite = (() => {
  const { friendly, flash, safeUrl, seconds } = RDV;
  const $ = (id) => document.getElementById(id);
  const PENDING_KEY = "rdv.acceptInvite";
  const onCallPage = () => document.body.dataset.page === "home";
  let incoming = null;
  let timer = null;
  let serverNow = () => Date.now();
  const answered = []; // the call page's reactions to an invite answered or gone (reload the reel)

  /** Countdown marks read out once each (10 s and 5 s left), whatever the tick rate. */
  const COUNTDOWN_MARKS = [10, 5];
  function countdownMarks(sentence) {
    let said = null;
    return (left) => {
      if (said === null) said = new Set(COUNTDOWN_MARKS.filter((m) => m >= left)); // passed before it showed
      const due = COUNTDOWN_MARKS.filter((m) => left <= m && !said.has(m));
      if (!due.length) return;
      due.forEach((m) => said.add(m));
      RDVA11y.announce(sentence(Math.min(...due)));
    };
  }

  function nearestLength(wanted) {
    const options = [...$("incoming-seconds").options].map((o) => Number(o.value));
    return options.includes(wanted) ? wanted : options.reduce((a, b) => (Math.abs(b - wanted) < Math.abs(a - wanted) ? b : a));
  }

  function open(event) {
    incoming = event;
    const caller = event.caller || {};
    const name = caller.name || "Someone";
    $("incoming-name").textContent = name;
    $("incoming-mode").textContent = event.mode;
    $("incoming-length").textContent = seconds(event.seconds);
    const selfie = safeUrl(caller.selfie_url);
    $("incoming-selfie").hidden = !selfie;
    if (selfie) $("incoming-selfie").src = selfie;
    $("incoming-seconds").value = String(nearestLength(event.seconds));
    const expiresAt = Date.parse(event.expires_at);
    clearInterval(timer);
    const marks = countdownMarks((n) => `${n} seconds left to answer ${caller.name || "the invite"}.`);
    const tick = () => {
      const left = Math.ceil((expiresAt - serverNow()) / 1000);
      $("incoming-countdown").textContent = String(Math.max(0, left));
      marks(left);
      if (left <= 0) {
        close();
        flash("The invite expired: invites last 20 seconds.", "info");
      }
    };
    tick();
    timer = setInterval(tick, 250);
    const dialog = $("incoming");
    if (!dialog.open) dialog.showModal(); // focus moves into the dialog
    RDVA11y.announce(`${name} invites you to a ${event.mode} call of ${seconds(event.seconds)}. Accept or decline within 20 seconds.`, { urgent: true });
  }

  function close() {
    clearInterval(timer);
    incoming = null;
    const dialog = $("incoming");
    if (dialog && dialog.open) dialog.close();
  }

  function ended(event, how) {
    if (!incoming || incoming.invite !== event.invite) return;
    close();
    flash(how === "cancelled" ? "The invite was withdrawn." : "The invite expired.", "info");
  }

  async function accept() {
    const invite = incoming;
    if (!invite) return;
    const length = Number($("incoming-seconds").value);
    if (!onCallPage()) {
      // The call happens on the call page: it answers once its connection is up.
      sessionStorage.setItem(PENDING_KEY, JSON.stringify({ invite: invite.invite, seconds: length, expires_at: invite.expires_at }));
      close();
      RDVA11y.announce("Joining the call…");
      location.href = "/";
      return;
    }
    $("incoming-accept").disabled = true;
    try {
      await RDVLive.request("call.accept", { invite: invite.invite, seconds: length });
      close();
    } catch (err) {
      close();
      flash(friendly(err));
      answered.forEach((fn) => fn());
    } finally {
      $("incoming-accept").disabled = false;
    }
  }

  async function decline() {
    const invite = incoming;
    if (!invite) return;
    close();
    try {
      await RDVLive.request("call.decline", { invite: invite.invite });
      flash("Invite declined.", "info");
    } catch (err) {
      flash(friendly(err));
    }
    answered.forEach((fn) => fn());
  }

  /** On the call page, once connected: answer an invite accepted on another page. */
  async function acceptPending() {
    const raw = sessionStorage.getItem(PENDING_KEY);
    if (!raw) return;
    sessionStorage.removeItem(PENDING_KEY);
    let pending;
    try {
      pending = JSON.parse(raw);
    } catch (err) {
      return;
    }
    try {
      await RDVLive.request("call.accept", { invite: pending.invite, seconds: pending.seconds });
    } catch (err) {
      flash(friendly(err));
      answered.forEach((fn) => fn());
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    const dialog = $("incoming");
    if (!dialog) return;
    dialog.addEventListener("cancel", (event) => {
      event.preventDefault(); // Esc declines explicitly instead of leaving the invite hanging
      decline();
    });
    $("incoming-accept").addEventListener("click", accept);
    $("incoming-decline").addEventListener("click", decline);
  });

  RDVLive.on("call.incoming", open);
  RDVLive.on("call.cancelled", (e) => ended(e, "cancelled"));
  RDVLive.on("call.expired", (e) => ended(e, "expired"));
  RDVLive.on("room.start", close);
  RDVLive.on("room.resume", close);

  return {
    countdownMarks,
    close,
    acceptPending,
    onAnswered: (fn) => answered.push(fn),
    setClock: (fn) => { serverNow = fn; },
    get current() { return incoming; },
  };
})();
