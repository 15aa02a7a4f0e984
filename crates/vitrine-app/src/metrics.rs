//! Process metrics in the Prometheus text format (0.0.4), through the `prometheus` client.
//!
//! One [`Metrics`] lives in [`crate::App`] with its own registry (no global one). Code that
//! does something worth counting calls a method on it (an access event, an HTTP response, an
//! open stream); values owned elsewhere — the runner's query and cache counts, open data-source
//! pools, the export pool's renders, the outsider limits' refusals, the process's resident
//! memory — are read when `/metrics` is scraped, by collectors registered next to them
//! ([`Metrics::with_sources`]). `vitrine-server` serves [`Metrics::render`] on the owner
//! listener only.
//!
//! Every label set is **bounded**: a label value comes from a fixed list in this module, and
//! anything else is counted under `other`, so no request can create a new time series. Every
//! series exists from the start (at 0), so a scraper sees rates from the first sample.
//!
//! The names and labels are those Vitrine wrote by hand before it used the client crate; the
//! exposition format (text 0.0.4, `Content-Type` [`CONTENT_TYPE`]) is unchanged.

use std::collections::HashMap;
use std::sync::Arc;

use prometheus::core::{Collector, Desc};
use prometheus::proto::{self, MetricFamily, MetricType};
use prometheus::{Encoder as _, IntCounterVec, IntGauge, Opts, Registry, TextEncoder};

use crate::dashboards::{ContextCache, Runner};
use crate::exports::Exports;
use crate::limits::{Limit, OutsiderLimits};

/// The `Content-Type` of the exposition text.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Access-event outcomes counted under their own label (see `outsider.rs`); others are
/// counted as `other`.
pub const LINK_OUTCOMES: [&str; 17] = [
    "ok",
    "bad_password",
    "rate_limited",
    "busy",
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
    fn as_str(self) -> &'static str {
        match self {
            Listener::Owner => "owner",
            Listener::Public => "public",
        }
    }
}

const LISTENERS: [Listener; 2] = [Listener::Owner, Listener::Public];
const STATUS_CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

/// The process's metrics: its registry and the counters code updates as things happen.
pub struct Metrics {
    registry: Registry,
    streams_open: IntGauge,
    link_access: IntCounterVec,
    http_requests: IntCounterVec,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics")
            .field("streams_open", &self.streams_open.get())
            .finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// The name and help of a family, and the client's error for a bad one (a bug: every name
/// here is a constant).
fn opts(name: &str, help: &str) -> Opts {
    Opts::new(name, help)
}

impl Metrics {
    /// The counters this process updates itself, at zero, with every bounded series present.
    pub fn new() -> Self {
        let registry = Registry::new();
        let streams_open = IntGauge::with_opts(opts(
            "vitrine_live_streams_open",
            "Live-update (Server-Sent Events) streams open now.",
        ))
        .expect("a valid metric");
        let link_access = IntCounterVec::new(
            opts(
                "vitrine_link_access_total",
                "Outsider access events by outcome; outcome=\"ok\" is a share-link page view.",
            ),
            &["outcome"],
        )
        .expect("a valid metric");
        for outcome in LINK_OUTCOMES.iter().chain(&["other"]) {
            link_access.with_label_values(&[outcome]);
        }
        let http_requests = IntCounterVec::new(
            opts(
                "vitrine_http_requests_total",
                "HTTP responses, by the listener that answered and the status class.",
            ),
            &["listener", "status"],
        )
        .expect("a valid metric");
        for listener in LISTENERS {
            for status in STATUS_CLASSES {
                http_requests.with_label_values(&[listener.as_str(), status]);
            }
        }
        for collector in [
            Box::new(streams_open.clone()) as Box<dyn Collector>,
            Box::new(link_access.clone()),
            Box::new(http_requests.clone()),
            Box::new(Pulled::gauge(
                "vitrine_build_info",
                "Always 1; the version label says which Vitrine is running.",
                &["version"],
                || vec![(vec![env!("CARGO_PKG_VERSION")], 1.0)],
            )),
            Box::new(Pulled::gauge(
                "process_resident_memory_bytes",
                "Resident memory size in bytes.",
                &[],
                || {
                    resident_memory_bytes()
                        .map(|b| (vec![], b as f64))
                        .into_iter()
                        .collect()
                },
            )),
        ] {
            registry
                .register(collector)
                .expect("each family registered once");
        }
        Metrics {
            registry,
            streams_open,
            link_access,
            http_requests,
        }
    }

