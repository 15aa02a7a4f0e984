//! The visual builder's services: what may be chosen over a dataset, a widget's live
//! preview, a dataset's trial run, which dashboards use a dataset, the starter documents a new
//! dashboard can begin from, and the YAML ⇄ document round trip the builder's two tabs share.
//!
//! Nothing here has rules of its own: choices come from [`vitrine_core::dashboard::builder_choices`]
//! (which asks the same `validate` a saved YAML document goes through), previews run through
//! the normal [`crate::dashboards::Runner`] (its cache, timeout and row cap), and dataset runs
//! use the checks a saved dataset gets (one read-only `SELECT`, the data source's timeout and
//! row cap). The builder is only another client of these.

use std::collections::HashMap;
use std::sync::Arc;

use serde::Serialize;
use vitrine_core::dashboard::{
    Aggregate, BuilderChoices, Dashboard, DashboardStatus, DatasetColumns, Dimension, GridRect,
    Measure, SCHEMA_VERSION, Slug, SortDirection, SortKey, TimeBucket, Widget, WidgetKind,
    WidgetOptions, WidgetQuery, builder_choices, validate,
};
use vitrine_core::id::{DashboardId, DataSourceId, DatasetId};
use vitrine_core::result::{Column, ColumnType, Value};
use vitrine_data::{CompiledQuery, DataError, DataErrorKind, check_dataset_sql};
use vitrine_store::Member;

use crate::content::{self, DashboardSummary, data_options, dataset_columns, unseal};
use crate::dashboards::{DashboardContext, DatasetContext, parse_view_query};
use crate::{App, Error};

/// The most rows a dataset's trial run shows.
pub const RUN_ROWS: usize = 50;

fn editor_only(member: &Member) -> Result<(), Error> {
    if member.actor().can_edit_content() {
        Ok(())
    } else {
        Err(Error::Forbidden)
    }
}

/// Whether `member` may use the builder on `dashboard`: on an existing dashboard, whoever may
/// edit it — the same right its edit page and its save ask ([`content::editable_dashboard`]:
/// an editor's role on a dashboard they see, or an editor grant on this one, which is what an
/// invitation to edit one dashboard gives a viewer; 404 when they may not see it, 403 when
/// they may only view it); for a new dashboard (`None`), an editor's role.
pub async fn authorize(
    state: &App,
    member: &Member,
    dashboard: Option<DashboardId>,
) -> Result<(), Error> {
    match dashboard {
        Some(id) => content::editable_dashboard(state, member, id)
            .await
            .map(|_| ()),
        None => editor_only(member),
    }
}

/// The builder's choices over one dataset of the member's workspace, for building
/// `dashboard` (`None`: a new one; see [`authorize`]).
pub async fn dataset_choices(
    state: &App,
    member: &Member,
    dashboard: Option<DashboardId>,
    id: DatasetId,
) -> Result<BuilderChoices, Error> {
    authorize(state, member, dashboard).await?;
    let record = state
        .store
        .dataset(member.workspace_id, id)
        .await?
        .ok_or(Error::NotFound)?;
    Ok(builder_choices(&record.slug, &dataset_columns(&record)))
}

/// A widget drawn by the runner for the builder's preview.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct WidgetPreview {
    /// The widget's id.
    pub widget: String,
    /// The drawing (SVG), or the polite error state.
    pub svg: String,
    /// A table's page or a text widget's Markdown as HTML, when the kind has one.
    pub html: Option<String>,
    /// The client-safe error code (`timeout`, `row_cap`, …) when the query failed.
    pub error_code: Option<String>,
}

