//! Share links: tokens, short codes, unlock cookies, expiry, accessibility and embed origins.
//!
//! DESIGN section 5, as pure functions:
//! - A link row stores **no secret**. Its URL token is `shr_` + base64url(link id ‖ tag), with
//!   tag = HMAC-SHA256(server key's `share-link` sub-key, link id ‖ generation) truncated to
//!   16 bytes. The server can show the URL again at any time; a leaked database reveals no
//!   working URL; a forged token is refused after a constant-time comparison, trusting nothing
//!   it says. `rotate` bumps the generation, which kills every old URL and short code.
//! - The **short code** (`/s/{code}`) is derived the same way under another sub-key: 72 bits,
//!   12 characters. The store keeps only its SHA-256 to look the link up by.
//! - The **unlock cookie** of a password-protected link is an HMAC over the link id, its
//!   generation, its access epoch (bumped when the password or state changes) and the cookie's
//!   own expiry: any of those changing kills it.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::keys::SubKey;

/// The token prefix.
pub const TOKEN_PREFIX: &str = "shr_";
/// Bytes of the random link id.
pub const LINK_ID_BYTES: usize = 16;
const TAG_BYTES: usize = 16;
const SHORT_BYTES: usize = 9;

/// A link's random id (not secret on its own: without the tag it opens nothing).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LinkId(pub [u8; LINK_ID_BYTES]);

impl LinkId {
    /// A fresh random id.
    pub fn generate() -> Self {
        Self(crate::secret::random_bytes::<LINK_ID_BYTES>())
    }

    /// The id as 22 characters of base64url (used in API paths and the store).
    pub fn to_text(self) -> String {
        URL_SAFE_NO_PAD.encode(self.0)
    }

    /// Parses [`LinkId::to_text`].
    pub fn parse(text: &str) -> Option<Self> {
        let bytes = URL_SAFE_NO_PAD.decode(text).ok()?;
        Some(Self(bytes.try_into().ok()?))
    }
}

impl std::fmt::Debug for LinkId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LinkId({})", self.to_text())
    }
}

impl std::fmt::Display for LinkId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_text())
    }
}

/// A share-link URL token. `Debug` is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct ShareToken(String);

impl ShareToken {
    /// The token's text, for building the URL shown to the owner.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ShareToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ShareToken(<redacted>)")
    }
}

fn generation_bytes(generation: i64) -> [u8; 8] {
    generation.to_be_bytes()
}

/// The token of link `id` at `generation`.
pub fn issue_token(key: &SubKey, id: LinkId, generation: i64) -> ShareToken {
    let tag = key.sign(&[b"share-link", &id.0, &generation_bytes(generation)]);
    let mut bytes = Vec::with_capacity(LINK_ID_BYTES + TAG_BYTES);
    bytes.extend_from_slice(&id.0);
    bytes.extend_from_slice(&tag[..TAG_BYTES]);
    ShareToken(format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes)))
}

/// A token split into the id it claims and its tag; nothing about it is trusted yet.
#[derive(Debug, Clone, Copy)]
pub struct ClaimedToken {
    /// The link it claims to open.
    pub id: LinkId,
    tag: [u8; TAG_BYTES],
}

/// Splits a token from a URL; `None` for anything not shaped like one.
pub fn parse_token(text: &str) -> Option<ClaimedToken> {
    let body = text.strip_prefix(TOKEN_PREFIX)?;
    if body.len() != 43 {
        return None;
    }
    let bytes = URL_SAFE_NO_PAD.decode(body).ok()?;
    if bytes.len() != LINK_ID_BYTES + TAG_BYTES {
        return None;
    }
    let id = LinkId(bytes[..LINK_ID_BYTES].try_into().ok()?);
    let tag = bytes[LINK_ID_BYTES..].try_into().ok()?;
    Some(ClaimedToken { id, tag })
}

impl ClaimedToken {
    /// Whether the tag is right for the link's current generation (constant time).
    pub fn verify(&self, key: &SubKey, generation: i64) -> bool {
        key.verify(
            &[b"share-link", &self.id.0, &generation_bytes(generation)],
            &self.tag,
        )
    }
}

/// The short code of link `id` at `generation`: 12 URL-safe characters, 72 bits.
pub fn short_code(key: &SubKey, id: LinkId, generation: i64) -> String {
    let tag = key.sign(&[b"short-link", &id.0, &generation_bytes(generation)]);
    URL_SAFE_NO_PAD.encode(&tag[..SHORT_BYTES])
}

