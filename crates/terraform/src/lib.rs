//! The Terraform face of pgentra, protocol layer only: go-plugin's handshake and AutoMTLS, the
//! tfplugin6 gRPC service, and the cty value model with its msgpack/JSON codec. Nothing here knows
//! a resource; a caller plugs in an implementation of [`proto::tfplugin6::provider_server::Provider`]
//! and hands it to [`serve::serve`].

pub mod codec;
pub mod cty;
pub mod diagnostics;
pub mod handshake;
pub mod proto;
pub mod serve;
pub mod tls;
