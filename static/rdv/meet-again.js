/* "I'd meet again?" after a call (PUT /api/rooms/<id>/meet-again): used on the call-ended
   screen and on the history page. Only my own answer is ever shown; a match is announced. */
"use strict";

const RDVMeetAgain = (() => {
  const { api, friendly, el } = RDV;

  function describe(state, partnerName) {
    if (state.match) return `It's a match! You and ${partnerName} both want to meet again: see Matches.`;
    if (state.answer === "yes") return `You said you'd meet ${partnerName} again. If they say so too, you'll both be told. You can change your mind until then.`;
    if (state.answer === "no") return "You said no. You can change your mind for 24 hours after the call.";
    return `Would you meet ${partnerName} again? Only a mutual yes is ever told.`;
  }

  /** A block with the question, yes/no buttons and the state; `initial` skips the first GET. */
  function render(roomId, partnerName, initial) {
    const box = el("div", { class: "meet-again", dataset: { room: roomId } });
    const text = el("p", { class: "meet-again-text", role: "status" });
    const yes = el("button", { type: "button", class: "meet-again-yes" }, "I'd meet again");
    const no = el("button", { type: "button", class: "secondary meet-again-no" }, "No thanks");
    const matches = el("a", { href: "/matches", class: "meet-again-matches", hidden: true }, "Open my matches");
    box.append(text, yes, no, matches);

    function paint(state) {
      text.textContent = describe(state, partnerName);
      box.dataset.answer = state.answer || "";
      box.dataset.matched = state.match ? "1" : "";
      yes.hidden = no.hidden = Boolean(state.match);
      yes.setAttribute("aria-pressed", String(state.answer === "yes"));
      no.setAttribute("aria-pressed", String(state.answer === "no"));
      matches.hidden = !state.match;
    }

    async function answer(value) {
      const pressed = document.activeElement;
      yes.disabled = no.disabled = true;
      try {
        paint(await api("PUT", `/api/rooms/${roomId}/meet-again`, { answer: value }));
      } catch (err) {
        text.textContent = err.code === "meet_again_closed" ? "Answers are taken for 24 hours after a call; this one is closed." : friendly(err);
        if (err.code === "meet_again_closed") yes.hidden = no.hidden = true;
      } finally {
        yes.disabled = no.disabled = false;
        RDVA11y.refocus(pressed); // disabling the pressed button dropped focus to the page
      }
    }

    yes.addEventListener("click", () => answer("yes"));
    no.addEventListener("click", () => answer("no"));
    if (initial) {
      paint(initial);
    } else {
      paint({ answer: null, match: null });
      api("GET", `/api/rooms/${roomId}/meet-again`).then(paint).catch((err) => { text.textContent = friendly(err); });
    }
    return box;
  }

  /** Whether a call that ended at `endedAt` (a Date) is still open for answers. */
  const WINDOW_MS = 24 * 3600 * 1000;
  const isOpen = (endedAt) => Date.now() - endedAt.getTime() < WINDOW_MS;

  return { render, isOpen };
})();