/// What the store keeps to find a link by its short code.
pub fn short_code_digest(code: &str) -> String {
    crate::secret::sha256_hex(code.as_bytes())
}

/// Whether `code` has the shape of a short code (checked before any lookup).
pub fn is_short_code(code: &str) -> bool {
    code.len() == 12
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The unlock cookie for a password-protected link, valid until `until`.
pub fn unlock_cookie(
    key: &SubKey,
    id: LinkId,
    generation: i64,
    epoch: i64,
    until: OffsetDateTime,
) -> String {
    let until = until.unix_timestamp().to_be_bytes();
    let tag = key.sign(&[
        b"share-unlock",
        &id.0,
        &generation_bytes(generation),
        &epoch.to_be_bytes(),
        &until,
    ]);
    let mut bytes = Vec::with_capacity(8 + TAG_BYTES);
    bytes.extend_from_slice(&until);
    bytes.extend_from_slice(&tag[..TAG_BYTES]);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Whether an unlock cookie is valid now for the link as it is.
pub fn verify_unlock_cookie(
    key: &SubKey,
    id: LinkId,
    generation: i64,
    epoch: i64,
    value: &str,
    now: OffsetDateTime,
) -> bool {
    unlock_cookie_expiry(key, id, generation, epoch, value, now).is_some()
}

/// When a valid unlock cookie (or view pass) stops working: `None` when it is not valid now
/// for the link as it is. A live stream opened with it ends then.
pub fn unlock_cookie_expiry(
    key: &SubKey,
    id: LinkId,
    generation: i64,
    epoch: i64,
    value: &str,
    now: OffsetDateTime,
) -> Option<OffsetDateTime> {
    let bytes = URL_SAFE_NO_PAD.decode(value).ok()?;
    if bytes.len() != 8 + TAG_BYTES {
        return None;
    }
    let until: [u8; 8] = bytes[..8].try_into().ok()?;
    let seconds = i64::from_be_bytes(until);
    if seconds <= now.unix_timestamp() {
        return None;
    }
    let signed = key.verify(
        &[
            b"share-unlock",
            &id.0,
            &generation_bytes(generation),
            &epoch.to_be_bytes(),
            &until,
        ],
        &bytes[8..],
    );
    if !signed {
        return None;
    }
    OffsetDateTime::from_unix_timestamp(seconds).ok()
}

/// Why a link with a valid token does not open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Inaccessible {
    /// Turned off by its owner (enable brings it back).
    Disabled,
    /// Past its expiry.
    Expired,
    /// Deleted (its history stays).
    Deleted,
    /// The workspace is suspended.
    Suspended,
}

impl Inaccessible {
    /// The stable name used in access events and API answers.
    pub fn as_str(self) -> &'static str {
        match self {
            Inaccessible::Disabled => "disabled",
            Inaccessible::Expired => "expired",
            Inaccessible::Deleted => "deleted",
            Inaccessible::Suspended => "suspended",
        }
    }
}

/// What decides whether a link opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkStatus {
    /// Turned on by its owner.
    pub enabled: bool,
    /// When it stops working, if ever.
    pub expires_at: Option<OffsetDateTime>,
    /// When it was deleted.
    pub deleted_at: Option<OffsetDateTime>,
    /// Whether its workspace is suspended.
    pub workspace_suspended: bool,
}

impl LinkStatus {
    /// `Ok` when the link opens at `now`; otherwise why not. Deleted wins over everything,
    /// then suspension, then disabled, then expiry.
    pub fn accessible(&self, now: OffsetDateTime) -> Result<(), Inaccessible> {
        if self.deleted_at.is_some() {
            Err(Inaccessible::Deleted)
        } else if self.workspace_suspended {
            Err(Inaccessible::Suspended)
        } else if !self.enabled {
            Err(Inaccessible::Disabled)
        } else if self.expires_at.is_some_and(|at| at <= now) {
            Err(Inaccessible::Expired)
        } else {
            Ok(())
        }
    }
}

/// How an owner says when a link stops working.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Expiry {
    /// Never.
    Never,
    /// At this instant.
    At {
        /// The instant.
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
    },
    /// This many days from now (presets: 14, 90, 365).
    Days {
        /// The number of days: at least 1, and the date must fall before the year 9999.
        #[cfg_attr(feature = "openapi", schema(minimum = 1))]
        days: u32,
    },
}

