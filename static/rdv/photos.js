/* Photos in text calls: the "Send a photo" control, the sender's "being checked" item, and
   showing a photo inline (call view and history page). A photo has no public URL: its bytes are
   fetched from /api/photos/<id> with the token and shown from a blob: URL. The server decides
   everything (who may send, size, screening); refusals are its sentences, read out in the
   call's status region. */
"use strict";

const RDVPhotos = (() => {
  const { api, el, token, friendly } = RDV;
  const PHOTO_PATH = /^\/api\/photos\/[0-9a-f-]{36}$/;
  let room = null; // the live text call (app.js hands it over), or null

  function status(text) {
    RDVA11y.setStatus("room-note", text);
  }

  /** The photo of a message (kind "image"), loaded with the token; a sentence if it cannot be. */
  function image(message, who) {
    const figure = el("figure", { class: "photo" });
    const note = el("span", { class: "text muted" }, "Loading the photo…");
    figure.append(note);
    if (!PHOTO_PATH.test(message.url || "")) {
      note.textContent = "This photo is no longer kept.";
      return figure;
    }
    fetch(message.url, { headers: { Authorization: "Bearer " + token.get() }, credentials: "omit" })
      .then((response) => (response.ok ? response.blob() : Promise.reject(response)))
      .then((blob) => {
        const img = el("img", { src: URL.createObjectURL(blob), alt: who === "You" ? "Your photo" : who ? `Photo from ${who}` : "Photo", class: "photo" });
        note.replaceWith(img);
      })
      .catch(() => { note.textContent = "This photo is no longer kept."; });
    return figure;
  }

  /** The sender's own item until screening answers (chat.message replaces it: same client_id). */
  function pendingItem(file, clientId) {
    const item = el("li", { class: "message mine pending", dataset: { clientId } });
    const preview = el("img", { src: URL.createObjectURL(file), alt: "Your photo (being checked)", class: "photo checking" });
    item.append(el("span", { class: "who" }, "You"), preview, el("span", { class: "text muted" }, "Photo being checked…"));
    const list = document.getElementById("messages");
    list.append(item);
    list.scrollTop = list.scrollHeight;
    return item;
  }

  function failed(item, sentence, prefix = "") {
    item.classList.remove("pending");
    item.classList.add("failed");
    item.querySelectorAll(".text, img").forEach((node) => node.remove());
    item.append(el("span", { class: "error" }, prefix + sentence));
    status(sentence);
  }

  async function send(file) {
    if (!room || !file) return;
    const clientId = "photo-" + (crypto.randomUUID ? crypto.randomUUID() : String(Date.now()));
    const item = pendingItem(file, clientId);
    const form = new FormData();
    form.append("file", file);
    form.append("client_id", clientId);
    try {
      await api("POST", `/api/calls/${encodeURIComponent(room.room)}/photos`, form);
      status("Your photo is being checked; your partner sees it once it passes.");
    } catch (err) {
      failed(item, friendly(err), "Photo not sent: ");
    }
  }

  /** chat.photo_refused: screening found nudity; the partner never got it. */
  function onRefused(event) {
    const list = document.getElementById("messages");
    const item = event.client_id && list.querySelector(`[data-client-id="${CSS.escape(event.client_id)}"]`);
    if (item) failed(item, event.message);
    else status(event.message);
  }

  /** app.js: the live text call, or null/false outside one (the control is shown in text calls only). */
  function show(liveTextRoom) {
    room = liveTextRoom || null;
    const form = document.getElementById("photo-form");
    if (form) form.hidden = !room;
  }

  function bind() {
    const input = document.getElementById("photo-file");
    if (!input) return;
    input.addEventListener("change", () => {
      const [file] = input.files;
      input.value = "";
      send(file);
    });
  }

  document.addEventListener("DOMContentLoaded", bind);
  return { image, onRefused, show };
})();
