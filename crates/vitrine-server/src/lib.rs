//! vitrine-server
#![forbid(unsafe_code)]
