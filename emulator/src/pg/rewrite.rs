//! Database names in SQL text, mapped from the Azure name a client uses to the backend database
//! behind it (`myappdb` -> `"<prefix>__myappdb"`), so statements that name a database, such as
//! `GRANT CONNECT ON DATABASE myappdb TO ...` or `ALTER DATABASE myappdb ...`, reach the right
//! backend database. Only an identifier list right after the keyword `DATABASE` is touched; string
//! constants, quoted identifiers elsewhere, comments and dollar-quoted bodies are skipped whole.

/// `sql` with every database name after `DATABASE` that `backend` knows replaced by the quoted
/// backend name; `None` when nothing was replaced (the statement is relayed untouched).
pub fn map_database_names(sql: &str, backend: impl Fn(&str) -> Option<String>) -> Option<String> {
    let tokens = tokenize(sql);
    let mut out = String::with_capacity(sql.len() + 16);
    let mut last = 0;
    let mut changed = false;
    let mut i = 0;
    while i < tokens.len() {
        let is_database_keyword = matches!(tokens[i].kind, Kind::Word)
            && sql[tokens[i].span.clone()].eq_ignore_ascii_case("database");
        i += 1;
        if !is_database_keyword {
            continue;
        }
        // DATABASE name [, name ...]
        while let Some(token) = tokens.get(i) {
            let name = match token.kind {
                Kind::Word => sql[token.span.clone()].to_lowercase(),
                Kind::QuotedIdent => unquote(&sql[token.span.clone()]),
                _ => break,
            };
            if let Some(real) = backend(&name) {
                out.push_str(&sql[last..token.span.start]);
                out.push_str(&quote_ident(&real));
                last = token.span.end;
                changed = true;
            }
            i += 1;
            match tokens.get(i) {
                Some(t) if t.kind == Kind::Comma => i += 1,
                _ => break,
            }
        }
    }
    changed.then(|| {
        out.push_str(&sql[last..]);
        out
    })
}

/// Azure's documented way to bind an existing role to an Entra object,
/// `SECURITY LABEL FOR "pgaadauth" ON ROLE <role> IS '<label>'`, as a call of the emulator's
/// function that keeps the label as the role's comment (the backend has no pgaadauth label
/// provider). `None` for any other statement.
pub fn map_pgaadauth_label(sql: &str) -> Option<String> {
    let tokens = tokenize(sql);
    let text = |i: usize| tokens.get(i).map(|t| &sql[t.span.clone()]);
    let word = |i: usize, w: &str| {
        tokens
            .get(i)
            .is_some_and(|t| t.kind == Kind::Word && sql[t.span.clone()].eq_ignore_ascii_case(w))
    };
    let name = |i: usize| {
        let t = tokens.get(i)?;
        match t.kind {
            Kind::Word => Some(sql[t.span.clone()].to_lowercase()),
            Kind::QuotedIdent => Some(unquote(&sql[t.span.clone()])),
            _ => None,
        }
    };
    if !(word(0, "security") && word(1, "label") && word(2, "for")) {
        return None;
    }
    if name(3)? != "pgaadauth" || !(word(4, "on") && word(5, "role")) {
        return None;
    }
    let role = name(6)?;
    let label = text(8).filter(|t| t.ends_with('\''))?;
    let ends = match tokens.len() {
        9 => true,
        10 => text(9) == Some(";"),
        _ => false,
    };
    if !word(7, "is") || !ends {
        return None;
    }
    Some(format!(
        "SELECT pg_catalog.pgentra_emulator_security_label('{}', {label})",
        role.replace('\'', "''")
    ))
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Word,
    QuotedIdent,
    Comma,
    Other,
}

struct Token {
    kind: Kind,
    span: std::ops::Range<usize>,
}

