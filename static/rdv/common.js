/* Rendezvous web client: what every page shares (token, API calls, error messages).
   No build step, no framework. User content is only ever set with textContent. */
"use strict";

const RDV = (() => {
  const TOKEN_KEY = "rdv.token";

  class ApiError extends Error {
    constructor(status, body, retryAfter) {
      const error = (body && body.error) || {};
      super(error.message || `Request failed (${status}).`);
      this.status = status;
      this.code = error.code || (status === 0 ? "network" : "http_" + status);
      this.fields = error.fields || null;
      this.retryAfter = error.retry_after || retryAfter || null;
      this.extra = error;
    }
  }

  const token = {
    get: () => localStorage.getItem(TOKEN_KEY),
    set: (value) => localStorage.setItem(TOKEN_KEY, value),
    clear: () => localStorage.removeItem(TOKEN_KEY),
  };

  /** fetch the API: JSON in (or FormData), JSON out; throws ApiError with the error body. */
  async function api(method, path, body) {
    const headers = { Accept: "application/json" };
    const bearer = token.get();
    if (bearer) headers.Authorization = "Bearer " + bearer;
    let payload;
    if (body instanceof FormData) {
      payload = body;
    } else if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      payload = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(path, { method, headers, body: payload, credentials: "omit" });
    } catch (err) {
      throw new ApiError(0, { error: { code: "network", message: "Cannot reach the server. Check your connection." } });
    }
    if (response.status === 204) return null;
    const type = response.headers.get("Content-Type") || "";
    const data = type.includes("json") ? await response.json().catch(() => null) : null;
    if (!response.ok) throw new ApiError(response.status, data, Number(response.headers.get("Retry-After")) || null);
    return data;
  }

  function seconds(n) {
    n = Math.max(0, Math.round(Number(n) || 0));
    if (n < 60) return `${n} s`;
    if (n < 3600) return `${Math.floor(n / 60)} min${n % 60 ? " " + (n % 60) + " s" : ""}`;
    const minutes = Math.floor((n % 3600) / 60);
    return `${Math.floor(n / 3600)} h${minutes ? " " + minutes + " min" : ""}`;
  }

  /** How a social network is written ("LinkedIn", "TikTok"; the server's list, on <body>). */
  function networkLabel(network) {
    for (const pair of (document.body.dataset.networkLabels || "").split(",")) {
      const [key, label] = pair.split("=");
      if (key === network && label) return label;
    }
    return network;
  }

  /** Field errors as sentences. Ours say what they are about; a generic one ("This field is
      required.") gets the field's name in front; nested ones (socials.x) the inner key's. */
  function fieldMessages(value, label) {
    if (Array.isArray(value)) return value.flatMap((item) => fieldMessages(item, label));
    if (value && typeof value === "object") {
      return Object.entries(value).flatMap(([key, inner]) =>
        fieldMessages(inner, key === "non_field_errors" || /^\d+$/.test(key) ? label : key));
    }
    const text = String(value);
    if (!label || !/^(This field|Ensure this|Not a valid|A valid|Enter a valid|This value)/.test(text)) return [text];
    const name = networkLabel(label).replace(/_/g, " ");
    return [name.charAt(0).toUpperCase() + name.slice(1) + ": " + text];
  }

  /** A sentence a person understands, for an API or WebSocket error code. */
  function friendly(err) {
    const code = err.code;
    const wait = err.retryAfter || err.retry_after;
    const messages = {
      network: "Cannot reach the server. Check your connection and try again.",
      banned: `Your account is banned${err.extra && err.extra.ban_status ? " (" + err.extra.ban_status + ")" : ""}. You cannot use Rendezvous while the ban lasts.`,
      ip_banned: "This network is blocked from Rendezvous.",
      rate_limited: `Too many attempts. Please wait ${wait ? seconds(wait) : "a little"} and try again.`,
      too_fast: `Slow down: wait ${wait ? seconds(wait) : "a moment"} before sending again.`,
      on_cooldown: "You two met or passed recently: you can't call each other again yet.",
      invite_expired: "That invite expired: invites last 20 seconds.",
      invite_not_found: "That invite no longer exists.",
      invite_not_pending: "That invite was already answered, cancelled or expired.",
      invite_pending: "There is already an invite waiting between you and someone else. Wait for it to end.",
      not_available: "They are not available right now.",
      busy: "They are in another call right now.",
      already_in_room: "You are already in a call.",
      room_ended: "This call has ended.",
      not_a_member: "You are not in this call.",
      not_in_room: "You are not in a call.",
      no_access: "Your account does not have access yet: verify your @usc.edu email or use an invite code.",
      requires_invite_code: "You need an invite code to sign up (from a friend or a campus poster).",
      invalid_invite_code: "That invite code is not valid.",
      own_invite_code: "You cannot use your own invite code.",
      invite_code_already_used: "You already used that invite code.",
      invite_code_exhausted: "That invite code has no uses left.",
      invalid_referral_code: "That introduction link is not valid.",
      name_not_allowed: "That name cannot be used.",
      invalid_code: "That code is wrong or expired. Check the email or ask for a new code.",
      email_taken: "That email address already belongs to another account.",
      email_not_verified: "Verify an email address first.",
      invalid_credentials: "Wrong email or password.",
      not_authenticated: "Please sign in again.",
      invalid_token: "Your session has ended. Please sign in again.",
      account_expired: "Your guest account has expired (guest accounts last 7 days).",
      not_found: err.message || "Not found.",
      not_allowed_now: err.message || "That is not allowed right now.",
      event_closed: typeof RDVEvents !== "undefined" ? RDVEvents.closedText(err.extra && err.extra.next_start) : err.message,
      server_error: "Something went wrong on our side; try again.",
      http_404: "This feature is not available on this server yet.",
    };
    let text = messages[code] || err.message || "Something went wrong.";
    if (err.fields) {
      // Each sentence once: a field message that repeats the code's own sentence is left out,
      // and "Some fields are not valid." gives way to the fields' own sentences.
      const details = [...new Set(fieldMessages(err.fields, ""))].filter((line) => !text.includes(line));
      if (code === "invalid" && details.length) text = details.join(" ");
      else if (details.length) text += " " + details.join(" ");
    }
    return text;
  }

  let flashTimer = null;
  /** Show a message at the top of the page (kind: "error" | "info"); screen readers hear it
      (errors at once) unless `announce` is false, e.g. when focus goes to the field it is about. */
  function flash(text, kind = "error", { sticky = false, announce = true } = {}) {
    const box = document.getElementById("flash");
    if (!box) return;
    if (announce) RDVA11y.announce(text, { urgent: kind === "error" });
    box.textContent = text;
    box.className = "flash " + kind;
    box.dataset.kind = kind;
    box.hidden = false;
    clearTimeout(flashTimer);
    if (!sticky) flashTimer = setTimeout(() => { box.hidden = true; }, kind === "error" ? 12000 : 6000);
  }

  function clearFlash() {
    const box = document.getElementById("flash");
    if (box) box.hidden = true;
  }

  /** An Error about one field of a form (its name): formError marks and focuses that field. */
  function invalid(field, message) {
    return Object.assign(new Error(message), { field });
  }

  /** The field an error is about: the one named by invalid(), the first the API's `fields`
      names, or one whose data-error-codes lists the error's code (e.g. invalid_invite_code). */
  function errorField(form, err) {
    if (err.field) return err.field;
    const names = err.fields && typeof err.fields === "object" ? Object.keys(err.fields) : [];
    const named = names.find((name) => form.elements.namedItem(name));
    if (named) return named;
    return err.code ? [...form.elements].find((c) => (c.dataset.errorCodes || "").split(" ").includes(err.code)) || null : null;
  }

  /** An error under a form, tied to its field (aria-invalid, aria-describedby) and focused, so
      it is read with the field; also shown (not read again) in the flash area. */
  function formError(form, err) {
    const text = typeof err === "string" ? err : err instanceof ApiError ? friendly(err) : String(err.message || err);
    RDVA11y.fieldError(form, typeof err === "string" ? null : errorField(form, err), text);
    flash(text, "error", { announce: false });
  }

  function clearFormError(form) {
    const slot = form.querySelector(".form-error");
    if (slot) slot.hidden = true;
    RDVA11y.clearFieldErrors(form);
  }

  /** Run an async submit handler with the form's buttons disabled and errors shown. */
  function onSubmit(form, handler) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearFormError(form);
      const buttons = form.querySelectorAll("button");
      const before = document.activeElement;
      buttons.forEach((b) => { b.disabled = true; });
      try {
        await handler(new FormData(form), form);
      } catch (err) {
        if (err instanceof ApiError && isSignedOut(err)) return signedOut(err);
        formError(form, err);
      } finally {
        buttons.forEach((b) => { b.disabled = false; });
        RDVA11y.refocus(before); // a disabled button drops focus to the page
      }
    });
  }

  function isSignedOut(err) {
    return ["invalid_token", "not_authenticated", "account_expired"].includes(err.code);
  }

  /** The session is gone: forget the token and go back to sign-up with the reason. */
  function signedOut(err) {
    token.clear();
    sessionStorage.setItem("rdv.signedOutReason", err ? friendly(err) : "");
    if (document.body.dataset.page !== "home") location.href = "/";
    else location.reload();
  }

  function el(tag, attrs = {}, text) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "dataset") Object.assign(node.dataset, value);
      else node.setAttribute(key, value === true ? "" : value);
    }
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  /** Only http(s) URLs from our API go into src/href. */
  function safeUrl(url) {
    if (!url) return null;
    try {
      const parsed = new URL(url, location.href);
      return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.href : null;
    } catch (err) {
      return null;
    }
  }

  function show(id, visible = true) {
    const node = document.getElementById(id);
    if (node) node.hidden = !visible;
  }

  async function signOut() {
    try {
      await api("POST", "/api/auth/logout");
    } catch (err) {
      /* signing out locally is enough */
    }
    token.clear();
    location.href = "/";
  }

  /** On pages that need a session: redirect to sign-up without one. */
  function requireToken() {
    if (!token.get()) {
      location.href = "/";
      return false;
    }
    return true;
  }

  /** A page that needs a session: once the DOM is ready, load GET /api/me and call start(me);
      no token → sign-up; the call failing → onError(err). */
  function startSignedInPage(start, onError) {
    document.addEventListener("DOMContentLoaded", async () => {
      if (!requireToken()) return;
      let me;
      try {
        me = await api("GET", "/api/me");
      } catch (err) {
        return onError(err);
      }
      start(me);
    });
  }

  /** Selfie and video upload forms (#selfie-form, #video-form), on any page that has them. */
  function bindMediaForms(onMe) {
    for (const kind of ["selfie", "video"]) {
      const form = document.getElementById(kind + "-form");
      if (!form) continue;
      onSubmit(form, async (data) => {
        const file = data.get("file");
        if (!file || !file.size) throw new Error(`Choose a ${kind === "selfie" ? "picture" : "video"} first.`);
        const body = new FormData();
        body.append("file", file);
        const me = await api("PUT", `/api/me/${kind}`, body);
        form.reset();
        showMedia(me);
        if (onMe) onMe(me);
        flash(kind === "selfie" ? "Selfie saved." : "Intro video saved.", "info");
      });
    }
  }

  function showMedia(me) {
    const selfie = document.getElementById("selfie-preview");
    const selfieUrl = safeUrl(me.selfie_url);
    if (selfie) {
      selfie.hidden = !selfieUrl;
      if (selfieUrl) selfie.src = selfieUrl;
    }
    const video = document.getElementById("video-preview");
    const videoUrl = safeUrl(me.video_url);
    if (video) {
      video.hidden = !videoUrl;
      if (videoUrl && video.src !== videoUrl) video.src = videoUrl;
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    const nav = document.getElementById("nav");
    if (nav && token.get()) nav.hidden = false;
    const out = document.getElementById("sign-out");
    if (out) out.addEventListener("click", signOut);
    const reason = sessionStorage.getItem("rdv.signedOutReason");
    if (reason) {
      sessionStorage.removeItem("rdv.signedOutReason");
      flash(reason, "error");
    }
  });

  return { ApiError, token, api, friendly, networkLabel, flash, clearFlash, formError, invalid, onSubmit, isSignedOut, signedOut, el, safeUrl, show, seconds, requireToken, startSignedInPage, bindMediaForms, showMedia };
})();
