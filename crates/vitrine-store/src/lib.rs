//! vitrine-store
#![forbid(unsafe_code)]
