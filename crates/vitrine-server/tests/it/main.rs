//! vitrine-server's integration tests: one binary; each test spawns a real server on port 0
//! with a fresh SQLite store and an injected clock.

mod accounts;
mod browser;
mod content;
mod context;
mod dashboards;
mod data_sources;
mod dates;
mod embed;
mod exports;
mod hardening;
mod headers;
mod helpers;
mod links;
mod live;
mod login;
mod metrics;
mod openapi;
mod page_weight;
mod panics;
mod policies;
mod public;
mod share_ui;
mod startup;
mod throttle;
