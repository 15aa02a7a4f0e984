// Vitrine embedded page: the iframe's side of the SDK's message protocol (version 1; see
// docs/embedding.md). Runs on /embed/{id} in two states:
//
// - The handshake page (data-embed-state="waiting"): waits for the host's `init` message,
//   accepted only from an origin on the embedding's allowed list (data-allowed-origins) and
//   only with a MessageChannel port, which carries everything afterwards. It then fetches the
//   dashboard with the token in the X-Vitrine-Guest-Token header (the token never appears in
//   a URL) and writes it in place of this page (document.open keeps this window, its globals
//   and its listeners, so the port survives).
// - The dashboard (data-dashboard with data-guest-token): reports its height (`resize`), its
//   filters (`filters-changed`), and `auth-expired` when the session ended; takes renewed
//   tokens (`token`), filters (`set-filters`) and themes (`set-theme`) from the host;
//   downloads go through fetch() with the header. Opened as a plain iframe with
//   ?guest_token=, the same messages go to the parent, addressed to each allowed origin (so
//   only an allowed host can read them).
//
// No cookie and no storage: it works with third-party cookies and storage blocked.
"use strict";

(() => {
  if (window.__vitrineFrame) {
    // The dashboard written in place of the handshake page: same window, same frame.
    window.__vitrineFrame.attach();
    return;
  }
  const PROTOCOL = 1;
  const frame = {
    port: null,
    origins: [],
    token: null,
    lastHeight: 0,
    observer: null,
    // Origins whose handshake was refused (in memory only; for the console and the tests).
    refused: [],
  };
  window.__vitrineFrame = frame;

  const shell = () => document.querySelector("[data-embed-state]");
  const dash = () => document.querySelector("[data-dashboard]");

  function post(message) {
    const data = { vitrine: PROTOCOL, ...message };
    if (frame.port) {
      frame.port.postMessage(data);
    } else if (window.parent !== window) {
      for (const origin of frame.origins) {
        try {
          window.parent.postMessage(data, origin);
        } catch (error) {
          // A malformed origin: skip it.
        }
      }
    }
  }

  function filtersOf(query) {
    const out = {};
    for (const [name, value] of new URLSearchParams(query)) {
      if (!name.startsWith("f.")) continue;
      const id = name.slice(2);
      (out[id] = out[id] || []).push(value);
    }
    return out;
  }

  function queryWith(filters, base) {
    const params = new URLSearchParams(base);
    for (const name of Array.from(params.keys())) if (name.startsWith("f.")) params.delete(name);
    for (const [id, value] of Object.entries(filters || {})) {
      const values = Array.isArray(value) ? value : [value];
      for (const v of values) params.append(`f.${id}`, String(v));
    }
    return params.toString();
  }

  function reportHeight() {
    const height = Math.ceil(document.documentElement.scrollHeight);
    if (height !== frame.lastHeight) {
      frame.lastHeight = height;
      post({ type: "resize", height });
    }
  }

  function expired() {
    post({ type: "auth-expired" });
  }

  // Loads the dashboard for `query` with the current token and writes it over this document.
  async function load(query) {
    const id = (shell() || dash()).dataset.embedId || location.pathname.split("/")[2];
    const url = `/embed/${encodeURIComponent(id)}${query ? `?${query}` : ""}`;
    let response;
    try {
      response = await fetch(url, {
        credentials: "omit",
        headers: { Accept: "text/html", "X-Vitrine-Guest-Token": frame.token },
      });
    } catch (error) {
      post({ type: "error", message: "network" });
      return;
    }
    if (response.status === 401) {
      showExpired();
      return;
    }
    if (!response.ok) {
      post({ type: "error", message: `HTTP ${response.status}` });
      return;
    }
    const expiresIn = Number(response.headers.get("X-Vitrine-Expires-In") || "0");
    const html = await response.text();
    history.replaceState(null, "", query ? `${location.pathname}?${query}` : location.pathname);
    document.open();
    document.write(html);
    document.close();
    post({ type: "ready", expiresIn, filters: filtersOf(query) });
  }

  function showExpired() {
    const main = document.createElement("main");
    main.className = "auth";
    main.dataset.embedState = "expired";
    main.innerHTML =
      '<div class="card auth-card center"><h1>Session expired</h1>' +
      "<p>This view's session has ended. Reload the page to continue.</p></div>";
    document.body.replaceChildren(main);
    expired();
  }

  function currentQuery() {
    return location.search.replace(/^\?/, "");
  }

  // Downloads carry the header too: fetch, then save the blob.
  async function download(link) {
    const response = await fetch(link.href, {
      credentials: "omit",
      headers: { "X-Vitrine-Guest-Token": frame.token || "" },
    });
    if (response.status === 401) {
      showExpired();
      return;
    }
    if (!response.ok) {
      post({ type: "error", message: `download: HTTP ${response.status}` });
      return;
    }
    const disposition = response.headers.get("Content-Disposition") || "";
    const match = /filename="?([^";]+)"?/.exec(disposition);
    const blob = await response.blob();
    const url = URL.createObjectURL(blob);
    const a = document.createElement("a");
    a.href = url;
    a.download = match ? match[1] : "download";
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  }

  function onHostMessage(data) {
    if (!data || data.vitrine !== PROTOCOL || typeof data.type !== "string") return;
    const root = dash();
    switch (data.type) {
      case "token":
        if (typeof data.token !== "string") return;
        frame.token = data.token;
        if (root) {
          root.dataset.guestToken = data.token;
          window.dispatchEvent(new CustomEvent("vitrine:token"));
        }
        post({ type: "token-ack" });
        break;
      case "set-filters":
        load(queryWith(data.filters, currentQuery()));
        break;
      case "set-theme": {
        const params = new URLSearchParams(currentQuery());
        if (["light", "dark", "system"].includes(data.theme)) params.set("theme", data.theme);
        load(params.toString());
        break;
      }
      case "get-filters":
        post({ type: "filters", filters: filtersOf(currentQuery()) });
        break;
      default:
        break;
    }
  }

  // Hooks the current document: the dashboard, or the handshake / expired page.
  frame.attach = () => {
    const root = dash();
    const page = root || shell();
    if (!page) return;
    listen();
    frame.origins = (page.dataset.allowedOrigins || "").split(" ").filter(Boolean);
    if (root) {
      frame.token = frame.token || root.dataset.guestToken || null;
      if (frame.observer) frame.observer.disconnect();
      if (window.ResizeObserver) {
        frame.observer = new ResizeObserver(reportHeight);
        frame.observer.observe(document.documentElement);
      }
      reportHeight();
      root.addEventListener(
        "click",
        (event) => {
          const link = event.target instanceof Element ? event.target.closest("a[data-export], a[href*='/export.']") : null;
          if (!link) return;
          event.preventDefault();
          download(link);
        },
        true,
      );
      if (!frame.port) post({ type: "ready", expiresIn: 0, filters: filtersOf(currentQuery()) });
    } else if (page.dataset.embedState === "expired") {
      expired();
    }
  };

  // document.open() erases the window's event listeners: every document listens anew.
  function listen() {
    window.addEventListener("vitrine:view", (event) => {
      post({ type: "filters-changed", filters: filtersOf(event.detail || "") });
    });
    window.addEventListener("vitrine:expired", expired);
    window.addEventListener("vitrine:reload", () => load(currentQuery()));
  }

  // The handshake: the host's `init`, from an allowed origin, with a port.
  window.addEventListener("message", (event) => {
    const data = event.data;
    if (!data || data.vitrine !== PROTOCOL || data.type !== "init") return;
    if (!frame.origins.includes(event.origin)) {
      // Not on the embedding's list: ignored (and said to the console only).
      frame.refused.push(event.origin);
      console.warn("vitrine: refused a handshake from", event.origin);
      return;
    }
    if (frame.port || !event.ports || !event.ports[0] || typeof data.token !== "string") return;
    frame.port = event.ports[0];
    frame.port.onmessage = (e) => onHostMessage(e.data);
    frame.token = data.token;
    post({ type: "hello", protocol: PROTOCOL });
    const page = shell();
    const base = page ? page.dataset.query || "" : currentQuery();
    load(data.filters ? queryWith(data.filters, base) : base);
  });

  frame.attach();
})();
