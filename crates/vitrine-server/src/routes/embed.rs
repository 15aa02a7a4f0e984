//! The embedded view: `/embed/{embed_id}` and its fragments, live stream and downloads.
//!
//! ```text
//! GET /embed/{embed_id}                                  the page (token: header or ?guest_token=;
//!                                                        none: the SDK's handshake page)
//! GET /embed/{embed_id}/widgets/{widget_id}              one card's fragment
//! GET /embed/{embed_id}/live                             the live stream (read with fetch)
//! GET /embed/{embed_id}/export.pdf                       downloads, when the embedding shows them
//! GET /embed/{embed_id}/widgets/{widget_id}/export.{png,svg,csv}
//! ```
//!
//! Every request carries the guest token in a header (`X-Vitrine-Guest-Token`, or
//! `Authorization: Bearer gst_…`); only the page also reads `?guest_token=` (the plain
//! `<iframe>`, documented as the weaker way). No cookie, no storage. Each request resolves
//! the token against the store ([`embedding::open_guest`]) into the same [`ShareAccess`] a
//! share link opens, and then runs the share routes' very code ([`super::public`]), so the
//! grant's row-level rules restrict the page, every fragment, the live stream and every
//! download as bound parameters. An expired or revoked grant fails closed on every route:
//! `401` with `X-Vitrine-Session: expired`, and the page flips to its "session expired"
//! state and tells the host (`auth-expired`).
//!
//! `frame-ancestors` comes from the embedding's allowed origins on every response of a known
//! embedding; an unknown embed id frames nowhere.

use askama::Template;
use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::sync::watch;
use vitrine_app::App;
use vitrine_app::downloads;
use vitrine_app::embedding::{self, EmbedSettings, GuestGate};
use vitrine_app::exports::ExportFormat;
use vitrine_app::hub::LinkState;
use vitrine_app::outsider::{self, PageView, Requester, ShareAccess};

use super::public::{
    PageBase, dashboard_response, missing, outcome, render, requester, too_many_live_viewers,
    with_frame,
};
use crate::assets::EMBED_FRAME_JS;
use crate::error::HttpError;
use crate::exports;
use crate::live::{LinkWatch, LiveStreamParams, live_response};
use crate::routes::ClientAddr;
use crate::security::FrameAncestors;

/// The header that carries the guest token.
pub const GUEST_TOKEN_HEADER: &str = "x-vitrine-guest-token";

/// Embedded-view routes (outsider side: no identity layer).
pub fn router() -> Router<App> {
    Router::new()
        .route("/embed/{embed_id}", get(show_embedded_dashboard))
        .route(
            "/embed/{embed_id}/widgets/{widget_id}",
            get(show_embedded_widget),
        )
        .route("/embed/{embed_id}/live", get(live_embedded_dashboard))
        .route("/embed/{embed_id}/export.pdf", get(export_embedded_pdf))
        .route(
            "/embed/{embed_id}/widgets/{widget_id}/{file}",
            get(export_embedded_widget),
        )
}

/// The handshake page or the "session expired" state.
#[derive(Debug, Template)]
#[template(path = "embed_state.html")]
struct EmbedStatePage {
    expired: bool,
    embed_id: String,
    allowed_origins: String,
    query: String,
    embed_js: &'static str,
}

/// The token a request carries in a header.
fn header_token(headers: &HeaderMap) -> Option<String> {
    if let Some(v) = headers
        .get(GUEST_TOKEN_HEADER)
        .and_then(|v| v.to_str().ok())
    {
        return Some(v.trim().to_owned());
    }
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|v| v.trim().to_owned())
}

/// The page's query without `guest_token` (kept out of every URL the page builds), and the
/// token it carried.
fn split_query(query: &str) -> (String, Option<String>) {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap_or_default();
    let token = pairs
        .iter()
        .find(|(k, _)| k == "guest_token")
        .map(|(_, v)| v.clone());
    let rest: Vec<&(String, String)> = pairs.iter().filter(|(k, _)| k != "guest_token").collect();
    (serde_urlencoded::to_string(rest).unwrap_or_default(), token)
}

fn origins_of(settings: &EmbedSettings) -> Vec<String> {
    settings
        .allowed_origins
        .iter()
        .map(|o| o.as_str().to_owned())
        .collect()
}

fn framed(mut response: Response, settings: Option<&EmbedSettings>) -> Response {
    if let Some(s) = settings {
        response
            .extensions_mut()
            .insert(FrameAncestors(origins_of(s)));
    }
    response
}

