//! Routers: each resource owns its routes; [`owner_router`] and [`public_router`] put them
//! together with their middleware.
//!
//! - The **owner UI** (pages) and the **API** (`/api/v1`) sit behind
//!   [`crate::auth::resolve_identity`]; pages also get [`crate::pages::html_errors`].
//! - The **API** is one [`api_router`] of `utoipa_axum` routers: each resource's `api()`
//!   registers its handlers with `routes!`, which documents them in the same step, and
//!   [`openapi`] serves the document they make. Every error it answers is JSON
//!   ([`crate::error::api_json_errors`]).
//! - The **outsider router** ([`public`]) shares nothing with them but static assets and the
//!   health checks: it has no identity layer, no member or mutation route to reach.
//! - `/metrics` ([`metrics`]) is on the owner router only, never on the outsider router.
//! - Every response passes [`crate::security::security_headers`] and is counted by listener
//!   ([`metrics::count_requests`]).
//! - **A panic never takes a connection down.** Each group of routes catches its handlers'
//!   panics and answers as it answers any internal error ([`with_page_errors`],
//!   [`with_api_errors`], [`with_public_errors`]): an owner page, the API's JSON, the polite
//!   public page. A last catch around everything answers JSON. No panic text is ever sent.

pub mod account;
pub mod analytics;
pub mod analytics_pages;
pub mod api_keys;
pub mod assets;
pub mod audience;
pub mod audit;
pub mod builder;
pub mod dashboards;
pub mod data_rules;
pub mod data_sources;
pub mod datasets;
pub mod embed;
pub mod embed_ui;
pub mod embeddings;
pub mod health;
pub mod home;
pub mod invitations;
pub mod link_mail;
pub mod links;
pub mod members;
pub mod metrics;
pub mod openapi;
pub mod outbox;
pub mod public;
pub mod report_pages;
pub mod reports;
pub mod session;
pub mod share;

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::task::{Context, Poll};

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::Method;
use axum::http::request::Parts;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::response::Response;
use futures_util::TryFutureExt as _;
use futures_util::future::{Either, MapOk};
use tower::{Layer, Service};
use tower_http::CompressionLevel;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::predicate::{And, DefaultPredicate, NotForContentType, Predicate};
use tower_http::compression::{Compression, CompressionBody, CompressionLayer};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::TraceLayer;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use vitrine_app::App;
use vitrine_app::metrics::Listener;

/// Largest request body accepted anywhere (dashboards as YAML fit comfortably).
const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

/// The API under `/api/v1`, with its documentation: every route here is registered with
/// `routes!` and so documented (see [`openapi`]).
pub fn api_router() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(openapi::openapi_document))
        .merge(account::api())
        .merge(members::api())
        .merge(api_keys::api())
        .merge(audit::api())
        .merge(data_sources::api())
        .merge(datasets::api())
        .merge(builder::api())
        .merge(dashboards::api())
        .merge(audience::api())
        .merge(data_rules::api())
        .merge(links::api())
        .merge(analytics::api())
        .merge(outbox::api())
        .merge(invitations::api())
        .merge(link_mail::api())
        .merge(reports::api())
        .merge(embeddings::api())
}

/// Everything: owner pages, the API, the outsider router, assets and health checks.
pub fn owner_router(state: App) -> Router {
    let pages = Router::new()
        .merge(session::pages())
        .merge(home::pages())
        .merge(members::pages())
        .merge(api_keys::pages())
        .merge(account::pages())
        .merge(outbox::pages())
        .merge(invitations::pages())
        .merge(invitations::dashboard_pages())
        .merge(audience::pages())
        .merge(data_rules::pages())
        .merge(link_mail::pages())
        .merge(audit::pages())
        .merge(data_sources::pages())
        .merge(datasets::pages())
        .merge(dashboards::pages())
        .merge(share::pages())
        .merge(report_pages::pages())
        .merge(analytics_pages::pages())
        .merge(embed_ui::pages());
    let pages = with_page_errors(pages);
    let (api, _) = api_router().split_for_parts();
    let api = with_api_errors(api.fallback(crate::error::no_such_endpoint));
    let authenticated = Router::new()
        .merge(pages)
        .nest("/api/v1", api)
        .layer(from_fn_with_state(
            state.clone(),
            crate::auth::resolve_identity,
        ));
    let router = Router::new()
        .merge(authenticated)
        .merge(with_page_errors(session::login_pages()))
        .merge(with_public_errors(public::router()))
        .merge(with_public_errors(embed::router()))
        .merge(metrics::router(&state))
        .merge(common())
        .with_state(state.clone());
    with_layers(router, state, Listener::Owner)
}

/// Only what outsiders may reach, for `public_listen`.
pub fn public_router(state: App) -> Router {
    with_layers(
        Router::new()
            .merge(with_public_errors(public::router()))
            .merge(with_public_errors(embed::router()))
            .merge(common())
            .with_state(state.clone()),
        state,
        Listener::Public,
    )
}

fn common() -> Router<App> {
    Router::new()
        .merge(assets::router())
        .merge(health::router())
}

/// Owner pages: an error, or a panic, becomes the HTML error page.
pub fn with_page_errors(router: Router<App>) -> Router<App> {
    router
        .layer(CatchPanicLayer::custom(
            crate::error::panic_response as PanicHandler,
        ))
        .layer(from_fn(crate::pages::html_errors))
}

/// The API: a panic becomes the JSON internal error.
pub fn with_api_errors(router: Router<App>) -> Router<App> {
    router.layer(CatchPanicLayer::custom(
        crate::error::panic_response as PanicHandler,
    ))
}

