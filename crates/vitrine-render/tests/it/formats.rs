//! Number formats.

use crate::helpers::usd;
use vitrine_core::result::NumberFormat;
use vitrine_render::format::{AxisFormat, format_compact, format_duration, format_value};

fn cur(code: &str) -> NumberFormat {
    NumberFormat::Currency {
        currency: code.into(),
    }
}

#[test]
fn numbers_get_thousands_separators() {
    let n = NumberFormat::Number;
    assert_eq!(format_value(0.0, &n), "0");
    assert_eq!(format_value(999.0, &n), "999");
    assert_eq!(format_value(1_000.0, &n), "1,000");
    assert_eq!(format_value(1_234_567.0, &n), "1,234,567");
    assert_eq!(format_value(1_234.567_8, &n), "1,235");
    assert_eq!(format_value(12.5, &n), "12.5");
    assert_eq!(format_value(2.345_67, &n), "2.35");
    assert_eq!(format_value(0.0123, &n), "0.0123");
}

#[test]
fn negative_numbers_keep_their_sign_but_never_show_minus_zero() {
    let n = NumberFormat::Number;
    assert_eq!(format_value(-1_234_567.0, &n), "-1,234,567");
    assert_eq!(format_value(-0.00001, &n), "0");
    assert_eq!(format_value(-12.5, &n), "-12.5");
    assert_eq!(format_value(-1_500.0, &usd()), "-$1,500.00");
    assert_eq!(format_compact(-1_500.0, &usd()), "-$1.5k");
    assert_eq!(format_compact(-4_500_000.0, &n), "-4.5M");
}

#[test]
fn currencies_use_symbols_or_codes() {
    assert_eq!(format_value(1_234.5, &usd()), "$1,234.50");
    assert_eq!(format_value(1_234.5, &cur("EUR")), "€1,234.50");
    assert_eq!(format_value(1_234.5, &cur("gbp")), "£1,234.50");
    assert_eq!(format_value(1_234.6, &cur("JPY")), "¥1,235");
    assert_eq!(format_value(1_234.5, &cur("CHF")), "CHF\u{a0}1,234.50");
    assert_eq!(format_value(0.5, &usd()), "$0.50");
}

#[test]
fn percentages_scale_ratios() {
    let p = NumberFormat::Percent;
    assert_eq!(format_value(0.25, &p), "25%");
    assert_eq!(format_value(0.1234, &p), "12.3%");
    assert_eq!(format_value(0.001234, &p), "0.12%");
    assert_eq!(format_value(-0.05, &p), "-5%");
    assert_eq!(format_compact(0.1234, &p), "12%");
    assert_eq!(format_compact(0.025, &p), "2.5%");
}

#[test]
fn durations_show_two_units() {
    assert_eq!(format_duration(0.0), "0s");
    assert_eq!(format_duration(0.35), "350ms");
    assert_eq!(format_duration(4.5), "4.5s");
    assert_eq!(format_duration(45.0), "45s");
    assert_eq!(format_duration(305.0), "5m 5s");
    assert_eq!(format_duration(3_725.0), "1h 2m");
    assert_eq!(format_duration(3_600.0), "1h");
    assert_eq!(
        format_duration(2.0 * 86_400.0 + 3.0 * 3_600.0 + 59.0),
        "2d 3h"
    );
    assert_eq!(format_duration(-90.0), "-1m 30s");
    assert_eq!(format_value(3_725.0, &NumberFormat::Duration), "1h 2m");
}

#[test]
fn compact_forms_for_axes_and_labels() {
    let n = NumberFormat::Number;
    assert_eq!(format_compact(950.0, &n), "950");
    assert_eq!(format_compact(12_345.0, &n), "12.3k");
    assert_eq!(format_compact(4_500_000.0, &n), "4.5M");
    assert_eq!(format_compact(2_000_000_000.0, &n), "2B");
    assert_eq!(format_compact(7.26, &n), "7.3");
    assert_eq!(format_compact(412_530.0, &usd()), "$412.5k");
    assert_eq!(format_compact(87.5, &usd()), "$87.50");
    assert_eq!(format_compact(87.0, &usd()), "$87");
}

#[test]
fn non_finite_numbers_show_a_dash() {
    for f in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        assert_eq!(format_value(f, &NumberFormat::Number), "—");
        assert_eq!(format_compact(f, &usd()), "—");
    }
}

#[test]
fn axis_labels_share_one_unit() {
    let n = NumberFormat::Number;
    let a = AxisFormat::new(&n, 2_500.0, 10_000.0);
    let labels: Vec<String> = [0.0, 2_500.0, 5_000.0, 7_500.0, 10_000.0]
        .iter()
        .map(|v| a.format(*v))
        .collect();
    assert_eq!(labels, ["0", "2.5k", "5k", "7.5k", "10k"]);
    let a = AxisFormat::new(&usd(), 200_000.0, 1_000_000.0);
    assert_eq!(a.format(800_000.0), "$0.8M");
    assert_eq!(a.format(0.0), "$0");
    assert_eq!(a.format(1_000_000.0), "$1M");
    let a = AxisFormat::new(&NumberFormat::Percent, 0.05, 0.2);
    assert_eq!(a.format(0.15), "15%");
    let a = AxisFormat::new(&NumberFormat::Percent, 0.005, 0.02);
    assert_eq!(a.format(0.015), "1.5%");
    let a = AxisFormat::new(&n, 0.2, 1.0);
    assert_eq!(a.format(0.6000000000000001), "0.6");
    let a = AxisFormat::new(&n, 50.0, 200.0);
    assert_eq!(a.format(-150.0), "-150");
}
