//! # vitrine-server — the HTTP front door
//!
//! The owner UI (server-rendered pages), the JSON API under `/api/v1`, and the outsider
//! router, on axum. Everything they do is a call into [`vitrine_app`]; this crate turns
//! requests into those calls and their answers into responses.
//!
//! A tour, in the order a request meets it:
//! - [`server`]: serving a prepared [`vitrine_app::App`] over HTTP/1.1 with hyper's own
//!   connection builder (one 8 KiB read buffer per connection, a head-read deadline) and
//!   graceful shutdown; a connection whose next request opens a live stream leaves hyper for
//!   a writer without buffers (`server::handoff`); the outsider router can listen on its own
//!   address (`public_listen`).
//! - [`routes`]: the routers. Each resource owns its routes (`routes/members.rs` …); handlers
//!   extract, authorise, make one service call, and return a page or JSON.
//! - [`security`]: one middleware sets the security headers on every response.
//! - [`auth`]: sessions, API keys and CSRF as request concerns, resolved once per request into
//!   an [`auth::Identity`]; the [`auth::ApiMember`] and [`auth::PageMember`] extractors.
//! - [`extract`]: the API's JSON body, path and query extractors, whose refusals are the API's
//!   JSON error naming the field at fault.
//! - [`error`]: the one mapping from [`vitrine_app::Error`] to a response, and the client-error
//!   boundary that never leaks internals; every API error is JSON, even the router's own.
//! - [`routes::openapi`]: the OpenAPI document of `/api/v1`, generated from the handlers'
//!   annotations and their types.
//! - [`dashboards`]: the dashboard page and the card fragments, shared by owners and outsiders.
//! - [`live`]: Server-Sent Events framing of the live hub's snapshots and link verdicts.
//! - [`exports`]: download links on the pages, and the download response with a safe file name.
//! - [`pages`]: one askama template struct per page (`templates/`), auto-escaped.
//! - [`assets`]: static assets prepared once — hashed URLs, brotli / gzip, WOFF2 font subsets.
//! - [`reuse`]: an outsider page compressed once per distinct page, not once per view.
#![forbid(unsafe_code)]
// Laying out the dashboard page's future (the runner's nested per-widget futures, from
// `vitrine-app`) goes deeper than the default query depth of 128.
#![recursion_limit = "256"]

pub mod assets;
pub mod auth;
pub mod dashboards;
pub mod error;
pub mod exports;
pub mod extract;
pub mod live;
pub mod pages;
pub mod reuse;
pub mod routes;
pub mod security;
pub mod server;

pub use vitrine_app::{App, Config};
