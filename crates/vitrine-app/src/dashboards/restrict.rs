//! Who sees which rows: one mechanism (DESIGN §5a).
//!
//! A share link's locked filters, its row-level rules, a guest grant's rules and a scheduled
//! report's fixed filters are the same thing: **restrictions applied to every query the
//! viewer's request runs**, as bound parameters — the page, the card fragments, the live
//! stream, the filter options and every export. [`Restrictions::build`] is the one function
//! that turns them into rules per dataset; the runner applies them; nothing else decides.
//!
//! - A **lock** (`region = EMEA`) restricts the datasets its filter maps by the mapped column.
//!   A dataset the filter does not map (a widget added later by an editor who never opened the
//!   share dialog) is restricted too when it has a column of one of the names the filter maps;
//!   when it has none, the lock cannot cover it.
//! - A **rule** (`customer_id = 42`, optionally for one dataset) restricts every dataset it
//!   names (all of them when it names none) by its column; a dataset without that column cannot
//!   be covered.
//! - A widget over a dataset that some restriction cannot cover is **not shown** (fail closed),
//!   unless its owner marked it `same_for_every_audience`; then it runs with the rules that do
//!   apply. Text widgets read no data and are always shown.
//! - Any value that cannot become a rule (a multi-select locked to nothing, a date range that
//!   does not resolve) is an error: the caller refuses the request rather than show more.

use std::collections::{BTreeMap, BTreeSet};

use time::Date;
use time::macros::format_description;
use vitrine_core::dashboard::{Dashboard, Filter, FilterValue, RowLevelRule, RuleOp, Scalar};

/// The most row-level rules one guest token or share link may carry.
pub const MAX_RULES: usize = 50;

/// One source of restriction.
#[derive(Debug, Clone, Copy)]
pub enum Restriction<'a> {
    /// A filter value fixed by a share link (or a report).
    Lock {
        /// The dashboard's filter.
        filter: &'a Filter,
        /// The value it is locked to.
        value: &'a FilterValue,
    },
    /// A row-level rule; `dataset` limits it to one dataset (its slug).
    Rule {
        /// The rule.
        rule: &'a RowLevelRule,
        /// The one dataset it applies to, or every dataset.
        dataset: Option<&'a str>,
    },
}

impl Restriction<'_> {
    /// How the share dialog and the logs name it: `region` (a lock's filter id) or
    /// `customer_id` (a rule's column).
    pub fn name(&self) -> String {
        match self {
            Restriction::Lock { filter, .. } => filter.id.to_string(),
            Restriction::Rule { rule, .. } => rule.column.clone(),
        }
    }
}

/// What one dataset is restricted by.
#[derive(Debug, Clone, Default, PartialEq)]
struct DatasetRules {
    rules: Vec<RowLevelRule>,
    /// Restrictions that cannot be applied to this dataset (it lacks their column).
    uncovered_by: BTreeSet<String>,
}

/// The restrictions of one request on one dashboard: rules per dataset, and the widgets that
/// cannot be shown. `Restrictions::default()` restricts nothing (a member's own view).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Restrictions {
    datasets: BTreeMap<String, DatasetRules>,
    hidden: BTreeSet<String>,
    /// Per restriction name, the widgets it cannot cover (shown or not).
    uncovered: BTreeMap<String, BTreeSet<String>>,
    restricted: bool,
}

/// A restriction that cannot be turned into rules: the request must be refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RestrictionError(pub String);

impl Restrictions {
    /// No restriction at all.
    pub fn none() -> Self {
        Self::default()
    }

