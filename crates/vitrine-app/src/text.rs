//! Times and values as people read them, the same on pages, in the CLI and in e-mails.

/// `2026-11-23 10:04 UTC`.
pub fn format_time(t: time::OffsetDateTime) -> String {
    let f = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    t.to_offset(time::UtcOffset::UTC)
        .format(&f)
        .unwrap_or_default()
}

/// `2026-11-23T10:04:00Z`: RFC 3339 in UTC, for machines (`<time datetime>`, CSV, JSON).
pub fn iso_time(t: time::OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// `format_time` for an optional time, `never` for none.
pub fn format_opt_time(t: &Option<time::OffsetDateTime>) -> String {
    t.map_or_else(|| "never".to_owned(), format_time)
}

/// A wait as people read it: `1 second`, `40 seconds`, `1 minute`, `5 minutes` (rounded up,
/// so a page never promises less than the `Retry-After` beside it).
pub fn wait(seconds: u64) -> String {
    let (n, unit) = if seconds < 60 {
        (seconds.max(1), "second")
    } else {
        (seconds.div_ceil(60), "minute")
    };
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn waits_read_in_seconds_then_whole_minutes_rounded_up() {
        assert_eq!(super::wait(0), "1 second");
        assert_eq!(super::wait(1), "1 second");
        assert_eq!(super::wait(2), "2 seconds");
        assert_eq!(super::wait(59), "59 seconds");
        assert_eq!(super::wait(60), "1 minute");
        assert_eq!(super::wait(61), "2 minutes");
        assert_eq!(super::wait(300), "5 minutes");
    }
}
