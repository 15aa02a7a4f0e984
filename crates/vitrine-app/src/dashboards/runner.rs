//! The runner: a dashboard document + the viewer's filters + row-level rules → rendered
//! widgets, through the data sources' pools and the result cache.

use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeSet, HashMap};
use std::future::Future;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use time::OffsetDateTime;
use time::macros::format_description;
use tokio::sync::Semaphore;
use tracing::Instrument;
use vitrine_core::clock::Clock;
use vitrine_core::dashboard::{
    Aggregate, BarOrientation, BarStacking, Dashboard, EffectiveFilter, EffectiveValue, Filter,
    GridRect, RowLevelRule, Widget, WidgetKind, effective_filters,
};
use vitrine_core::result::{Column, ColumnType, ResultTable, Value};
use vitrine_data::{
    CacheKey, CacheStats, DataError, DataErrorKind, DataSource, DataSourceConfig,
    DataSourceOptions, Dataset, LruStats, ResultCache, WeightedLru, WidgetData, WidgetQueries,
    compile_distinct_values, compile_widget,
};
use vitrine_render::{
    ChartKind, ChartOptions, ChartSpec, Measure, Orientation, Stacking, TableView, Theme,
    render_error_svg, render_markdown_html, render_svg, render_table_html, render_text_svg,
};

use super::query::{FilterChoices, ViewState};
use super::restrict::Restrictions;

/// A dataset as the runner needs it: checked SQL and columns, and the data source it runs on.
#[derive(Debug, Clone)]
pub struct DatasetContext {
    /// The dataset (already checked when it was saved).
    pub dataset: Dataset,
    /// The data source's id and revision: pools are keyed by the id and replaced when the
    /// revision changes.
    pub source_key: (i64, i64),
    /// Where the data source lives.
    pub source: DataSourceConfig,
    /// Its limits (timeout, row cap, pool size).
    pub options: DataSourceOptions,
}

/// One dashboard, ready to run.
#[derive(Debug, Clone)]
pub struct DashboardContext {
    /// The dashboard's id.
    pub dashboard_id: i64,
    /// Its revision: bumped on every save, so an edit is never hidden behind a cached result.
    pub revision: i64,
    /// The document.
    pub document: Dashboard,
    /// Its datasets, by slug.
    pub datasets: HashMap<String, DatasetContext>,
    /// A hash of `document` as parsed, part of every drawn card's key: a card is drawn from
    /// its widget and the document as well as its result, and an id and revision do not
    /// always tell two documents apart (SQLite gives a deleted dashboard's id to the next one
    /// created, revision 1 again; every builder preview is dashboard 0, revision 0).
    pub fingerprint: u64,
}

/// Checks one rule against the dashboard's datasets (kept
/// beside [`DashboardContext`] so that `restrict` needs nothing of the runner): the one it names (which must be read by
/// the dashboard and have the column), or at least one of them; every dataset that has the
/// column must hold values of the rule's type. The message names what is wrong.
pub fn check_rule(ctx: &DashboardContext, rule: &RowLevelRule) -> Result<(), String> {
    if let Some(slug) = &rule.dataset
        && !ctx.datasets.contains_key(slug)
    {
        return Err(format!("the dashboard reads no dataset “{slug}”"));
    }
    let targets: Vec<&str> = match &rule.dataset {
        Some(slug) => vec![slug.as_str()],
        None => ctx.datasets.keys().map(String::as_str).collect(),
    };
    let mut found = false;
    for slug in targets {
        let Some(d) = ctx.datasets.get(slug) else {
            continue;
        };
        let columns = d.dataset.columns();
        if columns.iter().any(|c| c.name == rule.column) || rule.dataset.is_some() {
            found = true;
            vitrine_data::clause::check_rule_columns(std::slice::from_ref(rule), columns)?;
        }
    }
    if !found {
        return Err(format!(
            "unknown column `{}`: no dataset of the dashboard has it",
            rule.column
        ));
    }
    Ok(())
}

impl DashboardContext {
    /// A context for `document`, with its [`fingerprint`](Self::fingerprint).
    pub fn new(
        dashboard_id: i64,
        revision: i64,
        document: Dashboard,
        datasets: HashMap<String, DatasetContext>,
    ) -> Self {
        // Canonical JSON: the document is not `Hash` (it holds floats).
        let fingerprint = hash_of(&serde_json::to_string(&document).unwrap_or_default());
        DashboardContext {
            dashboard_id,
            revision,
            document,
            datasets,
            fingerprint,
        }
    }

    /// The column names of dataset `slug`, if the dashboard has that dataset.
    pub fn dataset_columns(&self, slug: &str) -> Option<Vec<String>> {
        self.datasets
            .get(slug)
            .map(|d| d.dataset.columns().iter().map(|c| c.name.clone()).collect())
    }
}

/// One widget, rendered.
#[derive(Debug, Clone, PartialEq)]
pub struct WidgetOutput {
    /// The widget's id.
    pub widget_id: String,
    /// Its title.
    pub title: String,
    /// Its kind.
    pub kind: WidgetKind,
    /// The widget as SVG (every kind; tables and text too, for static exports), or the polite
    /// error state.
    pub svg: String,
    /// The live page's HTML fragment: a table's page, or a text widget's Markdown.
    pub html: Option<String>,
    /// The same chart drawn for a phone's card (about 340 px wide), when the desktop drawing
    /// is much wider: scaled down, its text would shrink below legibility. The page shows one
    /// or the other by the viewport's width.
    pub svg_narrow: Option<String>,
    /// A hash of the result (not of the drawing), so a live update can skip unchanged widgets.
    pub data_hash: u64,
    /// The client-safe error code (`timeout`, `row_cap`, …) when the widget failed.
    pub error_code: Option<&'static str>,
    /// When its data was fetched (`None` for text widgets and errors).
    pub computed_at: Option<OffsetDateTime>,
}

/// A widget's data, as [`Runner::fetch_for_view`] found it.
enum Fetched<'w> {
    /// A text widget: its Markdown (no query).
    Text(&'w str),
    /// The result, when it was fetched, and its key in the result cache.
    Data(Arc<WidgetData>, OffsetDateTime, CacheKey),
    /// The query failed (already logged).
    Failed(DataError),
}

