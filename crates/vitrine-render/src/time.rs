//! ISO-8601 dates on time axes: parsing to seconds and labels by granularity.
//!
//! Results carry dates as text (`2026-11-23`, `2026-11-23T10:00:00Z`); this
//! is a small, allocation-free parser for exactly those shapes rather than a
//! date-time dependency.

/// The granularity of a time axis, which decides how its labels read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TimeGrain {
    /// `14:00` (with the day when the range spans several days).
    Hour,
    /// `Nov 23` (with the year when the range spans several years).
    Day,
    /// Like `Day`: the first day of the week.
    Week,
    /// `Nov 2026`.
    Month,
    /// `Q4 2026`.
    Quarter,
    /// `2026`.
    Year,
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Days since 1970-01-01 of a proleptic Gregorian date.
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (i64::from(m) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// (year, month 1-12, day 1-31) of a day number.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn num(b: &[u8]) -> Option<u32> {
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    b.iter().try_fold(0u32, |acc, d| {
        acc.checked_mul(10)?.checked_add(u32::from(d - b'0'))
    })
}

/// Seconds since the Unix epoch of `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM[:SS[.f]]`
/// with an optional `Z` / `±HH:MM` offset (a space may replace the `T`).
pub fn parse_iso(s: &str) -> Option<i64> {
    let b = s.trim().as_bytes();
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let y = i64::from(num(&b[0..4])?);
    let m = num(&b[5..7])?;
    let d = num(&b[8..10])?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let mut secs = days_from_civil(y, m, d) * 86_400;
    let rest = &b[10..];
    if rest.is_empty() {
        return Some(secs);
    }
    if !(rest[0] == b'T' || rest[0] == b't' || rest[0] == b' ') || rest.len() < 6 || rest[3] != b':'
    {
        return None;
    }
    let hh = num(&rest[1..3])?;
    let mm = num(&rest[4..6])?;
    if hh > 23 || mm > 59 {
        return None;
    }
    secs += i64::from(hh * 3600 + mm * 60);
    let mut i = 6;
    if rest.len() >= 9 && rest[6] == b':' {
        let ss = num(&rest[7..9])?;
        if ss > 60 {
            return None;
        }
        secs += i64::from(ss);
        i = 9;
        if rest.len() > i && (rest[i] == b'.' || rest[i] == b',') {
            i += 1;
            while i < rest.len() && rest[i].is_ascii_digit() {
                i += 1;
            }
        }
    }
    let tz = &rest[i..];
    match tz {
        [] | [b'Z'] | [b'z'] => Some(secs),
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] | [sign @ (b'+' | b'-'), h1, h2, m1, m2] => {
            let oh = num(&[*h1, *h2])?;
            let om = num(&[*m1, *m2])?;
            let off = i64::from(oh * 3600 + om * 60);
            Some(if *sign == b'+' {
                secs - off
            } else {
                secs + off
            })
        }
        _ => None,
    }
}

/// The grain that best describes points `secs` (sorted ascending): the
/// smallest gap between neighbours decides.
pub fn infer_grain(secs: &[i64]) -> TimeGrain {
    let all_midnight = secs.iter().all(|s| s.rem_euclid(86_400) == 0);
    let min_gap = secs
        .windows(2)
        .map(|w| w[1] - w[0])
        .filter(|g| *g > 0)
        .min();
    match min_gap {
        None => {
            if all_midnight {
                TimeGrain::Day
            } else {
                TimeGrain::Hour
            }
        }
        Some(g) if !all_midnight || g < 86_400 => TimeGrain::Hour,
        Some(g) if g >= 360 * 86_400 => TimeGrain::Year,
        Some(g) if g >= 89 * 86_400 => TimeGrain::Quarter,
        Some(g) if g >= 28 * 86_400 => TimeGrain::Month,
        Some(g) if g >= 7 * 86_400 => TimeGrain::Week,
        Some(_) => TimeGrain::Day,
    }
}

/// How a set of time labels reads: the grain, and whether the range spans
/// several years (days then carry the year) or several days (hours then
/// carry the day).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeLabels {
    /// The granularity.
    pub grain: TimeGrain,
    /// The points span more than one calendar year.
    pub multi_year: bool,
    /// The points span more than one calendar day.
    pub multi_day: bool,
}

