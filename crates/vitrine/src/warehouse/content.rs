//! The demo's datasets and dashboards, embedded in the binary from `crates/vitrine/demo/`.
//!
//! Datasets are plain SQL files (one read-only `SELECT` each) and dashboards are YAML in the
//! core schema, so they read like what a user would write, and `vitrine dashboards import`
//! could load them as they are.

/// A dataset of the demo warehouse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoDataset {
    /// The slug widgets and filters name it by.
    pub slug: &'static str,
    /// Its display name.
    pub name: &'static str,
    /// One read-only SQLite `SELECT` over the warehouse.
    pub sql: &'static str,
}

/// A demo dashboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoDashboard {
    /// A URL-friendly name (the file's name).
    pub slug: &'static str,
    /// The document, in the core dashboard schema.
    pub yaml: &'static str,
}

static DATASETS: [DemoDataset; 4] = [
    DemoDataset {
        slug: "signups",
        name: "Trial sign-ups",
        sql: include_str!("../../demo/datasets/signups.sql"),
    },
    DemoDataset {
        slug: "revenue",
        name: "Revenue",
        sql: include_str!("../../demo/datasets/revenue.sql"),
    },
    DemoDataset {
        slug: "usage",
        name: "Product usage",
        sql: include_str!("../../demo/datasets/usage.sql"),
    },
    DemoDataset {
        slug: "tickets",
        name: "Support tickets",
        sql: include_str!("../../demo/datasets/tickets.sql"),
    },
];

static DASHBOARDS: [DemoDashboard; 3] = [
    DemoDashboard {
        slug: "executive-overview",
        yaml: include_str!("../../demo/dashboards/executive-overview.yaml"),
    },
    DemoDashboard {
        slug: "customer-usage",
        yaml: include_str!("../../demo/dashboards/customer-usage.yaml"),
    },
    DemoDashboard {
        slug: "support",
        yaml: include_str!("../../demo/dashboards/support.yaml"),
    },
];

/// The demo datasets, all over the demo warehouse (one SQLite data source).
pub fn datasets() -> &'static [DemoDataset] {
    &DATASETS
}

/// The demo dashboards, in the order to list them.
pub fn dashboards() -> &'static [DemoDashboard] {
    &DASHBOARDS
}
