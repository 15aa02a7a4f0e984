// Vitrine report form: refreshes the preview of the next five send times when the frequency or
// the zone changes (POST /api/v1/reports/preview, computed by the server in the schedule's zone),
// and starts a new report in the browser's own time zone. The form works without this file:
// the page shows the preview of the values it was rendered with.
"use strict";

(() => {
  const form = document.querySelector("form[data-report-form]");
  if (!form) return;
  const box = form.querySelector("[data-report-preview]");
  const list = box && box.querySelector("[data-preview-list]");
  const problem = box && box.querySelector("[data-preview-error]");
  const heading = box && box.querySelector("p.strong");
  if (!list || !problem) return;

  if (form.hasAttribute("data-new")) {
    const zone = form.elements.namedItem("zone");
    const mine = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (zone && mine && zone.value === "UTC" && [...zone.options].some((o) => o.value === mine)) {
      zone.value = mine;
    }
  }

  function frequency() {
    const value = (name) => {
      const field = form.elements.namedItem(name);
      return field ? field.value.trim() : "";
    };
    const kind = value("kind");
    switch (kind) {
      case "hourly": return { kind, minute: Number(value("minute")) };
      case "daily": return { kind, at: value("at") };
      case "weekly": return {
        kind,
        at: value("at"),
        days: [...form.querySelectorAll("input[name=days]:checked")].map((d) => d.value),
      };
      case "monthly": return { kind, day: Number(value("day")), at: value("at") };
      default: return { kind: "cron", expression: value("expression") };
    }
  }

  let pending = null;
  let sequence = 0;
  async function refresh() {
    const mine = ++sequence;
    const zone = form.elements.namedItem("zone").value;
    let answer;
    try {
      const response = await fetch("/api/v1/reports/preview", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": form.dataset.csrf, Accept: "application/json" },
        body: JSON.stringify({ frequency: frequency(), zone }),
      });
      answer = { ok: response.ok, body: await response.json() };
    } catch {
      return; // Offline: keep what is shown.
    }
    if (mine !== sequence) return; // A newer request is on its way.
    list.replaceChildren();
    if (heading) heading.textContent = `Next five sends (${zone})`;
    if (answer.ok) {
      problem.hidden = true;
      answer.body.next_local.forEach((local, i) => {
        const item = document.createElement("li");
        const time = document.createElement("time");
        time.dateTime = answer.body.next_at[i];
        time.textContent = local;
        item.append(time);
        list.append(item);
      });
    } else {
      const text = (answer.body && answer.body.error && answer.body.error.message) || "no preview for these values";
      problem.textContent = text.charAt(0).toUpperCase() + text.slice(1) + (text.endsWith(".") ? "" : ".");
      problem.hidden = false;
    }
  }

  function later() {
    clearTimeout(pending);
    pending = setTimeout(refresh, 250);
  }
  form.addEventListener("change", (event) => {
    if (event.target instanceof Element && event.target.matches("[data-preview-input]")) later();
  });
  form.addEventListener("input", (event) => {
    if (event.target instanceof Element && event.target.matches("input[data-preview-input]")) later();
  });
  if (form.hasAttribute("data-new")) refresh();
})();
