//! vitrine-store's integration tests: one binary, one conformance story per capability, run
//! against SQLite always and against PostgreSQL when `VITRINE_TEST_POSTGRES_URL` is set.

mod analytics;
mod conformance;
mod harness;
