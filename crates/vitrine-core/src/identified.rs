//! Identified share links: a link may ask its viewers to confirm their e-mail address with a
//! one-time code before they view, optionally only addresses of some domains (`@client.com`).
//!
//! As pure functions:
//! - [`EmailDomain`]: a domain an owner allows, parsed from `@client.com` or `client.com`.
//!   An address is allowed when its domain (after its last `@`) **equals** one of them, case
//!   insensitively: `x@client.com.evil.com` and `x@eu.client.com` are not `@client.com`
//!   (subdomains are listed on their own; a suffix rule is a classic way to let `evil.com` in).
//! - [`new_code`]: six random digits. [`code_hash`] is what the store keeps: a keyed hash of
//!   the link, the address and the code, so a leaked database holds no usable code.
//! - The **viewer cookie** ([`viewer_cookie`]) carries the confirmed address and an HMAC over
//!   the link id, its generation, its access epoch, its allowed domains and the cookie's own
//!   expiry: rotating, disabling, changing the password or the domains kills it, as the unlock
//!   cookie dies; a cookie of another link does not verify.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::keys::SubKey;
use crate::share::LinkId;

/// Digits of a one-time code.
pub const CODE_DIGITS: usize = 6;
const TAG_BYTES: usize = 16;
/// The longest address a viewer cookie carries (RFC 5321's path limit).
pub const MAX_ADDRESS_BYTES: usize = 254;

/// A domain whose addresses may confirm on a link: lower-case labels of letters, digits and
/// hyphens, at least two of them, at most 253 characters.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EmailDomain(String);

impl EmailDomain {
    /// Parses `@client.com` or `client.com` (surrounding spaces ignored, case folded).
    pub fn parse(text: &str) -> Result<Self, String> {
        let refuse = || {
            format!(
                "“{}” is not a domain: write it as @client.com or client.com.",
                text.trim()
            )
        };
        let t = text.trim();
        let t = t.strip_prefix('@').unwrap_or(t).to_ascii_lowercase();
        if t.is_empty() || t.len() > 253 || !t.contains('.') {
            return Err(refuse());
        }
        let labels_ok = t.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        });
        if labels_ok {
            Ok(Self(t))
        } else {
            Err(refuse())
        }
    }

    /// The domain (`client.com`).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for EmailDomain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "@{}", self.0)
    }
}

