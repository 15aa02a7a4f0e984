//! vitrine-render's integration tests: one binary, one module per concern.

mod edge_cases;
mod escaping;
mod formats;
mod helpers;
mod html;
mod snapshots;
mod ticks;
