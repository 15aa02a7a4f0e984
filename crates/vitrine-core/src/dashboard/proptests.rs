//! Property tests: any text fed to the document loaders and the rule deserialiser never makes
//! them panic, and whatever they accept survives a round trip unchanged.

use proptest::prelude::*;

use super::tests::SAMPLE;
use super::*;

/// 256 cases unless `PROPTEST_CASES` says otherwise.
fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    ProptestConfig::with_cases(cases)
}

/// Loads `text` as YAML and as JSON; an accepted document writes back to the same document
/// in both formats.
fn check_document(text: &str) -> Result<(), TestCaseError> {
    for d in [Dashboard::from_yaml(text), Dashboard::from_json(text)]
        .into_iter()
        .flatten()
    {
        let (yaml, json) = (d.to_yaml(), d.to_json());
        prop_assert_eq!(Dashboard::from_yaml(&yaml), Ok(d.clone()), "{}", yaml);
        prop_assert_eq!(Dashboard::from_json(&json), Ok(d), "{}", json);
    }
    Ok(())
}

/// Values that YAML reads in surprising ways, or that sit at the edges of our types.
fn awkward_value() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "",
            "~",
            "null",
            "true",
            "no",
            "yes",
            ".nan",
            "-.inf",
            ".inf",
            "1e400",
            "-1",
            "0x10",
            "0o7",
            "4294967295",
            "4294967296",
            "18446744073709551616",
            "-0",
            "1.5",
            "'x'",
            "\"x\"",
            "[1, 2]",
            "[]",
            "{}",
            "{a: 1}",
            "{preset: today}",
            "{from: 9999-12-31}",
            "{from: -9999-01-01, to: -9999-01-01}",
            "{from: 1000-01-01, to: 9998-12-31}",
            "{to: 2026-02-30}",
            "{min: .nan}",
            "{min: 1, max: 0}",
            "2026-11-23",
            "&a x",
            "*a",
            "!!binary aGk=",
            "|\n  x",
            ">-",
            "- a",
            "? x",
            "%TAG",
            "@x",
            "`x`",
            "#",
            "'unterminated",
            "\"\\u0000\"",
            "EU",
            "last_30_days",
            "kpi",
            "sum",
            "day",
        ])
        .prop_map(str::to_string),
        any::<String>(),
        "[ -~]{0,12}",
        any::<i64>().prop_map(|i| i.to_string()),
        any::<f64>().prop_map(|f| f.to_string()),
    ]
}

/// One change to a document: a value replaced, a line replaced, a key added or a line cut.
#[derive(Debug, Clone)]
enum Mutation {
    Value(usize, String),
    Line(usize, String),
    Key(usize, String, String),
    Cut(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => (any::<usize>(), awkward_value()).prop_map(|(i, v)| Mutation::Value(i, v)),
        1 => (any::<usize>(), awkward_value()).prop_map(|(i, v)| Mutation::Line(i, v)),
        1 => (any::<usize>(), "[a-z_]{1,12}", awkward_value()).prop_map(|(i, k, v)| Mutation::Key(i, k, v)),
        1 => any::<usize>().prop_map(Mutation::Cut),
    ]
}

fn apply(text: &str, mutations: &[Mutation]) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    for m in mutations {
        let n = lines.len().max(1);
        match m {
            Mutation::Value(i, v) => {
                if let Some(line) = lines.get_mut(i % n)
                    && let Some(colon) = line.find(": ")
                {
                    line.truncate(colon + 2);
                    line.push_str(v);
                }
            }
            Mutation::Line(i, v) => {
                if let Some(line) = lines.get_mut(i % n) {
                    *line = v.clone();
                }
            }
            Mutation::Key(i, k, v) => {
                let at = i % n;
                let indent: String = lines
                    .get(at)
                    .map(|l| l.chars().take_while(|c| *c == ' ').collect())
                    .unwrap_or_default();
                lines.insert(at, format!("{indent}{k}: {v}"));
            }
            Mutation::Cut(i) => {
                if !lines.is_empty() {
                    lines.remove(i % n);
                }
            }
        }
    }
    lines.join("\n")
}

