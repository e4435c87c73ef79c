/* What the live connection tells a person on every page (static/rdv/live.js): a match, an
   introduction, a moderator's decision on their media, strikes and appeals, event changes.
   The call page adds its own reactions (the reel, the call) in app.js. */
"use strict";

(() => {
  const { flash, friendly } = RDV;

  const MEDIA_REVIEW = {
    hidden: "Your {media} is hidden while a moderator reviews it; others cannot see it until then.",
    restored: "A moderator reviewed your {media}: it is visible again.",
    removed: "A moderator removed your {media}: it broke the rules on nudity.",
  };

  function onMatch(event) {
    flash(`It's a match! You and ${event.partner.name} both want to meet again: see Matches.`, "info");
    // The "meet again?" box of that call, wherever it is shown (the call-ended screen, History).
    for (const box of document.querySelectorAll(`.meet-again[data-room="${CSS.escape(event.room)}"]`)) {
      box.replaceWith(RDVMeetAgain.render(event.room, event.partner.name, { answer: "yes", match: { id: event.match } }));
    }
    document.dispatchEvent(new CustomEvent("rdv:match", { detail: event }));
  }

  const strikes = (event) => { if (typeof RDVStrikes !== "undefined") RDVStrikes.onEvent(event); };

  RDVLive.on("match.new", onMatch);
  RDVLive.on("referral.notification", (e) => flash(`${e.referred_name || "Someone"} was introduced to you by ${e.introduced_by_name || "a friend"}: they see you first in their reel.`, "info"));
  RDVLive.on("media.review", (e) => flash(MEDIA_REVIEW[e.status].replace("{media}", e.media === "video" ? "intro video" : "selfie"), "info"));
  RDVLive.on("strike.new", strikes);
  RDVLive.on("report.outcome", strikes);
  RDVLive.on("appeal.decided", strikes);
  RDVLive.on("event.settings_changed", (e) => { if (typeof RDVEvents !== "undefined") RDVEvents.update(e.status); });
  RDVLive.on("error", (e) => flash(friendly(RDVLive.wsError(e)), "error")); // an answer nobody waits for (a relay refused)
})();
