//! Identified outsider links: "viewers confirm their e-mail".
//!
//! A share link whose access policy has `confirm_email` asks each viewer for an e-mail address
//! (only of `email_domains`, when the owner listed some), sends a one-time code to it through
//! the outbox ([`crate::mail`]), and opens once the viewer types the code back. The confirmed
//! address then rides in a viewer cookie ([`vitrine_core::identified::viewer_cookie`]) scoped
//! to the link, and every access event of that viewer records it, so the owner sees who viewed
//! ([`viewers`]).
//!
//! - **Order.** The token, the client allowlist and the password come first
//!   ([`outsider::unlocked_link`]): a link with a password sends no code to anybody who does not
//!   know it (so its form cannot be used to mail strangers), and both are required.
//! - **Nothing secret in the store.** A code is six random digits kept as a keyed hash of
//!   (link, address, code) with the address as a keyed hash too ([`vitrine_store::ViewCodeStore`]);
//!   it works for [`CODE_TTL`], once, and a newer code for the same address retires it. The
//!   outbox row that carries the message is scrubbed ([`scrub_mail`]) as soon as it is sent
//!   (the drainer does it after every pass) or once the code expired.
//! - **Throttled like passwords.** Every typed code is reserved in the store before it is
//!   checked ([`crate::attempts`]): per client address (an IPv6 /64), per address typed, and a
//!   per-link ceiling that slows rather than locks out. Sending is limited as well, per address
//!   typed, per client and per link ([`send_limits`]), and each send is charged before the mail
//!   is queued, so the form cannot be turned into a spam cannon.
//! - **What the page says.** An address outside the allowed domains is told so ("this address
//!   cannot view this dashboard"): the owner chose the domains for the people they invited, who
//!   deserve to know why no code comes, and knowing that `@client.com` is wanted opens nothing
//!   without a mailbox there. Nothing says whether an address has viewed before or who else
//!   has: the answer to a valid address is always "we sent a code".
//! - **Access events.** `code_sent`, `email_refused`, `bad_code`, `rate_limited` and
//!   `confirmed`; only a confirmed address is ever recorded (an address someone merely typed is
//!   not a fact about anybody).

use std::sync::Mutex;

use time::Duration;
use vitrine_core::identified::{self, LinkState};
use vitrine_core::share::LinkId;
use vitrine_store::{AttemptLimit, CodeCheck, LinkRecord, Member, NewViewCode, Pace, Workspace};

use crate::attempts::Attempt;
use crate::links::LinkSettings;
use crate::mail::{self, Block, Envelope};
use crate::outsider::{self, Gate, Requester};
use crate::{App, Error};

/// How long a code works.
pub const CODE_TTL: Duration = Duration::minutes(10);
/// The outbox kind of a code's message.
pub const MAIL_KIND: &str = mail::VIEW_CODE_KIND;
/// Wrong codes from one client address (an IPv6 /64) on one link within [`THROTTLE_WINDOW`].
pub const MAX_BAD_CODES_PER_CLIENT: i64 = 5;
/// Wrong codes typed for one address on one link within [`THROTTLE_WINDOW`], from anywhere.
pub const MAX_BAD_CODES_PER_ADDRESS: i64 = 5;
/// Wrong codes on one link within [`THROTTLE_WINDOW`] before it slows to one per
/// [`outsider::LINK_PACE`].
pub const MAX_BAD_CODES_PER_LINK: i64 = 50;
/// The window wrong codes and sent codes are counted over.
pub const THROTTLE_WINDOW: Duration = Duration::minutes(15);
/// Codes sent to one address for one link within [`THROTTLE_WINDOW`].
pub const MAX_SENDS_PER_ADDRESS: i64 = 3;
/// Codes requested by one client address on one link within [`THROTTLE_WINDOW`].
pub const MAX_SENDS_PER_CLIENT: i64 = 10;
/// Codes sent for one link within [`SEND_WINDOW_PER_LINK`].
pub const MAX_SENDS_PER_LINK: i64 = 200;
/// The window of [`MAX_SENDS_PER_LINK`].
pub const SEND_WINDOW_PER_LINK: Duration = Duration::hours(1);

