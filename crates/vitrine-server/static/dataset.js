// The dataset form's "Run": the SQL's first rows and column types, or why it cannot run, in
// plain words, through POST /api/v1/datasets/run (read-only, row-capped). No inline script.
"use strict";

(() => {
  const button = document.getElementById("run-sql");
  const out = document.getElementById("run-result");
  if (!button || !out) return;
  const form = button.closest("form");
  button.hidden = false;
  const el = (tag, text, cls) => {
    const e = document.createElement(tag);
    if (text !== undefined) e.textContent = text;
    if (cls) e.className = cls;
    return e;
  };
  button.addEventListener("click", async () => {
    const data = new FormData(form);
    out.replaceChildren(el("p", "Running…", "muted"));
    button.disabled = true;
    let r, body = null;
    try {
      r = await fetch("/api/v1/datasets/run", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": data.get("csrf_token"), Accept: "application/json" },
        body: JSON.stringify({ data_source_id: Number(data.get("data_source_id")), sql: String(data.get("sql") || "") }),
      });
      body = await r.json();
    } catch {
      body = null;
    } finally {
      button.disabled = false;
    }
    if (!r || !r.ok || !body || !body.columns) {
      const message = (body && body.error && body.error.message) || "The query could not run.";
      out.replaceChildren(el("p", message, "alert alert-error"));
      out.firstChild.setAttribute("role", "alert");
      return;
    }
    const table = el("table");
    const head = el("tr");
    for (const c of body.columns) {
      const th = el("th", c.name + " ");
      th.append(el("span", c.kind, "badge"));
      head.append(th);
    }
    table.append(el("thead"));
    table.firstChild.append(head);
    const tbody = el("tbody");
    for (const row of body.rows) {
      const tr = el("tr");
      for (const cell of row) tr.append(el("td", cell === null ? "∅" : String(cell)));
      tbody.append(tr);
    }
    table.append(tbody);
    const note = body.rows.length === 0 ? "No rows." : (body.truncated ? "The first " + body.rows.length + " rows." : body.rows.length + " row" + (body.rows.length === 1 ? "" : "s") + ".");
    const wrap = el("div", undefined, "run-table");
    wrap.append(table);
    out.replaceChildren(el("p", note + " Columns and their types as widgets will see them.", "small muted"), wrap);
  });
})();
