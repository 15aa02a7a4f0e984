//! Downloads as services: a member's (from their dashboard page or the API) and an outsider's
//! (through a share link that allows them). Both go through [`crate::exports`], which renders
//! exactly the page's data path, so a download shows what its page shows and nothing more.
//!
//! The request's query string is the view, as on the page, plus the file's own parameters
//! (`paper=a4|letter` for PDFs, `scale=1|2` for PNGs, refused when they are anything else).

use std::collections::BTreeSet;

use vitrine_core::id::DashboardId;
use vitrine_store::Member;

use crate::dashboards::{ViewState, describe_filter_value, parse_view_query};
use crate::exports::{ExportFile, ExportFormat, PdfText, export_params};
use crate::outsider::{Display, Requester, ShareAccess};
use crate::{App, Error};

/// A member's dashboard as PDF under the view in `query`; 404 when they may not see it.
pub async fn member_dashboard_pdf(
    app: &App,
    member: &Member,
    id: DashboardId,
    query: &str,
) -> Result<ExportFile, Error> {
    let (paper, _) = export_params(query)?;
    let (_, ctx, restrictions) = crate::data_permissions::open_for_member(app, member, id).await?;
    let view = parse_view_query(&ctx.document, query);
    let filters = ctx
        .document
        .filters
        .iter()
        .map(|f| {
            format!(
                "{}: {}",
                f.label,
                describe_filter_value(view.filters.current(f))
            )
        })
        .collect();
    let footer = app
        .store
        .workspace(member.workspace_id)
        .await?
        .map(|w| w.policy.footer)
        .unwrap_or_default();
    crate::exports::dashboard_pdf(
        &app.exports,
        &app.runner,
        &ctx,
        &view,
        &restrictions,
        None,
        paper,
        PdfText { filters, footer },
    )
    .await
}

/// One widget of a member's dashboard as PNG, SVG or CSV under the view in `query`; 404 when
/// they may not see the dashboard, it has no such widget, or (CSV) the widget has no data.
pub async fn member_widget_file(
    app: &App,
    member: &Member,
    (id, widget): (DashboardId, &str),
    query: &str,
    format: ExportFormat,
) -> Result<ExportFile, Error> {
    let (_, scale) = export_params(query)?;
    let (_, ctx, restrictions) = crate::data_permissions::open_for_member(app, member, id).await?;
    let view = parse_view_query(&ctx.document, query);
    crate::exports::widget_file(
        &app.exports,
        &app.runner,
        &ctx,
        widget,
        &view,
        &restrictions,
        format,
        scale,
    )
    .await?
    .ok_or(Error::NotFound)
}

/// Whether `access` allows downloading (of `widget`, when given): the link allows downloads,
/// and a widget link only its own widget.
pub fn may_download(access: &ShareAccess, widget: Option<&str>) -> bool {
    access.settings().display.allow_downloads && widget.is_none_or(|w| access.may_show_widget(w))
}

/// The lines of a shared PDF's header: each filter the page shows, with its value; locked ones
/// marked "(fixed)".
fn shared_filter_lines(access: &ShareAccess, display: &Display, view: &ViewState) -> Vec<String> {
    let settings = access.settings();
    let open: BTreeSet<&str> = settings.open_filters.iter().map(String::as_str).collect();
    access
        .context()
        .document
        .filters
        .iter()
        .filter_map(|f| {
            let locked = settings.locked_filters.contains_key(f.id.as_str());
            let shown = locked || (display.show_filters && open.contains(f.id.as_str()));
            shown.then(|| {
                format!(
                    "{}: {}{}",
                    f.label,
                    describe_filter_value(view.filters.current(f)),
                    if locked { " (fixed)" } else { "" }
                )
            })
        })
        .collect()
}

/// The shared dashboard (or a widget link's widget) as PDF under the outsider's `query`,
/// recorded as an `export_pdf` access event. The caller checked [`may_download`].
pub async fn shared_pdf(
    app: &App,
    access: &ShareAccess,
    who: &Requester,
    query: &str,
) -> Result<ExportFile, Error> {
    let (paper, _) = export_params(query)?;
    let (display, view) = crate::outsider::admit_view(app, access, who, query)?;
    let text = PdfText {
        filters: shared_filter_lines(access, &display, &view),
        footer: access.workspace().policy.footer.clone(),
    };
    let file = crate::exports::dashboard_pdf(
        &app.exports,
        &app.runner,
        access.context(),
        &view,
        access.restrictions(),
        access.only_widget(),
        paper,
        text,
    )
    .await?;
    crate::outsider::record_access(app, who, access, ExportFormat::Pdf.outcome()).await?;
    Ok(file)
}

/// One shared widget as PNG, SVG or CSV under the outsider's `query`, recorded as an access
/// event; `None` when the dashboard has no such widget or (CSV) it has no data. The caller
/// checked [`may_download`].
pub async fn shared_widget_file(
    app: &App,
    access: &ShareAccess,
    who: &Requester,
    widget: &str,
    query: &str,
    format: ExportFormat,
) -> Result<Option<ExportFile>, Error> {
    let (_, scale) = export_params(query)?;
    let (_, view) = crate::outsider::admit_view(app, access, who, query)?;
    let Some(file) = crate::exports::widget_file(
        &app.exports,
        &app.runner,
        access.context(),
        widget,
        &view,
        access.restrictions(),
        format,
        scale,
    )
    .await?
    else {
        return Ok(None);
    };
    crate::outsider::record_access(app, who, access, format.outcome()).await?;
    Ok(Some(file))
}
