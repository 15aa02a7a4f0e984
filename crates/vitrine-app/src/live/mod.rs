//! Live viewers: the tasks behind Server-Sent Events that keep an open dashboard current and
//! close the moment its share link stops working. Their channels live in [`crate::hub`].
//!
//! - **Refreshers** ([`watch_view`]): one task per (dashboard revision, view, row-level rules,
//!   widget) that anyone on this instance is watching. It runs the dashboard through the
//!   [`Runner`](crate::dashboards::Runner) at the dashboard's refresh interval — the result
//!   cache and its single flight make that one warehouse query per widget per interval,
//!   however many viewers listen — and publishes a [`Snapshot`](crate::hub::Snapshot). Each
//!   stream diffs snapshots against what its page already shows (the page sends its widgets'
//!   data hashes when it connects), so only widgets whose data changed travel, and a
//!   reconnect resumes exactly where the page is. The task ends when its last viewer leaves.
//! - **Link guards** ([`watch_link`]): one task per share link being watched. It re-reads the
//!   link when a change is announced for it or its workspace, checks the expiry against the
//!   injected clock four times a second, and re-reads the link every `live.recheck_seconds`
//!   anyway (the safety net for a lost notification). When the link stops opening it tells
//!   every stream of the link why (`disabled`, `expired`, `rotated`, `deleted`, `password`,
//!   `suspended`); when its settings change it asks the pages to reload.
//!
//! Each task owns its entry in the hub ([`crate::hub`]'s `Entry`) from before it is spawned, so
//! the entry is removed however the task ends — normally, by a panic, or aborted — and the
//! streams on its channel end (and reconnect) instead of hanging.

mod guard;
mod refresher;
#[cfg(test)]
mod tests;

pub(crate) use guard::EXPIRY_TICK;
pub use guard::watch_link;
pub use refresher::watch_view;
