/* The call page's way in (app.js): sign-up (with an invite code or an introduction link
   prefilled from the address), login, @usc.edu email verification, and redeeming an invite
   code. Each success hands the account to the page (`done(me)`), which shows its screen. */
"use strict";

const RDVSignup = (() => {
  const { api, token, flash, onSubmit, show } = RDV;
  const $ = (id) => document.getElementById(id);
  let done = () => {};
  let bound = false;

  /** Prefill the sign-up form and call `onDone(me)` after each sign-in or access change. */
  function bind(onDone) {
    done = onDone;
    if (bound) return;
    bound = true;
    prefillSignup();
  }

  function prefillSignup() {
    const params = new URLSearchParams(location.search);
    if (params.get("invite")) $("signup-invite").value = params.get("invite");
    if (params.get("ref")) {
      $("signup-referral").value = params.get("ref");
      show("signup-referral-note");
    }
  }

  onSubmit($("signup-form"), async (data) => {
    const body = {
      name: String(data.get("name") || "").trim(),
      gender: data.get("gender"),
      terms_accepted: $("signup-terms").checked,
    };
    if (String(data.get("invite_code") || "").trim()) body.invite_code = String(data.get("invite_code")).trim().toUpperCase();
    if (data.get("referral_code")) body.referral_code = data.get("referral_code");
    if (!body.name) throw RDV.invalid("name", "Enter your first name.");
    if (!body.gender) throw RDV.invalid("gender", "Choose your gender, or “Prefer not to say”.");
    if (!body.terms_accepted) throw RDV.invalid("terms_accepted", "Accept the terms to continue.");
    const result = await api("POST", "/api/auth/signup", body);
    signedIn(result);
  });

  onSubmit($("login-form"), async (data) => {
    const result = await api("POST", "/api/auth/login", { email: data.get("email"), password: data.get("password") });
    signedIn(result);
  });

  function signedIn(result) {
    token.set(result.token);
    history.replaceState(null, "", "/");
    done(result.user);
  }

  onSubmit($("email-form"), async (data) => {
    const email = String(data.get("email") || "").trim();
    await api("POST", "/api/me/email", { email });
    show("code-form");
    $("verify-code").focus();
    flash(`We sent a 6-digit code to ${email}. It is valid for 10 minutes.`, "info");
  });

  onSubmit($("code-form"), async (data) => {
    const me = await api("POST", "/api/me/email/verify", { code: String(data.get("code") || "").trim() });
    flash("Email verified. Welcome!", "info");
    done(me);
  });

  onSubmit($("redeem-form"), async (data) => {
    done(await api("POST", "/api/me/invite-code/redeem", { code: String(data.get("code") || "").trim().toUpperCase() }));
  });

  return { bind };
})();
