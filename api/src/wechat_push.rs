//! WeChat's message push (消息推送) for the mini-program, in JSON plaintext mode: the console
//! checks the URL with a GET carrying `echostr`; events arrive as POSTs. Both are signed with
//! the console's Token (`wechat.push_token`). Subscribe-message events keep the citizens'
//! grants true: a popup "accept" adds an allowance, a change to "reject" stops messages.

use std::collections::BTreeMap;

use actix_web::{HttpResponse, get, post, web};
use chrono::Utc;
use fengqiao_domain::Text;
use fengqiao_domain::messaging::SubscribeChoice;
use fengqiao_infra::db::audit::{Actor, Event};
use fengqiao_infra::db::{citizens, messaging as store};
use fengqiao_infra::wechat::{push_signature_valid, pushed_withdrawals};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::{ApiError, Problem};
use crate::extract::{ApiQuery, RequestOrigin};
use crate::state::AppState;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PushSignature {
    pub signature: String,
    pub timestamp: String,
    pub nonce: String,
    /// Only in the console's URL check; echoed back when the signature holds.
    pub echostr: Option<String>,
}

fn verify(state: &AppState, q: &PushSignature) -> Result<(), ApiError> {
    let token = state
        .settings
        .wechat
        .push_token
        .as_ref()
        .map(|t| t.expose().to_owned())
        .unwrap_or_default();
    // In plaintext mode the signature covers the time and nonce, not the body: a signature seen
    // once must not be usable later, so it holds for five minutes around its own timestamp.
    let fresh = q
        .timestamp
        .parse::<i64>()
        .is_ok_and(|ts| (chrono::Utc::now().timestamp() - ts).abs() <= 300);
    if fresh && push_signature_valid(&token, &q.timestamp, &q.nonce, &q.signature) {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "invalid_signature",
            Text::new(
                "消息推送签名无效或已过期",
                "the push signature does not verify or is more than five minutes old",
            ),
        ))
    }
}

/// The console's URL check: answers `echostr` when the signature holds.
#[utoipa::path(
    tag = "wechat-push",
    operation_id = "verifyWeChatPush",
    params(PushSignature),
    responses(
        (status = 200, description = "The echostr, as plain text", body = String, content_type = "text/plain"),
        (status = 403, description = "The signature does not verify (`invalid_signature`)", body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/wechat/push")]
pub async fn verify_url(
    state: web::Data<AppState>,
    query: ApiQuery<PushSignature>,
) -> Result<HttpResponse, ApiError> {
    verify(&state, &query.0)?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body(query.0.echostr.unwrap_or_default()))
}

/// One event as WeChat pushes it (the fields this service reads).
#[derive(Deserialize, utoipa::ToSchema)]
#[schema(example = json!({"ToUserName": "gh_123456789abc", "FromUserName": "o7esq5OI1Ls4mQ_3Rrd5YsjgyUYb",
    "CreateTime": 1764037800, "MsgType": "event", "Event": "subscribe_msg_change_event",
    "List": [{"TemplateId": "tmpl_accepted_Qx1", "SubscribeStatusString": "reject"}]}))]
pub struct PushEvent {
    #[serde(rename = "FromUserName")]
    pub from_user_name: String,
    #[serde(rename = "MsgType", default)]
    pub msg_type: String,
    #[serde(rename = "Event", default)]
    pub event: String,
    /// One item or a list of them.
    #[serde(rename = "List", default)]
    #[schema(value_type = Value)]
    pub list: serde_json::Value,
}

/// Events from WeChat. Subscribe-message withdrawals (reject, ban) stop the citizen's grants;
/// other events are acknowledged and ignored. Answers `success`, as WeChat expects.
#[utoipa::path(
    tag = "wechat-push",
    operation_id = "receiveWeChatPush",
    params(PushSignature),
    request_body = PushEvent,
    responses(
        (status = 200, description = "`success`", body = String, content_type = "text/plain"),
        (status = 403, description = "The signature does not verify (`invalid_signature`)", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/wechat/push")]
pub async fn receive(
    state: web::Data<AppState>,
    origin: RequestOrigin,
    query: ApiQuery<PushSignature>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    verify(&state, &query.0)?;
    let success = || {
        HttpResponse::Ok()
            .content_type("text/plain; charset=utf-8")
            .body("success")
    };
    // Whatever else WeChat may push is acknowledged: refusing it only makes WeChat retry.
    let Some(pushed) = pushed_withdrawals(&body) else {
        return Ok(success());
    };
    let Some(citizen) = citizens::find_by_openid(&state.db, &pushed.openid).await? else {
        return Ok(success());
    };
    let long_term: BTreeMap<String, bool> = state
        .settings
        .messaging
        .events
        .values()
        .filter_map(|t| t.wechat_template.clone().map(|id| (id, t.wechat_long_term)))
        .collect();
    // Only the templates this service sends.
    let choices: Vec<(String, SubscribeChoice, bool)> = pushed
        .withdrawn
        .into_iter()
        .filter_map(|(template, choice)| {
            let lt = *long_term.get(&template)?;
            Some((template, choice, lt))
        })
        .collect();
    if choices.is_empty() {
        return Ok(success());
    }
    let txn = state.begin_change().await?;
    store::record_choices(&txn, citizen.id, &choices, Utc::now()).await?;
    state
        .audit_in(
            &txn,
            &Actor::system(),
            &origin.0,
            Event::new("subscription.pushed")
                .on("citizen", citizen.id)
                .with(serde_json::json!({
                    "event": pushed.event,
                    "choices": choices.iter().map(|(t, c, _)| (t.clone(), *c)).collect::<BTreeMap<_, _>>(),
                })),
        )
        .await?;
    txn.commit().await?;
    Ok(success())
}