/// Runs one widget of an unsaved `document` (filters' defaults applied) through the runner,
/// for a member building `dashboard` (see [`authorize`]), under the member's own data rules.
///
/// Only that widget and the document's filters are validated (other widgets may be half
/// edited); an invalid one is [`Error::Invalid`] with validation's messages.
pub async fn preview_widget(
    state: &App,
    member: &Member,
    dashboard: Option<DashboardId>,
    document: &Dashboard,
    widget_id: &str,
) -> Result<WidgetPreview, Error> {
    authorize(state, member, dashboard).await?;
    let widget = document
        .widget(widget_id)
        .cloned()
        .ok_or_else(|| Error::invalid_field("widget", "No widget has this id."))?;
    let mut mini = document.clone();
    mini.widgets = vec![widget];
    let named = content::datasets_named(&mini);
    let mut columns = DatasetColumns::new();
    let mut records = Vec::new();
    for slug in &named {
        if let Some(record) = state
            .store
            .dataset_by_slug(member.workspace_id, slug)
            .await?
        {
            columns.insert(slug.clone(), dataset_columns(&record));
            records.push(record);
        }
    }
    validate(&mini, &columns).map_err(|e| Error::invalid(e.to_string()))?;
    let mut datasets = HashMap::new();
    for record in records {
        let source = state
            .store
            .data_source(member.workspace_id, record.data_source_id)
            .await?
            .ok_or(Error::NotFound)?;
        let config = unseal(state, &source)?;
        let checked = vitrine_data::Dataset::new(
            config.dialect(),
            record.slug.clone(),
            &record.sql,
            dataset_columns(&record),
        )
        .map_err(|e| Error::invalid(e.message().to_owned()))?;
        datasets.insert(
            record.slug.clone(),
            DatasetContext {
                dataset: checked,
                source_key: (source.id.0, source.revision),
                source: config,
                options: data_options(state),
            },
        );
    }
    // Previews are keyed apart from saved dashboards (id 0); the compiled SQL is part of
    // every cache key, so equal queries share a result and different ones never do, and the
    // document's fingerprint is part of every drawn card's.
    let ctx = Arc::new(DashboardContext::new(0, 0, mini, datasets));
    let view = parse_view_query(&ctx.document, "");
    // A member under data rules previews their own rows only, as on every page they view
    // (the builder opens to viewers who were given one dashboard to edit).
    let restrictions = crate::data_permissions::member_restrictions(state, member, &ctx).await?;
    if restrictions.is_hidden(widget_id) {
        return Err(Error::invalid_field(
            "widget",
            "Your data rules name a column this widget's dataset does not have, so it would \
             not be shown to you.",
        ));
    }
    let out = state
        .runner
        .run_widget(&ctx, widget_id, &view, &restrictions)
        .await
        .ok_or(Error::NotFound)?;
    Ok(WidgetPreview {
        widget: out.widget_id,
        svg: out.svg,
        html: out.html,
        error_code: out.error_code.map(str::to_owned),
    })
}

/// What the builder sends to be checked: the YAML tab's text, or the builder's document with
/// the YAML it replaces (whose comments are kept, see [`document_yaml`]).
#[derive(Debug, Clone, Copy)]
pub enum CheckInput<'a> {
    /// The YAML tab's text, checked as it is.
    Yaml(&'a str),
    /// The builder's document, written as YAML over `previous`.
    Document {
        /// The document.
        document: &'a Dashboard,
        /// The YAML it replaces, if any.
        previous: Option<&'a str>,
    },
}

/// Checks a document for a member building `dashboard` (see [`authorize`]) exactly as saving
/// would (against the workspace's datasets), without saving it: its YAML and the parsed
/// document, the builder's two tabs.
pub async fn check_document(
    state: &App,
    member: &Member,
    dashboard: Option<DashboardId>,
    input: CheckInput<'_>,
) -> Result<(String, Dashboard), Error> {
    authorize(state, member, dashboard).await?;
    let yaml = match input {
        CheckInput::Yaml(yaml) => yaml.to_owned(),
        CheckInput::Document { document, previous } => document_yaml(document, previous),
    };
    let doc = content::check_document(state, member.workspace_id, &yaml).await?;
    Ok((yaml, doc))
}

