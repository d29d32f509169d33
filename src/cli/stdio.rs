//! Output that never panics. `print!`/`println!` panic when stdout is a pipe whose reader has
//! gone (`pgentra schema | head -c1`: EPIPE, since Rust ignores SIGPIPE), and so does
//! `eprintln!` on such a stderr. A reader that went away no longer wants the output, and a
//! diagnostic that cannot be written has nowhere else to go, so neither is an error here.
//! (A closed descriptor, `2>&-`, is reopened on /dev/null by Rust's runtime before main.)

use std::io::{self, Write};

/// Writes `text` to stdout. A reader that went away is success; other failures (a full disk
/// behind a redirect) are returned for the caller to report.
pub fn try_print(text: &str) -> io::Result<()> {
    let mut stdout = io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        result => result,
    }
}

/// Writes `text` to stdout, ignoring a failure (the output is not the command's result).
pub fn print(text: &str) {
    let _ = try_print(text);
}

/// `text` and a newline, to stdout, ignoring a failure.
pub fn println(text: &str) {
    print(&format!("{text}\n"));
}

/// Writes `text` to stderr, ignoring a failure.
pub fn eprint(text: &str) {
    let mut stderr = io::stderr().lock();
    let _ = stderr
        .write_all(text.as_bytes())
        .and_then(|()| stderr.flush());
}

/// `text` and a newline, to stderr, ignoring a failure.
pub fn eprintln(text: &str) {
    eprint(&format!("{text}\n"));
}

/// `println!` through [`println`]: survives a stdout whose reader has gone.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::cli::stdio::println(&format!($($arg)*))
    };
}
pub(crate) use outln;

/// `eprintln!` through [`eprintln`]: survives a closed stderr.
macro_rules! errln {
    ($($arg:tt)*) => {
        $crate::cli::stdio::eprintln(&format!($($arg)*))
    };
}
pub(crate) use errln;
