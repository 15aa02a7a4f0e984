// Vitrine owner UI: small progressive enhancements. Every page works without this file.
"use strict";

// Forms with data-confirm ask before submitting (delete, revoke, reset).
document.addEventListener("submit", (event) => {
  const form = event.target;
  const question = form instanceof HTMLFormElement ? form.dataset.confirm : undefined;
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});

// Buttons with data-copy="ID" copy that element's text.
document.addEventListener("click", async (event) => {
  const button = event.target instanceof Element ? event.target.closest("[data-copy]") : null;
  if (!button) return;
  const source = document.getElementById(button.dataset.copy);
  if (!source) return;
  try {
    await navigator.clipboard.writeText(source.textContent.trim());
    const label = button.textContent;
    button.textContent = "Copied";
    setTimeout(() => { button.textContent = label; }, 1500);
  } catch {
    const range = document.createRange();
    range.selectNodeContents(source);
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }
});

// Buttons with data-copy-location copy this page's address: a member's permalink, with the
// filter state the URL keeps.
document.addEventListener("click", async (event) => {
  const button = event.target instanceof Element ? event.target.closest("[data-copy-location]") : null;
  if (!button) return;
  try {
    await navigator.clipboard.writeText(location.href);
    const label = button.textContent;
    button.textContent = "Copied";
    setTimeout(() => { button.textContent = label; }, 1500);
  } catch {
    window.prompt("Permalink", location.href);
  }
});

// Error lines like "line 12: …" move the YAML editor's cursor to that line.
document.addEventListener("click", (event) => {
  const button = event.target instanceof Element ? event.target.closest("[data-goto-line]") : null;
  const editor = document.getElementById("yaml");
  if (!button || !editor) return;
  const match = /line (\d+)/.exec(button.dataset.gotoLine);
  if (!match) return;
  const line = Number(match[1]);
  const lines = editor.value.split("\n");
  const start = lines.slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0);
  editor.focus();
  editor.setSelectionRange(start, start + (lines[line - 1] || "").length);
  const lineHeight = editor.scrollHeight / Math.max(lines.length, 1);
  editor.scrollTop = Math.max(0, (line - 5) * lineHeight);
});

// Parts of a form shown only for some choices: data-show-when="NAME=VALUE" or "NAME=A|B" (the
// share form's expiry date, a filter's locked value, a date filter's fixed dates, the e-mail
// domains, a report's time of day). Without this file they
// are all shown, and the server ignores the ones that do not apply.
function syncShowWhen(form) {
  for (const part of form.querySelectorAll("[data-show-when]")) {
    const rule = part.dataset.showWhen;
    const at = rule.lastIndexOf("=");
    const field = form.elements.namedItem(rule.slice(0, at));
    if (!field) continue;
    // A checkbox has its value only when it is ticked.
    const value = field.type === "checkbox" ? (field.checked ? field.value : "") : field.value;
    part.hidden = !rule.slice(at + 1).split("|").includes(value);
  }
}
for (const form of document.querySelectorAll("form")) {
  if (form.querySelector("[data-show-when]")) syncShowWhen(form);
}
document.addEventListener("change", (event) => {
  const form = event.target instanceof Element ? event.target.closest("form") : null;
  if (form && form.querySelector("[data-show-when]")) syncShowWhen(form);
});

// Instants are written in UTC (`<time datetime>`, the UTC text as its tooltip); show them in
// the viewer's own zone, naming it, so "last viewed 09:12" means nine o'clock where they sit.
(() => {
  let format;
  try {
    format = new Intl.DateTimeFormat(undefined, {
      year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZoneName: "short",
    });
  } catch {
    return;
  }
  const localize = () => {
    for (const el of document.querySelectorAll("time[datetime]")) {
      if (el.dataset.localized) continue;
      const at = new Date(el.getAttribute("datetime"));
      if (Number.isNaN(at.getTime())) continue;
      const parts = Object.fromEntries(format.formatToParts(at).map((p) => [p.type, p.value]));
      el.textContent = `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute} ${parts.timeZoneName || ""}`.trim();
      el.dataset.localized = "1";
    }
  };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", localize);
  } else {
    localize();
  }
})();
