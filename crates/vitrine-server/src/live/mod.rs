//! Live pages on the wire: the Server-Sent Events response of a live dashboard page.
//!
//! The application's live hub ([`vitrine_app::hub`], [`vitrine_app::live`]) keeps one
//! refresher per watched view and one guard per watched share link; [`stream`] turns what they
//! publish into events for one page.

pub mod stream;

pub use stream::{LinkWatch, LiveStreamParams, live_response, revoked_response};
