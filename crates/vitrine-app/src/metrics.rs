//! Process metrics, counted with atomics and written in the Prometheus text format.
//!
//! One [`Metrics`] lives in [`App`] (an `Arc`, no global registry). Code that does
//! something worth counting calls a method on it; [`render`] reads those counters plus a few
//! values owned elsewhere (the runner's query and cache counts, open data-source pools, the
//! process's resident memory) and writes the exposition text that `/metrics` serves
//! (`vitrine-server`, owner listener only).
//!
//! Every label set is **bounded**: a label value comes from a fixed list in this module, and
//! anything else is counted under `other`, so no request can create a new time series.
//!
//! The format (version 0.0.4) is simple enough to write by hand: for each family a
//! `# HELP` line (backslash and newline escaped), a `# TYPE` line, then
//! `name{label="value",…} number` lines with `\`, `"` and newline escaped in label values.

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use crate::dashboards::Runner;
use crate::exports::Exports;
use crate::limits::{Limit, OutsiderLimits};

/// The `Content-Type` of the exposition text.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Access-event outcomes counted under their own label (see `routes::public`); others are
/// counted as `other`.
pub const LINK_OUTCOMES: [&str; 16] = [
    "ok",
    "bad_password",
    "rate_limited",
    "unlocked",
    "disabled",
    "expired",
    "deleted",
    "suspended",
    "not_found",
    "draft",
    "view_limit",
    "not_allowed",
    "export_pdf",
    "export_png",
    "export_svg",
    "export_csv",
];

/// Which listener answered a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listener {
    /// `listen`: the owner UI, the API, and the outsider router unless `public_listen` is set.
    Owner,
    /// `public_listen`: the outsider router only.
    Public,
}

impl Listener {
    fn index(self) -> usize {
        match self {
            Listener::Owner => 0,
            Listener::Public => 1,
        }
    }
}

const LISTENERS: [&str; 2] = ["owner", "public"];
const STATUS_CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

/// The counters this process keeps. Cheap to update from any task: relaxed atomics only.
#[derive(Debug)]
pub struct Metrics {
    /// Live (SSE) streams open now. Prefer [`Metrics::open_stream`], whose guard closes the
    /// count when the stream is dropped; the field is public for code that must manage the
    /// count itself (`fetch_add(1)` on open, `fetch_sub(1)` on close).
    pub streams_open: AtomicI64,
    link_access: [AtomicU64; LINK_OUTCOMES.len() + 1],
    http_requests: [[AtomicU64; STATUS_CLASSES.len()]; LISTENERS.len()],
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// All counters at zero.
    pub fn new() -> Self {
        Metrics {
            streams_open: AtomicI64::new(0),
            link_access: std::array::from_fn(|_| AtomicU64::new(0)),
            http_requests: std::array::from_fn(|_| std::array::from_fn(|_| AtomicU64::new(0))),
        }
    }

    /// Counts one outsider access event with this outcome (`ok` is a page view).
    pub fn link_access(&self, outcome: &str) {
        bump(&self.link_access, index_of(&LINK_OUTCOMES, outcome));
    }

    /// Counts one live stream as open until the returned guard is dropped.
    pub fn open_stream(self: &Arc<Self>) -> OpenStream {
        self.streams_open.fetch_add(1, Ordering::Relaxed);
        OpenStream(self.clone())
    }

    /// Counts one HTTP response with `status`, answered on `listener`.
    pub fn http_request(&self, listener: Listener, status: u16) {
        let class = usize::from(status / 100).clamp(1, 5) - 1;
        self.http_requests[listener.index()][class].fetch_add(1, Ordering::Relaxed);
    }

    /// The count of access events with `outcome` (`other` for the rest).
    pub fn link_access_count(&self, outcome: &str) -> u64 {
        self.link_access[index_of(&LINK_OUTCOMES, outcome)].load(Ordering::Relaxed)
    }
}

