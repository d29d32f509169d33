//! What the user sees: steps, one line per resource operation in the columns of Pulumi's
//! non-interactive display, property changes, and a summary per step. Plain text (no colour),
//! line by line, so it reads the same in a terminal, a log and a CI job. Values of secret
//! properties are never shown.

use pgentra_core::props::{Props, UNKNOWN};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Write;
use std::time::{Duration, Instant};

const TYPE_WIDTH: usize = 34;
const NAME_WIDTH: usize = 24;

/// The operation a line is about, with the symbol Pulumi uses for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Op {
    Create,
    Update,
    Delete,
    Refresh,
    Same,
}

impl Op {
    fn symbol(self) -> char {
        match self {
            Op::Create => '+',
            Op::Update | Op::Refresh => '~',
            Op::Delete => '-',
            Op::Same => ' ',
        }
    }
}

/// Prints one line at a time (whole lines, so concurrent operations never interleave mid-line).
pub fn say(text: impl AsRef<str>) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{}", text.as_ref());
    let _ = out.flush();
}

/// A step's header.
pub fn step(number: usize, total: usize, title: &str) {
    say(format!("\n== Step {number}/{total}: {title}"));
}

/// One resource line: `<op>  <type>  <name>  <status>`.
pub fn resource(op: Op, type_token: &str, name: &str, status: impl AsRef<str>) {
    say(format!(
        " {}  {:<TYPE_WIDTH$} {:<NAME_WIDTH$} {}",
        op.symbol(),
        type_token,
        name,
        status.as_ref()
    ));
}

/// A detail under a resource line (a property change, a note).
pub fn detail(text: impl AsRef<str>) {
    say(format!("        {}", text.as_ref()));
}

/// A log line of the plugin, under the resource it is about (named by the URN's last part);
/// the lines of a multi-line message (SQL) indented beneath.
pub fn log_line(urn: &str, message: &str) {
    let name = urn.rsplit("::").next().unwrap_or(urn);
    let mut lines = message.lines();
    let mut text = format!("        [{name}] {}", lines.next().unwrap_or_default());
    for more in lines {
        text.push_str(&format!("\n            {}", more.trim()));
    }
    say(text);
}

/// `1.2s` / `340ms`.
pub fn elapsed(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{}ms", d.as_millis())
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

/// Counts per operation for a step's summary line.
#[derive(Debug, Default)]
pub struct Tally {
    counts: BTreeMap<&'static str, usize>,
}

impl Tally {
    pub fn add(&mut self, what: &'static str) {
        *self.counts.entry(what).or_default() += 1;
    }

    pub fn get(&self, what: &str) -> usize {
        self.counts.get(what).copied().unwrap_or(0)
    }

    /// `Resources: + 18 created, 2 unchanged. Duration: 4.1s`
    pub fn summary(&self, started: Instant) {
        let order = [
            ("to create", '+'),
            ("created", '+'),
            ("to update", '~'),
            ("updated", '~'),
            ("drifted", '~'),
            ("deleted outside", '-'),
            ("deleted", '-'),
            ("unchanged", ' '),
        ];
        let parts: Vec<String> = order
            .iter()
            .filter(|(what, _)| self.get(what) > 0)
            .map(|(what, symbol)| {
                let n = self.get(what);
                if *symbol == ' ' {
                    format!("{n} {what}")
                } else {
                    format!("{symbol} {n} {what}")
                }
            })
            .collect();
        let parts = if parts.is_empty() {
            "no changes".to_owned()
        } else {
            parts.join(", ")
        };
        say(format!(
            "Resources: {parts}. Duration: {}",
            elapsed(started.elapsed())
        ));
    }
}

/// A value as the user reads it; a secret (or anything under one) is never shown.
pub fn value(props: &Props, name: &str) -> String {
    if props.is_secret(name) {
        return "[secret]".to_owned();
    }
    match props.get(name) {
        None => "(none)".to_owned(),
        Some(v) => show(v),
    }
}

fn show(v: &Value) -> String {
    match v {
        Value::String(s) if s == UNKNOWN => "(known after create)".to_owned(),
        other => other.to_string(),
    }
}

/// The top-level properties whose values differ between `old` and `new`, shown `old => new`.
pub fn changes(old: &Props, new: &Props, only: Option<&[String]>) -> Vec<String> {
    let mut names: Vec<&String> = old.values.keys().chain(new.values.keys()).collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .filter(|n| only.is_none_or(|only| only.contains(n)))
        .filter(|n| old.get(n) != new.get(n))
        .map(|n| format!("~ {n}: {} => {}", value(old, n), value(new, n)))
        .collect()
}

/// The output properties a preview could not know yet.
pub fn unknown_outputs(outputs: &Props) -> Vec<String> {
    outputs
        .values
        .iter()
        .filter(|(_, v)| pgentra_core::props::contains_unknown(v))
        .map(|(k, _)| k.clone())
        .collect()
}
