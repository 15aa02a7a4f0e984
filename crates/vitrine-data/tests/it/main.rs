//! vitrine-data's one integration-test binary.
//!
//! SQLite tests always run. PostgreSQL and MariaDB / MySQL tests run when
//! `VITRINE_TEST_POSTGRES_URL` / `VITRINE_TEST_MYSQL_URL` are set, and print a loud `SKIPPED`
//! line otherwise — unless `VITRINE_REQUIRE_SERVICES=1`, in which case a missing URL fails.

mod clause;
mod compiler;
mod location;
mod props;
mod stories;
mod support;