    /// Builds the restrictions of `sources` on `doc`, whose datasets have the columns
    /// `columns` gives (by dataset slug; a dataset it does not know is missing and its widgets
    /// show their error state anyway). `today` resolves relative date locks.
    pub fn build<'a>(
        doc: &Dashboard,
        columns: impl Fn(&str) -> Option<Vec<String>>,
        sources: &[Restriction<'a>],
        today: Date,
    ) -> Result<Restrictions, RestrictionError> {
        if sources.is_empty() {
            // Nothing restricts: every loop below would leave the default as it is.
            return Ok(Restrictions::default());
        }
        let mut out = Restrictions {
            restricted: true,
            ..Restrictions::default()
        };
        let slugs: BTreeSet<String> = doc
            .widgets
            .iter()
            .filter_map(|w| w.query.as_ref().map(|q| q.dataset.to_string()))
            .chain(
                doc.filters
                    .iter()
                    .flat_map(|f| f.columns.keys().map(|s| s.to_string())),
            )
            .collect();
        for source in sources {
            for slug in &slugs {
                let Some(have) = columns(slug) else {
                    continue;
                };
                let entry = out.datasets.entry(slug.clone()).or_default();
                match target_columns(source, slug, &have) {
                    Target::Skip => {}
                    Target::Columns(cols) if cols.is_empty() => {
                        entry.uncovered_by.insert(source.name());
                    }
                    Target::Columns(cols) => {
                        for column in cols {
                            entry.rules.extend(rules_of(source, &column, today)?);
                        }
                    }
                }
            }
        }
        for widget in &doc.widgets {
            let Some(query) = &widget.query else {
                continue;
            };
            let Some(rules) = out.datasets.get(query.dataset.as_str()) else {
                continue;
            };
            for name in &rules.uncovered_by {
                out.uncovered
                    .entry(name.clone())
                    .or_default()
                    .insert(widget.id.to_string());
            }
            if !rules.uncovered_by.is_empty() && !widget.same_for_every_audience {
                out.hidden.insert(widget.id.to_string());
            }
        }
        Ok(out)
    }

    /// The rules every query over `dataset` runs with.
    pub fn rules_for(&self, dataset: &str) -> &[RowLevelRule] {
        self.datasets
            .get(dataset)
            .map_or(&[][..], |d| d.rules.as_slice())
    }

    /// Whether `dataset` may be read at all for this request's select-filter options: every
    /// restriction covers it.
    pub fn covers(&self, dataset: &str) -> bool {
        self.datasets
            .get(dataset)
            .is_none_or(|d| d.uncovered_by.is_empty())
    }

    /// Whether widget `id` is not shown to this viewer.
    pub fn is_hidden(&self, id: &str) -> bool {
        self.hidden.contains(id)
    }

    /// The widgets not shown, by id.
    pub fn hidden(&self) -> &BTreeSet<String> {
        &self.hidden
    }

    /// Per restriction (a lock's filter id, a rule's column), the widgets it cannot restrict:
    /// what the share dialog warns about.
    pub fn uncovered(&self) -> &BTreeMap<String, BTreeSet<String>> {
        &self.uncovered
    }

    /// Whether anything restricts this request (caches of unrestricted views may be shared
    /// more widely).
    pub fn is_restricted(&self) -> bool {
        self.restricted
    }
}

enum Target {
    /// The restriction does not concern this dataset (a rule for another dataset).
    Skip,
    /// The columns to restrict; none: the dataset cannot be covered.
    Columns(Vec<String>),
}

/// The columns of dataset `slug` (which has the columns `have`) a lock on `filter` restricts:
/// the one the filter maps, else every column named like one it maps elsewhere.
fn lock_columns(filter: &Filter, slug: &str, have: &[String]) -> Vec<String> {
    if let Some(column) = filter.columns.get(slug) {
        return vec![column.clone()];
    }
    let names: BTreeSet<&str> = filter.columns.values().map(String::as_str).collect();
    names
        .into_iter()
        .filter(|n| have.iter().any(|c| c == n))
        .map(str::to_owned)
        .collect()
}

/// Per filter of `doc`, the widgets a lock on it could not restrict (hidden on a link that
/// locks it, unless marked `same_for_every_audience`): what the share dialog warns about
/// before a link is saved.
pub fn lock_coverage(
    doc: &Dashboard,
    columns: impl Fn(&str) -> Option<Vec<String>>,
) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    for filter in &doc.filters {
        let uncovered: Vec<String> = doc
            .widgets
            .iter()
            .filter(|w| {
                w.query.as_ref().is_some_and(|q| {
                    columns(q.dataset.as_str()).is_some_and(|have| {
                        lock_columns(filter, q.dataset.as_str(), &have).is_empty()
                    })
                })
            })
            .map(|w| w.id.to_string())
            .collect();
        out.insert(filter.id.to_string(), uncovered);
    }
    out
}

fn target_columns(source: &Restriction<'_>, slug: &str, have: &[String]) -> Target {
    let present = |name: &str| have.iter().any(|c| c == name);
    match source {
        Restriction::Lock { filter, .. } => Target::Columns(lock_columns(filter, slug, have)),
        Restriction::Rule { rule, dataset } => match dataset {
            Some(only) if *only != slug => Target::Skip,
            _ if present(&rule.column) => Target::Columns(vec![rule.column.clone()]),
            _ => Target::Columns(Vec::new()),
        },
    }
}

