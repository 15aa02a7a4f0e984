//! # vitrine — the binary
//!
//! The command line ([`cli`]): `serve` and `demo` start `vitrine-server`; `migrate`,
//! `gen-config`, `gen-key` and the admin commands (`user …`, `link …`, `dashboards …`) call
//! `vitrine-app` directly, the same services the HTTP API calls. [`demo`] is a library function so
//! that a test drives exactly what `vitrine demo` runs. [`allocator`] bounds glibc's malloc
//! arenas and fixes its mmap threshold before anything else runs (the binary starts itself again
//! with `MALLOC_ARENA_MAX` and `MALLOC_MMAP_THRESHOLD_`).
#![forbid(unsafe_code)]

/// With the `mimalloc` feature, every binary linking this crate (the server, the benches)
/// allocates through mimalloc instead of the system's allocator.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub mod acting;
pub mod allocator;
pub mod cli;
pub mod demo;
pub mod demo_host;
pub mod embed_cli;
pub mod warehouse;
