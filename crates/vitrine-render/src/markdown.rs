//! The `text` widget: Markdown to a sanitised HTML fragment, and to SVG for
//! static exports.
//!
//! The HTML writer is our own and emits a fixed set of tags. Raw HTML in the
//! source (blocks and inline) is shown as text, link targets other than
//! `http:`, `https:`, `mailto:` and relative ones are dropped (the link text
//! stays), and images become links to the image, so a dashboard's text
//! cannot run script, load a tracking pixel or frame anything.

use crate::chart::{Canvas, wrap_text};
use crate::escape::{Esc, escape_into, w};
use crate::font;
use crate::spec::ChartSpec;
use crate::svg::TextStyle;
use pulldown_cmark::{Alignment, CodeBlockKind, Event, HeadingLevel, Options, Parser, Tag, TagEnd};

fn options() -> Options {
    Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS
}

/// True for a link target that cannot run script: `http:`, `https:`,
/// `mailto:`, or no scheme at all (relative, `#fragment`, `/path`).
pub fn is_safe_url(url: &str) -> bool {
    // Browsers ignore ASCII whitespace and control characters inside a scheme.
    let cleaned: String = url
        .chars()
        .filter(|c| !c.is_ascii_whitespace() && !c.is_control())
        .collect();
    let lower = cleaned.to_ascii_lowercase();
    match lower.find([':', '/', '?', '#']) {
        Some(i) if lower.as_bytes()[i] == b':' => {
            let scheme = &lower[..i];
            matches!(scheme, "http" | "https" | "mailto")
        }
        _ => true,
    }
}

