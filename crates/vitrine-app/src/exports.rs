//! # Downloads: dashboard → PDF, widget → PNG / SVG / CSV
//!
//! The callers (the owner's routes, the outsider's, a scheduled report) decide *who* may
//! download and *which view* applies; this module turns that view into an [`ExportFile`]. It
//! goes through exactly the page's data path — [`Runner::export_widget`] with the view the
//! caller built (locked filters written over the query for outsiders) and the caller's
//! row-level rules — so a download can never show more than the page it came from.
//!
//! - **Drawings**: exports draw the chart's card background (the page draws it in HTML and its
//!   SVGs leave it out) and no hover tooltips (PNG and PDF cannot show them). PNG and SVG keep
//!   the chart's title inside the drawing (a file on its own needs one) and are sized in
//!   pixels; the PDF draws titles itself and always uses the light theme (it is paper). A
//!   table widget is drawn as the static table SVG at its card's size (the rows that fit and
//!   "Showing n of m rows"); the whole result is what the CSV download is for.
//! - **The render pool**: rasterising and writing PDF is CPU work, so it runs on
//!   `spawn_blocking` behind a semaphore of `render.export_concurrency` permits. A request
//!   waits at most `render.export_wait_seconds` for one, then gets [`Error::Busy`] (the server
//!   answers 503 with `Retry-After`) instead of queueing without bound: a burst of downloads cannot starve page views (whose
//!   rendering takes microseconds and never waits on this pool). SVG and CSV are cheap string
//!   building and do not take a permit.
//! - **File names** come from titles ([`ExportFile::title`]); the front door makes them safe
//!   for a header.
//! - **Counters**: [`ExportCounters`] counts finished renders per format and refusals of a
//!   full pool, for `/metrics`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use time::OffsetDateTime;
use time::macros::format_description;
use tokio::sync::Semaphore;
use vitrine_render::{
    ChartSpec, Paper, PdfDocument, PdfWidget, Sizing, Theme, render_csv, render_pdf, render_png,
};

use crate::Error;
use crate::dashboards::{DashboardContext, Restrictions, Runner, ViewState, WidgetExport};

/// What a download is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// A whole dashboard (or a widget link's widget) as PDF.
    Pdf,
    /// One widget as PNG.
    Png,
    /// One widget as SVG.
    Svg,
    /// One widget's result as CSV.
    Csv,
}

impl ExportFormat {
    /// The widget format a download URL's last segment names: `export.png`, `export.svg` or
    /// `export.csv`.
    pub fn of_widget_file(file: &str) -> Option<Self> {
        match file {
            "export.png" => Some(ExportFormat::Png),
            "export.svg" => Some(ExportFormat::Svg),
            "export.csv" => Some(ExportFormat::Csv),
            _ => None,
        }
    }

    /// The file extension.
    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::Pdf => "pdf",
            ExportFormat::Png => "png",
            ExportFormat::Svg => "svg",
            ExportFormat::Csv => "csv",
        }
    }

    /// The `Content-Type`.
    pub fn content_type(self) -> &'static str {
        match self {
            ExportFormat::Pdf => "application/pdf",
            ExportFormat::Png => "image/png",
            ExportFormat::Svg => "image/svg+xml",
            ExportFormat::Csv => "text/csv; charset=utf-8; header=present",
        }
    }

    /// The access-event outcome of an outsider's download (`export_pdf` …). Not `ok`, so a
    /// download is not counted as a page view.
    pub fn outcome(self) -> &'static str {
        match self {
            ExportFormat::Pdf => "export_pdf",
            ExportFormat::Png => "export_png",
            ExportFormat::Svg => "export_svg",
            ExportFormat::Csv => "export_csv",
        }
    }
}

/// Finished export renders per format, and requests refused because the pool stayed full.
#[derive(Debug, Default)]
pub struct ExportCounters {
    pdf: AtomicU64,
    png: AtomicU64,
    svg: AtomicU64,
    csv: AtomicU64,
    busy: AtomicU64,
}

/// A snapshot of [`ExportCounters`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ExportCounts {
    /// PDFs written.
    pub pdf: u64,
    /// PNGs written.
    pub png: u64,
    /// SVGs written.
    pub svg: u64,
    /// CSVs written.
    pub csv: u64,
    /// Requests answered 503 because no render permit came in time.
    pub busy: u64,
}

