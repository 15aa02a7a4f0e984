//! The viewer's state in the URL: filter values, table sort and page, theme.
//!
//! The query string *is* the view, so a URL can be shared with a colleague and reloads to the
//! same picture:
//!
//! | parameter | meaning |
//! |---|---|
//! | `f.<filter>=EU` | a single select; empty = "All" (overrides the default) |
//! | `f.<filter>=EU&f.<filter>=US` | a multi select; a lone empty value = none chosen |
//! | `f.<filter>=2026-01-01..2026-03-31` | a date range, either end may be empty (open) |
//! | `f.<filter>=last_30_days` | a date range preset ([`PRESETS`]); empty = all time |
//! | `f.<filter>=custom&f.<filter>.from=…&f.<filter>.to=…` | the no-JavaScript form's custom range |
//! | `f.<filter>=10..99` or `f.<filter>.min=10&f.<filter>.max=99` | a number range |
//! | `t.<widget>.sort=<output>&t.<widget>.dir=desc&t.<widget>.page=2` | a table's view |
//! | `theme=dark` | the charts' theme |
//!
//! Parsing never fails: a value that does not parse, does not fit its filter, or names an
//! unknown filter or widget is ignored and the filter keeps its default. A value that parses
//! but that Vitrine refuses — a date outside 1000-01-01..=9998-12-31
//! ([`vitrine_core::dashboard::FilterValue::validate`]), a number that is not finite — also
//! leaves the filter at its default, and its message is kept in [`ViewState::problems`] for
//! the filter bar to show: the viewer learns why, and no such value ever reaches the
//! compiler. Values stay text here; the compiler binds them as parameters of the column's type
//! (a value that cannot be of that type matches nothing).
//!
//! [`view_query`] writes a view back in the same parameters: what [`parse_view_query`] accepts
//! reads back the same through it (a property test checks).

use std::collections::{BTreeMap, BTreeSet};

use time::Date;
use time::macros::format_description;
use vitrine_core::dashboard::{
    DATE_RANGE_MESSAGE, Dashboard, DateRange, Filter, FilterKind, FilterValue, FilterValueError,
    NumberRange, RelativeDate, Scalar, WidgetKind,
};
use vitrine_render::{TableSort, Theme};

/// The longest filter value accepted, in bytes; longer ones are ignored.
pub const MAX_VALUE_LEN: usize = 500;
/// The most values a multi select takes from the URL; further ones are ignored.
pub const MAX_MULTI_VALUES: usize = 200;
/// The most `key=value` pairs read from one query string.
const MAX_PAIRS: usize = 1000;

/// The relative date presets offered by date-range filters: the name used in URLs (the same as
/// in documents) and the label shown.
pub const PRESETS: &[(RelativeDate, &str, &str)] = &[
    (RelativeDate::Today, "today", "Today"),
    (RelativeDate::Yesterday, "yesterday", "Yesterday"),
    (RelativeDate::Last7Days, "last_7_days", "Last 7 days"),
    (RelativeDate::Last30Days, "last_30_days", "Last 30 days"),
    (RelativeDate::Last90Days, "last_90_days", "Last 90 days"),
    (
        RelativeDate::Last12Months,
        "last_12_months",
        "Last 12 months",
    ),
    (RelativeDate::ThisWeek, "this_week", "This week"),
    (RelativeDate::LastWeek, "last_week", "Last week"),
    (RelativeDate::ThisMonth, "this_month", "This month"),
    (RelativeDate::LastMonth, "last_month", "Last month"),
    (RelativeDate::ThisQuarter, "this_quarter", "This quarter"),
    (RelativeDate::LastQuarter, "last_quarter", "Last quarter"),
    (RelativeDate::YearToDate, "year_to_date", "Year to date"),
    (RelativeDate::LastYear, "last_year", "Last year"),
];

/// The URL name of a preset.
pub fn preset_name(preset: RelativeDate) -> &'static str {
    PRESETS
        .iter()
        .find(|(p, _, _)| *p == preset)
        .map_or("", |(_, name, _)| name)
}

fn preset_by_name(name: &str) -> Option<RelativeDate> {
    PRESETS
        .iter()
        .find(|(_, n, _)| *n == name)
        .map(|(p, _, _)| *p)
}

