// Vitrine dashboard builder: edits the same document as the YAML tab, through /api/v1 only.
// No build step, no inline script, no eval. Without this file the YAML form still works.
"use strict";

(() => {
  const root = document.getElementById("builder");
  if (!root) return;
  const yamlBox = document.getElementById("yaml");
  const cfg = {
    id: root.dataset.id ? Number(root.dataset.id) : null,
    revision: Number(root.dataset.revision || 0),
    csrf: root.dataset.csrf,
    datasets: JSON.parse(root.dataset.datasets || "[]"),
  };
  const KINDS = ["kpi", "line", "area", "bar", "pie", "table", "text"];
  const AGG_LABEL = { count: "Count", count_distinct: "Count distinct", sum: "Sum", avg: "Average", min: "Min", max: "Max" };
  const FILTER_KINDS = { single_select: "Single select", multi_select: "Multi select", date_range: "Date range", number_range: "Number range" };
  const ROW = 48, GAP = 8;

  let doc = null;            // the document (JSON, schema version 1)
  let savedText = "";        // the document as last saved (or loaded)
  let yamlText = yamlBox ? yamlBox.value : "";
  let undo = [], redo = [];
  let selected = null;       // the widget being edited
  const choices = {};        // dataset slug -> choices (from the API)
  const previews = {};       // widget id -> {key, svg, html, error}

  // ---- small helpers -------------------------------------------------------------------------
  const $ = (sel, el = root) => el.querySelector(sel);
  function h(tag, attrs = {}, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else if (k === "text") el.textContent = v;
      else el.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) el.append(c);
    return el;
  }
  const clone = (v) => JSON.parse(JSON.stringify(v));
  // The server leaves out empty lists; the builder always has them.
  const normal = (d) => ({ ...d, filters: d.filters || [], widgets: d.widgets || [] });
  const say = (msg, kind = "info") => {
    const s = $("#b-status");
    s.textContent = msg;
    s.className = "b-status b-" + kind;
  };
  async function api(method, path, body) {
    const response = await fetch("/api/v1" + path, {
      method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": cfg.csrf, Accept: "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    let data = null;
    try { data = await response.json(); } catch { data = null; }
    return { ok: response.ok, status: response.status, data };
  }
  const errorText = (r) => (r.data && r.data.error && r.data.error.message) || "The server refused this (" + r.status + ").";
  const datasetBySlug = (slug) => cfg.datasets.find((d) => d.slug === slug);
  async function choicesFor(slug) {
    if (choices[slug]) return choices[slug];
    const d = datasetBySlug(slug);
    if (!d) return null;
    const r = await api("GET", "/datasets/" + d.id + "/choices" + (cfg.id ? "?dashboard=" + cfg.id : ""));
    if (r.ok) choices[slug] = r.data;
    return choices[slug] || null;
  }
  // Lists that do not depend on a dataset's columns (date presets, formats, bounds): from the
  // choices of any dataset, so from the server's own definitions.
  async function anyChoices() {
    const known = Object.values(choices)[0];
    if (known) return known;
    return cfg.datasets[0] ? choicesFor(cfg.datasets[0].slug) : null;
  }
  const kindOf = (c, kind) => c && c.kinds.find((k) => k.kind === kind);
  // Whether `kind` takes d dimensions, m measures and a series (0/1): one of the shapes
  // validation accepted (probed up to 3; 3 stands for "3 or more" on unbounded kinds).
  const fits = (k, d, m, s) => k.shapes.some((x) => x[0] === Math.min(d, 3) && x[1] === Math.min(m, 3) && x[2] === s);
  const outputs = (q) => [
    ...(q.dimensions || []).map((d) => d.column),
    ...(q.series ? [q.series] : []),
    ...(q.measures || []).map((m) => m.name || (m.column ? m.agg + "_" + m.column : m.agg)),
  ];

  // ---- history -------------------------------------------------------------------------------
  function commit(next, { preview = true } = {}) {
    undo.push(JSON.stringify(doc));
    if (undo.length > 200) undo.shift();
    redo = [];
    doc = next;
    changed(preview);
  }
  function changed(preview = true) {
    render();
    syncYaml();
    if (preview) refreshPreviews();
  }
  function undoOnce() {
    if (!undo.length) return;
    redo.push(JSON.stringify(doc));
    doc = JSON.parse(undo.pop());
    changed();
    say("Undone.");
  }
  function redoOnce() {
    if (!redo.length) return;
    undo.push(JSON.stringify(doc));
    doc = JSON.parse(redo.pop());
    changed();
    say("Redone.");
  }

  // ---- YAML sync (both ways, through /builder/check) --------------------------------------
  let yamlSeq = 0;
  async function syncYaml() {
    const seq = ++yamlSeq;
    root.dataset.yamlPending = "true";
    const r = await api("POST", "/builder/check", { document: doc, previous_yaml: yamlText, dashboard_id: cfg.id });
    if (seq !== yamlSeq) return;
    delete root.dataset.yamlPending;
    const issues = $("#b-issues");
    if (r.ok) {
      yamlText = r.data.yaml;
      if (yamlBox) yamlBox.value = yamlText;
      issues.hidden = true;
      issues.textContent = "";
    } else {
      issues.hidden = false;
      issues.textContent = errorText(r);
    }
  }
  let yamlTimer = null;
  if (yamlBox) {
    yamlBox.addEventListener("input", () => {
      clearTimeout(yamlTimer);
      yamlTimer = setTimeout(async () => {
        const text = yamlBox.value;
        const r = await api("POST", "/builder/check", { yaml: text, dashboard_id: cfg.id });
        const note = document.getElementById("yaml-note");
        if (r.ok) {
          yamlText = text;
          undo.push(JSON.stringify(doc));
          redo = [];
          doc = normal(r.data.document);
          render();
          refreshPreviews();
          if (note) note.textContent = "The builder shows this YAML.";
        } else if (note) {
          note.textContent = "Not shown in the builder until it is valid: " + errorText(r);
        }
      }, 400);
    });
  }

  // ---- previews ------------------------------------------------------------------------------
  let previewTimer = null;
  function refreshPreviews() {
    clearTimeout(previewTimer);
    previewTimer = setTimeout(runPreviews, 150);
  }
  async function runPreviews() {
    // One document for the whole run: every request names a widget of the document it sends.
    // A change made meanwhile schedules a new run, which takes over from here.
    const snapshot = doc;
    for (const w of snapshot.widgets) {
      if (doc !== snapshot) { refreshPreviews(); return; }
      const key = JSON.stringify([w.kind, w.query, w.options, w.title, w.layout.w, w.layout.h, snapshot.filters]);
      if (previews[w.id] && previews[w.id].key === key) continue;
      previews[w.id] = { key, pending: true };
      const r = await api("POST", "/builder/preview", { document: snapshot, widget: w.id, dashboard_id: cfg.id });
      if (!previews[w.id] || previews[w.id].key !== key) continue;
      previews[w.id] = r.ok ? { key, svg: r.data.svg, html: r.data.html, code: r.data.error_code } : { key, error: errorText(r) };
      paintPreview(w.id);
    }
  }
  function paintPreview(id) {
    const box = root.querySelector('[data-preview="' + CSS.escape(id) + '"]');
    const p = previews[id];
    if (!box || !p) return;
    if (p.error) {
      box.replaceChildren(h("p", { class: "b-error", text: p.error }));
    } else if (p.svg !== undefined) {
      // Server-rendered, escaped by the renderer (the dashboard page shows the same markup).
      box.innerHTML = p.html || p.svg;
    }
    box.dataset.state = p.error ? "error" : "ready";
    if (p.code) box.dataset.errorCode = p.code;
    else delete box.dataset.errorCode;
  }

  // ---- layout --------------------------------------------------------------------------------
  const overlaps = (a, b) => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
  // Widgets pushed down out of the way of the moved one, then the grid settles.
  function settle(widgets, movedId) {
    const moved = widgets.find((w) => w.id === movedId);
    const others = widgets.filter((w) => w.id !== movedId).sort((a, b) => a.layout.y - b.layout.y || a.layout.x - b.layout.x);
    const placed = moved ? [moved] : [];
    for (const w of others) {
      while (placed.some((p) => overlaps(p.layout, w.layout))) w.layout.y += 1;
      placed.push(w);
    }
  }
  function place(id, change) {
    const next = clone(doc);
    const w = next.widgets.find((x) => x.id === id);
    const l = { ...w.layout, ...change };
    l.w = Math.max(1, Math.min(12, l.w));
    l.h = Math.max(1, Math.min(100, l.h));
    l.x = Math.max(0, Math.min(12 - l.w, l.x));
    l.y = Math.max(0, l.y);
    if (JSON.stringify(l) === JSON.stringify(w.layout)) return false;
    w.layout = l;
    settle(next.widgets, id);
    commit(next);
    return true;
  }
  function freeSpot(w, h) {
    const bottom = Math.max(0, ...doc.widgets.map((x) => x.layout.y + x.layout.h));
    for (let y = 0; y <= bottom; y++) {
      for (let x = 0; x + w <= 12; x++) {
        const r = { x, y, w, h };
        if (!doc.widgets.some((o) => overlaps(o.layout, r))) return r;
      }
    }
    return { x: 0, y: bottom, w, h };
  }
  function newId(base) {
    let id = base.toLowerCase().replace(/[^a-z0-9_-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 50) || "widget";
    if (!/^[a-z0-9]/.test(id)) id = "w" + id;
    let n = 1, candidate = id;
    while (doc.widgets.some((w) => w.id === candidate) || doc.filters.some((f) => f.id === candidate)) candidate = id + "-" + ++n;
    return candidate;
  }

  // ---- rendering -----------------------------------------------------------------------------
  function render() {
    $("#b-undo").disabled = !undo.length;
    $("#b-redo").disabled = !redo.length;
    $("#b-discard").disabled = JSON.stringify(doc) === savedText;
    const title = $("#b-title");
    if (document.activeElement !== title) title.value = doc.title;
    renderGrid();
    renderFilters();
    renderEditor();
  }

  function renderGrid() {
    const grid = $("#b-grid");
    const focused = document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.widget : null;
    grid.replaceChildren();
    const rows = Math.max(4, ...doc.widgets.map((w) => w.layout.y + w.layout.h));
    grid.style.gridTemplateRows = "repeat(" + rows + ", " + ROW + "px)";
    for (const w of doc.widgets) {
      const l = w.layout;
      const tile = h("div", {
        class: "b-tile" + (w.id === selected ? " b-selected" : ""),
        tabindex: "0",
        role: "group",
        "data-widget": w.id,
        "aria-label": (w.title || w.id) + ", " + w.kind + ", column " + (l.x + 1) + ", row " + (l.y + 1) + ", " + l.w + " wide, " + l.h + " high",
        "aria-describedby": "b-keys",
      },
      h("div", { class: "b-tile-head", "data-drag": w.id, title: "Drag to move" },
        h("span", { class: "b-tile-title", text: w.title || w.id }),
        h("span", { class: "badge", text: w.kind }),
        h("span", { class: "b-tile-actions" },
          h("button", { type: "button", class: "link", "data-act": "edit", text: "Edit" }),
          h("button", { type: "button", class: "link", "data-act": "duplicate", text: "Duplicate" }),
          h("button", { type: "button", class: "link danger-link", "data-act": "delete", text: "Delete" }))),
      h("div", { class: "b-preview", "data-preview": w.id, inert: true }),
      h("div", { class: "b-resize", "data-resize": w.id, title: "Drag to resize", "aria-hidden": "true" }));
      tile.style.gridColumn = l.x + 1 + " / span " + l.w;
      tile.style.gridRow = l.y + 1 + " / span " + l.h;
      grid.append(tile);
      paintPreview(w.id);
    }
    if (focused) {
      const again = grid.querySelector('[data-widget="' + CSS.escape(focused) + '"]');
      if (again) again.focus();
    }
  }

  // Drag to move (the tile's head) and to resize (its corner), on the 12-column grid.
  let drag = null;
  root.addEventListener("pointerdown", (e) => {
    const t = e.target instanceof Element ? e.target : null;
    if (!t || t.closest("button")) return;
    const head = t.closest("[data-drag]");
    const handle = t.closest("[data-resize]");
    if (!head && !handle) return;
    const id = (head || handle).dataset.drag || (head || handle).dataset.resize;
    const w = doc.widgets.find((x) => x.id === id);
    const rect = $("#b-grid").getBoundingClientRect();
    drag = { id, mode: head ? "move" : "resize", x0: e.clientX, y0: e.clientY, l: { ...w.layout }, cell: (rect.width + GAP) / 12 };
    try { (head || handle).setPointerCapture(e.pointerId); } catch { /* a synthetic pointer */ }
    e.preventDefault();
  });
  root.addEventListener("pointermove", (e) => {
    if (!drag) return;
    const dx = Math.round((e.clientX - drag.x0) / drag.cell);
    const dy = Math.round((e.clientY - drag.y0) / (ROW + GAP));
    const tile = root.querySelector('[data-widget="' + CSS.escape(drag.id) + '"]');
    const l = drag.mode === "move"
      ? { ...drag.l, x: Math.max(0, Math.min(12 - drag.l.w, drag.l.x + dx)), y: Math.max(0, drag.l.y + dy) }
      : { ...drag.l, w: Math.max(1, Math.min(12 - drag.l.x, drag.l.w + dx)), h: Math.max(1, drag.l.h + dy) };
    drag.to = l;
    if (tile) {
      tile.style.gridColumn = l.x + 1 + " / span " + l.w;
      tile.style.gridRow = l.y + 1 + " / span " + l.h;
      tile.classList.add("b-dragging");
    }
  });
  root.addEventListener("pointerup", () => {
    if (!drag) return;
    const { id, to, mode } = drag;
    drag = null;
    if (!to || !place(id, to)) renderGrid();
    else say((mode === "move" ? "Moved" : "Resized") + " “" + id + "” to column " + (to.x + 1) + ", row " + (to.y + 1) + ", " + to.w + " wide, " + to.h + " high.");
  });

  // Keyboard: arrows move the focused tile, Shift+arrows resize it; Enter edits, D duplicates,
  // Delete removes; Ctrl+Z / Ctrl+Y undo and redo.
  root.addEventListener("keydown", (e) => {
    const t = e.target instanceof Element ? e.target : null;
    if (!t) return;
    if ((e.ctrlKey || e.metaKey) && !t.closest("input, textarea, select")) {
      if (e.key === "z" && !e.shiftKey) { e.preventDefault(); undoOnce(); return; }
      if (e.key === "y" || (e.key === "z" && e.shiftKey)) { e.preventDefault(); redoOnce(); return; }
    }
    if (!t.classList.contains("b-tile")) return;
    const id = t.dataset.widget;
    const w = doc.widgets.find((x) => x.id === id);
    const l = w.layout;
    const step = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] }[e.key];
    if (step) {
      e.preventDefault();
      const moved = e.shiftKey ? place(id, { w: l.w + step[0], h: l.h + step[1] }) : place(id, { x: l.x + step[0], y: l.y + step[1] });
      const n = doc.widgets.find((x) => x.id === id).layout;
      if (moved) say((e.shiftKey ? "Resized" : "Moved") + " “" + (w.title || id) + "”: column " + (n.x + 1) + ", row " + (n.y + 1) + ", " + n.w + " wide, " + n.h + " high.");
    } else if (e.key === "Enter") {
      e.preventDefault();
      select(id);
    } else if (e.key === "Delete") {
      e.preventDefault();
      removeWidget(id);
    } else if (e.key === "d" || e.key === "D") {
      e.preventDefault();
      duplicate(id);
    }
  });

  root.addEventListener("click", (e) => {
    const t = e.target instanceof Element ? e.target : null;
    const act = t && t.closest("[data-act]");
    if (!act) return;
    const tile = act.closest("[data-widget]");
    const id = tile && tile.dataset.widget;
    if (act.dataset.act === "edit") select(id);
    if (act.dataset.act === "duplicate") duplicate(id);
    if (act.dataset.act === "delete") removeWidget(id);
  });

  async function select(id) {
    selected = id;
    render();
    await renderEditor();
    const first = $("#b-editor select, #b-editor input");
    if (first) first.focus();
  }
  function duplicate(id) {
    const next = clone(doc);
    const w = clone(next.widgets.find((x) => x.id === id));
    w.id = newId(id + "-copy");
    w.layout = freeSpot(w.layout.w, w.layout.h);
    next.widgets.push(w);
    selected = w.id;
    commit(next);
    say("Duplicated as “" + w.id + "”.");
  }
  function removeWidget(id) {
    const next = clone(doc);
    next.widgets = next.widgets.filter((w) => w.id !== id);
    if (selected === id) selected = null;
    commit(next);
    say("Deleted “" + id + "”. Undo brings it back.");
    const tile = $(".b-tile");
    if (tile) tile.focus();
    else $("#b-add").focus();
  }

  // ---- adding a widget ----------------------------------------------------------------------
  async function addWidget() {
    const d = cfg.datasets[0];
    if (!d) { say("Create a dataset first (Datasets page).", "error"); return; }
    const c = await choicesFor(d.slug);
    const next = clone(doc);
    const w = { id: newId("widget"), title: "New widget", kind: "bar", layout: freeSpot(6, 4) };
    w.query = defaultQuery(c, "bar");
    next.widgets.push(w);
    selected = w.id;
    commit(next);
    say("Added a widget; choose its data on the right.");
    await renderEditor();
    const first = $("#b-editor select, #b-editor input");
    if (first) first.focus();
  }

  // The smallest valid query of `kind` over a dataset's choices.
  function defaultQuery(c, kind) {
    const k = kindOf(c, kind);
    if (!k || !k.query) return undefined;
    const q = { dataset: c.dataset, measures: [{ agg: "count" }] };
    if (k.min_dimensions > 0) {
      const date = c.columns.find((x) => x.buckets.length);
      const text = c.columns.find((x) => x.kind === "text" && x.dimension);
      const timely = kind === "line" || kind === "area";
      const col = k.bucket_required || (timely && date) ? date : text || date || c.columns.find((x) => x.dimension);
      if (col) q.dimensions = [col.buckets.length && (k.bucket_required || timely) ? { column: col.name, bucket: "month" } : { column: col.name }];
    }
    return q;
  }

  // ---- the widget editor --------------------------------------------------------------------
  function field(label, control, hint) {
    return h("label", { class: "b-field" }, h("span", { text: label }), control, hint ? h("small", { class: "muted", text: hint }) : null);
  }
  function select_(name, options, value, onchange, attrs = {}) {
    const s = h("select", { name, ...attrs, onchange: (e) => onchange(e.target.value) });
    for (const [v, label] of options) {
      const o = h("option", { value: v, text: label });
      if (String(v) === String(value ?? "")) o.selected = true;
      s.append(o);
    }
    return s;
  }
  const measureNames = (q) => ((q && q.measures) || []).map((m) => outputs({ measures: [m] })[0]);
  function editWidget(change) {
    const next = clone(doc);
    const w = next.widgets.find((x) => x.id === selected);
    const before = measureNames(w.query);
    change(w);
    // Number formats are keyed by output name: they follow a measure that was renamed, and
    // go with one that was removed.
    if (w.options && w.options.number_formats && w.query) {
      const after = measureNames(w.query);
      const names = outputs(w.query);
      const nf = {};
      for (const [key, format] of Object.entries(w.options.number_formats)) {
        const i = before.indexOf(key);
        const name = i >= 0 && after[i] !== undefined ? after[i] : names.includes(key) ? key : undefined;
        if (name) nf[name] = format;
      }
      if (Object.keys(nf).length) w.options.number_formats = nf;
      else delete w.options.number_formats;
    }
    if (w.options && !Object.keys(w.options).length) delete w.options;
    commit(next);
  }

  // A measure's number format: the styles the server offers, and a currency code for
  // `currency` (a saved code, EUR or any other, is shown and kept as it is).
  const FORMAT_LABEL = { number: "number", currency: "currency", percent: "percent", duration: "duration" };
  function formatFields(c, w, m, i) {
    const name = outputs({ measures: [m] })[0];
    const current = ((w.options || {}).number_formats || {})[name];
    const setFormat = (format) => editWidget((x) => {
      const key = outputs({ measures: [x.query.measures[i]] })[0];
      x.options = x.options || {};
      const nf = { ...(x.options.number_formats || {}) };
      if (!format) delete nf[key]; else nf[key] = format;
      if (Object.keys(nf).length) x.options.number_formats = nf; else delete x.options.number_formats;
    });
    const style = select_("format-" + i, [["", "default"], ...c.number_formats.map((f) => [f, FORMAT_LABEL[f] || f])], current ? current.style : "", (v) => {
      if (!v) setFormat(null);
      else if (v === "currency") setFormat({ style: v, currency: (current && current.currency) || c.currencies[0] || "USD" });
      else setFormat({ style: v });
    });
    const parts = [field("Format", style)];
    if (current && current.style === "currency") {
      parts.push(field("Currency", h("input", { type: "text", name: "currency-" + i, value: current.currency || "", maxlength: "3", size: "4", list: "b-currencies", autocomplete: "off",
        onchange: (e) => { const code = e.target.value.trim().toUpperCase(); if (/^[A-Z]{3}$/.test(code)) setFormat({ ...current, currency: code }); else { e.target.value = current.currency || ""; say("A currency is a three-letter ISO code such as EUR.", "error"); } } })));
    }
    return parts;
  }
  function currencyList(c) {
    return h("datalist", { id: "b-currencies" }, ...c.currencies.map((code) => h("option", { value: code })));
  }

  let editorSeq = 0;
  async function renderEditor() {
    const seq = ++editorSeq;
    const box = $("#b-editor");
    const w = doc.widgets.find((x) => x.id === selected);
    if (!w) {
      box.replaceChildren(h("p", { class: "muted", text: "Select a widget (Edit, or Enter on a focused tile) to change its data and looks." }));
      return;
    }
    const slug = w.query ? w.query.dataset : (cfg.datasets[0] || {}).slug;
    const c = slug ? await choicesFor(slug) : null;
    if (seq !== editorSeq) return;
    const k = kindOf(c, w.kind);
    const parts = [h("h3", { text: "Widget “" + w.id + "”" })];
    parts.push(field("Title", h("input", { type: "text", name: "title", value: w.title || "", maxlength: "200",
      onchange: (e) => editWidget((x) => { x.title = e.target.value; }) })));
    parts.push(field("Kind", select_("kind", KINDS.map((x) => [x, x]), w.kind, (v) => editWidget((x) => {
      x.kind = v;
      delete x.options;
      if (v === "text") { delete x.query; x.options = { markdown: "Write **Markdown** here." }; }
      else x.query = fitQuery(c, v, x.query);
    }))));
    if (w.kind === "text") {
      parts.push(field("Markdown", h("textarea", { name: "markdown", rows: "6", onchange: (e) => editWidget((x) => { x.options = { ...(x.options || {}), markdown: e.target.value }; }) }, (w.options || {}).markdown || "")));
    } else if (c && k) {
      const q = w.query;
      parts.push(field("Dataset", select_("dataset", cfg.datasets.map((d) => [d.slug, d.name + " (" + d.slug + ")"]), q.dataset, async (v) => {
        const nc = await choicesFor(v);
        editWidget((x) => { x.query = defaultQuery(nc, x.kind); });
      })));
      const dims = q.dimensions || [];
      dims.forEach((d, i) => {
        const col = c.columns.find((x) => x.name === d.column);
        const opts = c.columns.filter((x) => x.dimension && (!k.bucket_required || x.buckets.length)).map((x) => [x.name, x.name + " · " + x.kind]);
        const row = h("div", { class: "b-row" },
          field(i ? "Dimension " + (i + 1) : "Dimension", select_("dimension-" + i, opts, d.column, (v) => editWidget((x) => {
            const nc = c.columns.find((y) => y.name === v);
            x.query.dimensions[i] = { column: v };
            if (nc.buckets.length && (k.bucket_required || d.bucket)) x.query.dimensions[i].bucket = d.bucket || "month";
          }))),
          col && col.buckets.length ? field("Time bucket", select_("bucket-" + i, [...(k.bucket_required ? [] : [["", "none"]]), ...col.buckets.map((b) => [b, b])], d.bucket || "", (v) => editWidget((x) => {
            if (v) x.query.dimensions[i].bucket = v; else delete x.query.dimensions[i].bucket;
          }))) : null,
          fits(k, dims.length - 1, (q.measures || []).length, q.series ? 1 : 0) ? h("button", { type: "button", class: "link", text: "Remove", onclick: () => editWidget((x) => { x.query.dimensions.splice(i, 1); if (!x.query.dimensions.length) delete x.query.dimensions; }) }) : null);
        parts.push(row);
      });
      if (fits(k, dims.length + 1, (q.measures || []).length, q.series ? 1 : 0)) {
        parts.push(h("button", { type: "button", class: "button", text: "Add a dimension", onclick: () => editWidget((x) => {
          const col = k.bucket_required ? c.columns.find((y) => y.buckets.length) : c.columns.find((y) => y.dimension && !(x.query.dimensions || []).some((d) => d.column === y.name));
          if (!col) return;
          x.query.dimensions = [...(x.query.dimensions || []), k.bucket_required ? { column: col.name, bucket: "month" } : { column: col.name }];
        }) }));
      }
      const ms = q.measures || [];
      ms.forEach((m, i) => {
        const cols = c.columns.filter((x) => x.aggregates.includes(m.agg));
        const aggs = Object.keys(AGG_LABEL).filter((a) => c.aggregates_without_column.includes(a) || c.columns.some((x) => x.aggregates.includes(a)));
        parts.push(h("div", { class: "b-row" },
          field(i ? "Measure " + (i + 1) : "Measure", select_("agg-" + i, aggs.map((a) => [a, AGG_LABEL[a]]), m.agg, (v) => editWidget((x) => {
            const mm = x.query.measures[i];
            mm.agg = v;
            const ok = c.columns.filter((y) => y.aggregates.includes(v));
            if (!mm.column || !ok.some((y) => y.name === mm.column)) {
              if (c.aggregates_without_column.includes(v)) delete mm.column;
              else mm.column = (ok.find((y) => y.kind === "number" || y.kind === "integer") || ok[0]).name;
            }
            fixSort(x.query);
          }))),
          field("Of", select_("measure-column-" + i, [...(c.aggregates_without_column.includes(m.agg) ? [["", "rows"]] : []), ...cols.map((x) => [x.name, x.name + " · " + x.kind])], m.column || "", (v) => editWidget((x) => {
            if (v) x.query.measures[i].column = v; else delete x.query.measures[i].column;
            fixSort(x.query);
          }))),
          field("Name", h("input", { type: "text", name: "measure-name-" + i, value: m.name || "", placeholder: m.column ? m.agg + "_" + m.column : m.agg, maxlength: "64",
            onchange: (e) => editWidget((x) => { if (e.target.value.trim()) x.query.measures[i].name = e.target.value.trim(); else delete x.query.measures[i].name; fixSort(x.query); }) })),
          formatFields(c, w, m, i),
          fits(k, dims.length, ms.length - 1, q.series ? 1 : 0) ? h("button", { type: "button", class: "link", text: "Remove", onclick: () => editWidget((x) => {
            if (x.options && x.options.number_formats) delete x.options.number_formats[measureNames(x.query)[i]];
            x.query.measures.splice(i, 1); if (!x.query.measures.length) delete x.query.measures; fixSort(x.query); }) }) : null));
      });
      if (fits(k, dims.length, ms.length + 1, q.series ? 1 : 0)) {
        parts.push(h("button", { type: "button", class: "button", text: "Add a measure", onclick: () => editWidget((x) => {
          x.query.measures = [...(x.query.measures || []), { agg: "count", name: "count_" + ((x.query.measures || []).length + 1) }];
        }) }));
      }
      if (fits(k, dims.length, ms.length, 1)) {
        const opts = [["", "none"], ...c.columns.filter((x) => x.series && !dims.some((d) => d.column === x.name)).map((x) => [x.name, x.name])];
        parts.push(field("Split into series by", select_("series", opts, q.series || "", (v) => editWidget((x) => { if (v) x.query.series = v; else delete x.query.series; fixSort(x.query); }))));
      }
      const outs = outputs(q);
      const sort = (q.sort || [])[0];
      parts.push(h("div", { class: "b-row" },
        field("Sort by", select_("sort", [["", "dimension order"], ...outs.map((o) => [o, o])], sort ? sort.by : "", (v) => editWidget((x) => {
          if (v) x.query.sort = [{ by: v, direction: (sort && sort.direction) || "desc" }]; else delete x.query.sort;
        }))),
        sort ? field("Direction", select_("direction", [["asc", "ascending"], ["desc", "descending"]], sort.direction || "asc", (v) => editWidget((x) => { x.query.sort[0].direction = v; }))) : null,
        field("Limit", h("input", { type: "number", name: "limit", min: String(c.limit.min), max: String(c.limit.max), value: q.limit || "", placeholder: "none",
          onchange: (e) => editWidget((x) => { const n = parseInt(e.target.value, 10); if (n >= c.limit.min && n <= c.limit.max) x.query.limit = n; else delete x.query.limit; }) }))));
      const o = w.options || {};
      if (k.options.includes("orientation")) parts.push(field("Bars", select_("orientation", c.orientations.map((v) => [v, v]), o.orientation || "vertical", (v) => editWidget((x) => { x.options = { ...(x.options || {}), orientation: v }; if (v === "vertical") delete x.options.orientation; }))));
      if (k.options.includes("stacking")) parts.push(field("Several series", select_("stacking", c.stackings.map((v) => [v, v]), o.stacking || "grouped", (v) => editWidget((x) => { x.options = { ...(x.options || {}), stacking: v }; if (v === "grouped") delete x.options.stacking; }))));
      if (k.options.includes("page_size")) parts.push(field("Rows per page", h("input", { type: "number", name: "page_size", min: String(c.page_size.min), max: String(c.page_size.max), value: o.page_size || "", placeholder: "default",
        onchange: (e) => editWidget((x) => { const n = parseInt(e.target.value, 10); x.options = { ...(x.options || {}) }; if (n >= c.page_size.min && n <= c.page_size.max) x.options.page_size = n; else delete x.options.page_size; }) })));
    }
    parts.push(h("p", { class: "small muted", text: "Only choices that validation accepts are offered; the preview on the grid updates after each change." }));
    if (c) parts.push(currencyList(c));
    keepFocus(box, () => box.replaceChildren(...parts));
  }

  // A rebuilt panel gives the focus back to the control of the same name.
  function keepFocus(box, rebuild) {
    const a = document.activeElement;
    const name = a && box.contains(a) ? a.getAttribute("name") : null;
    rebuild();
    if (name) {
      const again = box.querySelector('[name="' + CSS.escape(name) + '"]');
      if (again) again.focus();
    }
  }

  function fixSort(q) {
    if (!q.sort) return;
    const outs = outputs(q);
    q.sort = q.sort.filter((s) => outs.includes(s.by));
    if (!q.sort.length) delete q.sort;
  }
  function fitQuery(c, kind, q) {
    const k = kindOf(c, kind);
    if (!q) return defaultQuery(c, kind);
    const next = clone(q);
    next.dimensions = (next.dimensions || []).slice(0, k.max_dimensions === null ? undefined : k.max_dimensions);
    if (k.bucket_required) next.dimensions = next.dimensions.filter((d) => { const col = c.columns.find((x) => x.name === d.column); return col && col.buckets.length; }).map((d) => ({ ...d, bucket: d.bucket || "month" }));
    if (next.dimensions.length < k.min_dimensions) return defaultQuery(c, kind);
    if (!next.dimensions.length) delete next.dimensions;
    next.measures = (next.measures || []).slice(0, k.max_measures === null ? undefined : k.max_measures);
    if (next.measures.length < k.min_measures) next.measures = [{ agg: "count" }];
    if (!next.measures.length) delete next.measures;
    if (!k.series || (k.series_excludes_measures && (next.measures || []).length > 1)) delete next.series;
    fixSort(next);
    return next;
  }

  // ---- filters -------------------------------------------------------------------------------
  let filtersSeq = 0;
  async function renderFilters() {
    const seq = ++filtersSeq;
    const box = $("#b-filters");
    const list = [];
    const presets = doc.filters.length ? ((await anyChoices()) || { date_presets: [] }).date_presets : [];
    for (const [i, f] of doc.filters.entries()) {
      const affected = doc.widgets.filter((w) => w.query && f.columns[w.query.dataset] !== undefined).map((w) => w.title || w.id);
      const bindings = [];
      for (const d of cfg.datasets) {
        const c = await choicesFor(d.slug);
        if (!c) continue;
        const cols = c.columns.filter((x) => x.filter_kinds.includes(f.kind));
        bindings.push(field(d.name + " column", select_("filter-" + i + "-" + d.slug, [["", "not restricted"], ...cols.map((x) => [x.name, x.name])], f.columns[d.slug] || "", (v) => editFilter(i, (x) => { if (v) x.columns[d.slug] = v; else delete x.columns[d.slug]; }))));
      }
      list.push(h("fieldset", { class: "b-filter", "data-filter": f.id },
        h("legend", { text: f.label + " (" + FILTER_KINDS[f.kind] + ")" }),
        h("div", { class: "b-row" },
          field("Label", h("input", { type: "text", name: "filter-label-" + i, value: f.label, maxlength: "100", onchange: (e) => editFilter(i, (x) => { x.label = e.target.value || x.label; }) })),
          field("Kind", select_("filter-kind-" + i, Object.entries(FILTER_KINDS), f.kind, (v) => editFilter(i, (x) => {
            // Still bound to each dataset it was bound to, by a column that fits the new kind.
            x.kind = v;
            delete x.default;
            const columns = {};
            for (const slug of Object.keys(x.columns)) {
              const c = choices[slug];
              const col = c && (c.columns.find((y) => y.name === x.columns[slug] && y.filter_kinds.includes(v)) || c.columns.find((y) => y.filter_kinds.includes(v)));
              if (col) columns[slug] = col.name;
            }
            x.columns = columns;
          }))),
          defaultControl(f, i, presets)),
        h("div", { class: "b-row" }, bindings),
        h("p", { class: "small", "data-affects": f.id, text: affected.length ? "Affects: " + affected.join(", ") : "Affects no widget yet: bind it to a column of a widget's dataset." }),
        h("button", { type: "button", class: "link danger-link", text: "Remove filter", onclick: () => { const next = clone(doc); next.filters.splice(i, 1); commit(next); say("Removed the filter."); } })));
    }
    if (seq !== filtersSeq) return;
    keepFocus(box, () => box.replaceChildren(...list));
  }
  function defaultControl(f, i, presets) {
    const d = f.default;
    if (f.kind === "single_select" || f.kind === "multi_select") {
      const text = d === undefined ? "" : Array.isArray(d) ? d.join(", ") : String(d);
      return field("Default", h("input", { type: "text", name: "filter-default-" + i, value: text, placeholder: f.kind === "multi_select" ? "A, B" : "none",
        onchange: (e) => editFilter(i, (x) => {
          const v = e.target.value.trim();
          if (!v) delete x.default;
          else x.default = x.kind === "multi_select" ? v.split(",").map((s) => s.trim()).filter(Boolean) : v;
        }) }));
    }
    if (f.kind === "date_range") {
      return field("Default", select_("filter-default-" + i, [["", "none"], ...presets.map((p) => [p, p.replaceAll("_", " ")])], d && d.preset ? d.preset : "", (v) => editFilter(i, (x) => { if (v) x.default = { preset: v }; else delete x.default; })));
    }
    const range = d || {};
    const num = (key) => h("input", { type: "number", name: "filter-" + key + "-" + i, value: range[key] ?? "", placeholder: key, step: "any",
      onchange: (e) => editFilter(i, (x) => { const r = { ...(x.default || {}) }; const n = parseFloat(e.target.value); if (Number.isFinite(n)) r[key] = n; else delete r[key]; if (Object.keys(r).length) x.default = r; else delete x.default; }) });
    return field("Default range", h("span", { class: "b-row" }, num("min"), num("max")));
  }
  function editFilter(i, change) {
    const next = clone(doc);
    change(next.filters[i]);
    commit(next);
  }
  async function addFilter() {
    const next = clone(doc);
    const id = newId("filter");
    const columns = {};
    // Bound at once to a text column of each dataset a widget uses, when there is one.
    for (const slug of new Set(doc.widgets.filter((w) => w.query).map((w) => w.query.dataset))) {
      const c = await choicesFor(slug);
      const col = c && c.columns.find((x) => x.kind === "text" && x.filter_kinds.includes("single_select"));
      if (col) columns[slug] = col.name;
    }
    if (!Object.keys(columns).length && cfg.datasets[0]) {
      const c = await choicesFor(cfg.datasets[0].slug);
      const col = c && c.columns.find((x) => x.filter_kinds.includes("single_select"));
      if (col) columns[c.dataset] = col.name;
    }
    next.filters.push({ id, label: "Filter " + (next.filters.length + 1), kind: "single_select", columns });
    commit(next);
    say("Added a filter; choose its column and default below.");
    const input = $('[data-filter="' + CSS.escape(id) + '"] input');
    if (input) input.focus();
  }

  // ---- save, discard, start ------------------------------------------------------------------
  async function save() {
    const check = await api("POST", "/builder/check", { document: doc, previous_yaml: yamlText });
    if (!check.ok) { say("Not saved: " + errorText(check), "error"); return; }
    const slugInput = document.querySelector('input[name="slug"]');
    const body = { yaml: check.data.yaml };
    if (slugInput && slugInput.value.trim()) body.slug = slugInput.value.trim();
    let r;
    if (cfg.id) r = await api("PUT", "/dashboards/" + cfg.id, { ...body, revision: cfg.revision });
    else r = await api("POST", "/dashboards", body);
    if (!r.ok) {
      if (r.status === 409 && cfg.id) conflict(r);
      else say("Not saved: " + errorText(r), "error");
      return;
    }
    $("#b-conflict").hidden = true;
    saved(r.data);
    savedText = JSON.stringify(doc);
    if (!cfg.id) {
      window.location.assign("/dashboards/" + r.data.id + "/edit?saved=1");
      return;
    }
    render();
    say("Saved (revision " + cfg.revision + ").", "ok");
  }
  // The saved dashboard (as the API returns it) is now the base of the next save.
  function saved(record) {
    yamlText = record.yaml;
    if (yamlBox) yamlBox.value = yamlText;
    cfg.revision = record.revision;
    for (const input of document.querySelectorAll('input[name="revision"]')) input.value = cfg.revision;
  }
  // Someone else saved meanwhile: nothing was overwritten. The member chooses: take their
  // version (discarding this one, which Undo still holds), or save this one over it.
  function conflict(r) {
    $("#b-conflict-text").textContent = "Not saved. " + errorText(r);
    $("#b-conflict").hidden = false;
    say("Not saved: someone else saved this dashboard meanwhile.", "error");
  }
  async function loadLatest() {
    if (!window.confirm("Load the latest saved version? Your unsaved changes are discarded (Undo brings them back).")) return;
    const r = await api("GET", "/dashboards/" + cfg.id);
    if (!r.ok) { say("Could not load it: " + errorText(r), "error"); return; }
    saved(r.data);
    commit(normal(r.data.document));
    savedText = JSON.stringify(doc);
    render();
    $("#b-conflict").hidden = true;
    say("Loaded the latest version (revision " + cfg.revision + ").", "ok");
  }
  async function saveOver() {
    const r = await api("GET", "/dashboards/" + cfg.id);
    if (!r.ok) { say("Could not load it: " + errorText(r), "error"); return; }
    if (!window.confirm("Replace revision " + r.data.revision + ", saved by someone else, with your version?")) return;
    // Over exactly that revision: a save made meanwhile by a third member is a new conflict.
    cfg.revision = r.data.revision;
    $("#b-conflict").hidden = true;
    await save();
  }
  function discard() {
    if (!window.confirm("Discard every change since the last save?")) return;
    commit(JSON.parse(savedText));
    say("Changes discarded.");
  }
  async function start(datasetId) {
    const title = (doc && doc.title) || "New dashboard";
    const r = await api("POST", "/builder/starter", { title, dataset_id: datasetId ? Number(datasetId) : null });
    if (!r.ok) { say(errorText(r), "error"); return; }
    commit(normal(r.data.document));
    say(datasetId ? "Started from the dataset: a KPI, a trend, a breakdown and a table." : "Started blank.");
  }

  // ---- tabs and start -------------------------------------------------------------------------
  function showTab(name) {
    for (const b of document.querySelectorAll("[data-tab]")) b.setAttribute("aria-selected", String(b.dataset.tab === name));
    for (const p of document.querySelectorAll("[data-tabpanel]")) p.hidden = p.dataset.tabpanel !== name;
  }
  for (const b of document.querySelectorAll("[data-tab]")) b.addEventListener("click", () => showTab(b.dataset.tab));

  $("#b-add").addEventListener("click", addWidget);
  $("#b-add-filter").addEventListener("click", addFilter);
  $("#b-undo").addEventListener("click", undoOnce);
  $("#b-redo").addEventListener("click", redoOnce);
  $("#b-discard").addEventListener("click", discard);
  $("#b-save").addEventListener("click", save);
  $("#b-load-latest").addEventListener("click", loadLatest);
  $("#b-save-over").addEventListener("click", saveOver);
  const starter = $("#b-start");
  if (starter) starter.addEventListener("submit", (e) => { e.preventDefault(); start(new FormData(starter).get("dataset")); });
  const titleInput = $("#b-title");
  titleInput.addEventListener("change", () => { const next = clone(doc); next.title = titleInput.value || next.title; commit(next, { preview: false }); });

  (async () => {
    const r = await api("POST", "/builder/check", { yaml: yamlText, dashboard_id: cfg.id });
    if (r.ok) {
      doc = normal(r.data.document);
    } else {
      // A document that does not validate yet: start blank in the builder, keep the YAML.
      doc = { version: 1, title: "New dashboard", widgets: [], filters: [] };
      say("The YAML does not validate yet, so the builder starts empty: " + errorText(r), "error");
    }
    doc.filters = doc.filters || [];
    doc.widgets = doc.widgets || [];
    savedText = JSON.stringify(doc);
    titleInput.value = doc.title;
    root.hidden = false;
    const tabs = document.getElementById("b-tabs");
    if (tabs) tabs.hidden = false;
    // After a refused YAML save the page opens on the YAML tab, where the errors point.
    showTab(root.dataset.start === "yaml" ? "yaml" : "builder");
    render();
    refreshPreviews();
    root.dataset.ready = "true";
  })();
})();
