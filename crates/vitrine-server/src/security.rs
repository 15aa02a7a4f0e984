//! The security headers every response carries, from one middleware.
//!
//! The defaults are DESIGN section 5's outsider set, applied to every response (owner pages
//! hold private data too): `Cache-Control: no-store` unless the handler chose a caching
//! policy (static assets do), `Referrer-Policy: no-referrer`, `X-Robots-Tag: noindex`,
//! `X-Content-Type-Options: nosniff`, a strict CSP (no inline script or style, nothing from
//! other origins), and `frame-ancestors 'none'`. A route can only *narrow* this, with one
//! exception: a response carrying a [`FrameAncestors`] extension (an embeddable share link)
//! widens `frame-ancestors` to exactly the origins it lists.

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

/// Origins allowed to frame this response (each `https://host[:port]`).
#[derive(Debug, Clone, Default)]
pub struct FrameAncestors(pub Vec<String>);

const CSP_BASE: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; \
     base-uri 'none'; form-action 'self'";

/// Adds the headers to every response.
pub async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let frame = response.extensions().get::<FrameAncestors>().cloned();
    apply(response.headers_mut(), frame.as_ref());
    response
}

fn apply(headers: &mut HeaderMap, frame: Option<&FrameAncestors>) {
    let ancestors = match frame {
        Some(FrameAncestors(origins)) if !origins.is_empty() => origins.join(" "),
        _ => "'none'".to_owned(),
    };
    let csp = format!("{CSP_BASE}; frame-ancestors {ancestors}");
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_str(&csp).unwrap_or(HeaderValue::from_static("default-src 'none'")),
    );
    if frame.is_none_or(|f| f.0.is_empty()) {
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        HeaderName::from_static("x-robots-tag"),
        HeaderValue::from_static("noindex, nofollow"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(
        HeaderName::from_static("permissions-policy"),
        HeaderValue::from_static("camera=(), microphone=(), geolocation=(), payment=()"),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn framing_is_denied_unless_origins_are_listed() {
        let mut headers = HeaderMap::new();
        apply(&mut headers, None);
        let csp = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(csp.ends_with("frame-ancestors 'none'"), "{csp}");
        assert_eq!(headers[header::X_FRAME_OPTIONS], "DENY");

        let mut headers = HeaderMap::new();
        apply(
            &mut headers,
            Some(&FrameAncestors(vec![
                "https://a.example".into(),
                "https://b.example".into(),
            ])),
        );
        let csp = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(
            csp.ends_with("frame-ancestors https://a.example https://b.example"),
            "{csp}"
        );
        assert!(headers.get(header::X_FRAME_OPTIONS).is_none());
    }

    #[test]
    fn a_handler_chosen_cache_policy_is_kept() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=3600"),
        );
        apply(&mut headers, None);
        assert_eq!(headers[header::CACHE_CONTROL], "public, max-age=3600");
    }
}
