//! The live page's table: an HTML fragment, sorted and paged on the server.
//!
//! Headers carry `data-sort-column` / `data-sort-dir` (the direction a click
//! asks for) and `aria-sort`; the pager carries `data-page`. A small script
//! on the page turns clicks into a request for the fragment with the new
//! view. Numeric cells carry their raw value in `data-value`. Every header,
//! cell and attribute value is escaped.

use crate::chart::table::TableModel;
use crate::escape::{Esc, w};
use crate::spec::ChartSpec;
use vitrine_core::result::ResultTable;

/// A sort order for a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSort {
    /// The result column to sort by.
    pub column: String,
    /// Largest first.
    pub descending: bool,
}

/// Which part of a table to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableView {
    /// The page, from 1; pages past the end show the last page.
    pub page: usize,
    /// Rows per page (at least 1).
    pub page_size: usize,
    /// The sort order; `None` keeps the query's order.
    pub sort: Option<TableSort>,
}

impl Default for TableView {
    fn default() -> Self {
        TableView {
            page: 1,
            page_size: 25,
            sort: None,
        }
    }
}

/// Renders one page of `table` as an HTML fragment.
pub fn render_table_html(spec: &ChartSpec, table: &ResultTable, view: &TableView) -> String {
    let model = TableModel::new(spec, table);
    let total = table.rows.len();
    let size = view.page_size.max(1);
    let pages = total.div_ceil(size).max(1);
    let page = view.page.clamp(1, pages);
    let sort_col = view
        .sort
        .as_ref()
        .and_then(|s| table.column_index(&s.column));
    let descending = view.sort.as_ref().is_some_and(|s| s.descending);
    let order = model.sorted_rows(sort_col, descending);
    let mut out = String::with_capacity(256 + size * table.columns.len() * 48);
    w(
        &mut out,
        format_args!(
            r#"<div class="vt-table" data-page="{page}" data-pages="{pages}" data-page-size="{size}" data-rows="{total}">"#
        ),
    );
    if table.columns.is_empty() || total == 0 {
        out.push_str(r#"<p class="vt-empty">No data</p></div>"#);
        return out;
    }
    out.push_str("<table>");
    if !spec.title.trim().is_empty() {
        w(
            &mut out,
            format_args!("<caption>{}</caption>", Esc(spec.title.trim())),
        );
    }
    out.push_str("<thead><tr>");
    for (ci, col) in table.columns.iter().enumerate() {
        let numeric = model.is_numeric(ci);
        let (aria, next) = match (sort_col == Some(ci), descending) {
            (true, false) => ("ascending", "desc"),
            (true, true) => ("descending", "asc"),
            // Numbers are most often wanted largest first.
            (false, _) if numeric => ("none", "desc"),
            (false, _) => ("none", "asc"),
        };
        w(
            &mut out,
            format_args!(
                r#"<th scope="col"{} aria-sort="{aria}"><button type="button" data-sort-column="{}" data-sort-dir="{next}">{}</button></th>"#,
                if numeric { r#" class="vt-num""# } else { "" },
                Esc(&col.name),
                Esc(&model.headers[ci])
            ),
        );
    }
    out.push_str("</tr></thead><tbody>");
    let start = (page - 1) * size;
    for &ri in order.iter().skip(start).take(size) {
        let row = &table.rows[ri];
        out.push_str("<tr>");
        for ci in 0..table.columns.len() {
            let text = model.cell(row, ci);
            if model.is_numeric(ci) {
                match row.get(ci).and_then(crate::data::num) {
                    Some(v) => w(
                        &mut out,
                        format_args!(r#"<td class="vt-num" data-value="{v}">{}</td>"#, Esc(&text)),
                    ),
                    None => w(
                        &mut out,
                        format_args!(r#"<td class="vt-num">{}</td>"#, Esc(&text)),
                    ),
                }
            } else {
                w(&mut out, format_args!("<td>{}</td>", Esc(&text)));
            }
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
    let first = start + 1;
    let last = (start + size).min(total);
    w(
        &mut out,
        format_args!(
            r#"<nav class="vt-pager" aria-label="Table pages"><button type="button" data-page="{}"{}>Previous</button><span class="vt-pager-info">{first}–{last} of {total}{}</span><button type="button" data-page="{}"{}>Next</button></nav>"#,
            page.saturating_sub(1).max(1),
            if page == 1 { " disabled" } else { "" },
            if table.truncated {
                " (row limit reached)"
            } else {
                ""
            },
            (page + 1).min(pages),
            if page == pages { " disabled" } else { "" },
        ),
    );
    out.push_str("</div>");
    out
}
