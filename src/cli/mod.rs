//! The `pgentra` command line's commands, one module each.

pub mod demo;
pub mod emulator;