/// What asking for a code came to.
#[derive(Debug)]
pub enum CodeRequest {
    /// The link does not reach the e-mail step (unknown, gone, not allowed, still locked by its
    /// password) or does not ask for an address at all ([`Gate::Open`]).
    Gate(Gate),
    /// Not an e-mail address (or one with line breaks, spaces, a display name …).
    Invalid(Box<LinkRecord>, Box<Workspace>),
    /// The address is not of an allowed domain.
    Refused(Box<LinkRecord>, Box<Workspace>),
    /// Too many codes lately; retry after this many seconds.
    Throttled {
        /// The link.
        link: Box<LinkRecord>,
        /// Its workspace.
        workspace: Box<Workspace>,
        /// Seconds until a code may be sent again.
        retry_after: u64,
    },
    /// A code is on its way to this (normalised) address.
    Sent {
        /// The link.
        link: Box<LinkRecord>,
        /// Its workspace.
        workspace: Box<Workspace>,
        /// The address.
        address: String,
    },
}

/// What typing a code came to.
#[derive(Debug)]
pub enum Confirm {
    /// The link does not reach the e-mail step (see [`CodeRequest::Gate`]).
    Gate(Gate),
    /// The address is malformed or not of an allowed domain (any more).
    Refused(Box<LinkRecord>, Box<Workspace>),
    /// Too many wrong codes lately; retry after this many seconds.
    Throttled {
        /// The link.
        link: Box<LinkRecord>,
        /// Its workspace.
        workspace: Box<Workspace>,
        /// The address.
        address: String,
        /// Seconds until a code may be checked again.
        retry_after: u64,
    },
    /// Wrong, expired or used: why, for the page's sentence.
    Wrong {
        /// The link.
        link: Box<LinkRecord>,
        /// Its workspace.
        workspace: Box<Workspace>,
        /// The address.
        address: String,
        /// [`CodeCheck::Expired`], [`CodeCheck::Used`] or [`CodeCheck::Unknown`].
        why: CodeCheck,
    },
    /// Confirmed: the viewer cookie's value (named by [`outsider::viewer_cookie_name`]),
    /// valid for [`outsider::VIEWER_TTL`].
    Confirmed {
        /// The link.
        link: Box<LinkRecord>,
        /// The cookie's value.
        cookie: String,
    },
}

/// The link of `token` when it is at the e-mail step for this request: its password (if any)
/// proven, its settings asking for an address.
async fn at_email_step(
    app: &App,
    token: &str,
    who: &Requester,
    cookie: &impl Fn(&str) -> Option<String>,
) -> Result<Result<(Box<LinkRecord>, Box<Workspace>, LinkSettings), Gate>, Error> {
    let outsider::UnlockedLink {
        link,
        workspace,
        settings,
        ..
    } = match outsider::unlocked_link(app, token, who, cookie).await? {
        Ok(found) => found,
        Err(gate) => {
            if let Some(outcome) = gate.refusal() {
                outsider::record(app, who, gate.link(), outcome).await?;
            }
            return Ok(Err(gate));
        }
    };
    if !settings.access.confirm_email {
        return Ok(Err(outsider::open_link(app, token, who, cookie).await?));
    }
    Ok(Ok((link, workspace, settings)))
}

/// Sends a one-time code for the link of `token` to `email`, within the send limits
/// ([`send_limits`], charged before the mail is queued). `cookie` looks a request cookie up by
/// name (the unlock cookie of a link that also has a password).
pub async fn request_code(
    app: &App,
    token: &str,
    who: &Requester,
    cookie: impl Fn(&str) -> Option<String>,
    email: &str,
) -> Result<CodeRequest, Error> {
    let (link, workspace, settings) = match at_email_step(app, token, who, &cookie).await? {
        Ok(found) => found,
        Err(gate) => return Ok(CodeRequest::Gate(gate)),
    };
    let Ok(address) = mail::parse_address(email) else {
        return Ok(CodeRequest::Invalid(link, workspace));
    };
    if !identified::domain_allowed(&address, &settings.access.email_domains) {
        outsider::record(app, who, Some(&link), "email_refused").await?;
        return Ok(CodeRequest::Refused(link, workspace));
    }
    let address_key = identified::address_key(&app.keys.view_code, &link.id, &address);
    if let Err(retry_after) =
        crate::attempts::charge(app, &send_limits(&link, who, &address_key)).await?
    {
        outsider::record(app, who, Some(&link), "rate_limited").await?;
        return Ok(CodeRequest::Throttled {
            link,
            workspace,
            retry_after,
        });
    }
    let now = app.now();
    let code = identified::new_code();
    app.store
        .issue_view_code(
            &NewViewCode {
                link_id: link.id.clone(),
                address_key,
                code_hash: identified::code_hash(&app.keys.view_code, &link.id, &address, &code),
                expires_at: now + CODE_TTL,
            },
            now,
        )
        .await?;
    send_code(app, &link, &address, &code).await?;
    scrub_mail(app).await?;
    outsider::record(app, who, Some(&link), "code_sent").await?;
    Ok(CodeRequest::Sent {
        link,
        workspace,
        address,
    })
}