fn rule_json() -> impl Strategy<Value = String> {
    let scalar = prop_oneof![
        any::<i64>().prop_map(|i| i.to_string()),
        any::<f64>().prop_map(|f| f.to_string()),
        any::<bool>().prop_map(|b| b.to_string()),
        any::<String>().prop_map(|s| serde_json::Value::String(s).to_string()),
        "20[0-9]{2}-[01][0-9]-[0-3][0-9]".prop_map(|s| format!("\"{s}\"")),
        Just("null".to_string()),
        Just("[]".to_string()),
        Just("{}".to_string()),
        Just("1e999".to_string()),
        Just("18446744073709551615".to_string()),
    ];
    let op = prop_oneof![
        prop::sample::select(vec![
            "=", "!=", "<>", "in", "not in", "<", "<=", ">", ">=", "between", "eq", "ne", "lt",
            "lte", "gt", "gte", "not_in", "like", "", "IN", "Between",
        ])
        .prop_map(str::to_string),
        any::<String>(),
    ];
    (
        proptest::option::of(prop_oneof!["[a-z0-9_-]{0,8}", any::<String>()]),
        prop_oneof!["[a-z_]{0,10}", any::<String>()],
        op,
        proptest::option::of(scalar.clone()),
        proptest::option::of(proptest::collection::vec(scalar, 0..5)),
        proptest::option::of("[a-z]{1,6}"),
    )
        .prop_map(|(dataset, column, op, value, values, extra)| {
            let mut fields = Vec::new();
            if let Some(d) = dataset {
                fields.push(format!("\"dataset\": {}", serde_json::Value::String(d)));
            }
            fields.push(format!("\"column\": {}", serde_json::Value::String(column)));
            fields.push(format!("\"op\": {}", serde_json::Value::String(op)));
            if let Some(v) = value {
                fields.push(format!("\"value\": {v}"));
            }
            if let Some(vs) = values {
                fields.push(format!("\"values\": [{}]", vs.join(", ")));
            }
            if let Some(k) = extra {
                fields.push(format!("\"{k}\": 1"));
            }
            format!("{{{}}}", fields.join(", "))
        })
}

/// Reads `text` as a rule; an accepted rule is a checked rule and round-trips through JSON
/// and YAML.
fn check_rule(text: &str) -> Result<(), TestCaseError> {
    if let Ok(rule) = serde_json::from_str::<RowLevelRule>(text) {
        prop_assert_eq!(rule.check(), Ok(()));
        let json = serde_json::to_string(&rule).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(
            serde_json::from_str::<RowLevelRule>(&json).ok(),
            Some(rule.clone()),
            "{}",
            json
        );
        let yaml =
            serde_yaml_ng::to_string(&rule).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(
            serde_yaml_ng::from_str::<RowLevelRule>(&yaml).ok(),
            Some(rule),
            "{}",
            yaml
        );
    }
    Ok(())
}

/// Any date `time` represents, often one at an edge.
fn date() -> impl Strategy<Value = time::Date> {
    use time::Date;
    prop_oneof![
        1 => prop::sample::select(vec![Date::MIN, Date::MAX, MIN_DATE, MAX_DATE]),
        1 => (MIN_DATE.to_julian_day() - 400..=MIN_DATE.to_julian_day() + 400)
            .prop_map(|j| Date::from_julian_day(j).unwrap_or(Date::MIN)),
        1 => (MAX_DATE.to_julian_day() - 400..=MAX_DATE.to_julian_day() + 400)
            .prop_map(|j| Date::from_julian_day(j).unwrap_or(Date::MAX)),
        2 => (Date::MIN.to_julian_day()..=Date::MAX.to_julian_day())
            .prop_map(|j| Date::from_julian_day(j).unwrap_or(Date::MIN)),
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_text_as_a_document_never_panics(text in any::<String>()) {
        check_document(&text)?;
    }

    #[test]
    fn any_bytes_as_a_document_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        check_document(&String::from_utf8_lossy(&bytes))?;
    }

    #[test]
    fn a_mutated_document_loads_or_is_refused_and_round_trips_when_loaded(
        mutations in proptest::collection::vec(mutation(), 1..4),
    ) {
        check_document(&apply(SAMPLE, &mutations))?;
    }

    #[test]
    fn a_document_with_any_filter_default_loads_or_is_refused(
        kind in prop::sample::select(vec!["single_select", "multi_select", "date_range", "number_range"]),
        default in awkward_value(),
    ) {
        let text = SAMPLE.replace(
            "    kind: multi_select\n    columns: {orders: region}\n    default: [EU, US]",
            &format!("    kind: {kind}\n    columns: {{orders: region}}\n    default: {default}"),
        );
        check_document(&text)?;
    }

    #[test]
    fn any_text_as_a_rule_never_panics(text in any::<String>()) {
        check_rule(&text)?;
    }

    #[test]
    fn rule_shaped_json_is_accepted_only_as_checked_rules_that_round_trip(text in rule_json()) {
        check_rule(&text)?;
    }

    #[test]
    fn any_date_range_on_any_day_resolves_or_is_refused_without_panicking(
        from in proptest::option::of(date()),
        to in proptest::option::of(date()),
        today in date(),
        preset in prop::sample::select(vec![
            RelativeDate::Today, RelativeDate::Yesterday, RelativeDate::Last7Days,
            RelativeDate::Last30Days, RelativeDate::Last90Days, RelativeDate::Last12Months,
            RelativeDate::ThisWeek, RelativeDate::LastWeek, RelativeDate::ThisMonth,
            RelativeDate::LastMonth, RelativeDate::ThisQuarter, RelativeDate::LastQuarter,
            RelativeDate::YearToDate, RelativeDate::LastYear,
        ]),
    ) {
        for range in [DateRange::Absolute { from, to }, DateRange::Relative { preset }] {
            let _ = range.resolve(today);
            if let Ok(r) = range.try_resolve(today) {
                prop_assert!(r.validate().is_ok());
            }
            if let Some(p) = range.previous_period(today) {
                prop_assert!(p.validate().is_ok());
            }
        }
    }
}