fn state_page(
    status: StatusCode,
    expired: bool,
    embed_id: &str,
    settings: &EmbedSettings,
    query: &str,
) -> Response {
    let page = EmbedStatePage {
        expired,
        embed_id: embed_id.to_owned(),
        allowed_origins: origins_of(settings).join(" "),
        query: query.to_owned(),
        embed_js: crate::assets::url(EMBED_FRAME_JS),
    };
    let mut response = render(status, &page);
    if expired {
        response
            .headers_mut()
            .insert("x-vitrine-session", HeaderValue::from_static("expired"));
    }
    framed(response, Some(settings))
}

/// `401 session expired` for a fragment, stream or download: the page's script flips to the
/// expired state and tells the host.
fn expired_plain(settings: Option<&EmbedSettings>) -> Response {
    let mut response = (StatusCode::UNAUTHORIZED, "session expired").into_response();
    response
        .headers_mut()
        .insert("x-vitrine-session", HeaderValue::from_static("expired"));
    framed(response, settings)
}

/// What a request to an embedded route resolved to.
enum Opened {
    Open(Box<ShareAccess>),
    Refused(Response),
}

/// Resolves the request's token and records a refusal (`not_found`, `expired`, `revoked`, …).
async fn open(
    state: &App,
    embed_id: &str,
    token: Option<&str>,
    who: &Requester,
) -> Result<Opened, HttpError> {
    match embedding::open_guest(state, embed_id, token).await? {
        GuestGate::Open(access) => Ok(Opened::Open(access)),
        GuestGate::NotFound => {
            let known = embedding::embedding_settings(state, embed_id).await?;
            embedding::record(
                state,
                who,
                known.as_ref().map(|(e, _)| e),
                None,
                "not_found",
            )
            .await?;
            Ok(Opened::Refused(match known {
                Some((_, s)) => expired_plain(Some(&s)),
                None => missing(state).await,
            }))
        }
        GuestGate::Gone(e, reason) => {
            embedding::record(state, who, Some(&e), None, reason).await?;
            let settings = EmbedSettings::of(&e).ok();
            Ok(Opened::Refused(expired_plain(settings.as_ref())))
        }
    }
}

fn embedded_frame(response: Response, access: &ShareAccess) -> Response {
    with_frame(response, access.settings())
}

async fn show_embedded_dashboard(
    State(state): State<App>,
    Path(embed_id): Path<String>,
    RawQuery(query): RawQuery,
    ClientAddr(ip): ClientAddr,
    headers: HeaderMap,
) -> Response {
    outcome(
        &state,
        async {
            let who = requester(&state, &headers, ip);
            let (query, url_token) = split_query(query.as_deref().unwrap_or(""));
            let token = header_token(&headers).or(url_token);
            let Some((record, settings)) = embedding::embedding_settings(&state, &embed_id).await?
            else {
                embedding::record(&state, &who, None, None, "not_found").await?;
                return Ok(missing(&state).await);
            };
            let Some(token) = token else {
                // The SDK's page: it waits for the token over postMessage.
                return Ok(state_page(
                    StatusCode::OK,
                    false,
                    &embed_id,
                    &settings,
                    &query,
                ));
            };
            let access = match embedding::open_guest(&state, &embed_id, Some(&token)).await? {
                GuestGate::Open(access) => access,
                GuestGate::NotFound => {
                    embedding::record(&state, &who, Some(&record), None, "not_found").await?;
                    return Ok(state_page(
                        StatusCode::UNAUTHORIZED,
                        true,
                        &embed_id,
                        &settings,
                        &query,
                    ));
                }
                GuestGate::Gone(e, reason) => {
                    embedding::record(&state, &who, Some(&e), None, reason).await?;
                    return Ok(state_page(
                        StatusCode::UNAUTHORIZED,
                        true,
                        &embed_id,
                        &settings,
                        &query,
                    ));
                }
            };
            let seen = outsider::admit_view(&state, &access, &who, &query)?;
            if let PageView::UsedUp = outsider::admit_page_view(&state, &access, &who).await? {
                return Ok(expired_plain(Some(&settings)));
            }
            let base = PageBase {
                path: format!("/embed/{embed_id}"),
                guest_token: Some(&token),
            };
            let mut response =
                dashboard_response(&state, &headers, &access, base, &query, seen).await;
            if let Some(g) = access.guest() {
                response.headers_mut().insert(
                    "x-vitrine-expires-in",
                    HeaderValue::from(g.seconds_left(state.now())),
                );
            }
            Ok(embedded_frame(response, &access))
        }
        .await,
    )
    .await
}

