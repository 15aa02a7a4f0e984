//! Finding the line of a path such as `widgets[2].query.measures[0].column` in block-style
//! YAML, so that problems found *after* parsing still point at a line.
//!
//! serde does not keep source positions, and a second, span-keeping YAML parser would be a
//! heavy dependency for this one job. Dashboards are written in block style, which is indented
//! and regular enough to walk line by line: keys at one indentation level, sequence items as
//! `- `. When a path leads into flow style (`{x: 0, y: 0}`), the line of the deepest segment
//! that could be found is returned, which is where the reader should look anyway.

#[derive(Debug)]
enum Seg<'a> {
    Key(&'a str),
    Index(usize),
}

#[derive(Debug)]
enum Tok<'a> {
    Item {
        indent: usize,
        line: usize,
    },
    Key {
        indent: usize,
        line: usize,
        name: &'a str,
    },
}

impl Tok<'_> {
    fn indent(&self) -> usize {
        match self {
            Tok::Item { indent, .. } | Tok::Key { indent, .. } => *indent,
        }
    }
    fn line(&self) -> usize {
        match self {
            Tok::Item { line, .. } | Tok::Key { line, .. } => *line,
        }
    }
}

fn parse_path(path: &str) -> Option<Vec<Seg<'_>>> {
    let mut segs = Vec::new();
    for part in path.split('.') {
        let (name, mut rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if !name.is_empty() {
            segs.push(Seg::Key(name));
        }
        while let Some(stripped) = rest.strip_prefix('[') {
            let end = stripped.find(']')?;
            segs.push(Seg::Index(stripped[..end].parse().ok()?));
            rest = &stripped[end + 1..];
        }
    }
    Some(segs)
}

fn tokenize(text: &str) -> Vec<Tok<'_>> {
    let mut toks = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let line = n + 1;
        let mut indent = raw.len() - raw.trim_start_matches(' ').len();
        let mut rest = &raw[indent..];
        if rest.is_empty() || rest.starts_with('#') {
            continue;
        }
        while rest == "-" || rest.starts_with("- ") {
            toks.push(Tok::Item { indent, line });
            let after = &rest[1..];
            let spaces = after.len() - after.trim_start_matches(' ').len();
            indent += 1 + spaces;
            rest = &after[spaces..];
        }
        if let Some(name) = key_of(rest) {
            toks.push(Tok::Key { indent, line, name });
        }
    }
    toks
}

/// `name` from `name: value`, `name:`, `"name": value` or `'name': value`.
fn key_of(s: &str) -> Option<&str> {
    for q in ['"', '\''] {
        if let Some(inner) = s.strip_prefix(q) {
            let end = inner.find(q)?;
            return inner[end + 1..].starts_with(':').then(|| &inner[..end]);
        }
    }
    let i = s.find(':')?;
    let after = &s[i + 1..];
    (after.is_empty() || after.starts_with(' ')).then(|| &s[..i])
}

/// The 1-based line of `path` in `text`, or of its deepest prefix that could be found.
pub(crate) fn line_of(text: &str, path: &str) -> Option<usize> {
    let segs = parse_path(path)?;
    let toks = tokenize(text);
    let (mut start, mut end) = (0, toks.len());
    let mut found = None;
    for seg in segs {
        let window = &toks[start..end];
        let level = window.iter().map(Tok::indent).min()?;
        let hit = match seg {
            Seg::Key(name) => window.iter().position(
                |t| matches!(t, Tok::Key { indent, name: n, .. } if *indent == level && *n == name),
            ),
            Seg::Index(i) => window
                .iter()
                .enumerate()
                .filter(|(_, t)| matches!(t, Tok::Item { indent, .. } if *indent == level))
                .nth(i)
                .map(|(p, _)| p),
        };
        let Some(pos) = hit else { break };
        let at = start + pos;
        let tok = &toks[at];
        found = Some(tok.line());
        let own = tok.indent();
        let is_key = matches!(tok, Tok::Key { .. });
        let stop = toks[at + 1..end]
            .iter()
            .position(|t| match t {
                // A sequence may sit at its key's own indentation.
                Tok::Item { indent, .. } if is_key => *indent < own,
                t => t.indent() <= own,
            })
            .map(|p| at + 1 + p)
            .unwrap_or(end);
        start = at + 1;
        end = stop;
        if start >= end {
            break;
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::line_of;

    const DOC: &str = "\
version: 1
title: Sales
widgets:
- id: a
  kind: kpi
  layout: {x: 0, y: 0, w: 3, h: 2}
  query:
    dataset: sales
    measures:
      - agg: count
      - agg: sum
        column: amount
# a comment
- id: b
  kind: text
";

    #[test]
    fn a_nested_path_is_found_on_its_line() {
        assert_eq!(
            line_of(DOC, "widgets[0].query.measures[1].column"),
            Some(12)
        );
        assert_eq!(line_of(DOC, "widgets[0].query.measures[0].agg"), Some(10));
        assert_eq!(line_of(DOC, "widgets[1].kind"), Some(15));
        assert_eq!(line_of(DOC, "title"), Some(2));
    }

    #[test]
    fn a_path_into_flow_style_points_at_the_deepest_line_found() {
        assert_eq!(line_of(DOC, "widgets[0].layout.w"), Some(6));
    }

    #[test]
    fn a_missing_path_has_no_line() {
        assert_eq!(line_of(DOC, "filters[0]"), None);
    }
}
