/* The waitlist page: join (name, school, state, email), then type the emailed 6-digit code. */
"use strict";

(() => {
  const { api, flash, onSubmit, show } = RDV;
  const $ = (id) => document.getElementById(id);

  document.addEventListener("DOMContentLoaded", () => {
    onSubmit($("waitlist-form"), async (data) => {
      const body = {
        name: String(data.get("name") || "").trim(),
        school: String(data.get("school") || "").trim(),
        state: String(data.get("state") || "").trim(),
        email: String(data.get("email") || "").trim(),
      };
      const result = await api("POST", "/api/waitlist", body);
      $("waitlist-verify-email").value = body.email;
      show("waitlist-verify-form");
      $("waitlist-code").focus();
      flash(result.message, "info");
    });
    onSubmit($("waitlist-verify-form"), async (data) => {
      const result = await api("POST", "/api/waitlist/verify", { email: data.get("email"), code: String(data.get("code") || "").trim() });
      show("waitlist-form", false);
      show("waitlist-verify-form", false);
      $("waitlist-done").textContent = result.message;
      show("waitlist-done");
    });
  });
})();
