//! The dates Vitrine accepts, and calendar arithmetic that cannot panic.
//!
//! `time`'s `Date + Duration` panics when it leaves the representable range (±9999 years), and
//! a viewer can type any date into a URL (`?f.period=..9999-12-31`). So every date that comes
//! from outside is checked against [`MIN_DATE`]..=[`MAX_DATE`] first, and every step of
//! calendar arithmetic here is checked (`None` instead of a panic).

use time::macros::date;
use time::{Date, Duration, Month};

/// The first year a filter, a rule or a relative preset may reach.
///
/// MySQL and MariaDB support `DATE`s from 1000-01-01 only, and SQLite compares dates as ISO
/// text, which orders correctly only for four-digit, unsigned years. Below 1000 the three
/// databases Vitrine reads would disagree about what a filter means.
pub const MIN_YEAR: i32 = 1000;

/// The last year a filter, a rule or a relative preset may reach.
///
/// 9999 is the last year that every database (and `time` without its `large-dates` feature)
/// represents, but the compiler binds the day *after* an inclusive end (`< to + 1 day`, so a
/// timestamp on the last day counts) and presets reach a year around `today`. Stopping a year
/// short keeps all of that arithmetic inside what every database and `time` can represent.
pub const MAX_YEAR: i32 = 9998;

/// The first accepted date: January 1st of [`MIN_YEAR`].
pub const MIN_DATE: Date = date!(1000 - 01 - 01);

/// The last accepted date: December 31st of [`MAX_YEAR`].
pub const MAX_DATE: Date = date!(9998 - 12 - 31);

/// What a viewer or an author is told about a date outside the accepted range.
pub const DATE_RANGE_MESSAGE: &str = "Dates must be between 1000-01-01 and 9998-12-31.";

/// A date outside [`MIN_DATE`]..=[`MAX_DATE`] (or calendar arithmetic that would leave it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("Dates must be between 1000-01-01 and 9998-12-31.")]
pub struct DateOutOfRange;

/// Whether `d` is an accepted date.
pub fn check_date(d: Date) -> Result<Date, DateOutOfRange> {
    if (MIN_DATE..=MAX_DATE).contains(&d) {
        Ok(d)
    } else {
        Err(DateOutOfRange)
    }
}

/// `d` moved by `days` (either way), or `None` past what `time` represents.
pub(crate) fn add_days(d: Date, days: i64) -> Option<Date> {
    // `Duration::days` itself panics past ±1e14 days; no date is that far from another.
    const SPAN: i64 = 10_000_000;
    if !(-SPAN..=SPAN).contains(&days) {
        return None;
    }
    d.checked_add(Duration::days(days))
}

/// The Monday of `d`'s ISO week.
pub(crate) fn monday_of(d: Date) -> Option<Date> {
    add_days(d, -i64::from(d.weekday().number_days_from_monday()))
}

/// The first of `d`'s month (always exists).
pub(crate) fn first_of_month(d: Date) -> Date {
    d.replace_day(1).unwrap_or(d)
}

/// The first day of `d`'s quarter (always exists).
pub(crate) fn first_of_quarter(d: Date) -> Date {
    let m = d.month() as u8;
    let qm = (m - 1) / 3 * 3 + 1;
    let month = Month::try_from(qm).unwrap_or(Month::January);
    Date::from_calendar_date(d.year(), month, 1).unwrap_or(d)
}

/// January 1st of `year`, if `time` represents it.
pub(crate) fn jan_first(year: i32) -> Option<Date> {
    Date::from_calendar_date(year, Month::January, 1).ok()
}

pub(crate) fn is_last_of_month(d: Date) -> bool {
    d.day() == d.month().length(d.year())
}

pub(crate) fn last_of_month(d: Date) -> Date {
    d.replace_day(d.month().length(d.year())).unwrap_or(d)
}

/// `d` moved by `months`, the day clamped to the target month's length; `None` past what
/// `time` represents.
pub(crate) fn add_months(d: Date, months: i32) -> Option<Date> {
    let total = (d.year().checked_mul(12)?)
        .checked_add(d.month() as i32 - 1)?
        .checked_add(months)?;
    let year = total.div_euclid(12);
    let month = Month::try_from(u8::try_from(total.rem_euclid(12) + 1).ok()?).ok()?;
    let day = d.day().min(month.length(year));
    Date::from_calendar_date(year, month, day).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_names_the_accepted_bounds() {
        let iso = |d: Date| format!("{:04}-{:02}-{:02}", d.year(), d.month() as u8, d.day());
        assert_eq!(
            DATE_RANGE_MESSAGE,
            format!(
                "Dates must be between {} and {}.",
                iso(MIN_DATE),
                iso(MAX_DATE)
            )
        );
        assert_eq!(DateOutOfRange.to_string(), DATE_RANGE_MESSAGE);
        assert_eq!((MIN_DATE.year(), MAX_DATE.year()), (MIN_YEAR, MAX_YEAR));
    }

    #[test]
    fn only_dates_within_the_bounds_are_accepted() {
        assert!(check_date(MIN_DATE).is_ok());
        assert!(check_date(MAX_DATE).is_ok());
        assert!(check_date(date!(2026 - 11 - 23)).is_ok());
        for bad in [
            Date::MIN,
            Date::MAX,
            date!(0999 - 12 - 31),
            date!(9999 - 01 - 01),
            date!(-0001 - 01 - 01),
        ] {
            assert_eq!(check_date(bad), Err(DateOutOfRange), "{bad}");
        }
    }

    #[test]
    fn calendar_arithmetic_at_the_ends_of_time_returns_none_instead_of_panicking() {
        assert_eq!(add_days(Date::MAX, 1), None);
        assert_eq!(add_days(Date::MIN, -1), None);
        assert_eq!(add_days(Date::MIN, i64::MIN), None);
        assert_eq!(add_days(Date::MAX, i64::MAX), None);
        assert_eq!(add_months(Date::MAX, 1), None);
        assert_eq!(add_months(Date::MIN, -1), None);
        assert_eq!(add_months(Date::MIN, i32::MIN), None);
        assert_eq!(add_months(Date::MAX, i32::MAX), None);
        assert!(monday_of(Date::MIN).is_none() || monday_of(Date::MIN) == Some(Date::MIN));
        assert!(monday_of(Date::MAX).is_some());
        assert_eq!(jan_first(Date::MAX.year() + 1), None);
        assert_eq!(
            add_months(date!(2026 - 03 - 31), -1),
            Some(date!(2026 - 02 - 28))
        );
        assert_eq!(
            add_months(date!(2026 - 11 - 23), -12),
            Some(date!(2025 - 11 - 23))
        );
    }
}
