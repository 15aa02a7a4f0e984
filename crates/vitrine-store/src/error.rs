//! The one place where database errors become [`StoreError`].

/// What can go wrong in the store, in terms the server can act on. The `String`s are for
/// logs and operators, never for outsiders.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness or business rule was violated (duplicate e-mail, last admin).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The row to change does not exist.
    #[error("not found")]
    NotFound,
    /// The database URL or options are wrong.
    #[error("store configuration: {0}")]
    Config(String),
    /// The database cannot be reached or timed out.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// A migration failed.
    #[error("migration failed: {0}")]
    Migration(String),
    /// Anything else.
    #[error("store error: {0}")]
    Internal(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        match error {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                StoreError::Conflict(db.message().to_owned())
            }
            sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
                StoreError::Conflict(db.message().to_owned())
            }
            sqlx::Error::Configuration(e) => StoreError::Config(e.to_string()),
            sqlx::Error::Io(e) => StoreError::Unavailable(e.to_string()),
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed => {
                StoreError::Unavailable(error.to_string())
            }
            sqlx::Error::Migrate(e) => StoreError::Migration(e.to_string()),
            other => StoreError::Internal(other.to_string()),
        }
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(error: sqlx::migrate::MigrateError) -> Self {
        StoreError::Migration(error.to_string())
    }
}