/// One widget, drawn for a download (see [`Runner::export_widget`]).
#[derive(Debug)]
pub struct WidgetExport {
    /// The widget's title.
    pub title: String,
    /// Its place on the grid.
    pub layout: GridRect,
    /// The drawing (or the polite error state).
    pub svg: String,
    /// The result as a table: `None` for text widgets, the error when the query failed.
    pub table: Option<Result<ResultTable, DataError>>,
}

/// The options of a select filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FilterOptions {
    /// Distinct values as text (what the URL carries), sorted, at most the cap.
    pub values: Vec<String>,
    /// True when there were more than the cap.
    pub truncated: bool,
    /// When the oldest of the cached results merged here was fetched (`None` for a result as
    /// the cache keeps it): what a page built from these options may be kept for.
    pub fetched_at: Option<OffsetDateTime>,
}

/// Limits of a [`Runner`].
#[derive(Debug, Clone, Copy)]
pub struct RunnerLimits {
    /// At most this many data-source pools are kept open (least recently used closed first).
    pub max_sources: usize,
    /// At most this many widget results are cached.
    pub cache_capacity: usize,
    /// The widget results together weigh at most this ([`WidgetData::heap_bytes`]); the
    /// filter options a quarter of it, the drawn cards half of it.
    pub cache_max_bytes: u64,
    /// At most this many widgets of one dashboard run at once.
    pub widget_concurrency: usize,
    /// At most this many options per select filter.
    pub filter_option_cap: u32,
}

impl Default for RunnerLimits {
    fn default() -> Self {
        RunnerLimits {
            max_sources: 32,
            cache_capacity: 2_000,
            cache_max_bytes: 64 << 20,
            widget_concurrency: 4,
            filter_option_cap: 500,
        }
    }
}

struct OpenSource {
    revision: i64,
    config: DataSourceConfig,
    options: DataSourceOptions,
    source: DataSource,
    used: u64,
}

#[derive(Default)]
struct Sources {
    by_id: HashMap<i64, OpenSource>,
    tick: u64,
}

/// Hits and misses of a [`Runner`]'s caches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunnerCacheStats {
    /// The widget-result cache.
    pub results: CacheStats,
    /// The select filters' options cache.
    pub filter_options: CacheStats,
    /// Drawn cards (SVG and HTML per result, theme and view options).
    pub drawn_cards: LruStats,
}

/// Runs dashboards: owns the data-source pools and the result caches. One per server, shared
/// (`Arc<Runner>`) by every request, so a popular dashboard costs one query per widget and
/// filter state per refresh interval.
pub struct Runner {
    clock: Arc<dyn Clock>,
    limits: RunnerLimits,
    sources: Mutex<Sources>,
    results: ResultCache<WidgetData>,
    options: ResultCache<FilterOptions>,
    /// Cards drawn from a cached result, by [`drawn_key`]: a view of a result already drawn
    /// for the same theme and options costs no drawing. Tied to the result's time, so a
    /// refreshed result is drawn afresh; link state is never part of it (the link is checked
    /// before any of this runs).
    drawn: WeightedLru<String, Arc<WidgetOutput>>,
    queries_run: AtomicU64,
}

impl std::fmt::Debug for Runner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runner")
            .field("limits", &self.limits)
            .field("open_sources", &self.open_sources())
            .field("results", &self.results)
            .field("queries_run", &self.queries_run())
            .finish()
    }
}

