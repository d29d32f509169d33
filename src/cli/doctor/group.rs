//! Who the [user] of a sign-in is, next to the token's principal: its own role, or an Entra
//! group it is a member of (the server lets a member's token in as the group's role). A group's
//! object ID comes from the Azure CLI (`az ad group show`, Microsoft Graph), so the fixes can
//! name it; without az the fixes say how to look it up.

use crate::cli::token::TokenInfo;
use pgentra_core::azure::az_cli;

#[derive(Debug, Clone, PartialEq)]
pub enum SignInRole {
    /// The token's principal's own role (or no user known).
    Own,
    /// An Entra group, with its object ID.
    Group { name: String, object_id: String },
    /// A name that is not the token's principal's; az could not tell whether it is a group.
    Other { name: String },
}

/// Classifies `user` against the token's principal; asks az only when the names differ.
pub async fn classify(user: Option<&str>, signed_in: Option<&TokenInfo>) -> SignInRole {
    let Some(user) = user else {
        return SignInRole::Own;
    };
    let own_name = signed_in.and_then(|info| info.role_name.as_deref());
    if own_name.is_some_and(|own| own.eq_ignore_ascii_case(user)) {
        return SignInRole::Own;
    }
    let name = user.to_owned();
    let asked = name.clone();
    let found = tokio::task::spawn_blocking(move || {
        az_cli::run_json(&["ad", "group", "show", "--group", &asked])
    })
    .await
    .ok()
    .and_then(Result::ok);
    match found.as_ref().and_then(|group| group["id"].as_str()) {
        Some(object_id) if !object_id.is_empty() => SignInRole::Group {
            name,
            object_id: object_id.to_owned(),
        },
        _ => SignInRole::Other { name },
    }
}

/// `text` as one shell word.
pub fn shell_word(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "@._-+=:/".contains(c));
    if plain {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

/// The command that prints a group's object ID, for a fix that cannot name it.
pub fn object_id_lookup(group: &str) -> String {
    format!(
        "\"$(az ad group show --group {} --query id --output tsv)\"",
        shell_word(group)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_words_quote_what_the_shell_would_split() {
        assert_eq!(shell_word("dev@contoso.com"), "dev@contoso.com");
        assert_eq!(shell_word("PG Admins"), "'PG Admins'");
        assert_eq!(shell_word("it's"), r"'it'\''s'");
        assert_eq!(
            object_id_lookup("PG Admins"),
            "\"$(az ad group show --group 'PG Admins' --query id --output tsv)\""
        );
    }
}