    /// [`Metrics::new`], plus the values the runner, the export pool and the outsider limits
    /// keep, read at every scrape.
    pub fn with_sources(
        runner: Arc<Runner>,
        exports: Arc<Exports>,
        limits: Arc<OutsiderLimits>,
        contexts: Arc<ContextCache>,
        pages: Arc<crate::compressed::CompressedPages>,
    ) -> Self {
        let metrics = Self::new();
        // Every cache: (name, evictions, entries, bytes).
        let sizes = {
            let runner = runner.clone();
            move || {
                let stats = runner.cache_stats();
                let c = contexts.stats();
                let p = pages.stats();
                [
                    (
                        "results",
                        stats.results.evictions,
                        stats.results.entries,
                        stats.results.bytes,
                    ),
                    (
                        "filter_options",
                        stats.filter_options.evictions,
                        stats.filter_options.entries,
                        stats.filter_options.bytes,
                    ),
                    (
                        "drawn_cards",
                        stats.drawn_cards.evictions,
                        stats.drawn_cards.entries,
                        stats.drawn_cards.bytes,
                    ),
                    ("dashboard_contexts", c.evictions, c.entries, c.bytes),
                    ("compressed_pages", p.evictions, p.entries, p.bytes),
                ]
            }
        };
        let (entries, bytes) = (sizes.clone(), sizes.clone());
        let caches = {
            let runner = runner.clone();
            move |hits: bool| {
                let stats = runner.cache_stats();
                [
                    ("results", stats.results),
                    ("filter_options", stats.filter_options),
                ]
                .into_iter()
                .map(|(cache, s)| {
                    let n = if hits { s.hits } else { s.misses };
                    (vec![cache], n as f64)
                })
                .collect()
            }
        };
        let misses = caches.clone();
        let queries = runner.clone();
        let sources = runner;
        let renders = exports.clone();
        let busy = exports;
        let pulled = [
            Pulled::counter(
                "vitrine_warehouse_queries_total",
                "Widget and filter-option queries that reached a data source (result-cache misses that ran).",
                &[],
                move || vec![(vec![], queries.queries_run() as f64)],
            ),
            Pulled::counter(
                "vitrine_result_cache_hits_total",
                "Lookups answered without running a query: a fresh cached result, or a single-flight \
                 wait that shared another viewer's in-flight query.",
                &["cache"],
                move || caches(true),
            ),
            Pulled::counter(
                "vitrine_result_cache_misses_total",
                "Lookups that ran the query themselves (successful or not).",
                &["cache"],
                move || misses(false),
            ),
            Pulled::gauge(
                "vitrine_cache_entries",
                "Entries held now, by cache (results, filter_options, drawn_cards, dashboard_contexts, compressed_pages).",
                &["cache"],
                move || {
                    entries()
                        .into_iter()
                        .map(|(cache, _, n, _)| (vec![cache], n as f64))
                        .collect()
                },
            ),
            Pulled::gauge(
                "vitrine_cache_bytes",
                "What a cache's entries weigh now (an estimate of their heap bytes), by cache; each is bounded.",
                &["cache"],
                move || {
                    bytes()
                        .into_iter()
                        .map(|(cache, _, _, b)| (vec![cache], b as f64))
                        .collect()
                },
            ),
            Pulled::counter(
                "vitrine_cache_evictions_total",
                "Entries dropped to keep a cache within its entry and byte bounds, by cache.",
                &["cache"],
                move || {
                    sizes()
                        .into_iter()
                        .map(|(cache, e, _, _)| (vec![cache], e as f64))
                        .collect()
                },
            ),
            Pulled::gauge(
                "vitrine_open_data_sources",
                "Data-source connection pools open now.",
                &[],
                move || vec![(vec![], sources.open_sources() as f64)],
            ),
            Pulled::counter(
                "vitrine_export_renders_total",
                "Downloads rendered, by format (the export pool's counters).",
                &["format"],
                move || {
                    let c = renders.counters().snapshot();
                    [
                        ("pdf", c.pdf),
                        ("png", c.png),
                        ("svg", c.svg),
                        ("csv", c.csv),
                    ]
                    .into_iter()
                    .map(|(format, n)| (vec![format], n as f64))
                    .collect()
                },
            ),
            Pulled::counter(
                "vitrine_export_busy_total",
                "Downloads answered 503 because no render slot freed up in time.",
                &[],
                move || vec![(vec![], busy.counters().snapshot().busy as f64)],
            ),
            Pulled::counter(
                "vitrine_outsider_limited_total",
                "Outsider requests refused by a cost cap: live streams per link or client, new filter views per minute per link or client.",
                &["limit"],
                move || {
                    Limit::ALL
                        .iter()
                        .map(|l| (vec![l.as_str()], limits.refused(*l) as f64))
                        .collect()
                },
            ),
        ];
        for collector in pulled {
            metrics
                .registry
                .register(Box::new(collector))
                .expect("each family registered once");
        }
        metrics
    }

    /// Counts one outsider access event with this outcome (`ok` is a page view).
    pub fn link_access(&self, outcome: &str) {
        self.link_access
            .with_label_values(&[bounded(&LINK_OUTCOMES, outcome)])
            .inc();
    }

    /// Counts one live stream as open until the returned guard is dropped.
    pub fn open_stream(self: &Arc<Self>) -> OpenStream {
        self.streams_open.inc();
        OpenStream(self.clone())
    }

    /// Live streams counted open now.
    pub fn streams_open(&self) -> i64 {
        self.streams_open.get()
    }

