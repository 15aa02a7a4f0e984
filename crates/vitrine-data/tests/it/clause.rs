//! Superset-style RLS clauses → structured rules, and everything that is refused.

use vitrine_core::dashboard::{RowLevelRule, RuleOp, Scalar};
use vitrine_core::result::{Column, ColumnType};
use vitrine_data::{check_rule_columns, parse_rule_clause, render_rule_clause};

fn rule(column: &str, op: RuleOp, values: Vec<Scalar>) -> RowLevelRule {
    RowLevelRule::new(column, op, values).unwrap()
}

fn parse(clause: &str) -> Vec<RowLevelRule> {
    match parse_rule_clause(clause) {
        Ok(rules) => rules,
        Err(e) => panic!("{clause:?}: {e}"),
    }
}

/// The refusal message for `clause`, which must mention every one of `needles`.
fn refused(clause: &str, needles: &[&str]) {
    match parse_rule_clause(clause) {
        Ok(rules) => panic!("{clause:?} was accepted as {rules:?}"),
        Err(e) => {
            for n in needles {
                assert!(
                    e.message().to_lowercase().contains(&n.to_lowercase()),
                    "{clause:?}: `{e}` does not mention {n:?}"
                );
            }
        }
    }
}

#[test]
fn an_equality_with_a_quoted_value_is_one_rule() {
    assert_eq!(
        parse("tenant_id = '42'"),
        [rule("tenant_id", RuleOp::Eq, vec!["42".into()])]
    );
}

#[test]
fn an_in_list_and_an_equality_joined_by_and_are_two_rules() {
    assert_eq!(
        parse("region IN ('EMEA','APAC') AND plan = 'pro'"),
        [
            rule("region", RuleOp::In, vec!["EMEA".into(), "APAC".into()]),
            rule("plan", RuleOp::Eq, vec!["pro".into()]),
        ]
    );
}

#[test]
fn every_comparison_operator_is_read() {
    for (clause, op, value) in [
        ("amount >= 10", RuleOp::Gte, Scalar::Int(10)),
        ("amount > 10.5", RuleOp::Gt, Scalar::Float(10.5)),
        ("amount <= -3", RuleOp::Lte, Scalar::Int(-3)),
        ("amount < -0.25", RuleOp::Lt, Scalar::Float(-0.25)),
        ("amount < 1e3", RuleOp::Lt, Scalar::Float(1000.0)),
        ("x <> 'a'", RuleOp::Ne, "a".into()),
        ("x != 'a'", RuleOp::Ne, "a".into()),
        ("active = TRUE", RuleOp::Eq, Scalar::Bool(true)),
        ("active = false", RuleOp::Eq, Scalar::Bool(false)),
    ] {
        let column = clause.split(' ').next().unwrap();
        assert_eq!(parse(clause), [rule(column, op, vec![value])], "{clause}");
    }
}

#[test]
fn between_and_not_in_are_read() {
    assert_eq!(
        parse("x BETWEEN 1 AND 5"),
        [rule(
            "x",
            RuleOp::Between,
            vec![Scalar::Int(1), Scalar::Int(5)]
        )]
    );
    assert_eq!(
        parse("x NOT IN (1,2)"),
        [rule(
            "x",
            RuleOp::NotIn,
            vec![Scalar::Int(1), Scalar::Int(2)]
        )]
    );
    assert_eq!(
        parse("day between '2026-01-01' and '2026-03-31' and x not in ('a')"),
        [
            rule(
                "day",
                RuleOp::Between,
                vec!["2026-01-01".into(), "2026-03-31".into()]
            ),
            rule("x", RuleOp::NotIn, vec!["a".into()]),
        ]
    );
    refused("x BETWEEN 5 AND 1", &["low value first"]);
}

#[test]
fn a_value_written_first_flips_the_operator() {
    assert_eq!(
        parse("'42' = tenant_id"),
        [rule("tenant_id", RuleOp::Eq, vec!["42".into()])]
    );
    assert_eq!(
        parse("5 < x AND 10 >= y AND 'a' <> z"),
        [
            rule("x", RuleOp::Gt, vec![Scalar::Int(5)]),
            rule("y", RuleOp::Lte, vec![Scalar::Int(10)]),
            rule("z", RuleOp::Ne, vec!["a".into()]),
        ]
    );
}

