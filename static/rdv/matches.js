/* The Matches page: people who said yes to each other after a call (GET /api/matches), the
   socials each chose to share (PUT /api/matches/<id>/socials), unmatch (DELETE; not told). */
"use strict";

(() => {
  const { api, friendly, flash, el } = RDV;
  const $ = (id) => document.getElementById(id);
  const NETWORKS = ($("matches").dataset.networks || "").split(",").filter(Boolean);
  let me = null;
  let next = null;

  function fail(err) {
    if (RDV.isSignedOut(err)) return RDV.signedOut(err);
    flash(friendly(err));
  }

  function socialsList(socials) {
    const entries = Object.entries(socials);
    if (!entries.length) return el("p", { class: "muted partner-socials" }, "They have not shared any socials with you yet.");
    const list = el("ul", { class: "partner-socials" });
    for (const [network, handle] of entries) list.append(el("li", {}, `${RDV.networkLabel(network)}: ${handle}`));
    return list;
  }

  function shareForm(match) {
    const form = el("form", { class: "share-form" });
    const mine = me.socials || {};
    form.append(el("p", {}, "Show them my:"));
    for (const network of NETWORKS) {
      const box = el("input", { type: "checkbox", name: "networks", value: network });
      box.checked = match.shared_networks.includes(network);
      box.disabled = !mine[network];
      form.append(el("label", { class: "inline" }, ""));
      form.lastChild.append(box, document.createTextNode(` ${RDV.networkLabel(network)}${mine[network] ? ` (${mine[network]})` : " (not set in Settings)"}`));
    }
    const save = el("button", { type: "submit", class: "secondary share-save" }, "Save what I share");
    form.append(save);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const networks = [...form.querySelectorAll("input[name=networks]:checked")].map((box) => box.value);
      save.disabled = true;
      try {
        const updated = await api("PUT", `/api/matches/${match.id}/socials`, { networks });
        match.shared_networks = updated.shared_networks;
        flash(networks.length ? `${match.partner.name} now sees your ${networks.join(", ")}.` : `${match.partner.name} sees none of your socials.`, "info");
      } catch (err) {
        fail(err);
      } finally {
        save.disabled = false;
      }
    });
    return form;
  }

  function entry(match) {
    const item = el("li", { class: "card match", dataset: { match: match.id } });
    const selfie = RDV.safeUrl(match.partner.selfie_url);
    if (selfie) item.append(el("img", { src: selfie, alt: "", class: "match-selfie" }));
    item.append(
      el("h2", { class: "match-partner" }, match.partner.name),
      el("p", { class: "muted" }, `Matched ${new Date(match.created_at).toLocaleString()}`),
      socialsList(match.partner_socials),
      shareForm(match),
    );
    const unmatch = el("button", { type: "button", class: "danger unmatch" }, "Unmatch");
    unmatch.addEventListener("click", async () => {
      if (!confirm(`Unmatch ${match.partner.name}? They will not be told, and you leave each other's Matches.`)) return;
      unmatch.disabled = true;
      try {
        await api("DELETE", `/api/matches/${match.id}`);
        item.remove();
        status();
      } catch (err) {
        unmatch.disabled = false;
        fail(err);
      }
    });
    item.append(unmatch);
    return item;
  }

  function status() {
    const count = $("match-list").children.length;
    $("matches-status").textContent = count ? "" : "No matches yet. After a call, say \"I'd meet again\": if they say so too, you match.";
    $("match-list").dataset.count = String(count);
  }

  async function load(url) {
    try {
      const page = await api("GET", url);
      $("match-list").append(...page.results.map(entry));
      next = page.next;
      $("matches-more").hidden = !next;
      status();
    } catch (err) {
      fail(err);
    }
  }

  $("matches-more").addEventListener("click", () => {
    if (next) load(new URL(next, location.href).pathname + new URL(next, location.href).search);
  });

  RDV.startSignedInPage((loaded) => {
    me = loaded;
    load("/api/matches?page_size=20");
  }, fail);
})();