/// The significant tokens of `sql` (comments and white space dropped), by byte span.
fn tokenize(sql: &str) -> Vec<Token> {
    let bytes = sql.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        let c = bytes[i];
        let kind = match c {
            b' ' | b'\t' | b'\n' | b'\r' | b'\x0c' => {
                i += 1;
                continue;
            }
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                i = find(bytes, i, b"\n").map_or(bytes.len(), |p| p + 1);
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i = skip_block_comment(bytes, i);
                continue;
            }
            b'\'' => {
                i = skip_quoted(bytes, i, b'\'');
                Kind::Other
            }
            b'"' => {
                i = skip_quoted(bytes, i, b'"');
                Kind::QuotedIdent
            }
            b'$' => {
                i = skip_dollar_quoted(sql, i);
                Kind::Other
            }
            b',' => {
                i += 1;
                Kind::Comma
            }
            _ if is_word_byte(c) => {
                // E'...' and similar prefixed strings: the word ends where the quote starts.
                while i < bytes.len() && (is_word_byte(bytes[i]) || bytes[i] == b'$') {
                    i += 1;
                }
                if bytes.get(i) == Some(&b'\'') {
                    let escapes = sql[start..i].eq_ignore_ascii_case("e");
                    i = if escapes {
                        skip_escaped_string(bytes, i)
                    } else {
                        skip_quoted(bytes, i, b'\'')
                    };
                    Kind::Other
                } else {
                    Kind::Word
                }
            }
            _ => {
                i += sql[i..].chars().next().map_or(1, char::len_utf8);
                Kind::Other
            }
        };
        tokens.push(Token {
            kind,
            span: start..i,
        });
    }
    tokens
}

fn is_word_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80
}