/// A new dashboard's starter (see [`starter_document`]) over dataset `dataset` of the member's
/// workspace, or blank; creating dashboards needs an editor's role.
pub async fn starter(
    state: &App,
    member: &Member,
    title: &str,
    dataset: Option<DatasetId>,
) -> Result<Dashboard, Error> {
    editor_only(member)?;
    if title.chars().count() > 200 {
        return Err(Error::invalid_field(
            "title",
            "The title is longer than 200 characters.",
        ));
    }
    Ok(match dataset {
        None => starter_document(title, None),
        Some(id) => {
            let record = state
                .store
                .dataset(member.workspace_id, id)
                .await?
                .ok_or(Error::NotFound)?;
            let columns = dataset_columns(&record);
            starter_document(title, Some((&record.slug, &columns)))
        }
    })
}

/// What a dataset's SQL gives: its columns with their types and its first rows.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DatasetRun {
    /// The discovered columns, with their types.
    pub columns: Vec<Column>,
    /// The first rows (at most [`RUN_ROWS`]), one cell per column: `null`, a boolean, a
    /// number, or text (dates and timestamps as ISO-8601 text).
    #[schema(schema_with = cell_rows)]
    pub rows: Vec<Vec<Value>>,
    /// True when there were more rows than shown.
    pub truncated: bool,
}

/// `rows`: arrays of scalar cells (null, boolean, number or string).
fn cell_rows() -> utoipa::openapi::schema::ArrayBuilder {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, SchemaType, Type};
    let cell = ObjectBuilder::new().schema_type(SchemaType::from_iter([
        Type::Null,
        Type::Boolean,
        Type::Number,
        Type::String,
    ]));
    ArrayBuilder::new().items(ArrayBuilder::new().items(cell))
}

/// Runs a dataset's SQL on a data source, read-only, under its timeout and row cap: the
/// columns and their types, and the first [`RUN_ROWS`] rows. A query that fails is
/// [`Error::Invalid`] with the reason in plain words.
pub async fn run_dataset(
    state: &App,
    member: &Member,
    data_source_id: DataSourceId,
    sql: &str,
) -> Result<DatasetRun, Error> {
    editor_only(member)?;
    let source = state
        .store
        .data_source(member.workspace_id, data_source_id)
        .await?
        .ok_or_else(|| Error::invalid_field("data_source_id", "Choose a data source."))?;
    let config = unseal(state, &source)?;
    let sql = check_dataset_sql(config.dialect(), sql)
        .map_err(|e| Error::invalid_field("sql", e.message().to_owned()))?;
    let connection = vitrine_data::DataSource::open(&config, data_options(state))
        .map_err(|e| Error::invalid(format!("Could not connect: {}", e.client_message())))?;
    let columns = connection
        .discover_columns(&sql)
        .await
        .map_err(|e| failed(&e))?;
    let query = CompiledQuery {
        dialect: config.dialect(),
        sql: format!(
            "SELECT * FROM ({sql}) AS vitrine_run LIMIT {}",
            RUN_ROWS + 1
        ),
        params: Vec::new(),
        columns: columns.clone(),
    };
    let table = connection.run(&query).await.map_err(|e| failed(&e))?;
    let truncated = table.rows.len() > RUN_ROWS || table.truncated;
    let rows = table.rows.into_iter().take(RUN_ROWS).collect();
    Ok(DatasetRun {
        columns,
        rows,
        truncated,
    })
}

fn failed(e: &DataError) -> Error {
    tracing::info!(code = e.code(), detail = e.detail(), "dataset run failed");
    Error::invalid_field("sql", plain_words(e))
}