/// The presets the UI offers.
pub const EXPIRY_PRESETS: [(&str, Expiry); 4] = [
    ("14 days", Expiry::Days { days: 14 }),
    ("90 days", Expiry::Days { days: 90 }),
    ("1 year", Expiry::Days { days: 365 }),
    ("Never", Expiry::Never),
];

/// Why an expiry breaks the workspace policy or makes no sense.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExpiryError {
    /// In the past.
    #[error("the expiry must be in the future")]
    InThePast,
    /// Beyond the longest the workspace allows.
    #[error("links in this workspace must expire within {max_days} days")]
    TooLong {
        /// The policy's maximum.
        max_days: u32,
    },
    /// So far ahead that no calendar date is that far (`days: 4294967295`).
    #[error(
        "an expiry {days} days from now is too far in the future; choose a date before the year 9999 or “never”"
    )]
    TooFar {
        /// The number of days asked for.
        days: u32,
    },
}

impl Expiry {
    /// The instant the link stops working, checked against the workspace's longest allowed
    /// expiry (`None`: no limit).
    pub fn resolve(
        self,
        now: OffsetDateTime,
        max_days: Option<u32>,
    ) -> Result<Option<OffsetDateTime>, ExpiryError> {
        // Checked arithmetic: `days` and `max_days` come from forms, the API and the CLI, and
        // `OffsetDateTime + Duration` panics past the year 9999.
        let at = match self {
            Expiry::Never => None,
            Expiry::At { at } => Some(at),
            Expiry::Days { days } => Some(
                now.checked_add(Duration::days(i64::from(days)))
                    .ok_or(ExpiryError::TooFar { days })?,
            ),
        };
        if at.is_some_and(|at| at <= now) {
            return Err(ExpiryError::InThePast);
        }
        if let Some(max_days) = max_days {
            // A limit beyond the calendar is no limit on a date, but still refuses "never".
            let limit = now
                .checked_add(Duration::days(i64::from(max_days)))
                .and_then(|l| l.checked_add(Duration::minutes(1)));
            let too_long = match (at, limit) {
                (None, _) => true,
                (Some(at), Some(limit)) => at > limit,
                (Some(_), None) => false,
            };
            if too_long {
                return Err(ExpiryError::TooLong { max_days });
            }
        }
        Ok(at)
    }
}

/// An origin allowed to frame a link: `https://host` or `https://host:port` (or `http://`
/// for localhost), no path, no wildcard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Origin(String);

/// A malformed origin.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an origin like https://app.example.com (no path, no wildcard)")]
pub struct BadOrigin(pub String);

impl Origin {
    /// Validates and normalises (lower case, no trailing slash).
    pub fn parse(text: &str) -> Result<Self, BadOrigin> {
        let value = text.trim().trim_end_matches('/').to_ascii_lowercase();
        let bad = || BadOrigin(text.to_owned());
        let (scheme, rest) = value.split_once("://").ok_or_else(bad)?;
        let (host, port) = match rest.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (rest, None),
        };
        let local = host == "localhost" || host == "127.0.0.1";
        let scheme_ok = scheme == "https" || (scheme == "http" && local);
        let host_ok = !host.is_empty()
            && host.len() <= 253
            && host.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                    && !label.starts_with('-')
                    && !label.ends_with('-')
            });
        let port_ok = port
            .is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()));
        if scheme_ok && host_ok && port_ok {
            Ok(Self(value))
        } else {
            Err(bad())
        }
    }

    /// The origin text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Origin {
    type Error = BadOrigin;
    fn try_from(value: String) -> Result<Self, BadOrigin> {
        Origin::parse(&value)
    }
}

impl From<Origin> for String {
    fn from(o: Origin) -> String {
        o.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::ServerKey;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-23 12:00 UTC);

    fn key() -> SubKey {
        ServerKey::generate().derive("share-link")
    }

