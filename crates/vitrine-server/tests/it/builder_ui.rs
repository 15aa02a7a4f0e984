//! The builder in real headless Chromium: a dashboard made from a starter, a bar widget picked
//! from a dataset, its preview following the measure, drag and resize, a filter restricting
//! it, undo, save, reload, the YAML tab in step; and the same by keyboard only. Screenshots
//! go to `target/screenshots/builder-*.png` (copied into `docs/` for docs/dashboards.md).

use std::time::Duration;

use fantoccini::actions::{InputSource, MouseActions, PointerAction};
use fantoccini::key::Key;
use serde_json::Value;

use crate::browser::{Browser, STEP};
use crate::builder::{orders, send};
use crate::helpers::{PASSWORD, TestApp};

async fn open_builder(browser: &Browser, app: &TestApp, path: &str) {
    browser.goto(&app.url(path)).await;
    browser
        .wait_until(
            "the builder to start",
            "document.querySelector('#builder[data-ready]') !== null",
        )
        .await;
}

/// Clicks the element at `css` after scrolling it to the middle (the top bar is sticky).
async fn click(browser: &Browser, css: &str) {
    let element = browser.wait_for(css).await;
    browser
        .js(&format!(
            "document.querySelector({}).scrollIntoView({{block: 'center'}}); return null",
            serde_json::to_string(css).unwrap()
        ))
        .await;
    tokio::time::timeout(STEP, element.click())
        .await
        .unwrap()
        .unwrap();
}

/// Presses Tab (Shift+Tab when `backwards`) until `condition` holds: keyboard-only focus.
async fn tab_to(browser: &Browser, condition: &str, backwards: bool) {
    for _ in 0..80 {
        if browser.js(&format!("return {condition}")).await == Value::Bool(true) {
            return;
        }
        let key = if backwards {
            format!("{}{}", char::from(Key::Shift), char::from(Key::Tab))
        } else {
            String::from(char::from(Key::Tab))
        };
        let active = browser.client.active_element().await.unwrap();
        active.send_keys(&key).await.unwrap();
    }
    panic!("Tab never reached `{condition}`");
}

async fn tiles(browser: &Browser) -> u64 {
    browser
        .js("return document.querySelectorAll('.b-tile').length")
        .await
        .as_u64()
        .unwrap()
}

async fn layout_of(browser: &Browser, id: &str) -> Value {
    // The layout the YAML tab shows (the builder's document as the server wrote it).
    browser
        .wait_until(
            "the YAML to follow",
            "!document.querySelector('#b-issues:not([hidden])') && !document.querySelector('#builder[data-yaml-pending]')",
        )
        .await;
    let yaml = browser
        .js("return document.getElementById('yaml').value")
        .await;
    let yaml = yaml.as_str().unwrap().to_owned();
    let doc = vitrine_core::dashboard::Dashboard::from_yaml(&yaml).unwrap();
    let w = doc
        .widget(id)
        .unwrap_or_else(|| panic!("no widget {id} in {yaml}"));
    serde_json::json!([w.layout.x, w.layout.y, w.layout.w, w.layout.h])
}

async fn preview_settled(browser: &Browser, id: &str) -> String {
    let sel = format!("[data-preview='{id}'][data-state]");
    browser
        .wait_until(
            "the preview to draw",
            &format!("document.querySelector(\"{sel}\") !== null"),
        )
        .await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    browser
        .js(&format!(
            "return document.querySelector(\"{sel}\").innerHTML"
        ))
        .await
        .as_str()
        .unwrap()
        .to_owned()
}