/// Outsider routes: a panic becomes the polite public page.
pub fn with_public_errors(router: Router<App>) -> Router<App> {
    router.layer(CatchPanicLayer::custom(public::panic_page as PanicHandler))
}

type PanicHandler = fn(Box<dyn std::any::Any + Send + 'static>) -> axum::response::Response;

fn with_layers(router: Router, state: App, listener: Listener) -> Router {
    router
        .layer(CompressedUnlessLive)
        // Anything the groups above did not catch (middleware, fallbacks): JSON, never a reset.
        .layer(CatchPanicLayer::custom(
            crate::error::panic_response as PanicHandler,
        ))
        // Proxy headers count only from trusted proxies (`proxy.trusted_proxies`).
        .layer(from_fn_with_state(
            state.clone(),
            crate::auth::drop_untrusted_proxy_headers,
        ))
        .layer(from_fn(crate::security::security_headers))
        .layer(TraceLayer::new_for_http().make_span_with(
            request_span as fn(&axum::http::Request<axum::body::Body>) -> tracing::Span,
        ))
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        // Outside the body limit, so that its 413 on the API is JSON too.
        .layer(from_fn(crate::error::api_json_errors))
        // Outermost, so that every response is counted, refusals by the layers above included.
        .layer(from_fn_with_state(
            (state, listener),
            metrics::count_requests,
        ))
}

/// Brotli or gzip for every compressible response, as the client accepts: HTML, CSS, JS, SVG,
/// JSON and CSV (not images but SVG, not PDFs, fonts or the live stream, whose events must
/// not wait in a compressor's buffer). Quality 4: most of brotli's gain at a fraction of its
/// best setting's CPU, per response. Static assets arrive already compressed (they are
/// prepared once, see `crate::assets`) and pass through untouched.
fn compression() -> CompressionLayer<Compressible> {
    CompressionLayer::new()
        .quality(CompressionLevel::Precise(4))
        .compress_when(
            DefaultPredicate::new()
                .and(NotForContentType::const_new("application/pdf"))
                .and(NotForContentType::const_new("font/")),
        )
}

type Compressible = And<And<DefaultPredicate, NotForContentType>, NotForContentType>;

/// [`compression`] around every route but the live streams (`GET …/live`), which bypass it.
///
/// A stream is never compressed anyway (the predicate leaves `text/event-stream` alone), but
/// passing through the layer would still cost it: the layer's body is an enum whose brotli
/// variant holds the encoder's whole state inline, so even an uncompressed body sits in a
/// ~5.8 KiB allocation, held for as long as the stream stays open — a third of a viewer's
/// memory budget (issue 16: ≤ 16 KiB per open stream).
#[derive(Debug, Clone, Copy)]
struct CompressedUnlessLive;

impl<S: Clone> Layer<S> for CompressedUnlessLive {
    type Service = CompressedUnlessLiveService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        CompressedUnlessLiveService {
            compressed: compression().layer(inner.clone()),
            plain: inner,
        }
    }
}

/// The service of [`CompressedUnlessLive`].
#[derive(Clone)]
struct CompressedUnlessLiveService<S> {
    compressed: Compression<S, Compressible>,
    plain: S,
}

impl<S> std::fmt::Debug for CompressedUnlessLiveService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompressedUnlessLiveService")
            .finish_non_exhaustive()
    }
}

/// Whether `request` opens a live stream (`/share/{token}/live`, `/embed/{id}/live`,
/// `/dashboards/{id}/live`).
fn opens_live_stream(request: &Request) -> bool {
    request.method() == Method::GET && is_live_stream_path(request.uri().path())
}

/// Whether a `GET` of `path` opens a live stream (the server hands such requests to its own
/// stream writer, see `server::handoff`).
pub(crate) fn is_live_stream_path(path: &str) -> bool {
    path.ends_with("/live")
}

impl<S> Service<Request> for CompressedUnlessLiveService<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Either<
        S::Future,
        MapOk<
            tower_http::compression::ResponseFuture<S::Future, Compressible>,
            fn(axum::http::Response<CompressionBody<Body>>) -> Response,
        >,
    >;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        // Both wrap the same kind of inner service; the router's is always ready.
        std::task::ready!(self.plain.poll_ready(cx))?;
        self.compressed.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        if opens_live_stream(&request) {
            Either::Left(self.plain.call(request))
        } else {
            let boxed: fn(axum::http::Response<CompressionBody<Body>>) -> Response =
                |response| response.map(Body::new);
            Either::Right(self.compressed.call(request).map_ok(boxed))
        }
    }
}

/// The span of a request: method and path, with the secret part of outsider paths
/// (`/share/{token}`, `/s/{code}`, `/embed/{id}`) never recorded.
pub fn request_span(request: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    tracing::info_span!("request", method = %request.method(), path = %loggable_path(request.uri().path()))
}

/// `path` with any token-bearing segment replaced.
pub fn loggable_path(path: &str) -> String {
    for prefix in ["/share/", "/s/", "/embed/"] {
        if path.starts_with(prefix) {
            return format!("{prefix}<redacted>");
        }
    }
    path.to_owned()
}

/// The client address, as [`crate::auth::client_ip`] decides it.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub Option<IpAddr>);

impl FromRequestParts<App> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &App) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0);
        Ok(ClientAddr(crate::auth::client_ip(
            state,
            &parts.headers,
            peer,
        )))
    }
}
