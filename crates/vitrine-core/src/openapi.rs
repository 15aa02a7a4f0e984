//! OpenAPI schemas (feature `openapi`) for the domain types whose JSON shape the derive macro
//! cannot tell from serde alone: an embed [`Origin`] (a string that [`Origin::parse`] accepts)
//! and a [`FilterValue`] (untagged: several shapes, which the derive would write as `oneOf`
//! although a whole number is both an `integer` and a `number`). Each schema states exactly
//! what deserialising and parsing accept, no more and no less; the API's conformance run
//! (`.ci/run`, Schemathesis) sends values on both sides of every line written here.

use std::borrow::Cow;

use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{
    AdditionalProperties, AnyOfBuilder, ArrayBuilder, KnownFormat, ObjectBuilder, Schema,
    SchemaFormat, SchemaType, Type,
};
use utoipa::{PartialSchema, ToSchema};

use crate::dashboard::{FilterValue, RelativeDate};
use crate::share::Origin;

/// What [`Origin::parse`] accepts, as an ECMA-262 pattern: `https://` and a host name of
/// dot-separated labels (letters, digits, inner dashes; 1 to 63 characters each), or
/// `http://localhost` / `http://127.0.0.1`; an optional port of 1 to 5 digits; trailing
/// slashes only. Upper case is accepted (origins are stored in lower case).
pub const ORIGIN_PATTERN: &str = concat!(
    "^(?:[Hh][Tt][Tt][Pp][Ss]://",
    "(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\\.)*",
    "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?",
    "|[Hh][Tt][Tt][Pp]://(?:[Ll][Oo][Cc][Aa][Ll][Hh][Oo][Ss][Tt]|127\\.0\\.0\\.1))",
    "(?::[0-9]{1,5})?/*$"
);

impl PartialSchema for Origin {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(ORIGIN_PATTERN))
            .description(Some(
                "A site allowed to frame the link: `https://host` or `https://host:port` \
                 (`http://` only for localhost), no path, no wildcard.",
            ))
            .examples(["https://portal.example.com"])
            .into()
    }
}

impl ToSchema for Origin {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Origin")
    }
}

fn typed(kind: Type) -> ObjectBuilder {
    ObjectBuilder::new().schema_type(kind)
}

fn nullable_date() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Date)))
}

fn nullable_number() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(SchemaType::from_iter([Type::Number, Type::Null]))
}

/// One plain value: a boolean, a number (whole or not) or text.
fn scalar() -> RefOr<Schema> {
    AnyOfBuilder::new()
        .item(typed(Type::Boolean))
        .item(typed(Type::Number))
        .item(typed(Type::String))
        .into()
}

fn closed(object: ObjectBuilder) -> ObjectBuilder {
    object
        .schema_type(Type::Object)
        .additional_properties(Some(AdditionalProperties::<Schema>::FreeForm(false)))
}

impl PartialSchema for FilterValue {
    fn schema() -> RefOr<Schema> {
        let presets = RelativeDate::ALL.map(|p| serde_json::to_value(p).unwrap_or_default());
        let relative = closed(ObjectBuilder::new())
            .property(
                "preset",
                typed(Type::String).enum_values(Some(presets.into_iter())),
            )
            .required("preset");
        let absolute = closed(ObjectBuilder::new())
            .property("from", nullable_date())
            .property("to", nullable_date());
        let number_range = closed(ObjectBuilder::new())
            .property("min", nullable_number())
            .property("max", nullable_number());
        AnyOfBuilder::new()
            .item(scalar())
            .item(ArrayBuilder::new().items(scalar()))
            .item(relative)
            .item(absolute)
            .item(number_range)
            .description(Some(
                "A filter's value: `\"EMEA\"` (single select), `[\"EMEA\", \"APAC\"]` (multi \
                 select), `{\"preset\": \"last_30_days\"}` or `{\"from\": \"2026-01-01\", \"to\": \
                 \"2026-03-31\"}` (date range, either end open), `{\"min\": 1, \"max\": 9}` \
                 (number range, either end open). Whether it fits the filter it is given for is \
                 checked against the dashboard.",
            ))
            .into()
    }
}

impl ToSchema for FilterValue {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("FilterValue")
    }
}
