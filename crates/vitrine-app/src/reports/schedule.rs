//! When a report is sent: a frequency (hourly, daily, weekly on chosen days, monthly on a day, or
//! a cron expression) at a local time in an IANA time zone, and the instants it fires at.
//!
//! Every frequency is compiled to one cron pattern (parsed by `croner`) that is searched in the
//! zone's **wall-clock time** (civil date and time, no offset); each wall-clock match is then
//! placed on the time line by `jiff` with the zone's rules, and this module's DST rule:
//!
//! - a wall-clock time that does not exist (inside a spring-forward gap, e.g. 02:30 on the last
//!   Sunday of March in `Europe/Berlin`) fires at **the first instant after the gap** (03:00
//!   local, the transition itself);
//! - a wall-clock time that happens twice (inside a fall-back fold, e.g. 02:30 on the last
//!   Sunday of October in `Europe/Berlin`) fires **once, at the earlier instant** (the first
//!   02:30, still in summer time).
//!
//! So an hourly schedule has 23 slots on the spring-forward day and 24 (not 25) on the fall-back
//! day, and a daily schedule fires exactly once every local day.
//!
//! Slots are whole minutes. [`CompiledSchedule::due`] says which slot a scheduler should send at
//! `now` given the next slot it expected: after downtime only the **latest** missed slot is sent
//! (once), marked late.

use std::fmt;

use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};
use jiff::civil;
use jiff::tz::{AmbiguousOffset, TimeZone};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::{Error, Result};

/// How often a report is sent. Times are local to the schedule's zone, `HH:MM` (24-hour).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Frequency {
    /// Every hour, at `minute` past.
    Hourly {
        /// 0 to 59.
        #[schema(minimum = 0, maximum = 59)]
        minute: u8,
    },
    /// Every day at `at`.
    Daily {
        /// Local time, `HH:MM`.
        #[schema(schema_with = crate::openapi::local_time)]
        at: String,
    },
    /// On the chosen days of the week at `at`.
    Weekly {
        /// Days, as `mon` … `sun`; at least one.
        #[schema(min_items = 1)]
        days: Vec<Day>,
        /// Local time, `HH:MM`.
        #[schema(schema_with = crate::openapi::local_time)]
        at: String,
    },
    /// Every month on `day` (1 to 28; for the last day of the month use the cron `0 9 L * *`).
    Monthly {
        /// 1 to 28.
        #[schema(minimum = 1, maximum = 28)]
        day: u8,
        /// Local time, `HH:MM`.
        #[schema(schema_with = crate::openapi::local_time)]
        at: String,
    },
    /// A five-field cron expression (`minute hour day-of-month month day-of-week`), read in the
    /// schedule's zone.
    Cron {
        /// E.g. `30 8 * * 1-5`.
        #[schema(schema_with = crate::openapi::cron_expression)]
        expression: String,
    },
}

/// A day of the week.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Day {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

impl Day {
    fn cron(self) -> u8 {
        match self {
            Day::Sun => 0,
            Day::Mon => 1,
            Day::Tue => 2,
            Day::Wed => 3,
            Day::Thu => 4,
            Day::Fri => 5,
            Day::Sat => 6,
        }
    }
}

/// The longest wall-clock search for one slot, in matches skipped because they fell before
/// `after` (only folds cause skips; a few per search at most).
const MAX_SKIPS: usize = 16;
/// The most slots [`CompiledSchedule::due`] walks to find the latest missed one before it
/// jumps (a minutely cron over two weeks of downtime is 20,160 slots).
const MAX_WALK: usize = 20_000;

/// A slot's lateness allowance: a slot sent more than this after its time is marked late.
pub const LATE_AFTER: time::Duration = time::Duration::minutes(5);

/// A frequency and zone, checked and ready to compute instants.
#[derive(Clone)]
pub struct CompiledSchedule {
    cron: Cron,
    zone: TimeZone,
    zone_name: String,
}

impl fmt::Debug for CompiledSchedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CompiledSchedule")
            .field("pattern", &self.cron.pattern.to_string())
            .field("zone", &self.zone_name)
            .finish()
    }
}

/// Which slot to send now, from [`CompiledSchedule::due`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Due {
    /// The slot's instant (the run's identity with the schedule's id).
    pub slot: OffsetDateTime,
    /// Sent more than [`LATE_AFTER`] after its time, or after skipped slots.
    pub late: bool,
    /// Earlier slots that were missed and will not be sent.
    pub skipped: usize,
    /// The slot after this one.
    pub next: Option<OffsetDateTime>,
}

