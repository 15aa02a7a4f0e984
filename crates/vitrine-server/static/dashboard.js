// Vitrine dashboard page. The page works without this file: the filter bar is a plain GET
// form. With it, a change rewrites the URL in place (history.replaceState, so the URL always
// holds the view and can be shared) and replaces each widget card with its fragment,
// GET {base}/widgets/{id}?{same query}, without reloading the page. Table sort and page
// buttons work the same way, for their own card only.
//
// Live updates: the page holds one Server-Sent Events stream, GET {data-live}?{view}&h.{id}=
// {data hash}…, telling the server what each card shows; the server sends only the cards
// whose data changed (`widget`), the "Refreshed at" time (`refreshed`), `reload` when the
// dashboard or the link's settings changed, and `revoked` when a share link stopped working —
// the page then shows "no longer active" in place. Where streams are not available (no
// EventSource, or the server is at its stream limit) the page polls the fragments instead.
//
// Embedded (`/embed/{id}`, data-guest-token): every request carries the guest token in the
// `X-Vitrine-Guest-Token` header (read from data-guest-token on each request, so a renewed
// token is used at once), the live stream is read with fetch() instead of EventSource (which
// cannot send headers), and a 401 on any request flips the page to "session expired" and
// fires `vitrine:expired` on window (static/embed-frame.js tells the host). No cookie is used.
"use strict";