impl Serialize for EmailDomain {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for EmailDomain {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        EmailDomain::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// Whether `address` (already a checked address) may confirm on a link allowing `domains`
/// (empty: any address).
pub fn domain_allowed(address: &str, domains: &[EmailDomain]) -> bool {
    if domains.is_empty() {
        return true;
    }
    let Some((_, domain)) = address.rsplit_once('@') else {
        return false;
    };
    domains.iter().any(|d| d.0.eq_ignore_ascii_case(domain))
}

/// A fresh one-time code: [`CODE_DIGITS`] random digits.
pub fn new_code() -> String {
    let n = u64::from_be_bytes(crate::secret::random_bytes::<8>()) % 1_000_000;
    format!("{n:06}")
}

/// The code a viewer typed, without spaces and dashes; `None` unless it is [`CODE_DIGITS`]
/// digits (so nothing else ever reaches the store).
pub fn normalize_code(input: &str) -> Option<String> {
    let code: String = input
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    (code.len() == CODE_DIGITS && code.bytes().all(|b| b.is_ascii_digit())).then_some(code)
}

/// What the store keeps of a code sent to `address` for link `link` (its text id).
pub fn code_hash(key: &SubKey, link: &str, address: &str, code: &str) -> String {
    URL_SAFE_NO_PAD.encode(
        &key.sign(&[
            b"view-code",
            link.as_bytes(),
            address.as_bytes(),
            code.as_bytes(),
        ])[..TAG_BYTES],
    )
}

/// What the store keeps of an address to find its codes by.
pub fn address_key(key: &SubKey, link: &str, address: &str) -> String {
    URL_SAFE_NO_PAD.encode(
        &key.sign(&[b"view-code-address", link.as_bytes(), address.as_bytes()])[..TAG_BYTES],
    )
}

fn domains_part(domains: &[EmailDomain]) -> Vec<u8> {
    let mut sorted: Vec<&str> = domains.iter().map(|d| d.0.as_str()).collect();
    sorted.sort_unstable();
    sorted.dedup();
    sorted.join("\n").into_bytes()
}

/// The state of a link a viewer cookie is bound to.
#[derive(Debug, Clone, Copy)]
pub struct LinkState<'a> {
    /// The link.
    pub id: LinkId,
    /// Its generation (rotate).
    pub generation: i64,
    /// Its access epoch (state and password changes).
    pub epoch: i64,
    /// Its allowed domains.
    pub domains: &'a [EmailDomain],
}

fn tag(key: &SubKey, link: &LinkState<'_>, address: &[u8], until: &[u8; 8]) -> [u8; 32] {
    key.sign(&[
        b"share-viewer",
        &link.id.0,
        &link.generation.to_be_bytes(),
        &link.epoch.to_be_bytes(),
        &domains_part(link.domains),
        address,
        until,
    ])
}

/// The viewer cookie of `address`, confirmed on `link`, valid until `until`.
pub fn viewer_cookie(
    key: &SubKey,
    link: &LinkState<'_>,
    address: &str,
    until: OffsetDateTime,
) -> String {
    let until = until.unix_timestamp().to_be_bytes();
    let tag = tag(key, link, address.as_bytes(), &until);
    let mut bytes = Vec::with_capacity(8 + TAG_BYTES + address.len());
    bytes.extend_from_slice(&until);
    bytes.extend_from_slice(&tag[..TAG_BYTES]);
    bytes.extend_from_slice(address.as_bytes());
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The confirmed address of a viewer cookie that is valid now for `link` as it is.
pub fn verify_viewer_cookie(
    key: &SubKey,
    link: &LinkState<'_>,
    value: &str,
    now: OffsetDateTime,
) -> Option<String> {
    viewer_cookie_with_expiry(key, link, value, now).map(|(address, _)| address)
}

/// The confirmed address of a viewer cookie that is valid now for `link` as it is, and when
/// the cookie stops working (a live stream opened with it ends then).
pub fn viewer_cookie_with_expiry(
    key: &SubKey,
    link: &LinkState<'_>,
    value: &str,
    now: OffsetDateTime,
) -> Option<(String, OffsetDateTime)> {
    if value.len() > 2 * (8 + TAG_BYTES + MAX_ADDRESS_BYTES) {
        return None;
    }
    let bytes = URL_SAFE_NO_PAD.decode(value).ok()?;
    if bytes.len() <= 8 + TAG_BYTES || bytes.len() > 8 + TAG_BYTES + MAX_ADDRESS_BYTES {
        return None;
    }
    let until: [u8; 8] = bytes[..8].try_into().ok()?;
    if i64::from_be_bytes(until) <= now.unix_timestamp() {
        return None;
    }
    let address = &bytes[8 + TAG_BYTES..];
    let parts: [&[u8]; 7] = [
        b"share-viewer",
        &link.id.0,
        &link.generation.to_be_bytes(),
        &link.epoch.to_be_bytes(),
        &domains_part(link.domains),
        address,
        &until,
    ];
    if !key.verify(&parts, &bytes[8..8 + TAG_BYTES]) {
        return None;
    }
    let address = String::from_utf8(address.to_vec()).ok()?;
    let until = OffsetDateTime::from_unix_timestamp(i64::from_be_bytes(until)).ok()?;
    domain_allowed(&address, link.domains).then_some((address, until))
}

#[cfg(test)]
mod tests {
    use time::Duration;
    use time::macros::datetime;

    use super::*;
    use crate::keys::ServerKey;

    const NOW: OffsetDateTime = datetime!(2026-11-30 08:00 UTC);

    fn domains(list: &[&str]) -> Vec<EmailDomain> {
        list.iter()
            .map(|d| EmailDomain::parse(d).unwrap())
            .collect()
    }

    #[test]
    fn a_domain_is_written_with_or_without_its_at_sign() {
        assert_eq!(
            EmailDomain::parse(" @Client.COM ").unwrap().as_str(),
            "client.com"
        );
        assert_eq!(
            EmailDomain::parse("eu.client.com").unwrap().to_string(),
            "@eu.client.com"
        );
        for bad in [
            "",
            "@",
            "client",
            "client..com",
            "-a.com",
            "a b.com",
            "x@client.com",
            "c.com\r\nBcc: y",
        ] {
            assert!(EmailDomain::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn only_an_address_of_an_allowed_domain_itself_is_allowed() {
        let d = domains(&["@client.com"]);
        assert!(domain_allowed("ann@client.com", &d));
        assert!(domain_allowed("ann@CLIENT.com", &d));
        assert!(!domain_allowed("ann@evil.com", &d));
        assert!(!domain_allowed("x@client.com.evil.com", &d));
        assert!(!domain_allowed("x@eu.client.com", &d));
        assert!(!domain_allowed("x@evilclient.com", &d));
        assert!(!domain_allowed("client.com", &d));
        assert!(domain_allowed("anyone@anywhere.org", &[]));
    }

    #[test]
    fn codes_are_six_digits_and_typed_codes_are_normalised() {
        for _ in 0..50 {
            let c = new_code();
            assert_eq!(c.len(), 6);
            assert!(c.bytes().all(|b| b.is_ascii_digit()));
        }
        assert_eq!(normalize_code(" 123-456 ").as_deref(), Some("123456"));
        assert_eq!(normalize_code("12345"), None);
        assert_eq!(normalize_code("12345a"), None);
        assert_eq!(normalize_code("1' OR 1=1"), None);
    }

    #[test]
    fn a_code_hash_is_bound_to_the_link_and_the_address() {
        let key = ServerKey::generate().derive("view-code");
        let h = code_hash(&key, "l1", "a@b.com", "123456");
        assert_eq!(h, code_hash(&key, "l1", "a@b.com", "123456"));
        assert_ne!(h, code_hash(&key, "l2", "a@b.com", "123456"));
        assert_ne!(h, code_hash(&key, "l1", "c@b.com", "123456"));
        assert_ne!(h, code_hash(&key, "l1", "a@b.com", "123457"));
        assert!(!h.contains("123456"));
    }

    #[test]
    fn a_viewer_cookie_dies_with_the_generation_the_epoch_the_domains_or_its_time() {
        let key = ServerKey::generate().derive("share-viewer");
        let id = LinkId::generate();
        let allowed = domains(&["client.com", "partner.org"]);
        let link = LinkState {
            id,
            generation: 1,
            epoch: 3,
            domains: &allowed,
        };
        let cookie = viewer_cookie(&key, &link, "ann@client.com", NOW + Duration::hours(12));
        assert_eq!(
            verify_viewer_cookie(&key, &link, &cookie, NOW).as_deref(),
            Some("ann@client.com")
        );
        assert_eq!(
            viewer_cookie_with_expiry(&key, &link, &cookie, NOW),
            Some(("ann@client.com".to_owned(), NOW + Duration::hours(12))),
            "a live stream opened with it ends when it does"
        );
        let reordered = domains(&["partner.org", "client.com"]);
        let same = LinkState {
            domains: &reordered,
            ..link
        };
        assert!(
            verify_viewer_cookie(&key, &same, &cookie, NOW).is_some(),
            "order does not matter"
        );
        let rotated = LinkState {
            generation: 2,
            ..link
        };
        assert!(verify_viewer_cookie(&key, &rotated, &cookie, NOW).is_none());
        let disabled = LinkState { epoch: 4, ..link };
        assert!(verify_viewer_cookie(&key, &disabled, &cookie, NOW).is_none());
        let narrowed = domains(&["client.com"]);
        let changed = LinkState {
            domains: &narrowed,
            ..link
        };
        assert!(verify_viewer_cookie(&key, &changed, &cookie, NOW).is_none());
        let other = LinkState {
            id: LinkId::generate(),
            ..link
        };
        assert!(verify_viewer_cookie(&key, &other, &cookie, NOW).is_none());
        assert!(verify_viewer_cookie(&key, &link, &cookie, NOW + Duration::hours(13)).is_none());
        let other_key = ServerKey::generate().derive("share-viewer");
        assert!(verify_viewer_cookie(&other_key, &link, &cookie, NOW).is_none());
    }

    #[test]
    fn a_viewer_cookie_with_a_changed_address_or_garbage_is_refused() {
        let key = ServerKey::generate().derive("share-viewer");
        let link = LinkState {
            id: LinkId::generate(),
            generation: 1,
            epoch: 1,
            domains: &[],
        };
        let cookie = viewer_cookie(&key, &link, "ann@client.com", NOW + Duration::hours(1));
        let mut bytes = URL_SAFE_NO_PAD.decode(&cookie).unwrap();
        let last = bytes.len() - 1;
        bytes[last] = b'n';
        let forged = URL_SAFE_NO_PAD.encode(bytes);
        assert!(verify_viewer_cookie(&key, &link, &forged, NOW).is_none());
        for junk in ["", "garbage", "AAAA", &"A".repeat(5000)] {
            assert!(verify_viewer_cookie(&key, &link, junk, NOW).is_none());
        }
    }
}
