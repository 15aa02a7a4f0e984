//! # vitrine — the binary
//!
//! The command line ([`cli`]) over `vitrine-server`: `serve`, `demo`, `migrate`,
//! `gen-config`, `gen-key` and the `user` admin commands. [`demo`] is a library function so
//! that a test drives exactly what `vitrine demo` runs.
#![forbid(unsafe_code)]

pub mod cli;
pub mod demo;
pub mod warehouse;