    #[test]
    fn a_token_opens_its_link_at_its_generation_only() {
        let key = key();
        let id = LinkId::generate();
        let token = issue_token(&key, id, 1);
        assert!(token.expose().starts_with("shr_"));
        assert_eq!(token.expose().len(), 4 + 43);
        let claimed = parse_token(token.expose()).unwrap();
        assert_eq!(claimed.id, id);
        assert!(claimed.verify(&key, 1));
        assert!(!claimed.verify(&key, 2), "rotation kills the old token");
        assert!(
            !claimed.verify(&ServerKey::generate().derive("share-link"), 1),
            "another key"
        );
        assert!(!format!("{token:?}").contains(token.expose()));
    }

    #[test]
    fn a_token_with_one_character_changed_is_refused() {
        let key = key();
        let token = issue_token(&key, LinkId::generate(), 7);
        let text = token.expose();
        for i in 4..text.len() {
            let mut chars: Vec<char> = text.chars().collect();
            chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
            let forged: String = chars.into_iter().collect();
            let accepted = parse_token(&forged).is_some_and(|c| c.verify(&key, 7));
            assert!(!accepted, "position {i}");
        }
        for junk in [
            "",
            "shr_",
            "shr_abc",
            "xyz_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            &format!("{text}A"),
        ] {
            assert!(parse_token(junk).is_none(), "{junk:?}");
        }
    }

    #[test]
    fn short_codes_have_72_bits_and_change_with_the_generation() {
        let key = key();
        let id = LinkId::generate();
        let code = short_code(&key, id, 1);
        assert_eq!(code.len(), 12);
        assert!(is_short_code(&code));
        assert_ne!(code, short_code(&key, id, 2));
        assert_eq!(short_code_digest(&code).len(), 64);
        assert!(!is_short_code("abc") && !is_short_code("abcdefghijk/"));
    }

    #[test]
    fn an_unlock_cookie_tells_when_it_ends_only_while_it_is_valid() {
        let key = key();
        let id = LinkId::generate();
        let until = NOW + Duration::hours(12);
        let cookie = unlock_cookie(&key, id, 1, 3, until);
        assert_eq!(
            unlock_cookie_expiry(&key, id, 1, 3, &cookie, NOW),
            Some(until)
        );
        assert_eq!(unlock_cookie_expiry(&key, id, 1, 3, &cookie, until), None);
        assert_eq!(unlock_cookie_expiry(&key, id, 1, 4, &cookie, NOW), None);
        assert_eq!(unlock_cookie_expiry(&key, id, 1, 3, "garbage", NOW), None);
    }

    #[test]
    fn an_unlock_cookie_dies_with_the_generation_the_epoch_or_its_time() {
        let key = key();
        let id = LinkId::generate();
        let cookie = unlock_cookie(&key, id, 1, 3, NOW + Duration::hours(12));
        assert!(verify_unlock_cookie(&key, id, 1, 3, &cookie, NOW));
        assert!(
            !verify_unlock_cookie(&key, id, 2, 3, &cookie, NOW),
            "rotated"
        );
        assert!(
            !verify_unlock_cookie(&key, id, 1, 4, &cookie, NOW),
            "password or state changed"
        );
        assert!(
            !verify_unlock_cookie(&key, LinkId::generate(), 1, 3, &cookie, NOW),
            "another link"
        );
        assert!(
            !verify_unlock_cookie(&key, id, 1, 3, &cookie, NOW + Duration::hours(13)),
            "expired"
        );
        assert!(!verify_unlock_cookie(&key, id, 1, 3, "garbage", NOW));
    }

    #[test]
    fn a_link_past_its_expiry_is_not_accessible() {
        let status = LinkStatus {
            enabled: true,
            expires_at: Some(NOW),
            deleted_at: None,
            workspace_suspended: false,
        };
        assert_eq!(status.accessible(NOW - Duration::seconds(1)), Ok(()));
        assert_eq!(status.accessible(NOW), Err(Inaccessible::Expired));
    }

    #[test]
    fn deletion_then_suspension_then_disabling_explain_a_closed_link() {
        let open = LinkStatus {
            enabled: true,
            expires_at: None,
            deleted_at: None,
            workspace_suspended: false,
        };
        assert_eq!(open.accessible(NOW), Ok(()));
        assert_eq!(
            LinkStatus {
                enabled: false,
                ..open
            }
            .accessible(NOW),
            Err(Inaccessible::Disabled)
        );
        assert_eq!(
            LinkStatus {
                enabled: false,
                workspace_suspended: true,
                ..open
            }
            .accessible(NOW),
            Err(Inaccessible::Suspended)
        );
        assert_eq!(
            LinkStatus {
                deleted_at: Some(NOW),
                workspace_suspended: true,
                ..open
            }
            .accessible(NOW),
            Err(Inaccessible::Deleted)
        );
    }

