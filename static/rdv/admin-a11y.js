/* Accessibility fixes for Django's admin that its markup cannot take (templates/admin/base_site.html).
   The "filter horizontal" widget (SelectFilter2.js, run on window load) draws its help icons as
   <span class="help-tooltip" aria-label="…">: a name on an element with no role is ignored by
   screen readers (axe: aria-prohibited-attr). They get role="img", so the name is read. */
"use strict";

window.addEventListener("load", () => {
  // After every other load listener: SelectFilter2's runs after this one was added.
  setTimeout(() => {
    for (const icon of document.querySelectorAll(".help-tooltip[aria-label]:not([role])")) icon.setAttribute("role", "img");
  }, 0);
});
