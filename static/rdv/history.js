/* The history page: my finished calls (GET /api/me/history) and my timer total (GET /api/me);
   introduce a friend to a past partner, or block them. */
"use strict";

(() => {
  const { api, friendly, flash, el, seconds } = RDV;
  const $ = (id) => document.getElementById(id);
  let me = null;
  let next = null;

  function fail(err) {
    if (RDV.isSignedOut(err)) return RDV.signedOut(err);
    $("history-status").textContent = friendly(err);
    flash(friendly(err));
  }

  function entry(call) {
    const item = el("li", { class: "card call", dataset: { room: call.room || "" } });
    const when = new Date(call.started_at);
    item.append(
      el("h2", { class: "call-partner" }, call.partner_name),
      el("p", { class: "muted" }, `${call.chat_mode === "video" ? "Video" : "Text"} call · ${when.toLocaleString()} · ${seconds(call.duration_seconds)}`),
    );
    const endedAt = new Date(when.getTime() + call.duration_seconds * 1000);
    if (call.room && call.partner && RDVMeetAgain.isOpen(endedAt)) item.append(RDVMeetAgain.render(call.room, call.partner_name));
    if (call.partner) {
      const introduce = el("button", { type: "button", class: "secondary introduce" }, `Introduce a friend to ${call.partner_name}`);
      const link = el("p", { class: "introduction", hidden: true });
      introduce.addEventListener("click", async () => {
        introduce.disabled = true;
        try {
          const made = await api("POST", "/api/referrals", { target_user_id: call.partner });
          link.replaceChildren(
            el("span", {}, `Send this link to a friend: they will see ${call.partner_name} first after signing up. `),
            el("a", { href: RDV.safeUrl(made.signup_url) || "#", class: "introduction-link" }, made.signup_url),
          );
          link.hidden = false;
        } catch (err) {
          fail(err);
        } finally {
          introduce.disabled = false;
        }
      });
      const block = el("button", { type: "button", class: "secondary block" }, `Block ${call.partner_name}`);
      block.addEventListener("click", async () => {
        if (!window.confirm(`Block ${call.partner_name}? They are not told. You can unblock them in Settings.`)) return;
        block.disabled = true;
        try {
          await api("POST", "/api/blocks", { user_id: call.partner });
          block.textContent = `${call.partner_name} is blocked`;
        } catch (err) {
          block.disabled = false;
          fail(err);
        }
      });
      item.append(introduce, block, link);
    }
    if (call.messages.length) {
      const details = el("details");
      details.append(el("summary", {}, `${call.messages.length} message${call.messages.length === 1 ? "" : "s"}`));
      const list = el("ol", { class: "messages" });
      for (const message of call.messages) {
        const mine = me && message.sender === me.id;
        const line = el("li", { class: "message " + (message.kind === "system" ? "system" : mine ? "mine" : "theirs") });
        if (message.kind !== "system") line.append(el("span", { class: "who" }, mine ? "You" : call.partner_name));
        if (message.kind === "image") line.append(RDVPhotos.image(message, mine ? "You" : call.partner_name));
        else line.append(el("span", { class: "text" }, message.kind === "gif" ? `GIF: ${message.url || ""}` : message.text || "(shared socials)"));
        list.append(line);
      }
      details.append(list);
      item.append(details);
    } else {
      item.append(el("p", { class: "muted" }, "No messages."));
    }
    return item;
  }

  async function load(url) {
    try {
      const page = await api("GET", url);
      $("history-list").append(...page.results.map(entry));
      next = page.next;
      $("history-more").hidden = !next;
      const count = $("history-list").children.length;
      $("history-status").textContent = count ? "" : "No calls yet. Meet someone from the reel!";
      $("history-list").dataset.count = String(count);
    } catch (err) {
      fail(err);
    }
  }

  $("history-more").addEventListener("click", () => {
    if (next) load(new URL(next, location.href).pathname + new URL(next, location.href).search);
  });

  RDV.startSignedInPage((loaded) => {
    me = loaded;
    $("timer-total").textContent = seconds(me.timer_total_seconds);
    $("timer-total").dataset.seconds = String(me.timer_total_seconds);
    $("session-count").textContent = String(me.session_count);
    $("successful-sessions").textContent = String(me.successful_sessions);
    load("/api/me/history?page_size=20");
  }, fail);
})();