/// The reason a query failed, for the member who wrote it: the common database complaints
/// (an unknown column or table, a syntax error) retold with the name at fault, anything else
/// as the data layer's polite sentence. Never the driver's whole text (it can hold paths).
pub fn plain_words(e: &DataError) -> String {
    let detail = e.detail();
    let quoted = |s: &str| -> Option<String> {
        let name: String = s
            .trim_start_matches([' ', '"', '`', '\''])
            .chars()
            .take_while(|c| c.is_alphanumeric() || matches!(c, '_' | '.'))
            .take(64)
            .collect();
        (!name.is_empty()).then_some(name)
    };
    let after = |marker: &str| {
        detail
            .find(marker)
            .and_then(|i| quoted(&detail[i + marker.len()..]))
    };
    if e.kind() == DataErrorKind::InvalidDefinition && !detail.contains('/') {
        // Our own checks (one read-only SELECT, distinct column names) are already plain.
        return format!("The query cannot be used: {detail}.");
    }
    if let Some(name) = after("no such column:") {
        return format!("The query names a column `{name}` that its tables do not have.");
    }
    if let Some(name) = after("no such table:") {
        return format!("The query reads a table `{name}` that does not exist.");
    }
    if let Some(i) = detail.find("column \"")
        && detail[i..].contains("does not exist")
        && let Some(name) = quoted(&detail[i + 7..])
    {
        return format!("The query names a column `{name}` that its tables do not have.");
    }
    if let Some(i) = detail.find("relation \"")
        && detail[i..].contains("does not exist")
        && let Some(name) = quoted(&detail[i + 9..])
    {
        return format!("The query reads a table `{name}` that does not exist.");
    }
    if let Some(name) = after("Unknown column '") {
        return format!("The query names a column `{name}` that its tables do not have.");
    }
    if detail.contains("syntax error") || detail.contains("You have an error in your SQL syntax") {
        return match after("near ").or_else(|| after("at or near ")) {
            Some(near) => format!("The SQL has a syntax error near `{near}`."),
            None => "The SQL has a syntax error.".to_owned(),
        };
    }
    match e.kind() {
        DataErrorKind::Timeout => {
            "The query took longer than the data source's timeout and was stopped.".to_owned()
        }
        DataErrorKind::RowCap => {
            "The query returns more rows than the data source's row cap.".to_owned()
        }
        _ => format!("The query could not run: {}", e.client_message()),
    }
}

/// The dashboards that use a dataset, as one member may know them: those they may see, and
/// how many others there are (restricted dashboards they were not given). A change or a
/// deletion touches all of them; only the titles of the first are theirs to read.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct DatasetUsers {
    /// The dashboards using it that the member may see.
    pub dashboards: Vec<DashboardSummary>,
    /// How many more use it that the member may not see.
    pub hidden: usize,
}

impl DatasetUsers {
    /// Whether no dashboard uses the dataset.
    pub fn is_empty(&self) -> bool {
        self.dashboards.is_empty() && self.hidden == 0
    }
}

/// The dashboards of the member's workspace whose widgets or filters use dataset `id`.
pub async fn dataset_used_by(
    state: &App,
    member: &Member,
    id: DatasetId,
) -> Result<DatasetUsers, Error> {
    editor_only(member)?;
    let record = state
        .store
        .dataset(member.workspace_id, id)
        .await?
        .ok_or(Error::NotFound)?;
    let mut users = dataset_users(state, member).await?;
    Ok(users.remove(&record.slug).unwrap_or_default())
}

/// For every dataset slug of the member's workspace that some dashboard uses, those
/// dashboards (one pass over the dashboards, for the datasets page), filtered by what the
/// member may see ([`content::DashboardAccess`]).
pub async fn dataset_users(
    state: &App,
    member: &Member,
) -> Result<HashMap<String, DatasetUsers>, Error> {
    editor_only(member)?;
    let access = content::DashboardAccess::of(state, member).await?;
    let mut users: HashMap<String, DatasetUsers> = HashMap::new();
    for d in state.store.dashboards(member.workspace_id).await? {
        if let Ok(doc) = Dashboard::from_yaml(&d.document) {
            let visible = access.can_view(member, &d);
            for slug in content::datasets_named(&doc) {
                let entry = users.entry(slug).or_default();
                if visible {
                    entry.dashboards.push(DashboardSummary::from(&d));
                } else {
                    entry.hidden += 1;
                }
            }
        }
    }
    Ok(users)
}

