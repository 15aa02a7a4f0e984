//! Connection URLs without their passwords, for everything people read: the owner UI, audit
//! events, logs and `Debug`. The bottom of the crate: [`crate::source`] (a config's `Debug`)
//! and [`crate::location`] (what the UI shows) both use it.

/// `%20` → ` `; `None` for a malformed escape or a result that is not UTF-8.
pub(crate) fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// A query parameter name as drivers compare it: lower case, without `-` and `_`.
pub(crate) fn normal_key(key: &str) -> String {
    key.chars()
        .filter(|c| *c != '-' && *c != '_')
        .flat_map(char::to_lowercase)
        .collect()
}

/// A connection URL without any password: the user-info password becomes `***`, query
/// parameters whose name holds `password` or `passwd` (in any case, with `-` / `_`, or
/// percent-encoded) are left out, and a URL that cannot be read shows only its scheme. What
/// [`crate::redacted_display`] shows for server URLs, and what logs show of Vitrine's own
/// store URL.
pub fn redact_url(url: &str) -> String {
    let scheme = url
        .split_once("://")
        .map(|(s, _)| s)
        .filter(|s| {
            s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        })
        .unwrap_or("url");
    let Ok(parsed) = url::Url::parse(url) else {
        return format!("{scheme}://(hidden)");
    };
    let mut out = format!("{}://", parsed.scheme());
    let user = parsed.username();
    if !user.is_empty() || parsed.password().is_some() {
        out.push_str(user);
        if parsed.password().is_some() {
            out.push_str(":***");
        }
        out.push('@');
    }
    if let Some(host) = parsed.host_str() {
        out.push_str(host);
    }
    if let Some(port) = parsed.port() {
        out.push_str(&format!(":{port}"));
    }
    out.push_str(parsed.path());
    if let Some(query) = parsed.query() {
        let kept: Vec<&str> = query
            .split('&')
            .filter(|pair| {
                let key = pair.split('=').next().unwrap_or_default();
                let key = percent_decode(&key.replace('+', " ")).unwrap_or_default();
                let k = normal_key(&key);
                !(k.is_empty() || k.contains("password") || k.contains("passwd"))
            })
            .collect();
        if !kept.is_empty() {
            out.push('?');
            out.push_str(&kept.join("&"));
        }
    }
    out
}
