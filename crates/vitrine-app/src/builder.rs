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
use vitrine_core::id::{DataSourceId, DatasetId};
use vitrine_core::result::{Column, ColumnType, Value};
use vitrine_data::{CompiledQuery, DataError, DataErrorKind, check_dataset_sql};
use vitrine_store::Member;

use crate::content::{self, DashboardSummary, data_options, dataset_columns, unseal};
use crate::dashboards::{DashboardContext, DatasetContext, Restrictions, parse_view_query};
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

/// The builder's choices over one dataset of the member's workspace.
pub async fn dataset_choices(
    state: &App,
    member: &Member,
    id: DatasetId,
) -> Result<BuilderChoices, Error> {
    editor_only(member)?;
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

/// Runs one widget of an unsaved `document` (filters' defaults applied) through the runner.
///
/// Only that widget and the document's filters are validated (other widgets may be half
/// edited); an invalid one is [`Error::Invalid`] with validation's messages.
pub async fn preview_widget(
    state: &App,
    member: &Member,
    document: &Dashboard,
    widget_id: &str,
) -> Result<WidgetPreview, Error> {
    editor_only(member)?;
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
    let ctx = Arc::new(DashboardContext {
        // Previews are keyed apart from saved dashboards (id 0); the compiled SQL is part of
        // every cache key, so equal queries share a result and different ones never do.
        dashboard_id: 0,
        revision: 0,
        document: mini,
        datasets,
    });
    let view = parse_view_query(&ctx.document, "");
    let out = state
        .runner
        .run_widget(&ctx, widget_id, &view, &Restrictions::none())
        .await
        .ok_or(Error::NotFound)?;
    Ok(WidgetPreview {
        widget: out.widget_id,
        svg: out.svg,
        html: out.html,
        error_code: out.error_code.map(str::to_owned),
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

/// The dashboards of the member's workspace whose widgets or filters use dataset `id`.
pub async fn dataset_used_by(
    state: &App,
    member: &Member,
    id: DatasetId,
) -> Result<Vec<DashboardSummary>, Error> {
    editor_only(member)?;
    let record = state
        .store
        .dataset(member.workspace_id, id)
        .await?
        .ok_or(Error::NotFound)?;
    Ok(state
        .store
        .dashboards(member.workspace_id)
        .await?
        .iter()
        .filter(|d| {
            Dashboard::from_yaml(&d.document)
                .is_ok_and(|doc| content::datasets_named(&doc).contains(&record.slug))
        })
        .map(DashboardSummary::from)
        .collect())
}

/// For every dataset slug of the member's workspace that some dashboard uses, those
/// dashboards (one pass over the dashboards, for the datasets page).
pub async fn dataset_users(
    state: &App,
    member: &Member,
) -> Result<HashMap<String, Vec<DashboardSummary>>, Error> {
    editor_only(member)?;
    let mut users: HashMap<String, Vec<DashboardSummary>> = HashMap::new();
    for d in state.store.dashboards(member.workspace_id).await? {
        if let Ok(doc) = Dashboard::from_yaml(&d.document) {
            for slug in content::datasets_named(&doc) {
                users
                    .entry(slug)
                    .or_default()
                    .push(DashboardSummary::from(&d));
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

/// The document as YAML, keeping the leading comment block of `previous` (the YAML it came
/// from), if any. Comments elsewhere do not survive (serde's YAML writer has no comments).
pub fn document_yaml(document: &Dashboard, previous: Option<&str>) -> String {
    let head = previous.map(leading_comments).unwrap_or_default();
    format!("{head}{}", document.to_yaml())
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
