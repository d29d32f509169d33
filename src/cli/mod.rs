//! The `pgentra` command line's commands, one module each.

pub mod demo;
pub mod doctor;
pub mod emulator;
pub mod psql;
pub mod token;
