//! The OpenAPI schemas of text the services validate: each function states in JSON Schema
//! what a service accepts for one kind of input, so the API document (generated in
//! `vitrine-server` from the `ToSchema` derives here) says what the handlers enforce, no more
//! and no less. The types use them with `#[schema(schema_with = …)]`.
//!
//! Services trim text before checking it, with Rust's definition of whitespace; the patterns
//! spell that set out ([`WS`]) instead of `\s`, whose meaning differs between regex engines.
//! Lengths are counted in characters, as `maxLength` is.

use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{
    AnyOfBuilder, ArrayBuilder, ObjectBuilder, Schema, SchemaType, Type,
};

/// The characters `str::trim` removes (Unicode `White_Space`), as a regex class body.
pub const WS: &str =
    "\\t\\n\\x0b\\x0c\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
/// Control characters (`char::is_control`), as a regex class body.
pub const CONTROLS: &str = "\\x00-\\x1f\\x7f-\\x9f";

fn string(pattern: String, max_length: Option<usize>, description: &str) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(pattern))
        .max_length(max_length)
        .description(Some(description))
}

/// Text of 1 to 100 characters after trimming, without control characters: a link's label,
/// an API key's name.
pub fn label() -> RefOr<Schema> {
    string(
        format!("^[^{CONTROLS}]*[^{WS}{CONTROLS}][^{CONTROLS}]*$"),
        Some(100),
        "1 to 100 characters (surrounding whitespace is trimmed), no control characters.",
    )
    .into()
}

/// [`label`], or null for "unchanged".
pub fn optional_label() -> RefOr<Schema> {
    AnyOfBuilder::new()
        .item(ObjectBuilder::new().schema_type(Type::Null))
        .item(label())
        .into()
}

/// A member's display name: empty (the e-mail's local part is used), or 1 to 100 characters
/// after trimming without control characters.
pub fn display_name() -> RefOr<Schema> {
    string(
        format!("^[^{CONTROLS}]*$"),
        Some(100),
        "Up to 100 characters, no control characters; empty or blank: the e-mail address's \
         local part.",
    )
    .into()
}

/// A data source's name: 1 to 100 characters after trimming.
pub fn name() -> RefOr<Schema> {
    string(
        format!("[^{WS}]"),
        Some(100),
        "1 to 100 characters (surrounding whitespace is trimmed).",
    )
    .into()
}

/// Text that is not blank (a data source's location).
pub fn not_blank() -> RefOr<Schema> {
    string(
        format!("[^{WS}]"),
        None,
        "Not empty (surrounding whitespace is trimmed).",
    )
    .into()
}

/// A slug (`Slug::parse`) after trimming: 1 to 64 characters of `a-z`, `0-9`, `_`, `-`,
/// starting with a letter or digit.
pub fn slug() -> RefOr<Schema> {
    string(
        format!("^[{WS}]*[a-z0-9][a-z0-9_-]{{0,63}}[{WS}]*$"),
        None,
        "1 to 64 characters of a-z, 0-9, `_` and `-`, starting with a letter or digit.",
    )
    .into()
}

/// A slug, or empty / absent for "derive it" (a dashboard's slug).
pub fn optional_slug() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .pattern(Some(format!(
            "^[{WS}]*(?:[a-z0-9][a-z0-9_-]{{0,63}})?[{WS}]*$"
        )))
        .description(Some(
            "1 to 64 characters of a-z, 0-9, `_` and `-`, starting with a letter or digit; \
             absent or empty: kept (on update) or made from the title (on create).",
        ))
        .into()
}

/// A new password for a link: empty or absent (none), or 10 to 256 characters.
pub fn link_password() -> RefOr<Schema> {
    AnyOfBuilder::new()
        .item(ObjectBuilder::new().schema_type(Type::Null))
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .max_length(Some(0)),
        )
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(10))
                .max_length(Some(256)),
        )
        .description(Some(
            "10 to 256 characters; empty or absent: no password (unchanged on update).",
        ))
        .into()
}

