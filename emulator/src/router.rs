//! Sends each request to the face that serves it, after the clock tick and fault injection.

use crate::http::{Handler, Req, Resp, Service};
use crate::Inner;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

pub(crate) struct Router(pub Arc<Inner>);

impl Handler for Router {
    fn handle(
        self: Arc<Self>,
        service: Service,
        req: Req,
    ) -> Pin<Box<dyn Future<Output = Resp> + Send>> {
        Box::pin(async move { route(self.0.clone(), service, req).await })
    }
}

async fn route(inner: Arc<Inner>, service: Service, req: Req) -> Resp {
    inner.world().tick(Instant::now());
    if service == Service::Arm && req.path.starts_with("/_emulator") {
        return crate::admin::handle(&inner, &req);
    }
    if let Some(fault) = inner.faults().take_request(service, &req.method, &req.path) {
        tracing::debug!(path = %req.path, "injected fault");
        return fault;
    }
    let replaced = inner.faults().take_headers(service, &req.method, &req.path);
    let resp = match service {
        // Microsoft Graph shares the ARM listener: its paths never start like ARM's.
        Service::Arm if req.path.starts_with(crate::graph::PREFIX) => {
            crate::graph::handle(&inner, &req)
        }
        Service::Arm => crate::arm::handle(inner, req).await,
        Service::Login => crate::entra::tokens::handle(&inner, &req),
        Service::Msi if req.path.starts_with(crate::imds::TOKEN_PATH) => {
            crate::imds::handle(&inner, &req)
        }
        Service::Msi => crate::msi_endpoint::handle(&inner, &req),
        Service::Oidc if req.path.starts_with(crate::actions_oidc::ID_TOKEN_PATH) => {
            crate::actions_oidc::handle(&inner, &req)
        }
        Service::Oidc => crate::oidc::handle(&inner, &req),
    };
    match replaced {
        Some(headers) => resp.replacing_headers(headers),
        None => resp,
    }
}
