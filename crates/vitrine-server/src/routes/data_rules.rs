//! Members' data permissions: the member page (`GET /members/{id}`: their dashboards and the
//! row-level rules that apply to them, with admins' forms to add and remove rules) and
//! `/api/v1/data-rules`. The rules live in `vitrine_app::data_permissions`.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vitrine_app::accounts::Acting;
use vitrine_app::data_permissions::{self, DataRuleView, NewDataRule};
use vitrine_app::{App, Error};
use vitrine_core::dashboard::{RowLevelRule, Scalar};
use vitrine_core::id::MemberId;

use crate::auth::{ApiMember, Identity, PageMember};
use crate::error::{ErrorBody, HttpError};
use crate::extract::Json;
use crate::pages::{Chrome, DataRuleRow, MemberPage};

/// The member page and its forms.
pub fn pages() -> Router<App> {
    Router::new()
        .route("/members/{id}/rules", post(add_rule))
        .route("/members/{id}/rules/{rule}/delete", post(remove_rule))
}

/// The API.
pub fn api() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(list_rules_api, add_rule_api))
        .routes(routes!(remove_rule_api))
}

/// One member's page: admins, members who manage members, and the member themself.
async fn member_page(
    state: &App,
    identity: &Identity,
    id: MemberId,
    error: Option<String>,
) -> Result<MemberPage, HttpError> {
    let profile = data_permissions::member_profile(state, &identity.member, id).await?;
    let member = &profile.member;
    let rules = profile
        .rules
        .into_iter()
        .map(|r| DataRuleRow {
            id: r.id,
            summary: r.summary,
            through: r
                .role
                .map_or_else(|| "this member".to_owned(), |role| format!("every {role}")),
            added: vitrine_app::text::format_time(r.created_at),
        })
        .collect();
    Ok(MemberPage {
        chrome: Chrome::new(identity, "members"),
        id: member.id.0,
        name: member.name.clone(),
        email: member.email.clone(),
        role: member.role.as_str(),
        dashboards_only: profile.dashboards_only,
        dashboards: profile
            .dashboards
            .into_iter()
            .map(|(id, title, right)| (id.0, title, right))
            .collect(),
        rules,
        can_manage: profile.can_manage,
        datasets: profile.datasets,
        error,
    })
}

/// `GET /members/{id}` (routed with the members page's `POST` on the same path).
pub(crate) async fn show_member(
    State(state): State<App>,
    PageMember(identity): PageMember,
    Path(id): Path<MemberId>,
) -> Result<MemberPage, HttpError> {
    member_page(&state, &identity, id, None).await
}

#[derive(Debug, Deserialize)]
struct RuleForm {
    #[serde(default)]
    dataset: String,
    #[serde(default)]
    column: String,
    #[serde(default)]
    op: String,
    #[serde(default)]
    values: String,
    #[serde(default)]
    target: String,
}

/// A typed value from the form: a whole number, a decimal, `true` / `false`, or text.
fn scalar(text: &str) -> Scalar {
    if let Ok(i) = text.parse::<i64>() {
        Scalar::Int(i)
    } else if let Ok(x) = text.parse::<f64>()
        && x.is_finite()
    {
        Scalar::Float(x)
    } else if text == "true" || text == "false" {
        Scalar::Bool(text == "true")
    } else {
        Scalar::Text(text.to_owned())
    }
}

fn rule_of(form: &RuleForm) -> Result<RowLevelRule, Error> {
    let values: Vec<serde_json::Value> = form
        .values
        .split(',')
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(|v| serde_json::to_value(scalar(v)).unwrap_or(serde_json::Value::Null))
        .collect();
    let mut json = serde_json::json!({
        "column": form.column.trim(),
        "op": form.op,
        "values": values,
    });
    if !form.dataset.trim().is_empty() {
        json["dataset"] = serde_json::Value::String(form.dataset.trim().to_owned());
    }
    serde_json::from_value(json).map_err(|e| Error::invalid_field("rule", e.to_string()))
}

async fn add_rule(
    State(state): State<App>,
    PageMember(identity): PageMember,
    Path(id): Path<MemberId>,
    axum::Form(form): axum::Form<RuleForm>,
) -> Result<Response, HttpError> {
    let added = match rule_of(&form) {
        Ok(rule) => data_permissions::add_on_member(
            &state,
            &Acting::member(&identity.member),
            identity.member.workspace_id,
            id,
            form.target == "role",
            rule,
        )
        .await
        .map(|_| ()),
        Err(e) => Err(e),
    };
    match added {
        Ok(()) => Ok(Redirect::to(&format!("/members/{id}")).into_response()),
        Err(Error::Invalid { message, .. }) => {
            let page = member_page(&state, &identity, id, Some(message)).await?;
            Ok((StatusCode::BAD_REQUEST, page).into_response())
        }
        Err(other) => Err(other.into()),
    }
}

async fn remove_rule(
    State(state): State<App>,
    PageMember(identity): PageMember,
    Path((id, rule)): Path<(MemberId, i64)>,
) -> Result<Response, HttpError> {
    data_permissions::remove(
        &state,
        &Acting::member(&identity.member),
        identity.member.workspace_id,
        rule,
    )
    .await?;
    Ok(Redirect::to(&format!("/members/{id}")).into_response())
}

// ---- API ---------------------------------------------------------------------------------

/// List data rules.
///
/// Every row-level rule attached to a member or a role of the workspace. Admins.
#[utoipa::path(get, path = "/data-rules", operation_id = "listDataRules", tag = "members",
    responses(
        (status = 200, description = "The rules", body = Vec<DataRuleView>),
        (status = 403, description = "Admins only", body = ErrorBody),
    ))]
async fn list_rules_api(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
) -> Result<Json<Vec<DataRuleView>>, HttpError> {
    Ok(Json(
        data_permissions::list(
            &state,
            &Acting::member(&identity.member),
            identity.member.workspace_id,
        )
        .await?,
    ))
}

/// Add a data rule.
///
/// Attaches a row-level rule to one member (`member_id`) or to every member of a role
/// (`role`). It applies to everything they view: pages, exports, live updates, permalinks
/// and the reports that run as them. Admins.
#[utoipa::path(post, path = "/data-rules", operation_id = "addDataRule", tag = "members",
    request_body = NewDataRule,
    responses(
        (status = 201, description = "Added", body = DataRuleView),
        (status = 400, description = "Invalid rule, or no such member or column", body = ErrorBody),
        (status = 403, description = "Admins only", body = ErrorBody),
    ))]
async fn add_rule_api(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    Json(new): Json<NewDataRule>,
) -> Result<(StatusCode, Json<DataRuleView>), HttpError> {
    let added = data_permissions::add(
        &state,
        &Acting::member(&identity.member),
        identity.member.workspace_id,
        new,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(added)))
}

/// Remove a data rule.
#[utoipa::path(delete, path = "/data-rules/{id}", operation_id = "removeDataRule", tag = "members",
    params(("id" = i64, Path, description = "The rule")),
    responses(
        (status = 204, description = "Removed"),
        (status = 403, description = "Admins only", body = ErrorBody),
        (status = 404, description = "No such rule", body = ErrorBody),
    ))]
async fn remove_rule_api(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    crate::extract::Path(id): crate::extract::Path<i64>,
) -> Result<StatusCode, HttpError> {
    data_permissions::remove(
        &state,
        &Acting::member(&identity.member),
        identity.member.workspace_id,
        id,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
