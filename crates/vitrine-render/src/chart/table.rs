//! Tables: the cell model shared by the SVG table (static exports) and the
//! HTML fragment (the live page).

use super::Canvas;
use crate::data::num;
use crate::font;
use crate::format::{MISSING, format_value};
use crate::spec::ChartSpec;
use crate::svg::{Anchor, Rect, TextStyle};
use std::cmp::Ordering;
use vitrine_core::result::{ColumnType, NumberFormat, ResultTable, Value};

/// How each column of a result is headed and formatted.
pub(crate) struct TableModel<'a> {
    pub table: &'a ResultTable,
    pub headers: Vec<String>,
    /// The number format of numeric columns (`None`: not numeric).
    pub formats: Vec<Option<NumberFormat>>,
    /// Columns that are measures of the spec (others' integers are shown
    /// plainly: ids and years read badly as `1,025`).
    pub measure: Vec<bool>,
}

impl<'a> TableModel<'a> {
    pub fn new(spec: &ChartSpec, table: &'a ResultTable) -> TableModel<'a> {
        let mut headers = Vec::with_capacity(table.columns.len());
        let mut formats = Vec::with_capacity(table.columns.len());
        let mut is_measure = Vec::with_capacity(table.columns.len());
        for col in &table.columns {
            let measure = spec.measures.iter().find(|m| m.column == col.name);
            is_measure.push(measure.is_some());
            headers.push(measure.map_or(col.name.clone(), |m| m.name().to_string()));
            formats.push(match measure {
                Some(m) => Some(m.format.clone()),
                None if col.kind.is_numeric() => Some(NumberFormat::Number),
                None => None,
            });
        }
        TableModel {
            table,
            headers,
            formats,
            measure: is_measure,
        }
    }

    pub fn is_numeric(&self, col: usize) -> bool {
        self.formats[col].is_some()
    }

    /// The text of a cell as shown.
    pub fn cell(&self, row: &[Value], col: usize) -> String {
        let v = row.get(col).unwrap_or(&Value::Null);
        if let (Value::Int(i), false) = (v, self.measure[col]) {
            return i.to_string();
        }
        if let Some(f) = &self.formats[col] {
            return match num(v) {
                Some(x) => format_value(x, f),
                None if matches!(v, Value::Null) => MISSING.to_string(),
                None => text_of(v),
            };
        }
        match (v, self.table.columns[col].kind) {
            (Value::Null, _) => MISSING.to_string(),
            (Value::Text(t), ColumnType::Timestamp) => timestamp(t),
            _ => text_of(v),
        }
    }

    /// Row indices sorted by `col` (stable; missing values last in both
    /// directions).
    pub fn sorted_rows(&self, col: Option<usize>, descending: bool) -> Vec<usize> {
        let mut idx: Vec<usize> = (0..self.table.rows.len()).collect();
        let Some(col) = col.filter(|c| *c < self.table.columns.len()) else {
            return idx;
        };
        let rows = &self.table.rows;
        let numeric = self.is_numeric(col);
        idx.sort_by(|&a, &b| {
            let va = rows[a].get(col).unwrap_or(&Value::Null);
            let vb = rows[b].get(col).unwrap_or(&Value::Null);
            let missing = |v: &Value| matches!(v, Value::Null) || (numeric && num(v).is_none());
            match (missing(va), missing(vb)) {
                (true, true) => return Ordering::Equal,
                (true, false) => return Ordering::Greater,
                (false, true) => return Ordering::Less,
                _ => {}
            }
            let ord = if numeric {
                num(va).unwrap_or(0.0).total_cmp(&num(vb).unwrap_or(0.0))
            } else {
                let (ta, tb) = (text_of(va), text_of(vb));
                ta.to_lowercase().cmp(&tb.to_lowercase()).then(ta.cmp(&tb))
            };
            if descending { ord.reverse() } else { ord }
        });
        idx
    }
}

fn text_of(v: &Value) -> String {
    match v {
        Value::Null => MISSING.to_string(),
        Value::Bool(b) => if *b { "Yes" } else { "No" }.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => format_value(*f, &NumberFormat::Number),
        Value::Text(t) => t.clone(),
    }
}

/// `2026-11-23T10:00:00Z` → `2026-11-23 10:00`; other text unchanged.
fn timestamp(t: &str) -> String {
    let b = t.as_bytes();
    if b.len() >= 16 && (b[10] == b'T' || b[10] == b' ') && b[13] == b':' {
        format!("{} {}", &t[..10], &t[11..16])
    } else {
        t.to_string()
    }
}

/// Shares `avail` px between columns: numbers and dates (`fixed`) keep
/// their natural width when they can, text columns share the rest.
pub(crate) fn fit_columns(natural: &[f64], fixed: &[bool], avail: f64) -> Vec<f64> {
    let fixed_sum: f64 = natural
        .iter()
        .zip(fixed)
        .filter(|p| *p.1)
        .map(|p| p.0)
        .sum();
    let text: Vec<f64> = natural
        .iter()
        .zip(fixed)
        .filter(|p| !*p.1)
        .map(|p| *p.0)
        .collect();
    let text_min = text.len() as f64 * 60.0;
    if fixed_sum + text_min > avail || text.is_empty() {
        return fit_widths(natural, avail);
    }
    let shared = fit_widths(&text, avail - fixed_sum);
    let mut k = 0;
    natural
        .iter()
        .zip(fixed)
        .map(|(w, f)| {
            if *f {
                *w
            } else {
                k += 1;
                shared[k - 1]
            }
        })
        .collect()
}

/// Shares `avail` px between columns wanting `natural` px: columns that
/// want less than an equal share get what they want, the rest split what
/// is left; spare room goes to every column in proportion.
pub(crate) fn fit_widths(natural: &[f64], avail: f64) -> Vec<f64> {
    let n = natural.len();
    if n == 0 {
        return Vec::new();
    }
    let total: f64 = natural.iter().sum();
    if total <= avail {
        let extra = (avail - total) / n as f64;
        return natural.iter().map(|w| w + extra).collect();
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| natural[a].total_cmp(&natural[b]));
    let mut out = vec![0.0; n];
    let mut left = avail;
    for (k, &i) in order.iter().enumerate() {
        let share = left / (n - k) as f64;
        out[i] = natural[i].min(share);
        left -= out[i];
    }
    out
}

const CELL_SIZE: f64 = 12.0;
const HEAD_SIZE: f64 = 11.5;
const ROW_H: f64 = 26.0;
const HEAD_H: f64 = 30.0;
const CELL_PAD: f64 = 10.0;

/// Draws a table: as many rows as fit, a note of how many were left out.
pub(crate) fn render_svg(spec: &ChartSpec, table: &ResultTable) -> String {
    let model = TableModel::new(spec, table);
    let total = table.rows.len();
    let desc = format!(
        "Table with {} columns and {} rows",
        table.columns.len(),
        total
    );
    let mut c = Canvas::start(spec, &desc);
    let pal = c.pal;
    let area = c.content;
    let footer_h = 22.0;
    let fit_rows = ((area.h - HEAD_H) / ROW_H).floor().max(0.0) as usize;
    let (shown, footer) = if fit_rows >= total && !table.truncated {
        (total, false)
    } else {
        let r = ((area.h - HEAD_H - footer_h) / ROW_H).floor().max(0.0) as usize;
        (r.min(total), true)
    };
    let ncols = table.columns.len();
    let texts: Vec<Vec<String>> = table.rows[..shown]
        .iter()
        .map(|row| (0..ncols).map(|ci| model.cell(row, ci)).collect())
        .collect();
    let natural: Vec<f64> = (0..ncols)
        .map(|ci| {
            let head = font::text_width(&model.headers[ci], HEAD_SIZE, true);
            let body = texts
                .iter()
                .map(|r| font::text_width(&r[ci], CELL_SIZE, false))
                .fold(0.0, f64::max);
            head.max(body).min(280.0) + 2.0 * CELL_PAD
        })
        .collect();
    let fixed: Vec<bool> = (0..ncols)
        .map(|ci| model.is_numeric(ci) || table.columns[ci].kind.is_temporal())
        .collect();
    let widths = fit_columns(&natural, &fixed, area.w);
    let mut xs = Vec::with_capacity(ncols);
    let mut x = area.x;
    for wd in &widths {
        xs.push(x);
        x += wd;
    }
    let cell_x = |ci: usize| {
        if model.is_numeric(ci) {
            (xs[ci] + widths[ci] - CELL_PAD, Anchor::End)
        } else {
            (xs[ci] + CELL_PAD, Anchor::Start)
        }
    };

    c.svg.open_group("vt-table-head");
    for (ci, width) in widths.iter().enumerate() {
        let (tx, anchor) = cell_x(ci);
        let label = font::truncate(&model.headers[ci], HEAD_SIZE, true, width - 2.0 * CELL_PAD);
        c.svg.text(
            tx,
            area.y + HEAD_H / 2.0 + HEAD_SIZE * 0.35,
            &label,
            TextStyle::new(HEAD_SIZE, pal.muted).bold().anchor(anchor),
        );
    }
    c.svg.line(
        area.x,
        area.y + HEAD_H,
        area.right(),
        area.y + HEAD_H,
        pal.baseline,
        1.0,
    );
    c.svg.close_group();

    c.svg.open_group("vt-table-body");
    for (ri, row) in texts.iter().enumerate() {
        let top = area.y + HEAD_H + ri as f64 * ROW_H;
        if ri % 2 == 1 {
            c.svg.rect(
                Rect {
                    x: area.x,
                    y: top,
                    w: area.w,
                    h: ROW_H,
                },
                0.0,
                pal.subtle,
            );
        }
        for (ci, text) in row.iter().enumerate() {
            let (tx, anchor) = cell_x(ci);
            let t = font::truncate(text, CELL_SIZE, false, widths[ci] - 2.0 * CELL_PAD);
            let fill = if text == MISSING { pal.muted } else { pal.text };
            c.svg.text(
                tx,
                top + ROW_H / 2.0 + CELL_SIZE * 0.35,
                &t,
                TextStyle::new(CELL_SIZE, fill).anchor(anchor),
            );
        }
    }
    c.svg.close_group();

    if footer {
        let note = if table.truncated {
            format!("Showing {shown} of the first {total} rows (row limit reached)")
        } else {
            format!("Showing {shown} of {total} rows")
        };
        c.svg.text(
            area.x,
            area.bottom() - 4.0,
            &note,
            TextStyle::new(LABEL_NOTE, pal.muted),
        );
    }
    c.finish()
}

const LABEL_NOTE: f64 = 11.0;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_share_the_space() {
        assert_eq!(fit_widths(&[50.0, 50.0], 200.0), vec![100.0, 100.0]);
        let w = fit_widths(&[40.0, 500.0, 500.0], 400.0);
        assert_eq!(w[0], 40.0);
        assert_eq!(w[1], 180.0);
        assert!((w.iter().sum::<f64>() - 400.0).abs() < 1e-9);
    }

    #[test]
    fn timestamps_read_as_date_and_minute() {
        assert_eq!(timestamp("2026-11-23T10:05:00Z"), "2026-11-23 10:05");
        assert_eq!(timestamp("soon"), "soon");
    }
}
