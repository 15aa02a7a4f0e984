// Vitrine embedding SDK, served at /static/embed.js. Plain JavaScript, no build step, no
// dependency. Message protocol version 1 (docs/embedding.md).
//
//   const handle = await Vitrine.embedDashboard({
//     id: "EMBED-ID",                       // the embed id (not the dashboard id)
//     vitrineDomain: "https://vitrine.example.com",
//     mountPoint: document.getElementById("dashboard"),
//     fetchGuestToken: () => fetch("/guest-token").then((r) => r.json()),
//                                           // → "gst_…" or {token, expires_in}
//     dashboardUiConfig: { hideTitle, hideChartControls, filters: { visible, expanded }, theme },
//     filters: { plan: ["Pro"] },           // initial values of the filters the host may set
//     iframeTitle: "Usage dashboard",
//     handshakeTimeoutMs: 15000,            // give up (reject, `error`) after this long
//     fetchTimeoutMs: 10000,                // one fetchGuestToken call may take this long
//     fetchAttempts: 4,                     // calls per token before giving up (`error`)
//   });
//   handle.on("resize", ({ height }) => …); handle.setFilters({...}); handle.unmount();
//
// The token never appears in a URL: it goes to the iframe over a MessageChannel, after a
// handshake addressed to Vitrine's origin only; the iframe accepts it only from an origin on
// the embedding's allowed list, and the SDK accepts messages only from its own channel. The
// token is renewed before it expires using the server's `expires_in` (a duration, never a
// time read from this browser's clock); a failed fetch is retried with backoff and a timeout.
"use strict";

