//! # Dashboards on the page
//!
//! The dashboard page and its card fragments, shared by owners and outsiders. The data comes
//! from [`vitrine_app::dashboards`] (the runner and the view a URL describes); this module turns
//! it into HTML. HTML comes only from askama templates; the SVG and table / Markdown fragments
//! come from `vitrine-render`, which escapes every label, and are the only markup inserted
//! unescaped. No inline style or script (strict CSP): the grid is placed by classes
//! (`w-x-3 w-w-6 w-y-2 w-h-4`, `static/dashboard.css`) and the behaviour lives in
//! `static/dashboard.js`. Without JavaScript the filter bar is a plain GET form. With it, a
//! change rewrites the URL (`history.replaceState`, so it can be shared) and replaces each card
//! with `GET {base}/widgets/{id}?{same query}`, the card's inner HTML.

pub mod view;

pub use view::{
    CardTemplate, DASHBOARD_CSS, DASHBOARD_JS, DashboardPage, DashboardParts, FilterControl,
    FilterControlKind, SelectOption, WidgetCard, card_html, dashboard_page, dashboard_parts,
    theme_name, widget_card, widget_fragment,
};
