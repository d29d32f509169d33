//! Building tfplugin6 `Diagnostic`s, optionally pointing at an attribute written as a path string:
//! `sql_connection.host`, `privileges[2]`, `tags["team"]`. Terraform then underlines that
//! attribute in the user's configuration. (Set elements cannot be addressed: stop at the set.)

use crate::proto::tfplugin6::attribute_path::{step::Selector, Step};
use crate::proto::tfplugin6::diagnostic::Severity;
use crate::proto::tfplugin6::{AttributePath, Diagnostic};

#[derive(Debug, thiserror::Error)]
#[error("attribute path {path:?} is malformed at byte {position}: {reason}")]
pub struct PathSyntaxError {
    pub path: String,
    pub position: usize,
    pub reason: &'static str,
}

/// An error diagnostic (fails the operation).
pub fn error(summary: impl Into<String>, detail: impl Into<String>) -> Diagnostic {
    diagnostic(Severity::Error, summary, detail)
}

/// A warning diagnostic (shown; the run continues).
pub fn warning(summary: impl Into<String>, detail: impl Into<String>) -> Diagnostic {
    diagnostic(Severity::Warning, summary, detail)
}

/// An error diagnostic about the attribute at `path`.
pub fn error_at(
    path: &str,
    summary: impl Into<String>,
    detail: impl Into<String>,
) -> Result<Diagnostic, PathSyntaxError> {
    Ok(Diagnostic {
        attribute: Some(attribute_path(path)?),
        ..error(summary, detail)
    })
}

/// A warning diagnostic about the attribute at `path`.
pub fn warning_at(
    path: &str,
    summary: impl Into<String>,
    detail: impl Into<String>,
) -> Result<Diagnostic, PathSyntaxError> {
    Ok(Diagnostic {
        attribute: Some(attribute_path(path)?),
        ..warning(summary, detail)
    })
}

fn diagnostic(
    severity: Severity,
    summary: impl Into<String>,
    detail: impl Into<String>,
) -> Diagnostic {
    Diagnostic {
        severity: severity as i32,
        summary: summary.into(),
        detail: detail.into(),
        attribute: None,
    }
}

/// What a failure of each class means for the person running Terraform, which has no error
/// codes: the diagnostic's detail says whether anything changed and what to do next.
pub fn class_detail(class: pgentra_core::error::ErrorClass) -> &'static str {
    use pgentra_core::error::ErrorClass;
    match class {
        ErrorClass::Unavailable => {
            "A network or service problem (throttled, unreachable, connection closed); nothing \
             changed. Run the same command again."
        }
        ErrorClass::InvalidArgument => {
            "The request was refused as invalid; nothing changed. Fix the value and apply again."
        }
        ErrorClass::NotFound => "It (or what it belongs to) does not exist; nothing changed.",
        ErrorClass::AlreadyExists => {
            "It exists already and was not created here; import it to manage it."
        }
        ErrorClass::FailedPrecondition => {
            "Refused in the current state (permissions, a conflict, a failed operation); nothing \
             changed. Fix the cause and apply again."
        }
        ErrorClass::DeadlineExceeded => {
            "The operation ran out of time before anything was committed; apply again."
        }
        ErrorClass::Cancelled => {
            "The operation was cancelled before it finished; the next plan reads what exists."
        }
        ErrorClass::Unknown => {
            "The outcome is unknown: the change may or may not have happened. The next plan \
             reads what exists."
        }
    }
}

/// Parses `name(.name | [index] | ["key"])*` into the steps Terraform expects.
pub fn attribute_path(path: &str) -> Result<AttributePath, PathSyntaxError> {
    let fail = |position: usize, reason: &'static str| PathSyntaxError {
        path: path.to_string(),
        position,
        reason,
    };
    let bytes = path.as_bytes();
    let mut steps = Vec::new();
    let mut position = 0;
    let mut expect_name = true;
    while position < bytes.len() {
        if expect_name {
            let start = position;
            while position < bytes.len() && is_name_byte(bytes[position]) {
                position += 1;
            }
            if position == start {
                return Err(fail(start, "expected an attribute name"));
            }
            steps.push(step(Selector::AttributeName(
                path[start..position].to_string(),
            )));
            expect_name = false;
            continue;
        }
        match bytes[position] {
            b'.' => {
                position += 1;
                expect_name = true;
            }
            b'[' if bytes.get(position + 1) == Some(&b'"') => {
                let start = position + 2;
                let end = path[start..]
                    .find("\"]")
                    .map(|offset| start + offset)
                    .ok_or_else(|| fail(position, "unterminated [\"key\"]"))?;
                steps.push(step(Selector::ElementKeyString(
                    path[start..end].to_string(),
                )));
                position = end + 2;
            }
            b'[' => {
                let start = position + 1;
                let end = path[start..]
                    .find(']')
                    .map(|offset| start + offset)
                    .ok_or_else(|| fail(position, "unterminated [index]"))?;
                let index: i64 = path[start..end]
                    .parse()
                    .map_err(|_| fail(start, "an index must be a non-negative integer"))?;
                if index < 0 {
                    return Err(fail(start, "an index must be a non-negative integer"));
                }
                steps.push(step(Selector::ElementKeyInt(index)));
                position = end + 1;
            }
            _ => return Err(fail(position, "expected '.', '[index]' or '[\"key\"]'")),
        }
    }
    if expect_name {
        return Err(fail(position, "expected an attribute name"));
    }
    Ok(AttributePath { steps })
}