impl TimeLabels {
    /// Label settings for points `secs` at `grain`.
    pub fn new(grain: TimeGrain, secs: &[i64]) -> TimeLabels {
        let min = secs.iter().copied().min().unwrap_or(0);
        let max = secs.iter().copied().max().unwrap_or(0);
        let (y0, _, _) = civil_from_days(min.div_euclid(86_400));
        let (y1, _, _) = civil_from_days(max.div_euclid(86_400));
        TimeLabels {
            grain,
            multi_year: y0 != y1,
            multi_day: min.div_euclid(86_400) != max.div_euclid(86_400),
        }
    }

    /// The label of the point at `secs`.
    pub fn format(&self, secs: i64) -> String {
        let days = secs.div_euclid(86_400);
        let sod = secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        let mon = MONTHS[(m - 1) as usize];
        match self.grain {
            TimeGrain::Year => format!("{y}"),
            TimeGrain::Quarter => format!("Q{} {y}", (m - 1) / 3 + 1),
            TimeGrain::Month => format!("{mon} {y}"),
            TimeGrain::Week | TimeGrain::Day => {
                if self.multi_year {
                    format!("{mon} {d}, {y}")
                } else {
                    format!("{mon} {d}")
                }
            }
            TimeGrain::Hour => {
                let (h, mi) = (sod / 3600, (sod % 3600) / 60);
                if self.multi_day {
                    format!("{mon} {d} {h:02}:{mi:02}")
                } else {
                    format!("{h:02}:{mi:02}")
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(
            civil_from_days(days_from_civil(2026, 11, 23)),
            (2026, 11, 23)
        );
        assert_eq!(civil_from_days(days_from_civil(2024, 2, 29)), (2024, 2, 29));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
    }

    #[test]
    fn iso_shapes_parse() {
        let day = parse_iso("2026-11-23").unwrap();
        assert_eq!(parse_iso("2026-11-23T00:00:00Z"), Some(day));
        assert_eq!(parse_iso("2026-11-23 10:30"), Some(day + 37_800));
        assert_eq!(
            parse_iso("2026-11-23T10:30:00.123+01:00"),
            Some(day + 34_200)
        );
        assert_eq!(parse_iso("2026-11-23T10:30:00-0130"), Some(day + 43_200));
        assert_eq!(parse_iso("Nov 23"), None);
        assert_eq!(parse_iso("2026-13-01"), None);
        assert_eq!(parse_iso("2026-11-23Tjunk"), None);
    }

    #[test]
    fn grains_are_inferred_from_spacing() {
        let d = |y, m, dd| days_from_civil(y, m, dd) * 86_400;
        assert_eq!(
            infer_grain(&[d(2026, 1, 1), d(2026, 2, 1), d(2026, 3, 1)]),
            TimeGrain::Month
        );
        assert_eq!(infer_grain(&[d(2026, 1, 1), d(2026, 1, 2)]), TimeGrain::Day);
        assert_eq!(
            infer_grain(&[d(2026, 1, 5), d(2026, 1, 12)]),
            TimeGrain::Week
        );
        assert_eq!(
            infer_grain(&[d(2026, 1, 1), d(2026, 4, 1)]),
            TimeGrain::Quarter
        );
        assert_eq!(
            infer_grain(&[d(2025, 1, 1), d(2026, 1, 1)]),
            TimeGrain::Year
        );
        assert_eq!(infer_grain(&[d(2026, 1, 1) + 3600]), TimeGrain::Hour);
    }

    #[test]
    fn labels_read_by_grain() {
        let t = parse_iso("2026-11-23T14:00:00Z").unwrap();
        let one = |g| TimeLabels::new(g, &[t]).format(t);
        assert_eq!(one(TimeGrain::Day), "Nov 23");
        assert_eq!(one(TimeGrain::Month), "Nov 2026");
        assert_eq!(one(TimeGrain::Quarter), "Q4 2026");
        assert_eq!(one(TimeGrain::Year), "2026");
        assert_eq!(one(TimeGrain::Hour), "14:00");
        let next_year = parse_iso("2027-01-02").unwrap();
        assert_eq!(
            TimeLabels::new(TimeGrain::Day, &[t, next_year]).format(next_year),
            "Jan 2, 2027"
        );
    }
}
