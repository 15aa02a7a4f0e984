//! # vitrine-render
//!
//! Widget results to SVG, PNG, PDF and CSV.
#![forbid(unsafe_code)]
