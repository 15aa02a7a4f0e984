//! vitrine-render's integration tests: one binary, one module per concern.

mod csv_export;
mod edge_cases;
mod escaping;
mod formats;
mod helpers;
mod html;
mod pdf_export;
mod png_export;
mod snapshots;
mod ticks;