impl ExportCounters {
    fn count(&self, format: ExportFormat) {
        let counter = match format {
            ExportFormat::Pdf => &self.pdf,
            ExportFormat::Png => &self.png,
            ExportFormat::Svg => &self.svg,
            ExportFormat::Csv => &self.csv,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// The counts so far.
    pub fn snapshot(&self) -> ExportCounts {
        ExportCounts {
            pdf: self.pdf.load(Ordering::Relaxed),
            png: self.png.load(Ordering::Relaxed),
            svg: self.svg.load(Ordering::Relaxed),
            csv: self.csv.load(Ordering::Relaxed),
            busy: self.busy.load(Ordering::Relaxed),
        }
    }
}

/// The bounded render pool and its counters; one per server (`App::exports`).
#[derive(Debug)]
pub struct Exports {
    permits: Arc<Semaphore>,
    wait: Duration,
    counters: ExportCounters,
}

impl Exports {
    /// A pool of `concurrency` renders at once (at least one); a request waits at most `wait`.
    pub fn new(concurrency: usize, wait: Duration) -> Self {
        Exports {
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            wait,
            counters: ExportCounters::default(),
        }
    }

    /// The counters (for `/metrics`).
    pub fn counters(&self) -> &ExportCounters {
        &self.counters
    }

    /// Runs `work` on the blocking pool once a permit is free; 503 (`busy`, with
    /// `Retry-After`) when none frees up within the wait.
    async fn render<T: Send + 'static>(
        &self,
        format: ExportFormat,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Error> {
        let permit =
            match tokio::time::timeout(self.wait, self.permits.clone().acquire_owned()).await {
                Ok(Ok(permit)) => permit,
                Ok(Err(_)) | Err(_) => {
                    self.counters.busy.fetch_add(1, Ordering::Relaxed);
                    return Err(Error::Busy {
                        retry_after: self.wait.as_secs().clamp(1, 30),
                    });
                }
            };
        let out = tokio::task::spawn_blocking(move || {
            let out = work();
            drop(permit);
            out
        })
        .await
        .map_err(|e| Error::Internal(anyhow::anyhow!("export render task failed: {e}")))?;
        self.counters.count(format);
        Ok(out)
    }
}

// ---- building the files ----------------------------------------------------------------------

/// A finished download: what it is, the title its file name comes from, and its bytes. The
/// front door writes the headers (type, a safe `Content-Disposition`, `no-store`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportFile {
    /// The format.
    pub format: ExportFormat,
    /// The title the file is named after (`Sales - Revenue by region`); not yet safe for a
    /// header.
    pub title: String,
    /// The file's contents.
    pub bytes: Vec<u8>,
}

/// A widget file: PNG at `scale`, SVG or CSV. `Ok(None)` when the dashboard has no such
/// widget, or for a CSV of a text widget (it has no data).
#[allow(clippy::too_many_arguments)]
pub async fn widget_file(
    exports: &Exports,
    runner: &Runner,
    ctx: &DashboardContext,
    widget_id: &str,
    view: &ViewState,
    restrictions: &Restrictions,
    format: ExportFormat,
    scale: f32,
) -> Result<Option<ExportFile>, Error> {
    let style = |spec: &mut ChartSpec| {
        spec.options.background = true;
        spec.options.show_title = true;
        spec.options.sizing = Sizing::Fixed;
        if format != ExportFormat::Svg {
            spec.options.tooltips = false;
        }
    };
    let Some(WidgetExport {
        title, svg, table, ..
    }) = runner
        .export_widget(ctx, widget_id, view, restrictions, style)
        .await
    else {
        return Ok(None);
    };
    let name = file_title(&ctx.document.title, &title, widget_id);
    let bytes = match format {
        ExportFormat::Png => exports
            .render(format, move || render_png(&svg, scale))
            .await?
            .map_err(|e| Error::Internal(anyhow::anyhow!("PNG export: {}", e.detail())))?,
        ExportFormat::Svg => {
            exports.counters.count(format);
            svg.into_bytes()
        }
        ExportFormat::Csv => match table {
            None => return Ok(None),
            Some(Err(e)) => {
                return Err(Error::Unavailable(format!(
                    "widget {widget_id} failed for a CSV export: {}",
                    e.code()
                )));
            }
            Some(Ok(table)) => {
                exports.counters.count(format);
                render_csv(&table)
            }
        },
        ExportFormat::Pdf => return Ok(None),
    };
    Ok(Some(ExportFile {
        format,
        title: name,
        bytes,
    }))
}

fn file_title(dashboard: &str, widget: &str, widget_id: &str) -> String {
    let widget = if widget.trim().is_empty() {
        widget_id
    } else {
        widget
    };
    if dashboard.trim().is_empty() {
        widget.to_owned()
    } else {
        format!("{dashboard} - {widget}")
    }
}

/// What the PDF's header and footer say, besides the title.
#[derive(Debug, Clone, Default)]
pub struct PdfText {
    /// One line per filter in force (`Region: EMEA`).
    pub filters: Vec<String>,
    /// The footer.
    pub footer: String,
}

/// The dashboard (or only `only_widget`, full width) as PDF.
#[allow(clippy::too_many_arguments)]
pub async fn dashboard_pdf(
    exports: &Exports,
    runner: &Arc<Runner>,
    ctx: &Arc<DashboardContext>,
    view: &ViewState,
    restrictions: &Restrictions,
    only_widget: Option<&str>,
    paper: Paper,
    text: PdfText,
) -> Result<ExportFile, Error> {
    let doc = &ctx.document;
    let exported = runner
        .export_dashboard(ctx, view, restrictions, only_widget, |spec| {
            spec.options.background = true;
            spec.options.show_title = false;
            spec.options.tooltips = false;
            spec.theme = Theme::Light;
        })
        .await
        .map_err(|e| Error::Internal(anyhow::anyhow!("export widget task failed: {e}")))?;
    let widgets = exported
        .into_iter()
        .map(|export| {
            // A widget link's widget fills the page's width.
            let (x, y, w) = match only_widget {
                Some(_) => (0, 0, 12),
                None => (export.layout.x, export.layout.y, export.layout.w),
            };
            PdfWidget {
                title: export.title,
                svg: export.svg,
                x,
                y,
                w,
                h: export.layout.h,
            }
        })
        .collect();
    let document = PdfDocument {
        title: doc.title.clone(),
        filters: text.filters,
        generated_at: format!("Generated {}", generated_label(runner.now())),
        footer: text.footer,
        paper,
        widgets,
    };
    let bytes = exports
        .render(ExportFormat::Pdf, move || render_pdf(&document))
        .await?
        .map_err(|e| Error::Internal(anyhow::anyhow!("PDF export: {}", e.detail())))?;
    Ok(ExportFile {
        format: ExportFormat::Pdf,
        title: doc.title.clone(),
        bytes,
    })
}

fn generated_label(at: OffsetDateTime) -> String {
    at.format(format_description!(
        "[year]-[month]-[day] [hour]:[minute] UTC"
    ))
    .unwrap_or_default()
}

/// `paper=a4|letter` (default A4) and `scale=1|2` (default 1) from a raw query; other values,
/// the empty one included, are 400 (as the API document states).
pub fn export_params(query: &str) -> Result<(Paper, f32), Error> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap_or_default();
    let first = |key: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    let paper = match first("paper") {
        None | Some("a4") => Paper::A4,
        Some("letter") => Paper::Letter,
        Some(_) => return Err(Error::invalid_field("paper", "paper must be a4 or letter.")),
    };
    let scale = match first("scale") {
        None | Some("1") => 1.0,
        Some("2") => 2.0,
        Some(_) => return Err(Error::invalid_field("scale", "scale must be 1 or 2.")),
    };
    Ok((paper, scale))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_full_pool_answers_busy_after_the_wait_instead_of_queueing() {
        let pool = Arc::new(Exports::new(1, Duration::from_millis(50)));
        let (hold, held) = std::sync::mpsc::channel::<()>();
        let (started, is_running) = tokio::sync::oneshot::channel::<()>();
        let first = tokio::spawn({
            let pool = pool.clone();
            async move {
                pool.render(ExportFormat::Png, move || {
                    let _ = started.send(());
                    held.recv().ok();
                })
                .await
            }
        });
        is_running.await.unwrap();
        let second = pool.render(ExportFormat::Pdf, || ()).await;
        match second {
            Err(Error::Busy { retry_after }) => assert!(retry_after >= 1),
            other => panic!("expected busy, got {other:?}"),
        }
        hold.send(()).unwrap();
        first.await.unwrap().unwrap();
        // The permit is back: the next render runs.
        pool.render(ExportFormat::Pdf, || ()).await.unwrap();
        let counts = pool.counters().snapshot();
        assert_eq!((counts.png, counts.pdf, counts.busy), (1, 1, 1));
    }

    #[test]
    fn export_parameters() {
        assert_eq!(export_params("").unwrap(), (Paper::A4, 1.0));
        assert_eq!(
            export_params("paper=letter&scale=2").unwrap(),
            (Paper::Letter, 2.0)
        );
        assert!(export_params("scale=3").is_err());
        assert!(export_params("paper=a0").is_err());
        assert!(export_params("paper=").is_err());
        assert!(export_params("scale=").is_err());
    }
}
