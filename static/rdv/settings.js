/* Settings: my invite code (QR, sign-up link), profile, socials, Instagram posts, uploads,
   who I want to meet, the people I blocked, location consent, and the account itself. */
"use strict";

(() => {
  const { api, friendly, flash, onSubmit, seconds, el } = RDV;
  const $ = (id) => document.getElementById(id);
  let me = null;

  function fail(err) {
    if (RDV.isSignedOut(err)) return RDV.signedOut(err);
    flash(friendly(err));
  }

  async function loadInviteCode() {
    try {
      const code = await api("GET", "/api/me/invite-code");
      $("invite-code").textContent = code.code;
      $("invite-uses").textContent = code.uses_remaining === null ? "(unlimited uses)" : `(${code.uses_remaining} of ${code.max_uses} uses left)`;
      const link = RDV.safeUrl(code.signup_url);
      $("invite-link").textContent = code.signup_url;
      if (link) $("invite-link").href = link;
      $("invite-code-box").hidden = false;
      // The QR code needs the bearer token, so it is fetched, not linked.
      const response = await fetch("/api/me/invite-code.png", { headers: { Authorization: "Bearer " + RDV.token.get() } });
      if (response.ok) $("invite-qr").src = URL.createObjectURL(await response.blob());
    } catch (err) {
      if (err.code === "not_found") {
        $("invite-locked").textContent = "You get your own invite code (4 uses) once your account is verified, or after 4 calls of at least 30 seconds.";
        $("invite-locked").hidden = false;
      } else {
        fail(err);
      }
    }
  }

  async function loadIntroductions() {
    try {
      const page = await api("GET", "/api/referrals/notifications?page_size=20");
      $("introduction-list").replaceChildren(
        ...page.results.map((n) =>
          RDV.el("li", { class: n.read ? "" : "unread" }, `${n.referred_name}, introduced by ${n.introduced_by_name} (${new Date(n.created_at).toLocaleDateString()})`)),
      );
      $("introduction-empty").hidden = page.results.length > 0;
      if (page.results.some((n) => !n.read)) await api("POST", "/api/referrals/notifications/read", {});
    } catch (err) {
      fail(err);
    }
  }

  $("invite-copy").addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText($("invite-link").textContent);
      flash("Link copied.", "info");
    } catch (err) {
      flash("Copy the link by hand: your browser refused the clipboard.");
    }
  });

  function fillProfile() {
    $("profile-name").value = me.name;
    $("profile-gender").value = me.gender;
    for (const input of document.querySelectorAll("input.social")) input.value = (me.socials || {})[input.dataset.network] || "";
    $("profile-instagram").value = (me.instagram_posts || []).join("\n");
    RDV.showMedia(me);
    $("location-status").textContent = me.location_consent ? "You share your location." : "You do not share your location.";
    const kind = me.account_type === "permanent" ? "Permanent account" : `Guest account (expires ${new Date(me.account_expires_at).toLocaleDateString()})`;
    $("account-status").textContent = `${kind}${me.email ? " · " + me.email : ""} · ${seconds(me.timer_total_seconds)} of calls.`;
    $("permanent-form").hidden = me.account_type === "permanent" || !me.email_verified;
    $("email-box").hidden = Boolean(me.email_verified);
    fillMeet();
    $("discoverable-browsing").checked = me.discoverable_while_browsing !== false;
  }

  // Saved as soon as it is changed; the server applies it at once.
  $("discoverable-browsing").addEventListener("change", async () => {
    const box = $("discoverable-browsing");
    box.disabled = true;
    try {
      me = await api("PATCH", "/api/me", { discoverable_while_browsing: box.checked });
      flash(me.discoverable_while_browsing
        ? "Saved: people can find you while you browse other pages."
        : "Saved: people find you only while the reel or a call is open.", "info");
    } catch (err) {
      box.checked = !box.checked;
      fail(err);
    } finally {
      box.disabled = false;
      RDVA11y.refocus(box);
    }
  });

  function fillMeet() {
    const genders = me.meet_genders || ["everyone"];
    for (const input of document.querySelectorAll("input[name=meet_genders]")) input.checked = genders.includes(input.value);
    const modes = me.meet_modes || ["text", "video"];
    for (const input of document.querySelectorAll("input[name=meet_modes]")) input.checked = modes.includes(input.value);
  }

  // "Everyone" and the single choices exclude each other, as the API reads them.
  $("meet-everyone").addEventListener("change", () => {
    if ($("meet-everyone").checked) {
      for (const input of document.querySelectorAll("input[name=meet_genders]")) input.checked = input.value === "everyone";
    }
  });
  for (const input of document.querySelectorAll("input[name=meet_genders]:not([value=everyone])")) {
    input.addEventListener("change", () => { if (input.checked) $("meet-everyone").checked = false; });
  }

  onSubmit($("meet-form"), async (data) => {
    me = await api("PATCH", "/api/me", { meet_genders: data.getAll("meet_genders"), meet_modes: data.getAll("meet_modes") });
    fillMeet();
    flash("Saved: your reel now follows your choice.", "info");
  });

  let blocksNext = null;

  function blockEntry(block) {
    const person = block.user;
    const unblock = RDV.el("button", { type: "button", class: "secondary unblock" }, "Unblock");
    const item = RDV.el("li", { class: "blocked", dataset: { user: person.id } }, `${person.name} (blocked ${new Date(block.created_at).toLocaleDateString()}) `);
    unblock.addEventListener("click", async () => {
      unblock.disabled = true;
      try {
        await api("DELETE", `/api/blocks/${encodeURIComponent(person.id)}`);
        item.remove();
        $("block-empty").hidden = $("block-list").children.length > 0;
        flash(`You unblocked ${person.name}.`, "info");
      } catch (err) {
        unblock.disabled = false;
        fail(err);
      }
    });
    item.append(unblock);
    return item;
  }

  async function loadBlocks(url) {
    try {
      const page = await api("GET", url);
      $("block-list").append(...page.results.map(blockEntry));
      blocksNext = page.next;
      $("block-more").hidden = !blocksNext;
      $("block-empty").hidden = $("block-list").children.length > 0;
    } catch (err) {
      fail(err);
    }
  }

  $("block-more").addEventListener("click", () => {
    if (blocksNext) loadBlocks(new URL(blocksNext, location.href).pathname + new URL(blocksNext, location.href).search);
  });

  onSubmit($("profile-form"), async (data) => {
    const socials = {};
    for (const input of document.querySelectorAll("input.social")) socials[input.dataset.network] = input.value.trim();
    const posts = String(data.get("instagram_posts") || "").split(/\s+/).map((line) => line.trim()).filter(Boolean);
    me = await api("PATCH", "/api/me", {
      name: String(data.get("name") || "").trim(),
      gender: data.get("gender"),
      socials,
      instagram_posts: posts,
    });
    fillProfile();
    flash("Profile saved.", "info");
  });

  RDV.bindMediaForms((updated) => { me = updated; });

  $("location-share").addEventListener("click", () => {
    if (!navigator.geolocation) return flash("Your browser cannot share a location.");
    $("location-status").textContent = "Asking your browser for your location…";
    navigator.geolocation.getCurrentPosition(
      async (position) => {
        try {
          const { latitude, longitude, accuracy } = position.coords;
          const saved = await api("PUT", "/api/me/location", { latitude, longitude, accuracy_m: Math.min(accuracy || 0, 50000) });
          me.location_consent = true;
          $("location-status").textContent = `You share your location (until ${new Date(saved.expires_at).toLocaleString()}).`;
        } catch (err) {
          fail(err);
          $("location-status").textContent = friendly(err);
        }
      },
      (error) => {
        $("location-status").textContent = "Location not shared: " + (error.message || "permission denied") + ".";
      },
      { enableHighAccuracy: false, timeout: 15000 },
    );
  });

  $("location-stop").addEventListener("click", async () => {
    try {
      await api("DELETE", "/api/me/location");
      me.location_consent = false;
      $("location-status").textContent = "You do not share your location. It was deleted.";
    } catch (err) {
      fail(err);
    }
  });

  onSubmit($("email-form"), async (data) => {
    const email = String(data.get("email") || "").trim();
    await api("POST", "/api/me/email", { email });
    $("code-form").hidden = false;
    flash(`We sent a 6-digit code to ${email}. It is valid for 10 minutes.`, "info");
  });

  onSubmit($("code-form"), async (data) => {
    me = await api("POST", "/api/me/email/verify", { code: String(data.get("code") || "").trim() });
    $("code-form").reset();
    $("code-form").hidden = true;
    fillProfile();
    flash("Email verified.", "info");
  });

  onSubmit($("permanent-form"), async (data) => {
    me = await api("POST", "/api/me/make-permanent", { password: data.get("password") });
    $("permanent-form").reset();
    fillProfile();
    flash("Your account is permanent: log in with your email and password.", "info");
  });

  $("logout-everywhere").addEventListener("click", async () => {
    try {
      await api("POST", "/api/auth/logout-everywhere");
    } catch (err) {
      /* signed out locally anyway */
    }
    RDV.token.clear();
    location.href = "/";
  });

  $("delete-account").addEventListener("click", async () => {
    if (!window.confirm("Delete your account and your personal data? This cannot be undone.")) return;
    try {
      await api("DELETE", "/api/me");
      RDV.token.clear();
      location.href = "/";
    } catch (err) {
      fail(err);
    }
  });

  // --- my data (POST /api/me/export; the file needs my token, so it is fetched, not linked) ---

  const EXPORT_STATES = { pending: "being prepared…", failed: "failed: prepare a new one", ready: "ready" };

  async function downloadExport(item) {
    const response = await fetch(item.download_url, { headers: { Authorization: "Bearer " + RDV.token.get() } });
    if (!response.ok) {
      const body = await response.json().catch(() => null);
      throw new RDV.ApiError(response.status, body, Number(response.headers.get("Retry-After")) || null);
    }
    const link = el("a", { href: URL.createObjectURL(await response.blob()), download: `rendezvous-data-${item.id}.json` });
    document.body.append(link);
    link.click();
    link.remove();
  }

  function exportEntry(item, wanted) {
    const when = new Date(item.requested_at).toLocaleString();
    const expired = item.status === "ready" && !item.download_url;
    const line = el("li", { class: "export", dataset: { export: item.id, status: expired ? "expired" : item.status } });
    line.append(el("span", {}, `Requested ${when}: ${expired ? "expired" : EXPORT_STATES[item.status]} `));
    if (item.download_url) {
      const button = el("button", { type: "button", class: "export-download" }, "Download");
      button.addEventListener("click", () => downloadExport(item).catch(fail));
      line.append(button, el("span", { class: "muted" }, ` until ${new Date(item.expires_at).toLocaleString()}`));
    }
    if (item.id === wanted) line.classList.add("wanted");
    return line;
  }

  async function loadExports() {
    const wanted = new URLSearchParams(location.search).get("export");
    try {
      const items = await api("GET", "/api/me/exports");
      $("export-list").replaceChildren(...items.map((item) => exportEntry(item, wanted)));
      if (items.some((item) => item.status === "pending")) setTimeout(loadExports, 3000);
      if (wanted) $("my-data").scrollIntoView();
    } catch (err) {
      fail(err);
    }
  }

  $("export-request").addEventListener("click", async () => {
    $("export-request").disabled = true;
    try {
      await api("POST", "/api/me/export");
      flash(me.email_verified ? "We are preparing your data; the link also goes to your email." : "We are preparing your data; it will be listed here.", "info");
      loadExports();
    } catch (err) {
      fail(err);
    } finally {
      $("export-request").disabled = false;
    }
  });

  RDV.startSignedInPage((loaded) => {
    me = loaded;
    fillProfile();
    loadInviteCode();
    loadIntroductions();
    loadBlocks("/api/blocks?page_size=20");
    loadExports();
  }, fail);
})();
