//! The doctor's report: one line per check, the fix under a failure, plain text.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Pass,
    Fail,
    Skip,
}

#[derive(Debug, Clone)]
pub struct Check {
    pub name: &'static str,
    pub status: Status,
    pub detail: String,
    pub fix: Option<String>,
}

/// The checks so far, in order.
#[derive(Default)]
pub struct Report(pub Vec<Check>);

impl Report {
    pub(super) fn add(&mut self, name: &'static str, status: Status, detail: impl Into<String>) {
        self.0.push(Check {
            name,
            status,
            detail: detail.into(),
            fix: None,
        });
    }
    pub(super) fn pass(&mut self, name: &'static str, detail: impl Into<String>) {
        self.add(name, Status::Pass, detail);
    }
    pub(super) fn skip(&mut self, name: &'static str, detail: impl Into<String>) {
        self.add(name, Status::Skip, detail);
    }
    pub(super) fn fail(
        &mut self,
        name: &'static str,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) {
        self.0.push(Check {
            name,
            status: Status::Fail,
            detail: detail.into(),
            fix: Some(fix.into()),
        });
    }

    pub fn failed(&self) -> bool {
        self.0.iter().any(|c| c.status == Status::Fail)
    }

    /// One line per check, the fix indented under a failure; plain text, no colour.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for c in &self.0 {
            let status = match c.status {
                Status::Pass => "PASS",
                Status::Fail => "FAIL",
                Status::Skip => "SKIP",
            };
            // A detail of several lines (the credential chain's sources) stays under its check.
            for (i, line) in c.detail.lines().enumerate() {
                match i {
                    0 => out.push_str(&format!("{status}  {:<14} {line}\n", c.name)),
                    _ => out.push_str(&format!("      {:<14} {line}\n", "")),
                }
            }
            if let Some(fix) = &c.fix {
                for (i, line) in fix.lines().enumerate() {
                    let lead = if i == 0 { "fix:" } else { "    " };
                    out.push_str(&format!("      {:<14} {lead} {line}\n", ""));
                }
            }
        }
        let failed = self.0.iter().filter(|c| c.status == Status::Fail).count();
        out.push_str(&match failed {
            0 => "\nAll checks passed.\n".to_string(),
            n => format!("\n{n} check(s) failed; each fix is under it.\n"),
        });
        out
    }
}

/// What the ARM checks learnt that the later checks use.

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_prints_its_fix_under_it_and_is_counted() {
        let mut report = Report::default();
        report.pass("entra-auth", "enabled");
        report.fail("password-auth", "enabled", "disable it\nsecond line");
        report.skip("tls", "not checked");
        let text = report.render();
        assert!(report.failed());
        assert!(text.contains("PASS  entra-auth"), "{text}");
        assert!(text.contains("FAIL  password-auth"), "{text}");
        assert!(text.contains("fix: disable it\n"), "{text}");
        assert!(text.contains("     second line\n"), "{text}");
        assert!(text.contains("1 check(s) failed"), "{text}");
    }
}
