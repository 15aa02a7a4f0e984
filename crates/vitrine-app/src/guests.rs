//! Guest grants' shared pieces, below [`crate::outsider`]: an embedding's settings and the
//! grant an embedded request was opened with. The services are in [`crate::embedding`].

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use vitrine_core::share::Origin;
use vitrine_store::{EmbeddingRecord, GuestGrantRecord};

use crate::Error;
use crate::links::LinkTheme;

/// How the embedded dashboard looks unless the host's SDK says otherwise.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct UiConfig {
    /// Hide the title and description.
    pub hide_title: bool,
    /// Hide the download menus.
    pub hide_chart_controls: bool,
    /// Show the filter bar.
    pub filters_visible: bool,
    /// The filter bar starts expanded.
    pub filters_expanded: bool,
    /// `light`, `dark` or `system`.
    pub theme: LinkTheme,
}

impl Default for UiConfig {
    fn default() -> Self {
        Self {
            hide_title: false,
            hide_chart_controls: false,
            filters_visible: true,
            filters_expanded: true,
            theme: LinkTheme::System,
        }
    }
}

/// An embedding's settings, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmbedSettings {
    /// The only origins that may frame the dashboard and talk to it (never empty).
    #[schema(value_type = Vec<String>)]
    pub allowed_origins: Vec<Origin>,
    /// The default UI configuration.
    #[serde(default)]
    pub ui: UiConfig,
    /// The filters the host (and its viewer) may set; the others keep their defaults.
    #[serde(default)]
    pub host_filters: Vec<String>,
}

impl EmbedSettings {
    /// The settings of a stored embedding; unreadable settings refuse (never the defaults).
    pub fn of(record: &EmbeddingRecord) -> Result<Self, Error> {
        serde_json::from_str(&record.settings)
            .map_err(|e| Error::Unavailable(format!("embedding settings: {e}")))
    }
}

/// The grant behind an embedded request: what the access log and the page need.
#[derive(Debug, Clone)]
pub struct GuestInfo {
    /// The embedding.
    pub embedding: EmbeddingRecord,
    /// Its settings.
    pub settings: EmbedSettings,
    /// The grant.
    pub grant: GuestGrantRecord,
}

impl GuestInfo {
    /// Seconds the grant has left, by the server's clock.
    pub fn seconds_left(&self, now: OffsetDateTime) -> i64 {
        (self.grant.expires_at - now).whole_seconds().max(0)
    }
}
