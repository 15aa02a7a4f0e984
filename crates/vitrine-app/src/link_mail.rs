//! Sending a share link by e-mail (seed 000: "send it via email"): from the share dialog, a
//! member who manages links sends one of them to one or more addresses with a short note.
//!
//! The message carries the link's URL and never its password (Vitrine does not know it: only
//! its hash is stored); for a protected link it says the password comes separately. Messages
//! go through the outbox ([`crate::mail`]), are listed per link ([`sent`]) and each send is an
//! audit event (`link.sent`).

use vitrine_store::{MailRecord, Member};

use crate::mail::{self, Block, Envelope};
use crate::{App, Error};

/// The longest note.
pub const MAX_NOTE_CHARS: usize = 2000;

/// Sends link `link_id` to the addresses in `emails` (commas, spaces or lines between) with
/// `note`. Only an active link is sent. The outbox rows' ids.
pub async fn send(
    app: &App,
    member: &Member,
    link_id: &str,
    emails: &str,
    note: &str,
) -> Result<Vec<i64>, Error> {
    let link = crate::links::show_link(app, member, link_id).await?;
    if link.state != "active" {
        return Err(Error::Conflict(
            "This link does not open right now: enable it (or change its expiry) first.".into(),
        ));
    }
    let recipients = mail::parse_addresses(emails)?;
    let note: String = note
        .trim()
        .chars()
        .filter(|c| *c == '\n' || !c.is_control())
        .collect();
    if note.chars().count() > MAX_NOTE_CHARS {
        return Err(Error::invalid_field(
            "note",
            format!("The note is too long (at most {MAX_NOTE_CHARS} characters)."),
        ));
    }
    let dashboard = app
        .store
        .dashboard(member.workspace_id, link.dashboard_id)
        .await?
        .ok_or(Error::NotFound)?;
    let footer = mail::footer(app, member.workspace_id).await?;
    let what = match &link.widget_id {
        Some(_) => format!("a chart of “{}”", dashboard.title),
        None => format!("the dashboard “{}”", dashboard.title),
    };
    let mut blocks = vec![Block::Text(format!(
        "{} ({}) shared {what} with you.",
        member.name, member.email
    ))];
    if !note.is_empty() {
        blocks.push(Block::Note(note.clone()));
    }
    blocks.push(Block::Button {
        label: "Open the dashboard".to_owned(),
        url: link.url.clone(),
    });
    let mut small = Vec::new();
    if link.has_password {
        small.push(format!(
            "The link is protected by a password, which {} will give you separately.",
            member.name
        ));
    }
    if let Some(expires) = link.expires_at {
        small.push(format!(
            "It works until {}.",
            crate::text::format_time(expires)
        ));
    }
    small.push("No account is needed to open it.".to_owned());
    blocks.push(Block::Small(small.join(" ")));
    let message = mail::templates::layout(
        &format!("{} shared “{}” with you", member.name, dashboard.title),
        &dashboard.title,
        &blocks,
        &footer,
    );
    let ids = mail::enqueue(
        app,
        Envelope {
            workspace: member.workspace_id,
            kind: "link",
            reference: format!("link:{}", link.id),
            recipients: &recipients,
            message: &message,
        },
    )
    .await?;
    crate::accounts::audit(
        app,
        member.workspace_id,
        &crate::accounts::Acting::member(member),
        "link.sent",
        format!("link:{}", link.id),
        serde_json::json!({
            "label": link.label,
            "dashboard_id": link.dashboard_id,
            "recipients": recipients,
            "note": !note.is_empty(),
        }),
    )
    .await?;
    Ok(ids)
}

/// The messages that sent link `link_id`, newest first.
pub async fn sent(app: &App, member: &Member, link_id: &str) -> Result<Vec<MailRecord>, Error> {
    let link = crate::links::show_link(app, member, link_id).await?;
    Ok(app
        .store
        .mails_about(member.workspace_id, "link", &format!("link:{}", link.id))
        .await?)
}