/// A new dashboard: blank, or a starter over a dataset with `columns`: a KPI (row count), a
/// trend line over its first date column (when it has one), a breakdown bar over its first
/// text column (when it has one) and a table of its first columns.
pub fn starter_document(title: &str, dataset: Option<(&str, &[Column])>) -> Dashboard {
    let mut doc = Dashboard {
        version: SCHEMA_VERSION,
        title: if title.trim().is_empty() {
            "New dashboard".to_owned()
        } else {
            title.trim().to_owned()
        },
        description: String::new(),
        refresh_seconds: 300,
        status: DashboardStatus::Draft,
        filters: Vec::new(),
        widgets: Vec::new(),
    };
    let Some((slug, columns)) = dataset else {
        return doc;
    };
    let Ok(dataset) = Slug::parse(slug) else {
        return doc;
    };
    let id = |s: &str| Slug::parse(s).ok();
    let count = || Measure {
        agg: Aggregate::Count,
        column: None,
        name: Some("rows".into()),
    };
    let query = |dimensions: Vec<Dimension>, limit: Option<u32>| WidgetQuery {
        dataset: dataset.clone(),
        dimensions,
        measures: vec![count()],
        series: None,
        sort: Vec::new(),
        limit,
    };
    let widget = |wid: &str, title: String, kind, layout, q| {
        id(wid).map(|id| Widget {
            id,
            title,
            kind,
            layout,
            query: Some(q),
            options: WidgetOptions::default(),
            same_for_every_audience: false,
        })
    };
    let rect = |x, y, w, h| GridRect { x, y, w, h };
    let date = columns.iter().find(|c| c.kind.is_temporal());
    let text = columns.iter().find(|c| c.kind == ColumnType::Text);
    let mut kpi = query(Vec::new(), None);
    if let Some(d) = date {
        kpi.dimensions = vec![Dimension {
            column: d.name.clone(),
            bucket: Some(TimeBucket::Month),
        }];
    }
    doc.widgets.extend(widget(
        "rows",
        "Rows".into(),
        WidgetKind::Kpi,
        rect(0, 0, 4, 3),
        kpi,
    ));
    if let Some(d) = date {
        doc.widgets.extend(widget(
            "trend",
            format!("Rows by {}", d.name),
            WidgetKind::Line,
            rect(4, 0, 8, 3),
            query(
                vec![Dimension {
                    column: d.name.clone(),
                    bucket: Some(TimeBucket::Month),
                }],
                None,
            ),
        ));
    }
    if let Some(t) = text {
        let mut q = query(
            vec![Dimension {
                column: t.name.clone(),
                bucket: None,
            }],
            Some(10),
        );
        q.sort = vec![SortKey {
            by: "rows".into(),
            direction: SortDirection::Desc,
        }];
        doc.widgets.extend(widget(
            "breakdown",
            format!("Rows by {}", t.name),
            WidgetKind::Bar,
            rect(0, 3, 6, 4),
            q,
        ));
    }
    let table_dims: Vec<Dimension> = columns
        .iter()
        .take(4)
        .map(|c| Dimension {
            column: c.name.clone(),
            bucket: None,
        })
        .collect();
    if !table_dims.is_empty() {
        let mut q = query(table_dims, Some(100));
        q.measures.clear();
        let (x, w) = if text.is_some() { (6, 6) } else { (0, 12) };
        doc.widgets.extend(widget(
            "table",
            format!("First rows of {slug}"),
            WidgetKind::Table,
            rect(x, 3, w, 4),
            q,
        ));
    }
    doc
}

/// The comment lines at the top of a YAML document (before its first key), which the builder
/// keeps when it rewrites the document.
pub fn leading_comments(yaml: &str) -> String {
    let mut out = String::new();
    for line in yaml.lines() {
        let t = line.trim_start();
        if t.starts_with('#') || t.is_empty() {
            out.push_str(line);
            out.push('\n');
        } else {
            break;
        }
    }
    // Blank lines alone are not worth keeping.
    if out.trim().is_empty() {
        String::new()
    } else {
        out
    }
}