/// Writes an attribute path back in the syntax [`attribute_path`] reads.
pub fn render_attribute_path(path: &AttributePath) -> String {
    let mut text = String::new();
    for selector in path.steps.iter().filter_map(|step| step.selector.as_ref()) {
        match selector {
            Selector::AttributeName(name) if text.is_empty() => text.push_str(name),
            Selector::AttributeName(name) => {
                text.push('.');
                text.push_str(name);
            }
            Selector::ElementKeyString(key) => text.push_str(&format!("[\"{key}\"]")),
            Selector::ElementKeyInt(index) => text.push_str(&format!("[{index}]")),
        }
    }
    text
}

fn is_name_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_'
}

fn step(selector: Selector) -> Step {
    Step {
        selector: Some(selector),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_error_class_has_its_own_detail_saying_whether_anything_changed() {
        use pgentra_core::error::ErrorClass;
        let mut seen = std::collections::HashSet::new();
        for class in ErrorClass::ALL {
            let detail = super::class_detail(class);
            assert!(seen.insert(detail), "{class:?} shares its detail");
            let unknown = class == ErrorClass::Unknown;
            assert_eq!(
                detail.contains("may or may not"),
                unknown,
                "{class:?}: {detail}"
            );
        }
    }

    use super::*;

    fn selectors(path: &str) -> Vec<Selector> {
        attribute_path(path)
            .unwrap()
            .steps
            .into_iter()
            .map(|step| step.selector.unwrap())
            .collect()
    }

    #[test]
    fn dotted_path_is_a_chain_of_attribute_names() {
        assert_eq!(
            selectors("sql_connection.host"),
            [
                Selector::AttributeName("sql_connection".into()),
                Selector::AttributeName("host".into())
            ]
        );
    }

    #[test]
    fn bracketed_index_is_an_integer_element_key() {
        assert_eq!(
            selectors("privileges[2]"),
            [
                Selector::AttributeName("privileges".into()),
                Selector::ElementKeyInt(2)
            ]
        );
    }

    #[test]
    fn quoted_key_is_a_string_element_key() {
        assert_eq!(
            selectors(r#"tags["team.a"].x"#),
            [
                Selector::AttributeName("tags".into()),
                Selector::ElementKeyString("team.a".into()),
                Selector::AttributeName("x".into())
            ]
        );
    }

    #[test]
    fn malformed_paths_are_refused_with_the_position() {
        for (path, position) in [
            ("", 0),
            ("a.", 2),
            ("a[x]", 2),
            ("a[1", 1),
            (".a", 0),
            ("a b", 1),
        ] {
            let error = attribute_path(path).unwrap_err();
            assert_eq!(error.position, position, "{path:?}: {error}");
        }
    }

    #[test]
    fn rendering_reads_back_the_same_path() {
        for path in ["sql_connection.host", "privileges[2]", r#"tags["k"].v[0]"#] {
            assert_eq!(render_attribute_path(&attribute_path(path).unwrap()), path);
        }
    }

    #[test]
    fn error_at_sets_severity_summary_detail_and_attribute() {
        let diagnostic = error_at(
            "privileges[2]",
            "Unknown privilege",
            "\"SELEKT\" is not a privilege",
        )
        .unwrap();
        assert_eq!(diagnostic.severity, Severity::Error as i32);
        assert_eq!(diagnostic.summary, "Unknown privilege");
        assert_eq!(diagnostic.detail, "\"SELEKT\" is not a privilege");
        assert_eq!(
            render_attribute_path(diagnostic.attribute.as_ref().unwrap()),
            "privileges[2]"
        );
        assert_eq!(warning("w", "").severity, Severity::Warning as i32);
    }
}