    #[test]
    fn expiry_presets_resolve_and_respect_the_workspace_limit() {
        assert_eq!(Expiry::Never.resolve(NOW, None), Ok(None));
        assert_eq!(
            Expiry::Days { days: 14 }.resolve(NOW, None),
            Ok(Some(NOW + Duration::days(14)))
        );
        assert_eq!(
            Expiry::Never.resolve(NOW, Some(90)),
            Err(ExpiryError::TooLong { max_days: 90 })
        );
        assert_eq!(
            Expiry::Days { days: 365 }.resolve(NOW, Some(90)),
            Err(ExpiryError::TooLong { max_days: 90 })
        );
        assert!(Expiry::Days { days: 90 }.resolve(NOW, Some(90)).is_ok());
        assert_eq!(
            Expiry::At {
                at: NOW - Duration::days(1)
            }
            .resolve(NOW, None),
            Err(ExpiryError::InThePast)
        );
    }

    #[test]
    fn an_expiry_beyond_the_calendar_is_an_error_not_a_panic() {
        let e = Expiry::Days { days: u32::MAX }
            .resolve(NOW, None)
            .unwrap_err();
        assert_eq!(e, ExpiryError::TooFar { days: u32::MAX });
        assert!(e.to_string().contains("too far in the future"), "{e}");
        assert_eq!(
            Expiry::Days { days: u32::MAX }.resolve(NOW, Some(90)),
            Err(ExpiryError::TooFar { days: u32::MAX })
        );
        // The year 9999 is the end: a little more than 2,900,000 days from 2026.
        assert!(Expiry::Days { days: 2_900_000 }.resolve(NOW, None).is_ok());
        assert!(Expiry::Days { days: 3_000_000 }.resolve(NOW, None).is_err());
        // A workspace limit beyond the calendar limits nothing but still refuses "never".
        assert!(
            Expiry::Days { days: 14 }
                .resolve(NOW, Some(u32::MAX))
                .is_ok()
        );
        assert_eq!(
            Expiry::Never.resolve(NOW, Some(u32::MAX)),
            Err(ExpiryError::TooLong { max_days: u32::MAX })
        );
        // At the very end of time, "in one day" is too far, not a crash.
        let end = time::PrimitiveDateTime::MAX.assume_utc();
        assert!(Expiry::Days { days: 1 }.resolve(end, Some(1)).is_err());
        assert!(
            Expiry::At { at: end }
                .resolve(end - Duration::days(1), Some(u32::MAX))
                .is_ok()
        );
    }

    #[test]
    fn only_plain_origins_may_frame_a_link() {
        assert_eq!(
            Origin::parse("https://App.Example.com/").unwrap().as_str(),
            "https://app.example.com"
        );
        assert!(Origin::parse("https://portal.example.com:8443").is_ok());
        assert!(Origin::parse("http://localhost:3000").is_ok());
        for bad in [
            "http://example.com",
            "https://*.example.com",
            "https://example.com/path",
            "example.com",
            "https://",
            "javascript:alert(1)",
            "https://exa mple.com",
            "https://a.com; script-src *",
        ] {
            assert!(Origin::parse(bad).is_err(), "{bad}");
        }
    }
}

/// Property tests: whatever text arrives where a token, a short code, a link id, a cookie or
/// an origin is expected, nothing panics, and what is accepted is exactly what we issue.
#[cfg(test)]
mod proptests {
    use proptest::prelude::*;

    use super::*;
    use crate::keys::ServerKey;

    /// 256 cases unless `PROPTEST_CASES` says otherwise.
    fn config() -> ProptestConfig {
        let cases = std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(256);
        ProptestConfig::with_cases(cases)
    }

    fn lossy(bytes: &[u8]) -> String {
        String::from_utf8_lossy(bytes).into_owned()
    }

    /// Texts shaped like tokens: the prefix (or a near miss) and a body of about the right
    /// length from the base64url alphabet (plus characters of other alphabets).
    fn token_like() -> impl Strategy<Value = String> {
        (
            prop_oneof![
                Just("shr_"),
                Just("shr"),
                Just("SHR_"),
                Just(""),
                Just("shr_shr_")
            ],
            "[A-Za-z0-9_\\-+/=]{38,48}",
        )
            .prop_map(|(p, b)| format!("{p}{b}"))
    }

