//! The Pulumi adapter: the gRPC service the engine drives, the value codec, and start-up.

pub mod autoname;
pub mod codec;
pub mod engine_log;
pub mod serve;
pub mod service;
pub mod status;
