//! What went wrong, in the domain's words.
//!
//! Every service returns [`Error`]. It says *what* happened (nothing here, not allowed, this
//! input is wrong, try again later) and never *how* to tell a client: the HTTP front door maps
//! it to a status, a JSON body or a page in exactly one place (`vitrine-server`'s `error.rs`),
//! the CLI prints it, the scheduler logs it. The causes of [`Error::Unavailable`] and
//! [`Error::Internal`] are for the log only: no front door shows them to anyone.

use vitrine_store::StoreError;

/// What a service can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Nothing here, or nothing this caller may know about.
    #[error("not found")]
    NotFound,
    /// The caller did not prove who they are (no or bad credentials).
    #[error("authentication required")]
    Unauthenticated,
    /// The caller is known but not allowed to do this.
    #[error("forbidden")]
    Forbidden,
    /// The caller is known but lacks one named permission (`embed`), which an admin can grant:
    /// refused like [`Error::Forbidden`], with a message that names it.
    #[error("this needs the “{0}” permission, which an admin can grant on the Members page")]
    MissingPermission(&'static str),
    /// Input that fails validation. The message is written for the person who sent it; the
    /// field, when known, names the part of the input at fault (`password`, `location`,
    /// `locked_filters.region`).
    #[error("{message}")]
    Invalid {
        /// The input field at fault, when one is.
        field: Option<String>,
        /// A sentence for the caller.
        message: String,
    },
    /// A conflict the caller can resolve (a duplicate e-mail, the last admin, a stale
    /// revision); the message is shown to the caller.
    #[error("{0}")]
    Conflict(String),
    /// Too many attempts; a retry may succeed after this many seconds.
    #[error("too many attempts")]
    Throttled {
        /// Seconds until a retry may succeed.
        retry_after: u64,
    },
    /// A bounded pool stayed full (the export render pool); retry after this many seconds.
    #[error("busy")]
    Busy {
        /// Seconds until a retry may succeed.
        retry_after: u64,
    },
    /// A dependency (the store, a data source) or a definition this request needs cannot
    /// serve it now. The text is for the log.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// Anything else: a bug or a broken invariant. Logged, never shown.
    #[error("internal error: {0:#}")]
    Internal(#[from] anyhow::Error),
}

/// The result of a service.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Invalid input, without naming a field.
    pub fn invalid(message: impl Into<String>) -> Self {
        Error::Invalid {
            field: None,
            message: message.into(),
        }
    }

    /// Invalid input in `field`.
    pub fn invalid_field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Invalid {
            field: Some(field.into()),
            message: message.into(),
        }
    }

    /// A broken invariant, with its cause for the log.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        Error::Internal(anyhow::anyhow!("{cause}"))
    }
}

impl From<StoreError> for Error {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound => Error::NotFound,
            StoreError::Conflict(message) => Error::Conflict(message),
            StoreError::Unavailable(message) => Error::Unavailable(message),
            other => Error::Internal(other.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_errors_become_domain_errors() {
        assert!(matches!(Error::from(StoreError::NotFound), Error::NotFound));
        assert!(matches!(
            Error::from(StoreError::Conflict("dup".into())),
            Error::Conflict(m) if m == "dup"
        ));
    }

    #[test]
    fn invalid_input_keeps_its_field() {
        match Error::invalid_field("password", "Too short.") {
            Error::Invalid { field, message } => {
                assert_eq!(field.as_deref(), Some("password"));
                assert_eq!(message, "Too short.");
            }
            other => panic!("{other:?}"),
        }
    }
}
