//! vitrine-server's integration tests: one binary; each test spawns a real server on port 0
//! with a fresh SQLite store and an injected clock. The HTTP suites of outsiders and links
//! (`public`, `share_ui`, `links`, `exports`, `live`, `embed`) write each test once with
//! `helpers::both_stores!` and run it on SQLite and on a fresh PostgreSQL database.

mod accounts;
mod analytics;
mod analytics_bench;
mod audience;
mod browser;
mod builder;
mod builder_ui;
mod content;
mod context;
mod dashboard_access;
mod dashboards;
mod data_rules;
mod data_sources;
mod dates;
mod embed;
mod exports;
mod hardening;
mod headers;
mod helpers;
mod identified;
mod invitations;
mod invite_browser;
mod link_mail;
mod links;
mod live;
mod login;
mod mail;
mod metrics;
mod mmdb;
mod openapi;
mod page_weight;
mod panics;
mod policies;
mod public;
mod reports;
mod reports_browser;
mod reports_ui;
mod share_ui;
mod sink;
mod startup;
mod throttle;
mod throughput;
