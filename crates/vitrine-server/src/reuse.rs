//! An outsider page compressed once per distinct page, not once per view.
//!
//! The compression layer (`routes::compression`) compresses every response as it streams out.
//! A popular share link renders the very same page for every viewer until its data or its
//! dashboard changes, so the page routes hand their finished response to [`compressed_page`]
//! instead: it compresses the page for the request's `Accept-Encoding` (brotli, then gzip),
//! keeps the result in [`vitrine_app::App::compressed_pages`] (bounded by bytes, counted in
//! `/metrics`), and answers the next identical page from there. A hit compares the whole
//! page, never only its hash. The response carries `Content-Encoding`, so the layer leaves it
//! alone. Nothing about the link is cached: the page was rendered after the link was
//! validated against the store on this request.

use std::hash::{Hash as _, Hasher as _};
use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use vitrine_app::App;
use vitrine_app::compressed::CompressedPage;

use crate::assets::Encoding;

/// Pages above this are left to the compression layer.
const MAX_PAGE: usize = 2 << 20;
/// Brotli's quality for pages: the layer's setting.
const BROTLI_QUALITY: i32 = 4;

/// `response`, compressed for `request_headers`' `Accept-Encoding` with the bytes of the last
/// identical page when there was one. Anything but a complete `200` HTML page without an
/// encoding passes through untouched.
pub(crate) async fn compressed_page(
    state: &App,
    request_headers: &HeaderMap,
    response: Response,
) -> Response {
    let html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if response.status() != StatusCode::OK
        || !html
        || response.headers().contains_key(header::CONTENT_ENCODING)
    {
        return response;
    }
    let accept = request_headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let encoding = Encoding::negotiate(accept);
    let Some(name) = encoding.header() else {
        return response;
    };
    // Only a complete page of known size (a rendered template), never a stream.
    let known = axum::body::HttpBody::size_hint(response.body())
        .exact()
        .is_some_and(|n| n as usize <= MAX_PAGE);
    if !known {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(page) = axum::body::to_bytes(body, MAX_PAGE).await else {
        // A body of known size that failed to collect: nothing to send.
        tracing::error!("a rendered page could not be read back");
        let mut failed = Response::new(Body::empty());
        *failed.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        return failed;
    };
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    page.hash(&mut hasher);
    let key = (hasher.finish(), name);
    let cache = &state.compressed_pages;
    let compressed = match cache.get(&key).filter(|c| c.identity[..] == page[..]) {
        Some(hit) => hit,
        None => {
            let compressed = compress(&page, encoding);
            let entry = Arc::new(CompressedPage {
                identity: page.to_vec(),
                compressed,
            });
            let weight = entry.identity.len() + entry.compressed.len() + 128;
            cache.insert(key, entry.clone(), weight);
            entry
        }
    };
    parts
        .headers
        .insert(header::CONTENT_ENCODING, HeaderValue::from_static(name));
    parts.headers.remove(header::CONTENT_LENGTH);
    parts
        .headers
        .append(header::VARY, HeaderValue::from_static("accept-encoding"));
    Response::from_parts(parts, Body::from(compressed.compressed.clone()))
}

fn compress(page: &[u8], encoding: Encoding) -> Vec<u8> {
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
            out
        }
        Encoding::Gzip => {
            let mut encoder =
                flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            let _ = encoder.write_all(page);
            encoder.finish().unwrap_or_default()
        }
        Encoding::Identity => page.to_vec(),
    }
}
