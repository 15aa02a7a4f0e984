//! # vitrine-core — the domain, pure
//!
//! Everything Vitrine *decides* lives here; nothing here does I/O. The other crates parse
//! input into these types, ask them questions, and store or render the answers.
//!
//! A short tour:
//! - [`clock`]: time is injected ([`clock::Clock`]) so expiry and throttling are testable
//!   without sleeping.
//! - [`audience`]: who may see and who may edit one dashboard (published, draft,
//!   restricted to chosen roles and members with viewer / editor rights).
//! - [`id`]: newtype ids, so a member id can never be passed where a workspace id is wanted.
//! - [`member`]: roles, permissions and the predicates that say who may do what
//!   ([`member::Actor`]), plus validated e-mail addresses, names and passwords.
//! - [`secret`]: secrets (session tokens, API keys, the server key) are types whose `Debug`
//!   redacts them; they never travel as bare `String`s.
//! - [`keys`]: the server key and the sub-keys derived from it for each purpose.
//! - [`dashboard`]: dashboards as documents: widgets, their structured queries, filters and
//!   row-level rules.
//! - [`net`]: CIDR blocks and the part of a client address a throttle counts by (IPv6 by /64).
//! - [`seal`]: authenticated encryption of secrets at rest (data-source credentials).
//! - [`share`]: share-link tokens, short codes, unlock cookies, expiry, accessibility and
//!   embed origins (DESIGN section 5).
//! - [`identified`]: identified share links: allowed e-mail domains, one-time codes and the
//!   viewer cookie that carries a confirmed address.
//! - [`invitation`]: invitations' accept tokens, HMAC-tagged like share tokens and bound to the
//!   invited address.
//! - `openapi` (feature `openapi`): the OpenAPI schemas of the few domain types whose JSON
//!   shape a derive cannot tell (embed origins, filter values); the others derive theirs.
//! - [`result`]: the shape of a query result (columns, typed values), shared by the data
//!   layer that produces it and the renderer that draws it.
#![forbid(unsafe_code)]

pub mod audience;
pub mod clock;
pub mod dashboard;
pub mod guest;
pub mod id;
pub mod identified;
pub mod invitation;
pub mod keys;
pub mod member;
pub mod net;
#[cfg(feature = "openapi")]
pub mod openapi;
pub mod result;
pub mod seal;
pub mod secret;
pub mod share;
