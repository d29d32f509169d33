//! The one place SQL text is built from user values. Every identifier and literal pgentra
//! sends goes through [`ident`] or [`literal`]; nothing else splices values into SQL.
//!
//! Audit notes: identifiers are double-quoted with embedded quotes doubled, so any character
//! (`;`, `\`, spaces, `@`, unicode) is part of the name; PostgreSQL silently truncates names
//! longer than 63 bytes, which would make a GRANT land on another role, so such names are
//! refused. Literals use the E'...' form when they hold a backslash, so their meaning does not
//! depend on standard_conforming_strings. NUL cannot be stored in PostgreSQL text and is refused.
//!
//! Checked against the PostgreSQL client library's own escaping (postgres-protocol's
//! `escape_identifier`/`escape_literal`, a translation of libpq's PQescapeInternal): for every
//! value accepted here the text is the same, but for the one space postgres-protocol puts before
//! `E'...'` (a guard for text spliced right after an identifier; pgentra always puts a space or
//! a delimiter there). We keep our own functions rather than switch because they also refuse
//! what postgres-protocol passes through: NUL, empty names, and names over 63 bytes that
//! PostgreSQL would silently cut to another role's name.

/// PostgreSQL's NAMEDATALEN - 1.
pub const MAX_IDENTIFIER_BYTES: usize = 63;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuoteError {
    #[error("an empty name cannot be used in SQL")]
    EmptyIdentifier,
    #[error("the name {0:?} is longer than PostgreSQL's 63 bytes; PostgreSQL would cut it and act on another object")]
    IdentifierTooLong(String),
    #[error("the value contains a NUL character, which PostgreSQL cannot store")]
    Nul,
    /// PostgreSQL reads the grantee `"public"`, quoted or not, as PUBLIC (every role): a role
    /// of that name can never be meant, so it never reaches a GRANT or REVOKE.
    #[error("the grantee \"public\" would mean PUBLIC (every role); write PUBLIC for every role")]
    PublicAsRoleName,
    /// A function's argument list that [`crate::sql::signature::Signature`] does not read
    /// (Check refuses it first; a state or an ID can carry anything).
    #[error("{0:?} is not a function signature such as myfunc(integer, text)")]
    NotASignature(String),
    /// A privilege is an SQL keyword, so it cannot be quoted: only the ones PostgreSQL knows for
    /// the object type reach SQL, whatever Check, the state or an ID said.
    #[error("{privilege:?} is not a privilege on a {object_type}")]
    NotAPrivilege {
        privilege: String,
        object_type: &'static str,
    },
}

/// `app-myapp-prod` -> `"app-myapp-prod"`, `a"b` -> `"a""b"`.
pub fn ident(name: &str) -> Result<String, QuoteError> {
    if name.is_empty() {
        return Err(QuoteError::EmptyIdentifier);
    }
    if name.contains('\0') {
        return Err(QuoteError::Nul);
    }
    if name.len() > MAX_IDENTIFIER_BYTES {
        return Err(QuoteError::IdentifierTooLong(name.to_owned()));
    }
    Ok(format!("\"{}\"", name.replace('"', "\"\"")))
}

/// `it's` -> `'it''s'`, `a\b` -> `E'a\\b'`.
pub fn literal(value: &str) -> Result<String, QuoteError> {
    if value.contains('\0') {
        return Err(QuoteError::Nul);
    }
    let quoted = value.replace('\'', "''");
    Ok(if value.contains('\\') {
        format!("E'{}'", quoted.replace('\\', "\\\\"))
    } else {
        format!("'{quoted}'")
    })
}

