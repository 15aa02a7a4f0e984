//! One error type for the data path, with a client-safe face and a private detail.

use std::fmt;
use std::sync::Arc;

use serde::Serialize;

/// What went wrong, as a stable code a client may see (`timeout`, `row_cap`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DataErrorKind {
    /// The statement ran longer than the data source's timeout and was stopped.
    Timeout,
    /// The result had more rows than the cap (only when the source is set to fail on it).
    RowCap,
    /// The database refused or failed the statement (including writes refused by a read-only
    /// connection).
    QueryFailed,
    /// The data source could not be reached or did not hand out a connection in time.
    Unavailable,
    /// The widget, dataset or filter definition cannot be run (unknown column, a row-level
    /// rule that cannot be applied, a dataset that is not one read-only query...).
    InvalidDefinition,
    /// A value the viewer (or a link's owner) chose cannot be used, such as a date outside
    /// the accepted range. Its client message says what is wrong with the value, never how
    /// the query looks ([`DataError::invalid_input`]).
    InvalidInput,
}

impl DataErrorKind {
    /// The stable code: `timeout`, `row_cap`, `query_failed`, `unavailable`,
    /// `invalid_definition`, `invalid_input`.
    pub fn code(self) -> &'static str {
        match self {
            DataErrorKind::Timeout => "timeout",
            DataErrorKind::RowCap => "row_cap",
            DataErrorKind::QueryFailed => "query_failed",
            DataErrorKind::Unavailable => "unavailable",
            DataErrorKind::InvalidDefinition => "invalid_definition",
            DataErrorKind::InvalidInput => "invalid_input",
        }
    }

    /// A polite sentence for any viewer; it never contains SQL or driver text.
    pub fn client_message(self) -> &'static str {
        match self {
            DataErrorKind::Timeout => "This data took too long to load and was stopped.",
            DataErrorKind::RowCap => "This data has more rows than a widget may show.",
            DataErrorKind::QueryFailed => "This data could not be loaded.",
            DataErrorKind::Unavailable => "The data source is not reachable right now.",
            DataErrorKind::InvalidDefinition => "This widget's definition cannot be run.",
            DataErrorKind::InvalidInput => "A chosen filter value cannot be used.",
        }
    }
}

/// An error of the data path.
///
/// `Display` (and [`DataError::client_message`]) show only the kind's polite sentence. The
/// [`DataError::detail`] — SQL, driver messages, host names — is for logs, and the only way to
/// reach it is to ask for it by name. `Debug` shows it too, because `Debug` is for logs.
/// Cloneable so that every waiter of a single-flight query receives the same error.
#[derive(Clone)]
pub struct DataError {
    kind: DataErrorKind,
    /// A fixed, client-safe sentence that replaces the kind's generic one
    /// ([`DataError::invalid_input`]); a `&'static str` so it can never carry run-time text.
    public: Option<&'static str>,
    detail: Arc<str>,
}

impl DataError {
    /// An error of `kind` with an internal `detail` for logs.
    pub fn new(kind: DataErrorKind, detail: impl Into<String>) -> Self {
        DataError {
            kind,
            public: None,
            detail: Arc::from(detail.into()),
        }
    }

    /// A [`DataErrorKind::InvalidInput`] whose client message is `public`, a fixed sentence
    /// that tells the viewer what is wrong with the value they chose ("Dates must be between
    /// 1000-01-01 and 9998-12-31."). Being `'static`, it cannot contain SQL or a driver's words.
    pub fn invalid_input(public: &'static str, detail: impl Into<String>) -> Self {
        DataError {
            public: Some(public),
            ..Self::new(DataErrorKind::InvalidInput, detail)
        }
    }

    /// Shorthand for [`DataErrorKind::InvalidDefinition`].
    pub fn invalid(detail: impl Into<String>) -> Self {
        Self::new(DataErrorKind::InvalidDefinition, detail)
    }

    /// The client-facing kind.
    pub fn kind(&self) -> DataErrorKind {
        self.kind
    }

    /// The stable code of the kind.
    pub fn code(&self) -> &'static str {
        self.kind.code()
    }

    /// The polite sentence a viewer may see.
    pub fn client_message(&self) -> &'static str {
        self.public.unwrap_or(self.kind.client_message())
    }

    /// The internal detail, for logs only. May contain SQL and driver text.
    pub fn detail(&self) -> &str {
        &self.detail
    }
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.client_message())
    }
}

impl fmt::Debug for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DataError")
            .field("kind", &self.kind)
            .field("public", &self.public)
            .field("detail", &self.detail)
            .finish()
    }
}

impl std::error::Error for DataError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_shows_only_the_polite_sentence_never_the_detail() {
        let e = DataError::new(
            DataErrorKind::QueryFailed,
            "error returned from database: relation \"secret_table\" does not exist; SELECT * FROM secret_table",
        );
        let shown = e.to_string();
        assert_eq!(shown, "This data could not be loaded.");
        assert!(!shown.contains("secret_table"));
        assert!(!shown.contains("SELECT"));
        assert!(e.detail().contains("secret_table"));
        assert_eq!(e.code(), "query_failed");
    }

    #[test]
    fn an_invalid_input_says_what_is_wrong_with_the_value_and_nothing_else() {
        let e = DataError::invalid_input(
            "Dates must be between 1000-01-01 and 9998-12-31.",
            "filter `period`: 9999-12-31 on column ordered_at",
        );
        assert_eq!(e.kind(), DataErrorKind::InvalidInput);
        assert_eq!(e.code(), "invalid_input");
        assert_eq!(
            e.to_string(),
            "Dates must be between 1000-01-01 and 9998-12-31."
        );
        assert_eq!(e.client_message(), e.to_string());
        assert!(!e.to_string().contains("ordered_at"));
        assert!(e.detail().contains("ordered_at"));
    }
}