impl Runner {
    /// A runner with default limits.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self::with_limits(clock, RunnerLimits::default())
    }

    /// The limits it runs under.
    pub fn limits(&self) -> &RunnerLimits {
        &self.limits
    }

    /// A runner with these limits.
    pub fn with_limits(clock: Arc<dyn Clock>, limits: RunnerLimits) -> Self {
        Runner {
            results: ResultCache::new(clock.clone(), limits.cache_capacity)
                .with_max_bytes(limits.cache_max_bytes, WidgetData::heap_bytes),
            options: ResultCache::new(clock.clone(), limits.cache_capacity / 4 + 1)
                .with_max_bytes(limits.cache_max_bytes / 4, FilterOptions::heap_bytes),
            drawn: WeightedLru::new(limits.cache_capacity * 2, limits.cache_max_bytes / 2),
            clock,
            limits,
            sources: Mutex::new(Sources::default()),
            queries_run: AtomicU64::new(0),
        }
    }

    /// How many widget and filter-option fetches actually reached a data source (cache misses
    /// that ran), since start. For tests and metrics.
    pub fn queries_run(&self) -> u64 {
        self.queries_run.load(Ordering::SeqCst)
    }

    /// Hits and misses of the runner's two caches since start. A viewer who shared another
    /// viewer's in-flight query counts as a hit.
    pub fn cache_stats(&self) -> RunnerCacheStats {
        RunnerCacheStats {
            results: self.results.stats(),
            filter_options: self.options.stats(),
            drawn_cards: self.drawn.stats(),
        }
    }

    /// The number of open data-source pools.
    pub fn open_sources(&self) -> usize {
        self.lock_sources().by_id.len()
    }

    /// A reading that changes whenever a cached result or filter option is added, replaced,
    /// evicted or dropped ([`vitrine_data::ResultCache::generation`]): a page built from the
    /// caches at one reading is what they would build again at the same reading, while every
    /// result it used is fresh ([`Runner::fresh_until`]).
    pub fn cache_generation(&self) -> u64 {
        self.results.generation() + self.options.generation()
    }

    /// Until when a result fetched at `fetched_at` for `document` stays fresh in the caches.
    pub fn fresh_until(document: &Dashboard, fetched_at: OffsetDateTime) -> OffsetDateTime {
        let ttl =
            time::Duration::try_from(refresh_interval(document)).unwrap_or(time::Duration::MAX);
        fetched_at
            .checked_add(ttl)
            .unwrap_or(OffsetDateTime::new_utc(
                time::Date::MAX,
                time::Time::MIDNIGHT,
            ))
    }

    /// Now, from the injected clock.
    pub fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    fn lock_sources(&self) -> std::sync::MutexGuard<'_, Sources> {
        self.sources.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The pool of a data source: opened on first use, replaced when its revision (or
    /// configuration) changes, the least recently used closed past the limit.
    fn source(&self, ctx: &DatasetContext) -> Result<DataSource, DataError> {
        let (id, revision) = ctx.source_key;
        let mut sources = self.lock_sources();
        sources.tick += 1;
        let tick = sources.tick;
        if let Some(open) = sources.by_id.get_mut(&id)
            && open.revision == revision
            && open.config == ctx.source
            && open.options == ctx.options
        {
            open.used = tick;
            return Ok(open.source.clone());
        }
        let source = DataSource::open(&ctx.source, ctx.options)?;
        sources.by_id.insert(
            id,
            OpenSource {
                revision,
                config: ctx.source.clone(),
                options: ctx.options,
                source: source.clone(),
                used: tick,
            },
        );
        while sources.by_id.len() > self.limits.max_sources.max(1) {
            let Some(oldest) = sources
                .by_id
                .iter()
                .min_by_key(|(_, s)| s.used)
                .map(|(k, _)| *k)
            else {
                break;
            };
            sources.by_id.remove(&oldest);
        }
        Ok(source)
    }

    /// The effective filters of `ctx` under the viewer's `choices`, resolved now. Choices come
    /// from [`super::parse_view_query`] and always fit; should resolving fail anyway, the
    /// defaults apply.
    pub fn effective_filters(
        &self,
        document: &Dashboard,
        choices: &FilterChoices,
    ) -> Vec<EffectiveFilter> {
        let now = self.clock.now();
        // A filter the viewer cleared loses its default; the document's own filters serve
        // as they are when none was (the common case, and every kept page's view).
        let cleared: Vec<Filter>;
        let filters: &[Filter] = if choices.cleared.is_empty() {
            &document.filters
        } else {
            cleared = document
                .filters
                .iter()
                .map(|f| {
                    let mut f = f.clone();
                    if choices.cleared.contains(f.id.as_str()) {
                        f.default = None;
                    }
                    f
                })
                .collect();
            &cleared
        };
        match effective_filters(filters, &choices.chosen, now) {
            Ok(effective) => effective,
            Err(error) => {
                tracing::warn!(%error, "filter values did not resolve; using the defaults");
                effective_filters(&document.filters, &Default::default(), now).unwrap_or_default()
            }
        }
    }

    /// Runs and renders one widget. `None` when the dashboard has no such widget.
    pub async fn run_widget(
        &self,
        ctx: &DashboardContext,
        widget_id: &str,
        view: &ViewState,
        restrictions: &Restrictions,
    ) -> Option<WidgetOutput> {
        let widget = ctx
            .document
            .widget(widget_id)
            .filter(|w| !restrictions.is_hidden(w.id.as_str()))?;
        let span = tracing::info_span!(
            "widget",
            dashboard = ctx.dashboard_id,
            revision = ctx.revision,
            widget = %widget.id
        );
        Some(
            self.run(ctx, widget, view, restrictions)
                .instrument(span)
                .await,
        )
    }

    /// Runs and renders every widget of the dashboard, in document order, at most
    /// [`RunnerLimits::widget_concurrency`] at once (each on its own task, so rendering uses
    /// every core).
    pub async fn run_dashboard(
        self: &Arc<Self>,
        ctx: &Arc<DashboardContext>,
        view: &ViewState,
        restrictions: &Restrictions,
    ) -> Vec<WidgetOutput> {
        let view = Arc::new(view.clone());
        let hidden = restrictions.hidden();
        let shared = Arc::new(restrictions.clone());
        let theme = view.theme;
        let ran = self
            .each_widget(ctx, None, hidden, move |runner, ctx, id| {
                let (view, restrictions) = (view.clone(), shared.clone());
                async move { runner.run_widget(&ctx, &id, &view, &restrictions).await }
            })
            .await;
        let mut out = Vec::with_capacity(ran.len());
        for (widget, result) in ran {
            match result {
                Ok(Some(output)) => out.push(output),
                Ok(None) => {}
                Err(error) => {
                    let e = DataError::new(DataErrorKind::QueryFailed, error);
                    out.push(error_output(widget, theme, &e));
                }
            }
        }
        out
    }

    /// What a page shows: every widget ([`Runner::run_dashboard`]), or only `only_widget` (a
    /// single-widget share link; nothing when the dashboard has no such widget).
    pub async fn run_view(
        self: &Arc<Self>,
        ctx: &Arc<DashboardContext>,
        view: &ViewState,
        restrictions: &Restrictions,
        only_widget: Option<&str>,
    ) -> Vec<WidgetOutput> {
        match only_widget {
            None => self.run_dashboard(ctx, view, restrictions).await,
            Some(id) => self
                .run_widget(ctx, id, view, restrictions)
                .await
                .into_iter()
                .collect(),
        }
    }

    /// Runs `each` for every widget of the dashboard (only `only_widget` when given), in
    /// document order, at most [`RunnerLimits::widget_concurrency`] at once, each on its own
    /// task. A task that failed (panicked) gives its error's text, already logged.
    async fn each_widget<'c, T, F, Fut>(
        self: &Arc<Self>,
        ctx: &'c Arc<DashboardContext>,
        only_widget: Option<&str>,
        hidden: &BTreeSet<String>,
        each: F,
    ) -> Vec<(&'c Widget, Result<T, String>)>
    where
        T: Send + 'static,
        F: Fn(Arc<Runner>, Arc<DashboardContext>, String) -> Fut,
        Fut: Future<Output = T> + Send + 'static,
    {
        let permits = Arc::new(Semaphore::new(self.limits.widget_concurrency.max(1)));
        let mut tasks = Vec::with_capacity(ctx.document.widgets.len());
        for widget in &ctx.document.widgets {
            if only_widget.is_some_and(|only| only != widget.id.as_str())
                || hidden.contains(widget.id.as_str())
            {
                continue;
            }
            let work = each(self.clone(), ctx.clone(), widget.id.to_string());
            let permits = permits.clone();
            let task = tokio::spawn(
                async move {
                    let _permit = permits.acquire_owned().await;
                    work.await
                }
                .in_current_span(),
            );
            tasks.push((widget, task));
        }
        let mut out = Vec::with_capacity(tasks.len());
        for (widget, task) in tasks {
            let result = task.await.map_err(|error| {
                tracing::error!(%error, widget = %widget.id, "widget task failed");
                error.to_string()
            });
            out.push((widget, result));
        }
        out
    }

    async fn run(
        &self,
        ctx: &DashboardContext,
        widget: &Widget,
        view: &ViewState,
        restrictions: &Restrictions,
    ) -> WidgetOutput {
        let mut spec = chart_spec(widget, view.theme);
        spec.options.tooltips = !view.no_tooltips;
        match self.fetch_for_view(ctx, widget, view, restrictions).await {
            Fetched::Text(markdown) => WidgetOutput {
                widget_id: widget.id.to_string(),
                title: widget.title.clone(),
                kind: widget.kind,
                svg: render_text_svg(&spec, markdown),
                html: Some(render_markdown_html(markdown)),
                svg_narrow: None,
                data_hash: hash_of(markdown),
                error_code: None,
                computed_at: None,
            },
            Fetched::Data(data, computed_at, key) => {
                let drawn = drawn_key(&key, computed_at, ctx.fingerprint, widget, view);
                if let Some(out) = self.drawn.get(&drawn) {
                    return (*out).clone();
                }
                let mut out = render_data(widget, &spec, &data, view);
                out.computed_at = Some(computed_at);
                if let Some(narrow) = narrow_size(widget) {
                    let narrow_spec = spec.clone().size(narrow.0, narrow.1);
                    out.svg_narrow = Some(render_data(widget, &narrow_spec, &data, view).svg);
                }
                let weight = output_bytes(&out) + drawn.len();
                self.drawn.insert(drawn, Arc::new(out.clone()), weight);
                out
            }
            Fetched::Failed(e) => error_output(widget, view.theme, &e),
        }
    }

    /// A widget's data under `view` and `rules`, through the cache; a failure is logged here
    /// with its detail (SQL, driver text), inside the caller's span, and the viewer only ever
    /// sees its kind's polite sentence.
    async fn fetch_for_view<'w>(
        &self,
        ctx: &DashboardContext,
        widget: &'w Widget,
        view: &ViewState,
        restrictions: &Restrictions,
    ) -> Fetched<'w> {
        if widget.kind == WidgetKind::Text {
            return Fetched::Text(widget.options.markdown.as_deref().unwrap_or(""));
        }
        let effective = self.effective_filters(&ctx.document, &view.filters);
        match self.fetch(ctx, widget, &effective, restrictions).await {
            Ok((data, computed_at, key)) => Fetched::Data(data, computed_at, key),
            Err(e) => {
                tracing::warn!(code = e.code(), detail = e.detail(), "widget failed");
                Fetched::Failed(e)
            }
        }
    }

    /// Runs one widget for a download: the same data path as the page (effective filters
    /// from `view`, `rules`, the cache), drawn with the spec `style` adjusts (exports turn the
    /// card background on, which the page draws in HTML). Besides the drawing it returns the
    /// result as a table for CSV: `None` for a text widget, the client-safe error when the
    /// query failed (the drawing is then the polite error state). `None` when the dashboard has
    /// no such widget.
    pub async fn export_widget(
        &self,
        ctx: &DashboardContext,
        widget_id: &str,
        view: &ViewState,
        restrictions: &Restrictions,
        style: impl FnOnce(&mut ChartSpec),
    ) -> Option<WidgetExport> {
        let widget = ctx
            .document
            .widget(widget_id)
            .filter(|w| !restrictions.is_hidden(w.id.as_str()))?;
        let span = tracing::info_span!(
            "export_widget",
            dashboard = ctx.dashboard_id,
            revision = ctx.revision,
            widget = %widget.id
        );
        let mut spec = chart_spec(widget, view.theme);
        spec.options.tooltips = !view.no_tooltips;
        style(&mut spec);
        let (svg, table) = match self
            .fetch_for_view(ctx, widget, view, restrictions)
            .instrument(span)
            .await
        {
            Fetched::Text(markdown) => (render_text_svg(&spec, markdown), None),
            Fetched::Data(data, ..) => (
                render_data(widget, &spec, &data, view).svg,
                Some(Ok(table_of(&data))),
            ),
            Fetched::Failed(e) => (render_error_svg(&spec, e.client_message()), Some(Err(e))),
        };
        Some(WidgetExport {
            title: widget.title.clone(),
            layout: widget.layout,
            svg,
            table,
        })
    }

    /// Every widget for a download ([`Runner::export_widget`], only `only_widget` when given),
    /// in document order, under the same concurrency limit as a page view.
    pub async fn export_dashboard(
        self: &Arc<Self>,
        ctx: &Arc<DashboardContext>,
        view: &ViewState,
        restrictions: &Restrictions,
        only_widget: Option<&str>,
        style: fn(&mut ChartSpec),
    ) -> Result<Vec<WidgetExport>, String> {
        let view = Arc::new(view.clone());
        let hidden = restrictions.hidden();
        let shared = Arc::new(restrictions.clone());
        let ran = self
            .each_widget(ctx, only_widget, hidden, move |runner, ctx, id| {
                let (view, restrictions) = (view.clone(), shared.clone());
                async move {
                    runner
                        .export_widget(&ctx, &id, &view, &restrictions, style)
                        .await
                }
            })
            .await;
        let mut out = Vec::with_capacity(ran.len());
        for (_, result) in ran {
            out.extend(result?);
        }
        Ok(out)
    }

    async fn fetch(
        &self,
        ctx: &DashboardContext,
        widget: &Widget,
        effective: &[EffectiveFilter],
        restrictions: &Restrictions,
    ) -> Result<(Arc<WidgetData>, OffsetDateTime, CacheKey), DataError> {
        let query = widget
            .query
            .as_ref()
            .ok_or_else(|| DataError::invalid(format!("widget `{}` has no query", widget.id)))?;
        let dataset = ctx.datasets.get(query.dataset.as_str()).ok_or_else(|| {
            DataError::invalid(format!(
                "dataset `{}` is not available to dashboard {}",
                query.dataset, ctx.dashboard_id
            ))
        })?;
        let dialect = dataset.source.dialect();
        let rules = restrictions.rules_for(query.dataset.as_str());
        let confined = confine_comparisons(effective, query.dataset.as_str(), rules);
        let effective = confined.as_deref().unwrap_or(effective);
        let queries = compile_widget(dialect, widget, &dataset.dataset, effective, rules)?;
        let key = CacheKey::new(
            &widget_identity(ctx, widget, dataset, &queries),
            effective,
            rules,
        );
        let ttl = refresh_interval(&ctx.document);
        let cached = self
            .results
            .get_or_run(key.clone(), ttl, || async {
                let source = self.source(dataset)?;
                self.queries_run.fetch_add(1, Ordering::SeqCst);
                source.run_widget(&queries).await
            })
            .await?;
        Ok((cached.value, cached.computed_at, key))
    }

    /// The options of select filter `filter_id`: the distinct values of its column in every
    /// dataset it is bound to (row-level rules applied), merged, sorted, capped, and cached for
    /// the refresh interval. `None` when there is no such select filter.
    pub async fn filter_options(
        &self,
        ctx: &DashboardContext,
        filter_id: &str,
        restrictions: &Restrictions,
    ) -> Option<Result<FilterOptions, DataError>> {
        let filter = ctx.document.filter(filter_id)?;
        if !matches!(
            filter.kind,
            vitrine_core::dashboard::FilterKind::SingleSelect
                | vitrine_core::dashboard::FilterKind::MultiSelect
        ) {
            return None;
        }
        let span = tracing::info_span!("filter_options", dashboard = ctx.dashboard_id, filter = %filter.id);
        Some(
            self.options_of(ctx, filter, restrictions)
                .instrument(span)
                .await
                .inspect_err(|e| {
                    tracing::warn!(
                        code = e.code(),
                        detail = e.detail(),
                        "filter options failed"
                    );
                }),
        )
    }

    async fn options_of(
        &self,
        ctx: &DashboardContext,
        filter: &Filter,
        restrictions: &Restrictions,
    ) -> Result<FilterOptions, DataError> {
        let cap = self.limits.filter_option_cap.max(1);
        let ttl = refresh_interval(&ctx.document);
        let mut values = BTreeSet::new();
        let mut truncated = false;
        let mut last_error = None;
        let mut any_ok = false;
        let mut fetched_at = None;
        for (slug, column) in &filter.columns {
            let Some(dataset) = ctx.datasets.get(slug.as_str()) else {
                continue;
            };
            // A dataset some restriction cannot cover offers no options (fail closed).
            if !restrictions.covers(slug.as_str()) {
                continue;
            }
            let rules = restrictions.rules_for(slug.as_str());
            let compiled = compile_distinct_values(
                dataset.source.dialect(),
                &dataset.dataset,
                column,
                cap + 1,
                rules,
            );
            let compiled = match compiled {
                Ok(c) => c,
                Err(e) => {
                    last_error = Some(e);
                    continue;
                }
            };
            let identity = format!(
                "{}/filter:{}@{}#{}.{}#{:x}",
                ctx.dashboard_id,
                filter.id,
                ctx.revision,
                dataset.source_key.0,
                dataset.source_key.1,
                hash_of(&compiled.sql)
            );
            let fetched = self
                .options
                .get_or_run(CacheKey::new(&identity, &[], rules), ttl, || async {
                    let source = self.source(dataset)?;
                    self.queries_run.fetch_add(1, Ordering::SeqCst);
                    let table = source.run(&compiled).await?;
                    let truncated = table.truncated || table.rows.len() > cap as usize;
                    let values = table
                        .rows
                        .iter()
                        .filter_map(|r| r.first().and_then(option_text))
                        .take(cap as usize)
                        .collect();
                    Ok(FilterOptions {
                        values,
                        truncated,
                        fetched_at: None,
                    })
                })
                .await;
            match fetched {
                Ok(c) => {
                    fetched_at = Some(
                        fetched_at
                            .map_or(c.computed_at, |at: OffsetDateTime| at.min(c.computed_at)),
                    );
                    any_ok = true;
                    truncated |= c.value.truncated;
                    values.extend(c.value.values.iter().cloned());
                }
                Err(e) => last_error = Some(e),
            }
        }
        match (any_ok, last_error) {
            (false, Some(e)) => Err(e),
            _ => {
                truncated |= values.len() > cap as usize;
                Ok(FilterOptions {
                    values: values.into_iter().take(cap as usize).collect(),
                    truncated,
                    fetched_at,
                })
            }
        }
    }
}