fn parse_at(field: &str, at: &str) -> Result<(u8, u8)> {
    let bad = || Error::invalid_field(field, "expected a local time as HH:MM, e.g. 09:00");
    let (h, m) = at.split_once(':').ok_or_else(bad)?;
    if h.is_empty() || h.len() > 2 || m.len() != 2 {
        return Err(bad());
    }
    let h: u8 = h.parse().map_err(|_| bad())?;
    let m: u8 = m.parse().map_err(|_| bad())?;
    if h > 23 || m > 59 {
        return Err(bad());
    }
    Ok((h, m))
}

impl Frequency {
    /// The five-field cron pattern this frequency is, checked.
    pub fn pattern(&self) -> Result<String> {
        Ok(match self {
            Frequency::Hourly { minute } => {
                if *minute > 59 {
                    return Err(Error::invalid_field("frequency.minute", "must be 0 to 59"));
                }
                format!("{minute} * * * *")
            }
            Frequency::Daily { at } => {
                let (h, m) = parse_at("frequency.at", at)?;
                format!("{m} {h} * * *")
            }
            Frequency::Weekly { days, at } => {
                let (h, m) = parse_at("frequency.at", at)?;
                if days.is_empty() {
                    return Err(Error::invalid_field(
                        "frequency.days",
                        "choose at least one day",
                    ));
                }
                let mut d: Vec<u8> = days.iter().map(|d| d.cron()).collect();
                d.sort_unstable();
                d.dedup();
                let d: Vec<String> = d.iter().map(u8::to_string).collect();
                format!("{m} {h} * * {}", d.join(","))
            }
            Frequency::Monthly { day, at } => {
                let (h, m) = parse_at("frequency.at", at)?;
                if !(1..=28).contains(day) {
                    return Err(Error::invalid_field(
                        "frequency.day",
                        "must be 1 to 28 (for the last day of the month use the cron expression 0 9 L * *)",
                    ));
                }
                format!("{m} {h} {day} * *")
            }
            Frequency::Cron { expression } => {
                let e = expression.trim();
                if e.len() > 200 || e.split_whitespace().count() != 5 {
                    return Err(Error::invalid_field(
                        "frequency.expression",
                        "expected five fields: minute hour day-of-month month day-of-week",
                    ));
                }
                e.to_owned()
            }
        })
    }

    /// Compiles this frequency in the IANA zone `zone` (e.g. `Europe/Berlin`).
    pub fn compile(&self, zone: &str) -> Result<CompiledSchedule> {
        let pattern = self.pattern()?;
        let cron = CronParser::builder()
            .seconds(Seconds::Disallowed)
            .year(Year::Disallowed)
            .build()
            .parse(&pattern)
            .map_err(|e| Error::invalid_field("frequency", format!("not a valid schedule: {e}")))?;
        let tz = zone_named(zone)?;
        let compiled = CompiledSchedule {
            cron,
            zone: tz,
            zone_name: zone.to_owned(),
        };
        // A pattern that never matches (`0 0 30 2 *`) is refused rather than stored silent.
        if compiled
            .next_after(OffsetDateTime::UNIX_EPOCH + time::Duration::days(365 * 56))
            .is_none()
        {
            return Err(Error::invalid_field(
                "frequency",
                "this schedule never fires",
            ));
        }
        Ok(compiled)
    }
}

/// The IANA zone `name`, or an invalid-input error naming the field `zone`.
pub fn zone_named(name: &str) -> Result<TimeZone> {
    if name.is_empty() || name.len() > 64 || name.starts_with('/') || name.contains("..") {
        return Err(Error::invalid_field(
            "zone",
            "expected an IANA time zone such as Europe/Berlin",
        ));
    }
    TimeZone::get(name).map_err(|_| {
        Error::invalid_field(
            "zone",
            "unknown time zone; expected an IANA name such as Europe/Berlin",
        )
    })
}

/// The IANA zone names the form offers, sorted: the tz database's `Area/Location` names and
/// `UTC` (not the `Etc/`, `posix/`, `right/` or legacy aliases such as `US/Eastern`, which
/// [`zone_named`] still accepts through the API).
pub fn zones() -> Vec<String> {
    const AREAS: [&str; 10] = [
        "Africa/",
        "America/",
        "Antarctica/",
        "Arctic/",
        "Asia/",
        "Atlantic/",
        "Australia/",
        "Europe/",
        "Indian/",
        "Pacific/",
    ];
    let mut names: Vec<String> = jiff::tz::db()
        .available()
        .map(|n| n.as_str().to_owned())
        .filter(|n| AREAS.iter().any(|a| n.starts_with(a)))
        .collect();
    names.push("UTC".to_owned());
    names.sort();
    names.dedup();
    names
}

