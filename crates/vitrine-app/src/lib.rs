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
//! - [`compressed`]: outsider pages kept as sent, with everything they were built from, so an
//!   unchanged page is not built again. [`metrics`]: the process's counters, in the Prometheus text format.
//! - [`access_log`]: plain page views written to the access log in batches (group commit);
//!   everything a limit reads back stays synchronous.
//! - [`dashboards`]: the runner (dashboard + view + rules → rendered widgets, through the
//!   result cache) and the view a URL describes ([`dashboards::query`]).
//! - [`exports`]: downloads (dashboard → PDF, widget → PNG / SVG / CSV) on a bounded pool.
//! - [`app`]: [`App`], the state every service takes, and [`prepare`], start-up.
//! - [`admin`]: what the operator's admin commands read (the workspace, the member a command
//!   acts as, listings): the command line reaches the store only through the services.
//! - [`attempts`]: password attempts reserved in the store before they are hashed, so a
//!   throttle holds under concurrency and across instances; client addresses counted by keyed
//!   hash (IPv6 by /64).
//! - [`accounts`]: members, sessions, API keys, log-in throttling; [`accounts::audit`] is the
//!   one place an owner action is recorded.
//! - [`content`]: data sources (sealed settings), datasets (checked SQL, discovered columns),
//!   dashboards (validated YAML), and the cache of built dashboard contexts;
//!   [`content::DashboardAccess`] is the one per-dashboard access check (draft, published,
//!   restricted, grants).
//! - [`audience`]: who one dashboard is given to — restricting it to roles and members with
//!   viewer / editor rights on it.
//! - [`data_permissions`]: members' data permissions — row-level rules on a member or a role,
//!   applied through [`dashboards::Restrictions::build`] to everything that member views.
//! - [`builder`]: the visual builder's services — choices over a dataset (asked of the
//!   document validation), widget previews through the runner, dataset trial runs and users,
//!   starter documents, the YAML ⇄ document round trip.
//! - [`live`]: live pages' machinery — one refresher per watched view, one guard per watched
//!   share link, the change bus across instances (PostgreSQL `LISTEN/NOTIFY`).
//! - [`links`]: share links' lifecycle and the workspace's link policy.
//! - [`analytics`]: access analytics read from the daily rollups (per link, per dashboard,
//!   the workspace overview, CSV); [`trail`]: the searchable audit trail, owner actions and
//!   outsider access events in one search.
//! - [`mailer`]: how one message goes out (SMTP or `.eml` files) and the outbox's shared state.
//! - [`mail`]: outgoing mail — the outbox (a row per message and recipient, claimed before
//!   it is sent, retried with backoff), the mailer (SMTP through lettre, or `.eml` files when no
//!   SMTP server is configured), message bodies from plain functions with the workspace footer.
//!   Other features queue into it with [`mail::enqueue`].
//! - [`invitations`]: invitations by e-mail — HMAC-tagged accept tokens bound to the address,
//!   single-use, expiring, revocable, renewed by a resend; accepted only by a POST.
//! - [`link_mail`]: a share link sent by e-mail with a note (never its password), listed per
//!   link and audited.
//! - [`reports`]: scheduled reports — schedules in an IANA zone (the DST rule is documented
//!   in [`reports::schedule`]), the scheduler that claims each slot once in the store, renders
//!   it once as the schedule's creator and delivers it per recipient (e-mail through the
//!   mailer, Slack, signed webhooks) with retries of the failed ones only.
//! - [`guests`]: an embedding's settings and the guest grant an embedded request holds.
//! - [`downloads`]: members' and outsiders' downloads as services over [`exports`].
//! - [`outsider`]: what an outsider's request may see — a token becomes a [`outsider::ShareAccess`]
//!   capability or a refusal; the view it shows is rebuilt from the link, never trusted; every
//!   attempt is an access event. A guest grant opens the same capability.
//! - [`identified`]: identified links — viewers confirm an e-mail address (of the allowed
//!   domains) with a one-time code sent through the outbox; throttled like passwords.
//! - [`embedding`]: embeddings and guest tokens — enable, mint (rules checked against the
//!   datasets), revoke, and [`embedding::open_guest`], which turns a token into a
//!   [`outsider::ShareAccess`] on every request.
//! - [`retention`]: the background task that prunes the access log past
//!   `access.retention_days`, old password attempts and expired sessions.
#![forbid(unsafe_code)]
// The builder preview's future (runner → data → store) is deeper than the default 128
// layout queries allow in a release build.
#![recursion_limit = "256"]

pub mod access_log;
pub mod accounts;
pub mod admin;
pub mod analytics;
pub mod app;
pub mod attempts;
pub mod audience;
pub mod builder;
pub mod compressed;
pub mod config;
pub mod content;
pub mod dashboards;
pub mod data_permissions;
pub mod downloads;
pub mod embedding;
pub mod error;
pub mod exports;
pub mod geo;
pub mod guests;
pub mod hub;
pub mod identified;
pub mod invitations;
pub mod keyfile;
pub mod limits;
pub mod link_mail;
pub mod links;
pub mod live;
pub mod mail;
pub mod mailer;
pub mod metrics;
pub mod openapi;
pub mod outsider;
pub mod passwords;
pub mod reports;
pub mod retention;
pub mod text;
pub mod trail;

pub use app::{App, AppState, Keys, migrate, prepare};
pub use config::Config;
pub use error::{Error, Result};