/// A time as the pages show it: `17:42:05 UTC`.
pub fn clock_label(at: OffsetDateTime) -> String {
    at.format(format_description!("[hour]:[minute]:[second] UTC"))
        .unwrap_or_default()
}

/// A KPI compares its period with the previous one. When a restriction confines a date
/// filter's column (a link locked to Q1), the previous period lies outside what the viewer may
/// see: drop the comparison rather than run a query the rules would empty (a "change" against
/// nothing). `None` when nothing needs confining.
fn confine_comparisons(
    effective: &[EffectiveFilter],
    dataset: &str,
    rules: &[RowLevelRule],
) -> Option<Vec<EffectiveFilter>> {
    let confined = |f: &EffectiveFilter| {
        matches!(
            f.value,
            EffectiveValue::DateRange {
                previous: Some(_),
                ..
            }
        ) && f
            .columns
            .get(dataset)
            .is_some_and(|column| rules.iter().any(|r| r.column == *column))
    };
    if !effective.iter().any(confined) {
        return None;
    }
    Some(
        effective
            .iter()
            .map(|f| {
                let mut f = f.clone();
                if confined(&f)
                    && let EffectiveValue::DateRange { previous, .. } = &mut f.value
                {
                    *previous = None;
                }
                f
            })
            .collect(),
    )
}

