//! An outsider page built once per distinct page, not once per view.
//!
//! A popular share link shows the very same page to every viewer until its data, its
//! dashboard or its settings change. [`kept_or_built`] looks for a page kept for the same
//! inputs ([`page_inputs`]: the link, its settings and rules, the dashboard context, the
//! query, the effective filters, the page's base and the encoding) in
//! [`vitrine_app::App::compressed_pages`], and answers with its bytes when the page is still
//! what building it would give ([`vitrine_app::compressed::KeptPage::serves`]: the caches
//! unchanged since it was built and every result in it fresh). Otherwise it builds the page,
//! compresses it for the request's `Accept-Encoding` (brotli, then gzip), keeps it when it
//! may be kept, and sends it. The response carries `Content-Encoding`, so the compression
//! layer leaves it alone.
//!
//! Nothing about the link's state is kept: this runs after the link was validated against the
//! store on this very request.

use std::fmt::Write as _;
use std::hash::{Hash as _, Hasher as _};
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use time::OffsetDateTime;
use vitrine_app::App;
use vitrine_app::compressed::KeptPage;
use vitrine_app::dashboards::ViewState;
use vitrine_app::outsider::ShareAccess;

use crate::assets::Encoding;

/// Pages above this are left to the compression layer.
const MAX_PAGE: usize = 2 << 20;
/// Brotli's quality for pages: the layer's setting.
const BROTLI_QUALITY: i32 = 4;

/// Everything besides cached results that an outsider's dashboard page is built from, as
/// text. Two views with equal inputs (and unchanged caches) get byte-identical pages; the
/// link's id and settings are in it, so one link's page never answers another link's view.
pub(crate) fn page_inputs(
    state: &App,
    access: &ShareAccess,
    base_path: &str,
    guest_token: Option<&str>,
    query: &str,
    view: &ViewState,
) -> String {
    let ctx = access.context();
    let doc = &ctx.document;
    let mut inputs = String::with_capacity(1024);
    for part in [
        base_path,
        guest_token.unwrap_or(""),
        access.link().id.as_str(),
        access.only_widget().unwrap_or(""),
        access.workspace().policy.footer.as_str(),
        query,
    ] {
        // Length-prefixed: no two different lists of parts give the same text.
        let _ = write!(inputs, "{}:{part};", part.len());
    }
    let effective = state.runner.effective_filters(doc, &view.filters);
    let _ = write!(inputs, "{}@{}|", ctx.dashboard_id, ctx.revision);
    match access.guest() {
        // A share link's settings are its stored JSON, parsed as is (`LinkSettings::of`): the
        // text stands for them, without formatting the parsed settings on every view.
        None => {
            let stored = &access.link().settings;
            let _ = write!(inputs, "{}:{stored}", stored.len());
        }
        Some(guest) => {
            let _ = write!(inputs, "{:?}|{:?}", access.settings(), guest.settings);
        }
    }
    let _ = write!(inputs, "|{:?}|{:?}", access.restrictions(), effective);
    inputs
}

/// The page kept for `inputs` when it still serves, else the page `build` makes (kept when
/// it may be). `build`'s future answers the response and until when it stays true (`None`:
/// never keep it). It is made only on a miss: a page's build (its queries and rendering) is
/// a large future, and making one per view to drop it unpolled on a hit cost every view a
/// large allocation, its copy and, when freed, glibc giving the pages back to the system
/// (docs/performance.md, "Night").
pub(crate) async fn kept_or_built<B, F>(
    state: &App,
    request_headers: &HeaderMap,
    access: &ShareAccess,
    inputs: String,
    build: B,
) -> Response
where
    B: FnOnce() -> F,
    F: Future<Output = (Response, Option<OffsetDateTime>)>,
{
    let accept = request_headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let encoding = Encoding::negotiate(accept);
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    inputs.hash(&mut hasher);
    encoding.header().hash(&mut hasher);
    let key = hasher.finish();
    let context = access.context();
    // Read before building: a result that changes while the page is built makes the kept
    // page stale at once.
    let generation = state.runner.cache_generation();
    let cache = &state.compressed_pages;
    if let Some(kept) = cache
        .get(&key)
        .filter(|k| k.serves(&inputs, context, generation, state.now()))
    {
        return send(&kept);
    }
    let (response, fresh_until) = build().await;
    let Some(fresh_until) = fresh_until else {
        return response;
    };
    let html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    let known = axum::body::HttpBody::size_hint(response.body())
        .exact()
        .is_some_and(|n| n as usize <= MAX_PAGE);
    if response.status() != StatusCode::OK
        || !html
        || !known
        || response.headers().contains_key(header::CONTENT_ENCODING)
    {
        return response;
    }
    let Ok(page) = axum::body::to_bytes(response.into_body(), MAX_PAGE).await else {
        // A body of known size that failed to collect: nothing to send.
        tracing::error!("a rendered page could not be read back");
        let mut failed = Response::new(Body::empty());
        *failed.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        return failed;
    };
    let kept = Arc::new(KeptPage {
        inputs,
        context: context.clone(),
        generation,
        fresh_until,
        encoding: encoding.header(),
        body: compress(page, encoding),
    });
    cache.insert(key, kept.clone(), kept.weight());
    send(&kept)
}

/// The response for a kept page.
fn send(kept: &KeptPage) -> Response {
    let mut response = Response::new(Body::from(kept.body.clone()));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    if let Some(name) = kept.encoding {
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static(name));
    }
    headers.append(header::VARY, HeaderValue::from_static("accept-encoding"));
    response
}

/// The bytes of `page` as sent for `encoding`, in an allocation of exactly their size: a kept
/// page lives for long, and the buffer it was rendered or compressed into is usually half
/// empty (a growing buffer doubles), which the cache's weight would not see.
fn compress(page: Bytes, encoding: Encoding) -> Bytes {
    let body = encode(page, encoding);
    Bytes::from(body.to_vec().into_boxed_slice())
}

fn encode(page: Bytes, encoding: Encoding) -> Bytes {
    use std::io::Write as _;
    match encoding {
        Encoding::Brotli => {
            let mut out = Vec::with_capacity(page.len() / 4);
            let params = brotli::enc::BrotliEncoderParams {
                quality: BROTLI_QUALITY,
                ..Default::default()
            };
            // Writing to a Vec cannot fail.
            let _ = brotli::BrotliCompress(&mut &page[..], &mut out, &params);
            out.into()
        }
        Encoding::Gzip => {
            let mut encoder =
                flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            let _ = encoder.write_all(&page);
            encoder.finish().unwrap_or_default().into()
        }
        Encoding::Identity => page,
    }
}