/// `schema.name`, each part quoted.
pub fn qualified(schema: &str, name: &str) -> Result<String, QuoteError> {
    Ok(format!("{}.{}", ident(schema)?, ident(name)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_keep_every_character_inside_double_quotes() {
        assert_eq!(ident("app-myapp-prod").unwrap(), r#""app-myapp-prod""#);
        assert_eq!(
            ident("developer@yourcompany.com").unwrap(),
            r#""developer@yourcompany.com""#
        );
        assert_eq!(ident("PG Admins Group").unwrap(), r#""PG Admins Group""#);
        assert_eq!(
            ident(r#"x"; DROP ROLE admin; --"#).unwrap(),
            r#""x""; DROP ROLE admin; --""#
        );
        assert_eq!(ident(r"back\slash").unwrap(), r#""back\slash""#);
        assert_eq!(ident("équipe-données").unwrap(), "\"équipe-données\"");
    }

    #[test]
    fn empty_overlong_and_nul_identifiers_are_refused() {
        assert_eq!(ident(""), Err(QuoteError::EmptyIdentifier));
        assert!(matches!(
            ident(&"r".repeat(64)),
            Err(QuoteError::IdentifierTooLong(_))
        ));
        assert!(ident(&"r".repeat(63)).is_ok());
        // 32 two-byte characters are 64 bytes: too long even though 32 characters.
        assert!(matches!(
            ident(&"é".repeat(32)),
            Err(QuoteError::IdentifierTooLong(_))
        ));
        assert_eq!(ident("a\0b"), Err(QuoteError::Nul));
    }

    #[test]
    fn literals_double_single_quotes_and_escape_backslashes() {
        assert_eq!(literal("plain").unwrap(), "'plain'");
        assert_eq!(literal("it's").unwrap(), "'it''s'");
        assert_eq!(
            literal("'; DROP TABLE t; --").unwrap(),
            "'''; DROP TABLE t; --'"
        );
        assert_eq!(literal(r"a\b").unwrap(), r"E'a\\b'");
        assert_eq!(literal(r"\'").unwrap(), r"E'\\'''");
        assert_eq!(literal("").unwrap(), "''");
        assert_eq!(literal("日本語").unwrap(), "'日本語'");
        assert_eq!(literal("a\0"), Err(QuoteError::Nul));
    }

    #[test]
    fn qualified_names_quote_both_parts() {
        assert_eq!(
            qualified("public", "orders").unwrap(),
            r#""public"."orders""#
        );
        assert_eq!(
            qualified("my schema", "a.b").unwrap(),
            r#""my schema"."a.b""#
        );
    }
    /// Awkward pieces: quotes of both kinds, backslashes, escape-string and dollar-quote
    /// openers, comments, whitespace, multi-byte and zero-width characters, NUL.
    const PIECES: &[&str] = &[
        "a", "'", "\"", "\\", "E'", "$$", "--", ";", " ", "\n", "\t", "é", "日本", "🐘",
        "\u{200B}", "\0", "%", "U&",
    ];

    /// Every string of up to three pieces, then longer pseudo-random ones (a fixed seed, so a
    /// failure reproduces).
    fn awkward_strings() -> Vec<String> {
        let mut all = vec![String::new()];
        let mut previous = vec![String::new()];
        for _ in 0..3 {
            let next: Vec<String> = previous
                .iter()
                .flat_map(|s| PIECES.iter().map(move |p| format!("{s}{p}")))
                .collect();
            all.extend(next.iter().cloned());
            previous = next;
        }
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..2000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let len = (seed % 40) as usize;
            let text: String = (0..len)
                .map(|i| PIECES[((seed >> (i % 50)) as usize + i * 7) % PIECES.len()])
                .collect();
            all.push(text);
        }
        all
    }

    #[test]
    fn identifiers_agree_with_postgres_protocol_wherever_we_accept_them() {
        use postgres_protocol::escape::escape_identifier;
        for s in awkward_strings() {
            match ident(&s) {
                Ok(quoted) => assert_eq!(quoted, escape_identifier(&s), "{s:?}"),
                Err(QuoteError::EmptyIdentifier) => assert!(s.is_empty()),
                Err(QuoteError::Nul) => assert!(s.contains('\0'), "{s:?}"),
                Err(QuoteError::IdentifierTooLong(_)) => {
                    assert!(s.len() > MAX_IDENTIFIER_BYTES, "{s:?}")
                }
                Err(
                    e @ (QuoteError::NotAPrivilege { .. }
                    | QuoteError::PublicAsRoleName
                    | QuoteError::NotASignature(_)),
                ) => panic!("ident never says {e}"),
            }
        }
    }

    #[test]
    fn literals_agree_with_postgres_protocol_but_for_its_guard_space() {
        use postgres_protocol::escape::escape_literal;
        for s in awkward_strings() {
            match literal(&s) {
                Ok(quoted) => {
                    let theirs = escape_literal(&s);
                    assert_eq!(quoted, theirs.strip_prefix(' ').unwrap_or(&theirs), "{s:?}");
                }
                Err(e) => assert!(e == QuoteError::Nul && s.contains('\0'), "{s:?}"),
            }
        }
    }
}
