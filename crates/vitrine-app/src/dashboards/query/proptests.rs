//! Property tests of the view-query parser: any query string, and query strings built from
//! the real parameter shapes, never make [`parse_view_query`] panic; every value it chooses
//! fits its filter and validates; what it accepts reads back the same through
//! [`view_query`]; and every view the page can hold survives the trip through its URL.

use proptest::prelude::*;
use vitrine_core::dashboard::{MAX_DATE, MIN_DATE};

use super::*;

/// 256 cases unless `PROPTEST_CASES` says otherwise.
fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    ProptestConfig::with_cases(cases)
}

/// Every filter kind, twice for the selects (ids that prefix each other), a table with
/// several outputs and a chart.
const DOC: &str = r#"
version: 1
title: Sales
filters:
  - {id: region, label: Region, kind: single_select, columns: {orders: region}, default: EU}
  - {id: region-2, label: Region 2, kind: single_select, columns: {orders: region}}
  - {id: plan, label: Plan, kind: multi_select, columns: {orders: plan}}
  - {id: period, label: Period, kind: date_range, columns: {orders: day}, default: {preset: last_30_days}}
  - {id: amount, label: Amount, kind: number_range, columns: {orders: amount}}
widgets:
  - id: rows
    kind: table
    layout: {x: 0, y: 0, w: 12, h: 4}
    query: {dataset: orders, dimensions: [{column: region}, {column: plan}], measures: [{agg: count}, {agg: sum, column: amount, name: revenue}]}
  - id: chart
    kind: bar
    layout: {x: 0, y: 4, w: 12, h: 4}
    query: {dataset: orders, dimensions: [{column: region}], measures: [{agg: count}]}
"#;

fn doc() -> Dashboard {
    Dashboard::from_yaml(DOC).expect("the test document loads")
}

const FILTERS: [&str; 5] = ["region", "region-2", "plan", "period", "amount"];
const OUTPUTS: [&str; 4] = ["region", "plan", "count", "revenue"];

/// What must hold of any parsed view: values fit and validate, a filter is in one state at
/// most, tables are only the table widget's, with its own outputs and a sane page; and the
/// view reads back the same through [`view_query`].
fn check(doc: &Dashboard, query: &str) -> Result<ViewState, TestCaseError> {
    let view = parse_view_query(doc, query);
    for (id, value) in &view.filters.chosen {
        let filter = doc.filter(id);
        prop_assert!(filter.is_some(), "chosen {} is no filter", id);
        let kind = filter.map(|f| f.kind).unwrap_or(FilterKind::SingleSelect);
        prop_assert_eq!(value.validate(kind), Ok(()), "{}: {:?}", id, value);
        prop_assert!(
            !view.filters.cleared.contains(id),
            "{} chosen and cleared",
            id
        );
        prop_assert!(!view.problems.contains_key(id), "{} chosen and refused", id);
    }
    for id in view.filters.cleared.iter().chain(view.problems.keys()) {
        prop_assert!(doc.filter(id).is_some(), "{} is no filter", id);
    }
    for message in view.problems.values() {
        prop_assert!(
            message == DATE_RANGE_MESSAGE || message == NOT_FINITE_MESSAGE,
            "{}",
            message
        );
    }
    for (id, table) in &view.tables {
        prop_assert_eq!(id.as_str(), "rows");
        prop_assert!((1..=1_000_000).contains(&table.page));
        if let Some(sort) = &table.sort {
            prop_assert!(OUTPUTS.contains(&sort.column.as_str()), "{:?}", sort);
        }
    }
    let written = view_query(&view);
    let again = parse_view_query(doc, &written);
    let expected = ViewState {
        problems: BTreeMap::new(),
        ..view.clone()
    };
    prop_assert_eq!(again, expected, "{} → {}", query, written);
    Ok(view)
}

