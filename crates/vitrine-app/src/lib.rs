//! # vitrine-app — the application, without HTTP
//!
//! Everything Vitrine *does*, below its front doors. The HTTP server (`vitrine-server`), the
//! command line (`vitrine user …`, `vitrine link …`) and background tasks all call the same
//! services here with an [`App`] and get the same answers, the same permission checks and the
//! same audit trail. Nothing in this crate knows about requests, status codes, headers, cookies
//! or templates: a `cargo tree` check in `.ci/run` keeps axum, tower, hyper and askama out.
//!
//! A tour, from the bottom up (each module only uses the ones above it in this list):
//! - [`error`]: [`Error`], what went wrong in the domain's words (not found, forbidden,
//!   invalid input with its field, conflict, throttled, busy, unavailable, internal). Front
//!   doors map it; services only return it.
//! - [`openapi`]: the JSON Schemas of the text inputs services validate (labels, names,
//!   slugs, link passwords), for the `utoipa::ToSchema` derives on the views and inputs below;
//!   `vitrine-server` builds the API's OpenAPI document from them (utoipa is not an HTTP crate).
//! - [`config`], [`keyfile`]: typed layered configuration; the server key, loaded or generated.
//! - [`passwords`]: Argon2id in two lanes (members, outsiders), each under a concurrency cap
//!   with a bounded wait. [`geo`]: the country of a client.
//!   [`text`]: times as people read them.
//! - [`limits`]: what one outsider may cost (live streams, new filter views per minute).
//! - [`metrics`]: the process's counters, written in the Prometheus text format.
//! - [`dashboards`]: the runner (dashboard + view + rules → rendered widgets, through the
//!   result cache) and the view a URL describes ([`dashboards::query`]).
//! - [`exports`]: downloads (dashboard → PDF, widget → PNG / SVG / CSV) on a bounded pool.
//! - [`app`]: [`App`], the state every service takes, and [`prepare`], start-up.
//! - [`attempts`]: password attempts reserved in the store before they are hashed, so a
//!   throttle holds under concurrency and across instances; client addresses counted by keyed
//!   hash (IPv6 by /64).
//! - [`accounts`]: members, sessions, API keys, log-in throttling; [`accounts::audit`] is the
//!   one place an owner action is recorded.
//! - [`content`]: data sources (sealed settings), datasets (checked SQL, discovered columns),
//!   dashboards (validated YAML), and the cache of built dashboard contexts.
//! - [`live`]: live pages' machinery — one refresher per watched view, one guard per watched
//!   share link, the change bus across instances (PostgreSQL `LISTEN/NOTIFY`).
//! - [`links`]: share links' lifecycle and the workspace's link policy.
//! - [`guests`]: an embedding's settings and the guest grant an embedded request holds.
//! - [`downloads`]: members' and outsiders' downloads as services over [`exports`].
//! - [`outsider`]: what an outsider's request may see — a token becomes a [`outsider::ShareAccess`]
//!   capability or a refusal; the view it shows is rebuilt from the link, never trusted; every
//!   attempt is an access event. A guest grant opens the same capability.
//! - [`embedding`]: embeddings and guest tokens — enable, mint (rules checked against the
//!   datasets), revoke, and [`embedding::open_guest`], which turns a token into a
//!   [`outsider::ShareAccess`] on every request.
//! - [`retention`]: the background task that prunes the access log past
//!   `access.retention_days`, old password attempts and expired sessions.
#![forbid(unsafe_code)]

pub mod accounts;
pub mod app;
pub mod attempts;
pub mod config;
pub mod content;
pub mod dashboards;
pub mod downloads;
pub mod embedding;
pub mod error;
pub mod exports;
pub mod geo;
pub mod guests;
pub mod hub;
pub mod keyfile;
pub mod limits;
pub mod links;
pub mod live;
pub mod metrics;
pub mod openapi;
pub mod outsider;
pub mod passwords;
pub mod retention;
pub mod text;

pub use app::{App, Keys, prepare};
pub use config::Config;
pub use error::{Error, Result};
