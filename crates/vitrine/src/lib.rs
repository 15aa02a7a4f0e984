//! vitrine
#![forbid(unsafe_code)]