/// A filter value for people: `All`, `EMEA`, `Last 30 days`, `2026-01-01 – …`. (The
/// outsider page's fixed filters and the PDF header.)
pub fn describe_filter_value(value: Option<&FilterValue>) -> String {
    let Some(value) = value else {
        return "All".to_owned();
    };
    match value {
        FilterValue::One(v) => v.to_string(),
        FilterValue::Many(vs) => vs
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", "),
        FilterValue::DateRange(DateRange::Relative { preset }) => PRESETS
            .iter()
            .find(|(p, _, _)| p == preset)
            .map_or_else(String::new, |(_, _, label)| (*label).to_owned()),
        FilterValue::DateRange(DateRange::Absolute { from, to }) => format!(
            "{} – {}",
            from.map_or_else(|| "…".to_owned(), |d| d.to_string()),
            to.map_or_else(|| "…".to_owned(), |d| d.to_string())
        ),
        FilterValue::NumberRange(r) => format!(
            "{} – {}",
            r.min.map_or_else(|| "…".to_owned(), |v| v.to_string()),
            r.max.map_or_else(|| "…".to_owned(), |v| v.to_string())
        ),
    }
}

/// The filter values a viewer chose.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FilterChoices {
    /// Chosen values by filter id; each fits its filter's kind.
    pub chosen: BTreeMap<String, FilterValue>,
    /// Filters the viewer explicitly cleared ("All", "All time"): their default does not apply.
    pub cleared: BTreeSet<String>,
}

impl FilterChoices {
    /// The value in force for `filter`: the chosen one, else the default unless cleared.
    pub fn current<'a>(&'a self, filter: &'a Filter) -> Option<&'a FilterValue> {
        let id = filter.id.as_str();
        if let Some(v) = self.chosen.get(id) {
            return Some(v);
        }
        if self.cleared.contains(id) {
            return None;
        }
        filter.default.as_ref()
    }
}

/// The sort and page a viewer asked of one table widget.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableRequest {
    /// Sort by this output column; `None` keeps the query's order.
    pub sort: Option<TableSort>,
    /// The page, from 1.
    pub page: usize,
}

/// Everything the URL says about the view.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ViewState {
    /// Filter values.
    pub filters: FilterChoices,
    /// Table views by widget id.
    pub tables: BTreeMap<String, TableRequest>,
    /// The charts' theme.
    pub theme: Theme,
    /// Draw charts without hover tooltips (an outsider's `interactive=false`). Off by
    /// default: the owner's page always has them.
    pub no_tooltips: bool,
    /// Values the URL gave that Vitrine refuses, by filter id, each with a sentence for the
    /// viewer (`Dates must be between …`). Such a filter keeps its default; the filter bar
    /// shows the sentence as the control's note. Never part of [`view_query`].
    pub problems: BTreeMap<String, String>,
}

impl ViewState {
    /// The view of table widget `widget_id` (page 1, query order by default).
    pub fn table(&self, widget_id: &str) -> TableRequest {
        self.tables.get(widget_id).cloned().unwrap_or(TableRequest {
            sort: None,
            page: 1,
        })
    }
}

/// Reads the view from a raw query string (without the `?`). Never fails; see the module docs.
pub fn parse_view_query(dashboard: &Dashboard, query: &str) -> ViewState {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap_or_default();
    let mut params: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (k, v) in pairs.iter().take(MAX_PAIRS) {
        params.entry(k.as_str()).or_default().push(v.as_str());
    }
    let get = |key: &str| params.get(key).map(Vec::as_slice);
    let first = |key: &str| get(key).and_then(|v| v.first().copied());

    let mut state = ViewState {
        theme: match first("theme") {
            Some("dark") => Theme::Dark,
            _ => Theme::Light,
        },
        ..ViewState::default()
    };

    for filter in &dashboard.filters {
        let id = filter.id.as_str();
        let key = format!("f.{id}");
        let sub = |s: &str| first(&format!("{key}.{s}"));
        let parsed = match filter.kind {
            FilterKind::SingleSelect => get(&key).map(|vs| single(vs.first().copied())),
            FilterKind::MultiSelect => get(&key).map(multi),
            FilterKind::DateRange => date_range(first(&key), sub("from"), sub("to")),
            FilterKind::NumberRange => number_range(first(&key), sub("min"), sub("max")),
        };
        match parsed {
            Some(Parsed::Value(v)) => match v.validate(filter.kind) {
                Ok(()) => {
                    state.filters.chosen.insert(id.to_string(), v);
                }
                Err(error) => {
                    state.problems.insert(id.to_string(), sentence(&error));
                }
            },
            Some(Parsed::Cleared) => {
                state.filters.cleared.insert(id.to_string());
            }
            Some(Parsed::Refused(message)) => {
                state.problems.insert(id.to_string(), message.to_owned());
            }
            Some(Parsed::Ignored) | None => {}
        }
    }

    for widget in &dashboard.widgets {
        if widget.kind != WidgetKind::Table {
            continue;
        }
        let id = widget.id.as_str();
        let names = widget
            .query
            .as_ref()
            .map(|q| q.output_names())
            .unwrap_or_default();
        let sort = first(&format!("t.{id}.sort"))
            .filter(|s| names.iter().any(|n| n == s))
            .map(|column| TableSort {
                column: column.to_string(),
                descending: first(&format!("t.{id}.dir")) == Some("desc"),
            });
        let page = first(&format!("t.{id}.page"))
            .and_then(|p| p.parse::<usize>().ok())
            .filter(|p| (1..=1_000_000).contains(p));
        if sort.is_some() || page.is_some() {
            state.tables.insert(
                id.to_string(),
                TableRequest {
                    sort,
                    page: page.unwrap_or(1),
                },
            );
        }
    }
    state
}