/// A link's allowed networks: at most 100, each a CIDR network or one address.
pub fn networks() -> RefOr<Schema> {
    ArrayBuilder::new()
        .items(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .description(Some(
                    "An IPv4 or IPv6 network in CIDR notation (`192.0.2.0/24`, \
                     `2001:db8::/32`) or one address; host bits are cleared.",
                ))
                .examples(["192.0.2.0/24"]),
        )
        .max_items(Some(100))
        .into()
}

/// A link's allowed e-mail domains (`@client.com`).
pub fn email_domains() -> RefOr<Schema> {
    ArrayBuilder::new()
        .items(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .description(Some(
                    "A domain whose addresses may confirm: `@client.com` or `client.com` \
                     (the domain itself, not its subdomains).",
                ))
                .pattern(Some(
                    "^@?[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\
                     (\\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$",
                ))
                .min_length(Some(3))
                .max_length(Some(253))
                .examples(["@client.com"]),
        )
        .max_items(Some(50))
        .into()
}

/// One DNS label: letters, digits and hyphens, 1 to 63, not starting or ending with a hyphen.
const LABEL: &str = "[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?";

/// The workspace's allowed e-mail domains for report recipients: at most 100 entries, each a
/// domain name of two labels or more (`example.com`; leading `@`s and surrounding whitespace
/// are dropped, case does not matter) or blank (ignored), exactly what
/// `reports::normalise_email_domains` takes.
pub fn report_email_domains() -> RefOr<Schema> {
    ArrayBuilder::new()
        .items(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .description(Some(
                    "A domain name like `example.com` (labels of letters, digits and inner \
                     hyphens joined by dots; leading `@` and surrounding whitespace dropped); \
                     its addresses may receive reports, not its subdomains'. A blank entry \
                     is ignored.",
                ))
                .pattern(Some(format!("^[{WS}]*(@*|@*{LABEL}(\\.{LABEL})+)[{WS}]*$")))
                .max_length(Some(253))
                .examples(["example.com"]),
        )
        .max_items(Some(100))
        .into()
}

/// Addresses to invite: 1 to 50 plain addresses (`name@example.com`: no display name, no
/// space, comma or line break), as an SMTP server takes them.
pub fn invitation_addresses() -> RefOr<Schema> {
    ArrayBuilder::new()
        .items(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .description(Some(
                    "A plain address `local@domain`: the local part of letters, digits and \
                     `.!#$%&'*+/=?^_`{|}~-`, the domain a domain name; at most 254 characters.",
                ))
                .pattern(Some(format!(
                    "^[A-Za-z0-9.!#$%&'*+/=?^_`{{|}}~-]+@{LABEL}(\\.{LABEL})+$"
                )))
                .max_length(Some(254))
                .examples(["ada@example.com"]),
        )
        .min_items(Some(1))
        .max_items(Some(50))
        .into()
}

/// A report's local time, `HH:MM` (24-hour; the hour may have one digit).
pub fn local_time() -> RefOr<Schema> {
    string(
        "^([01]?[0-9]|2[0-3]):[0-5][0-9]$".to_owned(),
        Some(5),
        "A local time, `HH:MM` (24-hour), e.g. `09:00`.",
    )
    .into()
}

/// A generic webhook's secret: 16 to 256 characters, or empty when changing a schedule to
/// keep the saved secret of the same URL.
pub fn webhook_secret() -> RefOr<Schema> {
    AnyOfBuilder::new()
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .max_length(Some(0)),
        )
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(16))
                .max_length(Some(256)),
        )
        .description(Some(
            "16 to 256 characters; empty when changing a schedule: keep the saved secret of the \
             same URL (an answer always shows it empty).",
        ))
        .into()
}

/// A five-field cron expression (`minute hour day-of-month month day-of-week`): five fields
/// separated by whitespace, at most 200 characters; each field must also be one the cron
/// parser reads (`*/15`, `1-5`, `L` …), which a pattern does not spell out.
pub fn cron_expression() -> RefOr<Schema> {
    string(
        format!("^[{WS}]*[^{WS}]+([{WS}]+[^{WS}]+){{4}}[{WS}]*$"),
        Some(200),
        "Five cron fields separated by whitespace, e.g. `30 8 * * 1-5`.",
    )
    .into()
}