/// Renders Markdown as a sanitised HTML fragment.
pub fn render_markdown_html(markdown: &str) -> String {
    let mut out = String::with_capacity(markdown.len() * 2 + 64);
    out.push_str(r#"<div class="vt-text">"#);
    let mut table_align: Vec<Alignment> = Vec::new();
    let mut cell = 0usize;
    let mut in_head = false;
    // Links whose target was dropped: their end tag is dropped too.
    let mut dropped_links: Vec<bool> = Vec::new();
    // Inside an image, its alt text is the link text.
    let mut in_image = 0usize;
    for event in Parser::new_ext(markdown, options()) {
        match event {
            Event::Start(tag) => match tag {
                Tag::Paragraph => out.push_str("<p>"),
                Tag::Heading { level, .. } => w(&mut out, format_args!("<{}>", heading(level))),
                Tag::BlockQuote(_) => out.push_str("<blockquote>"),
                Tag::CodeBlock(kind) => {
                    out.push_str("<pre><code");
                    if let CodeBlockKind::Fenced(lang) = kind {
                        let lang = lang.split_whitespace().next().unwrap_or("");
                        if !lang.is_empty() {
                            w(&mut out, format_args!(r#" class="language-{}""#, Esc(lang)));
                        }
                    }
                    out.push('>');
                }
                Tag::List(Some(1)) => out.push_str("<ol>"),
                Tag::List(Some(start)) => w(&mut out, format_args!(r#"<ol start="{start}">"#)),
                Tag::List(None) => out.push_str("<ul>"),
                Tag::Item => out.push_str("<li>"),
                Tag::Table(align) => {
                    table_align = align;
                    out.push_str("<table>");
                }
                Tag::TableHead => {
                    in_head = true;
                    cell = 0;
                    out.push_str("<thead><tr>");
                }
                Tag::TableRow => {
                    cell = 0;
                    out.push_str("<tr>");
                }
                Tag::TableCell => {
                    let t = if in_head { "th" } else { "td" };
                    let align = match table_align.get(cell) {
                        Some(Alignment::Left) => r#" style="text-align:left""#,
                        Some(Alignment::Center) => r#" style="text-align:center""#,
                        Some(Alignment::Right) => r#" style="text-align:right""#,
                        _ => "",
                    };
                    w(&mut out, format_args!("<{t}{align}>"));
                }
                Tag::Emphasis => out.push_str("<em>"),
                Tag::Strong => out.push_str("<strong>"),
                Tag::Strikethrough => out.push_str("<del>"),
                Tag::Link {
                    dest_url, title, ..
                } => {
                    let ok = is_safe_url(&dest_url) && in_image == 0;
                    dropped_links.push(!ok);
                    if ok {
                        link_open(&mut out, &dest_url, &title);
                    }
                }
                Tag::Image {
                    dest_url, title, ..
                } => {
                    in_image += 1;
                    let ok = is_safe_url(&dest_url) && in_image == 1;
                    dropped_links.push(!ok);
                    if ok {
                        link_open(&mut out, &dest_url, &title);
                    }
                }
                _ => {}
            },
            Event::End(tag) => match tag {
                TagEnd::Paragraph => out.push_str("</p>"),
                TagEnd::Heading(level) => w(&mut out, format_args!("</{}>", heading(level))),
                TagEnd::BlockQuote(_) => out.push_str("</blockquote>"),
                TagEnd::CodeBlock => out.push_str("</code></pre>"),
                TagEnd::List(true) => out.push_str("</ol>"),
                TagEnd::List(false) => out.push_str("</ul>"),
                TagEnd::Item => out.push_str("</li>"),
                TagEnd::Table => out.push_str("</tbody></table>"),
                TagEnd::TableHead => {
                    in_head = false;
                    out.push_str("</tr></thead><tbody>");
                }
                TagEnd::TableRow => out.push_str("</tr>"),
                TagEnd::TableCell => {
                    out.push_str(if in_head { "</th>" } else { "</td>" });
                    cell += 1;
                }
                TagEnd::Emphasis => out.push_str("</em>"),
                TagEnd::Strong => out.push_str("</strong>"),
                TagEnd::Strikethrough => out.push_str("</del>"),
                TagEnd::Link | TagEnd::Image => {
                    if tag == TagEnd::Image {
                        in_image = in_image.saturating_sub(1);
                    }
                    if dropped_links.pop() == Some(false) {
                        out.push_str("</a>");
                    }
                }
                _ => {}
            },
            Event::Text(t) | Event::Html(t) | Event::InlineHtml(t) => escape_into(&mut out, &t),
            Event::Code(t) => {
                out.push_str("<code>");
                escape_into(&mut out, &t);
                out.push_str("</code>");
            }
            Event::InlineMath(t) | Event::DisplayMath(t) => escape_into(&mut out, &t),
            Event::SoftBreak => out.push('\n'),
            Event::HardBreak => out.push_str("<br>"),
            Event::Rule => out.push_str("<hr>"),
            Event::TaskListMarker(done) => out.push_str(if done {
                r#"<input type="checkbox" checked disabled> "#
            } else {
                r#"<input type="checkbox" disabled> "#
            }),
            Event::FootnoteReference(t) => {
                out.push('[');
                escape_into(&mut out, &t);
                out.push(']');
            }
        }
    }
    out.push_str("</div>");
    out
}

fn heading(level: HeadingLevel) -> &'static str {
    match level {
        HeadingLevel::H1 => "h1",
        HeadingLevel::H2 => "h2",
        HeadingLevel::H3 => "h3",
        HeadingLevel::H4 => "h4",
        HeadingLevel::H5 => "h5",
        HeadingLevel::H6 => "h6",
    }
}

fn link_open(out: &mut String, url: &str, title: &str) {
    w(out, format_args!(r#"<a href="{}""#, Esc(url)));
    if !title.is_empty() {
        w(out, format_args!(r#" title="{}""#, Esc(title)));
    }
    out.push_str(r#" rel="noopener noreferrer nofollow" target="_blank">"#);
}

/// One block of text for the SVG rendering.
struct Block {
    size: f64,
    bold: bool,
    /// Bullet or number drawn in the left margin.
    marker: Option<String>,
    indent: f64,
    text: String,
}

/// Flattens Markdown into blocks of plain text: headings, paragraphs, list
/// items, quotes and code. Emphasis is dropped; links keep their text.
fn blocks(markdown: &str) -> Vec<Block> {
    let mut out: Vec<Block> = Vec::new();
    let mut cur: Option<Block> = None;
    let mut lists: Vec<Option<u64>> = Vec::new();
    let mut quote = 0usize;
    let flush = |cur: &mut Option<Block>, out: &mut Vec<Block>| {
        if let Some(b) = cur.take()
            && (!b.text.trim().is_empty() || b.marker.is_some())
        {
            out.push(b);
        }
    };
    let para = |lists: &Vec<Option<u64>>, quote: usize| Block {
        size: 13.0,
        bold: false,
        marker: None,
        indent: lists.len().saturating_sub(1) as f64 * 18.0 + quote as f64 * 14.0,
        text: String::new(),
    };
    for event in Parser::new_ext(markdown, options()) {
        match event {
            Event::Start(Tag::Heading { level, .. }) => {
                flush(&mut cur, &mut out);
                let size = match level {
                    HeadingLevel::H1 => 20.0,
                    HeadingLevel::H2 => 17.0,
                    HeadingLevel::H3 => 15.0,
                    _ => 13.0,
                };
                cur = Some(Block {
                    size,
                    bold: true,
                    ..para(&lists, quote)
                });
            }
            Event::Start(Tag::Paragraph | Tag::CodeBlock(_) | Tag::TableRow | Tag::TableHead) => {
                if cur
                    .as_ref()
                    .is_some_and(|b| b.marker.is_some() && b.text.is_empty())
                {
                    continue; // the first paragraph of a list item
                }
                flush(&mut cur, &mut out);
                cur = Some(para(&lists, quote));
            }
            Event::Start(Tag::BlockQuote(_)) => {
                flush(&mut cur, &mut out);
                quote += 1;
            }
            Event::End(TagEnd::BlockQuote(_)) => {
                flush(&mut cur, &mut out);
                quote = quote.saturating_sub(1);
            }
            Event::Start(Tag::List(start)) => {
                flush(&mut cur, &mut out);
                lists.push(start);
            }
            Event::End(TagEnd::List(_)) => {
                flush(&mut cur, &mut out);
                lists.pop();
            }
            Event::Start(Tag::Item) => {
                flush(&mut cur, &mut out);
                let marker = match lists.last_mut() {
                    Some(Some(n)) => {
                        let m = format!("{n}.");
                        *n += 1;
                        m
                    }
                    _ => "•".to_string(),
                };
                cur = Some(Block {
                    marker: Some(marker),
                    ..para(&lists, quote)
                });
            }
            Event::End(
                TagEnd::Paragraph
                | TagEnd::Heading(_)
                | TagEnd::CodeBlock
                | TagEnd::Item
                | TagEnd::TableRow
                | TagEnd::TableHead,
            ) => flush(&mut cur, &mut out),
            Event::End(TagEnd::TableCell) => {
                if let Some(b) = cur.as_mut() {
                    b.text.push_str("   ");
                }
            }
            Event::Text(t)
            | Event::Code(t)
            | Event::Html(t)
            | Event::InlineHtml(t)
            | Event::InlineMath(t)
            | Event::DisplayMath(t) => {
                cur.get_or_insert_with(|| para(&lists, quote))
                    .text
                    .push_str(&t);
            }
            Event::SoftBreak | Event::HardBreak => {
                if let Some(b) = cur.as_mut() {
                    b.text.push(' ');
                }
            }
            Event::TaskListMarker(done) => {
                if let Some(b) = cur.as_mut() {
                    b.marker = Some(if done { "☑" } else { "☐" }.to_string());
                }
            }
            _ => {}
        }
    }
    flush(&mut cur, &mut out);
    out
}

/// Renders Markdown as SVG text for static exports (PNG / PDF): headings,
/// paragraphs and lists, word-wrapped to the width; what does not fit the
/// height ends with an ellipsis. `spec` gives the title, theme and size.
pub fn render_text_svg(spec: &ChartSpec, markdown: &str) -> String {
    let mut c = Canvas::start(spec, "Text");
    let pal = c.pal;
    let area = c.content;
    let mut y = area.y;
    let mut full = false;
    c.svg.open_group("vt-text");
    for b in blocks(markdown) {
        if full {
            break;
        }
        let line_h = b.size * 1.45;
        let text_x = area.x + b.indent + if b.marker.is_some() { 18.0 } else { 0.0 };
        let width = (area.right() - text_x).max(20.0);
        let room = ((area.bottom() - y) / line_h).floor().max(0.0) as usize;
        if room == 0 {
            break;
        }
        let mut lines = wrap_text(&b.text, b.size, b.bold, width, usize::MAX);
        if lines.len() > room {
            let rest = lines[room - 1..].join(" ");
            lines.truncate(room - 1);
            lines.push(font::truncate(&rest, b.size, b.bold, width - 1.0).into_owned());
            if !lines[room - 1].ends_with('…') {
                lines[room - 1].push('…');
            }
            full = true;
        }
        let st = TextStyle {
            bold: b.bold,
            ..TextStyle::new(b.size, pal.text)
        };
        for (i, line) in lines.iter().enumerate() {
            let base = y + line_h * 0.75;
            if i == 0
                && let Some(m) = &b.marker
            {
                c.svg.text(
                    area.x + b.indent + 2.0,
                    base,
                    m,
                    TextStyle::new(b.size, pal.muted),
                );
            }
            c.svg.text(text_x, base, line, st);
            y += line_h;
        }
        y += if b.bold { 4.0 } else { 6.0 };
    }
    c.svg.close_group();
    c.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes_are_checked_after_browser_normalisation() {
        assert!(is_safe_url("https://example.com/x"));
        assert!(is_safe_url("/dashboards/1"));
        assert!(is_safe_url("#top"));
        assert!(is_safe_url("mailto:a@b.c"));
        assert!(is_safe_url("page?a=b:c"));
        assert!(!is_safe_url("javascript:alert(1)"));
        assert!(!is_safe_url(" JaVaScRiPt:alert(1)"));
        assert!(!is_safe_url("java\tscript:alert(1)"));
        assert!(!is_safe_url("data:text/html,<script>"));
        assert!(!is_safe_url("vbscript:x"));
        assert!(is_safe_url("//cdn.example/x"));
    }
}