/// The text a value travels as in a URL and a select option; `None` for NULL.
pub fn option_text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::Bool(b) => Some(b.to_string()),
        Value::Int(i) => Some(i.to_string()),
        Value::Float(f) => Some(f.to_string()),
        Value::Text(t) => Some(t.clone()),
    }
}

fn refresh_interval(d: &Dashboard) -> Duration {
    Duration::from_secs(u64::from(d.refresh_seconds.max(1)))
}

/// What identifies a widget's definition in the cache: `{dashboard}/{widget}@{revision}`, plus
/// the data source's revision and a hash of the compiled SQL, so that editing a dataset or a
/// data source (which need not bump the dashboard's revision) is not hidden behind an old
/// result either. Values are not in the SQL; the key adds the effective filters and rules.
fn widget_identity(
    ctx: &DashboardContext,
    widget: &Widget,
    dataset: &DatasetContext,
    queries: &WidgetQueries,
) -> String {
    let sql = match queries {
        WidgetQueries::Single { query } => hash_of(&query.sql),
        WidgetQueries::Kpi(k) => hash_of(&(
            &k.current.sql,
            k.previous.as_ref().map(|q| &q.sql),
            k.sparkline.as_ref().map(|q| &q.sql),
        )),
    };
    format!(
        "{}/{}@{}#{}.{}#{sql:x}",
        ctx.dashboard_id, widget.id, ctx.revision, dataset.source_key.0, dataset.source_key.1
    )
}

