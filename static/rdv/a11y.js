/* Rendezvous web client: what keyboard and screen-reader users need on every page
   (docs/accessibility.md). Loaded before common.js; no dependencies.

   - focusHeading(section): after a screen change, focus goes to the new screen's heading
     (made focusable with tabindex="-1"), so its title is read and Tab continues from there.
   - announce(text, {urgent}): a sentence read by screen readers without moving focus, through
     the two visually hidden live regions of base.html (#announce-polite, #announce-urgent).
   - setStatus(node, text): a live region's text, written only when it changes (a reel reloaded
     every 15 s with the same count is not read again).
   - fieldError(form, field, text) / clearFieldErrors(form): an error tied to its field
     (aria-invalid, aria-describedby to the message under the form) and focused.
   - refocus(node): focus back on a button that lost it by being disabled while it worked. */
"use strict";

const RDVA11y = (() => {
  /** Focus the first heading of `section` (an element or an id); the section itself without one. */
  function focusHeading(section) {
    const root = typeof section === "string" ? document.getElementById(section) : section;
    if (!root) return;
    const target = root.matches("h1, h2") ? root : root.querySelector("h1, h2") || root;
    if (!target.hasAttribute("tabindex")) target.setAttribute("tabindex", "-1");
    target.focus();
  }

  let clearTimer = null;
  /** Read `text` out politely (after what is being read), or at once when `urgent`. The region is
      emptied first and written a moment later: the same sentence twice is then read twice. */
  function announce(text, { urgent = false } = {}) {
    const region = document.getElementById(urgent ? "announce-urgent" : "announce-polite");
    if (!region || !text) return;
    region.textContent = "";
    setTimeout(() => {
      region.textContent = text;
    }, 60);
    clearTimeout(clearTimer);
    clearTimer = setTimeout(() => {
      for (const id of ["announce-polite", "announce-urgent"]) {
        const node = document.getElementById(id);
        if (node) node.textContent = "";
      }
    }, 8000);
  }

  /** Set a live region's text only when it differs: an unchanged status is not read again. */
  function setStatus(node, text) {
    if (typeof node === "string") node = document.getElementById(node);
    if (node && node.textContent !== text) node.textContent = text;
  }

  /** The message slot under `form` (.form-error), with an id fields can point to. */
  function errorSlot(form) {
    const slot = form.querySelector(".form-error");
    if (slot && !slot.id) slot.id = (form.id || "form") + "-error";
    return slot;
  }

  /** Mark `field` (an element, or a name in the form) invalid, described by the form's error
      message, and focus it; without a field the message itself gets focus. */
  function fieldError(form, field, text) {
    const slot = errorSlot(form);
    if (slot) {
      slot.textContent = text;
      slot.hidden = false;
    }
    const control = typeof field === "string" ? form.elements.namedItem(field) : field;
    const target = control && control.nodeType === 1 && control.type !== "hidden" ? control : null;
    if (target) {
      target.setAttribute("aria-invalid", "true");
      if (slot) target.setAttribute("aria-describedby", slot.id);
      target.focus();
    } else if (slot) {
      slot.setAttribute("tabindex", "-1");
      slot.focus();
    }
  }

  function clearFieldErrors(form) {
    for (const control of form.querySelectorAll("[aria-invalid]")) {
      control.removeAttribute("aria-invalid");
      const slot = errorSlot(form);
      if (slot && control.getAttribute("aria-describedby") === slot.id) control.removeAttribute("aria-describedby");
    }
  }

  /** Give focus back to `node` when it fell to the page (a focused button that was disabled
      while it worked loses focus) and nothing else took it meanwhile. */
  function refocus(node) {
    const lost = !document.activeElement || document.activeElement === document.body;
    if (lost && node && node !== document.body && node.isConnected && !node.closest("[hidden]")) node.focus();
  }

  return { focusHeading, announce, setStatus, fieldError, clearFieldErrors, refocus };
})();