(() => {
  const root = document.querySelector("[data-dashboard]");
  if (!root) return;
  root.classList.add("dash-js");
  const base = root.dataset.base || location.pathname;
  const form = root.querySelector("form.dash-filters");
  const seq = new Map();
  // Set by the live-update section below: reconnects the stream after the view changed.
  let viewChanged = () => {};

  const cards = () => Array.from(root.querySelectorAll(".dash-card[data-widget]"));
  const embedded = root.dataset.guestToken !== undefined;
  // The guest token header of an embedded page (none on share links and owner pages).
  const guestHeaders = () =>
    embedded ? { "X-Vitrine-Guest-Token": root.dataset.guestToken || "" } : {};
  const signal = (name, detail) => window.dispatchEvent(new CustomEvent(name, { detail }));

  // The view in the URL now, or after `edit` changed a copy of it.
  const currentParams = () => new URLSearchParams(location.search);

  function setUrl(params) {
    const query = params.toString();
    history.replaceState(null, "", query ? `${location.pathname}?${query}` : location.pathname);
    syncDownloads(params);
    signal("vitrine:view", query);
  }

  // Download links (server-rendered) carry the page's view: keep their queries in step.
  function syncDownloads(params) {
    root.querySelectorAll("a[data-export]").forEach((a) => {
      const query = new URLSearchParams(params);
      for (const name of Array.from(query.keys())) if (name.startsWith("t.")) query.delete(name);
      new URLSearchParams(a.dataset.exportFixed || "").forEach((v, k) => query.set(k, v));
      const q = query.toString();
      a.href = q ? `${a.dataset.export}?${q}` : a.dataset.export;
    });
  }

  // The filter form as canonical parameters: `f.x=from..to` for custom date ranges and
  // `f.x=min..max` for number ranges, instead of the form's separate fields.
  function filterParams() {
    const out = new URLSearchParams();
    if (!form) return out;
    const data = new FormData(form);
    const skip = new Set();
    form.querySelectorAll("[data-date-range]").forEach((set) => {
      const preset = set.querySelector("select[data-preset]");
      if (!preset) return;
      const name = preset.name;
      skip.add(name).add(`${name}.from`).add(`${name}.to`);
      if (preset.value === "custom") {
        const from = data.get(`${name}.from`) || "";
        const to = data.get(`${name}.to`) || "";
        out.append(name, from || to ? `${from}..${to}` : "");
      } else {
        out.append(name, preset.value);
      }
    });
    form.querySelectorAll("[data-number-range]").forEach((set) => {
      const min = set.querySelector("input[name$='.min']");
      const max = set.querySelector("input[name$='.max']");
      if (!min || !max) return;
      const name = min.name.slice(0, -".min".length);
      skip.add(min.name).add(max.name);
      out.append(name, min.value || max.value ? `${min.value}..${max.value}` : "");
    });
    const multi = new Set(
      Array.from(form.querySelectorAll("[data-multi] input[type=hidden]")).map((i) => i.name),
    );
    for (const [name, value] of data) {
      if (skip.has(name) || name === "theme") continue;
      // A multi select sends an empty marker so that "none chosen" reaches the server; drop
      // it when something is chosen.
      if (multi.has(name) && value === "" && data.getAll(name).some((v) => v !== "")) continue;
      out.append(name, value);
    }
    return out;
  }

  function refreshedLine() {
    const target = root.querySelector("[data-refreshed-at]");
    if (!target) return;
    let oldest = null;
    root.querySelectorAll(".dash-card-inner[data-refreshed]").forEach((inner) => {
      const at = Number(inner.dataset.refreshed);
      if (at > 0 && (oldest === null || at < oldest.at)) {
        oldest = { at, label: inner.dataset.refreshedLabel };
      }
    });
    if (oldest && oldest.label) target.textContent = oldest.label;
  }

  async function refreshCard(card, params) {
    const id = card.dataset.widget;
    const mine = (seq.get(id) || 0) + 1;
    seq.set(id, mine);
    card.setAttribute("aria-busy", "true");
    try {
      const url = `${base}/widgets/${encodeURIComponent(id)}?${params.toString()}`;
      const response = await fetch(url, {
        credentials: embedded ? "omit" : "same-origin",
        headers: { Accept: "text/html", ...guestHeaders() },
      });
      if (embedded && response.status === 401) {
        showRevoked({ reason: "session" });
        return;
      }
      // A session that ended sends the login page instead: let the browser go there.
      if (response.redirected) {
        location.reload();
        return;
      }
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const html = await response.text();
      // A slower, older answer must not overwrite a newer one.
      if (seq.get(id) !== mine) return;
      // Server-rendered from escaped templates and vitrine-render's escaped markup.
      card.innerHTML = html;
    } catch (error) {
      if (seq.get(id) === mine) card.dataset.stale = "true";
      console.warn("widget refresh failed", id, error);
    } finally {
      if (seq.get(id) === mine) card.removeAttribute("aria-busy");
    }
  }

  async function refreshAll(params) {
    await Promise.all(cards().map((card) => refreshCard(card, params)));
    refreshedLine();
  }

  // Filters: the whole view changes; table pages go back to the first page.
  function applyFilters() {
    const params = filterParams();
    for (const [name, value] of currentParams()) {
      if (name === "theme" || (name.startsWith("t.") && !name.endsWith(".page"))) {
        params.append(name, value);
      }
    }
    setUrl(params);
    refreshAll(params).then(() => viewChanged());
  }

  function syncDateControls() {
    if (!form) return;
    form.querySelectorAll("[data-date-range]").forEach((set) => {
      const preset = set.querySelector("select[data-preset]");
      set.classList.toggle("is-custom", !!preset && preset.value === "custom");
    });
  }

  // A multi select's closed disclosure names what it holds: All, the one value, or "n selected".
  function syncMultiSummaries() {
    form.querySelectorAll("[data-multi]").forEach((set) => {
      const summary = set.querySelector("[data-multi-summary]");
      if (!summary) return;
      const chosen = Array.from(set.querySelectorAll("input[type=checkbox]:checked"));
      summary.textContent =
        chosen.length === 0
          ? "All"
          : chosen.length === 1
            ? chosen[0].closest("label").textContent.trim()
            : `${chosen.length} selected`;
    });
  }

  if (form) {
    syncDateControls();
    form.addEventListener("change", (event) => {
      syncDateControls();
      syncMultiSummaries();
      const target = event.target;
      // Choosing "Custom range" waits for the dates.
      if (target instanceof HTMLSelectElement && target.matches("[data-preset]") && target.value === "custom") {
        const from = target.closest("[data-date-range]").querySelector("input[type=date]");
        if (from) from.focus();
        return;
      }
      applyFilters();
    });
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      applyFilters();
    });
  }

  // Table sort headers and pager buttons, inside a card.
  root.addEventListener("click", (event) => {
    const button = event.target instanceof Element ? event.target.closest("button") : null;
    if (!button) return;
    const card = button.closest(".dash-card[data-widget]");
    if (!card || !button.closest(".vt-table")) return;
    const id = card.dataset.widget;
    const params = currentParams();
    if (button.dataset.sortColumn !== undefined) {
      params.set(`t.${id}.sort`, button.dataset.sortColumn);
      params.set(`t.${id}.dir`, button.dataset.sortDir === "desc" ? "desc" : "asc");
      params.delete(`t.${id}.page`);
    } else if (button.dataset.page !== undefined && !button.disabled) {
      params.set(`t.${id}.page`, button.dataset.page);
    } else {
      return;
    }
    event.preventDefault();
    setUrl(params);
    refreshCard(card, params).then(() => viewChanged());
  });

  // Charts follow a dark system theme unless the URL chose one (`theme=system` chooses the
  // system's) or the page fixed it (a share link with its own theme: data-theme-fixed).
  const params = currentParams();
  const followSystem = !params.has("theme") || params.get("theme") === "system";
  const darkSwitch = !!(followSystem && root.dataset.themeFixed === undefined && window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches);
  if (darkSwitch) {
    params.set("theme", "dark");
    setUrl(params);
    root.querySelectorAll(".dash-grid").forEach((grid) => {
      grid.classList.remove("dash-theme-light");
      grid.classList.add("dash-theme-dark");
    });
    refreshAll(params).then(() => viewChanged());
  }

  // ---- live updates -------------------------------------------------------------------------

  const liveUrl = root.dataset.live;
  const seconds = Number(root.dataset.refreshSeconds);
  let source = null;
  let ended = false;
  let failures = 0;
  let retryTimer = null;
  let pollTimer = null;

  function stopLive() {
    if (source) source.close();
    source = null;
    if (retryTimer) clearTimeout(retryTimer);
    retryTimer = null;
  }

  // Without streams: fetch every card each interval while the page is visible. The server's
  // cache keeps that at one query per widget per interval, however many people watch.
  function startPolling() {
    if (pollTimer || ended || !(seconds >= 5)) return;
    pollTimer = setInterval(() => {
      if (document.visibilityState === "visible") refreshAll(currentParams());
    }, seconds * 1000);
  }

  function stopPolling() {
    if (pollTimer) clearInterval(pollTimer);
    pollTimer = null;
  }

  function streamUrl() {
    const params = currentParams();
    cards().forEach((card) => {
      const inner = card.querySelector(".dash-card-inner[data-hash]");
      if (inner) params.append(`h.${card.dataset.widget}`, inner.dataset.hash);
    });
    const query = params.toString();
    return query ? `${liveUrl}?${query}` : liveUrl;
  }

  const REASONS = {
    disabled: "Whoever shared it has turned it off.",
    expired: "It has expired.",
    rotated: "Whoever shared it has replaced it with a new link.",
    deleted: "Whoever shared it has removed it.",
    suspended: "Sharing is paused for this workspace.",
    password: "Its password has changed. Enter the new one to keep watching.",
    session: "This view's session has ended. Reload the page to continue.",
  };

  // The "no longer active" state, in place of the dashboard: nothing of it stays on screen.
  function showRevoked(data) {
    if (ended) return;
    ended = true;
    stopLive();
    stopPolling();
    const reason = data && typeof data.reason === "string" ? data.reason : "";
    const notice = document.createElement("div");
    notice.className = "card dash-revoked";
    notice.setAttribute("role", "alert");
    const title = document.createElement("h1");
    title.textContent =
      reason === "session"
        ? "Session expired"
        : reason === "password"
          ? "This link needs its password again"
          : "This link is no longer active";
    const why = document.createElement("p");
    why.textContent = REASONS[reason] || "Whoever shared it has turned it off, or it has expired.";
    notice.append(title, why);
    if (data && data.contact) {
      const contact = document.createElement("p");
      contact.className = "public-contact";
      contact.textContent = data.contact;
      notice.append(contact);
    }
    if (reason === "password") {
      const again = document.createElement("a");
      again.className = "button primary";
      again.href = location.pathname + location.search;
      again.textContent = "Enter the password";
      notice.append(again);
    }
    root.dataset.liveState = "revoked";
    root.dataset.liveReason = reason;
    root.replaceChildren(notice);
    document.title = title.textContent;
    if (embedded) signal("vitrine:expired", reason);
  }

  // The stream failed before it opened several times: ask the server why, once.
  async function diagnose() {
    const controller = new AbortController();
    try {
      const response = await fetch(streamUrl(), {
        credentials: embedded ? "omit" : "same-origin",
        headers: { Accept: "text/event-stream", ...guestHeaders() },
        signal: controller.signal,
      });
      controller.abort();
      if (embedded && response.status === 401) {
        showRevoked({ reason: "session" });
        return true;
      }
      if (response.status === 404 || response.status === 410) {
        showRevoked({ reason: "" });
        return true;
      }
      if (response.status === 503) {
        startPolling();
      }
    } catch (error) {
      // Offline: keep retrying.
    }
    return false;
  }

  // One handler per server event, for EventSource and for the fetch() reader alike.
  const handlers = {
    widget(data) {
      const card = cards().find((c) => c.dataset.widget === data.id);
      // A card the viewer is changing right now gets its own fresh fragment instead.
      if (!card || card.hasAttribute("aria-busy")) return;
      // Server-rendered from escaped templates and vitrine-render's escaped markup.
      card.innerHTML = data.html;
      card.removeAttribute("data-stale");
      refreshedLine();
    },
    refreshed(data) {
      const target = root.querySelector("[data-refreshed-at]");
      if (target && data.at) target.textContent = data.at;
    },
    reload() {
      ended = true;
      stopLive();
      if (embedded) signal("vitrine:reload");
      else location.reload();
    },
    revoked(data) {
      showRevoked(data);
    },
  };

  // Embedded: the stream read with fetch(), so it can carry the token header. A stream whose
  // grant ended while a renewed token is already here reconnects with the new token.
  function connectFetch() {
    const controller = new AbortController();
    const token = root.dataset.guestToken;
    source = { close: () => controller.abort() };
    const mine = source;
    (async () => {
      let response;
      try {
        response = await fetch(streamUrl(), {
          credentials: "omit",
          headers: { Accept: "text/event-stream", ...guestHeaders() },
          signal: controller.signal,
        });
      } catch (error) {
        if (source === mine && !ended) retry(false);
        return;
      }
      if (response.status === 401) {
        if (root.dataset.guestToken !== token) retry(true);
        else showRevoked({ reason: "session" });
        return;
      }
      if (response.status === 503) {
        startPolling();
        return;
      }
      if (!response.ok || !response.body) {
        retry(false);
        return;
      }
      failures = 0;
      stopPolling();
      root.dataset.liveState = "open";
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += decoder.decode(value, { stream: true });
          let cut;
          while ((cut = buffer.indexOf("\n\n")) >= 0) {
            const block = buffer.slice(0, cut);
            buffer = buffer.slice(cut + 2);
            let type = "message";
            const data = [];
            for (const line of block.split("\n")) {
              if (line.startsWith("event:")) type = line.slice(6).trim();
              else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
            }
            if (!data.length || !handlers[type]) continue;
            if (type === "revoked" && root.dataset.guestToken !== token) {
              controller.abort();
              retry(true);
              return;
            }
            handlers[type](JSON.parse(data.join("\n")));
            if (ended) return;
          }
        }
      } catch (error) {
        // Aborted or cut: reconnect below unless this stream was replaced.
      }
      if (source === mine && !ended) retry(false);
    })();
  }

  function retry(now) {
    stopLive();
    root.dataset.liveState = "reconnecting";
    failures += 1;
    const delay = now ? 0 : Math.min(30000, 1000 * 2 ** Math.min(failures, 5)) * (0.5 + Math.random() / 2);
    retryTimer = setTimeout(connect, delay);
  }

  // A renewed guest token: the stream reconnects with it.
  window.addEventListener("vitrine:token", () => {
    if (embedded && !ended && liveUrl) connect();
  });

  function connect() {
    if (ended || !liveUrl) return;
    stopLive();
    if (embedded) {
      connectFetch();
      return;
    }
    if (!window.EventSource) {
      startPolling();
      return;
    }
    let opened = false;
    const stream = new EventSource(streamUrl(), { withCredentials: false });
    source = stream;
    stream.addEventListener("open", () => {
      opened = true;
      failures = 0;
      stopPolling();
      root.dataset.liveState = "open";
    });
    stream.addEventListener("widget", (event) => handlers.widget(JSON.parse(event.data)));
    stream.addEventListener("refreshed", (event) => handlers.refreshed(JSON.parse(event.data)));
    stream.addEventListener("reload", () => handlers.reload());
    stream.addEventListener("revoked", (event) => handlers.revoked(JSON.parse(event.data)));
    // The browser would retry with the URL it started with; reconnect ourselves instead, so
    // the server learns what the cards show now and sends only what changed meanwhile.
    stream.addEventListener("error", async () => {
      if (source !== stream || ended) return;
      stopLive();
      root.dataset.liveState = "reconnecting";
      failures = opened ? 1 : failures + 1;
      if (failures >= 3 && (await diagnose())) return;
      const delay = Math.min(30000, 1000 * 2 ** Math.min(failures, 5)) * (0.5 + Math.random() / 2);
      retryTimer = setTimeout(connect, delay);
    });
  }

  // A changed view needs a stream of its own.
  viewChanged = connect;

  if (liveUrl && (window.EventSource || embedded)) {
    if (!darkSwitch) connect();
  } else {
    startPolling();
  }
})();
