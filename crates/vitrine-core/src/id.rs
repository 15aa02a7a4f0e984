//! Newtype ids for rows of our own store.

use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::num::ParseIntError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.parse().map(Self)
            }
        }
    };
}

id_type!(
    /// A tenant.
    WorkspaceId
);
id_type!(
    /// A person with an account in a workspace.
    MemberId
);
id_type!(
    /// An API key (the row, not the secret).
    ApiKeyId
);
id_type!(
    /// A connection to a customer's database.
    DataSourceId
);
id_type!(
    /// A named query over one data source.
    DatasetId
);
id_type!(
    /// A dashboard.
    DashboardId
);
