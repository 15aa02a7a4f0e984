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