async fn show_embedded_widget(
    State(state): State<App>,
    Path((embed_id, widget_id)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    ClientAddr(ip): ClientAddr,
    headers: HeaderMap,
) -> Response {
    outcome(
        &state,
        async {
            let query = query.unwrap_or_default();
            let who = requester(&state, &headers, ip);
            let token = header_token(&headers);
            let access = match open(&state, &embed_id, token.as_deref(), &who).await? {
                Opened::Open(access) => access,
                Opened::Refused(response) => return Ok(response),
            };
            let (_, view) = outsider::admit_view(&state, &access, &who, &query)?;
            let Some(html) = crate::dashboards::widget_card(
                &state.runner,
                access.context(),
                &widget_id,
                &view,
                access.restrictions(),
            )
            .await
            else {
                return Ok(embedded_frame(missing(&state).await, &access));
            };
            Ok(embedded_frame(
                axum::response::Html(html).into_response(),
                &access,
            ))
        }
        .await,
    )
    .await
}

async fn live_embedded_dashboard(
    State(state): State<App>,
    Path(embed_id): Path<String>,
    RawQuery(query): RawQuery,
    ClientAddr(ip): ClientAddr,
    headers: HeaderMap,
) -> Response {
    outcome(
        &state,
        async {
            let (query, params) = LiveStreamParams::split(query.as_deref().unwrap_or(""));
            let who = requester(&state, &headers, ip);
            let token = header_token(&headers);
            let access = match open(&state, &embed_id, token.as_deref(), &who).await? {
                Opened::Open(access) => access,
                Opened::Refused(response) => return Ok(response),
            };
            let permit = match outsider::open_stream(&state, &access, &who) {
                Ok(permit) => permit,
                Err(_) => return Ok(too_many_live_viewers()),
            };
            let (_, view) = outsider::admit_view(&state, &access, &who, &query)?;
            let link = LinkWatch {
                state: match access.guest() {
                    Some(info) => embedding::watch_grant(&state, info),
                    None => watch::channel(LinkState::Open).1,
                },
                contact: String::new(),
                permit: Some(permit),
                // The grant's guard ends the stream when the grant expires.
                deadline: access.admitted_until(),
            };
            let target = vitrine_app::hub::Target {
                workspace_id: access.link().workspace_id,
                dashboard_id: access.link().dashboard_id,
                revision: access.context().revision,
                view,
                restrictions: access.restrictions().clone(),
                only_widget: None,
            };
            Ok(embedded_frame(
                live_response(&state, target, Some(link), params),
                &access,
            ))
        }
        .await,
    )
    .await
}

async fn open_for_download(
    state: &App,
    embed_id: &str,
    headers: &HeaderMap,
    who: &Requester,
    widget_id: Option<&str>,
) -> Result<Result<Box<ShareAccess>, Response>, HttpError> {
    let token = header_token(headers);
    let access = match open(state, embed_id, token.as_deref(), who).await? {
        Opened::Open(access) => access,
        Opened::Refused(response) => return Ok(Err(response)),
    };
    if !downloads::may_download(&access, widget_id) {
        return Ok(Err(embedded_frame(missing(state).await, &access)));
    }
    Ok(Ok(access))
}

async fn export_embedded_pdf(
    State(state): State<App>,
    Path(embed_id): Path<String>,
    RawQuery(query): RawQuery,
    ClientAddr(ip): ClientAddr,
    headers: HeaderMap,
) -> Response {
    outcome(
        &state,
        async {
            let query = query.unwrap_or_default();
            let who = requester(&state, &headers, ip);
            let access = match open_for_download(&state, &embed_id, &headers, &who, None).await? {
                Ok(access) => access,
                Err(refused) => return Ok(refused),
            };
            let file = downloads::shared_pdf(&state, &access, &who, &query).await?;
            Ok(embedded_frame(exports::download(file), &access))
        }
        .await,
    )
    .await
}

async fn export_embedded_widget(
    State(state): State<App>,
    Path((embed_id, widget_id, file)): Path<(String, String, String)>,
    RawQuery(query): RawQuery,
    ClientAddr(ip): ClientAddr,
    headers: HeaderMap,
) -> Response {
    let Some(format) = ExportFormat::of_widget_file(&file) else {
        return missing(&state).await;
    };
    outcome(
        &state,
        async {
            let query = query.unwrap_or_default();
            let who = requester(&state, &headers, ip);
            let access =
                match open_for_download(&state, &embed_id, &headers, &who, Some(&widget_id)).await?
                {
                    Ok(access) => access,
                    Err(refused) => return Ok(refused),
                };
            let file =
                downloads::shared_widget_file(&state, &access, &who, &widget_id, &query, format)
                    .await?;
            Ok(match file {
                Some(file) => embedded_frame(exports::download(file), &access),
                None => embedded_frame(missing(&state).await, &access),
            })
        }
        .await,
    )
    .await
}
