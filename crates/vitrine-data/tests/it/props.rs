//! Property tests: clauses, locations and displays never panic; accepted clauses round-trip
//! through the renderer; generated clauses read as the rules they were built from; a display
//! never shows a password.

use proptest::prelude::*;
use vitrine_core::dashboard::{RowLevelRule, RuleOp, Scalar};
use vitrine_data::{
    DataSourceConfig, LocationPolicy, parse_location, parse_rule_clause, redacted_display,
    render_rule_clause,
};

/// 256 cases unless `PROPTEST_CASES` says otherwise.
fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    ProptestConfig::with_cases(cases)
}

/// Parses `clause`; accepted rules render to a clause that reads back as the same rules.
fn check_clause(clause: &str) -> Result<(), TestCaseError> {
    if let Ok(rules) = parse_rule_clause(clause) {
        prop_assert!(!rules.is_empty());
        let rendered = render_rule_clause(&rules);
        prop_assert_eq!(parse_rule_clause(&rendered), Ok(rules), "{}", rendered);
    }
    Ok(())
}

/// A column name: plain, or anything that needs quoting.
fn column() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec!["tenant_id", "region", "x", "_a1", "amount"])
            .prop_map(str::to_string),
        "[A-Za-z_][A-Za-z0-9_ \"`'.()-]{0,12}",
        any::<String>(),
    ]
}