fn find(bytes: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    bytes[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// Past a `'...'` or `"..."` with doubled quotes as escapes (to the end when unterminated).
fn skip_quoted(bytes: &[u8], open: usize, quote: u8) -> usize {
    let mut i = open + 1;
    while i < bytes.len() {
        if bytes[i] == quote {
            if bytes.get(i + 1) == Some(&quote) {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    bytes.len()
}

/// Past an `E'...'` body, where a backslash escapes the next byte.
fn skip_escaped_string(bytes: &[u8], open: usize) -> usize {
    let mut i = open + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'\'' if bytes.get(i + 1) == Some(&b'\'') => i += 2,
            b'\'' => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

/// Past a `/* ... */`, which nests in PostgreSQL.
fn skip_block_comment(bytes: &[u8], open: usize) -> usize {
    let (mut i, mut depth) = (open + 2, 1);
    while i < bytes.len() && depth > 0 {
        if bytes[i] == b'/' && bytes.get(i + 1) == Some(&b'*') {
            depth += 1;
            i += 2;
        } else if bytes[i] == b'*' && bytes.get(i + 1) == Some(&b'/') {
            depth -= 1;
            i += 2;
        } else {
            i += 1;
        }
    }
    i
}

/// Past `$tag$ ... $tag$`; a `$` that opens no tag (a parameter such as `$1`) is one byte.
fn skip_dollar_quoted(sql: &str, open: usize) -> usize {
    let bytes = sql.as_bytes();
    let mut j = open + 1;
    while j < bytes.len() && (bytes[j].is_ascii_alphanumeric() || bytes[j] == b'_') {
        j += 1;
    }
    let tag_is_valid = !bytes.get(open + 1).is_some_and(|c| c.is_ascii_digit());
    if bytes.get(j) != Some(&b'$') || !tag_is_valid {
        return j.max(open + 1);
    }
    let tag = &sql[open..=j];
    find(bytes, j + 1, tag.as_bytes()).map_or(bytes.len(), |p| p + tag.len())
}

fn unquote(quoted: &str) -> String {
    let inner = quoted
        .strip_prefix('"')
        .map(|s| s.strip_suffix('"').unwrap_or(s))
        .unwrap_or(quoted);
    inner.replace("\"\"", "\"")
}

fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::{map_database_names, map_pgaadauth_label};

    #[test]
    fn a_pgaadauth_security_label_becomes_the_emulators_call() {
        assert_eq!(
            map_pgaadauth_label(
                "SECURITY LABEL FOR \"pgaadauth\" ON ROLE \"id-myapp-prod\" IS 'aadauth,oid=0b4f2b53-1f0c-4a8e-9a55-1d2f3c4b5a69,type=service'"
            )
            .as_deref(),
            Some("SELECT pg_catalog.pgentra_emulator_security_label('id-myapp-prod', 'aadauth,oid=0b4f2b53-1f0c-4a8e-9a55-1d2f3c4b5a69,type=service')")
        );
        assert_eq!(
            map_pgaadauth_label("security label for pgaadauth on role \"O'Brien\" is 'aadauth';")
                .as_deref(),
            Some("SELECT pg_catalog.pgentra_emulator_security_label('O''Brien', 'aadauth')")
        );
        for other in [
            "SECURITY LABEL FOR selinux ON ROLE r IS 'x'",
            "SECURITY LABEL FOR pgaadauth ON TABLE t IS 'x'",
            "SECURITY LABEL FOR pgaadauth ON ROLE r IS 'x'; DROP ROLE r",
            "SELECT 'SECURITY LABEL FOR pgaadauth ON ROLE r IS x'",
        ] {
            assert_eq!(map_pgaadauth_label(other), None, "{other}");
        }
    }

    fn map(sql: &str) -> Option<String> {
        map_database_names(sql, |name| {
            ["myappdb", "postgres", "Odd \"Name\""]
                .contains(&name)
                .then(|| format!("srv_1a2b3c__{name}"))
        })
    }

    #[test]
    fn a_grant_on_a_database_names_the_backend_database() {
        assert_eq!(
            map("GRANT CONNECT ON DATABASE myappdb TO \"app-myapp-prod\"").as_deref(),
            Some("GRANT CONNECT ON DATABASE \"srv_1a2b3c__myappdb\" TO \"app-myapp-prod\"")
        );
        assert_eq!(
            map("revoke all on database \"myappdb\", postgres from public").as_deref(),
            Some("revoke all on database \"srv_1a2b3c__myappdb\", \"srv_1a2b3c__postgres\" from public")
        );
    }

    #[test]
    fn bare_names_fold_to_lower_case_and_quoted_ones_keep_their_case_and_quotes() {
        assert_eq!(
            map("ALTER DATABASE MyAppDb SET work_mem = '4MB'").as_deref(),
            Some("ALTER DATABASE \"srv_1a2b3c__myappdb\" SET work_mem = '4MB'")
        );
        assert_eq!(map("ALTER DATABASE \"MyAppDb\" SET work_mem = '4MB'"), None);
        assert_eq!(
            map("COMMENT ON DATABASE \"Odd \"\"Name\"\"\" IS 'x'").as_deref(),
            Some("COMMENT ON DATABASE \"srv_1a2b3c__Odd \"\"Name\"\"\" IS 'x'")
        );
    }

    #[test]
    fn names_of_other_databases_and_other_objects_are_left_alone() {
        assert_eq!(map("GRANT CONNECT ON DATABASE otherdb TO x"), None);
        assert_eq!(map("SELECT * FROM myappdb"), None);
        assert_eq!(map("GRANT USAGE ON SCHEMA myappdb TO x"), None);
        assert_eq!(map("SELECT current_database()"), None);
    }

    #[test]
    fn strings_comments_and_dollar_bodies_are_never_rewritten() {
        assert_eq!(map("SELECT 'ON DATABASE myappdb'"), None);
        assert_eq!(map("SELECT E'it\\'s DATABASE myappdb'"), None);
        assert_eq!(map("-- GRANT CONNECT ON DATABASE myappdb\nSELECT 1"), None);
        assert_eq!(map("/* a /* nested */ DATABASE myappdb */ SELECT 1"), None);
        assert_eq!(
            map("DO $body$ BEGIN EXECUTE 'GRANT ... DATABASE myappdb'; END $body$"),
            None
        );
        assert_eq!(
            map("SELECT $1; GRANT CONNECT ON DATABASE myappdb TO x").as_deref(),
            Some("SELECT $1; GRANT CONNECT ON DATABASE \"srv_1a2b3c__myappdb\" TO x")
        );
    }

    #[test]
    fn unterminated_input_is_relayed_as_it_is() {
        assert_eq!(map("SELECT 'DATABASE myappdb"), None);
        assert_eq!(map("GRANT CONNECT ON DATABASE"), None);
        assert_eq!(map("/* DATABASE myappdb"), None);
        assert_eq!(map(""), None);
    }
}
