/* My strikes, their appeals and the outcomes of my reports (templates/_strikes.html), used by
   the ban screen (app.js calls RDVStrikes.load()) and the settings page (loads itself). */
"use strict";

const RDVStrikes = (() => {
  const $ = (id) => document.getElementById(id);
  const ACTIONS = { warning: "Warning", suspension: "Suspension", ban: "Permanent ban" };
  const APPEALS = {
    pending: "Your appeal is waiting for a moderator.",
    upheld: "Your appeal was reviewed; the decision stands.",
    overturned: "Your appeal was accepted; the decision was reversed.",
  };
  const day = (iso) => new Date(iso).toLocaleString();

  function until(strike) {
    if (strike.status === "overturned") return "Reversed.";
    if (strike.action === "ban") return "Permanent.";
    if (strike.action === "suspension") return strike.ends_at ? `Until ${day(strike.ends_at)}.` : "Until a moderator reviews it.";
    return "";
  }

  function appealForm(strike, item) {
    const form = RDV.el("form", { class: "appeal-form" });
    const id = `appeal-text-${strike.id}`;
    form.append(
      RDV.el("label", { for: id }, `Appeal (until ${day(strike.appeal_until)}): tell the moderators why this decision is wrong`),
      RDV.el("textarea", { id, name: "text", maxlength: "2000", required: "", rows: "3" }),
      RDV.el("button", { type: "submit" }, "Appeal"),
    );
    RDV.onSubmit(form, async (data) => {
      const appeal = await RDV.api("POST", `/api/me/strikes/${strike.id}/appeal`, { text: String(data.get("text") || "") });
      form.replaceWith(RDV.el("p", { class: "appeal" }, APPEALS[appeal.status]));
      RDV.flash("Your appeal was sent. A moderator who did not take the decision will review it.", "info");
    });
    item.append(form);
  }

  function entry(strike) {
    const item = RDV.el("li", { class: "strike", dataset: { strike: String(strike.id) } });
    item.append(
      RDV.el("strong", {}, `${ACTIONS[strike.action] || strike.action} on ${day(strike.created_at)}. `),
      RDV.el("span", {}, until(strike) + " "),
      RDV.el("p", { class: "reason" }, `Why: ${strike.reason}`),
    );
    if (strike.appeal) {
      const decided = strike.appeal.decision_reason ? ` ${strike.appeal.decision_reason}` : "";
      item.append(RDV.el("p", { class: "appeal" }, APPEALS[strike.appeal.status] + decided));
    } else if (strike.status !== "overturned" && new Date(strike.appeal_until) > new Date()) {
      appealForm(strike, item);
    } else if (strike.status !== "overturned") {
      item.append(RDV.el("p", { class: "muted" }, `The time to appeal ended on ${day(strike.appeal_until)}.`));
    }
    return item;
  }

  async function loadStrikes() {
    const list = $("strike-list");
    if (!list) return [];
    const page = await RDV.api("GET", "/api/me/strikes?page_size=50");
    list.replaceChildren(...page.results.map(entry));
    $("strike-empty").hidden = page.results.length > 0;
    return page.results;
  }

  async function loadOutcomes() {
    const list = $("report-outcome-list");
    if (!list) return;
    const page = await RDV.api("GET", "/api/me/report-outcomes?page_size=50");
    list.replaceChildren(...page.results.map((r) =>
      RDV.el("li", { class: "report-outcome " + r.outcome }, `Your ${r.category} report of ${day(r.created_at)}: ${r.message}`)));
    $("report-outcome-empty").hidden = page.results.length > 0;
  }

  /** The ban screen: the standing sanction's reason, since and until, then the list with the appeal form. */
  async function load() {
    try {
      const strikes = await loadStrikes();
      const standing = strikes.find((s) => s.action !== "warning" && s.status === "active");
      const text = $("banned-why");
      if (text && standing) text.textContent = `Why: ${standing.reason} Since ${day(standing.created_at)}. ${until(standing)}`;
      await loadOutcomes();
    } catch (err) {
      if (RDV.isSignedOut(err)) return RDV.signedOut(err);
      RDV.flash(RDV.friendly(err), "error");
    }
  }

  /** Live events: a pushed decision or outcome re-reads the lists (the database is the truth). */
  function onEvent(event) {
    const said = {
      "strike.new": "A moderator made a decision about your account: see Settings → Moderation decisions.",
      "report.outcome": event.message,
      "appeal.decided": APPEALS[event.status],
    }[event.type];
    if (said) RDV.flash(said, "info", { sticky: true });
    if ($("strike-list") || $("report-outcome-list")) load();
  }

  if (document.body.dataset.page === "settings") document.addEventListener("DOMContentLoaded", load);
  return { load, onEvent };
})();
