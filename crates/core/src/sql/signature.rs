//! A function named with its argument types, such as `myfunc(integer, text)`: parsed strictly,
//! then written as SQL with every name quoted by [`crate::sql::quote`], so one overload is
//! granted on and found again (by `to_regprocedure`).
//!
//! An argument is a type name only: a type PostgreSQL's grammar spells with keywords (`integer`,
//! `double precision`, `timestamp with time zone`, ...; from a closed list, written as keywords,
//! since `"integer"` quoted names no type), or a type name, optionally schema-qualified, each part
//! a bare word (folded to lower case, as PostgreSQL folds it) or double-quoted (kept as written);
//! then `[]` for arrays. Argument names, modes (IN, OUT, VARIADIC) and type modifiers such as
//! `(10)` are refused: PostgreSQL identifies a function by its argument types alone.

use crate::sql::quote::{ident, qualified, QuoteError};

/// A function and its argument types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    /// The function's name, as written before the parenthesis (trailing spaces dropped).
    pub name: String,
    pub args: Vec<ArgType>,
}

/// One argument's type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgType {
    base: BaseType,
    /// How many `[]` follow.
    array_dims: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum BaseType {
    /// One of [`KEYWORD_TYPES`], as listed there.
    Keyword(&'static str),
    /// A type by name: (schema, name).
    Named(Option<String>, String),
}

/// The type names PostgreSQL's grammar reads as keywords (lower case, single spaces).
const KEYWORD_TYPES: &[&str] = &[
    "int",
    "integer",
    "smallint",
    "bigint",
    "real",
    "float",
    "double precision",
    "numeric",
    "decimal",
    "dec",
    "boolean",
    "char",
    "character",
    "varchar",
    "char varying",
    "character varying",
    "nchar",
    "national char",
    "national character",
    "national char varying",
    "national character varying",
    "bit",
    "bit varying",
    "time",
    "time with time zone",
    "time without time zone",
    "timestamp",
    "timestamp with time zone",
    "timestamp without time zone",
    "interval",
];

/// How every refusal ends: what a signature looks like.
const EXAMPLE: &str = "write the name and the argument types only, such as myfunc(integer, text) or myfunc() for none";

impl Signature {
    /// `None` for a plain name (no parenthesis: every overload of that name); the signature for
    /// `name(types)`; an error saying what is wrong otherwise.
    pub fn parse(text: &str) -> Result<Option<Self>, String> {
        let Some(open) = text.find('(') else {
            return Ok(None);
        };
        let name = text[..open].trim_end();
        if name.is_empty() {
            return Err(format!(
                "{text:?} has no function name before \"(\"; {EXAMPLE}"
            ));
        }
        if name.len() > 63 {
            return Err(format!(
                "{text:?}: the function name is longer than PostgreSQL's 63 bytes"
            ));
        }
        let Some(inner) = text[open + 1..].strip_suffix(')') else {
            return Err(format!(
                "{text:?} does not end with \")\" after its argument types; {EXAMPLE}"
            ));
        };
        let args = split_args(inner)
            .map_err(|why| format!("{text:?}: {why}; {EXAMPLE}"))?
            .into_iter()
            .map(|tokens| arg_type(&tokens))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|why| format!("{text:?}: {why}; {EXAMPLE}"))?;
        Ok(Some(Self {
            name: name.to_owned(),
            args,
        }))
    }

    /// `"schema"."name"(integer, "text")`: for GRANT ... ON FUNCTION and `to_regprocedure`.
    pub fn sql(&self, schema: &str) -> Result<String, QuoteError> {
        let args = self
            .args
            .iter()
            .map(ArgType::sql)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(format!(
            "{}({})",
            qualified(schema, &self.name)?,
            args.join(", ")
        ))
    }
}

/// The function name an object of a function Grant names: the name before the argument list.
pub fn function_name(object: &str) -> &str {
    match object.find('(') {
        Some(open) => object[..open].trim_end(),
        None => object,
    }
}

