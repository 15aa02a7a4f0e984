//! Message bodies: plain Rust functions that build the subject, the plain-text body and the
//! HTML body of each kind of message. Every value that came from a person (a workspace name, a
//! note, a dashboard title) goes through [`escape_html`] on its way into HTML; the layout adds
//! the workspace's footer and contact line to both bodies.
//!
//! Askama is kept out of `vitrine-app` (it is the server's template engine, and the app knows
//! nothing of pages); a message is a few paragraphs, which `format!` writes plainly.

use std::fmt::Write as _;

/// A message ready to queue: what every recipient receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The subject line.
    pub subject: String,
    /// The plain-text body.
    pub text: String,
    /// The HTML body.
    pub html: String,
}

/// Where a message comes from: the workspace's name and the lines its admins set for the
/// bottom of every page and message.
#[derive(Debug, Clone, Default)]
pub struct Footer {
    /// The workspace's name.
    pub workspace: String,
    /// The workspace's footer text, if any.
    pub footer: Option<String>,
    /// The workspace's contact line, if any.
    pub contact_line: Option<String>,
}

/// A paragraph or a button of a message body.
#[derive(Debug, Clone)]
pub enum Block {
    /// A paragraph of text (escaped in HTML).
    Text(String),
    /// A quoted note from the sender (escaped, line breaks kept).
    Note(String),
    /// A call to action: a label and a URL.
    Button {
        /// The button's label.
        label: String,
        /// Where it leads.
        url: String,
    },
    /// Small print under the rest.
    Small(String),
}

/// Escapes text for HTML element content and attribute values.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

pub use crate::mailer::one_line;

/// Lays out a message: a heading, the blocks, then the workspace footer, in both bodies.
pub fn layout(subject: &str, heading: &str, blocks: &[Block], footer: &Footer) -> Rendered {
    let mut text = format!("{}\n\n", heading);
    let mut html = String::from(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><meta name=\"viewport\" \
         content=\"width=device-width\"></head><body style=\"margin:0;padding:24px;\
         background:#f5f6f8;font-family:-apple-system,'Segoe UI',Roboto,Helvetica,Arial,\
         sans-serif;color:#1d2230\"><div style=\"max-width:560px;margin:0 auto;background:#fff;\
         border-radius:8px;padding:28px\">",
    );
    let _ = write!(
        html,
        "<h1 style=\"font-size:20px;margin:0 0 16px\">{}</h1>",
        escape_html(heading)
    );
    for block in blocks {
        match block {
            Block::Text(t) => {
                let _ = write!(text, "{t}\n\n");
                let _ = write!(
                    html,
                    "<p style=\"margin:0 0 14px;line-height:1.5\">{}</p>",
                    escape_html(t)
                );
            }
            Block::Note(n) => {
                for line in n.lines() {
                    let _ = writeln!(text, "> {line}");
                }
                text.push('\n');
                let _ = write!(
                    html,
                    "<blockquote style=\"margin:0 0 14px;padding:8px 14px;border-left:3px solid \
                     #c9cedb;color:#3b4254;white-space:pre-wrap\">{}</blockquote>",
                    escape_html(n)
                );
            }
            Block::Button { label, url } => {
                let _ = write!(text, "{label}: {url}\n\n");
                let _ = write!(
                    html,
                    "<p style=\"margin:20px 0\"><a href=\"{}\" style=\"display:inline-block;\
                     background:#2f5bea;color:#fff;text-decoration:none;padding:10px 18px;\
                     border-radius:6px;font-weight:600\">{}</a></p><p style=\"margin:0 0 14px;\
                     font-size:12px;color:#6b7385;word-break:break-all\">{}</p>",
                    escape_html(url),
                    escape_html(label),
                    escape_html(url)
                );
            }
            Block::Small(s) => {
                let _ = write!(text, "{s}\n\n");
                let _ = write!(
                    html,
                    "<p style=\"margin:0 0 14px;font-size:12px;color:#6b7385\">{}</p>",
                    escape_html(s)
                );
            }
        }
    }
    html.push_str("</div><div style=\"max-width:560px;margin:12px auto 0;font-size:12px;color:#6b7385;text-align:center\">");
    text.push_str("-- \n");
    let _ = writeln!(text, "{}", footer.workspace);
    let _ = write!(
        html,
        "<p style=\"margin:0 0 4px\">{}</p>",
        escape_html(&footer.workspace)
    );
    for line in [&footer.footer, &footer.contact_line].into_iter().flatten() {
        if !line.trim().is_empty() {
            let _ = writeln!(text, "{line}");
            let _ = write!(
                html,
                "<p style=\"margin:0 0 4px\">{}</p>",
                escape_html(line)
            );
        }
    }
    html.push_str("</div></body></html>");
    Rendered {
        subject: one_line(subject),
        text,
        html,
    }
}

/// `vitrine mail test`: proves the transport works.
pub fn test_message(footer: &Footer, base_url: &str) -> Rendered {
    layout(
        &format!("Test message from {}", footer.workspace),
        "Mail works",
        &[
            Block::Text(format!(
                "This is a test message from Vitrine at {base_url}. If you can read it, \
                 outgoing mail is set up."
            )),
            Block::Small("Nothing to do: you can delete this message.".to_owned()),
        ],
        footer,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_in_a_workspace_name_is_escaped_in_html_and_kept_in_text() {
        let footer = Footer {
            workspace: "<script>alert(1)</script>".into(),
            footer: Some("\"quoted\" & co".into()),
            contact_line: None,
        };
        let m = test_message(&footer, "http://x");
        assert!(!m.html.contains("<script>"));
        assert!(m.html.contains("&lt;script&gt;"));
        assert!(m.html.contains("&quot;quoted&quot; &amp; co"));
        assert!(m.text.contains("<script>alert(1)</script>"));
    }

    #[test]
    fn a_subject_is_one_line() {
        let m = layout("a\r\nBcc: x@y", "h", &[], &Footer::default());
        assert_eq!(m.subject, "a  Bcc: x@y");
    }

    #[test]
    fn a_button_url_is_in_both_bodies() {
        let m = layout(
            "s",
            "h",
            &[Block::Button {
                label: "Accept".into(),
                url: "http://h/a?x=1&y=2".into(),
            }],
            &Footer::default(),
        );
        assert!(m.text.contains("Accept: http://h/a?x=1&y=2"));
        assert!(m.html.contains("href=\"http://h/a?x=1&amp;y=2\""));
    }
}