/// How a column is written: bare when it can be, else quoted.
fn written_column(name: &str, backticks: bool) -> String {
    if backticks && !name.contains('`') {
        format!("`{name}`")
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

fn scalar() -> impl Strategy<Value = Scalar> {
    prop_oneof![
        any::<i64>().prop_map(Scalar::Int),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Scalar::Float),
        any::<bool>().prop_map(Scalar::Bool),
        any::<String>().prop_map(Scalar::Text),
        "20[0-9]{2}-[01][0-9]-[0-3][0-9]".prop_map(Scalar::Text),
    ]
}

fn written_scalar(v: &Scalar) -> String {
    match v {
        Scalar::Int(i) => i.to_string(),
        Scalar::Float(f) => format!("{f:?}"),
        Scalar::Bool(b) => if *b { "true" } else { "FALSE" }.to_string(),
        Scalar::Text(s) => format!("'{}'", s.replace('\'', "''")),
    }
}

/// One term: its text, and the rule it must read as (`None` when the rule itself is not
/// valid, such as a `between` with its ends reversed).
fn term() -> impl Strategy<Value = (String, Option<RowLevelRule>)> {
    let op = prop::sample::select(RuleOp::ALL.to_vec());
    (
        column(),
        any::<bool>(),
        op,
        proptest::collection::vec(scalar(), 1..4),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(col, backticks, op, values, value_first, parens)| {
            let c = written_column(&col, backticks);
            let (text, values) = match op {
                RuleOp::In | RuleOp::NotIn => {
                    let not = if op == RuleOp::NotIn { "not " } else { "" };
                    let list: Vec<String> = values.iter().map(written_scalar).collect();
                    (format!("{c} {not}in ({})", list.join(", ")), values)
                }
                RuleOp::Between => {
                    let (lo, hi) = (
                        values[0].clone(),
                        values.last().cloned().unwrap_or(Scalar::Int(0)),
                    );
                    (
                        format!(
                            "{c} BETWEEN {} AND {}",
                            written_scalar(&lo),
                            written_scalar(&hi)
                        ),
                        vec![lo, hi],
                    )
                }
                op => {
                    let sym = if op == RuleOp::Ne { "<>" } else { op.as_str() };
                    let v = written_scalar(&values[0]);
                    let text = match (value_first, op.flipped()) {
                        (true, Some(mirror)) => {
                            let sym = if mirror == RuleOp::Ne {
                                "!="
                            } else {
                                mirror.as_str()
                            };
                            format!("{v} {sym} {c}")
                        }
                        _ => format!("{c} {sym} {v}"),
                    };
                    (text, vec![values[0].clone()])
                }
            };
            let text = if parens { format!("({text})") } else { text };
            (text, RowLevelRule::new(col, op, values).ok())
        })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_text_as_a_clause_never_panics(text in any::<String>()) {
        check_clause(&text)?;
    }

    #[test]
    fn any_bytes_as_a_clause_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        check_clause(&String::from_utf8_lossy(&bytes))?;
    }

    #[test]
    fn sql_shaped_text_as_a_clause_never_panics(
        words in proptest::collection::vec(prop::sample::select(vec![
            "x", "\"y z\"", "`t`", "=", "<>", "!=", "<", ">=", "IN", "NOT", "BETWEEN", "AND", "OR",
            "(", ")", ",", "'a'", "'it''s'", "1", "-2", "1.5e3", "TRUE", "NULL", "LIKE", "IS",
            "SELECT", "FROM", "lower(", "CAST(", "::", "+", "*", ";", "--", "/*", "*/", "?",
            "$1", ":p", "#", "@v", "DATE", "'2026-01-01'", "E'x'", "N'x'", "x.y", "[1]",
        ]), 0..16),
    ) {
        check_clause(&words.join(" "))?;
    }

    #[test]
    fn a_generated_clause_reads_as_the_rules_it_was_built_from(
        terms in proptest::collection::vec(term(), 1..5),
        wrap in any::<bool>(),
    ) {
        let text = terms.iter().map(|(t, _)| t.as_str()).collect::<Vec<_>>().join(" AND ");
        let text = if wrap { format!("({text})") } else { text };
        let expected: Option<Vec<RowLevelRule>> = terms.iter().map(|(_, r)| r.clone()).collect();
        let has_comment = ["--", "/*", "*/"].iter().any(|m| text.contains(m));
        let result = parse_rule_clause(&text);
        match expected {
            Some(rules) if !has_comment => {
                prop_assert_eq!(result.as_ref(), Ok(&rules), "{}", text);
            }
            _ => prop_assert!(result.is_err(), "{} → {:?}", text, result),
        }
        check_clause(&text)?;
    }

    #[test]
    fn a_generated_clause_joined_by_or_is_refused(
        a in term(),
        b in term(),
    ) {
        let text = format!("{} OR {}", a.0, b.0);
        prop_assert!(parse_rule_clause(&text).is_err(), "{}", text);
    }

    #[test]
    fn any_server_location_is_checked_without_panicking(
        kind in prop::sample::select(vec!["postgres", "mysql", "mariadb", "sqlite ", "x"]),
        text in prop_oneof![
            any::<String>(),
            "(postgres|postgresql|mysql|mariadb)://[a-z%:@/?&=\\[\\].0-9-]{0,40}",
        ],
    ) {
        // SQLite is left out: with no roots it refuses before looking at the file system.
        let policy = LocationPolicy::default();
        if let Ok(config) = parse_location(kind, &text, &policy) {
            let _ = redacted_display(&config);
        }
    }

    #[test]
    fn a_display_never_contains_the_password(
        user in "[a-z]{1,8}",
        password in "[A-Z][A-Z0-9]{7,11}",
        host in "[a-z]{1,8}(\\.[a-z]{2,4})?",
        port in proptest::option::of(1u16..),
        db in "[a-z]{0,8}",
        params in proptest::collection::vec(
            prop::sample::select(vec![
                "sslmode", "application_name", "password", "PASSWORD", "sslpassword",
                "pass%77ord", "Password", "user", "charset", "ssl-password",
            ]),
            0..4,
        ),
        in_userinfo in any::<bool>(),
        scheme in prop::sample::select(vec!["postgres", "postgresql", "mysql"]),
    ) {
        let auth = if in_userinfo { format!("{user}:{password}@") } else { format!("{user}@") };
        let port = port.map(|p| format!(":{p}")).unwrap_or_default();
        let query: Vec<String> = params
            .iter()
            .map(|k| {
                // Every spelling of a password parameter carries the password.
                let secret = k.to_ascii_lowercase().contains("pass");
                format!("{k}={}", if secret { password.as_str() } else { "plain" })
            })
            .collect();
        let query = if query.is_empty() { String::new() } else { format!("?{}", query.join("&")) };
        let url = format!("{scheme}://{auth}{host}{port}/{db}{query}");
        for config in [DataSourceConfig::Postgres { url: url.clone() }, DataSourceConfig::MySql { url: url.clone() }] {
            let shown = redacted_display(&config);
            prop_assert!(!shown.contains(&password), "{} → {}", url, shown);
        }
    }
}