/// The document as YAML, written over `previous` (the YAML it came from), keeping what the
/// author wrote where nothing changed: the leading comment block; the text, comments included,
/// of every top-level key whose value did not change (`title: Board # for the board`); and,
/// in `widgets` and `filters`, the text of every item (with the comment lines just above it)
/// whose value did not change, matched by its `id`, whatever its place. Changed and new parts
/// are written anew, without comments (serde's YAML writer has none). The result is parsed
/// back and must equal `document`; when it does not (an unusual layout), only the leading
/// comment block is kept.
pub fn document_yaml(document: &Dashboard, previous: Option<&str>) -> String {
    let fresh = document.to_yaml();
    let Some(previous) = previous else {
        return fresh;
    };
    let simple = format!("{}{fresh}", leading_comments(previous));
    let Ok(before) = Dashboard::from_yaml(previous) else {
        return simple;
    };
    if &before == document {
        return previous.to_owned();
    }
    match splice(&before, previous, document, &fresh) {
        Some(text) if Dashboard::from_yaml(&text).is_ok_and(|d| &d == document) => text,
        _ => simple,
    }
}

/// The new document's YAML (`fresh`), with the unchanged parts taken from `previous`.
fn splice(before: &Dashboard, previous: &str, document: &Dashboard, fresh: &str) -> Option<String> {
    let old_json = serde_json::to_value(before).ok()?;
    let new_json = serde_json::to_value(document).ok()?;
    let old_lines: Vec<&str> = previous.lines().collect();
    let new_lines: Vec<&str> = fresh.lines().collect();
    let (head, old_keys) = split_blocks(&old_lines, false, 0);
    let (_, new_keys) = split_blocks(&new_lines, false, 0);
    let mut out: Vec<String> = head.iter().map(|l| (*l).to_owned()).collect();
    for chunk in &new_keys {
        let key = block_key(chunk)?;
        let old = old_keys.iter().find(|c| block_key(c) == Some(key));
        let lines = match old {
            Some(old) if old_json.get(key) == new_json.get(key) => owned(old),
            Some(old) if key == "widgets" || key == "filters" => {
                splice_items(old, chunk, old_json.get(key)?, new_json.get(key)?)
                    .unwrap_or_else(|| owned(chunk))
            }
            _ => owned(chunk),
        };
        out.extend(lines);
    }
    let mut text = out.join("\n");
    text.push('\n');
    Some(text)
}

fn owned(lines: &[&str]) -> Vec<String> {
    lines.iter().map(|l| (*l).to_owned()).collect()
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

/// The key a top-level block starts with.
fn block_key<'a>(chunk: &[&'a str]) -> Option<&'a str> {
    chunk.iter().find_map(|l| top_level_key(l))
}

fn top_level_key(line: &str) -> Option<&str> {
    let first = line.chars().next()?;
    if first.is_whitespace() || matches!(first, '#' | '-' | '%' | '[' | '{' | '?' | '.') {
        return None;
    }
    let (key, _) = line.split_once(':')?;
    Some(key.trim().trim_matches(['"', '\'']))
}

/// Cuts `lines` at its entries: top-level keys (`items` false) or the `- ` items of a
/// sequence at indentation `level`. Gives the lines before the first entry, then each entry
/// with the comment and blank lines just above it (comments at most `level` deep; deeper ones
/// belong to the text around them, e.g. a Markdown heading in a block scalar). The comments
/// above the first top-level key are the document's head, not that key's.
fn split_blocks<'a>(
    lines: &[&'a str],
    items: bool,
    level: usize,
) -> (Vec<&'a str>, Vec<Vec<&'a str>>) {
    let starts = |line: &str| {
        if items {
            indent(line) == level && line.trim_start().starts_with('-')
        } else {
            top_level_key(line).is_some()
        }
    };
    let mut head = Vec::new();
    let mut chunks: Vec<Vec<&str>> = Vec::new();
    let mut pending: Vec<&str> = Vec::new();
    for &line in lines {
        let t = line.trim_start();
        if t.is_empty() || (t.starts_with('#') && indent(line) <= level) {
            pending.push(line);
            continue;
        }
        if starts(line) {
            if chunks.is_empty() && !items {
                head.append(&mut pending);
            }
            let mut chunk = std::mem::take(&mut pending);
            chunk.push(line);
            chunks.push(chunk);
        } else {
            let to = chunks.last_mut().unwrap_or(&mut head);
            to.append(&mut pending);
            to.push(line);
        }
    }
    chunks.last_mut().unwrap_or(&mut head).append(&mut pending);
    (head, chunks)
}

