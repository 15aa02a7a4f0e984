//! Times and values as people read them, the same on pages, in the CLI and in e-mails.

/// `2026-11-23 10:04 UTC`.
pub fn format_time(t: time::OffsetDateTime) -> String {
    let f = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    t.to_offset(time::UtcOffset::UTC)
        .format(&f)
        .unwrap_or_default()
}

/// `format_time` for an optional time, `never` for none.
pub fn format_opt_time(t: &Option<time::OffsetDateTime>) -> String {
    t.map_or_else(|| "never".to_owned(), format_time)
}
