//! Dashboards as documents: widgets, structured queries, filters, row-level rules.
