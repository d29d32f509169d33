//! The one place SQL text is built from user values. Every identifier and literal pgentra
//! sends goes through [`ident`] or [`literal`]; nothing else splices values into SQL.
//!
//! Audit notes: identifiers are double-quoted with embedded quotes doubled, so any character
//! (`;`, `\`, spaces, `@`, unicode) is part of the name; PostgreSQL silently truncates names
//! longer than 63 bytes, which would make a GRANT land on another role, so such names are
//! refused. Literals use the E'...' form when they hold a backslash, so their meaning does not
//! depend on standard_conforming_strings. NUL cannot be stored in PostgreSQL text and is refused.

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
}
