//! The binary's integration tests: `vitrine demo`'s code path on port 0, and two real
//! `vitrine serve` processes on one PostgreSQL database (`scale`).

mod allocator;
mod cli;
mod demo;
mod layout;
mod reports;
mod scale;
mod warehouse;