fn to_ts(t: OffsetDateTime) -> jiff::Timestamp {
    jiff::Timestamp::from_second(t.unix_timestamp()).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}

fn from_ts(t: jiff::Timestamp) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp(t.as_second()).ok()
}

impl CompiledSchedule {
    /// The zone's name.
    pub fn zone_name(&self) -> &str {
        &self.zone_name
    }

    /// The cron pattern searched.
    pub fn pattern(&self) -> String {
        self.cron.pattern.to_string()
    }

    /// Places a wall-clock time on the time line with the DST rule of this module.
    fn place(&self, local: civil::DateTime) -> Option<jiff::Timestamp> {
        let amb = self.zone.to_ambiguous_timestamp(local);
        match amb.offset() {
            AmbiguousOffset::Unambiguous { offset } => offset.to_timestamp(local).ok(),
            AmbiguousOffset::Gap { before, .. } => {
                // The time read with the offset before the gap lies after the transition; the
                // transition just before it is the first instant after the gap.
                let past = before.to_timestamp(local).ok()?;
                let t = self.zone.preceding(past).next()?;
                Some(t.timestamp())
            }
            AmbiguousOffset::Fold { before, .. } => before.to_timestamp(local).ok(),
        }
    }

    /// The first slot strictly after `after`.
    pub fn next_after(&self, after: OffsetDateTime) -> Option<OffsetDateTime> {
        let after = to_ts(after);
        let mut local = self.zone.to_datetime(after);
        for _ in 0..MAX_SKIPS {
            let next = self.cron.find_next_occurrence(&local, false).ok()?;
            let at = self.place(next)?;
            if at > after {
                return from_ts(at);
            }
            local = next;
        }
        None
    }

    /// The next `n` slots strictly after `after` (the "next five send times" preview).
    pub fn upcoming(&self, after: OffsetDateTime, n: usize) -> Vec<OffsetDateTime> {
        let mut out = Vec::with_capacity(n);
        let mut t = after;
        while out.len() < n {
            match self.next_after(t) {
                Some(next) => {
                    out.push(next);
                    t = next;
                }
                None => break,
            }
        }
        out
    }

    /// What to send at `now` when the scheduler expected `expected` next: nothing if it is
    /// still ahead, else the latest slot at or before `now` (earlier ones are skipped, not
    /// sent), marked late when it is more than [`LATE_AFTER`] old or slots were skipped.
    pub fn due(&self, expected: OffsetDateTime, now: OffsetDateTime) -> Option<Due> {
        if expected > now {
            return None;
        }
        let mut slot = expected;
        let mut skipped = 0usize;
        let mut next = self.next_after(slot);
        let mut walked = 0usize;
        while let Some(n) = next {
            if n > now {
                break;
            }
            walked += 1;
            if walked > MAX_WALK {
                // Jump: search back from now for the latest match (wall clock), then re-place.
                let local = self.zone.to_datetime(to_ts(now));
                if let Ok(prev) = self.cron.find_previous_occurrence(&local, true)
                    && let Some(at) = self.place(prev).and_then(from_ts)
                    && at <= now
                    && at > slot
                {
                    slot = at;
                }
                next = self.next_after(slot);
                break;
            }
            skipped += 1;
            slot = n;
            next = self.next_after(n);
        }
        Some(Due {
            slot,
            late: skipped > 0 || now - slot > LATE_AFTER,
            skipped,
            next,
        })
    }