#[test]
fn parentheses_around_the_clause_or_a_term_are_fine() {
    let want = [
        rule("a", RuleOp::Eq, vec![Scalar::Int(1)]),
        rule("b", RuleOp::Eq, vec![Scalar::Int(2)]),
        rule("c", RuleOp::Eq, vec![Scalar::Int(3)]),
    ];
    for clause in [
        "a = 1 AND b = 2 AND c = 3",
        "(a = 1 AND b = 2 AND c = 3)",
        "((a = 1) AND (b = 2)) AND c = 3",
        "a = 1 AND (b = 2 AND (c = 3))",
        "  a=1\n\tAND b=2 AND c=3  ",
        "(a) = (1) AND b = 2 AND c = 3",
    ] {
        assert_eq!(parse(clause), want, "{clause}");
    }
}

#[test]
fn quoted_identifiers_and_doubled_quotes_are_read() {
    assert_eq!(
        parse("\"Tenant Id\" = 'O''Brien'"),
        [rule("Tenant Id", RuleOp::Eq, vec!["O'Brien".into()])]
    );
    assert_eq!(
        parse("`tenant` IN (1)"),
        [rule("tenant", RuleOp::In, vec![Scalar::Int(1)])]
    );
    assert_eq!(
        parse("\"we\"\"ird\" = 1"),
        [rule("we\"ird", RuleOp::Eq, vec![Scalar::Int(1)])]
    );
}

#[test]
fn or_is_refused_even_where_it_looks_harmless() {
    refused("1=1 OR tenant_id = 1", &["OR"]);
    refused("tenant_id = 1 OR tenant_id = 2", &["OR"]);
    refused("a = 1 AND (b = 2 OR c = 3)", &["OR", "b = 2 OR c = 3"]);
}

#[test]
fn subqueries_are_refused() {
    refused(
        "tenant_id IN (SELECT id FROM tenants WHERE owner = 'me')",
        &["subquer"],
    );
    refused("tenant_id = (SELECT 1)", &["subquer"]);
    refused("EXISTS (SELECT 1)", &["subquer"]);
}

#[test]
fn functions_casts_and_typed_literals_are_refused() {
    refused("lower(x) = 'a'", &["function", "lower(x)"]);
    refused("x = lower('A')", &["function"]);
    refused("x = CAST('1' AS INT)", &["cast"]);
    refused("x = '1'::int", &["cast"]);
    refused("day >= DATE '2026-01-01'", &["typed"]);
    refused("x = current_user", &[]);
}

#[test]
fn comparing_two_columns_or_two_values_is_refused() {
    refused("x = y", &["two columns", "`x`", "`y`"]);
    refused("1 = 1", &["two values"]);
    refused("x = \"abc\"", &["two columns"]);
}

#[test]
fn arithmetic_is_refused() {
    refused("x + 1 = 5", &["arithmetic", "x + 1"]);
    refused("x = 2 * 3", &["arithmetic"]);
    refused("x = - -1", &["arithmetic"]);
    refused("x = -y", &["arithmetic"]);
    refused("x = 'a' || 'b'", &["arithmetic"]);
}

#[test]
fn not_other_than_not_in_is_refused() {
    refused("NOT x = 1", &["NOT"]);
    refused("NOT (x = 1 AND y = 2)", &["NOT"]);
    refused("x NOT BETWEEN 1 AND 2", &["NOT BETWEEN"]);
}

#[test]
fn like_and_null_tests_are_refused() {
    refused("x LIKE 'a%'", &["LIKE"]);
    refused("x NOT LIKE 'a%'", &["LIKE"]);
    refused("x ILIKE 'a%'", &["LIKE"]);
    refused("x IS NULL", &["IS NULL"]);
    refused("x IS NOT NULL", &["IS"]);
    refused("x = NULL", &["NULL"]);
    refused("x IN (1, NULL)", &["NULL"]);
}

#[test]
fn comments_are_refused_even_inside_quotes() {
    refused("x = 1 -- comment", &["comment"]);
    refused("x = 1 /* comment */", &["comment"]);
    refused("x = 1 /* unterminated", &["comment"]);
    refused("x = '--'", &["comment"]);
    refused("x = 1 */", &["comment"]);
}

#[test]
fn semicolons_and_further_statements_are_refused() {
    refused("x = 1; DROP TABLE t", &["semicolon"]);
    refused("x = 1;", &["semicolon"]);
    refused("x = 1 y = 2", &["unexpected"]);
}

#[test]
fn placeholders_are_refused() {
    refused("x = ?", &["placeholder"]);
    refused("x = $1", &["placeholder"]);
    refused("x = :tenant", &[]);
}

#[test]
fn an_empty_or_blank_clause_is_refused() {
    refused("", &["empty"]);
    refused("   \n\t", &["empty"]);
    refused("()", &[]);
}

