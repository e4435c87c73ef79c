/* WCAG 1.4.11 (non-text contrast), which axe does not check: the border that shows where a text
   box, select or text area is must have 3:1 against the background around it. Evaluated by
   tests/a11y_support.py in the page; returns the controls that fail (at most 6). */
() => {
  const rgb = (text) => (text.match(/[\d.]+/g) || []).map(Number);
  const luminance = ([r, g, b]) => {
    const [R, G, B] = [r, g, b].map((c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * R + 0.7152 * G + 0.0722 * B;
  };
  const ratio = (a, b) => { const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
  const backdrop = (node) => {
    for (let n = node.parentElement; n; n = n.parentElement) {
      const color = rgb(getComputedStyle(n).backgroundColor);
      if (color.length === 3 || color[3] > 0) return color.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const selector = "input:not([type=checkbox]):not([type=radio]):not([type=hidden]):not([type=submit]):not([type=button]):not([type=file]), select, textarea";
  const found = [];
  for (const control of document.querySelectorAll(selector)) {
    const style = getComputedStyle(control);
    if (!control.getClientRects().length || style.visibility === "hidden") continue;
    if (parseFloat(style.borderBottomWidth) === 0) continue;
    const border = rgb(style.borderBottomColor);
    const around = backdrop(control);
    const value = ratio(border.slice(0, 3), around);
    if (value < 3) found.push({target: control.id ? "#" + control.id : control.name || control.tagName, ratio: value.toFixed(2), against: "rgb(" + around.join(",") + ")"});
  }
  return found.slice(0, 6);
}