    /// Counts one HTTP response with `status`, answered on `listener`.
    pub fn http_request(&self, listener: Listener, status: u16) {
        let class = usize::from(status / 100).clamp(1, 5) - 1;
        self.http_requests
            .with_label_values(&[listener.as_str(), STATUS_CLASSES[class]])
            .inc();
    }

    /// The count of access events with `outcome` (`other` for the rest).
    pub fn link_access_count(&self, outcome: &str) -> u64 {
        self.link_access
            .with_label_values(&[bounded(&LINK_OUTCOMES, outcome)])
            .get()
    }

    /// The exposition text of every family, sorted by name.
    pub fn render(&self) -> String {
        let mut out = Vec::with_capacity(4096);
        if let Err(error) = TextEncoder::new().encode(&self.registry.gather(), &mut out) {
            tracing::error!(%error, "metrics could not be encoded");
        }
        String::from_utf8(out).unwrap_or_default()
    }
}

/// Keeps one live stream counted in `vitrine_live_streams_open`; dropping it closes the count.
#[derive(Debug)]
pub struct OpenStream(Arc<Metrics>);

impl Drop for OpenStream {
    fn drop(&mut self) {
        self.0.streams_open.dec();
    }
}

/// `value` when it is one of `known`, else `other`.
fn bounded<'a>(known: &[&'a str], value: &str) -> &'a str {
    known
        .iter()
        .find(|k| **k == value)
        .copied()
        .unwrap_or("other")
}

type Samples = Box<dyn Fn() -> Vec<(Vec<&'static str>, f64)> + Send + Sync>;

/// A family whose samples are read from their owner at every scrape (the client's
/// `PullingGauge`, for counters and labelled families too).
struct Pulled {
    desc: Desc,
    kind: MetricType,
    labels: Vec<&'static str>,
    samples: Samples,
}

impl Pulled {
    fn new(
        name: &str,
        help: &str,
        kind: MetricType,
        labels: &[&'static str],
        samples: impl Fn() -> Vec<(Vec<&'static str>, f64)> + Send + Sync + 'static,
    ) -> Self {
        Pulled {
            desc: Desc::new(
                name.to_owned(),
                help.to_owned(),
                labels.iter().map(|l| (*l).to_owned()).collect(),
                HashMap::new(),
            )
            .expect("a valid metric"),
            kind,
            labels: labels.to_vec(),
            samples: Box::new(samples),
        }
    }

    fn counter(
        name: &str,
        help: &str,
        labels: &[&'static str],
        samples: impl Fn() -> Vec<(Vec<&'static str>, f64)> + Send + Sync + 'static,
    ) -> Self {
        Self::new(name, help, MetricType::COUNTER, labels, samples)
    }

    fn gauge(
        name: &str,
        help: &str,
        labels: &[&'static str],
        samples: impl Fn() -> Vec<(Vec<&'static str>, f64)> + Send + Sync + 'static,
    ) -> Self {
        Self::new(name, help, MetricType::GAUGE, labels, samples)
    }
}

impl Collector for Pulled {
    fn desc(&self) -> Vec<&Desc> {
        vec![&self.desc]
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let metrics: Vec<proto::Metric> = (self.samples)()
            .into_iter()
            .map(|(values, value)| {
                let labels = self
                    .labels
                    .iter()
                    .zip(values)
                    .map(|(name, value)| {
                        let mut pair = proto::LabelPair::default();
                        pair.set_name((*name).to_owned());
                        pair.set_value(value.to_owned());
                        pair
                    })
                    .collect();
                let mut metric = proto::Metric::from_label(labels);
                if self.kind == MetricType::COUNTER {
                    let mut counter = proto::Counter::default();
                    counter.set_value(value);
                    metric.set_counter(counter);
                } else {
                    let mut gauge = proto::Gauge::default();
                    gauge.set_value(value);
                    metric.set_gauge(gauge);
                }
                metric
            })
            .collect();
        if metrics.is_empty() {
            return Vec::new();
        }
        let mut family = MetricFamily::default();
        family.set_name(self.desc.fq_name.clone());
        family.set_help(self.desc.help.clone());
        family.set_field_type(self.kind);
        family.set_metric(metrics);
        vec![family]
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

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(m.streams_open(), 2);
        drop(a);
        assert_eq!(m.streams_open(), 1);
        drop(b);
        assert_eq!(m.streams_open(), 0);
    }

    #[test]
    fn status_codes_fall_into_their_class() {
        let m = Metrics::new();
        m.http_request(Listener::Public, 200);
        m.http_request(Listener::Public, 204);
        m.http_request(Listener::Owner, 404);
        m.http_request(Listener::Owner, 599);
        let count = |l: &str, s: &str| m.http_requests.with_label_values(&[l, s]).get();
        assert_eq!(count("public", "2xx"), 2);
        assert_eq!(count("owner", "4xx"), 1);
        assert_eq!(count("owner", "5xx"), 1);
    }

    #[test]
    fn the_resident_memory_is_read_on_linux() {
        if cfg!(target_os = "linux") {
            let bytes = resident_memory_bytes().expect("VmRSS on Linux");
            assert!(bytes > 1024 * 1024, "{bytes}");
        }
    }
}