async fn send_code(app: &App, link: &LinkRecord, address: &str, code: &str) -> Result<(), Error> {
    let title = app
        .store
        .dashboard(link.workspace_id, link.dashboard_id)
        .await?
        .map_or_else(|| "a dashboard".to_owned(), |d| format!("“{}”", d.title));
    let footer = mail::footer(app, link.workspace_id).await?;
    let minutes = CODE_TTL.whole_minutes();
    let message = mail::templates::layout(
        // Never the code in the subject: the outbox keeps subjects (and lists them to owners),
        // and only the bodies are scrubbed once sent.
        &format!("Your code to view {title}"),
        "Your code",
        &[
            Block::Text(format!(
                "Someone (we hope you) asked to view {title} as {address}. Type this code on the \
                 page that asked for it:"
            )),
            Block::Note(code.to_owned()),
            Block::Small(format!(
                "It works once, for {minutes} minutes. If you did not ask for it, ignore this \
                 message: nobody can view anything as you without the code."
            )),
        ],
        &footer,
    );
    mail::enqueue(
        app,
        Envelope {
            workspace: link.workspace_id,
            kind: MAIL_KIND,
            reference: format!("link:{}", link.id),
            recipients: &[address.to_owned()],
            message: &message,
        },
    )
    .await?;
    Ok(())
}

/// Checks `code` for `email` on the link of `token`, reserved under [`code_limits`] before it
/// is looked at, and records the attempt (`confirmed`, `bad_code`, `rate_limited`).
pub async fn confirm_code(
    app: &App,
    token: &str,
    who: &Requester,
    cookie: impl Fn(&str) -> Option<String>,
    email: &str,
    code: &str,
) -> Result<Confirm, Error> {
    let (link, workspace, settings) = match at_email_step(app, token, who, &cookie).await? {
        Ok(found) => found,
        Err(gate) => return Ok(Confirm::Gate(gate)),
    };
    let address = match mail::parse_address(email) {
        Ok(a) if identified::domain_allowed(&a, &settings.access.email_domains) => a,
        _ => {
            outsider::record(app, who, Some(&link), "email_refused").await?;
            return Ok(Confirm::Refused(link, workspace));
        }
    };
    let address_key = identified::address_key(&app.keys.view_code, &link.id, &address);
    let why = Mutex::new(CodeCheck::Unknown);
    let checked = crate::attempts::attempt(app, &code_limits(&link, who, &address_key), || async {
        // A code that is not six digits is wrong without asking the store.
        let Some(code) = identified::normalize_code(code) else {
            return Ok(None);
        };
        let hash = identified::code_hash(&app.keys.view_code, &link.id, &address, &code);
        let check = app
            .store
            .consume_view_code(&link.id, &address_key, &hash, app.now())
            .await?;
        *why.lock().unwrap_or_else(|e| e.into_inner()) = check;
        Ok((check == CodeCheck::Confirmed).then_some(()))
    })
    .await?;
    match checked {
        Attempt::Right(()) => {}
        Attempt::Wrong => {
            outsider::record(app, who, Some(&link), "bad_code").await?;
            let why = *why.lock().unwrap_or_else(|e| e.into_inner());
            return Ok(Confirm::Wrong {
                link,
                workspace,
                address,
                why,
            });
        }
        Attempt::Throttled { retry_after } => {
            outsider::record(app, who, Some(&link), "rate_limited").await?;
            return Ok(Confirm::Throttled {
                link,
                workspace,
                address,
                retry_after,
            });
        }
    }
    outsider::record_as(app, who, Some(&link), "confirmed", Some(&address)).await?;
    let id = LinkId::parse(&link.id).ok_or_else(|| Error::internal("malformed link id"))?;
    let state = LinkState {
        id,
        generation: link.generation,
        epoch: link.epoch,
        domains: &settings.access.email_domains,
    };
    let cookie = identified::viewer_cookie(
        &app.keys.viewer,
        &state,
        &address,
        app.now() + outsider::VIEWER_TTL,
    );
    Ok(Confirm::Confirmed { link, cookie })
}

