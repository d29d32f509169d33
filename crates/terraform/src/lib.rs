//! The Terraform face of pgentra: go-plugin's handshake and AutoMTLS, the tfplugin6 gRPC
//! service, the cty value model with its msgpack/JSON codec (the wire, no resource knowledge),
//! and over it the provider itself: the schema derived from the core's descriptions
//! ([`schema`]), Terraform objects <-> the core's Props ([`values`]), Terraform's planning and
//! apply rules ([`plan`]) and the tfplugin6 service calling the core ([`service`]).

pub mod codec;
pub mod cty;
pub mod diagnostics;
pub mod docs;
pub mod handshake;
pub mod plan;
pub mod proto;
pub mod schema;
pub mod serve;
pub mod service;
pub mod tls;
pub mod values;