/// The query string (without `?`) that [`parse_view_query`] reads back as `view`: per chosen
/// filter `f.<id>=value` (repeated for a multi select, `from..to` for a range with either end
/// empty when open, a preset's name), `f.<id>=` per cleared filter, a table's
/// `t.<widget>.sort`, `.dir=desc` and `.page`, and `theme=dark`. The spelling is the one the
/// page's script writes, so a link built here and one the page made look alike.
/// [`ViewState::problems`] and [`ViewState::no_tooltips`] are not part of a URL.
pub fn view_query(view: &ViewState) -> String {
    let mut pairs: Vec<(String, String)> = Vec::new();
    for (id, value) in &view.filters.chosen {
        let key = format!("f.{id}");
        match value {
            FilterValue::One(v) => pairs.push((key, v.to_string())),
            FilterValue::Many(vs) => pairs.extend(vs.iter().map(|v| (key.clone(), v.to_string()))),
            FilterValue::DateRange(DateRange::Relative { preset }) => {
                pairs.push((key, preset_name(*preset).to_owned()));
            }
            FilterValue::DateRange(DateRange::Absolute { from, to }) => {
                let end = |d: &Option<Date>| d.map(iso_date).unwrap_or_default();
                pairs.push((key, format!("{}..{}", end(from), end(to))));
            }
            FilterValue::NumberRange(r) => {
                let end = |x: Option<f64>| x.map(|x| x.to_string()).unwrap_or_default();
                pairs.push((key, format!("{}..{}", end(r.min), end(r.max))));
            }
        }
    }
    for id in &view.filters.cleared {
        if !view.filters.chosen.contains_key(id) {
            pairs.push((format!("f.{id}"), String::new()));
        }
    }
    for (id, table) in &view.tables {
        if let Some(sort) = &table.sort {
            pairs.push((format!("t.{id}.sort"), sort.column.clone()));
            if sort.descending {
                pairs.push((format!("t.{id}.dir"), "desc".to_owned()));
            }
        }
        // Page 1 is the default, but a table's entry with neither sort nor page would vanish.
        if table.page != 1 || table.sort.is_none() {
            pairs.push((format!("t.{id}.page"), table.page.to_string()));
        }
    }
    if view.theme == Theme::Dark {
        pairs.push(("theme".to_owned(), "dark".to_owned()));
    }
    serde_urlencoded::to_string(&pairs).unwrap_or_default()
}

/// `2026-11-23`, the form [`parse_date`] reads.
fn iso_date(d: Date) -> String {
    d.format(format_description!("[year]-[month]-[day]"))
        .unwrap_or_default()
}