/// What a code request by `who` for `address_key` on `link` is charged to: the address, the
/// client (an IPv6 /64) and the link.
fn send_limits(link: &LinkRecord, who: &Requester, address_key: &str) -> [AttemptLimit; 3] {
    [
        AttemptLimit {
            scope: format!("code-send:{}:to:{address_key}", link.id),
            max: MAX_SENDS_PER_ADDRESS,
            window: THROTTLE_WINDOW,
            pace: None,
        },
        AttemptLimit {
            scope: format!("code-send:{}:client:{}", link.id, who.throttle()),
            max: MAX_SENDS_PER_CLIENT,
            window: THROTTLE_WINDOW,
            pace: None,
        },
        AttemptLimit {
            scope: format!("code-send:{}", link.id),
            max: MAX_SENDS_PER_LINK,
            window: SEND_WINDOW_PER_LINK,
            pace: None,
        },
    ]
}

/// The limits a typed code is reserved under: per client, per address typed, and the link's
/// ceiling, which slows rather than blocks.
fn code_limits(link: &LinkRecord, who: &Requester, address_key: &str) -> [AttemptLimit; 3] {
    [
        AttemptLimit {
            scope: format!("code:{}:client:{}", link.id, who.throttle()),
            max: MAX_BAD_CODES_PER_CLIENT,
            window: THROTTLE_WINDOW,
            pace: None,
        },
        AttemptLimit {
            scope: format!("code:{}:to:{address_key}", link.id),
            max: MAX_BAD_CODES_PER_ADDRESS,
            window: THROTTLE_WINDOW,
            pace: None,
        },
        AttemptLimit {
            scope: format!("code:{}", link.id),
            max: MAX_BAD_CODES_PER_LINK,
            window: THROTTLE_WINDOW,
            pace: Some(Pace {
                max: 1,
                per: outsider::LINK_PACE,
            }),
        },
    ]
}

/// Removes the codes from the outbox: the bodies of code messages sent or failed, and of those
/// still queued past [`CODE_TTL`] (which are failed: their code is dead). The drainer scrubs
/// sent ones after every pass; this also runs with every code request.
pub async fn scrub_mail(app: &App) -> Result<u64, Error> {
    Ok(app
        .store
        .scrub_code_mail(MAIL_KIND, Some(app.now() - CODE_TTL))
        .await?)
}

/// One viewer of an identified link, for the owner.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Viewer {
    /// The confirmed address.
    pub email: String,
    /// Page views with it (within the access log's retention).
    pub views: i64,
    /// The last one.
    #[serde(with = "time::serde::rfc3339")]
    pub last_view_at: time::OffsetDateTime,
}

/// Who viewed link `id` with a confirmed address, most recent first (at most 500).
pub async fn viewers(app: &App, member: &Member, id: &str) -> Result<Vec<Viewer>, Error> {
    let link = crate::links::show_link(app, member, id).await?;
    viewers_of(app, &link, 500).await
}

/// Who viewed `link` (a link its member was shown, so may see) with a confirmed address, most
/// recent first, at most `limit`.
pub async fn viewers_of(
    app: &App,
    link: &crate::links::LinkView,
    limit: i64,
) -> Result<Vec<Viewer>, Error> {
    Ok(app
        .store
        .link_viewers(&link.id, limit.clamp(1, 500))
        .await?
        .into_iter()
        .map(|(email, views, last_view_at)| Viewer {
            email,
            views,
            last_view_at,
        })
        .collect())
}