fn iso(d: Date) -> Scalar {
    Scalar::Text(
        d.format(format_description!("[year]-[month]-[day]"))
            .unwrap_or_default(),
    )
}

fn rule(column: &str, op: RuleOp, values: Vec<Scalar>) -> Result<RowLevelRule, RestrictionError> {
    RowLevelRule::new(column, op, values).map_err(RestrictionError)
}

/// The rules a restriction puts on `column`.
fn rules_of(
    source: &Restriction<'_>,
    column: &str,
    today: Date,
) -> Result<Vec<RowLevelRule>, RestrictionError> {
    let (filter, value) = match source {
        Restriction::Rule { rule, .. } => {
            let mut rule = (*rule).clone();
            rule.column = column.to_owned();
            return Ok(vec![rule]);
        }
        Restriction::Lock { filter, value } => (filter, value),
    };
    let mut rules = Vec::new();
    match value {
        FilterValue::One(v) => rules.push(rule(column, RuleOp::Eq, vec![v.clone()])?),
        FilterValue::Many(vs) if vs.is_empty() => {
            return Err(RestrictionError(format!(
                "the filter “{}” is locked to no value at all",
                filter.id
            )));
        }
        FilterValue::Many(vs) => rules.push(rule(column, RuleOp::In, vs.clone())?),
        FilterValue::DateRange(range) => {
            let resolved = range.resolve(today);
            if let Some(from) = resolved.from {
                rules.push(rule(column, RuleOp::Gte, vec![iso(from)])?);
            }
            if let Some(to) = resolved.to {
                // Inclusive last day: before the next day's midnight, so timestamps count.
                match to.next_day() {
                    Some(next) => rules.push(rule(column, RuleOp::Lt, vec![iso(next)])?),
                    None => rules.push(rule(column, RuleOp::Lte, vec![iso(to)])?),
                }
            }
        }
        FilterValue::NumberRange(range) => {
            for (op, bound) in [(RuleOp::Gte, range.min), (RuleOp::Lte, range.max)] {
                if let Some(v) = bound {
                    if !v.is_finite() {
                        return Err(RestrictionError(format!(
                            "the filter “{}” is locked to a number that is not finite",
                            filter.id
                        )));
                    }
                    rules.push(rule(column, op, vec![Scalar::Float(v)])?);
                }
            }
        }
    }
    Ok(rules)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;
    use vitrine_core::dashboard::DateRange;

    fn doc() -> Dashboard {
        Dashboard::from_yaml(
            r#"
version: 1
title: Sales
filters:
  - {id: region, label: Region, kind: single_select, columns: {orders: region}}
  - {id: plan, label: Plan, kind: multi_select, columns: {orders: plan}}
  - {id: period, label: Period, kind: date_range, columns: {orders: day}}
widgets:
  - id: revenue
    kind: kpi
    layout: {x: 0, y: 0, w: 3, h: 2}
    query: {dataset: orders, measures: [{agg: sum, column: amount}]}
  - id: customers
    kind: table
    layout: {x: 3, y: 0, w: 9, h: 4}
    query: {dataset: customers, dimensions: [{column: name}], measures: [{agg: count}]}
  - id: index
    kind: line
    same_for_every_audience: true
    layout: {x: 0, y: 4, w: 12, h: 4}
    query: {dataset: market, dimensions: [{column: day, bucket: month}], measures: [{agg: avg, column: value}]}
  - id: note
    kind: text
    layout: {x: 0, y: 8, w: 12, h: 2}
    options: {markdown: "Hello"}
"#,
        )
        .unwrap()
    }

    fn columns(slug: &str) -> Option<Vec<String>> {
        let cols: &[&str] = match slug {
            "orders" => &["region", "plan", "day", "amount"],
            "customers" => &["name", "region", "signed_up"],
            "market" => &["day", "value"],
            _ => return None,
        };
        Some(cols.iter().map(|c| (*c).to_owned()).collect())
    }

    fn locked(doc: &Dashboard, id: &str, value: FilterValue) -> Restrictions {
        let filter = doc.filter(id).unwrap();
        Restrictions::build(
            doc,
            columns,
            &[Restriction::Lock {
                filter,
                value: &value,
            }],
            date!(2026 - 11 - 23),
        )
        .unwrap()
    }

    #[test]
    fn a_lock_restricts_a_dataset_its_filter_does_not_map_when_it_has_the_column() {
        let d = doc();
        let r = locked(&d, "region", FilterValue::One(Scalar::Text("EMEA".into())));
        assert_eq!(r.rules_for("orders")[0].column, "region");
        assert_eq!(
            r.rules_for("customers"),
            &[RowLevelRule::new("region", RuleOp::Eq, vec![Scalar::Text("EMEA".into())]).unwrap()]
        );
        assert!(!r.is_hidden("revenue") && !r.is_hidden("customers"));
    }

    #[test]
    fn a_widget_a_lock_cannot_cover_is_hidden_unless_marked_same_for_every_audience() {
        let d = doc();
        let r = locked(
            &d,
            "plan",
            FilterValue::Many(vec![Scalar::Text("Pro".into())]),
        );
        assert!(r.is_hidden("customers"), "customers has no plan column");
        assert!(!r.is_hidden("index"), "marked same for every audience");
        assert!(!r.is_hidden("note"), "text reads no data");
        assert_eq!(
            r.uncovered()["plan"],
            BTreeSet::from(["customers".to_owned(), "index".to_owned()])
        );
        assert!(!r.covers("customers"));
        assert!(r.rules_for("market").is_empty());
        let coverage = lock_coverage(&d, columns);
        assert_eq!(coverage["plan"], ["customers", "index"]);
        assert!(coverage["region"].contains(&"index".to_owned()));
        assert!(!coverage["region"].contains(&"customers".to_owned()));
    }

    #[test]
    fn a_date_lock_becomes_a_half_open_range_and_includes_its_last_day() {
        let d = doc();
        let r = locked(
            &d,
            "period",
            FilterValue::DateRange(DateRange::Absolute {
                from: Some(date!(2026 - 01 - 01)),
                to: Some(date!(2026 - 03 - 31)),
            }),
        );
        let rules = r.rules_for("orders");
        assert_eq!(rules.len(), 2);
        assert_eq!(
            (rules[0].op, &rules[0].values[0]),
            (RuleOp::Gte, &Scalar::Text("2026-01-01".into()))
        );
        assert_eq!(
            (rules[1].op, &rules[1].values[0]),
            (RuleOp::Lt, &Scalar::Text("2026-04-01".into()))
        );
        // `day` also names a column of `market`: restricted, not hidden.
        assert_eq!(r.rules_for("market").len(), 2);
        assert!(r.is_hidden("customers"));
    }

    #[test]
    fn a_multi_select_locked_to_nothing_fails_closed() {
        let d = doc();
        let filter = d.filter("plan").unwrap();
        let value = FilterValue::Many(Vec::new());
        let error = Restrictions::build(
            &d,
            columns,
            &[Restriction::Lock {
                filter,
                value: &value,
            }],
            date!(2026 - 11 - 23),
        )
        .unwrap_err();
        assert!(error.0.contains("plan"), "{error}");
    }

    #[test]
    fn a_rule_for_one_dataset_leaves_the_others_alone_and_a_general_rule_needs_its_column() {
        let d = doc();
        let tenant =
            RowLevelRule::new("region", RuleOp::Eq, vec![Scalar::Text("EU".into())]).unwrap();
        let scoped = Restrictions::build(
            &d,
            columns,
            &[Restriction::Rule {
                rule: &tenant,
                dataset: Some("orders"),
            }],
            date!(2026 - 11 - 23),
        )
        .unwrap();
        assert_eq!(scoped.rules_for("orders").len(), 1);
        assert!(scoped.rules_for("customers").is_empty());
        assert!(scoped.hidden().is_empty());
        let general = Restrictions::build(
            &d,
            columns,
            &[Restriction::Rule {
                rule: &tenant,
                dataset: None,
            }],
            date!(2026 - 11 - 23),
        )
        .unwrap();
        assert_eq!(general.rules_for("customers").len(), 1);
        assert!(!general.is_hidden("index"), "marked");
        assert!(general.uncovered()["region"].contains("index"));
    }

    #[test]
    fn nothing_restricts_a_members_own_view() {
        let r = Restrictions::none();
        assert!(!r.is_restricted() && r.hidden().is_empty() && r.rules_for("orders").is_empty());
    }
}