#[test]
fn other_shapes_are_refused_with_the_part_named() {
    refused("x", &["column alone"]);
    refused("42", &["value alone"]);
    refused("t.x = 1", &["qualified"]);
    refused("x = 1 AND", &["parse"]);
    refused("x = 'unterminated", &["parse"]);
    refused("x IN ()", &[]);
    refused("CASE WHEN x = 1 THEN 1 END = 1", &[]);
    refused("x = 99999999999999999999", &["too large"]);
    refused("x = N'abc'", &["plain value"]);
    refused("x = E'abc'", &["plain value"]);
    refused("x = 10L", &["plain value"]);
    refused("x = $$abc$$", &["plain value"]);
    refused("'a' = 'a' AND x = 1", &["two values"]);
    refused("x = (1, 2)", &[]);
    refused("x > ALL (SELECT 1)", &[]);
}

#[test]
fn in_lists_are_limited_like_rules() {
    let values: Vec<String> = (0..1001).map(|i| i.to_string()).collect();
    refused(&format!("x IN ({})", values.join(",")), &["1000"]);
    let values = &values[..1000];
    assert_eq!(
        parse(&format!("x IN ({})", values.join(",")))[0]
            .values
            .len(),
        1000
    );
}

#[test]
fn extreme_numbers_are_exact_or_refused() {
    assert_eq!(
        parse("x = -9223372036854775808"),
        [rule("x", RuleOp::Eq, vec![Scalar::Int(i64::MIN)])]
    );
    assert_eq!(
        parse("x = 9223372036854775807"),
        [rule("x", RuleOp::Eq, vec![Scalar::Int(i64::MAX)])]
    );
    refused("x = 9223372036854775808", &["too large"]);
    refused("x = 1e999", &["number"]);
}

#[test]
fn rendered_rules_read_back_as_the_same_rules() {
    let rules = vec![
        rule("tenant_id", RuleOp::Eq, vec!["42".into()]),
        rule("Region", RuleOp::In, vec!["EMEA".into(), "O'Brien".into()]),
        rule(
            "select",
            RuleOp::NotIn,
            vec![Scalar::Int(1), Scalar::Int(-2)],
        ),
        rule(
            "amount",
            RuleOp::Between,
            vec![Scalar::Float(-1.5), Scalar::Float(1e20)],
        ),
        rule("we\"ird name", RuleOp::Ne, vec![Scalar::Bool(true)]),
        rule("a", RuleOp::Lt, vec![Scalar::Int(i64::MIN)]),
        rule("b", RuleOp::Lte, vec![Scalar::Float(1.0)]),
        rule("c", RuleOp::Gt, vec![Scalar::Float(0.1)]),
        rule("d", RuleOp::Gte, vec!["".into()]),
    ];
    let clause = render_rule_clause(&rules);
    assert!(
        clause.starts_with("tenant_id = '42' AND \"Region\" IN ('EMEA', 'O''Brien')"),
        "{clause}"
    );
    assert_eq!(parse(&clause), rules, "{clause}");
    assert_eq!(render_rule_clause(&[]), "");
}

fn columns() -> Vec<Column> {
    let col = |name: &str, kind| Column {
        name: name.into(),
        kind,
    };
    vec![
        col("tenant_id", ColumnType::Integer),
        col("region", ColumnType::Text),
        col("amount", ColumnType::Number),
        col("ordered_at", ColumnType::Timestamp),
        col("active", ColumnType::Boolean),
    ]
}

#[test]
fn rules_over_the_datasets_columns_pass_the_column_check() {
    let rules = parse(
        "tenant_id = '42' AND region IN ('EU') AND amount BETWEEN 1 AND 2.5 \
         AND ordered_at >= '2026-01-01' AND active = TRUE",
    );
    assert_eq!(check_rule_columns(&rules, &columns()), Ok(()));
}

#[test]
fn the_column_check_names_an_unknown_column_and_a_near_miss() {
    let e = check_rule_columns(&parse("tenant = 1"), &columns()).unwrap_err();
    assert!(e.contains("unknown column `tenant`"), "{e}");
    assert!(e.contains("`tenant_id`"), "{e}");
    let e = check_rule_columns(&parse("Region = 'EU'"), &columns()).unwrap_err();
    assert!(e.contains("did you mean `region`?"), "{e}");
}

#[test]
fn the_column_check_names_a_value_that_cannot_be_of_the_columns_type() {
    for (clause, needle) in [
        ("tenant_id = 'abc'", "whole numbers"),
        ("amount > 'lots'", "numbers"),
        ("ordered_at >= '2026-01-01 10:00'", "timestamps"),
        ("active = 'yes'", "true / false"),
    ] {
        let e = check_rule_columns(&parse(clause), &columns()).unwrap_err();
        assert!(e.contains(needle), "{clause}: {e}");
    }
}
