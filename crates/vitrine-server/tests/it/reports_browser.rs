//! The report form in headless Chromium: the preview of the next five sends follows the
//! frequency and the zone (through `reports.js` and the preview endpoint) under the strict CSP,
//! the form creates the schedule, and the form and the Reports page fit a desktop and a phone
//! (screenshots in `target/screenshots/report-*.png`).

use crate::browser::{Browser, sales_dashboard, step};
use crate::helpers::{PASSWORD, TestApp};

#[tokio::test]
async fn the_report_form_previews_sends_in_its_zone_creates_and_fits_a_phone() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = TestApp::spawn().await;
    let sales = sales_dashboard(&app).await;
    browser.set_viewport(1400, 900).await;
    browser.sign_in(&app, sales.editor_email, PASSWORD).await;
    browser
        .goto(&app.url(&format!("/dashboards/{}/reports/new", sales.id)))
        .await;
    browser.wait_for("form[data-report-form]").await;

    // Every hour at :15 in Asia/Kolkata (UTC+05:30): the preview shows local :15 in IST.
    let kind = browser.wait_for("select[name='kind']").await;
    step("choose hourly", kind.select_by_value("hourly")).await;
    let minute = browser.wait_for("input[name='minute']").await;
    assert!(
        minute.is_displayed().await.unwrap(),
        "the minute shows for hourly"
    );
    browser
        .js(
            "const m = document.querySelector('input[name=minute]'); m.value = '15'; \
             m.dispatchEvent(new Event('input', {bubbles: true})); return null",
        )
        .await;
    let zone = browser.wait_for("select[name='zone']").await;
    step("choose Kolkata", zone.select_by_value("Asia/Kolkata")).await;
    browser
        .wait_until(
            "the preview to follow the zone",
            "[...document.querySelectorAll('[data-preview-list] li')].length === 5 && \
             [...document.querySelectorAll('[data-preview-list] li')].every(li => / \\d\\d:15 IST$/.test(li.textContent))",
        )
        .await;
    // The instants are UTC :45 (a half-hour zone).
    assert_eq!(
        browser
            .js("return document.querySelector('[data-preview-list] time').dateTime.slice(14, 16)")
            .await,
        "45"
    );

    // A cron expression that cannot be read: the preview says why, in words.
    step("choose cron", kind.select_by_value("cron")).await;
    browser
        .js(
            "const e = document.querySelector('input[name=expression]'); e.value = 'every monday'; \
             e.dispatchEvent(new Event('input', {bubbles: true})); return null",
        )
        .await;
    browser
        .wait_until(
            "the preview to show the problem",
            "!document.querySelector('[data-preview-error]').hidden",
        )
        .await;
    step("back to daily", kind.select_by_value("daily")).await;
    browser
        .wait_until(
            "the preview to recover",
            "document.querySelector('[data-preview-error]').hidden && \
             document.querySelectorAll('[data-preview-list] li').length === 5",
        )
        .await;

    for (device, width, height) in [("desktop", 1400, 900), ("phone", 390, 844)] {
        browser.set_viewport(width, height).await;
        browser
            .screenshot_full_page(&format!("report-form-{device}"))
            .await;
        assert_eq!(
            browser
                .js("return document.documentElement.scrollWidth <= innerWidth")
                .await,
            true,
            "the report form scrolls sideways on a {device}"
        );
    }
    browser.set_viewport(1400, 900).await;

    // Create it through the form.
    browser
        .js(
            "const f = document.querySelector('form[data-report-form]'); \
             f.elements.name.value = 'Board pack'; f.elements.emails.value = 'board@example.com'; \
             return null",
        )
        .await;
    let submit = browser
        .wait_for("form[data-report-form] button[type='submit']")
        .await;
    step("create", submit.click()).await;
    browser
        .wait_until(
            "the saved report's page",
            "document.body.textContent.includes('Schedule created.')",
        )
        .await;
    assert!(
        browser.text("h1").await.contains("Board pack"),
        "the page is the report's"
    );
    browser.screenshot_full_page("report-saved-desktop").await;

    for (device, width, height) in [("desktop", 1400, 900), ("phone", 390, 844)] {
        browser.set_viewport(width, height).await;
        browser.goto(&app.url("/reports")).await;
        browser.wait_for(".report-list").await;
        browser.screenshot(&format!("report-list-{device}")).await;
        assert_eq!(
            browser
                .js("return document.documentElement.scrollWidth <= innerWidth")
                .await,
            true,
            "the reports page scrolls sideways on a {device}"
        );
        browser
            .goto(&app.url(&format!("/dashboards/{}", sales.id)))
            .await;
        browser.wait_for("#reports a[href^='/reports/']").await;
        browser
            .screenshot_full_page(&format!("report-dashboard-{device}"))
            .await;
    }
    let blocked = browser.csp_violations().await;
    assert!(blocked.is_empty(), "blocked by the CSP: {blocked:#?}");
    let errors = browser.console_errors().await;
    assert!(errors.is_empty(), "console errors: {errors:#?}");
    browser.close().await;
}