/// A top-level block's key line (and the comments above it), the indentation of its sequence
/// items, and the items.
type Items = (Vec<String>, usize, Vec<Vec<String>>);

fn items_of(chunk: &[&str]) -> Option<Items> {
    let at = chunk.iter().position(|l| top_level_key(l).is_some())?;
    let body = &chunk[at + 1..];
    let level = body
        .iter()
        .find(|l| l.trim_start().starts_with('-'))
        .map(|l| indent(l))?;
    let (lead, items) = split_blocks(body, true, level);
    if lead.iter().any(|l| !l.trim().is_empty()) {
        return None;
    }
    Some((
        owned(&chunk[..=at]),
        level,
        items.iter().map(|c| owned(c)).collect(),
    ))
}

/// A `widgets` or `filters` block: the old text of every item whose value did not change
/// (by id), the new text of the others, at the old block's indentation.
fn splice_items(
    old: &[&str],
    new: &[&str],
    old_list: &serde_json::Value,
    new_list: &serde_json::Value,
) -> Option<Vec<String>> {
    let (old_list, new_list) = (old_list.as_array()?, new_list.as_array()?);
    let (header, old_level, old_items) = items_of(old)?;
    let (_, new_level, new_items) = items_of(new)?;
    if old_items.len() != old_list.len() || new_items.len() != new_list.len() {
        return None;
    }
    let by = old_level as isize - new_level as isize;
    let mut out = header;
    for (item, value) in new_items.iter().zip(new_list) {
        match old_list.iter().position(|o| o == value) {
            Some(i) => out.extend(old_items[i].iter().cloned()),
            None => out.extend(shift(item, by)?),
        }
    }
    Some(out)
}