(function (global) {
  const PROTOCOL = 1;
  const RENEW_AT = 0.8; // renew after 80 % of the lifetime
  const FETCH_TIMEOUT_MS = 10000;
  const FETCH_ATTEMPTS = 4;
  const HANDSHAKE_TIMEOUT_MS = 15000;

  function originOf(url) {
    return new URL(url).origin;
  }

  function withTimeout(promise, ms) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("timeout")), ms);
      Promise.resolve(promise).then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        (error) => {
          clearTimeout(timer);
          reject(error);
        },
      );
    });
  }

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  // The host's token function, retried with backoff (0.5, 1, 2, 4 s… between attempts), each
  // call bounded by a timeout: {token, expiresIn} (expiresIn in seconds, 0 when unknown).
  async function fetchToken(fetchGuestToken, attempts, timeoutMs) {
    let lastError = null;
    for (let i = 0; i < attempts; i++) {
      if (i > 0) await sleep(Math.min(8000, 500 * 2 ** (i - 1)));
      try {
        const got = await withTimeout(fetchGuestToken(), timeoutMs);
        if (typeof got === "string") return { token: got, expiresIn: 0 };
        if (got && typeof got.token === "string") {
          return { token: got.token, expiresIn: Number(got.expires_in || got.expiresIn || 0) };
        }
        throw new Error("fetchGuestToken must return a token or {token, expires_in}");
      } catch (error) {
        lastError = error;
      }
    }
    throw lastError || new Error("no token");
  }

  function displayQuery(ui) {
    const params = new URLSearchParams();
    if (!ui) return params;
    if (ui.hideTitle) params.set("hide_title", "1");
    if (ui.hideChartControls) params.set("hide_chart_controls", "1");
    if (ui.filters && ui.filters.visible === false) params.set("show_filters", "0");
    if (ui.filters && ui.filters.expanded === false) params.set("expand_filters", "0");
    if (ui.theme) params.set("theme", ui.theme);
    if (ui.standalone) params.set("standalone", String(ui.standalone));
    return params;
  }

  function embedDashboard(options) {
    const { id, vitrineDomain, mountPoint, fetchGuestToken } = options || {};
    if (!id || !vitrineDomain || !mountPoint || typeof fetchGuestToken !== "function") {
      return Promise.reject(
        new Error("embedDashboard needs id, vitrineDomain, mountPoint and fetchGuestToken"),
      );
    }
    const domain = vitrineDomain.replace(/\/+$/, "");
    const origin = originOf(domain);
    const listeners = {};
    let filters = { ...(options.filters || {}) };
    let renewTimer = null;
    let port = null;
    let unmounted = false;
    const attempts = Math.max(1, Number(options.fetchAttempts) || FETCH_ATTEMPTS);
    const timeoutMs = Math.max(1, Number(options.fetchTimeoutMs) || FETCH_TIMEOUT_MS);
    const getToken = () => fetchToken(fetchGuestToken, attempts, timeoutMs);

    function emit(type, detail) {
      (listeners[type] || []).forEach((fn) => {
        try {
          fn(detail);
        } catch (error) {
          console.error(error);
        }
      });
    }

    const query = displayQuery(options.dashboardUiConfig);
    const iframe = document.createElement("iframe");
    iframe.src = `${domain}/embed/${encodeURIComponent(id)}${query.toString() ? `?${query}` : ""}`;
    iframe.title = options.iframeTitle || "Embedded dashboard";
    iframe.style.border = "0";
    iframe.style.width = "100%";
    iframe.setAttribute("referrerpolicy", "no-referrer");

    function send(message) {
      if (port) port.postMessage({ vitrine: PROTOCOL, ...message });
    }

    function scheduleRenewal(expiresIn) {
      if (renewTimer) clearTimeout(renewTimer);
      if (!(expiresIn > 0) || unmounted) return;
      renewTimer = setTimeout(renew, Math.max(1000, expiresIn * RENEW_AT * 1000));
    }

    async function renew() {
      if (unmounted) return;
      try {
        const { token, expiresIn } = await getToken();
        if (unmounted) return;
        send({ type: "token", token });
        scheduleRenewal(expiresIn);
      } catch (error) {
        emit("error", { message: "token renewal failed", error });
      }
    }

    const handle = {
      on(type, fn) {
        (listeners[type] = listeners[type] || []).push(fn);
        return handle;
      },
      off(type, fn) {
        listeners[type] = (listeners[type] || []).filter((f) => f !== fn);
        return handle;
      },
      setFilters(next) {
        filters = { ...filters, ...(next || {}) };
        send({ type: "set-filters", filters });
      },
      getFilters() {
        return JSON.parse(JSON.stringify(filters));
      },
      setTheme(theme) {
        send({ type: "set-theme", theme });
      },
      unmount() {
        unmounted = true;
        if (renewTimer) clearTimeout(renewTimer);
        if (port) port.close();
        port = null;
        iframe.remove();
      },
      iframe,
      protocol: PROTOCOL,
    };

    function onFrameMessage(event) {
      const data = event.data;
      if (!data || data.vitrine !== PROTOCOL) return;
      switch (data.type) {
        case "ready":
          if (data.filters) filters = data.filters;
          // A host whose token function returned a bare token: the page's server-given
          // lifetime schedules the renewal instead.
          if (!renewTimer && data.expiresIn > 0) scheduleRenewal(data.expiresIn);
          emit("ready", { expiresIn: data.expiresIn });
          break;
        case "resize":
          iframe.style.height = `${data.height}px`;
          emit("resize", { height: data.height });
          break;
        case "filters-changed":
          filters = data.filters || {};
          emit("filters-changed", { filters: handle.getFilters() });
          break;
        case "auth-expired":
          if (renewTimer) clearTimeout(renewTimer);
          emit("auth-expired", {});
          break;
        case "error":
          emit("error", { message: data.message });
          break;
        default:
          break;
      }
    }

    return new Promise((resolve, reject) => {
      let first;
      let acknowledged = false;
      const started = Date.now();
      iframe.addEventListener("load", async function handshake() {
        // Only the first load is the handshake page; the dashboard is written in place.
        iframe.removeEventListener("load", handshake);
        try {
          first = first || (await getToken());
        } catch (error) {
          emit("error", { message: "no guest token", error });
          reject(error);
          return;
        }
        const tryOnce = () => {
          if (acknowledged || unmounted) return;
          if (Date.now() - started > (options.handshakeTimeoutMs || HANDSHAKE_TIMEOUT_MS)) {
            const error = new Error("the embedded dashboard did not answer (origin not allowed?)");
            emit("error", { message: error.message });
            reject(error);
            return;
          }
          const channel = new MessageChannel();
          channel.port1.onmessage = (event) => {
            if (!acknowledged && event.data && event.data.type === "hello") {
              acknowledged = true;
              port = channel.port1;
              scheduleRenewal(first.expiresIn);
              resolve(handle);
            }
            if (port === channel.port1) onFrameMessage(event);
          };
          // Addressed to Vitrine's origin only: nobody else can read the token.
          iframe.contentWindow.postMessage(
            { vitrine: PROTOCOL, type: "init", token: first.token, filters },
            origin,
            [channel.port2],
          );
          setTimeout(tryOnce, 1000);
        };
        tryOnce();
      });
      mountPoint.replaceChildren(iframe);
    });
  }

  global.Vitrine = { embedDashboard, protocol: PROTOCOL };
})(window);
