//! Long-running operations as the PostgreSQL RP does them: 202 with absolute
//! Azure-AsyncOperation and Location URLs, a status resource and a result resource.

use super::errors::{ArmError, ArmResult};
use super::{Ctx, PG_LRO_API_VERSION, PG_NAMESPACE};
use crate::http::Resp;
use crate::state::{Effect, Operation, Outcome, World};
use crate::util;
use serde_json::json;
use std::time::Instant;

/// What a new operation is about.
pub(crate) struct NewOp {
    pub location: String,
    pub resource_id: String,
    pub is_delete: bool,
    pub busy_key: Option<String>,
    pub on_success: Effect,
    pub on_failure: Option<Effect>,
}

fn urls(ctx: &Ctx, location: &str, id: &str) -> (String, String) {
    let base = format!(
        "{}/subscriptions/{}/providers/{PG_NAMESPACE}/locations/{location}",
        ctx.inner.urls.arm, ctx.sub
    );
    (
        format!("{base}/azureAsyncOperation/{id}?api-version={PG_LRO_API_VERSION}"),
        format!("{base}/operationResults/{id}?api-version={PG_LRO_API_VERSION}"),
    )
}

/// Registers the operation (its outcome decided now: fault rules may make it fail) and
/// answers 202 with the polling headers.
pub(crate) fn start(ctx: &Ctx, w: &mut World, op: NewOp) -> Resp {
    let id = util::uuid();
    let planned = ctx
        .inner
        .faults()
        .take_lro(&op.resource_id)
        .unwrap_or(Outcome::Succeeded);
    let duration = ctx
        .inner
        .faults()
        .take_lro_duration(&op.resource_id)
        .unwrap_or_else(|| ctx.lro_delay());
    let location = super::normalize_location(&op.location);
    if let Some(b) = &op.busy_key {
        w.busy.insert(b.clone(), id.clone());
    }
    w.operations.insert(
        id.clone(),
        Operation {
            id: id.clone(),
            location: location.clone(),
            resource_id: op.resource_id,
            is_delete: op.is_delete,
            start: util::now_iso(),
            end: None,
            due: Instant::now() + duration,
            status: None,
            planned,
            on_success: Some(op.on_success),
            on_failure: op.on_failure,
            busy_key: op.busy_key,
            final_body: None,
            error: None,
        },
    );
    if duration.is_zero() {
        w.tick(Instant::now());
    }
    let (async_url, location_url) = urls(ctx, &location, &id);
    Resp::empty(202)
        .with_header("azure-asyncoperation", async_url)
        .with_header("location", location_url)
        .with_header("retry-after", ctx.retry_after())
}

fn status_word(s: Option<Outcome>) -> &'static str {
    match s {
        None => "InProgress",
        Some(Outcome::Succeeded) => "Succeeded",
        Some(Outcome::Failed) => "Failed",
        Some(Outcome::Canceled) => "Canceled",
    }
}

/// GET `.../locations/{loc}/azureAsyncOperation/{id}` and `.../operationResults/{id}`.
pub(super) fn status(ctx: &Ctx, kind: &str, id: &str) -> ArmResult<Resp> {
    if ctx.req.method != "GET" {
        return Err(ArmError::method_not_allowed(&ctx.req.method));
    }
    let w = ctx.inner.world();
    let op = w
        .operations
        .get(&id.to_ascii_lowercase())
        .or_else(|| w.operations.get(id))
        .ok_or_else(|| {
            ArmError::new(
                404,
                "OperationNotFound",
                format!("The operation '{id}' could not be found."),
            )
        })?;
    let (async_url, location_url) = urls(ctx, &op.location, &op.id);
    match kind {
        "azureasyncoperation" => {
            let mut body = json!({
                "id": async_url.split('?').next().unwrap_or_default().trim_start_matches(&ctx.inner.urls.arm),
                "name": op.id,
                "status": status_word(op.status),
                "startTime": op.start,
            });
            if let Some(end) = &op.end {
                body["endTime"] = json!(end);
                body["percentComplete"] = json!(100);
            }
            if let Some(e) = &op.error {
                body["error"] = e.object();
            }
            let r = Resp::json(200, &body);
            Ok(if op.status.is_none() {
                r.with_header("retry-after", ctx.retry_after())
            } else {
                r
            })
        }
        "operationresults" => match op.status {
            None => Ok(Resp::empty(202)
                .with_header("location", location_url)
                .with_header("retry-after", ctx.retry_after())),
            Some(Outcome::Succeeded) => Ok(match (&op.final_body, op.is_delete) {
                (Some(b), false) => Resp::json(200, b),
                (_, true) => Resp::empty(204),
                (None, false) => Resp::empty(200),
            }),
            Some(_) => Err(op.error.clone().unwrap_or_else(|| {
                ArmError::new(500, "InternalServerError", "The operation failed.")
            })),
        },
        _ => Err(ArmError::not_found_route(&ctx.req.path)),
    }
}