async fn choose(browser: &Browser, name: &str, value: &str) {
    let select = browser
        .wait_for(&format!(
            "#b-editor select[name='{name}'], #b-filters select[name='{name}']"
        ))
        .await;
    tokio::time::timeout(STEP, select.select_by_value(value))
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn a_dashboard_is_built_from_a_starter_edited_by_pointer_and_saved() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = TestApp::spawn().await;
    let (key, _, dataset) = orders(&app).await;
    browser.sign_in(&app, "ed@example.com", PASSWORD).await;
    open_builder(&browser, &app, "/dashboards/new").await;

    // A starter over the dataset: KPI, trend, breakdown, table.
    let start = browser.wait_for("#b-start select[name='dataset']").await;
    start.select_by_value(&dataset.to_string()).await.unwrap();
    click(&browser, "#b-start button").await;
    browser
        .wait_until(
            "four tiles",
            "document.querySelectorAll('.b-tile').length === 4",
        )
        .await;
    preview_settled(&browser, "trend").await;
    browser.screenshot("builder-starter").await;

    // Add a bar widget: dataset, dimension, measure.
    click(&browser, "#b-add").await;
    browser
        .wait_until(
            "a fifth tile",
            "document.querySelectorAll('.b-tile').length === 5",
        )
        .await;
    choose(&browser, "kind", "bar").await;
    choose(&browser, "dataset", "orders").await;
    choose(&browser, "dimension-0", "region").await;
    let counted = preview_settled(&browser, "widget").await;
    choose(&browser, "agg-0", "sum").await;
    browser
        .wait_until(
            "the preview to follow the measure",
            &format!(
                "document.querySelector(\"[data-preview='widget']\").innerHTML !== {}",
                serde_json::to_string(&counted).unwrap()
            ),
        )
        .await;
    let summed = preview_settled(&browser, "widget").await;
    assert!(summed.contains("APAC"), "the preview shows real data");
    // A currency format, then a name for the measure: the format follows the name.
    choose(&browser, "format-0", "currency").await;
    let name = browser.wait_for("input[name='measure-name-0']").await;
    name.send_keys("revenue").await.unwrap();
    name.send_keys(&String::from(char::from(Key::Tab)))
        .await
        .unwrap();
    browser
        .wait_until(
            "the format to follow the measure's name",
            "!document.querySelector('#builder[data-yaml-pending]') && \
             /number_formats:\\s+revenue:\\s+style: currency/.test(document.getElementById('yaml').value)",
        )
        .await;
    browser.screenshot("builder-bar-widget").await;

    // Drag it by its head to the left edge, then resize it by its corner.
    let before = layout_of(&browser, "widget").await;
    browser
        .js("document.querySelector(\"[data-widget='widget']\").scrollIntoView({block: 'center'}); return null")
        .await;
    let head = browser.wait_for("[data-drag='widget'] .b-tile-title").await;
    let grid_w = browser
        .js("return document.getElementById('b-grid').getBoundingClientRect().width")
        .await
        .as_f64()
        .unwrap();
    let cell = (grid_w + 8.0) / 12.0;
    let x0 = before[0].as_f64().unwrap();
    let drag = MouseActions::new("mouse".into())
        .then(PointerAction::MoveToElement {
            element: head,
            duration: None,
            x: 0.0,
            y: 0.0,
        })
        .then(PointerAction::Down { button: 0 })
        .then(PointerAction::MoveBy {
            duration: Some(Duration::from_millis(200)),
            x: 6.0 * cell,
            y: 56.0,
        })
        .then(PointerAction::Up { button: 0 });
    browser.client.perform_actions(drag).await.unwrap();
    browser
        .wait_until(
            "the move to land",
            "document.getElementById('b-status').textContent.startsWith('Moved')",
        )
        .await;
    let moved = layout_of(&browser, "widget").await;
    assert_eq!(
        moved[0].as_f64().unwrap(),
        x0 + 6.0,
        "dragged six columns right: {before} → {moved}"
    );
    assert_eq!(moved[1].as_u64().unwrap(), before[1].as_u64().unwrap() + 1);
    let handle = browser.wait_for("[data-resize='widget']").await;
    let resize = MouseActions::new("mouse".into())
        .then(PointerAction::MoveToElement {
            element: handle,
            duration: None,
            x: 0.0,
            y: 0.0,
        })
        .then(PointerAction::Down { button: 0 })
        .then(PointerAction::MoveBy {
            duration: Some(Duration::from_millis(200)),
            x: -2.0 * cell,
            y: 56.0,
        })
        .then(PointerAction::Up { button: 0 });
    browser.client.perform_actions(resize).await.unwrap();
    browser
        .wait_until(
            "the resize to land",
            "document.getElementById('b-status').textContent.startsWith('Resized')",
        )
        .await;
    let resized = layout_of(&browser, "widget").await;
    assert_eq!(
        resized[2].as_u64().unwrap(),
        moved[2].as_u64().unwrap() - 2,
        "narrower: {resized}"
    );
    assert_eq!(
        resized[3].as_u64().unwrap(),
        moved[3].as_u64().unwrap() + 1,
        "taller: {resized}"
    );

    // A filter on region with a default restricts the widget.
    click(&browser, "#b-add-filter").await;
    browser.wait_for("[data-filter='filter']").await;
    choose(&browser, "filter-0-orders", "region").await;
    let default = browser.wait_for("input[name='filter-default-0']").await;
    default.send_keys("EMEA").await.unwrap();
    default
        .send_keys(&String::from(char::from(Key::Tab)))
        .await
        .unwrap();
    browser
        .wait_until(
            "the widget to be restricted",
            "(() => { const p = document.querySelector(\"[data-preview='widget']\"); \
             return p && p.dataset.state === 'ready' && p.innerHTML.includes('EMEA') && !p.innerHTML.includes('APAC'); })()",
        )
        .await;
    let affects = browser.text("[data-affects='filter']").await;
    assert!(affects.contains("New widget"), "{affects}");
    browser.screenshot("builder-filter").await;

    // Undo takes the default away again; redo puts it back.
    click(&browser, "#b-undo").await;
    browser
        .wait_until(
            "the widget to show every region again",
            "document.querySelector(\"[data-preview='widget']\").innerHTML.includes('APAC')",
        )
        .await;
    click(&browser, "#b-redo").await;
    browser
        .wait_until(
            "the restriction to come back",
            "!document.querySelector(\"[data-preview='widget']\").innerHTML.includes('APAC')",
        )
        .await;

    // Save: a new dashboard goes to its edit page; reload finds it as saved.
    click(&browser, "#b-save").await;
    browser
        .wait_until(
            "the saved dashboard's page",
            "location.pathname.endsWith('/edit')",
        )
        .await;
    let id: i64 = browser
        .js("return location.pathname.split('/')[2]")
        .await
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    browser.reload().await;
    browser
        .wait_until(
            "the builder to start",
            "document.querySelector('#builder[data-ready]') !== null",
        )
        .await;
    assert_eq!(tiles(&browser).await, 5);
    assert_eq!(layout_of(&browser, "widget").await, resized);
    let (_, saved) = send(
        &app,
        &key,
        "GET",
        &format!("/api/v1/dashboards/{id}"),
        Value::Null,
    )
    .await;
    let doc = &saved["document"];
    assert_eq!(doc["filters"][0]["default"], "EMEA");
    let widget = doc["widgets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["id"] == "widget")
        .unwrap();
    assert_eq!(widget["kind"], "bar");
    assert_eq!(widget["query"]["dimensions"][0]["column"], "region");
    assert_eq!(widget["query"]["measures"][0]["agg"], "sum");
    assert_eq!(widget["query"]["measures"][0]["name"], "revenue");
    assert_eq!(
        widget["options"]["number_formats"]["revenue"]["style"],
        "currency"
    );

    // The YAML tab shows the same document.
    click(&browser, "[data-tab='yaml']").await;
    let yaml = browser
        .js("return document.getElementById('yaml').value")
        .await;
    let shown = vitrine_core::dashboard::Dashboard::from_yaml(yaml.as_str().unwrap()).unwrap();
    assert_eq!(serde_json::to_value(&shown).unwrap(), *doc);
    browser.screenshot("builder-yaml").await;
    // A valid YAML edit shows in the builder.
    browser
        .js("const y = document.getElementById('yaml'); y.value = y.value.replace('title: New widget', 'title: Revenue by region'); y.dispatchEvent(new Event('input')); return null")
        .await;
    click(&browser, "[data-tab='builder']").await;
    browser
        .wait_until(
            "the builder to show the YAML edit",
            "document.querySelector(\"[data-widget='widget'] .b-tile-title\").textContent === 'Revenue by region'",
        )
        .await;

    let errors = browser.console_errors().await;
    assert!(
        errors.is_empty(),
        "console errors or CSP violations: {errors:#?}"
    );
    browser.close().await;
}

#[tokio::test]
async fn a_widget_is_added_moved_and_resized_with_the_keyboard_only() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = TestApp::spawn().await;
    let (key, _, _) = orders(&app).await;
    let (status, created) = send(
        &app,
        &key,
        "POST",
        "/api/v1/dashboards",
        serde_json::json!({ "yaml": "version: 1\ntitle: Keys\nwidgets: []\n" }),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_i64().unwrap();
    browser.sign_in(&app, "ed@example.com", PASSWORD).await;
    open_builder(&browser, &app, &format!("/dashboards/{id}/edit")).await;

    let type_keys = |keys: String| {
        let client = browser.client.clone();
        async move {
            let active = client.active_element().await.unwrap();
            active.send_keys(&keys).await.unwrap();
        }
    };
    // Tab to "Add a widget" and press Enter: the new widget's first setting takes the focus.
    tab_to(&browser, "document.activeElement.id === 'b-add'", false).await;
    type_keys(String::from(char::from(Key::Enter))).await;
    browser
        .wait_until(
            "a tile",
            "document.querySelectorAll('.b-tile').length === 1",
        )
        .await;
    browser
        .wait_until(
            "the settings to take the focus",
            "document.activeElement.closest('#b-editor') !== null",
        )
        .await;
    // Back to the tile with Shift+Tab, then move it right twice and down once, and make it
    // one column wider and one row taller.
    tab_to(
        &browser,
        "document.activeElement.classList.contains('b-tile')",
        true,
    )
    .await;
    let start = layout_of(&browser, "widget").await;
    for k in [Key::Right, Key::Right, Key::Down] {
        type_keys(String::from(char::from(k))).await;
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    let shift_right = format!("{}{}", char::from(Key::Shift), char::from(Key::Right));
    type_keys(shift_right).await;
    tokio::time::sleep(Duration::from_millis(150)).await;
    let shift_down = format!("{}{}", char::from(Key::Shift), char::from(Key::Down));
    type_keys(shift_down).await;
    browser
        .wait_until(
            "the resize to be announced",
            "document.getElementById('b-status').textContent.startsWith('Resized')",
        )
        .await;
    let end = layout_of(&browser, "widget").await;
    assert_eq!(
        end,
        serde_json::json!([
            start[0].as_u64().unwrap() + 2,
            start[1].as_u64().unwrap() + 1,
            start[2].as_u64().unwrap() + 1,
            start[3].as_u64().unwrap() + 1
        ]),
        "moved and resized by keyboard from {start}"
    );
    let focused = browser
        .js("return document.activeElement.dataset.widget")
        .await;
    assert_eq!(focused, "widget", "the tile keeps the focus");
    browser.screenshot("builder-keyboard").await;
    // Save by keyboard too.
    tab_to(&browser, "document.activeElement.id === 'b-save'", true).await;
    type_keys(String::from(char::from(Key::Enter))).await;
    browser
        .wait_until(
            "the save",
            "document.getElementById('b-status').textContent.startsWith('Saved')",
        )
        .await;
    let (_, saved) = send(
        &app,
        &key,
        "GET",
        &format!("/api/v1/dashboards/{id}"),
        Value::Null,
    )
    .await;
    assert_eq!(saved["revision"], 2);
    let errors = browser.console_errors().await;
    assert!(
        errors.is_empty(),
        "console errors or CSP violations: {errors:#?}"
    );
    browser.close().await;
}

#[tokio::test]
async fn the_dataset_editor_runs_sql_shows_types_explains_errors_and_names_its_users() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = TestApp::spawn().await;
    let (key, _, dataset) = orders(&app).await;
    let (status, _) = send(
        &app,
        &key,
        "POST",
        "/api/v1/dashboards",
        serde_json::json!({ "yaml": "version: 1\ntitle: Board pack\nwidgets:\n  - {id: n, kind: kpi, layout: {x: 0, y: 0, w: 3, h: 2}, query: {dataset: orders, measures: [{agg: count}]}}\n" }),
    )
    .await;
    assert_eq!(status, 201);
    browser.sign_in(&app, "ed@example.com", PASSWORD).await;
    browser
        .goto(&app.url(&format!("/datasets/{dataset}")))
        .await;
    let users = browser.text("#dataset-users").await;
    assert!(
        users.contains("Used by 1 dashboard") && users.contains("Board pack"),
        "{users}"
    );
    click(&browser, "#run-sql").await;
    browser.wait_for("#run-result table").await;
    let header = browser.text("#run-result thead").await;
    assert!(
        header.contains("plan")
            && header.contains("text")
            && header.contains("amount")
            && header.contains("number"),
        "{header}"
    );
    let rows = browser
        .js("return document.querySelectorAll('#run-result tbody tr').length")
        .await;
    assert_eq!(rows, 4);
    browser.screenshot("dataset-run").await;
    browser
        .js("document.getElementById('dataset-sql').value = 'SELECT plan, amout FROM orders'; return null")
        .await;
    click(&browser, "#run-sql").await;
    browser.wait_for("#run-result .alert-error").await;
    let error = browser.text("#run-result .alert-error").await;
    assert_eq!(
        error,
        "The query names a column `amout` that its tables do not have."
    );
    let blocked = browser.csp_violations().await;
    assert!(blocked.is_empty(), "blocked by the CSP: {blocked:#?}");
    browser.close().await;
}

/// The builder's document as the YAML tab shows it, once the YAML has caught up.
async fn yaml_doc(browser: &Browser) -> vitrine_core::dashboard::Dashboard {
    browser
        .wait_until(
            "the YAML to follow",
            "!document.querySelector('#b-issues:not([hidden])') && !document.querySelector('#builder[data-yaml-pending]')",
        )
        .await;
    let yaml = browser
        .js("return document.getElementById('yaml').value")
        .await;
    vitrine_core::dashboard::Dashboard::from_yaml(yaml.as_str().unwrap()).unwrap()
}

async fn press_on(browser: &Browser, css: &str, key: &str) {
    browser
        .js(&format!(
            "document.querySelector({}).focus(); return null",
            serde_json::to_string(css).unwrap()
        ))
        .await;
    let active = browser.client.active_element().await.unwrap();
    active.send_keys(key).await.unwrap();
}

async fn status_starts(browser: &Browser, what: &str, prefix: &str) {
    browser
        .wait_until(
            what,
            &format!(
                "document.getElementById('b-status').textContent.startsWith({})",
                serde_json::to_string(prefix).unwrap()
            ),
        )
        .await;
}

const ACTIONS: &str = "version: 1
title: Actions
widgets:
  - id: rev
    title: Revenue
    kind: bar
    layout: {x: 0, y: 0, w: 6, h: 4}
    query: {dataset: orders, dimensions: [{column: region}], measures: [{agg: sum, column: amount, name: revenue}]}
    options: {number_formats: {revenue: {style: currency, currency: EUR}}}
";

#[tokio::test]
async fn duplicate_delete_discard_filters_currency_validation_and_a_conflict_in_the_builder() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = TestApp::spawn().await;
    let (key, source, dataset) = orders(&app).await;
    let (status, created) = send(
        &app,
        &key,
        "POST",
        "/api/v1/dashboards",
        serde_json::json!({ "yaml": ACTIONS }),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_i64().unwrap();
    browser.sign_in(&app, "ed@example.com", PASSWORD).await;
    open_builder(&browser, &app, &format!("/dashboards/{id}/edit")).await;
    // Every confirmation is accepted (Discard, Load the latest, Save over it).
    browser.js("window.confirm = () => true; return null").await;

    // A saved EUR format shows as EUR and stays EUR; another code can be typed.
    click(&browser, "[data-widget='rev'] [data-act='edit']").await;
    let currency = browser.wait_for("input[name='currency-0']").await;
    assert_eq!(
        browser
            .js("return document.querySelector(\"select[name='format-0']\").value")
            .await,
        "currency"
    );
    assert_eq!(currency.prop("value").await.unwrap().unwrap(), "EUR");
    browser
        .js("document.querySelector(\"#b-editor input[name='title']\").value = ''; return null")
        .await;
    let title = browser.wait_for("#b-editor input[name='title']").await;
    title.send_keys("Revenue in euros").await.unwrap();
    title
        .send_keys(&String::from(char::from(Key::Tab)))
        .await
        .unwrap();
    browser
        .wait_until(
            "the title to reach the YAML",
            "document.getElementById('yaml').value.includes('Revenue in euros')",
        )
        .await;
    let doc = yaml_doc(&browser).await;
    let format = serde_json::to_value(&doc.widget("rev").unwrap().options.number_formats).unwrap();
    assert_eq!(
        format["revenue"],
        serde_json::json!({ "style": "currency", "currency": "EUR" })
    );
    browser
        .js("document.querySelector(\"input[name='currency-0']\").value = ''; return null")
        .await;
    let currency = browser.wait_for("input[name='currency-0']").await;
    currency.send_keys("gbp").await.unwrap();
    currency
        .send_keys(&String::from(char::from(Key::Tab)))
        .await
        .unwrap();
    browser
        .wait_until(
            "GBP to reach the YAML",
            "/currency: GBP/.test(document.getElementById('yaml').value)",
        )
        .await;
    // The lists come from the server: the formats offered, the currencies suggested.
    let offered = browser
        .js("return [...document.querySelectorAll(\"select[name='format-0'] option\")].map(o => o.value).join(',')")
        .await;
    assert_eq!(offered, ",number,currency,percent,duration");
    let suggested = browser
        .js("return [...document.querySelectorAll('#b-currencies option')].map(o => o.value).join(',')")
        .await;
    assert_eq!(suggested, "USD,EUR,GBP,JPY");

    // Duplicate by button and by the D key, delete by button and by the Delete key, undo.
    click(&browser, "[data-widget='rev'] [data-act='duplicate']").await;
    browser
        .wait_until(
            "a copy",
            "document.querySelectorAll('.b-tile').length === 2",
        )
        .await;
    press_on(&browser, "[data-widget='rev']", "d").await;
    browser
        .wait_until(
            "a second copy",
            "document.querySelectorAll('.b-tile').length === 3",
        )
        .await;
    let doc = yaml_doc(&browser).await;
    let ids: Vec<&str> = doc.widgets.iter().map(|w| w.id.as_str()).collect();
    assert_eq!(ids, ["rev", "rev-copy", "rev-copy-2"]);
    for (i, a) in doc.widgets.iter().enumerate() {
        for b in &doc.widgets[i + 1..] {
            let (a, b) = (&a.layout, &b.layout);
            assert!(
                a.x + a.w <= b.x || b.x + b.w <= a.x || a.y + a.h <= b.y || b.y + b.h <= a.y,
                "copies do not overlap: {:?}",
                doc.widgets
            );
        }
        assert_eq!(a.query, doc.widgets[0].query, "a copy has the same query");
    }
    click(&browser, "[data-widget='rev-copy-2'] [data-act='delete']").await;
    status_starts(&browser, "the delete by button", "Deleted “rev-copy-2”").await;
    press_on(
        &browser,
        "[data-widget='rev-copy']",
        &String::from(char::from(Key::Delete)),
    )
    .await;
    status_starts(&browser, "the delete by key", "Deleted “rev-copy”").await;
    assert_eq!(tiles(&browser).await, 1);
    click(&browser, "#b-undo").await;
    browser
        .wait_until(
            "the copy back",
            "document.querySelector(\"[data-widget='rev-copy']\") !== null",
        )
        .await;

    // A filter: added on region, its kind changed to a date range (rebound to the date
    // column, presets from the server), then removed.
    click(&browser, "#b-add-filter").await;
    browser.wait_for("[data-filter='filter']").await;
    let bound = browser
        .js("return document.querySelector(\"select[name='filter-0-orders']\").value")
        .await;
    assert_eq!(bound, "plan", "bound to the first text column");
    choose(&browser, "filter-kind-0", "date_range").await;
    browser
        .wait_until(
            "the filter to be rebound",
            "(() => { const s = document.querySelector(\"select[name='filter-0-orders']\"); return s && s.value === 'ordered_at'; })()",
        )
        .await;
    let presets = browser
        .js("return [...document.querySelectorAll(\"select[name='filter-default-0'] option\")].map(o => o.value)")
        .await;
    let presets: Vec<&str> = presets
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(presets.len(), 15, "none and the 14 presets: {presets:?}");
    assert!(presets.contains(&"last_year") && presets.contains(&"year_to_date"));
    choose(&browser, "filter-default-0", "last_year").await;
    let doc = yaml_doc(&browser).await;
    let filter = serde_json::to_value(&doc.filters[0]).unwrap();
    assert_eq!(filter["kind"], "date_range");
    assert_eq!(filter["columns"]["orders"], "ordered_at");
    assert_eq!(filter["default"]["preset"], "last_year");
    click(&browser, "[data-filter='filter'] button.danger-link").await;
    status_starts(&browser, "the filter to go", "Removed the filter").await;
    assert!(yaml_doc(&browser).await.filters.is_empty());

    // Discard: back to the document as saved (one widget, its EUR format).
    assert_eq!(tiles(&browser).await, 2);
    click(&browser, "#b-discard").await;
    status_starts(&browser, "the discard", "Changes discarded").await;
    assert_eq!(tiles(&browser).await, 1);
    let doc = yaml_doc(&browser).await;
    assert_eq!(doc.widget("rev").unwrap().title, "Revenue");
    assert!(
        browser
            .js("return document.getElementById('yaml').value")
            .await
            .as_str()
            .unwrap()
            .contains("currency: EUR")
    );

    // Someone saves meanwhile: the builder says so, and "Save over it" replaces their
    // revision with this one, on purpose.
    let path = format!("/api/v1/dashboards/{id}");
    let theirs = |title: &str, revision: i64| {
        let yaml = ACTIONS.replace("title: Actions", &format!("title: {title}"));
        send(
            &app,
            &key,
            "PUT",
            &path,
            serde_json::json!({ "yaml": yaml, "revision": revision }),
        )
    };
    assert_eq!(theirs("Theirs", 1).await.0, 200);
    click(&browser, "[data-widget='rev'] [data-act='duplicate']").await;
    click(&browser, "#b-save").await;
    browser
        .wait_until(
            "the conflict",
            "!document.getElementById('b-conflict').hidden",
        )
        .await;
    let told = browser.text("#b-conflict-text").await;
    assert!(
        told.starts_with("Not saved. Someone else saved this dashboard after you opened it"),
        "{told}"
    );
    click(&browser, "#b-save-over").await;
    status_starts(&browser, "the save over theirs", "Saved (revision 3)").await;
    let (_, saved) = send(
        &app,
        &key,
        "GET",
        &format!("/api/v1/dashboards/{id}"),
        Value::Null,
    )
    .await;
    assert_eq!(saved["revision"], 3);
    assert_eq!(saved["title"], "Actions", "ours replaced theirs");
    assert_eq!(saved["document"]["widgets"].as_array().unwrap().len(), 2);

    // Again, and this time "Load the latest version": theirs, in the builder and the YAML.
    assert_eq!(theirs("Theirs again", 3).await.0, 200);
    press_on(
        &browser,
        "[data-widget='rev-copy']",
        &String::from(char::from(Key::Delete)),
    )
    .await;
    click(&browser, "#b-save").await;
    browser
        .wait_until(
            "the conflict",
            "!document.getElementById('b-conflict').hidden",
        )
        .await;
    click(&browser, "#b-load-latest").await;
    status_starts(
        &browser,
        "their version",
        "Loaded the latest version (revision 4)",
    )
    .await;
    assert!(
        browser
            .js("return document.getElementById('b-conflict').hidden")
            .await
            == Value::Bool(true)
    );
    assert_eq!(
        browser
            .js("return document.getElementById('b-title').value")
            .await,
        "Theirs again"
    );
    assert_eq!(tiles(&browser).await, 1);
    assert_eq!(yaml_doc(&browser).await.title, "Theirs again");
    // And the next save starts from their revision.
    click(&browser, "[data-widget='rev'] [data-act='duplicate']").await;
    click(&browser, "#b-save").await;
    status_starts(&browser, "a save after loading", "Saved (revision 5)").await;

    // A save that validation refuses (the dataset lost its `region` column meanwhile) shows
    // validation's message.
    let (status, body) = send(
        &app,
        &key,
        "PUT",
        &format!("/api/v1/datasets/{dataset}"),
        serde_json::json!({ "data_source_id": source, "slug": "orders", "name": "Orders",
                            "sql": "SELECT plan, amount, ordered_at FROM orders" }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    click(&browser, "#b-save").await;
    status_starts(&browser, "the refusal", "Not saved: ").await;
    let said = browser.text("#b-status").await;
    assert!(said.contains("region"), "{said}");
    assert!(
        browser
            .js("return document.getElementById('b-conflict').hidden")
            .await
            == Value::Bool(true)
    );

    let blocked = browser.csp_violations().await;
    assert!(blocked.is_empty(), "blocked by the CSP: {blocked:#?}");
    // The refused requests (409, 400) are logged by Chromium as network errors; nothing else.
    let errors: Vec<_> = browser
        .console_errors()
        .await
        .into_iter()
        .filter(|e| e.source != "network")
        .collect();
    assert!(errors.is_empty(), "console errors: {errors:#?}");
    browser.close().await;
}
