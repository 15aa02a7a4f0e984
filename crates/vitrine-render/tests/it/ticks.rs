//! Nice ticks.

use vitrine_render::ticks::{nice_step, nice_ticks};

#[test]
fn steps_are_one_two_or_five_times_a_power_of_ten() {
    assert_eq!(nice_step(0.7), 0.5);
    assert_eq!(nice_step(1.3), 1.0);
    assert_eq!(nice_step(1.5), 2.0);
    assert_eq!(nice_step(3.0), 2.0);
    assert_eq!(nice_step(4.0), 5.0);
    assert_eq!(nice_step(7.5), 10.0);
    assert_eq!(nice_step(250.0), 200.0);
    assert!((nice_step(0.013) - 0.01).abs() < 1e-12);
    for raw in [0.0003, 0.9, 17.0, 4_321.0, 9.9e8] {
        let s = nice_step(raw);
        let m = s / 10f64.powf(s.log10().floor());
        assert!(
            [1.0, 2.0, 5.0].iter().any(|n| (m - n).abs() < 1e-9),
            "{raw} gave {s}"
        );
        assert!(s >= raw / 2.0 && s <= raw * 2.0);
    }
}

#[test]
fn ticks_cover_the_data_with_round_values() {
    let t = nice_ticks(0.0, 412_530.0, 5);
    assert_eq!(t.min, 0.0);
    assert_eq!(t.step, 100_000.0);
    assert_eq!(t.max, 500_000.0);
    assert_eq!(
        t.values,
        vec![0.0, 100_000.0, 200_000.0, 300_000.0, 400_000.0, 500_000.0]
    );
    let t = nice_ticks(13.0, 87.0, 4);
    assert_eq!(t.values, vec![0.0, 20.0, 40.0, 60.0, 80.0, 100.0]);
}

#[test]
fn a_zero_baseline_stays_at_zero() {
    let t = nice_ticks(0.0, 0.37, 5);
    assert_eq!(t.min, 0.0);
    assert_eq!(t.values[0], 0.0);
    assert!(t.max >= 0.37);
    // Values print cleanly (no 0.30000000000000004).
    assert!(
        t.values.iter().all(|v| format!("{v}").len() <= 4),
        "{:?}",
        t.values
    );
}

#[test]
fn a_single_value_is_shown_from_zero() {
    let t = nice_ticks(42.0, 42.0, 5);
    assert_eq!(t.min, 0.0);
    assert!(t.max >= 42.0);
    let t = nice_ticks(0.0, 0.0, 5);
    assert_eq!((t.min, t.max), (0.0, 1.0));
    let t = nice_ticks(-7.0, -7.0, 5);
    assert_eq!(t.max, 0.0);
    assert!(t.min <= -7.0);
}

#[test]
fn all_equal_values_still_give_several_ticks() {
    let t = nice_ticks(100.0, 100.0, 4);
    assert!(t.values.len() >= 3, "{:?}", t.values);
    assert!(t.values.windows(2).all(|w| w[1] > w[0]));
}

#[test]
fn negative_ranges() {
    let t = nice_ticks(-52.0, -11.0, 4);
    assert_eq!(t.values, vec![-60.0, -50.0, -40.0, -30.0, -20.0, -10.0]);
    let t = nice_ticks(-52.0, -11.0, 8);
    assert_eq!(
        t.values,
        vec![
            -55.0, -50.0, -45.0, -40.0, -35.0, -30.0, -25.0, -20.0, -15.0, -10.0
        ]
    );
    let t = nice_ticks(-1_250.0, 3_400.0, 5);
    assert!(t.values.contains(&0.0));
    assert!(t.min <= -1_250.0 && t.max >= 3_400.0);
}

#[test]
fn non_finite_input_gives_a_unit_axis() {
    let t = nice_ticks(f64::NAN, 5.0, 5);
    assert_eq!((t.min, t.max), (0.0, 1.0));
    let t = nice_ticks(0.0, f64::INFINITY, 5);
    assert_eq!((t.min, t.max), (0.0, 1.0));
}