/// A date as someone might type it: in range, at the edges, past them, signed, long or
/// broken.
fn date_text() -> impl Strategy<Value = String> {
    let julian = MIN_DATE.to_julian_day() - 800..=MAX_DATE.to_julian_day() + 800;
    prop_oneof![
        3 => julian.prop_map(|j| Date::from_julian_day(j).map(iso_date).unwrap_or_default()),
        1 => (Date::MIN.to_julian_day()..=Date::MAX.to_julian_day())
            .prop_map(|j| Date::from_julian_day(j).map(iso_date).unwrap_or_default()),
        1 => ("[+-]?[0-9]{1,7}", 0u8..14, 0u8..33)
            .prop_map(|(y, m, d)| format!("{y}-{m:02}-{d:02}")),
        1 => prop::sample::select(vec![
            "9999-12-31", "-9999-01-01", "0999-12-31", "10000-01-01", "+2026-01-01",
            "2026-02-30", "2026-1-1", "20260101", "", " ", "today", "..",
        ])
        .prop_map(str::to_owned),
        1 => "[0-9.+-]{0,12}",
    ]
}

/// A number as someone might type it.
fn number_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<f64>().prop_map(|x| x.to_string()),
        any::<i64>().prop_map(|i| i.to_string()),
        prop::sample::select(vec![
            "NaN", "inf", "-inf", "1e999", "-0", "0.1", "1e21", "", " 5 ", "1..2", "ten",
        ])
        .prop_map(str::to_owned),
        "[0-9eE.+-]{0,10}",
    ]
}

/// The value of a filter parameter, in any of the shapes the page writes, and others.
fn filter_value() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => (date_text(), date_text()).prop_map(|(a, b)| format!("{a}..{b}")),
        1 => (number_text(), number_text()).prop_map(|(a, b)| format!("{a}..{b}")),
        1 => prop::sample::select(
            PRESETS.iter().map(|(_, name, _)| *name).chain(["custom", "", "EU", "all"]).collect::<Vec<_>>()
        ).prop_map(str::to_owned),
        1 => date_text(),
        1 => number_text(),
        1 => any::<String>(),
        1 => "[ -~]{0,12}",
        1 => "[a-z]{501}",
    ]
}

/// One `key=value` pair shaped like the page's parameters (`f.<id>`, `f.<id>.from`, `.min`,
/// `t.<w>.sort`, `theme` …), sometimes with a key or value from anywhere.
fn pair() -> impl Strategy<Value = (String, String)> {
    let filter = prop::sample::select(FILTERS.to_vec());
    let suffix = prop::sample::select(vec!["", "", "", ".from", ".to", ".min", ".max", ".x"]);
    let table_part = prop::sample::select(vec!["sort", "dir", "page"]);
    let table_value = prop_oneof![
        prop::sample::select(
            OUTPUTS
                .iter()
                .copied()
                .chain(["desc", "asc", "DESC", "password"])
                .collect::<Vec<_>>()
        )
        .prop_map(str::to_owned),
        any::<i64>().prop_map(|i| i.to_string()),
        Just("1000001".to_owned()),
        any::<String>(),
    ];
    prop_oneof![
        6 => (filter, suffix, filter_value()).prop_map(|(f, s, v)| (format!("f.{f}{s}"), v)),
        2 => (prop::sample::select(vec!["rows", "chart", "nope"]), table_part, table_value)
            .prop_map(|(w, p, v)| (format!("t.{w}.{p}"), v)),
        1 => prop::sample::select(vec!["dark", "light", "system", "<script>"])
            .prop_map(|t| ("theme".to_owned(), t.to_owned())),
        1 => (any::<String>(), any::<String>()),
    ]
}

/// A query string of such pairs, properly encoded.
fn query() -> impl Strategy<Value = String> {
    proptest::collection::vec(pair(), 0..12)
        .prop_map(|pairs| serde_urlencoded::to_string(&pairs).unwrap_or_default())
}

/// Text a select accepts: non-empty, without control characters, at most 500 bytes.
fn select_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[^\\p{Cc}]{1,20}",
        "[a-zA-Z ]{1,8}",
        Just("'; DROP TABLE t; --".to_owned()),
        Just("a&b=c+d%20".to_owned()),
    ]
}

fn accepted_date() -> impl Strategy<Value = Date> {
    (MIN_DATE.to_julian_day()..=MAX_DATE.to_julian_day())
        .prop_map(|j| Date::from_julian_day(j).unwrap_or(MIN_DATE))
}

/// A bound of a number range: any finite number.
fn finite() -> impl Strategy<Value = f64> {
    any::<f64>().prop_filter("finite", |x| x.is_finite())
}