/// What a parameter said about one filter.
enum Parsed {
    Value(FilterValue),
    Cleared,
    /// Readable but refused, with the reason for the viewer: keep the default and say why.
    Refused(&'static str),
    /// Unparseable: keep the default.
    Ignored,
}

/// A validation error as a sentence (capitalised, as core's own messages are).
fn sentence(error: &FilterValueError) -> String {
    let text = error.to_string();
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

/// Why a number was refused.
const NOT_FINITE_MESSAGE: &str = "Numbers must be finite.";

fn acceptable(v: &str) -> bool {
    !v.is_empty() && v.len() <= MAX_VALUE_LEN && !v.chars().any(char::is_control)
}

fn single(v: Option<&str>) -> Parsed {
    match v {
        None | Some("") => Parsed::Cleared,
        Some(v) if acceptable(v) => Parsed::Value(FilterValue::One(Scalar::Text(v.to_string()))),
        Some(_) => Parsed::Ignored,
    }
}

fn multi(vs: &[&str]) -> Parsed {
    let mut seen = BTreeSet::new();
    let values: Vec<Scalar> = vs
        .iter()
        .filter(|v| acceptable(v) && seen.insert(**v))
        .take(MAX_MULTI_VALUES)
        .map(|v| Scalar::Text((*v).to_string()))
        .collect();
    if values.is_empty() {
        if vs.iter().all(|v| v.is_empty()) {
            Parsed::Cleared
        } else {
            Parsed::Ignored
        }
    } else {
        Parsed::Value(FilterValue::Many(values))
    }
}

/// `2026-11-23`.
pub(crate) fn parse_date(s: &str) -> Option<Date> {
    Date::parse(s.trim(), format_description!("[year]-[month]-[day]")).ok()
}

/// Whether `s` is written like a date whose year no calendar Vitrine accepts has: a sign or
/// more than four digits (`10000-01-01`, `-0001-01-01`). Such a date is refused with
/// [`DATE_RANGE_MESSAGE`] rather than ignored as a typo.
fn beyond_the_calendar(s: &str) -> bool {
    let (signed, body) = match s.strip_prefix(['+', '-']) {
        Some(body) => (true, body),
        None => (false, s),
    };
    let mut parts = body.splitn(3, '-');
    let (Some(year), Some(month), Some(day)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let digits = |p: &str, n: std::ops::RangeInclusive<usize>| {
        n.contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit())
    };
    digits(year, 1..=40) && digits(month, 2..=2) && digits(day, 2..=2) && (signed || year.len() > 4)
}

/// One end of a range as typed.
enum End<T> {
    /// Empty: the range is open on this side.
    Open,
    /// A value.
    At(T),
    /// Readable but refused, with the reason.
    Refused(&'static str),
    /// Not a value at all.
    Bad,
}

fn date_end(s: Option<&str>) -> End<Date> {
    match s.map(str::trim) {
        None | Some("") => End::Open,
        Some(s) => match parse_date(s) {
            Some(d) => End::At(d),
            None if beyond_the_calendar(s) => End::Refused(DATE_RANGE_MESSAGE),
            None => End::Bad,
        },
    }
}

fn number_end(s: Option<&str>) -> End<f64> {
    match s.map(str::trim) {
        None | Some("") => End::Open,
        Some(s) => match s.parse::<f64>() {
            Ok(x) if x.is_finite() => End::At(x),
            Ok(_) => End::Refused(NOT_FINITE_MESSAGE),
            Err(_) => End::Bad,
        },
    }
}

/// A range from its two ends; `make` builds the value from the bounds.
fn range<T: PartialOrd>(
    low: End<T>,
    high: End<T>,
    make: impl FnOnce(Option<T>, Option<T>) -> FilterValue,
) -> Parsed {
    let end = |e: End<T>| match e {
        End::Open => Ok(None),
        End::At(v) => Ok(Some(v)),
        End::Refused(m) => Err(Some(m)),
        End::Bad => Err(None),
    };
    match (end(low), end(high)) {
        (Err(None), _) | (_, Err(None)) => Parsed::Ignored,
        (Err(Some(m)), _) | (_, Err(Some(m))) => Parsed::Refused(m),
        (Ok(None), Ok(None)) => Parsed::Cleared,
        (Ok(Some(a)), Ok(Some(b))) if a > b => Parsed::Ignored,
        (Ok(a), Ok(b)) => Parsed::Value(make(a, b)),
    }
}

fn date_range(main: Option<&str>, from: Option<&str>, to: Option<&str>) -> Option<Parsed> {
    let absolute = |from: Option<&str>, to: Option<&str>| {
        range(date_end(from), date_end(to), |from, to| {
            FilterValue::DateRange(DateRange::Absolute { from, to })
        })
    };
    match main.map(str::trim) {
        None if from.is_some() || to.is_some() => Some(absolute(from, to)),
        None => None,
        Some("") => Some(Parsed::Cleared),
        Some("custom") => Some(absolute(from, to)),
        Some(v) => Some(match v.split_once("..") {
            Some((f, t)) => absolute(Some(f), Some(t)),
            None => match preset_by_name(v) {
                Some(preset) => {
                    Parsed::Value(FilterValue::DateRange(DateRange::Relative { preset }))
                }
                None => Parsed::Ignored,
            },
        }),
    }
}

fn number_range(main: Option<&str>, min: Option<&str>, max: Option<&str>) -> Option<Parsed> {
    let (min, max) = match main.map(str::trim) {
        Some(v) if !v.is_empty() => match v.split_once("..") {
            Some((a, b)) => (Some(a), Some(b)),
            None => return Some(Parsed::Ignored),
        },
        Some(_) => (min.or(Some("")), max),
        None if min.is_none() && max.is_none() => return None,
        None => (min, max),
    };
    Some(range(number_end(min), number_end(max), |min, max| {
        FilterValue::NumberRange(NumberRange { min, max })
    }))
}

#[cfg(test)]
mod proptests;

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> Dashboard {
        Dashboard::from_yaml(
            r#"
version: 1
title: Sales
filters:
  - {id: region, label: Region, kind: single_select, columns: {orders: region}, default: EU}
  - {id: plan, label: Plan, kind: multi_select, columns: {orders: plan}}
  - {id: period, label: Period, kind: date_range, columns: {orders: day}, default: {preset: last_30_days}}
  - {id: amount, label: Amount, kind: number_range, columns: {orders: amount}}
widgets:
  - id: rows
    kind: table
    layout: {x: 0, y: 0, w: 12, h: 4}
    query: {dataset: orders, dimensions: [{column: region}], measures: [{agg: count}]}
"#,
        )
        .unwrap()
    }

    fn parse(q: &str) -> ViewState {
        parse_view_query(&doc(), q)
    }

    fn text(s: &str) -> Scalar {
        Scalar::Text(s.into())
    }

    #[test]
    fn every_preset_name_is_the_documents_own_spelling() {
        for (preset, name, _) in PRESETS {
            let json = serde_json::to_string(preset).unwrap();
            assert_eq!(json, format!("\"{name}\""));
        }
    }

    #[test]
    fn select_values_come_from_the_query_string_and_repeat_for_multi_selects() {
        let v = parse("f.region=US&f.plan=Pro&f.plan=Team&f.plan=Pro");
        assert_eq!(v.filters.chosen["region"], FilterValue::One(text("US")));
        assert_eq!(
            v.filters.chosen["plan"],
            FilterValue::Many(vec![text("Pro"), text("Team")])
        );
    }

    #[test]
    fn an_empty_value_clears_a_filter_and_its_default() {
        let v = parse("f.region=&f.period=&f.plan=");
        assert!(v.filters.chosen.is_empty());
        let cleared: Vec<&str> = v.filters.cleared.iter().map(String::as_str).collect();
        assert_eq!(cleared, ["period", "plan", "region"]);
        let region = doc().filters[0].clone();
        assert_eq!(v.filters.current(&region), None);
        assert_eq!(
            parse("").filters.current(&region),
            Some(&FilterValue::One(text("EU")))
        );
    }

    #[test]
    fn date_ranges_are_presets_or_from_to_with_open_ends() {
        let v = parse("f.period=year_to_date");
        assert_eq!(
            v.filters.chosen["period"],
            FilterValue::DateRange(DateRange::Relative {
                preset: RelativeDate::YearToDate
            })
        );
        let v = parse("f.period=2026-01-01..2026-03-31");
        assert_eq!(
            v.filters.chosen["period"],
            FilterValue::DateRange(DateRange::Absolute {
                from: parse_date("2026-01-01"),
                to: parse_date("2026-03-31")
            })
        );
        let v = parse("f.period=2026-01-01..");
        assert_eq!(
            v.filters.chosen["period"],
            FilterValue::DateRange(DateRange::Absolute {
                from: parse_date("2026-01-01"),
                to: None
            })
        );
        let v = parse("f.period=custom&f.period.from=&f.period.to=2026-02-01");
        assert_eq!(
            v.filters.chosen["period"],
            FilterValue::DateRange(DateRange::Absolute {
                from: None,
                to: parse_date("2026-02-01")
            })
        );
    }

    #[test]
    fn number_ranges_take_either_spelling() {
        let want = FilterValue::NumberRange(NumberRange {
            min: Some(10.0),
            max: None,
        });
        assert_eq!(parse("f.amount=10..").filters.chosen["amount"], want);
        assert_eq!(
            parse("f.amount.min=10&f.amount.max=").filters.chosen["amount"],
            want
        );
        assert!(
            parse("f.amount.min=&f.amount.max=")
                .filters
                .cleared
                .contains("amount")
        );
    }

    #[test]
    fn a_date_out_of_the_accepted_range_keeps_the_default_and_says_why() {
        for q in [
            "f.period=..9999-12-31",
            "f.period=-9999-01-01..-9999-01-01",
            "f.period=0999-12-31..",
            "f.period=10000-01-01..",
            "f.period=custom&f.period.from=&f.period.to=%2B12026-01-01",
            "f.period.from=0001-01-01",
        ] {
            let v = parse(q);
            assert!(v.filters.chosen.is_empty(), "{q}: {:?}", v.filters);
            assert!(v.filters.cleared.is_empty(), "{q}: {:?}", v.filters);
            assert_eq!(
                v.problems.get("period").map(String::as_str),
                Some(DATE_RANGE_MESSAGE),
                "{q}"
            );
            let period = doc().filters[2].clone();
            assert_eq!(v.filters.current(&period), period.default.as_ref(), "{q}");
        }
        let v = parse("f.period=1000-01-01..9998-12-31");
        assert!(v.problems.is_empty() && v.filters.chosen.contains_key("period"));
    }

    #[test]
    fn a_number_that_is_not_finite_keeps_the_default_and_says_why() {
        for q in ["f.amount=NaN..", "f.amount=..inf", "f.amount.min=1e999"] {
            let v = parse(q);
            assert!(v.filters.chosen.is_empty(), "{q}");
            assert_eq!(
                v.problems.get("amount").map(String::as_str),
                Some("Numbers must be finite."),
                "{q}"
            );
        }
    }

    #[test]
    fn a_view_writes_back_to_a_query_that_reads_the_same() {
        for q in [
            "",
            "f.region=US&f.plan=Pro&f.plan=Team",
            "f.region=&f.period=&f.plan=&f.amount=",
            "f.period=year_to_date&theme=dark",
            "f.period=2026-01-01..&f.amount=-1.5..1e21",
            "f.period=custom&f.period.from=&f.period.to=2026-02-01",
            "f.amount.min=0.1&f.region=a%26b%3Dc",
            "t.rows.sort=count&t.rows.dir=desc&t.rows.page=3",
            "t.rows.page=1",
            "t.rows.sort=count",
        ] {
            let v = parse(q);
            let written = view_query(&v);
            assert_eq!(parse(&written), v, "{q} → {written}");
        }
        assert_eq!(
            view_query(&parse(
                "f.amount.min=10&f.period=custom&f.period.from=2026-01-01"
            )),
            "f.amount=10..&f.period=2026-01-01.."
        );
    }

    #[test]
    fn bad_values_are_ignored_and_the_default_stays() {
        for q in [
            "f.period=next_century",
            "f.period=2026-13-01..",
            "f.period=2026-03-01..2026-01-01",
            "f.amount=ten..twenty",
            "f.amount=5..1",
            "f.nosuch=1",
            "f.region=%00",
            "%zz=%%",
        ] {
            let v = parse(q);
            assert!(v.filters.chosen.is_empty(), "{q}: {:?}", v.filters);
            assert!(v.filters.cleared.is_empty(), "{q}: {:?}", v.filters);
        }
        let long = "x".repeat(MAX_VALUE_LEN + 1);
        assert!(parse(&format!("f.region={long}")).filters.chosen.is_empty());
    }

    #[test]
    fn sql_in_a_value_is_just_text() {
        let v = parse("f.region=%27%3B+DROP+TABLE+t%3B+--");
        assert_eq!(
            v.filters.chosen["region"],
            FilterValue::One(text("'; DROP TABLE t; --"))
        );
    }

    #[test]
    fn table_views_accept_only_the_widgets_own_outputs() {
        let v = parse("t.rows.sort=count&t.rows.dir=desc&t.rows.page=3");
        assert_eq!(
            v.table("rows"),
            TableRequest {
                sort: Some(TableSort {
                    column: "count".into(),
                    descending: true
                }),
                page: 3
            }
        );
        let v = parse("t.rows.sort=password&t.rows.page=-1&t.other.page=2");
        assert_eq!(v.table("rows").sort, None);
        assert_eq!(v.table("rows").page, 1);
        assert!(!v.tables.contains_key("other"));
    }

    #[test]
    fn the_theme_is_light_unless_dark_is_asked_for() {
        assert_eq!(parse("").theme, Theme::Light);
        assert_eq!(parse("theme=dark").theme, Theme::Dark);
        assert_eq!(parse("theme=%3Cscript%3E").theme, Theme::Light);
    }
}