fn hash_of<T: Hash + ?Sized>(v: &T) -> u64 {
    let mut h = DefaultHasher::new();
    v.hash(&mut h);
    h.finish()
}

/// What identifies a drawn card: the result (its cache key — widget identity with the
/// dashboard's revision, effective filters, rules — and the time it was fetched), the
/// document it is drawn for ([`DashboardContext::fingerprint`]) and every view option the
/// drawing depends on (theme, tooltips, a table's sort and page).
fn drawn_key(
    result: &CacheKey,
    computed_at: OffsetDateTime,
    document: u64,
    widget: &Widget,
    view: &ViewState,
) -> String {
    let table = (widget.kind == WidgetKind::Table).then(|| view.table(widget.id.as_str()));
    format!(
        "{}|{}|{document:x}|{:?}|{}|{:?}",
        result.as_str(),
        computed_at.unix_timestamp_nanos(),
        view.theme,
        view.no_tooltips,
        table
    )
}

/// About the heap bytes of a drawn card.
fn output_bytes(out: &WidgetOutput) -> usize {
    std::mem::size_of::<WidgetOutput>()
        + out.widget_id.len()
        + out.title.len()
        + out.svg.len()
        + out.html.as_ref().map_or(0, String::len)
        + out.svg_narrow.as_ref().map_or(0, String::len)
}

impl FilterOptions {
    /// About the heap bytes these options hold.
    pub fn heap_bytes(&self) -> usize {
        self.values
            .iter()
            .map(|v| v.capacity() + std::mem::size_of::<String>())
            .sum()
    }
}

/// A hash of a result: its canonical JSON (floats are not `Hash`).
fn hash_data(data: &WidgetData) -> u64 {
    hash_of(&serde_json::to_string(data).unwrap_or_default())
}

fn error_output(widget: &Widget, theme: Theme, e: &DataError) -> WidgetOutput {
    let spec = chart_spec(widget, theme);
    WidgetOutput {
        widget_id: widget.id.to_string(),
        title: widget.title.clone(),
        kind: widget.kind,
        svg: render_error_svg(&spec, e.client_message()),
        html: None,
        svg_narrow: None,
        data_hash: hash_of(e.code()),
        error_code: Some(e.code()),
        computed_at: None,
    }
}

fn render_data(
    widget: &Widget,
    spec: &ChartSpec,
    data: &WidgetData,
    view: &ViewState,
) -> WidgetOutput {
    let data_hash = hash_data(data);
    let (svg, html) = match data {
        WidgetData::Table(table) if widget.kind == WidgetKind::Table => {
            let request = view.table(widget.id.as_str());
            let table_view = TableView {
                page: request.page.max(1),
                page_size: widget.options.page_size.unwrap_or(25).max(1) as usize,
                sort: request.sort,
            };
            (
                render_svg(spec, table),
                Some(render_table_html(spec, table, &table_view)),
            )
        }
        WidgetData::Table(table) => (render_svg(spec, table), None),
        WidgetData::Kpi {
            column,
            value,
            previous,
            sparkline,
        } => {
            let (spec, table) =
                kpi_input(widget, spec, column.as_ref(), value, previous, sparkline);
            (render_svg(&spec, &table), None)
        }
    };
    WidgetOutput {
        widget_id: widget.id.to_string(),
        title: widget.title.clone(),
        kind: widget.kind,
        svg,
        html,
        svg_narrow: None,
        data_hash,
        error_code: None,
        computed_at: None,
    }
}

/// A widget's result as one table: a chart's result as it is; a KPI as one row with its value
/// (and the previous period's, when compared) under the measure's name.
fn table_of(data: &WidgetData) -> ResultTable {
    match data {
        WidgetData::Table(table) => table.clone(),
        WidgetData::Kpi {
            column,
            value,
            previous,
            ..
        } => {
            let (name, kind) = column
                .as_ref()
                .map_or(("value".to_owned(), ColumnType::Number), |c| {
                    (c.name.clone(), c.kind)
                });
            let mut columns = vec![Column {
                name: name.clone(),
                kind,
            }];
            let mut row = vec![value.clone()];
            if let Some(previous) = previous {
                columns.push(Column {
                    name: format!("{name}_previous"),
                    kind,
                });
                row.push(previous.clone());
            }
            ResultTable {
                columns,
                rows: vec![row],
                truncated: false,
            }
        }
    }
}