/// Keeps one live stream counted in `vitrine_live_streams_open`; dropping it closes the count.
#[derive(Debug)]
pub struct OpenStream(Arc<Metrics>);

impl Drop for OpenStream {
    fn drop(&mut self) {
        self.0.streams_open.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The position of `value` in `known`, or one past the end (`other`).
fn index_of(known: &[&str], value: &str) -> usize {
    known
        .iter()
        .position(|k| *k == value)
        .unwrap_or(known.len())
}

fn bump(counters: &[AtomicU64], index: usize) {
    counters[index].fetch_add(1, Ordering::Relaxed);
}

/// `value` escaped for a label value: `\` → `\\`, `"` → `\"`, newline → `\n`.
pub fn escape_label_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// `text` escaped for a `# HELP` line: `\` → `\\`, newline → `\n`.
fn escape_help(text: &str) -> String {
    text.replace('\\', "\\\\").replace('\n', "\\n")
}

/// Writes the exposition text, one metric family at a time.
struct Exposition(String);

impl Exposition {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.0, "# HELP {name} {}", escape_help(help));
        let _ = writeln!(self.0, "# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl std::fmt::Display) {
        self.0.push_str(name);
        if !labels.is_empty() {
            self.0.push('{');
            for (i, (key, val)) in labels.iter().enumerate() {
                if i > 0 {
                    self.0.push(',');
                }
                let _ = write!(self.0, "{key}=\"{}\"", escape_label_value(val));
            }
            self.0.push('}');
        }
        let _ = writeln!(self.0, " {value}");
    }
}

/// The resident set size of this process, from `/proc/self/status` (Linux only).
fn resident_memory_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line
        .trim_start_matches("VmRSS:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}

/// The exposition text for this process: these counters, plus what the runner and the export
/// pool count themselves.
pub fn render(m: &Metrics, runner: &Runner, exports: &Exports, limits: &OutsiderLimits) -> String {
    let mut out = Exposition(String::with_capacity(4096));

    out.family(
        "vitrine_build_info",
        "gauge",
        "Always 1; the version label says which Vitrine is running.",
    );
    out.sample(
        "vitrine_build_info",
        &[("version", env!("CARGO_PKG_VERSION"))],
        1,
    );

    out.family(
        "vitrine_warehouse_queries_total",
        "counter",
        "Widget and filter-option queries that reached a data source (result-cache misses that ran).",
    );
    out.sample("vitrine_warehouse_queries_total", &[], runner.queries_run());

    let stats = runner.cache_stats();
    let caches = [
        ("results", stats.results),
        ("filter_options", stats.filter_options),
    ];
    out.family(
        "vitrine_result_cache_hits_total",
        "counter",
        "Lookups answered without running a query: a fresh cached result, or a single-flight \
         wait that shared another viewer's in-flight query.",
    );
    for (cache, s) in caches {
        out.sample(
            "vitrine_result_cache_hits_total",
            &[("cache", cache)],
            s.hits,
        );
    }
    out.family(
        "vitrine_result_cache_misses_total",
        "counter",
        "Lookups that ran the query themselves (successful or not).",
    );
    for (cache, s) in caches {
        out.sample(
            "vitrine_result_cache_misses_total",
            &[("cache", cache)],
            s.misses,
        );
    }

    out.family(
        "vitrine_open_data_sources",
        "gauge",
        "Data-source connection pools open now.",
    );
    out.sample("vitrine_open_data_sources", &[], runner.open_sources());

    out.family(
        "vitrine_live_streams_open",
        "gauge",
        "Live-update (Server-Sent Events) streams open now.",
    );
    out.sample(
        "vitrine_live_streams_open",
        &[],
        m.streams_open.load(Ordering::Relaxed),
    );

    out.family(
        "vitrine_link_access_total",
        "counter",
        "Outsider access events by outcome; outcome=\"ok\" is a share-link page view.",
    );
    for (i, outcome) in LINK_OUTCOMES.iter().chain(&["other"]).enumerate() {
        out.sample(
            "vitrine_link_access_total",
            &[("outcome", outcome)],
            m.link_access[i].load(Ordering::Relaxed),
        );
    }

    out.family(
        "vitrine_export_renders_total",
        "counter",
        "Downloads rendered, by format (the export pool's counters).",
    );
    let exports = exports.counters().snapshot();
    for (format, count) in [
        ("pdf", exports.pdf),
        ("png", exports.png),
        ("svg", exports.svg),
        ("csv", exports.csv),
    ] {
        out.sample("vitrine_export_renders_total", &[("format", format)], count);
    }
    out.family(
        "vitrine_export_busy_total",
        "counter",
        "Downloads answered 503 because no render slot freed up in time.",
    );
    out.sample("vitrine_export_busy_total", &[], exports.busy);

    out.family(
        "vitrine_outsider_limited_total",
        "counter",
        "Outsider requests refused by a cost cap: live streams per link or client, new filter views per minute per link or client.",
    );
    for limit in Limit::ALL {
        out.sample(
            "vitrine_outsider_limited_total",
            &[("limit", limit.as_str())],
            limits.refused(limit),
        );
    }

    out.family(
        "vitrine_http_requests_total",
        "counter",
        "HTTP responses, by the listener that answered and the status class.",
    );
    for (l, listener) in LISTENERS.iter().enumerate() {
        for (c, status) in STATUS_CLASSES.iter().enumerate() {
            out.sample(
                "vitrine_http_requests_total",
                &[("listener", listener), ("status", status)],
                m.http_requests[l][c].load(Ordering::Relaxed),
            );
        }
    }

    if let Some(bytes) = resident_memory_bytes() {
        out.family(
            "process_resident_memory_bytes",
            "gauge",
            "Resident memory size in bytes.",
        );
        out.sample("process_resident_memory_bytes", &[], bytes);
    }
    out.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_escape_backslashes_quotes_and_newlines() {
        assert_eq!(escape_label_value(r#"a\b"c"#), r#"a\\b\"c"#);
        assert_eq!(escape_label_value("a\nb"), r"a\nb");
        assert_eq!(escape_help("x\\y\nz"), r"x\\y\nz");
    }

    #[test]
    fn unknown_outcomes_count_as_other() {
        let m = Metrics::new();
        m.link_access("ok");
        m.link_access("ok");
        m.link_access("<script>");
        assert_eq!(m.link_access_count("ok"), 2);
        assert_eq!(m.link_access_count("other"), 1);
        assert_eq!(m.link_access_count("<script>"), 1, "read as other too");
    }

    #[test]
    fn a_stream_guard_closes_its_count_when_dropped() {
        let m = Arc::new(Metrics::new());
        let a = m.open_stream();
        let b = m.open_stream();
        assert_eq!(m.streams_open.load(Ordering::Relaxed), 2);
        drop(a);
        assert_eq!(m.streams_open.load(Ordering::Relaxed), 1);
        drop(b);
        assert_eq!(m.streams_open.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn status_codes_fall_into_their_class() {
        let m = Metrics::new();
        m.http_request(Listener::Public, 200);
        m.http_request(Listener::Public, 204);
        m.http_request(Listener::Owner, 404);
        m.http_request(Listener::Owner, 599);
        assert_eq!(m.http_requests[1][1].load(Ordering::Relaxed), 2);
        assert_eq!(m.http_requests[0][3].load(Ordering::Relaxed), 1);
        assert_eq!(m.http_requests[0][4].load(Ordering::Relaxed), 1);
    }

    #[test]
    fn the_resident_memory_is_read_on_linux() {
        if cfg!(target_os = "linux") {
            let bytes = resident_memory_bytes().expect("VmRSS on Linux");
            assert!(bytes > 1024 * 1024, "{bytes}");
        }
    }
}