    /// Parses `text` as a token; when accepted, it must be the canonical encoding of what it
    /// claims (so one link has one token text per generation).
    fn check_token(text: &str) {
        if let Some(claimed) = parse_token(text) {
            let mut bytes = claimed.id.0.to_vec();
            bytes.extend_from_slice(&claimed.tag);
            assert_eq!(
                format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes)),
                text
            );
        }
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn any_text_as_a_token_never_panics(text in any::<String>()) {
            check_token(&text);
        }

        #[test]
        fn any_bytes_as_a_token_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..96)) {
            check_token(&lossy(&bytes));
        }

        #[test]
        fn token_shaped_text_is_accepted_only_when_canonical(text in token_like()) {
            check_token(&text);
        }

        #[test]
        fn an_issued_token_parses_back_to_its_link_and_generation(
            id in any::<[u8; LINK_ID_BYTES]>(),
            generation in any::<i64>(),
        ) {
            let key = ServerKey::generate().derive("share-link");
            let token = issue_token(&key, LinkId(id), generation);
            let claimed = parse_token(token.expose()).expect("an issued token parses");
            prop_assert_eq!(claimed.id, LinkId(id));
            prop_assert!(claimed.verify(&key, generation));
            prop_assert!(!claimed.verify(&key, generation.wrapping_add(1)));
            check_token(token.expose());
        }

        #[test]
        fn the_short_code_check_never_panics(text in any::<String>(), bytes in proptest::collection::vec(any::<u8>(), 0..24)) {
            for t in [text, lossy(&bytes)] {
                if is_short_code(&t) {
                    prop_assert_eq!(t.len(), 12);
                    prop_assert!(URL_SAFE_NO_PAD.decode(&t).is_ok_and(|b| b.len() == 9));
                }
                prop_assert_eq!(short_code_digest(&t).len(), 64);
            }
        }

        #[test]
        fn code_shaped_text_is_a_short_code_exactly_when_it_has_twelve_url_safe_characters(
            text in "[A-Za-z0-9_\\-+/=.]{10,14}",
        ) {
            let expected = text.len() == 12
                && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            prop_assert_eq!(is_short_code(&text), expected);
        }

        #[test]
        fn an_issued_short_code_passes_the_check(id in any::<[u8; LINK_ID_BYTES]>(), generation in any::<i64>()) {
            let key = ServerKey::generate().derive("short-link");
            let code = short_code(&key, LinkId(id), generation);
            prop_assert!(is_short_code(&code));
        }

        #[test]
        fn a_link_id_read_from_text_writes_back_the_same_text(text in "[A-Za-z0-9_\\-=]{0,26}") {
            if let Some(id) = LinkId::parse(&text) {
                prop_assert_eq!(id.to_text(), text);
            }
        }

        #[test]
        fn any_unlock_cookie_text_is_refused_without_panicking(value in any::<String>(), id in any::<[u8; LINK_ID_BYTES]>()) {
            let key = ServerKey::generate().derive("share-unlock");
            let now = time::macros::datetime!(2026-11-23 12:00 UTC);
            prop_assert!(!verify_unlock_cookie(&key, LinkId(id), 1, 1, &value, now));
        }

        #[test]
        fn an_accepted_origin_reads_back_as_itself(text in any::<String>(), shaped in "(https?://)?[a-zA-Z0-9.\\-*:/ ]{0,30}") {
            for t in [text, shaped] {
                if let Ok(origin) = Origin::parse(&t) {
                    prop_assert_eq!(Origin::parse(origin.as_str()), Ok(origin.clone()));
                }
            }
        }

        #[test]
        fn resolving_any_expiry_never_panics(
            days in any::<u32>(),
            max_days in proptest::option::of(any::<u32>()),
            at_offset in any::<i64>(),
        ) {
            let now = time::macros::datetime!(2026-11-23 12:00 UTC);
            let _ = Expiry::Days { days }.resolve(now, max_days);
            let _ = Expiry::Never.resolve(now, max_days);
            let at = now
                .checked_add(Duration::seconds(at_offset / 4))
                .unwrap_or(now);
            let _ = Expiry::At { at }.resolve(now, max_days);
        }
    }
}
