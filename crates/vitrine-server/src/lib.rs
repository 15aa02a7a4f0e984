//! # vitrine-server — HTTP
//!
//! The owner UI (server-rendered pages), the JSON API under `/api/v1`, and the outsider
//! router, on axum.
//!
//! A tour, in the order a request meets it:
//! - [`server`]: start-up ([`server::prepare`]: key, store, migrations) and serving, with
//!   graceful shutdown; the outsider router can listen on its own address (`public_listen`).
//! - [`routes`]: the routers. Each resource owns its routes (`routes/members.rs` …); handlers
//!   extract, authorise, make one [`accounts`] or store call, and return a page or JSON.
//! - [`security`]: one middleware sets the security headers on every response.
//! - [`auth`]: sessions, API keys and CSRF, resolved once per request into an
//!   [`auth::Identity`]; the [`auth::ApiMember`] and [`auth::PageMember`] extractors.
//! - [`accounts`]: the account operations shared by UI, API and CLI, with their audit events.
//! - [`content`]: data sources (sealed settings), datasets (checked SQL, discovered
//!   columns) and dashboards (validated YAML documents), likewise.
//! - [`links`]: share links' lifecycle, the workspace link policy, and token resolution
//!   for the outsider router.
//! - [`dashboards`]: the runner (dashboard + view + rules → rendered widgets, through the
//!   result cache) and the dashboard page and card fragments shared by owners and outsiders.
//! - [`live`]: live pages — one SSE stream per page, one refresher per watched view, one guard
//!   per watched share link closing its streams within a second of a revocation, on every
//!   instance (the store's change feed: PostgreSQL `LISTEN/NOTIFY`).
//! - [`metrics`]: atomic counters in [`state::AppState`], written in the Prometheus text
//!   format at `/metrics` on the owner listener.
//! - [`exports`]: downloads (dashboard → PDF, widget → PNG / SVG / CSV) on a bounded render
//!   pool, file names safe for `Content-Disposition`, per-format counters.
//! - [`error`]: one error type; one client-error boundary that never leaks internals.
//! - [`pages`]: one askama template struct per page (`templates/`), auto-escaped.
//! - [`config`], [`keyfile`]: typed layered configuration; the server key.
//! - [`state`]: [`state::AppState`], passed explicitly; time from an injected clock.
#![forbid(unsafe_code)]

pub mod accounts;
pub mod auth;
pub mod config;
pub mod content;
pub mod dashboards;
pub mod error;
pub mod exports;
pub mod geo;
pub mod keyfile;
pub mod links;
pub mod live;
pub mod metrics;
pub mod pages;
pub mod passwords;
pub mod routes;
pub mod security;
pub mod server;
pub mod state;

pub use config::Config;
pub use state::AppState;