/// Two optional bounds, each from `one()`, in order, not both open.
fn bounds<T: PartialOrd + Clone + std::fmt::Debug, S: Strategy<Value = T>>(
    one: impl Fn() -> S,
) -> impl Strategy<Value = (Option<T>, Option<T>)> {
    (proptest::option::of(one()), proptest::option::of(one()))
        .prop_filter("one end at least", |(a, b)| a.is_some() || b.is_some())
        .prop_map(|(a, b)| match (a, b) {
            (Some(a), Some(b)) if a > b => (Some(b), Some(a)),
            other => other,
        })
}

/// A view the page can hold: any choice or clearing for each filter, a table view, a theme.
fn view() -> impl Strategy<Value = ViewState> {
    #[derive(Debug, Clone)]
    enum Choice {
        Default,
        Cleared,
        Value(FilterValue),
    }
    let choice = |value: BoxedStrategy<FilterValue>| {
        prop_oneof![
            1 => Just(Choice::Default),
            1 => Just(Choice::Cleared),
            3 => value.prop_map(Choice::Value),
        ]
    };
    let single = select_text()
        .prop_map(|t| FilterValue::One(Scalar::Text(t)))
        .boxed();
    let multi = proptest::collection::btree_set(select_text(), 1..6)
        .prop_map(|set| FilterValue::Many(set.into_iter().map(Scalar::Text).collect()))
        .boxed();
    let period = prop_oneof![
        prop::sample::select(PRESETS.iter().map(|(p, _, _)| *p).collect::<Vec<_>>())
            .prop_map(|preset| FilterValue::DateRange(DateRange::Relative { preset })),
        bounds(accepted_date)
            .prop_map(|(from, to)| FilterValue::DateRange(DateRange::Absolute { from, to })),
    ]
    .boxed();
    let amount = bounds(finite)
        .prop_map(|(min, max)| FilterValue::NumberRange(NumberRange { min, max }))
        .boxed();
    let table = proptest::option::of((
        proptest::option::of((prop::sample::select(OUTPUTS.to_vec()), any::<bool>())),
        1usize..=1_000_000,
    ));
    (
        [
            choice(single.clone()),
            choice(single),
            choice(multi),
            choice(period),
            choice(amount),
        ],
        table,
        any::<bool>(),
    )
        .prop_map(|(choices, table, dark)| {
            let mut view = ViewState {
                theme: if dark { Theme::Dark } else { Theme::Light },
                ..ViewState::default()
            };
            for (id, choice) in FILTERS.iter().zip(choices) {
                match choice {
                    Choice::Default => {}
                    Choice::Cleared => {
                        view.filters.cleared.insert((*id).to_owned());
                    }
                    Choice::Value(v) => {
                        view.filters.chosen.insert((*id).to_owned(), v);
                    }
                }
            }
            if let Some((sort, page)) = table {
                let sort = sort.map(|(column, descending)| TableSort {
                    column: column.to_owned(),
                    descending,
                });
                view.tables
                    .insert("rows".to_owned(), TableRequest { sort, page });
            }
            view
        })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_text_as_a_view_query_never_panics_and_reads_back(text in any::<String>()) {
        check(&doc(), &text)?;
    }

    #[test]
    fn any_bytes_as_a_view_query_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        check(&doc(), &String::from_utf8_lossy(&bytes))?;
    }

    #[test]
    fn queries_in_the_pages_own_shapes_choose_only_valid_values_and_read_back(q in query()) {
        check(&doc(), &q)?;
    }

    #[test]
    fn a_refused_value_keeps_the_filter_at_its_default(
        (id, value) in prop_oneof![
            (Just("period"), (date_text(), date_text()).prop_map(|(a, b)| format!("{a}..{b}"))),
            (Just("amount"), (number_text(), number_text()).prop_map(|(a, b)| format!("{a}..{b}"))),
        ],
    ) {
        let q = serde_urlencoded::to_string([(format!("f.{id}"), value)]).unwrap_or_default();
        let view = check(&doc(), &q)?;
        if view.problems.contains_key(id) {
            let doc = doc();
            let filter = doc.filter(id).unwrap();
            prop_assert_eq!(view.filters.current(filter), filter.default.as_ref());
        }
    }

    #[test]
    fn every_view_the_page_can_hold_survives_its_url(view in view()) {
        let written = view_query(&view);
        prop_assert_eq!(parse_view_query(&doc(), &written), view, "{}", written);
    }
}
