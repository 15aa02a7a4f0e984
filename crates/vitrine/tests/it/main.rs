//! The binary's integration tests: `vitrine demo`'s code path on port 0.

mod cli;
mod demo;
mod layout;
mod reports;
mod warehouse;
