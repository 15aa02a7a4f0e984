//! Scheduled reports: a dashboard or one widget sent on a schedule to e-mail addresses, Slack
//! incoming webhooks and generic (signed) webhooks.
//!
//! - [`schedule`]: frequencies, IANA zones, the DST rule, next-fire computation and which
//!   missed slot to send after downtime.

pub mod schedule;

pub use schedule::{CompiledSchedule, Day, Due, Frequency};
