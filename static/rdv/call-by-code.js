/* Call by code, on the reel: a friend's invite or introduction code (POST /api/reel/by-code)
   shows their reel card when they are someone I could call right now, with the reel's own
   Invite button (the same call.invite, which checks every rule again). Any other code gets the
   server's one sentence in the status line, whatever the reason. */
"use strict";

const RDVCallByCode = (() => {
  const { api, onSubmit } = RDV;
  const $ = (id) => document.getElementById(id);

  /** Wire the form; `card(person)` draws a reel card with its Invite button (app.js). */
  function attach({ card }) {
    onSubmit($("call-by-code-form"), async (data) => {
      const result = $("call-by-code-card");
      result.replaceChildren();
      RDVA11y.setStatus("call-by-code-status", "");
      let person;
      try {
        person = await api("POST", "/api/reel/by-code", { code: String(data.get("code") || ""), mode: $("invite-mode").value });
      } catch (err) {
        if (err.code !== "no_one_with_code") throw err; // input, limits, event mode: the form's error line
        RDVA11y.setStatus("call-by-code-status", err.message);
        return;
      }
      result.append(card(person));
      RDVA11y.setStatus("call-by-code-status", `${person.name} can take a call now.`);
    });
  }

  return { attach };
})();