impl ArgType {
    fn sql(&self) -> Result<String, QuoteError> {
        let base = match &self.base {
            BaseType::Keyword(keyword) => (*keyword).to_owned(),
            BaseType::Named(None, name) => ident(name)?,
            BaseType::Named(Some(schema), name) => qualified(schema, name)?,
        };
        Ok(format!("{base}{}", "[]".repeat(self.array_dims)))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// A bare word, folded to lower case.
    Word(String),
    /// A double-quoted name, unescaped.
    Quoted(String),
    Dot,
    Brackets,
}

/// The argument list's tokens, one list per argument (none for `()`).
fn split_args(inner: &str) -> Result<Vec<Vec<Token>>, String> {
    let mut args: Vec<Vec<Token>> = vec![vec![]];
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        let current = args.last_mut().expect("never empty");
        match c {
            c if c.is_whitespace() => {}
            ',' => args.push(vec![]),
            '.' => current.push(Token::Dot),
            '[' => {
                if chars.next() != Some(']') {
                    return Err("an array type is written with [] (no size)".into());
                }
                current.push(Token::Brackets);
            }
            '"' => {
                let mut name = String::new();
                loop {
                    match chars.next() {
                        Some('"') if chars.peek() == Some(&'"') => {
                            chars.next();
                            name.push('"');
                        }
                        Some('"') => break,
                        Some('\0') | None => return Err("a double-quoted name is not closed".into()),
                        Some(other) => name.push(other),
                    }
                }
                if name.is_empty() || name.len() > 63 {
                    return Err(format!("the quoted name {name:?} is not 1-63 bytes"));
                }
                current.push(Token::Quoted(name));
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let mut word = c.to_ascii_lowercase().to_string();
                while let Some(&next) = chars.peek() {
                    if next.is_ascii_alphanumeric() || next == '_' || next == '$' {
                        word.push(next.to_ascii_lowercase());
                        chars.next();
                    } else {
                        break;
                    }
                }
                if word.len() > 63 {
                    return Err(format!("the name {word:?} is longer than 63 bytes"));
                }
                current.push(Token::Word(word));
            }
            '(' | ')' => {
                return Err(
                    "type modifiers such as (10) do not belong in a signature: PostgreSQL ignores them there"
                        .into(),
                )
            }
            other => {
                return Err(format!(
                    "{other:?} cannot appear in a type name (double-quote a name that holds it)"
                ))
            }
        }
    }
    if args.len() == 1 && args[0].is_empty() {
        return Ok(vec![]);
    }
    if args.iter().any(Vec::is_empty) {
        return Err("an argument type is missing between commas".into());
    }
    Ok(args)
}

fn arg_type(tokens: &[Token]) -> Result<ArgType, String> {
    let dims = tokens
        .iter()
        .rev()
        .take_while(|t| **t == Token::Brackets)
        .count();
    let base = &tokens[..tokens.len() - dims];
    let name_part = |token: &Token| match token {
        Token::Word(w) | Token::Quoted(w) => Some(w.clone()),
        _ => None,
    };
    let words: Option<Vec<&str>> = base
        .iter()
        .map(|t| match t {
            Token::Word(w) => Some(w.as_str()),
            _ => None,
        })
        .collect();
    let base = match (base, words) {
        (_, Some(words)) if !words.is_empty() => {
            let spelled = words.join(" ");
            if let Some(keyword) = KEYWORD_TYPES.iter().find(|k| **k == spelled) {
                BaseType::Keyword(keyword)
            } else if words.len() == 1 {
                BaseType::Named(None, spelled)
            } else {
                return Err(format!(
                    "{spelled:?} is not a type name (argument names and IN, OUT, INOUT or VARIADIC do not belong here)"
                ));
            }
        }
        ([one], _) => BaseType::Named(None, name_part(one).ok_or("a type name is missing")?),
        ([schema, Token::Dot, name], _) => BaseType::Named(
            Some(name_part(schema).ok_or("a schema name is missing before \".\"")?),
            name_part(name).ok_or("a type name is missing after \".\"")?,
        ),
        _ => {
            return Err(
                "an argument is a type name, optionally schema-qualified (schema.type), then [] for arrays"
                    .into(),
            )
        }
    };
    Ok(ArgType {
        base,
        array_dims: dims,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sql(text: &str) -> String {
        Signature::parse(text)
            .unwrap()
            .expect("a signature")
            .sql("api")
            .unwrap()
    }

    #[test]
    fn keyword_types_stay_keywords_and_other_names_are_quoted() {
        assert_eq!(
            sql("myfunc(integer, text)"),
            r#""api"."myfunc"(integer, "text")"#
        );
        assert_eq!(
            sql("f(Double  Precision, TIMESTAMP WITH TIME ZONE, int4)"),
            r#""api"."f"(double precision, timestamp with time zone, "int4")"#
        );
        assert_eq!(sql("f()"), r#""api"."f"()"#);
        assert_eq!(
            sql(r#"f(public.MyType, "Odd ""T""", text[][])"#),
            r#""api"."f"("public"."mytype", "Odd ""T""", "text"[][])"#
        );
        assert_eq!(sql("it's (varchar)"), r#""api"."it's"(varchar)"#);
    }

    #[test]
    fn a_plain_name_is_every_overload() {
        assert_eq!(Signature::parse("myfunc").unwrap(), None);
        assert_eq!(function_name("myfunc(integer)"), "myfunc");
        assert_eq!(function_name("myfunc"), "myfunc");
    }

    #[test]
    fn anything_but_type_names_is_refused_naming_the_form() {
        for bad in [
            "(integer)",
            "f(integer",
            "f(integer) x",
            "f(a integer)",
            "f(VARIADIC text[])",
            "f(varchar(10))",
            "f(integer,)",
            "f(,)",
            "f(text; DROP TABLE t)",
            "f(\"unclosed)",
            "f(int[3])",
            "f(a.b.c)",
            "f(.text)",
        ] {
            let why = Signature::parse(bad).expect_err(bad);
            assert!(why.contains("myfunc(integer, text)"), "{bad}: {why}");
        }
    }
}