/// The renderer's spec for a widget: kind, title, dimension (the first dimension's output
/// name), series, measures with their number formats and labels, bar orientation and
/// stacking, theme. The page draws the card and the title in HTML, so the SVG has neither.
pub fn chart_spec(widget: &Widget, theme: Theme) -> ChartSpec {
    let kind = match widget.kind {
        WidgetKind::Kpi => ChartKind::Kpi,
        WidgetKind::Line => ChartKind::Line,
        WidgetKind::Area => ChartKind::Area,
        WidgetKind::Bar => ChartKind::Bar,
        WidgetKind::Pie => ChartKind::Pie,
        WidgetKind::Table | WidgetKind::Text => ChartKind::Table,
    };
    let (width, height) = svg_size(widget);
    let mut spec = ChartSpec::new(kind, widget.title.clone())
        .theme(theme)
        .size(width, height);
    spec.options = ChartOptions {
        orientation: match widget.options.orientation.unwrap_or_default() {
            BarOrientation::Vertical => Orientation::Vertical,
            BarOrientation::Horizontal => Orientation::Horizontal,
        },
        stacking: match widget.options.stacking.unwrap_or_default() {
            BarStacking::Grouped => Stacking::Grouped,
            BarStacking::Stacked => Stacking::Stacked,
        },
        background: false,
        show_title: false,
        ..ChartOptions::default()
    };
    if let Some(q) = &widget.query {
        spec.dimension = q.dimensions.first().map(|d| d.output_name().to_string());
        spec.series = q.series.clone();
        spec.measures = q
            .measures
            .iter()
            .map(|m| {
                let name = m.output_name();
                let format = widget
                    .options
                    .number_formats
                    .get(&name)
                    .cloned()
                    .unwrap_or_default();
                let label = match (&m.name, &m.column) {
                    (Some(n), _) => n.clone(),
                    (None, None) => "Count".to_string(),
                    (None, Some(c)) => format!("{} {c}", agg_label(m.agg)),
                };
                Measure::new(name).label(label).format(format)
            })
            .collect();
    }
    spec
}

fn agg_label(agg: Aggregate) -> &'static str {
    match agg {
        Aggregate::Count => "Count of",
        Aggregate::CountDistinct => "Distinct",
        Aggregate::Sum => "Sum of",
        Aggregate::Avg => "Average",
        Aggregate::Min => "Min",
        Aggregate::Max => "Max",
    }
}

/// The width a phone gives a card: a 390 px screen less the page's and the card's padding.
pub const NARROW_WIDTH: f64 = 340.0;

/// The size of a chart's phone drawing ([`WidgetOutput::svg_narrow`]), when its desktop
/// drawing is wider than a phone's card by enough to shrink its text: [`NARROW_WIDTH`] wide, as
/// tall as on the desktop but within 200–300 px (a phone scrolls; a chart needs room for its
/// axis and legend). Tables and text are HTML and reflow by themselves.
pub fn narrow_size(widget: &Widget) -> Option<(f64, f64)> {
    if matches!(widget.kind, WidgetKind::Table | WidgetKind::Text) {
        return None;
    }
    let (width, height) = svg_size(widget);
    (width > NARROW_WIDTH * 1.2).then(|| (NARROW_WIDTH, height.clamp(200.0, 300.0)))
}

/// The drawing size of a widget, in CSS pixels, from its grid cells: the page's grid
/// (`dashboard.css`) has 12 columns of about 84 px and rows of 80 px with 16 px gaps, and a
/// card spends about 56 px on its header and padding. The `viewBox` keeps this proportion
/// when the card is wider or narrower.
pub fn svg_size(widget: &Widget) -> (f64, f64) {
    const COL: f64 = 84.0;
    const ROW: f64 = 80.0;
    const GAP: f64 = 16.0;
    let w = f64::from(widget.layout.w.max(1));
    let h = f64::from(widget.layout.h.max(1));
    let width = w * COL + (w - 1.0) * GAP - 24.0;
    let height = h * ROW + (h - 1.0) * GAP - 56.0;
    (width, height)
}

/// Turns a KPI's figures into the table the renderer's KPI reads.
///
/// The renderer shows the *last* value of its measure column, compares it with the comparison
/// column on that row, and draws the whole column as the sparkline. The data layer's KPI value
/// is the measure over the whole filtered period, not the last bucket, so a per-bucket
/// sparkline would end on a different number than the one shown. Instead the sparkline shows
/// the period building up — a running total for `count` / `sum`, a running min / max for
/// `min` / `max` — whose last point *is* the value. When the running figure does not end on
/// the value (`avg`, `count_distinct`, a limit that cut buckets), the card shows the value and
/// its change without a sparkline rather than a misleading one.
fn kpi_input(
    widget: &Widget,
    spec: &ChartSpec,
    column: Option<&Column>,
    value: &Value,
    previous: &Option<Value>,
    sparkline: &Option<ResultTable>,
) -> (ChartSpec, ResultTable) {
    let mut spec = spec.clone();
    let Some(measure) = spec.measures.first().map(|m| m.column.clone()) else {
        return (spec, ResultTable::default());
    };
    let comparison = format!("{measure}__previous");
    let kind = column.map_or(ColumnType::Number, |c| c.kind);
    let measure_col = Column {
        name: measure.clone(),
        kind,
    };
    let comparison_col = Column {
        name: comparison.clone(),
        kind,
    };
    spec.options.comparison = previous.as_ref().map(|_| comparison.clone());
    let prev = previous.clone().unwrap_or(Value::Null);

    let agg = widget
        .query
        .as_ref()
        .and_then(|q| q.measures.first())
        .map(|m| m.agg);
    let running = match (sparkline, &spec.dimension, value.as_f64(), agg) {
        (Some(t), Some(dim), Some(target), Some(agg)) => running_series(t, dim, &measure, agg)
            .filter(|points| {
                points.len() >= 2
                    && points.last().is_some_and(|(_, last)| {
                        (last - target).abs() <= 1e-9 * target.abs().max(1.0)
                    })
            })
            .map(|points| (dim.clone(), points)),
        _ => None,
    };
    let mut table = ResultTable::default();
    match running {
        Some((dim, points)) => {
            table.columns = vec![
                Column {
                    name: dim,
                    kind: ColumnType::Date,
                },
                measure_col,
                comparison_col,
            ];
            let n = points.len();
            for (i, (bucket, v)) in points.into_iter().enumerate() {
                let figure = if kind == ColumnType::Integer && v.fract() == 0.0 {
                    Value::Int(v as i64)
                } else {
                    Value::Float(v)
                };
                let cmp = if i + 1 == n {
                    prev.clone()
                } else {
                    Value::Null
                };
                table.rows.push(vec![bucket, figure, cmp]);
            }
            // The last row holds the exact value (not a float sum of the buckets).
            if let Some(last) = table.rows.last_mut() {
                last[1] = value.clone();
            }
        }
        None => {
            spec.dimension = None;
            table.columns = vec![measure_col, comparison_col];
            table.rows.push(vec![value.clone(), prev]);
        }
    }
    (spec, table)
}

