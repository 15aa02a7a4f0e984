//! # vitrine-data
//!
//! Running datasets against data sources: query compiler, read-only connections, result cache.
#![forbid(unsafe_code)]