    /// A slot as a wall-clock time in the schedule's zone, e.g. `2026-03-29 09:00 CEST`.
    pub fn local_text(&self, at: OffsetDateTime) -> String {
        let z = to_ts(at).to_zoned(self.zone.clone());
        z.strftime("%Y-%m-%d %H:%M %Z").to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;
    use vitrine_core::clock::{Clock, ManualClock};

    fn daily(at: &str) -> Frequency {
        Frequency::Daily { at: at.into() }
    }

    #[test]
    fn daily_nine_in_berlin_across_both_dst_changes() {
        let s = daily("09:00").compile("Europe/Berlin").unwrap();
        let clock = ManualClock::new(datetime!(2026-03-27 12:00 UTC));
        let got = s.upcoming(clock.now(), 4);
        assert_eq!(
            got,
            vec![
                datetime!(2026-03-28 08:00 UTC), // CET, +01:00
                datetime!(2026-03-29 07:00 UTC), // CEST from 29 March, +02:00
                datetime!(2026-03-30 07:00 UTC),
                datetime!(2026-03-31 07:00 UTC),
            ]
        );
        clock.set(datetime!(2026-10-23 12:00 UTC));
        let got = s.upcoming(clock.now(), 4);
        assert_eq!(
            got,
            vec![
                datetime!(2026-10-24 07:00 UTC), // CEST
                datetime!(2026-10-25 08:00 UTC), // CET from 25 October
                datetime!(2026-10-26 08:00 UTC),
                datetime!(2026-10-27 08:00 UTC),
            ]
        );
        assert_eq!(s.local_text(got[1]), "2026-10-25 09:00 CET");
    }

    #[test]
    fn a_time_in_the_spring_gap_fires_at_the_end_of_the_gap() {
        let s = daily("02:30").compile("Europe/Berlin").unwrap();
        let got = s.upcoming(datetime!(2026-03-28 12:00 UTC), 2);
        // 02:30 does not exist on 29 March: 03:00 CEST, the transition (01:00 UTC).
        assert_eq!(
            got,
            vec![
                datetime!(2026-03-29 01:00 UTC),
                datetime!(2026-03-30 00:30 UTC)
            ]
        );
    }

    #[test]
    fn a_time_in_the_autumn_fold_fires_once_at_the_earlier_instant() {
        let s = daily("02:30").compile("Europe/Berlin").unwrap();
        let got = s.upcoming(datetime!(2026-10-24 12:00 UTC), 3);
        assert_eq!(
            got,
            vec![
                datetime!(2026-10-25 00:30 UTC), // the first 02:30, CEST
                datetime!(2026-10-26 01:30 UTC), // next day, CET
                datetime!(2026-10-27 01:30 UTC),
            ]
        );
        // Starting inside the fold (the second 02:15) does not fire the second 02:30.
        let got = s.next_after(datetime!(2026-10-25 01:15 UTC));
        assert_eq!(got, Some(datetime!(2026-10-26 01:30 UTC)));
    }

    #[test]
    fn hourly_has_23_slots_in_spring_and_24_in_autumn() {
        let s = Frequency::Hourly { minute: 0 }
            .compile("Europe/Berlin")
            .unwrap();
        let spring = s.upcoming(datetime!(2026-03-28 22:59 UTC), 30);
        let in_day =
            |v: &[OffsetDateTime], from, to| v.iter().filter(|t| **t >= from && **t < to).count();
        assert_eq!(
            in_day(
                &spring,
                datetime!(2026-03-28 23:00 UTC),
                datetime!(2026-03-29 22:00 UTC)
            ),
            23
        );
        let autumn = s.upcoming(datetime!(2026-10-24 21:59 UTC), 30);
        assert_eq!(
            in_day(
                &autumn,
                datetime!(2026-10-24 22:00 UTC),
                datetime!(2026-10-25 23:00 UTC)
            ),
            24
        );
    }

    #[test]
    fn weekly_on_chosen_days() {
        let f = Frequency::Weekly {
            days: vec![Day::Fri, Day::Mon],
            at: "08:30".into(),
        };
        let s = f.compile("America/New_York").unwrap();
        // Sunday 8 March 2026 is the US spring-forward day (EST -5 → EDT -4).
        let got = s.upcoming(datetime!(2026-03-04 00:00 UTC), 4);
        assert_eq!(
            got,
            vec![
                datetime!(2026-03-06 13:30 UTC), // Fri, EST
                datetime!(2026-03-09 12:30 UTC), // Mon, EDT
                datetime!(2026-03-13 12:30 UTC),
                datetime!(2026-03-16 12:30 UTC),
            ]
        );
    }

    #[test]
    fn monthly_on_a_day() {
        let f = Frequency::Monthly {
            day: 1,
            at: "07:00".into(),
        };
        let s = f.compile("Asia/Tokyo").unwrap();
        let got = s.upcoming(datetime!(2026-01-15 00:00 UTC), 2);
        assert_eq!(
            got,
            vec![
                datetime!(2026-01-31 22:00 UTC),
                datetime!(2026-02-28 22:00 UTC)
            ]
        );
        assert!(
            Frequency::Monthly {
                day: 31,
                at: "07:00".into()
            }
            .compile("UTC")
            .is_err()
        );
    }

    #[test]
    fn cron_in_a_zone() {
        let f = Frequency::Cron {
            expression: "15 6 * * 1-5".into(),
        };
        let s = f.compile("Europe/London").unwrap();
        // Friday 27 March 2026 GMT, then Monday 30 March BST (changed on Sunday 29).
        let got = s.upcoming(datetime!(2026-03-27 00:00 UTC), 2);
        assert_eq!(
            got,
            vec![
                datetime!(2026-03-27 06:15 UTC),
                datetime!(2026-03-30 05:15 UTC)
            ]
        );
        let last = Frequency::Cron {
            expression: "0 9 L * *".into(),
        }
        .compile("UTC")
        .unwrap();
        assert_eq!(
            last.next_after(datetime!(2026-02-01 00:00 UTC)),
            Some(datetime!(2026-02-28 09:00 UTC))
        );
    }

    #[test]
    fn bad_input_is_refused_with_its_field() {
        let field = |r: Result<CompiledSchedule>| match r {
            Err(Error::Invalid { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            field(daily("9").compile("UTC")).as_deref(),
            Some("frequency.at")
        );
        assert_eq!(
            field(daily("24:00").compile("UTC")).as_deref(),
            Some("frequency.at")
        );
        assert_eq!(
            field(daily("09:00").compile("Mars/Olympus")).as_deref(),
            Some("zone")
        );
        assert_eq!(
            field(daily("09:00").compile("../../etc/passwd")).as_deref(),
            Some("zone")
        );
        let cron = |e: &str| {
            Frequency::Cron {
                expression: e.into(),
            }
            .compile("UTC")
        };
        assert_eq!(
            field(cron("* * *")).as_deref(),
            Some("frequency.expression")
        );
        assert_eq!(field(cron("61 * * * *")).as_deref(), Some("frequency"));
        assert_eq!(field(cron("0 0 30 2 *")).as_deref(), Some("frequency"));
        let weekly = Frequency::Weekly {
            days: vec![],
            at: "09:00".into(),
        };
        assert_eq!(
            field(weekly.compile("UTC")).as_deref(),
            Some("frequency.days")
        );
    }

    #[test]
    fn a_missed_slot_after_downtime_is_sent_once_and_marked_late() {
        let s = daily("09:00").compile("Europe/Berlin").unwrap();
        let clock = ManualClock::new(datetime!(2026-06-01 06:00 UTC));
        let expected = s.next_after(clock.now()).unwrap();
        assert_eq!(expected, datetime!(2026-06-01 07:00 UTC));
        assert_eq!(s.due(expected, clock.now()), None);
        // On time (within the allowance): not late.
        clock.set(datetime!(2026-06-01 07:00:20 UTC));
        let due = s.due(expected, clock.now()).unwrap();
        assert_eq!((due.slot, due.late, due.skipped), (expected, false, 0));
        assert_eq!(due.next, Some(datetime!(2026-06-02 07:00 UTC)));
        // Down from before the 2 June slot until 4 June 12:00: three slots missed, one sent.
        clock.set(datetime!(2026-06-04 10:00 UTC));
        let due = s.due(datetime!(2026-06-02 07:00 UTC), clock.now()).unwrap();
        assert_eq!(due.slot, datetime!(2026-06-04 07:00 UTC));
        assert!(due.late);
        assert_eq!(due.skipped, 2);
        assert_eq!(due.next, Some(datetime!(2026-06-05 07:00 UTC)));
        // Once sent, the next expected slot is ahead: nothing more is due.
        assert_eq!(s.due(due.next.unwrap(), clock.now()), None);
    }

    #[test]
    fn a_long_downtime_of_a_minutely_cron_jumps() {
        let s = Frequency::Cron {
            expression: "* * * * *".into(),
        }
        .compile("UTC")
        .unwrap();
        let due = s
            .due(
                datetime!(2026-01-01 00:00 UTC),
                datetime!(2026-12-31 12:34:56 UTC),
            )
            .unwrap();
        assert_eq!(due.slot, datetime!(2026-12-31 12:34 UTC));
        assert!(due.late);
        assert_eq!(due.next, Some(datetime!(2026-12-31 12:35 UTC)));
    }
}