/// The running figure of a sparkline, per bucket in time order; `None` when the aggregate
/// does not accumulate (`avg`, `count_distinct`) or the table lacks the columns.
fn running_series(
    t: &ResultTable,
    dim: &str,
    measure: &str,
    agg: Aggregate,
) -> Option<Vec<(Value, f64)>> {
    let (d, m) = (t.column_index(dim)?, t.column_index(measure)?);
    let step: fn(f64, f64) -> f64 = match agg {
        Aggregate::Count | Aggregate::Sum => |acc, v| acc + v,
        Aggregate::Min => f64::min,
        Aggregate::Max => f64::max,
        Aggregate::Avg | Aggregate::CountDistinct => return None,
    };
    let mut rows: Vec<(&Value, Option<f64>)> = t
        .rows
        .iter()
        .map(|r| (&r[d], r.get(m).and_then(Value::as_f64)))
        .collect();
    if rows.iter().any(|(b, _)| matches!(b, Value::Null)) {
        // Rows without a date are in the value but on no point of the line.
        return None;
    }
    rows.sort_by(|a, b| match (a.0, b.0) {
        (Value::Text(x), Value::Text(y)) => x.cmp(y),
        _ => std::cmp::Ordering::Equal,
    });
    let mut acc: Option<f64> = None;
    let mut out = Vec::with_capacity(rows.len());
    for (bucket, v) in rows {
        if let Some(v) = v {
            acc = Some(acc.map_or(v, |a| step(a, v)));
        }
        if let Some(a) = acc {
            out.push((bucket.clone(), a));
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use vitrine_core::dashboard::Dashboard;

    fn kpi(agg: &str) -> Widget {
        let column = if agg == "count" {
            ""
        } else {
            ", column: amount"
        };
        Dashboard::from_yaml(&format!(
            r#"
version: 1
title: T
widgets:
  - id: k
    title: Revenue
    kind: kpi
    layout: {{x: 0, y: 0, w: 3, h: 2}}
    query: {{dataset: orders, dimensions: [{{column: day, bucket: day}}], measures: [{{agg: {agg}{column}}}]}}
"#
        ))
        .unwrap()
        .widgets
        .remove(0)
    }

    fn spark(points: &[(&str, f64)], measure: &str) -> ResultTable {
        ResultTable {
            columns: vec![
                Column {
                    name: "day".into(),
                    kind: ColumnType::Date,
                },
                Column {
                    name: measure.into(),
                    kind: ColumnType::Number,
                },
            ],
            rows: points
                .iter()
                .map(|(d, v)| vec![Value::Text((*d).into()), Value::Float(*v)])
                .collect(),
            truncated: false,
        }
    }

    #[test]
    fn a_sum_kpi_draws_its_running_total_ending_on_the_value() {
        let w = kpi("sum");
        let spec = chart_spec(&w, Theme::Light);
        let s = spark(
            &[
                ("2026-11-02", 5.0),
                ("2026-11-01", 10.0),
                ("2026-11-03", 15.0),
            ],
            "sum_amount",
        );
        let (spec, table) = kpi_input(
            &w,
            &spec,
            None,
            &Value::Float(30.0),
            &Some(Value::Float(20.0)),
            &Some(s),
        );
        assert_eq!(
            spec.options.comparison.as_deref(),
            Some("sum_amount__previous")
        );
        let figures: Vec<_> = table.rows.iter().map(|r| r[1].as_f64().unwrap()).collect();
        assert_eq!(figures, [10.0, 15.0, 30.0]);
        assert_eq!(table.rows[2][2], Value::Float(20.0));
        assert_eq!(table.rows[0][2], Value::Null);
        assert!(spec.validate(&table).is_ok());
    }

    #[test]
    fn an_average_kpi_shows_its_value_without_a_sparkline_that_would_disagree() {
        let w = kpi("avg");
        let spec = chart_spec(&w, Theme::Light);
        let s = spark(&[("2026-11-01", 10.0), ("2026-11-02", 20.0)], "avg_amount");
        let (spec, table) = kpi_input(&w, &spec, None, &Value::Float(12.5), &None, &Some(s));
        assert_eq!(spec.dimension, None);
        assert_eq!(spec.options.comparison, None);
        assert_eq!(table.rows, vec![vec![Value::Float(12.5), Value::Null]]);
        assert!(spec.validate(&table).is_ok());
        let svg = render_svg(&spec, &table);
        assert!(svg.contains("12.5"), "{svg}");
    }

    #[test]
    fn widgets_map_onto_the_renderers_spec() {
        let d = Dashboard::from_yaml(
            r#"
version: 1
title: T
widgets:
  - id: b
    title: By plan
    kind: bar
    layout: {x: 0, y: 0, w: 6, h: 4}
    options: {orientation: horizontal, stacking: stacked, number_formats: {mrr: {style: currency, currency: EUR}}}
    query: {dataset: o, dimensions: [{column: month, bucket: month}], series: plan, measures: [{agg: sum, column: amount, name: mrr}]}
"#,
        )
        .unwrap();
        let spec = chart_spec(&d.widgets[0], Theme::Dark);
        assert_eq!(spec.kind, ChartKind::Bar);
        assert_eq!(spec.title, "By plan");
        assert_eq!(spec.dimension.as_deref(), Some("month"));
        assert_eq!(spec.series.as_deref(), Some("plan"));
        assert_eq!(spec.measures[0].column, "mrr");
        assert_eq!(
            spec.measures[0].format,
            vitrine_core::result::NumberFormat::Currency {
                currency: "EUR".into()
            }
        );
        assert_eq!(spec.options.orientation, Orientation::Horizontal);
        assert_eq!(spec.options.stacking, Stacking::Stacked);
        assert_eq!(spec.theme, Theme::Dark);
        assert!(!spec.options.background && !spec.options.show_title);
    }
}
