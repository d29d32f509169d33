//! The `pgentra` command line's commands, one module each, and what they share: the argument
//! parsing (on clap) and output that never panics on a closed stdout or stderr.

pub mod args;
pub mod demo;
pub mod doctor;
pub mod emulator;
pub mod emulator_servers;
pub mod psql;
pub mod stdio;
pub mod token;