/// `lines` moved right (or left) by `by` spaces; `None` when a line is not indented enough.
fn shift(lines: &[String], by: isize) -> Option<Vec<String>> {
    lines
        .iter()
        .map(|l| {
            if l.trim().is_empty() || by == 0 {
                Some(l.clone())
            } else if by > 0 {
                Some(format!("{}{l}", " ".repeat(by.unsigned_abs())))
            } else {
                let n = by.unsigned_abs();
                (indent(l) >= n).then(|| l[n..].to_owned())
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(name: &str, kind: ColumnType) -> Column {
        Column {
            name: name.into(),
            kind,
        }
    }

    #[test]
    fn a_starter_has_a_kpi_a_trend_a_breakdown_and_a_table_that_validate() {
        let cols = vec![
            col("id", ColumnType::Integer),
            col("day", ColumnType::Date),
            col("plan", ColumnType::Text),
            col("amount", ColumnType::Number),
        ];
        let doc = starter_document("Sales", Some(("sales", &cols)));
        let kinds: Vec<_> = doc.widgets.iter().map(|w| w.kind).collect();
        assert_eq!(
            kinds,
            [
                WidgetKind::Kpi,
                WidgetKind::Line,
                WidgetKind::Bar,
                WidgetKind::Table
            ]
        );
        let known = DatasetColumns::from([("sales".to_owned(), cols)]);
        validate(&doc, &known).unwrap();
        Dashboard::from_yaml(&doc.to_yaml()).unwrap();
    }

    #[test]
    fn a_starter_without_dates_or_text_still_validates() {
        let cols = vec![col("n", ColumnType::Integer)];
        let doc = starter_document("", Some(("numbers", &cols)));
        assert_eq!(doc.title, "New dashboard");
        let known = DatasetColumns::from([("numbers".to_owned(), cols)]);
        validate(&doc, &known).unwrap();
        assert!(starter_document("Blank", None).widgets.is_empty());
    }

    #[test]
    fn the_leading_comment_block_survives_a_rewrite() {
        let yaml = "# Board pack\n# owner: finance\nversion: 1\ntitle: A # inline\n";
        let doc = Dashboard::from_yaml(yaml).unwrap();
        let out = document_yaml(&doc, Some(yaml));
        assert!(out.starts_with("# Board pack\n# owner: finance\n"));
        assert_eq!(Dashboard::from_yaml(&out).unwrap(), doc);
    }

    const COMMENTED: &str = "# Board pack\nversion: 1\ntitle: Sales # shown on top\nfilters:\n  # the region picker\n  - id: region\n    label: Region\n    kind: single_select\n    columns: { orders: region }  # orders only\nwidgets:\n  # revenue, the main number\n  - id: revenue\n    title: Revenue\n    kind: kpi\n    layout: { x: 0, y: 0, w: 4, h: 3 }\n    query:\n      dataset: orders\n      measures: [{ agg: sum, column: amount }] # in EUR\n  # the breakdown\n  - id: by-plan\n    title: By plan\n    kind: text\n    layout: { x: 4, y: 0, w: 8, h: 3 }\n    options:\n      markdown: |\n        # A heading, not a comment\n\n        Text.\n# the end\n";

    #[test]
    fn comments_in_unchanged_keys_widgets_and_filters_survive_a_builder_change() {
        let before = Dashboard::from_yaml(COMMENTED).unwrap();
        // Nothing changed: the text as it was.
        assert_eq!(document_yaml(&before, Some(COMMENTED)), COMMENTED);
        // One widget changes: only its text (and the comment above it) is written anew.
        let mut doc = before.clone();
        doc.widgets[0].title = "Revenue (EUR)".into();
        let out = document_yaml(&doc, Some(COMMENTED));
        assert_eq!(Dashboard::from_yaml(&out).unwrap(), doc, "{out}");
        for kept in [
            "# Board pack\n",
            "title: Sales # shown on top\n",
            "  # the region picker\n",
            "# orders only\n",
            "  # the breakdown\n",
            "        # A heading, not a comment\n",
            "# the end\n",
        ] {
            assert!(out.contains(kept), "{kept:?} lost:\n{out}");
        }
        assert!(!out.contains("# in EUR") && !out.contains("# revenue, the main number"));
        // A new widget, a moved one and a changed title: the rest keeps its comments.
        let mut doc = before.clone();
        doc.title = "Sales board".into();
        doc.widgets.swap(0, 1);
        let mut copy = doc.widgets[1].clone();
        copy.id = Slug::parse("revenue-copy").unwrap();
        copy.layout.y = 3;
        doc.widgets.push(copy);
        let out = document_yaml(&doc, Some(COMMENTED));
        assert_eq!(Dashboard::from_yaml(&out).unwrap(), doc, "{out}");
        assert!(!out.contains("# shown on top"));
        for kept in [
            "# in EUR",
            "# revenue, the main number",
            "# the breakdown",
            "# the region picker",
        ] {
            assert!(out.contains(kept), "{kept:?} lost:\n{out}");
        }
        assert!(out.find("# the breakdown") < out.find("# revenue, the main number"));
        // A filter removed: its comments go with it.
        let mut doc = before.clone();
        doc.filters.clear();
        let out = document_yaml(&doc, Some(COMMENTED));
        assert_eq!(Dashboard::from_yaml(&out).unwrap(), doc, "{out}");
        assert!(!out.contains("region picker") && out.contains("# in EUR"));
    }

    #[test]
    fn database_complaints_are_retold_with_the_name_at_fault() {
        let e = DataError::new(DataErrorKind::QueryFailed, "no such column: amout");
        assert_eq!(
            plain_words(&e),
            "The query names a column `amout` that its tables do not have."
        );
        let e = DataError::new(
            DataErrorKind::QueryFailed,
            "error returned from database: relation \"orderz\" does not exist",
        );
        assert!(plain_words(&e).contains("`orderz`"));
        let e = DataError::new(DataErrorKind::QueryFailed, "near \"SELEC\": syntax error");
        assert_eq!(plain_words(&e), "The SQL has a syntax error near `SELEC`.");
        let e = DataError::new(DataErrorKind::Unavailable, "cannot open /srv/secret/db");
        assert!(!plain_words(&e).contains("/srv"));
    }
}
